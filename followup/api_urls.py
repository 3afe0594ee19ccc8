from django.urls import path

from . import api

urlpatterns = [
    path("participants/<int:pk>/adverse-events/", api.ParticipantAdverseEvents.as_view(),
         name="api-participant-adverse-events"),
    path("adverse-events/<int:pk>/confirm/", api.AdverseEventConfirm.as_view(), name="api-adverse-event-confirm"),
    path("adverse-events/<int:pk>/dismiss/", api.AdverseEventDismiss.as_view(), name="api-adverse-event-dismiss"),
    path("participants/<int:pk>/visits/<str:code>/", api.ParticipantVisitRecord.as_view(),
         name="api-participant-visit-record"),
    path("participants/<int:pk>/assessments/", api.ParticipantAssessments.as_view(),
         name="api-participant-assessments"),
    path("participants/<int:pk>/response/", api.ParticipantResponse.as_view(), name="api-participant-response"),
    path("studies/<str:code>/outcomes/", api.StudyOutcomes.as_view(), name="api-study-outcomes"),
]
