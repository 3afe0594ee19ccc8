from django.urls import path

from . import api

urlpatterns = [
    path("participants/<int:pk>/adverse-events/", api.ParticipantAdverseEvents.as_view(),
         name="api-participant-adverse-events"),
]
