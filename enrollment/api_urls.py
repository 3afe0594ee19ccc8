from django.urls import path

from . import api, lock_api

urlpatterns = [
    path("studies/<str:code>/screenings/", api.StudyScreenings.as_view(), name="api-study-screenings"),
    path("screenings/<int:pk>/", api.ScreeningDetail.as_view(), name="api-screening-detail"),
    path("screenings/<int:pk>/consent/", api.ScreeningConsent.as_view(), name="api-screening-consent"),
    path("screenings/<int:pk>/eligibility-confirmation/", api.ScreeningEligibilityConfirmation.as_view(),
         name="api-screening-eligibility-confirmation"),
    path("screenings/<int:pk>/enrol/", api.ScreeningEnrol.as_view(), name="api-screening-enrol"),
    path("screenings/<int:pk>/re-evaluation/", api.ScreeningReevaluation.as_view(),
         name="api-screening-reevaluation"),
    path("participants/<int:pk>/", api.ParticipantDetail.as_view(), name="api-participant-detail"),
    path("participants/<int:pk>/withdraw/", api.ParticipantWithdraw.as_view(), name="api-participant-withdraw"),
    path("participants/<int:pk>/lock/", lock_api.ParticipantLock.as_view(), name="api-participant-lock"),
    path("participants/<int:pk>/unlock/", lock_api.ParticipantUnlock.as_view(), name="api-participant-unlock"),
]
