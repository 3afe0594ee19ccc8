"""Response per assessment and best confirmed response (CLINICAL_RULES.md sections 1 and 2).

Pure: no ORM, no clock; the reasons are messages (`followup.response_messages`). Values in the SI
units of section 7 (platelets and neutrophils x10^9/L, haemoglobin g/L, bilirubin umol/L). Every
threshold comes from the criteria set's ``thresholds`` mapping (``trials/studies/response_criteria.yaml``);
none is a constant here.

The shared engine is :mod:`followup.response_core`, the inputs and the one-value-per-day
combination :mod:`followup.response_inputs`, the section 2 sets :mod:`followup.response_anaemia`;
this module holds ITP (section 1) and re-exports the public names.

Shared rules (one engine, ``response_core._summarise``, for every criteria set):

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
* ``assess_from`` / ``assess_until`` (e.g. P1's day 8 to day 734: the M0.5 window's opening to
  the M24 window's closing) make assessments outside that window not evaluable for the best
  response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from trials.messages import Message, listed, message

from .response_anaemia import (
    aiha_response,
    multilineage_response,
    neutropenia_response,
    prca_response,
)
from .response_core import (
    _RANK,
    CR,
    NE,
    NR,
    PR,
    AssessmentResult,
    Baseline,
    MultilineageResult,
    R,
    ResponseResult,
    TimePoint,
    _baseline_text,
    _compared,
    _d,
    _days,
    _find_baseline,
    _fmt,
    _lookback,
    _op,
    _recent,
    _summarise,
    _therapy_text,
    _window_reason,
    _with_several,
)
from .response_messages import joined
from .response_inputs import (
    Count,
    HbAssessment,
    Lab,
    Therapy,
    Transfusion,
    daily_counts,
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

# --------------------------------------------------------------------------- ITP (section 1)


def _baseline_steroid_dose(daily: Sequence[Count], first_infusion: date, lookback: int) -> float | None:
    """The stable pre-treatment corticosteroid dose (CLINICAL_RULES.md section 1): the latest daily
    dose recorded on or before the first infusion, within the baseline look-back; None if none was."""
    earliest = first_infusion - timedelta(days=lookback)
    recorded = [c for c in daily if earliest <= c.date <= first_infusion and c.steroid_mg_per_day is not None]
    return max(recorded, key=lambda c: c.date).steroid_mg_per_day if recorded else None


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
    participant's stable pre-treatment dose: the latest dose recorded with a count on or before the
    first infusion, within the baseline look-back (none recorded: 0, so any dose above the limit is
    dependence). A stable dose above the limit, not raised since, is named in the reason
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
    baseline_dose = _baseline_steroid_dose(daily, first_infusion, lookback)
    rule = _ItpRule(cr_plt, r_plt, fold, bleeding_from, exclusion, steroid_limit, baseline, baseline_dose, therapies,
                    *_doubled(fold, baseline))
    results = []
    for c in (c for c in daily if c.date > first_infusion):
        outside = _window_reason(c.date, assess_from, assess_until)
        if outside:
            result = AssessmentResult(c.date, NE, False, message("platelets_because", value=_fmt(c.value), why=outside),
                                      c.value)
        elif baseline is None:
            result = AssessmentResult(
                c.date, NE, False, message("platelets_because", value=_fmt(c.value),
                                           why=_baseline_text(None, first_infusion, lookback)), c.value)
        else:
            result = rule.assess(c)
        results.append(_with_several(result, several))
    said = {"baseline": _baseline_text(baseline, first_infusion, lookback, several), "first": str(first_infusion)}
    if steroid_limit is None or baseline is None:
        preamble = message("preamble", **said)
    elif baseline_dose is None:
        preamble = message("preamble_no_steroid", **said)
    else:
        preamble = message("preamble_steroid", **said, dose=_fmt(baseline_dose))
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
    # The same for every count (`_doubled`): r_fold_baseline x baseline and how the reason says it.
    doubled: Decimal | None = None
    base_text: Message | None = None

    def assess(self, c: Count) -> AssessmentResult:
        therapy = _recent(self.therapies, c.date, self.exclusion)
        plt_text = message("platelets", value=_fmt(c.value))
        if therapy is not None:
            return AssessmentResult(
                c.date, NE, False,
                message("after_rescue", platelets=plt_text, days=self.exclusion, therapy=_therapy_text(therapy)),
                c.value)
        value = _d(c.value)
        steroid_note = None
        if self.steroid_limit is not None and c.steroid_mg_per_day is not None \
                and _d(c.steroid_mg_per_day) > _d(self.steroid_limit):
            dose, limit = _fmt(c.steroid_mg_per_day), _fmt(self.steroid_limit)
            stable = self.baseline_dose
            if stable is None or _d(c.steroid_mg_per_day) > _d(stable):
                above = (message("no_baseline_dose") if stable is None
                         else message("above_stable_dose", dose=_fmt(stable)))
                return AssessmentResult(
                    c.date, NR, True,
                    message("steroid_dependence", platelets=plt_text, dose=dose, limit=limit, above=above), c.value)
            steroid_note = message("stable_steroid", dose=dose, limit=limit, stable=_fmt(stable))
        if c.bleeding_grade is None:
            bleeding, bleeding_text = None, message("bleeding_not_recorded")
        else:
            bleeding = c.bleeding_grade >= self.bleeding_from
            bleeding_text = message("bleeding_grade", grade=c.bleeding_grade, op=_op(bleeding),
                                    limit=self.bleeding_from)
        doubled, base_text = self.doubled, self.base_text
        cr_level = value >= self.cr_plt
        r_level = value >= self.r_plt and value >= doubled
        if bleeding is True or not (cr_level or r_level):
            why = []
            if value < self.r_plt:
                why.append(_compared(plt_text, False, self.r_plt))
            if value < doubled:
                why.append(_compared(plt_text, False, base_text))
            if bleeding is True:
                why.append(message("bleeding", grade=bleeding_text))
            elif bleeding is None:
                why.append(bleeding_text)
            said = message("category_because", category=NR, reasons=listed("list_comma", why))
            return AssessmentResult(c.date, NR, True, joined([said, steroid_note]), c.value)
        if cr_level:
            level = _compared(plt_text, True, self.cr_plt)
            category = CR
        else:
            level = message("compared_both", value=plt_text, first=_fmt(self.r_plt), second=base_text)
            category = R
        if bleeding is None:
            return AssessmentResult(
                c.date, NE, False, joined([message("not_evaluable_cr_r", level=level), steroid_note]), c.value)
        said = message("category_because", category=category, reasons=listed("list_comma", [level, bleeding_text]))
        return AssessmentResult(c.date, category, True, joined([said, steroid_note]), c.value)


def _doubled(fold: Decimal, baseline: Baseline | None) -> tuple[Decimal | None, Message | None]:
    """r_fold_baseline x the baseline, and the reason's words for it (None without a baseline)."""
    if baseline is None:
        return None, None
    doubled = fold * _d(baseline.value)
    return doubled, message("times_baseline", fold=_fmt(fold), baseline=_fmt(baseline.value), product=_fmt(doubled))


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
            out.append(TimePoint(name, target, None, None,
                                 message("no_count_near", days=window_days, date=str(target))))
            continue
        a = min(near, key=lambda a: (abs((a.date - target).days), a.date))
        responding = _RANK[a.category] >= 1
        if name == "remission":
            met = _d(a.value) >= _d(thresholds["cr_platelets"])
            reason = _compared(message("platelets_on", value=_fmt(a.value), date=str(a.date)), met,
                               thresholds["cr_platelets"])
        elif name == "durable":
            confirmed = result.response_date is not None and result.response_date <= a.date
            lost = result.loss_of_response_date is not None and result.loss_of_response_date <= a.date
            met = responding and confirmed and not lost
            reason = joined([
                message("category_on", category=a.category, date=str(a.date)),
                message("confirmed_from", date=str(result.response_date)) if confirmed
                else message("confirmed_not_yet"),
                message("lost_on", date=str(result.loss_of_response_date)) if lost else None,
            ])
        else:
            met = responding
            reason = message("category_on_because", category=a.category, date=str(a.date), reason=a.reason_message)
        out.append(TimePoint(name, target, a.date, met, reason))
    return tuple(out)
