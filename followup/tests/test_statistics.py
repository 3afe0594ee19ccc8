"""Tests for followup/statistics.py (CLINICAL_RULES.md section 6). No database, no Django."""

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from followup.statistics import (
    Proportion,
    clopper_pearson,
    kaplan_meier,
    proportion,
    wilson,
)
from followup.tests.statistics_cases import CHECK_EVENTS, CHECK_TIMES, EXACT_REFERENCE, WILSON_REFERENCE

# --------------------------------------------------------------------------- section 6 reference values

@pytest.mark.parametrize("successes, n, lower, upper", EXACT_REFERENCE)
def test_clopper_pearson_reference_values_reproduce(successes, n, lower, upper):
    low, high = clopper_pearson(successes, n)

    assert (round(low, 4), round(high, 4)) == (lower, upper)


@pytest.mark.parametrize("successes, n, lower, upper", WILSON_REFERENCE)
def test_wilson_reference_values_reproduce(successes, n, lower, upper):
    low, high = wilson(successes, n)

    assert (round(low, 4), round(high, 4)) == (lower, upper)


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
@pytest.mark.parametrize("n", [1, 3, 6, 20, 150])
def test_interval_no_successes_lower_limit_is_exactly_zero(interval, n):
    low, high = interval(0, n)

    assert low == 0.0
    assert 0.0 < high < 1.0


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
@pytest.mark.parametrize("n", [1, 3, 6, 20, 150])
def test_interval_all_successes_upper_limit_is_exactly_one(interval, n):
    low, high = interval(n, n)

    assert high == 1.0
    assert 0.0 < low < 1.0


def test_clopper_pearson_confidence_changes_width():
    ninety = clopper_pearson(7, 10, confidence=0.90)
    ninety_nine = clopper_pearson(7, 10, confidence=0.99)

    assert ninety_nine[0] < ninety[0] and ninety[1] < ninety_nine[1]


def test_interval_returns_plain_floats():
    for low, high in (clopper_pearson(1, 3), wilson(1, 3)):
        assert type(low) is float and type(high) is float


# --------------------------------------------------------------------------- cross-checks with scipy

CONFIDENCES = st.sampled_from([0.80, 0.90, 0.95, 0.99])


@st.composite
def binomial_counts(draw, max_n=400):
    n = draw(st.integers(min_value=1, max_value=max_n))
    successes = draw(st.integers(min_value=0, max_value=n))
    return successes, n


