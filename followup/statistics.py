"""Remission statistics: binomial confidence intervals and Kaplan-Meier (CLINICAL_RULES.md section 6).

Pure functions over plain numbers: no Django, no ORM, no clock. The outcomes service counts
responders and treated participants (or builds the time/event vectors for duration of response)
and passes them in; everything here is reproducible from those numbers alone.

Section 6 reference values (reproduced to 4 decimals by the tests):

* ``clopper_pearson``: 1/3 -> 0.0084-0.9057, 0/6 -> 0.0000-0.4593, 6/6 -> 0.5407-1.0000,
  7/10 -> 0.3475-0.9333, 10/20 -> 0.2720-0.7280;
* ``wilson``: 1/3 -> 0.0615-0.7923, 6/6 -> 0.6097-1.0000, 10/20 -> 0.2993-0.7007;
* ``kaplan_meier`` on (3,1) (5,0) (6,1) (6,1) (8,0) (10,1) (12,0): S(3) = 0.8571,
  S(6) = 0.5143, S(10) = 0.2571, median 10, 95 % CI at 6 months 0.118-0.813.

``duration_of_response_summary`` turns the responders' durations (days, censored or not) into
the JSON block the study outcomes store and show (section 1 "Duration of response").

The tests also compare these functions with reference libraries (statsmodels ``proportion_confint``
and ``SurvfuncRight``, lifelines ``KaplanMeierFitter``); where a convention differs (the median
when S is exactly 0.5, limits where S is 0) the docstrings below say which one the product follows.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from scipy.stats import beta, norm

from trials.numbers import whole_number

__all__ = [
    "DAYS_PER_MONTH",
    "DURATION_LANDMARKS",
    "DURATION_UNITS",
    "KMStep",
    "KaplanMeier",
    "Proportion",
    "clopper_pearson",
    "duration_of_response_summary",
    "kaplan_meier",
    "proportion",
    "wilson",
]

DEFAULT_CONFIDENCE = 0.95
DAYS_PER_MONTH = 30  # CLINICAL_RULES.md section 8: "a month is 30 days"
DURATION_LANDMARKS = (3, 6, 12)  # months at which the outcomes report S(t) with its CI
DURATION_UNITS = ("months",)  # the unit named in a duration-of-response block


# --------------------------------------------------------------------------- validation helpers


def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise ValueError(f"confidence must be a number strictly between 0 and 1, got {confidence!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    return float(confidence)


def _check_binomial(successes, n) -> tuple[int, int]:
    successes = whole_number(successes, "successes")
    n = whole_number(n, "n")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if n == 0:
        raise ValueError(
            "n is 0: a rate and its confidence interval are undefined without any participant "
            "in the denominator (use proportion() to get a Proportion with rate None)"
        )
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), got {successes}")
    return successes, n


def _two_sided_z(confidence: float) -> float:
    return float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))


# --------------------------------------------------------------------------- binomial intervals


def clopper_pearson(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided confidence interval for ``successes / n``.

    The primary interval of CLINICAL_RULES.md section 6 (remission / response rate). Limits are
    the beta quantiles ``Beta(alpha/2; k, n-k+1)`` and ``Beta(1-alpha/2; k+1, n-k)``; with 0
    successes the lower limit is exactly 0.0 and with ``n`` successes the upper limit is exactly
    1.0. Raises ``ValueError`` when ``n`` is 0, when ``successes`` is outside ``0..n``, when a
    count is not a whole number, or when ``confidence`` is not strictly between 0 and 1.
    """
    successes, n = _check_binomial(successes, n)
    alpha = 1.0 - _check_confidence(confidence)
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2.0, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1.0 - alpha / 2.0, successes + 1, n - successes))
    return low, high


