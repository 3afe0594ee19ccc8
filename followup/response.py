"""Response per assessment and best confirmed response (CLINICAL_RULES.md sections 1 and 2).

Pure: no Django, no ORM, no clock. Values in the SI units of section 7 (platelets and neutrophils
x10^9/L, haemoglobin g/L, bilirubin umol/L). Every threshold comes from the criteria set's
``thresholds`` mapping (``trials/studies/response_criteria.yaml``); none is a constant here.

Shared rules (one engine, :func:`_summarise`, for every criteria set):

* **Per assessment** a category - ``CR``, ``R`` (ITP) / ``PR`` (other sets), ``NR`` or ``NE``
  (not evaluable) - with the reason: which values, which dates, which rule.
* **Confirmation**: a response needs two qualifying evaluable assessments at least
  ``confirm_response_days`` apart with no non-qualifying evaluable assessment between them; the
  response date is the first of them. Not-evaluable assessments neither confirm nor break a run.
* **Best confirmed response**: CR if a CR is confirmed, else R/PR if a response is confirmed,
  else NR when at least one assessment was evaluable, else NE. An unconfirmed count keeps its
  per-visit category but gives no confirmed response. NR needs confirming too (section 1: two
  counts at least ``confirm_failure_days`` apart, 1 day when the set does not say): when every
  evaluable assessment is NR and they all fall within less than that (a single NR count, or NR
  counts on one day), the best confirmed response is NE, "NR not confirmed".
* **Loss of response** (sets that define ``confirm_failure_days``): after the confirmed response,
  two consecutive non-responding evaluable assessments at least ``confirm_failure_days`` apart;
  the loss date is the first. Loss of CR likewise with "not CR".
* **Duration of response**: response date to loss date, censored at the last evaluable
  assessment when there is no loss.
* **One value per day**: several values of one analyte on one date are first combined into one
  daily value, the lowest (:mod:`followup.response_inputs`), for the baseline, the category and
  the confirmation; the reason and the explanation say "2 counts on <date>, lowest used". No
  result depends on the order of the input.
* **Baseline**: the last value on or before the first infusion (a value on the infusion day is
  taken as drawn before it), not more than ``baseline_lookback_days`` days before it (14 when the
  set does not say; section 1, for every set). Assessments on or before the first infusion are
  baseline candidates only.
* ``assess_from`` / ``assess_until`` (e.g. P1's day 15 to month 24) make assessments outside that
  window not evaluable for the best response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .response_inputs import (
    Count,
    HbAssessment,
    Lab,
    Therapy,
    Transfusion,
    daily_counts,
    daily_hb,
    several_text,
)

__all__ = [
    "CR",
    "NE",
    "NR",
    "PR",
    "R",
    "AssessmentResult",
    "Baseline",
    "Count",
    "HbAssessment",
    "Lab",
    "MultilineageResult",
    "ResponseResult",
    "Therapy",
    "TimePoint",
    "Transfusion",
    "aiha_response",
    "itp_response",
    "itp_time_points",
    "multilineage_response",
    "neutropenia_response",
    "prca_response",
]

CR = "CR"
R = "R"
PR = "PR"
NR = "NR"
NE = "NE"
_RANK = {CR: 2, R: 1, PR: 1, NR: 0}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Baseline:
    analyte: str
    value: float
    date: date


@dataclass(frozen=True)
class AssessmentResult:
    date: date
    category: str
    evaluable: bool
    reason: str
    value: float | None = None


@dataclass(frozen=True)
class ResponseResult:
    """The shape of ``GET /api/v1/participants/{id}/response/`` (API.md) plus detail."""

    criteria_set: str
    baseline: Baseline | None
    assessments: tuple[AssessmentResult, ...]
    best_confirmed_response: str
    response_date: date | None
    time_to_response_days: int | None
    loss_of_response_date: date | None
    explanation: str
    complete_response_date: date | None = None
    loss_of_complete_response_date: date | None = None
    duration_of_response_days: int | None = None
    duration_censored: bool | None = None
    time_in_response_share: float | None = None
    time_points: tuple[TimePoint, ...] = ()
    lineages: Mapping[str, ResponseResult] = field(default_factory=dict)

    def as_api(self) -> dict[str, Any]:
        """The API.md JSON body (dates as ISO strings), then the detail behind it."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {**self._api_contract(iso),
                "complete_response_date": iso(self.complete_response_date),
                "loss_of_complete_response_date": iso(self.loss_of_complete_response_date),
                "duration_of_response_days": self.duration_of_response_days,
                "duration_censored": self.duration_censored,
                "time_in_response_share": self.time_in_response_share,
                "time_points": [
                    {"name": p.name, "target_date": iso(p.target_date), "assessment_date": iso(p.assessment_date),
                     "met": p.met, "reason": p.reason}
                    for p in self.time_points
                ],
                "lineages": {name: lineage.as_api() for name, lineage in self.lineages.items()},
                "explanation": self.explanation}

    def _api_contract(self, iso) -> dict[str, Any]:
        return {
            "criteria_set": self.criteria_set,
            "baseline": None
            if self.baseline is None
            else {"analyte": self.baseline.analyte, "value": self.baseline.value, "date": iso(self.baseline.date)},
            "assessments": [
                {"date": iso(a.date), "category": a.category, "evaluable": a.evaluable, "reason": a.reason,
                 "value": a.value}
                for a in self.assessments
            ],
            "best_confirmed_response": self.best_confirmed_response,
            "response_date": iso(self.response_date),
            "time_to_response_days": self.time_to_response_days,
            "loss_of_response_date": iso(self.loss_of_response_date),
        }


