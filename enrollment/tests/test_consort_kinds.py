"""The CONSORT flow (`enrollment.consort.consort_counts`) counts every kind of screening once, whatever
the combination: not enrolled with eligibility unknown, failed or eligible, consented once or twice;
enrolled with each status, a withdrawal reason of the list or not, treated or not, and an enrolled
screening whose eligibility was since left unknown; narrowed by arm, dose level, disease or no site."""
import pytest
from django.utils import timezone

from enrollment.consort import ConsortFilter, consort_counts
from enrollment.models import Participant, Screening
from enrollment.tests.support import consent, create_screening, today
from enrollment.tests.test_pages import enrol
from trials.audit_context import change_context
from trials.models import Study

pytestmark = pytest.mark.django_db


def _given(participant, number=1):
    infusions = Participant.infusions.rel.related_model  # dosing's model, without importing dosing
    infusions.objects.filter(participant=participant, number=number).update(
        state="given", started_at=timezone.now(), weight_kg=60)


def _flow(counts) -> dict:
    return {name: value for name, value in vars(counts).items()}


def test_every_kind_of_screening_counts_once(studies, coordinator):
    enrolled = [enrol(coordinator) for _ in range(6)]
    waiting = [create_screening(coordinator) for _ in range(4)]
    with change_context(by=coordinator, reason="The flow's every kind of screening"):
        Screening.objects.filter(pk=waiting[0].pk).update(eligible=None)
        Screening.objects.filter(pk=waiting[1].pk).update(eligible=False)
        Screening.objects.filter(pk=enrolled[0].screening_id).update(eligible=None)
        withdrawn = {"status": "withdrawn", "withdrawn_on": today()}
        Participant.objects.filter(pk=enrolled[1].pk).update(**withdrawn, withdrawal_reason="adverse_event")
        Participant.objects.filter(pk=enrolled[2].pk).update(**withdrawn, withdrawal_reason="not a reason of the list")
        Participant.objects.filter(pk=enrolled[3].pk).update(status="completed")
        Participant.objects.filter(pk=enrolled[4].pk).update(status="follow_up")
        Participant.objects.filter(pk=enrolled[5].pk).update(status="on_treatment")
        _given(enrolled[1])
        _given(enrolled[5])
        _given(enrolled[5], number=2)  # treated once, however many infusions
    consent(waiting[2], coordinator)
    consent(waiting[2], coordinator)  # consented once, however many consents
    study = Study.objects.get(code="MSC-ITP-5")
    flow = _flow(consort_counts(coordinator, study))
    assert flow == {
        "screened": 10, "eligible_not_enrolled": 2, "pending": 1, "failed": 1, "failed_by_criterion": [],
        "enrolled": 6, "withdrawn": 2, "withdrawn_by_reason": [("adverse_event", 1)], "consented": 7,
        "treated": 2, "on_treatment": 1, "follow_up": 1, "completed": 1, "not_treated": 4}
    participant = enrolled[0]
    by_arm = _flow(consort_counts(coordinator, study, ConsortFilter(arm_id=participant.arm_id)))
    by_level = _flow(consort_counts(coordinator, study, ConsortFilter(dose_level_id=participant.dose_level_id)))
    # narrowed to an arm or level, only the screenings enrolled there count
    assert by_arm == by_level == {**flow, "screened": 6, "eligible_not_enrolled": 0, "pending": 0, "failed": 0,
                                  "consented": 6}
    assert _flow(consort_counts(coordinator, study, ConsortFilter(disease="ITP"))) == flow
    assert _flow(consort_counts(coordinator, study, ConsortFilter(disease="AIHA")))["screened"] == 0
    nothing = _flow(consort_counts(coordinator, study, ConsortFilter(site_ids=())))
    assert nothing == {**{name: 0 for name in flow}, "failed_by_criterion": [], "withdrawn_by_reason": []}