def wilson(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score two-sided confidence interval for ``successes / n``, without continuity correction.

    The secondary interval of CLINICAL_RULES.md section 6. With 0 successes the lower limit is
    exactly 0.0 and with ``n`` successes the upper limit is exactly 1.0 (the formula gives those
    values up to rounding; they are pinned so that a reader never sees 0.9999999999). Same errors
    as :func:`clopper_pearson`.
    """
    successes, n = _check_binomial(successes, n)
    z = _two_sided_z(_check_confidence(confidence))
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half_width = (z / denominator) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


@dataclass(frozen=True)
class Proportion:
    """A rate with its exact and Wilson confidence intervals (CLINICAL_RULES.md section 6).

    ``rate``, ``ci_exact`` and ``ci_wilson`` are ``None`` when ``n`` is 0: a group with nobody
    treated (or nobody evaluable) has no rate, and the outcomes page shows it as such instead of
    failing.
    """

    successes: int
    n: int
    rate: float | None
    ci_exact: tuple[float, float] | None
    ci_wilson: tuple[float, float] | None
    confidence: float = DEFAULT_CONFIDENCE


def proportion(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Proportion:
    """Responders over a denominator, e.g. responders / treated (CLINICAL_RULES.md section 6).

    Unlike :func:`clopper_pearson` and :func:`wilson`, ``n == 0`` does not raise: it returns a
    :class:`Proportion` with ``rate``, ``ci_exact`` and ``ci_wilson`` all ``None`` (and requires
    ``successes == 0``). Any other invalid input raises ``ValueError``.
    """
    successes = whole_number(successes, "successes")
    n = whole_number(n, "n")
    confidence = _check_confidence(confidence)
    if n == 0:
        if successes != 0:
            raise ValueError(f"successes must be 0 when n is 0, got {successes}")
        return Proportion(successes=0, n=0, rate=None, ci_exact=None, ci_wilson=None, confidence=confidence)
    successes, n = _check_binomial(successes, n)
    return Proportion(
        successes=successes,
        n=n,
        rate=successes / n,
        ci_exact=clopper_pearson(successes, n, confidence),
        ci_wilson=wilson(successes, n, confidence),
        confidence=confidence,
    )


# --------------------------------------------------------------------------- Kaplan-Meier


@dataclass(frozen=True)
class KMStep:
    """One distinct event time of a Kaplan-Meier estimate (CLINICAL_RULES.md section 6).

    ``at_risk`` counts everyone whose time is >= ``time`` (participants censored at ``time``
    are still at risk: events come before censorings at the same time). ``censored`` is the
    number censored at exactly ``time``. ``survival`` is S(time), the value from ``time`` on
    (right-continuous). ``std_err`` is Greenwood's standard error of S. ``ci_low`` /
    ``ci_high`` are the log-log ("exp(-exp(...))") limits. When S is 0 the Greenwood term and
    the log-log transform are undefined, so ``std_err``, ``ci_low`` and ``ci_high`` are ``None``.
    """

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    std_err: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier estimate with Greenwood variance and log-log CI (CLINICAL_RULES.md section 6).

    ``steps`` holds one :class:`KMStep` per distinct event time, in time order. ``n`` is the
    number of observations, ``max_time`` the largest observed time (event or censoring).
    """

    steps: tuple[KMStep, ...]
    n: int
    max_time: float
    confidence: float = DEFAULT_CONFIDENCE

    def _step_at(self, t: float) -> KMStep | None:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or math.isnan(t):
            raise ValueError(f"time must be a number, got {t!r}")
        index = bisect_right([step.time for step in self.steps], t)
        return self.steps[index - 1] if index else None

    def survival_at(self, t: float) -> float:
        """S(t) as a right-continuous step function: 1.0 before the first event time, the value
        of the last event time <= ``t`` afterwards. Beyond ``max_time`` the last value is carried
        forward (not extrapolated); callers reporting a landmark beyond follow-up should check
        ``max_time``."""
        step = self._step_at(t)
        return 1.0 if step is None else step.survival

    def ci_at(self, t: float) -> tuple[float, float] | None:
        """The log-log confidence interval of S(t), or ``None`` where S(t) is 1 (before the first
        event: no variance) or 0 (undefined on the log-log scale)."""
        step = self._step_at(t)
        if step is None or step.ci_low is None or step.ci_high is None:
            return None
        return step.ci_low, step.ci_high

    @property
    def median(self) -> float | None:
        """The smallest event time at which S <= 0.5, or ``None`` if S never falls to 0.5.

        When S is exactly 0.5 over an interval this takes its left end (the rule's wording); R's
        ``survfit`` would report the midpoint to the next event time instead. S is computed with
        exact fractions, so "exactly 0.5" is not disturbed by rounding.
        """
        for step in self.steps:
            if step.survival <= 0.5:
                return step.time
        return None

    @property
    def median_ci(self) -> tuple[float | None, float | None]:
        """Confidence limits of the median by inverting the pointwise log-log band (as R's
        ``survfit`` does, without its midpoint rule): the lower limit is the first event time where
        the band's lower limit is <= 0.5, the upper limit the first event time where its upper
        limit is <= 0.5; either is ``None`` if that never happens. At a step where S is 0 both
        limits are taken as 0. lifelines' ``median_survival_times`` of the band gives the same
        limits (``inf`` for ``None``); statsmodels' ``quantile_ci`` is a test-based interval
        around the median instead, and is not what the product reports."""

        def first_time(limit) -> float | None:
            for step in self.steps:
                value = 0.0 if step.survival == 0.0 else limit(step)
                if value is not None and value <= 0.5:
                    return step.time
            return None

        return first_time(lambda step: step.ci_low), first_time(lambda step: step.ci_high)


def _check_event(value, index: int) -> bool:
    if isinstance(value, bool):
        return value
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"events[{index}] must be True/False or 1/0, got {value!r}") from None
    if number not in (0, 1):
        raise ValueError(f"events[{index}] must be True/False or 1/0, got {value!r}")
    return number == 1