@dataclass(frozen=True)
class TimePoint:
    """One ITP time-point endpoint (section 1): met True/False, or None when not assessable."""

    name: str
    target_date: date
    assessment_date: date | None
    met: bool | None
    reason: str


@dataclass(frozen=True)
class MultilineageResult:
    """Evans syndrome / several lineages (section 2): per-lineage results and the overall one."""

    criteria_set: str
    lineages: Mapping[str, ResponseResult]
    overall: ResponseResult
    best_by_lineage: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _d(x: float) -> Decimal:
    return Decimal(str(x))


def _fmt(x: float | Decimal) -> str:
    return format(_d(x).normalize(), "f")


def _days(thresholds: Mapping[str, float], key: str) -> int:
    try:
        return int(thresholds[key])
    except KeyError:
        raise ValueError(f"the criteria set has no threshold {key!r}") from None


DEFAULT_BASELINE_LOOKBACK_DAYS = 14
DEFAULT_LINEAGE_PAIRING_DAYS = 3


def _lookback(thresholds: Mapping[str, float]) -> int:
    """The set's ``baseline_lookback_days``, 14 when it has none (CLINICAL_RULES.md section 1)."""
    return int(thresholds.get("baseline_lookback_days", DEFAULT_BASELINE_LOOKBACK_DAYS))


def _find_baseline(items, *, analyte: str, date_of, value_of, first_infusion: date, lookback_days: int):
    """Last item (one per date) on or before the first infusion, within the look-back."""
    earliest = first_infusion - timedelta(days=int(lookback_days))
    candidates = [i for i in items if earliest <= date_of(i) <= first_infusion]
    if not candidates:
        return None
    last = max(candidates, key=date_of)
    return Baseline(analyte, value_of(last), date_of(last))


def _baseline_text(baseline: Baseline | None, first_infusion: date, lookback_days, several=None) -> str:
    if baseline is not None:
        n = (several or {}).get(baseline.date)
        combined = f" ({several_text(baseline.date, n)})" if n else ""
        return f"baseline {baseline.analyte} {_fmt(baseline.value)} on {baseline.date}{combined}"
    return f"baseline missing: no count in the {int(lookback_days)} days on or before the first infusion ({first_infusion})"


def _with_several(result: AssessmentResult, several: Mapping[date, int], what: str = "counts") -> AssessmentResult:
    """The result with "2 counts on <date>, lowest used" added to its reason when its day combined several."""
    n = several.get(result.date)
    if not n:
        return result
    return AssessmentResult(result.date, result.category, result.evaluable,
                            f"{result.reason}; {several_text(result.date, n, what)}", result.value)


def _recent(therapies: Sequence[Therapy], on: date, days: int) -> Therapy | None:
    """The latest therapy given on ``on`` or in the ``days`` days before it (ongoing counts)."""
    hits = [t for t in therapies if t.start <= on and (t.end is None or t.end >= on - timedelta(days=days))]
    return max(hits, key=lambda t: t.start) if hits else None


def _therapy_text(t: Therapy) -> str:
    if t.end is None:
        return f"{t.kind} from {t.start} (ongoing)"
    if t.end == t.start:
        return f"{t.kind} on {t.start}"
    return f"{t.kind} {t.start} to {t.end}"


def _window_reason(on: date, assess_from: date | None, assess_until: date | None) -> str | None:
    if (assess_from is not None and on < assess_from) or (assess_until is not None and on > assess_until):
        return f"outside the evaluation window ({assess_from or '...'} to {assess_until or '...'})"
    return None


