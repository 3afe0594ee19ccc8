"""One of each record a write endpoint acts on, for tests that go through every endpoint."""
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from dosing.tests.support import day0
from enrollment.models import Participant, Screening
from enrollment.tests.factories import ParticipantFactory
from enrollment.tests.support import eligible_p3_screening
from followup.data_queries import query_open_system
from followup.models import AdverseEvent, Assessment, DataQuery
from followup.record_refs import RecordRef
from followup.tests.factories import AdverseEventFactory, AssessmentFactory
from trials.tests.support import confirm_adverse_event, setup_update

TZ = timezone.get_current_timezone()


@dataclass
class World:
    screening: Screening  # eligible and consented, not enrolled
    participant: Participant  # P3 (MSC-ITP-5), enrolled on DAY0 - 2, infusion 1 given on DAY0
    assessment: Assessment  # baseline, on DAY0
    event: AdverseEvent  # confirmed
    draft: AdverseEvent  # the fever of infusion 1, a draft
    query: DataQuery  # an open data query on the assessment's date, opened by an edit check

    # Endpoints an investigator's signature decides (`Action.SIGN`); a coordinator calls the others.
    SIGNED = ("api-adverse-event-confirm", "api-adverse-event-dismiss", "api-study-escalation-decisions",
              "api-screening-eligibility-confirmation", "api-participant-signature")
    # Endpoints an administrator calls (`Action.CONFIGURE_STUDY`, and the data locks).
    CONFIGURED = ("api-study-list", "api-study-activate", "api-study-amendments", "api-participant-lock",
                  "api-participant-unlock", "api-study-lock", "api-study-unlock", "api-study-sdv-plan")

    # Endpoints a monitor calls (`Action.VERIFY`).
    VERIFIED = ("api-participant-verification",)

    @classmethod
    def caller(cls, name: str, *, coordinator, investigator, make_user):
        """The user who may call the endpoint `name`."""
        if name in cls.SIGNED:
            return investigator
        if name in cls.CONFIGURED:
            return make_user("admin")
        return make_user("monitor") if name in cls.VERIFIED else coordinator

    def url_kwargs(self) -> dict[str, dict]:
        """The URL arguments of each write endpoint of the API, by URL name."""
        p, visit = self.participant.pk, "M1"
        return {
            "api-study-screenings": {"code": "MSC-ITP-5"},
            "api-screening-detail": {"pk": self.screening.pk},
            "api-screening-consent": {"pk": self.screening.pk},
            "api-screening-enrol": {"pk": self.screening.pk},
            "api-screening-eligibility-confirmation": {"pk": self.screening.pk},
            "api-screening-reevaluation": {"pk": self.screening.pk},
            "api-participant-withdraw": {"pk": p},
            "api-participant-infusions": {"pk": p},
            "api-study-escalation-decisions": {"code": "HUCMSC-ITP-ESC"},
            "api-participant-adverse-events": {"pk": p},
            "api-adverse-event": {"pk": self.event.pk},
            "api-assessment": {"pk": self.assessment.pk},
            "api-adverse-event-confirm": {"pk": self.draft.pk},
            "api-adverse-event-dismiss": {"pk": self.draft.pk},
            "api-adverse-event-sae-report": {"pk": self.event.pk},
            "api-participant-visit-record": {"pk": p, "code": visit},
            "api-participant-assessments": {"pk": p},
            "api-study-list": {},
            "api-me": {},
            "api-study-activate": {"code": "MSC-ITP-5"},
            "api-study-amendments": {"code": "MSC-ITP-5"},
            "api-participant-signature": {"pk": p},
            "api-participant-queries": {"pk": p},
            "api-query-answer": {"pk": self.query.pk},
            "api-query-close": {"pk": self.query.pk},
            "api-query-reopen": {"pk": self.query.pk},
            "api-study-sdv-plan": {"code": "MSC-ITP-5"},
            "api-participant-verification": {"pk": p},
            "api-participant-lock": {"pk": p},
            "api-participant-unlock": {"pk": p},
            "api-study-lock": {"code": "MSC-ITP-5"},
            "api-study-unlock": {"code": "MSC-ITP-5"},
        }


def at(day, hour=9, minute=30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def build_world(user) -> World:
    """Every record made through the services, by `user` (a coordinator or an investigator)."""
    screening = eligible_p3_screening(user)
    treated = eligible_p3_screening(user)
    setup_update(treated.consents, signed_at=timezone.now() - timedelta(days=75))
    participant = ParticipantFactory(screening=treated, enrolled_on=day0() - timedelta(days=2),
                                     first_infusion_on=day0(), by=user)
    InfusionFactory(participant=participant, number=1, started_at=at(day0()), ended_at=at(day0(), 10, 5),
                    weight_kg=60.0, cells_infused=6.0e9,
                    product={"kind": "msc", "lot": "MSC-2026-014", "viability_pct": 93.5, "passage": 4},
                    reactions=["fever"], by=user)
    assessment = AssessmentFactory(participant=participant, date=day0(), visit="BL", bleeding_grade=0,
                                   labs=[{"analyte": "PLT", "value": 15, "unit": "10^9/L"}], by=user)
    event = AdverseEventFactory(participant=participant, term="Alanine aminotransferase increased",
                                category="non_haematological", onset_date=day0() + timedelta(days=10), grade=2,
                                serious=False, relationship="possible", by=user)
    confirm_adverse_event(event)
    draft = AdverseEvent.objects.get(participant=participant, status="draft")
    query = query_open_system(participant=participant, record_ref=RecordRef("assessment", assessment.pk), item="date",
                              check_code="outside_window", question="Outside the window?", by=user)
    return World(screening=screening, participant=participant, assessment=assessment, event=event, draft=draft,
                 query=query)
