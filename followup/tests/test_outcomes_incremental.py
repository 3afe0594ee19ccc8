"""The outcomes refreshed after a change equal the full computation, touching only the participants
changed (`followup.outcomes.outcomes_refresh`), and never depend on the order the data were entered."""
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollment.models import Participant
from followup.models import Assessment, LabResult, OutcomeResult, OutcomeSnapshot
from followup.outcomes import outcomes_compute, outcomes_refresh
from followup.services import queue_outcomes
from trials.audit_context import change_context

TODAY = date(2026, 6, 1)


def _results(study):
    return {row[0]: row[1:] for row in OutcomeResult.objects.filter(study=study).order_by("participant_id").values_list(
        "participant_id", "arm_id", "dose_level_id", "disease", "sex", "treated", "best", "duration_days", "censored",
        "chart")}


def _study(participants, seed):
    call_command("make_synthetic_study", participants=participants, seed=seed, today=TODAY)
    return Participant.objects.filter(study__code=f"SYN-{participants}-{seed}").first().study


def _responder_count(study):
    """A later platelet count of a treated participant with a confirmed response, and the participant."""
    for result in OutcomeResult.objects.filter(study=study, treated=True, best__in=("CR", "R")).order_by("pk"):
        lab = LabResult.objects.filter(assessment__participant_id=result.pk, analyte="PLT").order_by(
            "-assessment__date").first()
        if lab is not None:
            return result.participant, lab
    raise AssertionError("the synthetic study has a responder")


@pytest.mark.django_db
@pytest.mark.parametrize("value", [
    "plus_one",  # the chart moves, nothing counted does
    "lost",  # the last count falls: the response is lost, its duration moves
])
def test_refresh_after_a_new_count_equals_the_full_computation(value):
    study = _study(16, 7)
    outcomes_compute(study=study)
    participant, lab = _responder_count(study)
    with change_context(by=None, reason="Test correction"):
        LabResult.objects.filter(pk=lab.pk).update(value=lab.value + 1 if value == "plus_one" else 2)
    queue_outcomes(study.pk, participant.pk)
    with CaptureQueriesContext(connection) as queries:
        refreshed = outcomes_refresh(study=study)
    refreshed_results = _results(study)
    full = outcomes_compute(study=study)
    assert refreshed.groups == full.groups
    assert refreshed_results == _results(study)
    assert OutcomeSnapshot.objects.get(study=study).groups == full.groups
    counted_again = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "outcomeresult" in q["sql"]]
    if value == "plus_one":
        # Only the chart moved: no result of the study is counted or read again.
        assert counted_again == []
        assert not [q["sql"] for q in queries if '"duration_days" IS NOT NULL' in q["sql"]]


@pytest.mark.django_db
def test_outcomes_do_not_depend_on_the_order_the_counts_were_entered():
    """The same values entered in the opposite order (other ids, the same day's counts swapped) give
    the same results, charts and table (CLINICAL_RULES.md section 1: one value per day, the lowest)."""
    study = _study(16, 8)
    labs = list(LabResult.objects.filter(assessment__participant__study=study, analyte="PLT").order_by("pk"))
    with change_context(by=None, reason="Test: the same values entered again in another order"):
        # A second assessment on the day of a few counts, its count lower or higher than the first.
        for index, lab in enumerate(labs[::5]):
            assessment = Assessment.objects.get(pk=lab.assessment_id)
            assessment.pk, assessment.visit = None, None  # an unscheduled assessment that day
            assessment.save()
            value = max(0, lab.value + (-3 if index % 2 else 7))
            LabResult.objects.create(assessment=assessment, analyte="PLT", value=value, entered_value=value,
                                     entered_unit=lab.entered_unit, lln=lab.lln, uln=lab.uln)
        first = outcomes_compute(study=study)
        first_results = _results(study)
        every = list(LabResult.objects.filter(assessment__participant__study=study).order_by("pk"))
        LabResult.objects.filter(pk__in=[lab.pk for lab in every]).delete()
        for lab in reversed(every):
            lab.pk = None
        LabResult.objects.bulk_create(list(reversed(every)))
    again = outcomes_compute(study=study)
    assert again.groups == first.groups
    assert _results(study) == first_results
    assert any(row[4] for row in first_results.values())  # something treated was compared
