"""The synthetic study (`manage.py make_synthetic_study`) and the incremental outcomes on it."""
import random
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enrollment.models import Consent, Participant, Screening
from followup.models import Assessment, LabResult, OutcomeChange, OutcomeResult
from followup.outcomes import changed_since, outcomes_compute, outcomes_refresh
from followup.services import queue_outcomes
from trials.audit_context import change_context
from followup.synthetic import participant_course, platelet_course

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(("kind", "check"), [
    ("responder", lambda v: v[0] < 30 and all(x > 100 for x in v[2:])),
    ("lost", lambda v: v[0] < 30 and all(x > 100 for x in v[2:5]) and all(x < 30 for x in v[5:])),
    ("non_responder", lambda v: all(x < 30 for x in v)),
    ("withdrawn", lambda v: all(x < 30 for x in v)),
])
def test_platelet_course_follows_its_kind(kind, check):
    for seed in range(20):
        assert check(platelet_course(kind, random.Random(seed)))


def test_participant_course_is_deterministic_for_a_seed():
    assert participant_course(random.Random(5)) == participant_course(random.Random(5))


@pytest.mark.parametrize(("marks", "since", "expected"), [
    ("", 0, set()), (",1:1,2:2,1:3", 1, {1, 2}), (",1:1,2:2", 2, set()), (",7:4", 3, {7})])
def test_changed_since_reads_the_marks_after_the_change(marks, since, expected):
    assert changed_since(marks, since) == expected


def _dump(code):
    participants = Participant.objects.filter(study__code=code)
    return (list(participants.order_by("study_number").values_list(
                "study_number", "status", "planned_day0", "screening__sex", "screening__initials")),
            sorted(LabResult.objects.filter(assessment__participant__study__code=code).values_list(
                "assessment__participant__study_number", "assessment__date", "analyte", "value")))


@pytest.mark.django_db(transaction=False)
def test_synthetic_study_is_consistent_and_reproducible(django_user_model):
    call_command("make_synthetic_study", participants=24, seed=3, today=TODAY)
    call_command("make_synthetic_study", participants=24, seed=3, today=TODAY, code="SYN-AGAIN")
    participants = Participant.objects.filter(study__code="SYN-24-3")
    assert participants.count() == 24
    assert Screening.objects.filter(study__code="SYN-24-3").count() == 26  # 10 % screen failures
    assert Consent.objects.filter(screening__study__code="SYN-24-3").count() == 26
    assert not participants.filter(screening__consents__isnull=True).exists()
    assert participants.values("site").distinct().count() == 4
    assert Assessment.objects.filter(participant__study__code="SYN-24-3").exists()
    assert Participant.history.filter(study__code="SYN-24-3", history_type="+").count() == 24
    assert set(LabResult.history.filter(assessment__participant__study__code="SYN-24-3")
               .values_list("history_change_reason", flat=True)) == {"Synthetic study (make_synthetic_study)"}
    first, again = _dump("SYN-24-3"), _dump("SYN-AGAIN")
    assert [row[1:] for row in first[0]] == [row[1:] for row in again[0]]
    assert [row[1:] for row in first[1]] == [row[1:] for row in again[1]]
    study = participants.first().study
    snapshot = outcomes_compute(study=study)
    assert snapshot.groups[-1]["group"] == "all" and snapshot.groups[-1]["treated"] > 0


@pytest.mark.django_db
def test_incremental_outcomes_equal_the_full_computation_after_a_change():
    call_command("make_synthetic_study", participants=30, seed=4, today=TODAY)
    participant = Participant.objects.filter(study__code="SYN-30-4", status="completed").first()
    study = participant.study
    outcomes_compute(study=study)
    lab = LabResult.objects.filter(assessment__participant=participant, analyte="PLT").order_by("-assessment__date")[0]
    with change_context(by=None, reason="Test correction"):
        LabResult.objects.filter(pk=lab.pk).update(value=2.0 if lab.value > 50 else 250.0)
    queue_outcomes(study.pk, participant.pk)
    assert f",{participant.pk}:" in OutcomeChange.objects.get(study=study).participants_changed
    incremental = outcomes_refresh(study=study)
    merged = results(study)
    full = outcomes_compute(study=study)
    assert incremental.groups == full.groups
    assert merged == results(study)
    assert merged[participant.pk][4] is True  # treated


def results(study):
    return {row[0]: row[1:] for row in OutcomeResult.objects.filter(study=study).values_list(
        "participant_id", "arm_id", "dose_level_id", "disease", "sex", "treated", "best", "duration_days", "censored")}


def _correct_a_count(participant, rng):
    lab = LabResult.objects.filter(assessment__participant=participant, analyte="PLT").order_by("?").first()
    if lab is None:
        return False
    with change_context(by=None, reason="Test correction"):
        LabResult.objects.filter(pk=lab.pk).update(value=rng.choice([2.0, 45.0, 250.0]))
    queue_outcomes(participant.study_id, participant.pk)
    return True


def _change_sex_unmarked(participant, rng):
    with change_context(by=None, reason="Test correction"):
        sex = "F" if participant.screening.sex == "M" else "M"
        Screening.objects.filter(pk=participant.screening_id).update(sex=sex)
    return True


def _change_disease_unmarked(participant, rng):
    with change_context(by=None, reason="Test correction"):
        Screening.objects.filter(pk=participant.screening_id).update(disease=rng.choice(["ITP", "AA", "PRCA", "XX"]))
    return True


def _change_arm_or_level_unmarked(participant, rng):
    other = Participant.objects.filter(study=participant.study).exclude(
        arm_id=participant.arm_id, dose_level_id=participant.dose_level_id).first()
    if other is None:
        return False
    with change_context(by=None, reason="Test correction"):
        Participant.objects.filter(pk=participant.pk).update(arm_id=other.arm_id, dose_level_id=other.dose_level_id)
    return True


CHANGES = (_correct_a_count, _change_sex_unmarked, _change_disease_unmarked, _change_arm_or_level_unmarked)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_outcomes_equal_the_full_computation_after_any_sequence_of_changes(seed):
    """Changes of counts (marked) and of disease, sex, arm or dose level (left unmarked), a few at a
    time between refreshes: the refreshed snapshot and results are the full computation's."""
    rng = random.Random(seed)
    call_command("make_synthetic_study", participants=20, seed=seed, today=TODAY)
    study = Participant.objects.filter(study__code=f"SYN-20-{seed}").first().study
    outcomes_compute(study=study)
    participants = list(Participant.objects.filter(study=study).select_related("screening"))
    for _round in range(4):
        for participant in rng.sample(participants, 3):
            rng.choice(CHANGES)(participant, rng)
            participant.refresh_from_db()
            participant.screening.refresh_from_db()
        refreshed = outcomes_refresh(study=study)
        merged = results(study)
        full = outcomes_compute(study=study)
        assert refreshed.groups == full.groups
        assert merged == results(study)


@pytest.mark.django_db
def test_refresh_with_nothing_changed_writes_no_result():
    call_command("make_synthetic_study", participants=10, seed=5, today=TODAY)
    study = Participant.objects.filter(study__code="SYN-10-5").first().study
    outcomes_compute(study=study)
    participant = Participant.objects.filter(study=study, assessments__labs__analyte="PLT").first()
    queue_outcomes(study.pk, participant.pk)  # marked, with nothing of theirs changed
    with CaptureQueriesContext(connection) as queries:
        outcomes_refresh(study=study)
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))
              and "outcomeresult" in q["sql"]]
    assert writes == []
