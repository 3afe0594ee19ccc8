"""The words of the response explanations, as messages (``trials.messages``): computed at read time
with their values, worded in the reader's language (CLINICAL_RULES.md sections 1 and 2).

* Each assessment's reason (``AssessmentResult.reason_message``): ``category_because`` /
  ``not_evaluable_because`` around the comparisons (``compared``: "platelets 20 < 30"), the values
  (``platelets``, ``hb``, ``anc``, ``reticulocytes*``), what made it not evaluable (``*_because``,
  ``after_*``, ``outside_window``) and what was missing (``missing_values``, ``missing_for_cr``).
* The explanation of the best confirmed response (``ResponseResult.explanation_message``):
  ``explanation`` around the preamble (``preamble*``, ``baseline*``), confirmation, loss, duration
  and time in response; several lineages add ``lineage_*`` and ``paired_*``.
* The ITP time points (``TimePoint.reason_message``): ``no_count_near``, ``category_on*``,
  ``confirmed_*``, ``lost_on``.

Categories (CR, R, PR, NR, NE), analyte codes, criteria set codes and dates are kept as written;
numbers come formatted as the rules write them (``response_core._fmt``).
"""
from __future__ import annotations

from django.utils.translation import gettext_noop

from trials.messages import Message, listed, message, register, word