def _check_time(value, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # numpy floats and the like
        except (TypeError, ValueError):
            raise ValueError(f"times[{index}] must be a number, got {value!r}") from None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"times[{index}] must be a finite number >= 0, got {value!r}")
    return value


def kaplan_meier(
    times: Sequence[float],
    events: Sequence[bool | int],
    confidence: float = DEFAULT_CONFIDENCE,
) -> KaplanMeier:
    """Kaplan-Meier estimate of S(t) with Greenwood variance and log-log CI (CLINICAL_RULES.md section 6).

    ``times[i]`` is the follow-up time of participant i (any unit, e.g. months from confirmed
    response for duration of response) and ``events[i]`` is 1/True for the event (e.g. loss of
    response) or 0/False for censoring. At a time with both events and censorings the events
    come first, so the censored participants are counted at risk.

    At each distinct event time t_i with n_i at risk and d_i events:
    S = prod(1 - d_i / n_i); Greenwood sum G = sum(d_i / (n_i (n_i - d_i))); std_err = S sqrt(G);
    log-log limits exp(-exp(log(-log S) +/- z sqrt(G) / |log S|)). S and G are accumulated as
    exact fractions. Where S is 0, ``std_err`` and both limits are ``None`` (see :class:`KMStep`).

    Raises ``ValueError`` for empty input, sequences of different lengths, a negative or
    non-finite time, an event flag other than True/False/1/0, or a bad ``confidence``.
    """
    confidence = _check_confidence(confidence)
    times = list(times)
    events = list(events)
    if len(times) != len(events):
        raise ValueError(f"times and events must have the same length, got {len(times)} and {len(events)}")
    if not times:
        raise ValueError("kaplan_meier needs at least one observation")
    observations = sorted(
        (_check_time(time, i), _check_event(event, i)) for i, (time, event) in enumerate(zip(times, events))
    )
    z = _two_sided_z(confidence)

    steps: list[KMStep] = []
    survival = Fraction(1)
    greenwood_sum = Fraction(0)
    at_risk = len(observations)
    i = 0
    while i < len(observations):
        time = observations[i][0]
        deaths = censored = 0
        while i < len(observations) and observations[i][0] == time:
            if observations[i][1]:
                deaths += 1
            else:
                censored += 1
            i += 1
        if deaths:
            survival *= Fraction(at_risk - deaths, at_risk)
            if survival > 0:
                greenwood_sum += Fraction(deaths, at_risk * (at_risk - deaths))
            steps.append(_km_step(time, at_risk, deaths, censored, survival, greenwood_sum, z))
        at_risk -= deaths + censored

    return KaplanMeier(
        steps=tuple(steps),
        n=len(observations),
        max_time=observations[-1][0],
        confidence=confidence,
    )


