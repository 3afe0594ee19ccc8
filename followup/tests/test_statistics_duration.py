"""The duration-of-response block of the study outcomes (CLINICAL_RULES.md sections 1, 6 and 8).

``duration_of_response_summary`` turns the responders' (days, censored) pairs into months of 30
days and summarises them with Kaplan-Meier. No database.
"""
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup.statistics import duration_of_response_summary, kaplan_meier
from followup.tests.statistics_cases import CHECK_DAYS, lifelines_at, lifelines_fit


def rounded(value, places=4):
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, list):
        return [rounded(v, places) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v, places) for k, v in value.items()}
    return value


def test_check_vector_in_days_reproduces_section6_in_months():
    block = duration_of_response_summary(CHECK_DAYS)

    assert rounded({k: v for k, v in block.items() if k not in ("at", "steps")}) == {
        "unit": "months", "days_per_unit": 30, "confidence": 0.95,
        "responders": 7, "events": 4, "censored": 3,
        "median": 10.0, "median_ci": [3.0, None],
        "censored_times": [5.0, 8.0, 12.0], "max_time": 12.0,
    }
    assert rounded(block["at"]) == [
        {"time": 3.0, "survival": 0.8571, "ci": [0.3341, 0.9786]},
        {"time": 6.0, "survival": 0.5143, "ci": [0.1178, 0.8132]},  # section 6: 0.118-0.813
        {"time": 12.0, "survival": 0.2571, "ci": [0.0126, 0.656]},
    ]
    assert rounded(block["steps"]) == [
        {"time": 3.0, "at_risk": 7, "events": 1, "censored": 0, "survival": 0.8571, "std_err": 0.1323,
         "ci": [0.3341, 0.9786]},
        {"time": 6.0, "at_risk": 5, "events": 2, "censored": 0, "survival": 0.5143, "std_err": 0.2039,
         "ci": [0.1178, 0.8132]},
        {"time": 10.0, "at_risk": 2, "events": 1, "censored": 0, "survival": 0.2571, "std_err": 0.2085,
         "ci": [0.0126, 0.656]},
    ]


def test_block_is_plain_json():
    block = duration_of_response_summary(CHECK_DAYS)

    assert json.loads(json.dumps(block)) == block


def test_no_responder_gives_none():
    assert duration_of_response_summary([]) is None


@pytest.mark.parametrize(
    "durations, landmarks",
    [
        ([(45, True)], []),  # 1.5 months of follow-up: no landmark reached yet
        ([(89, True), (60, False)], []),  # 2.97 months
        ([(90, True)], [3.0]),  # exactly 3 months reaches the first landmark
        ([(200, True), (30, False)], [3.0, 6.0]),
        ([(400, True)], [3.0, 6.0, 12.0]),
    ],
)
def test_landmarks_are_reported_only_where_follow_up_reaches_them(durations, landmarks):
    block = duration_of_response_summary(durations)

    assert [point["time"] for point in block["at"]] == landmarks


def test_landmark_before_any_loss_has_survival_one_and_no_interval():
    block = duration_of_response_summary([(200, True), (210, False)])

    assert block["at"] == [{"time": 3.0, "survival": 1.0, "ci": None}, {"time": 6.0, "survival": 1.0, "ci": None}]
    # the one loss, at 7 months, is of the last participant at risk: S falls to 0 there
    assert (block["median"], block["median_ci"], block["events"], block["censored"]) == (7.0, [7.0, 7.0], 1, 1)


def test_everyone_lost_ends_at_zero_without_interval():
    block = duration_of_response_summary([(60, False), (120, False)])

    assert block["steps"][-1] == {"time": 4.0, "at_risk": 1, "events": 1, "censored": 0, "survival": 0.0,
                                  "std_err": None, "ci": None}
    assert (block["median"], block["at"]) == (2.0, [{"time": 3.0, "survival": 0.5, "ci": block["steps"][0]["ci"]}])


def test_censoring_on_the_day_of_a_loss_keeps_the_censored_at_risk():
    block = duration_of_response_summary([(90, False), (90, True), (120, True)])

    assert [(s["time"], s["at_risk"], s["events"], s["censored"]) for s in block["steps"]] == [(3.0, 3, 1, 1)]
    assert block["censored_times"] == [3.0, 4.0]


@pytest.mark.parametrize(
    "durations, message",
    [
        ([(90, 1)], r"durations\[0\]: censored must be True or False"),
        ([(90, True), (-1, False)], r"durations\[1\]: days must be a finite number >= 0"),
        ([(float("nan"), False)], r"durations\[0\]: days must be a finite number >= 0"),
        ([("90", False)], r"durations\[0\]: days must be a finite number >= 0"),
    ],
)
def test_invalid_durations_raise(durations, message):
    with pytest.raises(ValueError, match=message):
        duration_of_response_summary(durations)


durations = st.lists(st.tuples(st.integers(min_value=7, max_value=720), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(durations=durations)
def test_block_agrees_with_kaplan_meier_and_lifelines(durations):
    block = duration_of_response_summary(durations)
    times = [days / 30 for days, _censored in durations]
    events = [not censored for _days, censored in durations]
    km = kaplan_meier(times, events)
    fitted = lifelines_fit(times, events)

    assert (block["responders"], block["events"], block["censored"]) == (len(durations), sum(events),
                                                                          len(durations) - sum(events))
    assert (block["median"], tuple(block["median_ci"]), block["max_time"]) == (km.median, km.median_ci, max(times))
    for point in block["at"]:
        assert point["time"] <= block["max_time"]
        assert math.isclose(point["survival"], lifelines_at(fitted.survival_function_, point["time"])[0],
                            rel_tol=1e-9, abs_tol=1e-12)
        if point["ci"] is not None:
            low, high = lifelines_at(fitted.confidence_interval_, point["time"])
            assert math.isclose(point["ci"][0], low, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(point["ci"][1], high, rel_tol=1e-9, abs_tol=1e-12)
        else:
            assert point["survival"] in (0.0, 1.0)
    assert len(block["censored_times"]) == block["censored"]
