"""The words of an eligibility criterion's result, from its message (``CLINICAL_RULES.md`` section 5).

A criterion's result keeps its values and arithmetic as a *message*: ``{"code": ..., "params":
{...}}`` (``API.md`` "Screening facts", the ``detail`` of each criterion), worded by the renderer
the apps share (``trials.messages``: :func:`render` in the active language, :func:`english` in the
English the rules were first written in). This module registers the criteria's codes and words.
"""
from __future__ import annotations

from collections.abc import Mapping

from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop

from trials.content import pick
from trials.messages import Message, english, listed, message, register, render, text, word

__all__ = ["TEMPLATES", "WORDS", "Message", "criterion_shown", "english", "listed", "message", "render", "text",
           "word"]

# Each code's sentence, English as the msgid; named placeholders are the message's params.
TEMPLATES: dict[str, str] = {
    # Outcomes of a rule
    "missing": gettext_noop("missing: %(items)s"),
    "missing_because": gettext_noop("missing: %(items)s (%(explanation)s)"),
    "missing_with": gettext_noop("missing: %(items)s; %(detail)s"),
    "not_applicable": gettext_noop("not applicable: %(reason)s"),
    "in_context": gettext_noop("%(context)s: %(detail)s"),
    # What is missing
    "birth_date": gettext_noop("birth date"),
    "screening_date": gettext_noop("screening date"),
    "diagnosis_date": gettext_noop("diagnosis date"),
    "disease": gettext_noop("disease"),
    "ecog": gettext_noop("ECOG performance status"),
    "birth_after_screening": gettext_noop(
        "a valid birth date (birth date %(birth)s is after the screening date %(screening)s)"),
    "diagnosis_after_screening": gettext_noop(
        "a valid diagnosis date (diagnosis date %(diagnosis)s is after the screening date %(screening)s)"),
    "lab_name": gettext_noop("%(label)s (%(analyte)s)"),
    "lab_result": gettext_noop("%(lab)s result"),
    "upper_limit_for": gettext_noop("upper limit of normal (ULN) for %(lab)s"),
    "lower_limit_for": gettext_noop("lower limit of normal (LLN) for %(lab)s"),
    "height_for_schwartz": gettext_noop("height (bedside Schwartz formula, age %(age)s y)"),
    "sex_for_cockcroft_gault": gettext_noop("sex (male or female, Cockcroft-Gault formula)"),
    "weight_for_cockcroft_gault": gettext_noop("weight (Cockcroft-Gault formula)"),
    "clearance_inputs": gettext_noop("usable inputs for creatinine clearance (%(problem)s)"),
    "prior_therapies_not_recorded": gettext_noop("prior therapies (not recorded)"),
    "course_outcome_missing": gettext_noop("outcome of %(therapy)s course %(period)s"),
    "course_start_missing": gettext_noop("start date of %(therapy)s course %(period)s (for its duration)"),
    "course_screening_date_missing": gettext_noop(
        "screening date of %(therapy)s course %(period)s (for its duration)"),
    "sex_male_or_female": gettext_noop("sex (male or female)"),
    "item_yes_no": gettext_noop("%(name)s (yes/no)"),
    "item_not_yes_no": gettext_noop("%(name)s as yes or no (recorded '%(answer)s')"),
    "item_not_number": gettext_noop("%(name)s as a number (recorded '%(answer)s')"),
    "item_date": gettext_noop("%(name)s (a date)"),
    "item_date_after_screening": gettext_noop(
        "%(name)s on or before the screening date (recorded %(date)s, screening %(screening)s)"),
    # Values and arithmetic
    "age": gettext_noop("age %(age)s y on %(screening)s (born %(birth)s); criterion %(required)s"),
    "years_between": gettext_noop("%(low)s-%(high)s y"),
    "years_at_least": gettext_noop(">= %(low)s y"),
    "years_at_most": gettext_noop("<= %(high)s y"),
    "years": gettext_noop("%(age)s y"),
    "lab_value": gettext_noop("%(analyte)s %(value)s %(unit)s"),
    "lab_value_dated": gettext_noop("%(analyte)s %(value)s %(unit)s (%(date)s)"),
    "lab_threshold": gettext_noop("%(lab)s; criterion %(op)s %(limit)s %(unit)s"),
    "lab_vs_limit": gettext_noop(
        "%(lab)s = %(ratio)s x %(limit_name)s %(limit)s %(unit)s; criterion %(op)s %(multiple)s x "
                 "%(limit_name)s"),
    "lab_vs_zero_limit": gettext_noop(
        "%(lab)s; %(limit_name)s %(limit)s %(unit)s; criterion %(op)s %(multiple)s x %(limit_name)s"),
    "clearance": gettext_noop("%(formula)s; criterion %(op)s %(limit)s mL/min"),
    "schwartz": gettext_noop(
        "bedside Schwartz (age %(age)s y, under %(adult_age)s): 36.5 x %(height)s cm / %(creatinine)s "
                 "umol/L = %(clearance)s mL/min/1.73 m2"),
    "cockcroft_gault": gettext_noop(
        "Cockcroft-Gault (%(sex)s, %(age)s y): (140 - %(age)s) x %(weight)s kg x %(factor)s "
                 "(%(factor_text)s) / %(creatinine)s umol/L = %(clearance)s mL/min"),
    "ecog_range": gettext_noop("ECOG %(ecog)s; criterion %(low)s-%(high)s"),
    "disease_in": gettext_noop("disease %(disease)s; criterion one of %(diseases)s"),
    "disease_duration": gettext_noop(
        "diagnosed %(diagnosis)s, %(months)s whole months before screening on %(screening)s; "
                 "criterion %(op)s %(minimum)s months"),
    "therapy_required": gettext_noop("criterion %(therapies)s with outcome %(outcomes)s"),
    "therapy_required_weeks": gettext_noop(
        "criterion %(therapies)s with outcome %(outcomes)s for >= %(weeks)s weeks"),
    "no_therapy_recorded": gettext_noop("no %(therapies)s recorded; %(required)s"),
    "courses": gettext_noop("%(courses)s; %(required)s"),
    "period": gettext_noop("%(start)s to %(end)s"),
    "period_ongoing": gettext_noop("%(start)s to ongoing"),
    "course": gettext_noop("%(therapy)s %(period)s, outcome %(outcome)s"),
    "course_no_outcome": gettext_noop("%(therapy)s %(period)s, outcome not recorded"),
    "course_not_failure": gettext_noop("%(therapy)s %(period)s, outcome %(outcome)s (not a failure)"),
    "course_qualifies": gettext_noop("%(therapy)s %(period)s, outcome %(outcome)s (qualifies)"),
    "course_weeks_qualifies": gettext_noop(
        "%(therapy)s %(period)s (%(weeks)s weeks), outcome %(outcome)s (qualifies)"),
    "course_weeks_short": gettext_noop(
        "%(therapy)s %(period)s (%(weeks)s weeks), outcome %(outcome)s (shorter than %(minimum)s weeks)"),
    "answer": gettext_noop("%(name)s: %(answer)s; criterion %(wanted)s"),
    "answer_number": gettext_noop("%(name)s: %(answer)s; criterion %(op)s %(value)s"),
    "answer_in": gettext_noop("%(name)s: %(answers)s; criterion one of %(wanted)s"),
    "answered": gettext_noop("%(name)s: %(answer)s"),
    "time_since": gettext_noop(
        "%(name)s %(start)s to screening %(screening)s: %(elapsed)s %(unit)s; criterion %(op)s %(value)s "
                 "%(unit)s"),
    # Combinations and the rules that apply to some participants only
    "all_of": gettext_noop("all of: %(parts)s"),
    "any_of": gettext_noop("any of: %(parts)s"),
    "part": gettext_noop("(%(detail)s -> %(outcome)s)"),
    "bracketed": gettext_noop("(%(detail)s)"),
    "disease_context": gettext_noop("disease %(disease)s"),
    "disease_not_in": gettext_noop("disease %(disease)s is not one of %(diseases)s"),
    "rule_for_sex": gettext_noop("rule for %(sex)s participants; sex is %(actual)s"),
    "age_below": gettext_noop("age %(age)s y is below %(minimum)s y"),
}

