from django.urls import path

from . import api

urlpatterns = [
    path("participants/<int:pk>/infusions/", api.ParticipantInfusions.as_view(), name="api-participant-infusions"),
]
