"""followup/statistics.py against reference implementations (CLINICAL_RULES.md section 6).

statsmodels (``proportion_confint``, ``SurvfuncRight``) and lifelines (``KaplanMeierFitter``) are
test-only dependencies: the product computes everything itself, and these tests show that it
agrees with two widely used libraries on random data, ties and censoring at event times included.
Where a library follows another convention, the test says which and checks the product's.
No database.
"""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lifelines.utils import median_survival_times
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from followup.statistics import clopper_pearson, kaplan_meier, wilson
from followup.tests.statistics_cases import (
    CHECK_EVENTS,
    CHECK_TIMES,
    EXACT_REFERENCE,
    WILSON_REFERENCE,
    lifelines_at,
    lifelines_fit,
)

EXAMPLES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIDENCES = st.sampled_from([0.80, 0.90, 0.95, 0.99])


def close(value, expected, tol=1e-9):
    return math.isclose(value, expected, rel_tol=tol, abs_tol=1e-12)


# --------------------------------------------------------------------------- binomial intervals


@pytest.mark.parametrize("successes, n, lower, upper", EXACT_REFERENCE)
def test_section6_exact_reference_values_are_statsmodels_beta_intervals(successes, n, lower, upper):
    expected = proportion_confint(successes, n, alpha=0.05, method="beta")

    assert (round(expected[0], 4), round(expected[1], 4)) == (lower, upper)
    assert all(close(a, b) for a, b in zip(clopper_pearson(successes, n), expected))


@pytest.mark.parametrize("successes, n, lower, upper", WILSON_REFERENCE)
def test_section6_wilson_reference_values_are_statsmodels_wilson_intervals(successes, n, lower, upper):
    expected = proportion_confint(successes, n, alpha=0.05, method="wilson")

    assert (round(expected[0], 4), round(expected[1], 4)) == (lower, upper)
    assert all(close(a, b) for a, b in zip(wilson(successes, n), expected))


@st.composite
def binomial_counts(draw, max_n=300):
    n = draw(st.integers(min_value=1, max_value=max_n))
    return draw(st.integers(min_value=0, max_value=n)), n


@EXAMPLES
@given(counts=binomial_counts(), confidence=CONFIDENCES)
def test_clopper_pearson_matches_statsmodels_beta(counts, confidence):
    successes, n = counts
    expected_low, expected_high = proportion_confint(successes, n, alpha=1 - confidence, method="beta")

    low, high = clopper_pearson(successes, n, confidence)

    assert close(low, expected_low) and close(high, expected_high)


@EXAMPLES
@given(counts=binomial_counts(), confidence=CONFIDENCES)
def test_wilson_matches_statsmodels_wilson(counts, confidence):
    successes, n = counts
    expected_low, expected_high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")

    low, high = wilson(successes, n, confidence)

    assert close(low, expected_low) and close(high, expected_high)


# --------------------------------------------------------------------------- Kaplan-Meier helpers


def exact_survivals(times, events):
    """S at each distinct event time in exact fractions (events before censorings at a tie)."""
    survival, values = Fraction(1), []
    for time in sorted({t for t, e in zip(times, events) if e}):
        at_risk = sum(1 for t in times if t >= time)
        deaths = sum(1 for t, e in zip(times, events) if t == time and e)
        survival *= Fraction(at_risk - deaths, at_risk)
        values.append(survival)
    return values


# Integer months 0-12 with up to 40 participants: many ties, and censorings at event times.
months = st.lists(st.tuples(st.integers(min_value=0, max_value=12), st.booleans()), min_size=1, max_size=40)
# Durations as the product builds them: whole days / 30.
days_as_months = st.lists(
    st.tuples(st.integers(min_value=7, max_value=720).map(lambda days: days / 30), st.booleans()),
    min_size=1,
    max_size=40,
)
observations = st.one_of(months, days_as_months)


# --------------------------------------------------------------------------- Kaplan-Meier vs references


@EXAMPLES
@given(observations=observations)
def test_kaplan_meier_survival_matches_lifelines_at_every_observed_time(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)
    reference = lifelines_fit(times, events).survival_function_

    for time in sorted(set(times)):
        assert close(km.survival_at(time), lifelines_at(reference, time)[0])


@EXAMPLES
@given(observations=observations)
def test_kaplan_meier_table_and_greenwood_std_err_match_statsmodels(observations):
    times, events = zip(*observations)

    km = kaplan_meier(times, events)
    reference = SurvfuncRight(np.asarray(times, float), np.asarray(events, float))

    assert [step.time for step in km.steps] == list(reference.surv_times)
    assert [step.at_risk for step in km.steps] == list(reference.n_risk)
    assert [step.events for step in km.steps] == list(reference.n_events)
    for step, survival, std_err in zip(km.steps, reference.surv_prob, reference.surv_prob_se):
        assert close(step.survival, survival)
        if step.survival == 0.0:
            # statsmodels gives nan where S is 0 (0 / 0 in the Greenwood term); the product gives None.
            assert step.std_err is None and math.isnan(std_err)
        else:
            assert close(step.std_err, std_err)


