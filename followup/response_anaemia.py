"""Anaemia, neutropenia and several lineages (CLINICAL_RULES.md section 2): AIHA (both shipped
sets), PRCA, neutropenia and Evans syndrome / secondary cytopenia.

Pure: no ORM, no clock; reasons are messages. Shared rules (confirmation, one value per day, baseline,
explanations) are those of :mod:`followup.response`, which re-exports these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from trials.messages import Message, listed, message, word

from .response_core import (
    _RANK,
    CR,
    DEFAULT_LINEAGE_PAIRING_DAYS,
    NE,
    NR,
    PR,
    AssessmentResult,
    Baseline,
    MultilineageResult,
    ResponseResult,
    _all,
    _baseline_text,
    _compared,
    _d,
    _days,
    _decide,
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
from .response_inputs import (
    Count,
    HbAssessment,
    Lab,
    Therapy,
    Transfusion,
    daily_counts,
    daily_hb,
)

# --------------------------------------------------------------------------- AIHA (section 2)


def _summarise_partial(criteria_set, baseline, results, *, thresholds, first_infusion, lookback, several,
                       several_what="counts"):
    """:func:`_summarise` for a set whose response is PR (AIHA, PRCA, neutropenia): the set's
    confirmation days, its optional failure confirmation, the baseline in the preamble."""
    return _summarise(
        criteria_set, baseline, results,
        first_infusion=first_infusion,
        confirm_response_days=_days(thresholds, "confirm_response_days"),
        confirm_failure_days=thresholds.get("confirm_failure_days"),
        response_label=PR,
        preamble=message("preamble", baseline=_baseline_text(baseline, first_infusion, lookback, several),
                         first=str(first_infusion)),
        several=several, several_what=several_what,
    )


def _is_normal(lab: Lab | None, name: str, missing: list[Message], *, need_lln: bool = False) -> bool | None:
    if lab is None or lab.uln is None or (need_lln and lab.lln is None):
        missing.append(word(name))
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
            why = outside or message("after_rbc", days=exclusion, therapy=_therapy_text(recent))
            result = AssessmentResult(a.date, NE, False, message("hb_because", value=_fmt(a.hb), why=why), a.hb)
        elif international:
            result = _aiha_international(a, baseline, thresholds)
        else:
            result = _aiha_cn2017(a, thresholds)
        results.append(_with_several(result, several, "values"))
    return _summarise_partial(criteria_set, baseline, results, thresholds=thresholds, first_infusion=first_infusion,
                              lookback=lookback, several=several, several_what="values")


def _retic_text(lab: Lab | None) -> Message | None:
    """Which reticulocyte result was used (CLINICAL_RULES.md section 2: the absolute count with its
    range when recorded, else the percentage with its range)."""
    if lab is None:
        return None
    return message("with_range", value=_retic_kind(lab), low="" if lab.lln is None else _fmt(lab.lln),
                   high="" if lab.uln is None else _fmt(lab.uln))


def _retic_kind(lab: Lab) -> Message:
    """"reticulocytes 1.2", with "(absolute count)" or "(percentage, no absolute count)" when known."""
    code = {"RETIC_ABS": "reticulocytes_absolute", "RETIC_PCT": "reticulocytes_percentage"}.get(lab.label)
    return message(code or "reticulocytes", value=_fmt(lab.value))


def _aiha_international(a: HbAssessment, baseline: Baseline | None, t: Mapping[str, float]) -> AssessmentResult:
    hb = _d(a.hb)
    missing: list[Message] = []
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
        rise_text = message("rise_not_assessable")
    else:
        rise = hb - _d(baseline.value)
        by_rise = rise >= _d(t["pr_hb_rise"])
        rise_text = _compared(message("rise", rise=_fmt(rise), baseline=_fmt(baseline.value)), by_rise,
                              t["pr_hb_rise"])
    partial = True if (by_level or by_rise) else (None if by_rise is None else False)
    reasons = [
        _compared(message("hb", value=_fmt(hb)), hb_cr, t["cr_hb"]),
        _compared(word("Hb"), by_level, t["pr_hb"]),
        rise_text,
    ]
    retic = _retic_text(a.retic)
    if retic:
        reasons.append(retic)
    abnormal = [word(n) for n, ok in zip(("LDH", "total bilirubin", "reticulocytes"), markers) if ok is False]
    if abnormal:
        reasons.append(message("above_uln", names=listed("list_comma", abnormal)))
    if missing:
        reasons.append(message("missing_for_cr", names=listed("list_comma", missing)))
    return _decide(a.hb, cr, partial, PR, reasons, a.date)


def _aiha_cn2017(a: HbAssessment, t: Mapping[str, float]) -> AssessmentResult:
    hb = _d(a.hb)
    missing: list[Message] = []
    if a.hb_lln is None:
        missing.append(word("Hb LLN"))
        hb_normal = None
    else:
        hb_normal = hb >= _d(a.hb_lln)
    retic_normal = _is_normal(a.retic, "reticulocytes", missing, need_lln=True)
    tbil_normal = _is_normal(a.tbil, "total bilirubin", missing)
    if a.antiglobulin_negative is None:
        missing.append(word("antiglobulin test"))
    cr = _all([hb_normal, retic_normal, tbil_normal, a.antiglobulin_negative])
    pr_hb = hb > _d(t["pr_hb"])
    pr_retic = None if a.retic_pct is None else _d(a.retic_pct) < _d(t["pr_retic_pct"])
    pr_tbil = None if a.tbil is None else _d(a.tbil.value) < _d(t["pr_tbil"])
    if a.retic_pct is None:
        missing.append(word("reticulocytes %"))
    partial = _all([pr_hb, pr_retic, pr_tbil])
    reasons = [_compared(message("hb", value=_fmt(hb)), pr_hb, t["pr_hb"], ">", "<=")]
    if pr_retic is not None:
        reasons.append(message("retic_pct_compared", value=_fmt(a.retic_pct), op=_op(pr_retic, "<", ">="),
                               limit=_fmt(t["pr_retic_pct"])))
    if pr_tbil is not None:
        reasons.append(message("tbil_compared", value=_fmt(a.tbil.value), op=_op(pr_tbil, "<", ">="),
                               limit=_fmt(t["pr_tbil"])))
    if a.antiglobulin_negative is not None:
        reasons.append(message("antiglobulin_negative" if a.antiglobulin_negative else "antiglobulin_positive"))
    retic = _retic_text(a.retic)
    if retic:
        reasons.append(retic)
    if missing:
        unique = list({m["params"]["word"]: m for m in missing}.values())
        reasons.append(message("missing_values", names=listed("list_comma", unique)))
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
            results.append(_with_several(
                AssessmentResult(a.date, NE, False, message("hb_because", value=_fmt(a.hb), why=outside), a.hb),
                several, "values"))
            continue
        before = [d for d in rbc_dates if d <= a.date]
        since = max([first_infusion, *before])
        free = (a.date - since).days
        independent = free >= free_days
        since_text = (message("since_transfusion", date=str(before[-1])) if before and before[-1] >= first_infusion
                      else message("since_first_infusion", date=str(first_infusion)))
        reasons = [message("transfusion_free", days=free, since=since_text, op=_op(independent), needed=free_days)]
        hb = _d(a.hb)
        hb_ok = hb >= hb_lln
        reasons.append(message("hb_vs_sex_lln", value=_fmt(hb), op=_op(hb_ok), lln=_fmt(hb_lln), sex=word(sex)))
        missing: list[Message] = []
        if a.retic is None or a.retic.lln is None:
            retic_ok = None
            missing.append(word("reticulocytes with LLN"))
        else:
            retic_ok = _d(a.retic.value) >= _d(a.retic.lln)
            reasons.append(_compared(_retic_kind(a.retic), retic_ok, message("lln_value", value=_fmt(a.retic.lln))))
        if baseline is None:
            rise_ok = None
            missing.append(word("baseline Hb"))
        else:
            rise = hb - _d(baseline.value)
            rise_ok = rise >= rise_needed
            reasons.append(_compared(message("rise", rise=_fmt(rise), baseline=_fmt(baseline.value)), rise_ok,
                                     rise_needed))
        if missing:
            reasons.append(message("missing_values", names=listed("list_comma", missing)))
        results.append(_with_several(
            _decide(a.hb, _all([independent, hb_ok, retic_ok]), _all([independent, rise_ok]), PR, reasons, a.date),
            several, "values"))
    return _summarise_partial(criteria_set, baseline, results, thresholds=thresholds, first_infusion=first_infusion,
                              lookback=lookback, several=several, several_what="values")


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
            why = outside or message("after_gcsf", days=exclusion, therapy=_therapy_text(recent))
            results.append(_with_several(
                AssessmentResult(c.date, NE, False, message("anc_because", value=_fmt(c.value), why=why), c.value),
                several))
            continue
        v = _d(c.value)
        cr = v >= cr_anc
        reasons = [_compared(message("anc", value=_fmt(v)), cr, cr_anc),
                   message("op_limit", op=_op(v >= pr_anc), limit=_fmt(pr_anc))]
        if baseline is None:
            doubled_ok = None
            reasons.append(message("baseline_missing_short"))
        else:
            doubled = fold * _d(baseline.value)
            doubled_ok = v >= doubled
            reasons.append(message("op_limit", op=_op(doubled_ok), limit=message(
                "times_baseline", fold=_fmt(fold), baseline=_fmt(baseline.value), product=_fmt(doubled))))
        results.append(_with_several(_decide(c.value, cr, _all([v >= pr_anc, doubled_ok]), PR, reasons, c.date),
                                     several))
    return _summarise_partial(criteria_set, baseline, results, thresholds=thresholds, first_infusion=first_infusion,
                              lookback=lookback, several=several)


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
        preamble=message("lineages_preamble", days=window, lineages=listed("list_comma", [
            message("lineage_category", lineage=n, category=r.best_confirmed_response) for n, r in lineages.items()])),
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
    parts = listed("list_comma", [message("lineage_category", lineage=n, category=a.category) for n, a in seen.items()])
    if any(a.date != on for a in seen.values()):
        parts = message("paired_dates", parts=parts, days=window, dates=listed("list_comma", [
            message("lineage_on", lineage=n, date=str(a.date)) for n, a in seen.items()]))
    if missing:
        return AssessmentResult(on, NE, False, message("paired_missing", parts=parts, days=window,
                                                       missing=listed("list_comma", missing)))
    categories = [a.category for a in seen.values()]
    if NR in categories:
        category = NR
    elif NE in categories:
        category = NE
    else:
        category = CR if min(_RANK[c] for c in categories) == 2 else PR
    return AssessmentResult(on, category, category != NE, parts)