def _km_step(time, at_risk, deaths, censored, survival: Fraction, greenwood_sum: Fraction, z: float) -> KMStep:
    s = float(survival)
    if survival == 0:
        return KMStep(time, at_risk, deaths, censored, 0.0, None, None, None)
    g = float(greenwood_sum)
    log_s = math.log(s)
    se_loglog = math.sqrt(g) / abs(log_s)
    centre = math.log(-log_s)
    ci_low = math.exp(-math.exp(centre + z * se_loglog))
    ci_high = math.exp(-math.exp(centre - z * se_loglog))
    return KMStep(
        time=time,
        at_risk=at_risk,
        events=deaths,
        censored=censored,
        survival=s,
        std_err=s * math.sqrt(g),
        ci_low=ci_low,
        ci_high=ci_high,
    )


# --------------------------------------------------------------------------- duration of response


def duration_of_response_summary(
    durations: Sequence[tuple[int, bool]],
    *,
    landmarks: Sequence[float] = DURATION_LANDMARKS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict | None:
    """Kaplan-Meier summary of the duration of response of a group's confirmed responders
    (CLINICAL_RULES.md sections 1 and 6), as stored in the outcomes snapshot and served by the API.

    ``durations`` holds one ``(days, censored)`` pair per confirmed responder: days from the
    confirmed response to the confirmed loss of response (``censored`` False, an event) or to the
    last evaluable assessment (``censored`` True). Times are reported in months of 30 days
    (section 8), the unit of the section 6 check vector. Returns ``None`` when there is no
    responder. The block (plain JSON types):

    * ``unit`` ("months"), ``days_per_unit`` (30), ``confidence`` (0.95);
    * ``responders``, ``events`` (confirmed losses), ``censored``;
    * ``median`` and ``median_ci`` ``[lo, hi]`` (:attr:`KaplanMeier.median` and
      :attr:`KaplanMeier.median_ci`; ``None`` where not reached);
    * ``at``: ``{"time", "survival", "ci": [lo, hi] | None}`` at each landmark (3, 6 and 12 months)
      that the longest follow-up reaches; ``ci`` is ``None`` where S is 1 (no loss yet) or 0;
    * ``steps``: one ``{"time", "at_risk", "events", "censored", "survival", "std_err", "ci"}`` per
      distinct event time, ``censored_times`` and ``max_time``: what the step curve is drawn from.
    """
    rows = list(durations)
    if not rows:
        return None
    times, events = [], []
    for index, row in enumerate(rows):
        days, censored = row
        if not isinstance(censored, bool):
            raise ValueError(f"durations[{index}]: censored must be True or False, got {censored!r}")
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days) or days < 0:
            raise ValueError(f"durations[{index}]: days must be a finite number >= 0, got {days!r}")
        times.append(days / DAYS_PER_MONTH)
        events.append(not censored)
    km = kaplan_meier(times, events, confidence)
    loss_count = sum(events)

    def pair(ci):
        return None if ci is None else [ci[0], ci[1]]

    return {
        "unit": "months",
        "days_per_unit": DAYS_PER_MONTH,
        "confidence": km.confidence,
        "responders": km.n,
        "events": loss_count,
        "censored": km.n - loss_count,
        "median": km.median,
        "median_ci": list(km.median_ci),
        "at": [
            {"time": float(landmark), "survival": km.survival_at(landmark), "ci": pair(km.ci_at(landmark))}
            for landmark in landmarks
            if landmark <= km.max_time
        ],
        "steps": [
            {"time": step.time, "at_risk": step.at_risk, "events": step.events, "censored": step.censored,
             "survival": step.survival, "std_err": step.std_err,
             "ci": None if step.ci_low is None else [step.ci_low, step.ci_high]}
            for step in km.steps
        ],
        "censored_times": sorted(time for time, event in zip(times, events) if not event),
        "max_time": km.max_time,
    }
