from django.urls import path

from . import api

urlpatterns = [
    path("participants/", api.ParticipantList.as_view(), name="api-participant-list"),
    path("studies/<str:code>/participants/", api.StudyParticipantList.as_view(), name="api-study-participants"),
    path("participants/<int:pk>/adverse-events/", api.ParticipantAdverseEvents.as_view(),
         name="api-participant-adverse-events"),
    path("adverse-events/<int:pk>/", api.AdverseEventDetail.as_view(), name="api-adverse-event"),
    path("ctcae-terms/", api.CtcaeTerms.as_view(), name="api-ctcae-terms"),
    path("assessments/<int:pk>/", api.AssessmentDetail.as_view(), name="api-assessment"),
    path("adverse-events/<int:pk>/confirm/", api.AdverseEventConfirm.as_view(), name="api-adverse-event-confirm"),
    path("adverse-events/<int:pk>/dismiss/", api.AdverseEventDismiss.as_view(), name="api-adverse-event-dismiss"),
    path("adverse-events/<int:pk>/sae-report/", api.AdverseEventSaeReport.as_view(),
         name="api-adverse-event-sae-report"),
    path("participants/<int:pk>/visits/<str:code>/", api.ParticipantVisitRecord.as_view(),
         name="api-participant-visit-record"),
    path("participants/<int:pk>/assessments/", api.ParticipantAssessments.as_view(),
         name="api-participant-assessments"),
    path("participants/<int:pk>/response/", api.ParticipantResponse.as_view(), name="api-participant-response"),
    path("participants/<int:pk>/signature/", api.ParticipantSignature.as_view(), name="api-participant-signature"),
    path("studies/<str:code>/outcomes/", api.StudyOutcomes.as_view(), name="api-study-outcomes"),
    path("worklist/", api.Worklist.as_view(), name="api-worklist"),
    path("studies/<str:code>/sdv-plan/", api.StudySdvPlan.as_view(), name="api-study-sdv-plan"),
    path("participants/<int:pk>/verification/", api.ParticipantVerification.as_view(),
         name="api-participant-verification"),
    path("participants/<int:pk>/audit/", api.ParticipantAudit.as_view(), name="api-participant-audit"),
    path("participants/<int:pk>/queries/", api.ParticipantQueries.as_view(), name="api-participant-queries"),
    path("queries/<int:pk>/", api.QueryDetail.as_view(), name="api-query"),
    path("queries/<int:pk>/answer/", api.QueryAnswer.as_view(), name="api-query-answer"),
    path("queries/<int:pk>/close/", api.QueryClose.as_view(), name="api-query-close"),
    path("queries/<int:pk>/reopen/", api.QueryReopen.as_view(), name="api-query-reopen"),
]
