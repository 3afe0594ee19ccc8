"""REST API of the follow-up: adverse events, visits, assessments, response, outcomes, the
worklist and source data verification, one module per resource. The views and the serializers
others use are named here."""
from .adverse_events import (
                             AdverseEventConfirm,
                             AdverseEventDetail,
                             AdverseEventDismiss,
                             AdverseEventSaeReport,
                             CtcaeTerms,
                             ParticipantAdverseEvents,
)
from .audit import ParticipantAudit
from .deviations import StudyDeviations
from .exports import ExportDetail, ExportDownload, StudyExport
from .assessments import AssessmentDetail, ParticipantAssessments
from .outcomes import StudyOutcomes
from .participants import ParticipantList, StudyParticipantList
from .queries import ParticipantQueries, QueryAnswer, QueryClose, QueryDetail, QueryReopen
from .response import ParticipantResponse, ResponseBodySerializer
from .sdv import ParticipantVerification, StudySdvPlan
from .signoff import ParticipantSignature
from .visits import ParticipantVisitRecord
from .worklist import Worklist

__all__ = ["AdverseEventConfirm", "AdverseEventDetail", "AdverseEventDismiss", "AdverseEventSaeReport", "CtcaeTerms",
           "ParticipantAdverseEvents", "AssessmentDetail", "ParticipantAssessments", "StudyOutcomes",
           "ParticipantResponse", "ResponseBodySerializer", "ParticipantSignature", "ParticipantVisitRecord",
           "Worklist", "ParticipantVerification", "StudySdvPlan", "ParticipantQueries", "QueryAnswer",
           "QueryClose", "QueryDetail", "QueryReopen", "ParticipantAudit", "StudyExport", "ExportDetail",
           "ExportDownload", "ParticipantList", "StudyParticipantList", "StudyDeviations"]