TEMPLATES: dict[str, str] = {
    # One value per day
    "several_counts": gettext_noop("%(n)s counts on %(date)s, lowest used"),
    "several_values": gettext_noop("%(n)s values on %(date)s, lowest used"),
    # Baseline, therapies, the evaluation window
    "baseline": gettext_noop("baseline %(analyte)s %(value)s on %(date)s"),
    "baseline_several": gettext_noop("baseline %(analyte)s %(value)s on %(date)s (%(several)s)"),
    "baseline_missing": gettext_noop(
        "baseline missing: no count in the %(days)s days on or before the first infusion (%(first)s)"),
    "therapy_ongoing": gettext_noop("%(therapy)s from %(start)s (ongoing)"),
    "therapy_on": gettext_noop("%(therapy)s on %(start)s"),
    "therapy_period": gettext_noop("%(therapy)s %(start)s to %(end)s"),
    "outside_window": gettext_noop("outside the evaluation window (%(start)s to %(end)s)"),
    # The explanation of the best confirmed response
    "explanation": gettext_noop("%(criteria_set)s: best confirmed response %(best)s; %(parts)s."),
    "preamble": gettext_noop("%(baseline)s, first infusion %(first)s"),
    "preamble_no_steroid": gettext_noop(
        "%(baseline)s, first infusion %(first)s, no corticosteroid dose recorded at baseline"),
    "preamble_steroid": gettext_noop(
        "%(baseline)s, first infusion %(first)s, stable corticosteroid dose at baseline %(dose)s mg/day "
        "prednisone equivalent"),
    "evaluable_of": gettext_noop("%(evaluable)s of %(total)s assessments evaluable"),
    "response_confirmed": gettext_noop(
        "response (%(category)s) on %(date)s confirmed by %(by)s (>= %(days)s days apart)"),
    "cr_confirmed": gettext_noop("CR on %(date)s confirmed by %(by)s (>= %(days)s days apart)"),
    "loss_confirmed": gettext_noop(
        "loss of response on %(date)s (%(category)s) confirmed by %(by)s (>= %(days)s day(s) apart)"),
    "loss_cr_confirmed": gettext_noop("loss of CR on %(date)s confirmed by %(by)s"),
    "no_loss_rule": gettext_noop("this criteria set defines no loss-of-response rule"),
    "nr_not_confirmed": gettext_noop("NR not confirmed (NR needs two assessments >= %(days)s day(s) apart)"),
    "no_response_confirmed": gettext_noop("no response confirmed by two assessments >= %(days)s days apart"),
    "no_evaluable": gettext_noop("no evaluable assessment"),
    "duration": gettext_noop("duration of response %(days)s days"),
    "duration_censored": gettext_noop(
        "duration of response %(days)s days (censored at the last evaluable assessment, %(date)s)"),
    "time_in_response": gettext_noop(
        "%(days)s of %(observed)s observed days in response (each evaluable category held until the next)"),
    # An assessment's category and its reasons
    "category_because": gettext_noop("%(category)s: %(reasons)s"),
    "not_evaluable_because": gettext_noop("not evaluable: %(reasons)s"),
    "not_evaluable_cr_r": gettext_noop("not evaluable for CR/R: %(level)s, bleeding grade not recorded"),
    "compared": gettext_noop("%(value)s %(op)s %(limit)s"),
    "compared_both": gettext_noop("%(value)s >= %(first)s and >= %(second)s"),
    "op_limit": gettext_noop("%(op)s %(limit)s"),
    "times_baseline": gettext_noop("%(fold)s x baseline %(baseline)s (%(product)s)"),
    "platelets": gettext_noop("platelets %(value)s"),
    "platelets_on": gettext_noop("platelets %(value)s on %(date)s"),
    "platelets_because": gettext_noop("platelets %(value)s: %(why)s"),
    "hb": gettext_noop("Hb %(value)s"),
    "hb_because": gettext_noop("Hb %(value)s: %(why)s"),
    "anc": gettext_noop("ANC %(value)s"),
    "anc_because": gettext_noop("ANC %(value)s: %(why)s"),
    "after_rescue": gettext_noop("%(platelets)s within %(days)s days after rescue therapy (%(therapy)s)"),
    "after_rbc": gettext_noop("within %(days)s days after a red-cell transfusion (%(therapy)s)"),
    "after_gcsf": gettext_noop("within %(days)s days after G-CSF (%(therapy)s)"),
    # ITP: corticosteroids and bleeding
    "steroid_dependence": gettext_noop(
        "NR: corticosteroid dependence (%(platelets)s on prednisone-equivalent %(dose)s mg/day > %(limit)s, "
        "%(above)s)"),
    "no_baseline_dose": gettext_noop("no dose recorded at baseline"),
    "above_stable_dose": gettext_noop("> stable dose at baseline %(dose)s mg/day"),
    "stable_steroid": gettext_noop(
        "on a stable maintenance corticosteroid dose, prednisone-equivalent %(dose)s mg/day (> %(limit)s, not "
        "above the baseline dose %(stable)s mg/day): not dependence"),
    "bleeding_not_recorded": gettext_noop("bleeding grade not recorded"),
    "bleeding_grade": gettext_noop("WHO bleeding grade %(grade)s %(op)s %(limit)s"),
    "bleeding": gettext_noop("bleeding (%(grade)s)"),
    # Anaemia
    "reticulocytes": gettext_noop("reticulocytes %(value)s"),
    "reticulocytes_absolute": gettext_noop("reticulocytes %(value)s (absolute count)"),
    "reticulocytes_percentage": gettext_noop("reticulocytes %(value)s (percentage, no absolute count)"),
    "with_range": gettext_noop("%(value)s, range %(low)s-%(high)s"),
    "lln_value": gettext_noop("LLN %(value)s"),
    "rise": gettext_noop("rise %(rise)s from baseline %(baseline)s"),
    "rise_not_assessable": gettext_noop("rise not assessable (baseline missing)"),
    "above_uln": gettext_noop("above ULN: %(names)s"),
    "missing_for_cr": gettext_noop("missing for CR: %(names)s"),
    "missing_values": gettext_noop("missing: %(names)s"),
    "retic_pct_compared": gettext_noop("reticulocytes %(value)s %% %(op)s %(limit)s %%"),
    "tbil_compared": gettext_noop("total bilirubin %(value)s %(op)s %(limit)s umol/L"),
    "antiglobulin_negative": gettext_noop("antiglobulin tests negative"),
    "antiglobulin_positive": gettext_noop("antiglobulin tests positive"),
    "transfusion_free": gettext_noop("%(days)s days transfusion-free since %(since)s (%(op)s %(needed)s)"),
    "since_transfusion": gettext_noop("last red-cell transfusion %(date)s"),
    "since_first_infusion": gettext_noop("first infusion %(date)s"),
    "hb_vs_sex_lln": gettext_noop("Hb %(value)s %(op)s %(lln)s (%(sex)s LLN)"),
    "baseline_missing_short": gettext_noop("baseline missing"),
    # Several lineages
    "lineage_category": gettext_noop("%(lineage)s %(category)s"),
    "lineage_on": gettext_noop("%(lineage)s on %(date)s"),
    "lineages_preamble": gettext_noop("per lineage: %(lineages)s; lineages paired within %(days)s days"),
    "paired_dates": gettext_noop("%(parts)s (paired within %(days)s days: %(dates)s)"),
    "paired_missing": gettext_noop("%(parts)s; not assessed within %(days)s days: %(missing)s"),
    "lineage_involved": gettext_noop("%(lineage)s involved (%(disease)s)"),
    "lineage_no_baseline": gettext_noop("%(lineage)s not assessed: no baseline value"),
    "lineage_below": gettext_noop("%(lineage)s involved: baseline %(value)s < %(limit)s"),
    "lineage_not_below": gettext_noop("%(lineage)s not involved: baseline %(value)s >= %(limit)s"),
    "lineages_then": gettext_noop("%(lineages)s. %(overall)s"),
    # ITP time points
    "no_count_near": gettext_noop("no evaluable count within %(days)s days of %(date)s"),
    "category_on": gettext_noop("%(category)s on %(date)s"),
    "category_on_because": gettext_noop("%(category)s on %(date)s (%(reason)s)"),
    "confirmed_from": gettext_noop("confirmed response from %(date)s"),
    "confirmed_not_yet": gettext_noop("confirmed response not by then"),
    "lost_on": gettext_noop("lost on %(date)s"),
}

