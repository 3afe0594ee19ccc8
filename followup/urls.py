from django.urls import path

from . import (casebook_views, dashboard_views, deviation_views, export_views, participant_list_views,
               participant_views, query_views, sdv_views, study_views, views)

urlpatterns = [
    path("studies/<str:code>/", study_views.study_detail, name="study-detail"),
    path("studies/<str:code>/deviations/", deviation_views.study_deviations, name="study-deviations"),
    path("studies/<str:code>/dashboard/", dashboard_views.study_dashboard, name="study-dashboard"),
    path("participants/", participant_list_views.participant_list, name="participant-list"),
    path("studies/<str:code>/participants/", participant_list_views.participant_list, name="study-participants"),
    path("studies/<str:code>/grid/", participant_list_views.participant_grid, name="study-grid"),
    path("participants/<int:pk>/", participant_views.participant_detail, name="participant-detail"),
    path("participants/<int:pk>/audit/", participant_views.participant_audit, name="participant-audit"),
    path("participants/<int:pk>/casebook/", casebook_views.participant_casebook, name="participant-casebook"),
    path("participants/<int:pk>/withdraw/", participant_views.participant_withdraw, name="participant-withdraw"),
    path("participants/<int:pk>/signature/", participant_views.participant_casebook_sign,
         name="participant-casebook-sign"),
    path("participants/<int:pk>/visits/<str:code>/", views.visit_record, name="visit-record"),
    path("participants/<int:pk>/adverse-events/new/", views.adverse_event_new, name="adverse-event-new"),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="adverse-event-detail"),
    path("participants/<int:pk>/assessments/new/", views.assessment_new, name="assessment-new"),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="assessment-edit"),
    path("adverse-events/<int:pk>/edit/", views.adverse_event_edit, name="adverse-event-edit"),
    path("worklist/", views.worklist_page, name="worklist"),
    path("studies/<str:code>/sdv/", sdv_views.study_sdv, name="study-sdv"),
    path("studies/<str:code>/sdv-plan/", sdv_views.study_sdv_plan, name="study-sdv-plan"),
    path("participants/<int:pk>/verify/<str:kind>/<int:record_pk>/", sdv_views.record_verify, name="record-verify"),
    path("participants/<int:pk>/queries/new/", query_views.query_new, name="query-new"),
    path("queries/<int:pk>/", query_views.query_detail, name="query-detail"),
    path("studies/<str:code>/exports/", export_views.study_exports, name="study-exports"),
]
