"""The edit checks that open data queries without refusing a value (`followup.auto_queries`):
raised by the write services, never twice while open, closed when a later edit clears them, and
not raised again once a person closed them."""
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from dosing.tests.support import give
from followup import services
from followup.auto_queries import AssessmentFacts, InfusionFacts, auto_queries_for, edit_check_findings
from followup.data_queries import query_close
from followup.models import Assessment, DataQuery, Visit
from trials.tests.support import setup_update

TZ = timezone.get_current_timezone()
DAY = date(2026, 3, 10)


def keep(**values):
    data = {f: services.KEEP for f in services.AssessmentInput.__dataclass_fields__}
    return services.AssessmentInput(**{**data, **values})


def correct(assessment, by, **values):
    return services.assessment_update(assessment=Assessment.objects.get(pk=assessment.pk), by=by, check=False,
                                      reason="Checked against the source", data=keep(**values))


def system_queries(**filters):
    return list(DataQuery.objects.filter(source="system", **filters).values_list("record_kind", "item", "check_code",
                                                                               "state"))


# --- the pure checks ------------------------------------------------------------------------------

@pytest.mark.parametrize(("facts", "checks"), [
    (AssessmentFacts(1, DAY, "W1", DAY, DAY - timedelta(days=2), DAY + timedelta(days=2)), []),
    (AssessmentFacts(1, DAY, "W1", DAY - timedelta(days=1), DAY - timedelta(days=2), DAY + timedelta(days=2)),
     ["assessment_after_visit"]),
    (AssessmentFacts(1, DAY, "W1", DAY, DAY + timedelta(days=1), DAY + timedelta(days=3)), ["outside_window"]),
    (AssessmentFacts(1, DAY, "W1", DAY, DAY + timedelta(days=1), DAY + timedelta(days=3), "Patient travelled"), []),
    (AssessmentFacts(1, DAY), []),  # unscheduled
])
def test_assessment_checks(facts, checks):
    assert [key[3] for key in edit_check_findings([facts], [])] == checks


@pytest.mark.parametrize(("weights", "flagged"), [
    ((60.0, 66.0), []),  # exactly 10 %
    ((60.0, 66.1), [2]),
    ((60.0, 53.0), [2]),
    ((60.0, None, 70.0), [3]),  # against the previous weight recorded
    ((60.0, 70.0, 71.0), [2]),  # each infusion against the one before
])
def test_weight_check(weights, flagged):
    infusions = [InfusionFacts(pk=n, number=n, weight_kg=w) for n, w in enumerate(weights, start=1)]
    assert [key[1] for key in edit_check_findings([], infusions)] == flagged


# --- raised by the services -----------------------------------------------------------------------

def test_a_weight_far_from_the_previous_infusion_opens_one_query(api, participant):
    assert give(api, participant, 1, 0, weight_kg=60.0).status_code == 201
    second = give(api, participant, 2, 7, weight_kg=70.0, cells_infused=7.0e9)

    assert second.status_code == 201, second.json()  # flagged, not refused
    assert system_queries() == [("infusion", "weight_kg", "weight_change", "open")]
    query = DataQuery.objects.get()
    assert (query.record_pk, query.opened_by, query.participant_id) == (second.json()["id"], None, participant.pk)
    assert "70 kg" in query.question and "60 kg" in query.question


def test_a_close_weight_opens_nothing(api, participant):
    give(api, participant, 1, 0, weight_kg=60.0)
    assert give(api, participant, 2, 7, weight_kg=63.0, cells_infused=6.3e9).status_code == 201
    assert system_queries() == []


def _move_visit_done(assessment, days):
    visit = Visit.objects.get(pk=assessment.visit_id)
    setup_update(Visit.objects.filter(pk=visit.pk), done_at=visit.done_at + timedelta(days=days))


def test_an_assessment_after_its_visit_opens_one_query_and_a_fix_closes_it(assessment, coordinator):
    assert system_queries() == []
    _move_visit_done(assessment, -2)  # the visit's day changed apart from its assessment

    auto_queries_for(assessment.participant, coordinator)
    auto_queries_for(assessment.participant, coordinator)  # run again: no second query while open
    assert system_queries() == [("assessment", "date", "assessment_after_visit", "open")]

    # A correction of the assessment dates its visit on its day again: the finding is gone.
    correct(assessment, coordinator, bleeding_grade=2)
    assert timezone.localtime(Visit.objects.get(pk=assessment.visit_id).done_at).date() == assessment.date
    assert system_queries() == [("assessment", "date", "assessment_after_visit", "closed")]
    closed = DataQuery.objects.get()
    assert closed.closed_by is None and [m.kind for m in closed.messages.all()] == ["question", "close"]


def test_outside_the_window_without_a_reason_opens_a_query(assessment, coordinator):
    visit = Visit.objects.get(pk=assessment.visit_id)
    later = visit.window_start + timedelta(days=30)
    setup_update(Visit.objects.filter(pk=visit.pk), window_start=later, target_at=later, window_end=later)

    auto_queries_for(assessment.participant, coordinator)
    auto_queries_for(assessment.participant, coordinator)

    assert system_queries() == [("assessment", "date", "outside_window", "open")]


def test_a_query_a_person_closed_is_not_raised_again(assessment, coordinator, data_manager):  
    _move_visit_done(assessment, -2)
    auto_queries_for(assessment.participant, coordinator)
    query_close(DataQuery.objects.get(), data_manager, "Sample taken the day after the visit, as planned.")

    auto_queries_for(assessment.participant, coordinator)

    assert system_queries() == [("assessment", "date", "assessment_after_visit", "closed")]


def test_a_visit_recorded_on_its_own_runs_the_checks(woman, coordinator):
    visit = woman.visits.get(code="W1")
    services.visit_record(visit=visit, done_at=datetime.combine(timezone.localdate() - timedelta(days=3), time(9),
                                                                tzinfo=TZ), by=coordinator)
    # A timed or day visit without an assessment raises nothing.
    assert system_queries() == []