# The values a reason names: therapies (their codes as recorded) and what was missing.
WORDS: dict[str, str] = {
    "ivig": gettext_noop("ivig"),
    "steroid_start": gettext_noop("steroid_start"),
    "steroid_increase": gettext_noop("steroid_increase"),
    "tpo_agent": gettext_noop("tpo_agent"),
    "platelet_transfusion": gettext_noop("platelet_transfusion"),
    "platelet transfusion": gettext_noop("platelet transfusion"),
    "rbc transfusion": gettext_noop("rbc transfusion"),
    "gcsf": gettext_noop("gcsf"),
    "Hb": gettext_noop("Hb"),
    "LDH": gettext_noop("LDH"),
    "total bilirubin": gettext_noop("total bilirubin"),
    "reticulocytes": gettext_noop("reticulocytes"),
    "Hb LLN": gettext_noop("Hb LLN"),
    "antiglobulin test": gettext_noop("antiglobulin test"),
    "reticulocytes %": gettext_noop("reticulocytes %"),
    "reticulocytes with LLN": gettext_noop("reticulocytes with LLN"),
    "baseline Hb": gettext_noop("baseline Hb"),
    "male": gettext_noop("male"),
    "female": gettext_noop("female"),
}

register(TEMPLATES, words=WORDS)

__all__ = ["TEMPLATES", "WORDS", "Message", "combined_day", "joined", "listed", "message", "word"]


def combined_day(on, n: int, what: str = "counts") -> Message:
    """A combined day: "2 counts on 2026-03-15, lowest used" (``what``: counts or values)."""
    return message("several_values" if what == "values" else "several_counts", n=n, date=str(on))


def joined(parts) -> Message:
    """Parts said one after the other, "; " between them (one part as it is)."""
    parts = [p for p in parts if p]
    return parts[0] if len(parts) == 1 else listed("list_semicolon", parts)
