"""The words of a CTCAE grading and of a lab-derived adverse-event suggestion, as messages
(``trials.messages``): stored with their values (``AdverseEvent.suggestion_message``), worded in the
reader's language (CLINICAL_RULES.md section 3, `followup.grading`).

* The grading (`grading.Grade.message`): ``ctcae_grade`` / ``ctcae_grade_basis`` (an abnormal or normal
  baseline: ``ctcae_basis_baseline`` / ``ctcae_basis_uln``) around the bands met or not
  (``ctcae_band_yes`` / ``ctcae_band_no``, a band by the baseline ``ctcae_by_baseline``, a fever's duration
  ``ctcae_duration_*``) joined by ``list_semicolon``; a term's note ``ctcae_with_note`` + ``ctcae_note_*``.
* A band: ``ctcae_band_absolute`` (a value and unit), ``ctcae_band_reference`` (the LLN, ULN or baseline),
  ``ctcae_band_multiple`` (a multiple of one), ``ctcae_band_bound`` (with the bound it comes to).
* The suggestion (`grading.Suggestion.message`): the grading followed by why it is suggested
  (``ctcae_suggested_*``).

Numbers are written as the grading writes them (format ``ctcae``: exact decimals, no trailing zeros);
the CTCAE terms are words (their Chinese CTCAE names); analyte codes, units and the table's version are
kept as written.
"""
from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_noop

from trials.messages import Template, register

CTCAE_FORMAT = "ctcae"
_NUMBERS = ("value", "threshold", "bound", "baseline", "uln", "hours", "limit")


def ctcae_number(x) -> str:
    """25.65 -> "25.65", 60.0 -> "60" (the grading's `_fmt`)."""
    return format(Decimal(str(x)).normalize(), "f")


def _t(text: str) -> Template:
    return Template(text, {name: CTCAE_FORMAT for name in _NUMBERS if f"%({name})s" in text})


TEMPLATES: dict[str, Template] = {
    "ctcae_grade": _t(gettext_noop("%(analyte)s %(value)s %(unit)s -> %(term)s grade %(grade)s (%(version)s): "
                                   "%(bands)s")),
    "ctcae_grade_basis": _t(gettext_noop(
        "%(analyte)s %(value)s %(unit)s -> %(term)s grade %(grade)s (%(version)s; %(basis)s): %(bands)s")),
    "ctcae_basis_baseline": _t(gettext_noop("baseline %(baseline)s > ULN %(uln)s, so multiples of baseline")),
    "ctcae_basis_uln": _t(gettext_noop("baseline %(baseline)s <= ULN %(uln)s, so multiples of ULN")),
    "ctcae_band_yes": _t(gettext_noop("G%(grade)s %(band)s: yes")),
    "ctcae_band_no": _t(gettext_noop("G%(grade)s %(band)s: no")),
    "ctcae_by_baseline": _t(gettext_noop("%(band)s (baseline %(baseline)s)")),
    "ctcae_band_absolute": _t(gettext_noop("%(sign)s %(threshold)s %(unit)s")),
    "ctcae_band_reference": _t(gettext_noop("%(sign)s %(reference)s")),
    "ctcae_band_multiple": _t(gettext_noop("%(sign)s %(threshold)s x %(reference)s")),
    "ctcae_band_bound": _t(gettext_noop("%(band)s (%(bound)s %(unit)s)")),
    "ctcae_duration_not_given": _t(gettext_noop(
        "G%(grade)s needs %(band)s for > %(limit)s h: duration not given, graded without it")),
    "ctcae_duration_yes": _t(gettext_noop("G%(grade)s lasting %(hours)s h > %(limit)s h: yes")),
    "ctcae_duration_no": _t(gettext_noop("G%(grade)s lasting %(hours)s h > %(limit)s h: no")),
    "ctcae_with_note": _t(gettext_noop("%(grading)s. Note: %(note)s")),
    "ctcae_note_anemia": _t(gettext_noop("grade 3 'transfusion indicated' and grade 4 'life-threatening' are "
                                         "clinical")),
    "ctcae_note_transaminase": _t(gettext_noop("abnormal baseline (> ULN): multiples of baseline instead of ULN")),
    "ctcae_note_creatinine": _t(gettext_noop("the worse of the ULN and the baseline grade")),
    "ctcae_suggested_no_baseline": _t(gettext_noop(
        "%(grading)s. Baseline value missing: suggested because grade >= 1.")),
    "ctcae_suggested_worse": _t(gettext_noop(
        "%(grading)s. Worse than baseline grade %(baseline_grade)s (%(analyte)s %(baseline)s %(unit)s).")),
    "ctcae_suggested_from_grade_1": _t(gettext_noop("%(grading)s. Suggested from grade 1.")),
}

# The reference a band multiplies (`grading.LLN`, `ULN`, `BASELINE`), and the CTCAE terms the grading
# table names (a term no word names is shown as written).
WORDS = {"LLN": gettext_noop("LLN"), "ULN": gettext_noop("ULN"), "ctcae_baseline": gettext_noop("baseline"),
         **{term: term for term in (
             gettext_noop("Anemia"), gettext_noop("Platelet count decreased"),
             gettext_noop("Neutrophil count decreased"),
             gettext_noop("Alanine aminotransferase increased"), gettext_noop("Aspartate aminotransferase increased"),
             gettext_noop("Blood bilirubin increased"), gettext_noop("Creatinine increased"), gettext_noop("Fever"))}}

register(TEMPLATES, words=WORDS, formats={CTCAE_FORMAT: ctcae_number})