def _all(parts: Sequence[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, None (not assessable) if any is missing."""
    if any(p is False for p in parts):
        return False
    if any(p is None for p in parts):
        return None
    return True


def _first_confirmed_run(
    evaluable: Sequence[AssessmentResult], start: int, qualifies: Callable[[AssessmentResult], bool], min_days: int
) -> tuple[int, int] | None:
    """First (i, j): consecutive qualifying assessments i..j with date j - date i >= min_days."""
    i = start
    while i < len(evaluable):
        if not qualifies(evaluable[i]):
            i += 1
            continue
        j = i + 1
        while j < len(evaluable) and qualifies(evaluable[j]):
            if (evaluable[j].date - evaluable[i].date).days >= min_days:
                return i, j
            j += 1
        i = j  # a later start inside the same run is closer to its end: it cannot confirm
    return None


def _summarise(
    criteria_set: str,
    baseline: Baseline | None,
    assessments: Sequence[AssessmentResult],
    *,
    first_infusion: date,
    confirm_response_days: int,
    confirm_failure_days: int | None,
    response_label: str,
    preamble: str,
    several: Mapping[date, int] | None = None,
    several_what: str = "counts",
) -> ResponseResult:
    """Confirmation, best confirmed response, loss and duration (module docstring)."""
    assessments = tuple(sorted(assessments, key=lambda a: a.date))
    ev = [a for a in assessments if a.evaluable]
    said = [preamble, f"{len(ev)} of {len(assessments)} assessments evaluable"]
    said += [several_text(on, n, several_what) for on, n in sorted((several or {}).items())]

    response = _first_confirmed_run(ev, 0, lambda a: _RANK[a.category] >= 1, confirm_response_days)
    complete = _first_confirmed_run(ev, 0, lambda a: _RANK[a.category] >= 2, confirm_response_days)

    response_date = complete_date = loss_date = loss_cr_date = None
    if response is not None:
        i, j = response
        response_date = ev[i].date
        said.append(
            f"response ({ev[i].category}) on {ev[i].date} confirmed by {ev[j].date} "
            f"(>= {confirm_response_days} days apart)"
        )
    if complete is not None:
        i, j = complete
        complete_date = ev[i].date
        said.append(f"CR on {ev[i].date} confirmed by {ev[j].date} (>= {confirm_response_days} days apart)")

    if confirm_failure_days is not None:
        if response is not None:
            loss = _first_confirmed_run(ev, response[1] + 1, lambda a: _RANK[a.category] < 1, confirm_failure_days)
            if loss is not None:
                loss_date = ev[loss[0]].date
                said.append(
                    f"loss of response on {loss_date} ({ev[loss[0]].category}) confirmed by "
                    f"{ev[loss[1]].date} (>= {confirm_failure_days} day(s) apart)"
                )
        if complete is not None:
            loss_cr = _first_confirmed_run(ev, complete[1] + 1, lambda a: _RANK[a.category] < 2, confirm_failure_days)
            if loss_cr is not None:
                loss_cr_date = ev[loss_cr[0]].date
                said.append(f"loss of CR on {loss_cr_date} confirmed by {ev[loss_cr[1]].date}")
    else:
        said.append("this criteria set defines no loss-of-response rule")

    if complete is not None:
        best = CR
    elif response is not None:
        best = response_label
    elif ev and _nr_unconfirmed(ev, 1 if confirm_failure_days is None else int(confirm_failure_days)):
        best = NE
        nr_days = 1 if confirm_failure_days is None else int(confirm_failure_days)
        said.append(f"NR not confirmed (NR needs two assessments >= {nr_days} day(s) apart)")
    elif ev:
        best = NR
        said.append(f"no response confirmed by two assessments >= {confirm_response_days} days apart")
    else:
        best = NE
        said.append("no evaluable assessment")

    duration = censored = None
    if response_date is not None:
        end = loss_date if loss_date is not None else ev[-1].date
        duration = (end - response_date).days
        censored = loss_date is None
        said.append(
            f"duration of response {duration} days"
            + (f" (censored at the last evaluable assessment, {end})" if censored else "")
        )

    share = _time_in_response(ev)
    if share is not None:
        said.append(f"{share[0]} of {share[1]} observed days in response (each evaluable category held until the next)")

    return ResponseResult(
        criteria_set=criteria_set,
        baseline=baseline,
        assessments=assessments,
        best_confirmed_response=best,
        response_date=response_date,
        time_to_response_days=None if response_date is None else (response_date - first_infusion).days,
        loss_of_response_date=loss_date,
        explanation=f"{criteria_set}: best confirmed response {best}; " + "; ".join(said) + ".",
        complete_response_date=complete_date,
        loss_of_complete_response_date=loss_cr_date,
        duration_of_response_days=duration,
        duration_censored=censored,
        time_in_response_share=None if share is None else round(share[0] / share[1], 4),
    )


def _nr_unconfirmed(evaluable: Sequence[AssessmentResult], min_days: int) -> bool:
    """Every evaluable assessment NR, all within less than ``min_days`` of each other."""
    if any(a.category != NR for a in evaluable):
        return False
    return (evaluable[-1].date - evaluable[0].date).days < min_days


def _time_in_response(evaluable: Sequence[AssessmentResult]) -> tuple[int, int] | None:
    """(days in R/PR or CR, days observed) from the first to the last evaluable assessment, each
    category holding until the next evaluable one; None when fewer than two days are observed."""
    if len(evaluable) < 2 or evaluable[-1].date == evaluable[0].date:
        return None
    responding = sum((b.date - a.date).days for a, b in zip(evaluable, evaluable[1:]) if _RANK[a.category] >= 1)
    return responding, (evaluable[-1].date - evaluable[0].date).days


def _decide(value, cr: bool | None, partial: bool | None, label: str, reasons: list[str], on: date):
    """CR / partial / NR from three-valued criteria; NE when a missing value could change it."""
    text = "; ".join(reasons)
    if cr is True:
        return AssessmentResult(on, CR, True, f"CR: {text}", value)
    if partial is True:
        return AssessmentResult(on, label, True, f"{label}: {text}", value)
    if cr is None or partial is None:
        return AssessmentResult(on, NE, False, f"not evaluable: {text}", value)
    return AssessmentResult(on, NR, True, f"NR: {text}", value)


# --------------------------------------------------------------------------- ITP (section 1)


def itp_response(
    counts: Sequence[Count],
    *,
    first_infusion: date,
    rescue: Sequence[Therapy] = (),
    transfusions: Sequence[Transfusion] = (),
    thresholds: Mapping[str, float],
    criteria_set: str = "IWG2009-ITP",
    assess_from: date | None = None,
    assess_until: date | None = None,
) -> ResponseResult:
    """ITP response by IWG 2009 (CLINICAL_RULES.md section 1), thresholds from the criteria set.

    Counts are first combined into one per day, the lowest (module docstring). CR: platelets >=
    ``cr_platelets`` and no bleeding (WHO grade >= ``bleeding_grade_counts_from``). R: platelets
    >= ``r_platelets`` and >= ``r_fold_baseline`` x baseline and no bleeding. NR otherwise. NE:
    baseline missing (no count in the ``baseline_lookback_days`` days up to the first infusion), or
    a rescue therapy (``rescue``, and platelet ``transfusions``) given on the day of the count or in
    the ``rescue_exclusion_days`` days before it. **Bleeding grade missing**: CR and R need a
    recorded grade; a count that would be CR or R without one is NE ("bleeding grade not
    recorded"), an NR stays NR. ``rescue`` holds only what counts as rescue (platelet transfusion,
    IVIG, new or increased corticosteroid, TPO agent).

    **Corticosteroid dependence** (Chinese 2020, with ``steroid_dependence_prednisone_mg`` in the
    set): a count is NR when its daily prednisone-equivalent dose exceeds both that limit and the
    participant's stable pre-treatment dose, the dose recorded with the baseline count (none
    recorded there: 0). A stable dose above the limit, not raised since, is named in the reason
    beside the category and does not change it.
    """
    cr_plt = _d(thresholds["cr_platelets"])
    r_plt = _d(thresholds["r_platelets"])
    fold = _d(thresholds["r_fold_baseline"])
    bleeding_from = int(thresholds["bleeding_grade_counts_from"])
    steroid_limit = thresholds.get("steroid_dependence_prednisone_mg")
    lookback = _lookback(thresholds)
    exclusion = _days(thresholds, "rescue_exclusion_days")
    therapies = list(rescue) + [
        Therapy(f"{t.kind} transfusion", t.date, t.date) for t in transfusions if t.kind == "platelet"
    ]
    daily, several = daily_counts(counts)
    baseline = _find_baseline(
        daily, analyte="PLT", date_of=lambda c: c.date, value_of=lambda c: c.value,
        first_infusion=first_infusion, lookback_days=lookback,
    )
    baseline_dose = None
    if baseline is not None:
        baseline_dose = next(c.steroid_mg_per_day for c in daily if c.date == baseline.date)
    rule = _ItpRule(cr_plt, r_plt, fold, bleeding_from, exclusion, steroid_limit, baseline, baseline_dose, therapies)
    results = []
    for c in (c for c in daily if c.date > first_infusion):
        outside = _window_reason(c.date, assess_from, assess_until)
        if outside:
            result = AssessmentResult(c.date, NE, False, f"platelets {_fmt(c.value)}: {outside}", c.value)
        elif baseline is None:
            result = AssessmentResult(
                c.date, NE, False, f"platelets {_fmt(c.value)}: {_baseline_text(None, first_infusion, lookback)}",
                c.value)
        else:
            result = rule.assess(c)
        results.append(_with_several(result, several))
    preamble = f"{_baseline_text(baseline, first_infusion, lookback, several)}, first infusion {first_infusion}"
    if steroid_limit is not None and baseline is not None:
        preamble += (", no corticosteroid dose recorded at baseline" if baseline_dose is None else
                     f", stable corticosteroid dose at baseline {_fmt(baseline_dose)} mg/day prednisone equivalent")
    return _summarise(
        criteria_set, baseline, results,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=_days(thresholds, "confirm_failure_days"),
        response_label=R,
        preamble=preamble,
        several=several,
    )


@dataclass(frozen=True)
class _ItpRule:
    """The IWG 2009 category of one daily count after the first infusion, baseline present."""

    cr_plt: Decimal
    r_plt: Decimal
    fold: Decimal
    bleeding_from: int
    exclusion: int
    steroid_limit: float | None
    baseline: Baseline
    baseline_dose: float | None
    therapies: Sequence[Therapy]

    def assess(self, c: Count) -> AssessmentResult:
        therapy = _recent(self.therapies, c.date, self.exclusion)
        plt_text = f"platelets {_fmt(c.value)}"
        if therapy is not None:
            return AssessmentResult(
                c.date, NE, False,
                f"{plt_text} within {self.exclusion} days after rescue therapy ({_therapy_text(therapy)})", c.value)
        value = _d(c.value)
        steroid_note = ""
        if self.steroid_limit is not None and c.steroid_mg_per_day is not None \
                and _d(c.steroid_mg_per_day) > _d(self.steroid_limit):
            dose, limit = _fmt(c.steroid_mg_per_day), _fmt(self.steroid_limit)
            stable = self.baseline_dose
            if stable is None or _d(c.steroid_mg_per_day) > _d(stable):
                above = ("no dose recorded at baseline" if stable is None
                         else f"> stable dose at baseline {_fmt(stable)} mg/day")
                return AssessmentResult(
                    c.date, NR, True,
                    f"NR: corticosteroid dependence ({plt_text} on prednisone-equivalent {dose} mg/day > {limit}, "
                    f"{above})", c.value)
            steroid_note = (f"; on a stable maintenance corticosteroid dose, prednisone-equivalent {dose} mg/day "
                            f"(> {limit}, not above the baseline dose {_fmt(stable)} mg/day): not dependence")
        if c.bleeding_grade is None:
            bleeding, bleeding_text = None, "bleeding grade not recorded"
        else:
            bleeding = c.bleeding_grade >= self.bleeding_from
            bleeding_text = f"WHO bleeding grade {c.bleeding_grade} {'>=' if bleeding else '<'} {self.bleeding_from}"
        doubled = self.fold * _d(self.baseline.value)
        base_text = f"{_fmt(self.fold)} x baseline {_fmt(self.baseline.value)} ({_fmt(doubled)})"
        cr_level = value >= self.cr_plt
        r_level = value >= self.r_plt and value >= doubled
        if bleeding is True or not (cr_level or r_level):
            why = []
            if value < self.r_plt:
                why.append(f"{plt_text} < {_fmt(self.r_plt)}")
            if value < doubled:
                why.append(f"{plt_text} < {base_text}")
            if bleeding is True:
                why.append(f"bleeding ({bleeding_text})")
            elif bleeding is None:
                why.append(bleeding_text)
            return AssessmentResult(c.date, NR, True, "NR: " + ", ".join(why) + steroid_note, c.value)
        if cr_level:
            level = f"{plt_text} >= {_fmt(self.cr_plt)}"
            category = CR
        else:
            level = f"{plt_text} >= {_fmt(self.r_plt)} and >= {base_text}"
            category = R
        if bleeding is None:
            return AssessmentResult(
                c.date, NE, False,
                f"not evaluable for CR/R: {level}, bleeding grade not recorded{steroid_note}", c.value)
        return AssessmentResult(c.date, category, True, f"{category}: {level}, {bleeding_text}{steroid_note}", c.value)


def itp_time_points(
    result: ResponseResult,
    *,
    thresholds: Mapping[str, float],
    window_days: int,
    first_infusion: date | None = None,
    time_points: Mapping[str, int] | None = None,
    targets: Mapping[str, date] | None = None,
) -> tuple[TimePoint, ...]:
    """P3's time-point endpoints (CLINICAL_RULES.md section 1, Chinese 2020 / ICR 2019).

    ``time_points`` gives the day after the first infusion of each of ``early`` (R at week 1),
    ``initial`` (R at month 1), ``durable`` (response kept at month 6) and ``remission``
    (platelets >= ``cr_platelets`` at month 12); the assessment used is the evaluable one nearest
    the target day within +/- ``window_days`` (the earlier on a tie). "R" here means R or CR.
    "Durable" also needs a confirmed response not lost by that assessment. ``targets`` gives the
    target dates directly instead (time points anchored elsewhere, e.g. on the last infusion).
    """
    if targets is None:
        targets = {name: first_infusion + timedelta(days=int(days)) for name, days in (time_points or {}).items()}
    out = []
    for name in ("early", "initial", "durable", "remission"):
        if name not in targets:
            continue
        target = targets[name]
        near = [
            a for a in result.assessments
            if a.evaluable and abs((a.date - target).days) <= window_days
        ]
        if not near:
            out.append(TimePoint(name, target, None, None, f"no evaluable count within {window_days} days of {target}"))
            continue
        a = min(near, key=lambda a: (abs((a.date - target).days), a.date))
        responding = _RANK[a.category] >= 1
        if name == "remission":
            met = _d(a.value) >= _d(thresholds["cr_platelets"])
            reason = f"platelets {_fmt(a.value)} on {a.date} {'>=' if met else '<'} {_fmt(thresholds['cr_platelets'])}"
        elif name == "durable":
            confirmed = result.response_date is not None and result.response_date <= a.date
            lost = result.loss_of_response_date is not None and result.loss_of_response_date <= a.date
            met = responding and confirmed and not lost
            reason = (
                f"{a.category} on {a.date}; confirmed response "
                f"{'from ' + str(result.response_date) if confirmed else 'not by then'}"
                + (f"; lost on {result.loss_of_response_date}" if lost else "")
            )
        else:
            met = responding
            reason = f"{a.category} on {a.date} ({a.reason})"
        out.append(TimePoint(name, target, a.date, met, reason))
    return tuple(out)


# --------------------------------------------------------------------------- AIHA (section 2)


def _is_normal(lab: Lab | None, name: str, missing: list[str], *, need_lln: bool = False) -> bool | None:
    if lab is None or lab.uln is None or (need_lln and lab.lln is None):
        missing.append(name)
        return None
    ok = _d(lab.value) <= _d(lab.uln)
    if need_lln:
        ok = ok and _d(lab.value) >= _d(lab.lln)
    return ok


def aiha_response(
    assessments: Sequence[HbAssessment],
    *,
    first_infusion: date,
    transfusions: Sequence[Transfusion] = (),
    thresholds: Mapping[str, float],
    criteria_set: str,
    assess_from: date | None = None,
    assess_until: date | None = None,
) -> ResponseResult:
    """AIHA response (CLINICAL_RULES.md section 2) by either shipped set, chosen by its thresholds.

    A set with ``cr_hb`` is read as the international-consensus style: CR = Hb >= ``cr_hb`` and
    LDH, total bilirubin and reticulocytes <= ULN; PR = Hb >= ``pr_hb`` or a rise >= ``pr_hb_rise``
    from baseline. Otherwise the Chinese 2017 rule: CR = Hb >= the lab's LLN, reticulocytes and
    bilirubin within normal and antiglobulin tests negative; PR = Hb > ``pr_hb``, reticulocytes
    < ``pr_retic_pct`` % and bilirubin < ``pr_tbil`` umol/L. Both: a red-cell transfusion on the
    day or in the ``transfusion_exclusion_days`` days before makes the assessment not evaluable;
    a missing value that could change the category makes it not evaluable (the reason names it).
    """
    exclusion = _days(thresholds, "transfusion_exclusion_days")
    lookback = _lookback(thresholds)
    rbc = [Therapy("rbc transfusion", t.date, t.date) for t in transfusions if t.kind == "rbc"]
    daily, several = daily_hb(assessments)
    baseline = _find_baseline(
        daily, analyte="HGB", date_of=lambda a: a.date, value_of=lambda a: a.hb,
        first_infusion=first_infusion, lookback_days=lookback,
    )
    international = "cr_hb" in thresholds
    results = []
    for a in (a for a in daily if a.date > first_infusion):
        outside = _window_reason(a.date, assess_from, assess_until)
        recent = _recent(rbc, a.date, exclusion)
        if outside or recent:
            why = outside or f"within {exclusion} days after a red-cell transfusion ({_therapy_text(recent)})"
            result = AssessmentResult(a.date, NE, False, f"Hb {_fmt(a.hb)}: {why}", a.hb)
        elif international:
            result = _aiha_international(a, baseline, thresholds)
        else:
            result = _aiha_cn2017(a, thresholds)
        results.append(_with_several(result, several, "values"))
    return _summarise(
        criteria_set, baseline, results,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=thresholds.get("confirm_failure_days"),
        response_label=PR,
        preamble=f"{_baseline_text(baseline, first_infusion, lookback, several)}, first infusion {first_infusion}",
        several=several, several_what="values",
    )


def _retic_text(lab: Lab | None) -> str | None:
    """Which reticulocyte result was used (CLINICAL_RULES.md section 2: the absolute count with its
    range when recorded, else the percentage with its range)."""
    if lab is None:
        return None
    rng = f"{'' if lab.lln is None else _fmt(lab.lln)}-{'' if lab.uln is None else _fmt(lab.uln)}"
    return f"reticulocytes {_fmt(lab.value)}{_retic_kind(lab)}, range {rng}"


def _retic_kind(lab: Lab) -> str:
    kind = {"RETIC_ABS": "absolute count", "RETIC_PCT": "percentage, no absolute count"}.get(lab.label)
    return f" ({kind})" if kind else ""


def _aiha_international(a: HbAssessment, baseline: Baseline | None, t: Mapping[str, float]) -> AssessmentResult:
    hb = _d(a.hb)
    missing: list[str] = []
    markers = [
        _is_normal(a.ldh, "LDH", missing),
        _is_normal(a.tbil, "total bilirubin", missing),
        _is_normal(a.retic, "reticulocytes", missing),
    ]
    hb_cr = hb >= _d(t["cr_hb"])
    cr = _all([hb_cr, *markers])
    by_level = hb >= _d(t["pr_hb"])
    if baseline is None:
        by_rise = None
        rise_text = "rise not assessable (baseline missing)"
    else:
        rise = hb - _d(baseline.value)
        by_rise = rise >= _d(t["pr_hb_rise"])
        rise_text = f"rise {_fmt(rise)} from baseline {_fmt(baseline.value)} {'>=' if by_rise else '<'} {_fmt(t['pr_hb_rise'])}"
    partial = True if (by_level or by_rise) else (None if by_rise is None else False)
    reasons = [
        f"Hb {_fmt(hb)} {'>=' if hb_cr else '<'} {_fmt(t['cr_hb'])}",
        f"Hb {'>=' if by_level else '<'} {_fmt(t['pr_hb'])}",
        rise_text,
    ]
    retic = _retic_text(a.retic)
    if retic:
        reasons.append(retic)
    abnormal = [n for n, ok in zip(("LDH", "total bilirubin", "reticulocytes"), markers) if ok is False]
    if abnormal:
        reasons.append("above ULN: " + ", ".join(abnormal))
    if missing:
        reasons.append("missing for CR: " + ", ".join(missing))
    return _decide(a.hb, cr, partial, PR, reasons, a.date)


def _aiha_cn2017(a: HbAssessment, t: Mapping[str, float]) -> AssessmentResult:
    hb = _d(a.hb)
    missing: list[str] = []
    if a.hb_lln is None:
        missing.append("Hb LLN")
        hb_normal = None
    else:
        hb_normal = hb >= _d(a.hb_lln)
    retic_normal = _is_normal(a.retic, "reticulocytes", missing, need_lln=True)
    tbil_normal = _is_normal(a.tbil, "total bilirubin", missing)
    if a.antiglobulin_negative is None:
        missing.append("antiglobulin test")
    cr = _all([hb_normal, retic_normal, tbil_normal, a.antiglobulin_negative])
    pr_hb = hb > _d(t["pr_hb"])
    pr_retic = None if a.retic_pct is None else _d(a.retic_pct) < _d(t["pr_retic_pct"])
    pr_tbil = None if a.tbil is None else _d(a.tbil.value) < _d(t["pr_tbil"])
    if a.retic_pct is None:
        missing.append("reticulocytes %")
    partial = _all([pr_hb, pr_retic, pr_tbil])
    reasons = [f"Hb {_fmt(hb)} {'>' if pr_hb else '<='} {_fmt(t['pr_hb'])}"]
    if pr_retic is not None:
        reasons.append(f"reticulocytes {_fmt(a.retic_pct)} % {'<' if pr_retic else '>='} {_fmt(t['pr_retic_pct'])} %")
    if pr_tbil is not None:
        reasons.append(f"total bilirubin {_fmt(a.tbil.value)} {'<' if pr_tbil else '>='} {_fmt(t['pr_tbil'])} umol/L")
    if a.antiglobulin_negative is not None:
        reasons.append(f"antiglobulin tests {'negative' if a.antiglobulin_negative else 'positive'}")
    retic = _retic_text(a.retic)
    if retic:
        reasons.append(retic)
    if missing:
        reasons.append("missing: " + ", ".join(dict.fromkeys(missing)))
    return _decide(a.hb, cr, partial, PR, reasons, a.date)


# --------------------------------------------------------------------------- PRCA (section 2)


def prca_response(
    assessments: Sequence[HbAssessment],
    *,
    first_infusion: date,
    transfusions: Sequence[Transfusion] = (),
    sex: str,
    thresholds: Mapping[str, float],
    criteria_set: str = "PRCA-STD",
    assess_from: date | None = None,
    assess_until: date | None = None,
) -> ResponseResult:
    """PRCA response (CLINICAL_RULES.md section 2).

    Transfusion independence: no red-cell transfusion for >= ``transfusion_free_weeks`` weeks,
    counted from the later of the first infusion and the last red-cell transfusion (time before
    the infusion does not count towards a response to it). CR: independent, Hb >= ``hb_lln_<sex>``
    and reticulocytes >= their LLN. PR: independent and Hb risen >= ``pr_hb_rise`` from baseline.
    """
    if sex not in ("male", "female"):
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    free_days = int(thresholds["transfusion_free_weeks"]) * 7
    hb_lln = _d(thresholds[f"hb_lln_{sex}"])
    rise_needed = _d(thresholds["pr_hb_rise"])
    lookback = _lookback(thresholds)
    rbc_dates = sorted(t.date for t in transfusions if t.kind == "rbc")
    daily, several = daily_hb(assessments)
    baseline = _find_baseline(
        daily, analyte="HGB", date_of=lambda a: a.date, value_of=lambda a: a.hb,
        first_infusion=first_infusion, lookback_days=lookback,
    )
    results = []
    for a in (a for a in daily if a.date > first_infusion):
        outside = _window_reason(a.date, assess_from, assess_until)
        if outside:
            results.append(_with_several(AssessmentResult(a.date, NE, False, f"Hb {_fmt(a.hb)}: {outside}", a.hb),
                                         several, "values"))
            continue
        before = [d for d in rbc_dates if d <= a.date]
        since = max([first_infusion, *before])
        free = (a.date - since).days
        independent = free >= free_days
        since_text = f"last red-cell transfusion {before[-1]}" if before and before[-1] >= first_infusion else f"first infusion {first_infusion}"
        reasons = [f"{free} days transfusion-free since {since_text} ({'>=' if independent else '<'} {free_days})"]
        hb = _d(a.hb)
        hb_ok = hb >= hb_lln
        reasons.append(f"Hb {_fmt(hb)} {'>=' if hb_ok else '<'} {_fmt(hb_lln)} ({sex} LLN)")
        missing: list[str] = []
        if a.retic is None or a.retic.lln is None:
            retic_ok = None
            missing.append("reticulocytes with LLN")
        else:
            retic_ok = _d(a.retic.value) >= _d(a.retic.lln)
            reasons.append(f"reticulocytes {_fmt(a.retic.value)}{_retic_kind(a.retic)} {'>=' if retic_ok else '<'} "
                           f"LLN {_fmt(a.retic.lln)}")
        if baseline is None:
            rise_ok = None
            missing.append("baseline Hb")
        else:
            rise = hb - _d(baseline.value)
            rise_ok = rise >= rise_needed
            reasons.append(f"rise {_fmt(rise)} from baseline {_fmt(baseline.value)} {'>=' if rise_ok else '<'} {_fmt(rise_needed)}")
        if missing:
            reasons.append("missing: " + ", ".join(missing))
        results.append(_with_several(
            _decide(a.hb, _all([independent, hb_ok, retic_ok]), _all([independent, rise_ok]), PR, reasons, a.date),
            several, "values"))
    return _summarise(
        criteria_set, baseline, results,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=thresholds.get("confirm_failure_days"),
        response_label=PR,
        preamble=f"{_baseline_text(baseline, first_infusion, lookback, several)}, first infusion {first_infusion}",
        several=several, several_what="values",
    )


# --------------------------------------------------------------------------- neutropenia (section 2)


def neutropenia_response(
    counts: Sequence[Count],
    *,
    first_infusion: date,
    gcsf: Sequence[Therapy] = (),
    thresholds: Mapping[str, float],
    criteria_set: str = "NEUTROPENIA-STD",
    assess_from: date | None = None,
    assess_until: date | None = None,
) -> ResponseResult:
    """Neutropenia response (CLINICAL_RULES.md section 2).

    CR: ANC >= ``cr_anc``. PR: ANC >= ``pr_anc`` and >= ``pr_fold_baseline`` x baseline. G-CSF on
    the day or in the ``gcsf_exclusion_days`` days before makes the count not evaluable; so does a
    missing baseline when the count could be PR.
    """
    cr_anc = _d(thresholds["cr_anc"])
    pr_anc = _d(thresholds["pr_anc"])
    fold = _d(thresholds["pr_fold_baseline"])
    exclusion = _days(thresholds, "gcsf_exclusion_days")
    lookback = _lookback(thresholds)
    daily, several = daily_counts(counts)
    baseline = _find_baseline(
        daily, analyte="ANC", date_of=lambda c: c.date, value_of=lambda c: c.value,
        first_infusion=first_infusion, lookback_days=lookback,
    )
    results = []
    for c in (c for c in daily if c.date > first_infusion):
        outside = _window_reason(c.date, assess_from, assess_until)
        recent = _recent(gcsf, c.date, exclusion)
        if outside or recent:
            why = outside or f"within {exclusion} days after G-CSF ({_therapy_text(recent)})"
            results.append(_with_several(AssessmentResult(c.date, NE, False, f"ANC {_fmt(c.value)}: {why}", c.value),
                                         several))
            continue
        v = _d(c.value)
        cr = v >= cr_anc
        reasons = [f"ANC {_fmt(v)} {'>=' if cr else '<'} {_fmt(cr_anc)}", f"{'>=' if v >= pr_anc else '<'} {_fmt(pr_anc)}"]
        if baseline is None:
            doubled_ok = None
            reasons.append("baseline missing")
        else:
            doubled = fold * _d(baseline.value)
            doubled_ok = v >= doubled
            reasons.append(f"{'>=' if doubled_ok else '<'} {_fmt(fold)} x baseline {_fmt(baseline.value)} ({_fmt(doubled)})")
        results.append(_with_several(_decide(c.value, cr, _all([v >= pr_anc, doubled_ok]), PR, reasons, c.date),
                                     several))
    return _summarise(
        criteria_set, baseline, results,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=thresholds.get("confirm_failure_days"),
        response_label=PR,
        preamble=f"{_baseline_text(baseline, first_infusion, lookback, several)}, first infusion {first_infusion}",
        several=several,
    )


# --------------------------------------------------------------------------- several lineages (section 2)


def multilineage_response(
    lineages: Mapping[str, ResponseResult],
    *,
    first_infusion: date,
    thresholds: Mapping[str, float],
    criteria_set: str = "MULTILINEAGE",
) -> MultilineageResult:
    """Evans syndrome / several lineages (CLINICAL_RULES.md section 2).

    Each involved lineage is graded on its own by its set (``lineages``: name -> result of
    :func:`aiha_response`, :func:`itp_response`, :func:`neutropenia_response`, ...). On each date a
    lineage was assessed, every lineage's latest evaluable assessment (else its latest one) in the
    ``lineage_pairing_days`` days up to that date (3 when the set does not say) is paired: the
    overall category is CR when every paired lineage is CR, PR when every one is at least PR/R, NR
    when any is NR, else NE; a lineage with nothing in that window makes the date NE. The reason
    names the paired dates when they differ. The overall best response is confirmed on these
    paired categories (two >= ``confirm_response_days`` apart), so a CR in one lineage and a CR
    months later in another is not an overall CR unless they pair. ``best_by_lineage`` shows each
    lineage's own best.
    """
    if not lineages:
        raise ValueError("at least one involved lineage is needed")
    window = int(thresholds.get("lineage_pairing_days", DEFAULT_LINEAGE_PAIRING_DAYS))
    dates = sorted({a.date for result in lineages.values() for a in result.assessments})
    overall = [_paired(on, lineages, window) for on in dates]
    combined = _summarise(
        criteria_set, None, overall,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=thresholds.get("confirm_failure_days"),
        response_label=PR,
        preamble="per lineage: " + ", ".join(f"{n} {r.best_confirmed_response}" for n, r in lineages.items())
        + f"; lineages paired within {window} days",
    )
    return MultilineageResult(
        criteria_set, dict(lineages), combined, {n: r.best_confirmed_response for n, r in lineages.items()}
    )


def _paired(on: date, lineages: Mapping[str, ResponseResult], window: int) -> AssessmentResult:
    """The overall category on ``on`` from each lineage's latest evaluable assessment within ``window`` days."""
    seen: dict[str, AssessmentResult] = {}
    for name, result in lineages.items():
        near = [a for a in result.assessments if 0 <= (on - a.date).days <= window]
        evaluable = [a for a in near if a.evaluable]
        if evaluable or near:
            seen[name] = max(evaluable or near, key=lambda a: a.date)
    missing = [n for n in lineages if n not in seen]
    parts = ", ".join(f"{n} {a.category}" for n, a in seen.items())
    if any(a.date != on for a in seen.values()):
        parts += f" (paired within {window} days: " + ", ".join(f"{n} on {a.date}" for n, a in seen.items()) + ")"
    if missing:
        return AssessmentResult(on, NE, False, f"{parts}; not assessed within {window} days: {', '.join(missing)}")
    categories = [a.category for a in seen.values()]
    if NR in categories:
        category = NR
    elif NE in categories:
        category = NE
    else:
        category = CR if min(_RANK[c] for c in categories) == 2 else PR
    return AssessmentResult(on, category, category != NE, parts)
