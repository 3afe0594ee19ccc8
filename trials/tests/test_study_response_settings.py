"""A study's response period and time points: validated where an administrator sets them."""
import pytest
from django.core.exceptions import ValidationError

from trials.models import Study, time_point_errors

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
    assert (study.response_from_day, study.response_until_day) == (15, 720)  # P1: day 15 to month 24
    study.response_until_day = 10
    with pytest.raises(ValidationError) as caught:
        study.full_clean()
    assert caught.value.message_dict["response_until_day"] == ["The response period cannot end before it starts."]


def test_p3_time_points_are_loaded_from_its_definition(studies):
    study = Study.objects.get(code="MSC-ITP-5")
    assert study.response_time_points["early"] == {"anchor": "first_infusion", "days": 7}
    assert study.response_time_points["remission"] == {"anchor": "last_infusion", "days": 360}
    assert study.time_point_window_days == 7
