"""A study's response period and time points: validated where an administrator sets them."""
import pytest
import yaml
from django.core.exceptions import ValidationError

from trials.models import Study, VisitDefinition
from trials.response_period import VisitWindow, period_cuts, time_point_errors, window_cut
from trials.services import STUDIES_DIR, LoadReport, StudyDefinitionError, study_load

GOOD = {"early": {"anchor": "first_infusion", "days": 7}, "remission": {"anchor": "last_infusion", "days": 360}}


@pytest.mark.parametrize("points, errors", [
    (GOOD, []),
    ({}, []),
    ({"late": {"anchor": "first_infusion", "days": 7}},
     ["late: not a time point (one of early, initial, durable, remission)."]),
    ({"early": {"anchor": "enrolment", "days": 7}}, ["early: anchor must be one of first_infusion, last_infusion."]),
    ({"early": {"anchor": "first_infusion", "days": -1}}, ["early: days must be a whole number of days, 0 or more."]),
    ({"early": {"anchor": "first_infusion", "days": 7.5}}, ["early: days must be a whole number of days, 0 or more."]),
    ({"early": {"anchor": "first_infusion", "days": True}}, ["early: days must be a whole number of days, 0 or more."]),
    ([1, 2], ["Time points must be a set of named time points."]),
])
def test_time_point_errors(points, errors):
    assert time_point_errors(points) == errors


def test_study_refuses_a_response_period_ending_before_it_starts(studies):
    study = Study.objects.get(code="UCB-IRIC")
    # P1: from the opening of the M0.5 window (15 - 7) to the closing of the M24 window (720 + 14).
    assert (study.response_from_day, study.response_until_day) == (8, 734)
    study.response_until_day = 5
    with pytest.raises(ValidationError) as caught:
        study.full_clean()
    assert caught.value.message_dict["response_until_day"] == ["The response period cannot end before it starts."]


def test_p3_time_points_are_loaded_from_its_definition(studies):
    study = Study.objects.get(code="MSC-ITP-5")
    assert study.response_time_points["early"] == {"anchor": "first_infusion", "days": 7}
    assert study.response_time_points["remission"] == {"anchor": "last_infusion", "days": 360}
    assert study.time_point_window_days == 7


# --------------------------------------------------------------------------------------------
# The response period covers the windows of the visits it spans (CLINICAL_RULES.md section 2)
# --------------------------------------------------------------------------------------------

M05 = VisitWindow("M0.5", "first_infusion", 15, window_before=7, window_after=7)  # days 8 to 22
M24 = VisitWindow("M24", "first_infusion", 720, window_before=14, window_after=14)  # days 706 to 734
BASELINE = VisitWindow("BL", "first_infusion", 0, window_before=14)  # days -14 to 0


@pytest.mark.parametrize("from_day, until_day, cut", [
    (8, 734, set()),            # P1 as the protocol says: windows included
    (None, None, set()),        # no period: nothing to cut
    (15, 734, {"M0.5"}),     # the old P1 start: day 15 is inside the M0.5 window
    (8, 720, {"M24"}),       # ends at the M24 target, inside its window
    (9, 706, {"M0.5", "M24"}),
    (23, None, set()),          # starts after the M0.5 window closes: M0.5 is outside the period
    (None, 705, set()),      # ends before M24 opens: M24 outside the period
    (1, 734, set()),            # baseline (days -14 to 0) outside
    (0, 734, {"BL"}),        # day 0 reaches the baseline window's last day only
])
def test_period_cuts_of_visit_windows(from_day, until_day, cut):
    assert set(period_cuts([BASELINE, M05, M24], from_day, until_day)) == set(cut)


def test_period_cut_message_names_the_visit_and_the_day_to_use():
    assert window_cut(M05, 15, 734) == (
        "The response period (days 15 to 734 after the first infusion) cuts the window of visit M0.5 (days 8 to 22): "
        "a count inside the visit's window would not be evaluable. The period must take in the whole window: "
        "start it on day 8 or earlier (the opening of the window), or after day 22.")


def test_hours_windows_are_counted_on_the_days_they_touch():
    sample = VisitWindow("PK2H", "first_infusion", 2, offset_unit="hours", window_before=30, window_after=30,
                         window_unit="minutes")  # 1.5 h to 2.5 h after the infusion: days 0 to 1
    assert sample.days() == (0, 1)
    assert set(period_cuts([sample], 1, None)) == {"PK2H"}
    assert period_cuts([sample], 2, None) == {}


def test_visits_not_anchored_on_the_first_infusion_are_not_compared():
    assert VisitWindow("FU", "last_infusion", 15, window_before=7, window_after=7).days() is None
    assert period_cuts([{"code": "FU", "anchor": "enrolment", "offset": 15, "window_before": 7}], 15, 30) == {}


def test_visit_refused_when_the_study_period_cuts_its_window(studies):
    study = Study.objects.get(code="UCB-IRIC")
    study.response_from_day = 15
    visit = VisitDefinition.objects.get(study=study, code="M0.5")
    visit.study = study  # as the study's admin page does: the study form's values
    with pytest.raises(ValidationError) as caught:
        visit.full_clean()
    assert caught.value.message_dict["__all__"] == [window_cut(M05, 15, 734)]


def test_loader_refuses_a_period_that_cuts_a_visit_window(studies, tmp_path):


    data = yaml.safe_load((STUDIES_DIR / "UCB-IRIC.yaml").read_text(encoding="utf-8"))
    data.update(code="P1-COPY", response_from_day=15)
    with pytest.raises(StudyDefinitionError) as caught:
        study_load(data, by=None, reason="test", report=LoadReport())
    assert str(caught.value) == "P1-COPY response period, visit M0.5: " + window_cut(M05, 15, 734)
    assert not Study.objects.filter(code="P1-COPY").exists()
