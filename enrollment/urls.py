from django.urls import path

from . import lock_views, views

urlpatterns = [
    path("studies/<str:code>/screenings/", views.screening_log, name="screening-log"),
    path("studies/<str:code>/screenings/new/", views.screening_new, name="screening-new"),
    path("screenings/<int:pk>/", views.screening_detail, name="screening-detail"),
    path("screenings/<int:pk>/edit/", views.screening_edit, name="screening-edit"),
    path("screenings/<int:pk>/consent/", views.screening_consent, name="screening-consent"),
    path("screenings/<int:pk>/eligibility-confirmation/", views.screening_eligibility_confirm,
         name="screening-eligibility-confirm"),
    path("screenings/<int:pk>/enrol/", views.screening_enrol, name="screening-enrol"),
    path("screenings/<int:pk>/re-evaluation/", views.screening_reevaluate, name="screening-reevaluate"),
    path("participants/<int:pk>/lock/", lock_views.participant_lock, name="participant-lock"),
    path("participants/<int:pk>/unlock/", lock_views.participant_unlock, name="participant-unlock"),
]