# The words a ``word`` message names ({"code": "word", "params": {"word": "female"}}).
WORDS: dict[str, str] = {
    "yes": gettext_noop("yes"),
    "no": gettext_noop("no"),
    "male": gettext_noop("male"),
    "female": gettext_noop("female"),
    "met": gettext_noop("met"),
    "not met": gettext_noop("not met"),
    "missing": gettext_noop("missing"),
    "days": gettext_noop("days"),
    "weeks": gettext_noop("weeks"),
    "months": gettext_noop("months"),
}

register(TEMPLATES, words=WORDS)


def criterion_shown(row: Mapping) -> dict:
    """A stored criterion outcome (``Screening.eligibility``) as pages and the API show it: its
    ``detail`` worded in the active language from its ``explanation`` message, which stays stored."""
    shown = {key: value for key, value in row.items() if key != "explanation"}
    shown["detail"] = render(row["explanation"]) if "explanation" in row else str(row.get("detail", ""))
    return shown


def criteria_summary(rows) -> str:
    """Stored criterion outcomes (``Screening.eligibility``) as the audit trail shows them: each
    criterion's text (the study's, in the reader's language where it gives one), its outcome and
    its detail (:func:`criterion_shown`), one after the other. Anything else is shown as stored."""
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        return str(rows)
    outcomes = {"met": gettext("met"), "not_met": gettext("not met"), "missing": gettext("missing")}
    return format_html_join(gettext("; "), '<span {}>{}</span>: {} <span class="criterion-detail">({})</span>', (
        (mark_safe(f'lang="{criterion_text.lang}" data-study-content'),  # noqa: S308 (our own attributes)
         criterion_text, outcomes.get(str(row.get("outcome")), str(row.get("outcome"))),
         criterion_shown(row)["detail"])
        for row in rows for criterion_text in [pick(str(row.get("text", row.get("code", ""))), row.get("text_zh"))]))