@settings(max_examples=200, deadline=None)
@given(counts=binomial_counts(), confidence=CONFIDENCES)
def test_clopper_pearson_matches_scipy_binomtest_exact(counts, confidence):
    successes, n = counts
    expected = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="exact")

    low, high = clopper_pearson(successes, n, confidence)

    assert math.isclose(low, expected.low, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(high, expected.high, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(counts=binomial_counts(), confidence=CONFIDENCES)
def test_wilson_matches_scipy_binomtest_wilson(counts, confidence):
    successes, n = counts
    expected = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")

    low, high = wilson(successes, n, confidence)

    assert math.isclose(low, expected.low, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(high, expected.high, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(counts=binomial_counts())
def test_interval_contains_rate_and_lies_in_unit_interval(counts):
    successes, n = counts
    rate = successes / n

    for low, high in (clopper_pearson(successes, n), wilson(successes, n)):
        assert 0.0 <= low <= rate <= high <= 1.0


@settings(max_examples=200, deadline=None)
@given(counts=binomial_counts())
def test_interval_symmetric_under_swapping_successes_and_failures(counts):
    successes, n = counts

    for interval in (clopper_pearson, wilson):
        low, high = interval(successes, n)
        mirror_low, mirror_high = interval(n - successes, n)
        assert math.isclose(low, 1.0 - mirror_high, abs_tol=1e-12)
        assert math.isclose(high, 1.0 - mirror_low, abs_tol=1e-12)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
def test_interval_zero_denominator_raises_clear_message(interval):
    with pytest.raises(ValueError, match="n is 0"):
        interval(0, 0)


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
@pytest.mark.parametrize("successes, n", [(4, 3), (-1, 3)])
def test_interval_successes_outside_zero_to_n_raises(interval, successes, n):
    with pytest.raises(ValueError, match=r"successes must be between 0 and n \(3\)"):
        interval(successes, n)


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
def test_interval_negative_n_raises(interval):
    with pytest.raises(ValueError, match="n must not be negative"):
        interval(0, -3)


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
@pytest.mark.parametrize("successes, n", [(1.0, 3), (1, 3.5), (True, 3), ("1", 3)])
def test_interval_non_whole_counts_raise(interval, successes, n):
    with pytest.raises(ValueError, match="must be a whole number"):
        interval(successes, n)


@pytest.mark.parametrize("interval", [clopper_pearson, wilson])
@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, 95])
def test_interval_confidence_outside_zero_one_raises(interval, confidence):
    with pytest.raises(ValueError, match="confidence must be"):
        interval(1, 3, confidence)


# --------------------------------------------------------------------------- Proportion


def test_proportion_one_of_three_carries_rate_and_both_intervals():
    result = proportion(1, 3)

    assert result == Proportion(
        successes=1,
        n=3,
        rate=1 / 3,
        ci_exact=clopper_pearson(1, 3),
        ci_wilson=wilson(1, 3),
        confidence=0.95,
    )


def test_proportion_zero_denominator_gives_none_instead_of_raising():
    result = proportion(0, 0)

    assert result == Proportion(successes=0, n=0, rate=None, ci_exact=None, ci_wilson=None, confidence=0.95)


def test_proportion_successes_with_zero_denominator_raises():
    with pytest.raises(ValueError, match="successes must be 0 when n is 0"):
        proportion(1, 0)


def test_proportion_successes_above_n_raises():
    with pytest.raises(ValueError, match="successes must be between 0 and n"):
        proportion(7, 6)


def test_proportion_is_frozen():
    result = proportion(1, 3)

    with pytest.raises(AttributeError):
        result.rate = 0.5


# --------------------------------------------------------------------------- Kaplan-Meier: section 6 check vector

@pytest.fixture
def check_vector():
    return kaplan_meier(CHECK_TIMES, CHECK_EVENTS)


@pytest.mark.parametrize(
    "month, survival",
    [
        (0, 1.0),
        (2.99, 1.0),
        (3, 0.8571),  # section 6
        (5, 0.8571),
        (5.99, 0.8571),
        (6, 0.5143),  # section 6
        (9.99, 0.5143),
        (10, 0.2571),  # section 6
        (12, 0.2571),
        (24, 0.2571),  # carried forward beyond the last observation
    ],
)
def test_kaplan_meier_check_vector_survival_at(check_vector, month, survival):
    assert round(check_vector.survival_at(month), 4) == survival


def test_kaplan_meier_check_vector_steps_table(check_vector):
    rows = [
        (step.time, step.at_risk, step.events, step.censored, round(step.survival, 4), round(step.std_err, 4))
        for step in check_vector.steps
    ]

    assert rows == [
        (3.0, 7, 1, 0, 0.8571, 0.1323),
        (6.0, 5, 2, 0, 0.5143, 0.2039),
        (10.0, 2, 1, 0, 0.2571, 0.2085),
    ]


def test_kaplan_meier_check_vector_median_is_ten_months(check_vector):
    assert check_vector.median == 10.0


def test_kaplan_meier_check_vector_ci_at_six_months(check_vector):
    low, high = check_vector.ci_at(6)

    assert (round(low, 3), round(high, 3)) == (0.118, 0.813)


def test_kaplan_meier_check_vector_ci_between_steps_is_previous_step(check_vector):
    assert check_vector.ci_at(9.5) == check_vector.ci_at(6)


def test_kaplan_meier_check_vector_no_ci_before_first_event(check_vector):
    assert check_vector.ci_at(2) is None


def test_kaplan_meier_check_vector_median_ci(check_vector):
    # lower band first <= 0.5 at 3 months; upper band never reaches 0.5 (0.656 at 10 months)
    assert check_vector.median_ci == (3.0, None)


def test_kaplan_meier_check_vector_summary_fields(check_vector):
    assert (check_vector.n, check_vector.max_time, check_vector.confidence) == (7, 12.0, 0.95)


def test_kaplan_meier_wider_confidence_gives_wider_interval():
    narrow = kaplan_meier(CHECK_TIMES, CHECK_EVENTS, confidence=0.80).ci_at(6)
    wide = kaplan_meier(CHECK_TIMES, CHECK_EVENTS, confidence=0.99).ci_at(6)

    assert wide[0] < narrow[0] and narrow[1] < wide[1]


# --------------------------------------------------------------------------- Kaplan-Meier: rules and edges


def test_kaplan_meier_tie_counts_event_before_censoring():
    # Both at 5 months: the censored participant is still at risk when the event happens.
    km = kaplan_meier([5, 5], [True, False])

    (step,) = km.steps
    # Greenwood: 0.5 * sqrt(1 / (2 * 1))
    assert (step.time, step.at_risk, step.events, step.censored, step.survival, step.std_err) == (
        5.0,
        2,
        1,
        1,
        0.5,
        0.5 * math.sqrt(0.5),
    )
    assert km.survival_at(5) == 0.5


def test_kaplan_meier_censoring_only_has_no_steps_and_no_median():
    km = kaplan_meier([2, 4, 9], [0, 0, 0])

    assert (km.steps, km.median, km.median_ci, km.survival_at(9)) == ((), None, (None, None), 1.0)


def test_kaplan_meier_everyone_has_event_ends_at_zero_without_ci():
    km = kaplan_meier([1, 2], [1, 1])
    last = km.steps[-1]

    assert (last.time, last.at_risk, last.survival, last.std_err, last.ci_low, last.ci_high) == (
        2.0,
        1,
        0.0,
        None,
        None,
        None,
    )
    assert km.ci_at(2) is None
    assert km.ci_at(1) is not None


def test_kaplan_meier_survival_exactly_half_gives_median_at_that_time():
    # 5/6 * 4/5 * 3/4 = 1/2 exactly; floating multiplication alone could leave 0.5000000000000001
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1])

    assert (km.survival_at(3), km.median) == (0.5, 3.0)