@EXAMPLES
@given(observations=observations, confidence=CONFIDENCES)
def test_kaplan_meier_log_log_ci_matches_lifelines(observations, confidence):
    times, events = zip(*observations)

    km = kaplan_meier(times, events, confidence)
    reference = lifelines_fit(times, events, confidence).confidence_interval_

    for step in km.steps:
        low, high = lifelines_at(reference, step.time)
        if step.survival == 0.0:
            # lifelines pins both limits to 0 where S is 0; the log-log transform is undefined there,
            # and the product reports no interval (KMStep docstring).
            assert (step.ci_low, step.ci_high, low, high) == (None, None, 0.0, 0.0)
        else:
            assert close(step.ci_low, low) and close(step.ci_high, high)


@EXAMPLES
@given(observations=observations)
def test_kaplan_meier_median_matches_lifelines_unless_survival_is_exactly_half(observations):
    times, events = zip(*observations)
    # lifelines multiplies in floating point, so an S of exactly 1/2 can come out as
    # 0.5000000000000001 and its median moves to the next event time; the product computes S in
    # exact fractions and takes the first time with S <= 0.5 (tested below and in test_statistics).
    assume(Fraction(1, 2) not in exact_survivals(times, events))

    km = kaplan_meier(times, events)
    expected = lifelines_fit(times, events).median_survival_time_

    assert km.median == (None if math.isinf(expected) else expected)


@EXAMPLES
@given(observations=observations, confidence=CONFIDENCES)
def test_kaplan_meier_median_ci_matches_lifelines_band_inversion(observations, confidence):
    times, events = zip(*observations)
    km = kaplan_meier(times, events, confidence)
    # A band limit within rounding of 0.5 could fall on either side in the two implementations.
    assume(all(abs(limit - 0.5) > 1e-9 for step in km.steps for limit in (step.ci_low or 0, step.ci_high or 0)))

    fitted = lifelines_fit(times, events, confidence)
    expected_low, expected_high = median_survival_times(fitted.confidence_interval_).iloc[0].to_numpy()

    assert km.median_ci == tuple(None if math.isinf(value) else value for value in (expected_low, expected_high))


# --------------------------------------------------------------------------- section 6 check vector and conventions


def test_section6_check_vector_agrees_with_lifelines_and_statsmodels():
    km = kaplan_meier(CHECK_TIMES, CHECK_EVENTS)
    fitted = lifelines_fit(CHECK_TIMES, CHECK_EVENTS)
    reference = SurvfuncRight(np.asarray(CHECK_TIMES, float), np.asarray(CHECK_EVENTS, float))

    survival = [round(lifelines_at(fitted.survival_function_, t)[0], 4) for t in (3, 6, 10)]
    low, high = lifelines_at(fitted.confidence_interval_, 6)
    assert survival == [0.8571, 0.5143, 0.2571] == [round(km.survival_at(t), 4) for t in (3, 6, 10)]
    assert (round(low, 3), round(high, 3)) == (0.118, 0.813) == tuple(round(v, 3) for v in km.ci_at(6))
    assert fitted.median_survival_time_ == 10.0 == km.median
    assert [round(se, 4) for se in reference.surv_prob_se] == [0.1323, 0.2039, 0.2085]
    # The median's CI: lifelines inverts the same band (3, inf); statsmodels' quantile_ci uses a
    # test-based interval around the quantile (Brookmeyer-Crowley), which the product does not.
    assert median_survival_times(fitted.confidence_interval_).iloc[0].tolist() == [3.0, math.inf]
    assert km.median_ci == (3.0, None)


def test_median_when_survival_is_exactly_half_is_that_time_where_lifelines_rounds_past_it():
    # 5/6 * 4/5 * 3/4 = 1/2 at 3 months. The rule "first time with S <= 0.5" gives 3; lifelines'
    # floating-point product is 0.5000000000000001 there, so it reports 4.
    times, events = [1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1]

    assert kaplan_meier(times, events).median == 3.0
    assert lifelines_fit(times, events).median_survival_time_ == 4.0


def test_median_when_survival_is_exactly_half_in_floating_point_agrees_with_lifelines():
    # 1 - 1/2 is exact in floating point too: both say 1.
    assert kaplan_meier([1, 2], [1, 1]).median == lifelines_fit([1, 2], [1, 1]).median_survival_time_ == 1.0


def test_censoring_at_an_event_time_counts_the_censored_at_risk_like_lifelines():
    times, events = [2, 2, 2, 5, 5], [1, 0, 0, 1, 0]

    km = kaplan_meier(times, events)
    table = lifelines_fit(times, events).event_table

    assert [(s.time, s.at_risk, s.events, s.censored) for s in km.steps] == [
        (t, int(table.loc[t, "at_risk"]), int(table.loc[t, "observed"]), int(table.loc[t, "censored"])) for t in (2, 5)
    ]
    assert (km.survival_at(2), km.survival_at(5)) == (0.8, 0.4)
