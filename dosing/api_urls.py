from django.urls import path

from . import api

urlpatterns = [
    path("participants/<int:pk>/infusions/", api.ParticipantInfusions.as_view(), name="api-participant-infusions"),
    path("studies/<str:code>/escalation/", api.StudyEscalation.as_view(), name="api-study-escalation"),
    path("studies/<str:code>/escalation/decisions/", api.StudyEscalationDecisions.as_view(),
         name="api-study-escalation-decisions"),
]