def test_kaplan_meier_accepts_bools_and_floats():
    km = kaplan_meier([0.5, 1.25, 2.0], [True, False, True])

    assert [(step.time, step.survival) for step in km.steps] == [(0.5, 2 / 3), (2.0, 0.0)]


def test_kaplan_meier_input_order_does_not_matter():
    forward = kaplan_meier(CHECK_TIMES, CHECK_EVENTS)
    backward = kaplan_meier(CHECK_TIMES[::-1], CHECK_EVENTS[::-1])

    assert forward == backward


def test_kaplan_meier_event_at_time_zero_counts():
    km = kaplan_meier([0, 4], [1, 0])

    assert (km.survival_at(0), km.survival_at(-1)) == (0.5, 1.0)


@pytest.mark.parametrize(
    "times, events, message",
    [
        ([], [], "at least one observation"),
        ([1, 2], [1], "same length"),
        ([-1, 2], [1, 0], r"times\[0\] must be a finite number >= 0"),
        ([1, float("nan")], [1, 0], r"times\[1\] must be a finite number >= 0"),
        ([1, float("inf")], [1, 0], r"times\[1\] must be a finite number >= 0"),
        ([1, "x"], [1, 0], r"times\[1\] must be a number"),
        ([1, 2], [1, 2], r"events\[1\] must be True/False or 1/0"),
        ([1, 2], [1, 0.5], r"events\[1\] must be True/False or 1/0"),
        ([1, 2], [1, "yes"], r"events\[1\] must be True/False or 1/0"),
    ],
)
def test_kaplan_meier_invalid_input_raises(times, events, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(times, events)


def test_kaplan_meier_invalid_confidence_raises():
    with pytest.raises(ValueError, match="confidence must be strictly between 0 and 1"):
        kaplan_meier([1], [1], confidence=1.0)


def test_kaplan_meier_survival_at_non_number_raises(check_vector):
    with pytest.raises(ValueError, match="time must be a number"):
        check_vector.survival_at(float("nan"))


# --------------------------------------------------------------------------- Kaplan-Meier properties

observations = st.lists(
    st.tuples(st.integers(min_value=0, max_value=36), st.booleans()),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(observations=observations)
def test_kaplan_meier_survival_non_increasing_and_within_unit_interval(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)
    survivals = [1.0] + [step.survival for step in km.steps]

    assert all(0.0 <= s <= 1.0 for s in survivals)
    assert all(later <= earlier for earlier, later in zip(survivals, survivals[1:]))


@settings(max_examples=300, deadline=None)
@given(observations=observations)
def test_kaplan_meier_ci_contains_survival(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)

    for step in km.steps:
        if step.survival == 0.0:
            assert (step.ci_low, step.ci_high) == (None, None)
        else:
            assert 0.0 <= step.ci_low <= step.survival <= step.ci_high <= 1.0


@settings(max_examples=300, deadline=None)
@given(times=st.lists(st.integers(min_value=0, max_value=36), min_size=1, max_size=40))
def test_kaplan_meier_without_censoring_equals_one_minus_events_over_n(times):
    n = len(times)

    km = kaplan_meier(times, [True] * n)

    for t in sorted(set(times)) + [t - 0.5 for t in set(times)]:
        events_so_far = sum(1 for time in times if time <= t)
        assert km.survival_at(t) == (n - events_so_far) / n


@settings(max_examples=300, deadline=None)
@given(observations=observations)
def test_kaplan_meier_steps_count_at_risk_and_events(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)

    assert [step.time for step in km.steps] == sorted({t for t, e in observations if e})
    for step in km.steps:
        assert step.at_risk == sum(1 for t in times if t >= step.time)
        assert step.events == sum(1 for t, e in observations if t == step.time and e)
        assert step.censored == sum(1 for t, e in observations if t == step.time and not e)
    assert sum(step.events for step in km.steps) == sum(events)


@settings(max_examples=300, deadline=None)
@given(observations=observations)
def test_kaplan_meier_matches_product_limit_in_exact_fractions(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)

    survival = Fraction(1)
    for step in km.steps:
        survival *= Fraction(step.at_risk - step.events, step.at_risk)
        assert step.survival == float(survival)


@settings(max_examples=300, deadline=None)
@given(observations=observations)
def test_kaplan_meier_median_is_first_step_at_or_below_half(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)
    at_or_below = [step.time for step in km.steps if step.survival <= 0.5]

    assert km.median == (at_or_below[0] if at_or_below else None)
