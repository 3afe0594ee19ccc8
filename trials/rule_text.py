"""A criterion's rule in words, for the study page and the admin (pure; worded in the active
language through gettext). The study's own codes in it (item and condition names, therapy and
outcome codes) pass through ``code``: by default written as words ("abnormal_cardiac_function" ->
"abnormal cardiac function"); a page marks them as the study's text."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import get_language, override, pgettext

from .units import Analyte


def _yes_no(value) -> str:
    if value is True:
        return pgettext("rule value", "yes")
    if value is False:
        return pgettext("rule value", "no")
    return str(value)


def _words(name: str) -> str:
    return str(name).replace("_", " ")


def _or(values, code: Callable[[str], str] = str) -> str:
    return _(" or ").join(code(value) for value in values)


def describe_rule(rule_type: str, params: Mapping, analytes: Mapping[str, Analyte] | None = None, *,
                  code: Callable[[str], str] = _words, disease: Callable[[str], str] = str) -> str:
    """E.g. `lab_vs_limit {ALT, <=, 3, uln}` -> "ALT <= 3 x ULN"; `analytes` (the lab catalogue)
    gives thresholds their SI unit; ``disease`` words a disease's code (as the code by default)."""
    p = params or {}

    def _inner(rule: Mapping) -> str:
        return describe_rule(rule.get("rule_type", "?"), rule.get("params") or {}, analytes, code=code,
                             disease=disease)

    if rule_type == "age_range":
        low, high = p.get("min_years"), p.get("max_years")
        if low is None:
            return _("age at most %(high)s years on the screening date") % {"high": high}
        if high is None:
            return _("age at least %(low)s years on the screening date") % {"low": low}
        return _("age %(low)s-%(high)s years on the screening date") % {"low": low, "high": high}
    if rule_type == "lab_threshold":
        analyte = (analytes or {}).get(p.get("analyte"))
        unit = f" {analyte.si_unit}" if analyte else ""
        return f"{p.get('analyte')} {p.get('op')} {p.get('value')}{unit}"
    if rule_type == "lab_vs_limit":
        return f"{p.get('analyte')} {p.get('op')} {p.get('multiple')} x {str(p.get('limit', '')).upper()}"
    if rule_type == "creatinine_clearance":
        return _("creatinine clearance %(op)s %(value)s mL/min (Cockcroft-Gault; Schwartz under 18)") % {
            "op": p.get("op"), "value": p.get("value")}
    if rule_type == "ecog_range":
        return f"ECOG {p.get('min')}-{p.get('max')}"
    if rule_type == "disease_in":
        return _("disease is %(diseases)s") % {"diseases": _or(p.get("diseases", []), disease)}
    if rule_type == "disease_duration":
        return _("disease duration %(op)s %(months)s months") % {"op": p.get("op", ">="), "months": p.get("min_months")}
    if rule_type == "prior_therapy_failure":
        text = _("%(therapies)s with outcome %(outcomes)s") % {
            "therapies": _or(p.get("therapies", []), code), "outcomes": _or(p.get("failing_outcomes", ["none"]), code)}
        if p.get("min_weeks"):
            text += _(" after at least %(weeks)s weeks") % {"weeks": p["min_weeks"]}
        return text
    if rule_type == "condition":
        return f"{code(p.get('name'))}: {_yes_no(p.get('value'))}"
    if rule_type == "answer_equals":
        value = p.get("value")
        shown = _yes_no(value) if isinstance(value, bool) else (str(value) if code is _words else code(value))
        return f"{code(p.get('field'))}: {shown}"
    if rule_type == "answer_number":
        return f"{code(p.get('field'))} {p.get('op')} {p.get('value')}"
    if rule_type in ("all_of", "any_of"):
        joiner = _(" and ") if rule_type == "all_of" else _(" or ")
        return "(" + joiner.join(_inner(rule) for rule in p.get("rules", [])) + ")"
    if rule_type == "when_disease":
        return _("if disease is %(diseases)s: %(rule)s") % {
            "diseases": _or(p.get("diseases", []), disease), "rule": _inner(p.get("rule") or {})}
    if rule_type == "when_sex":
        sex = {"female": _("if female"), "male": _("if male")}.get(p.get("sex"), f"if {p.get('sex')}")
        who = sex
        if p.get("min_age_years"):
            who += _(" aged %(years)s or more") % {"years": p["min_age_years"]}
        if p.get("only_if_answer"):
            who += _(" with %(answer)s") % {"answer": code(p["only_if_answer"])}
        return f"{who}: {_inner(p.get('rule') or {})}"
    return f"{rule_type} {dict(p)}"


# Marks around the study's own codes in a rule's words, replaced by an element in the study's language.
_CODE_START, _CODE_END = "\x01", "\x02"


def _marked_code(code) -> str:
    return f"{_CODE_START}{_words(code)}{_CODE_END}"


def _disease_words(diseases: Mapping | None) -> Callable[[str], str]:
    """A disease's code as a page words it: the catalogue's name in the reader's language (as
    written, and marked so, where the catalogue of translations lacks it), then its code, marked."""
    def words(code) -> str:
        get_language_before = get_language()
        entry = (diseases or {}).get(code)
        marked = f"{_CODE_START}{code}{_CODE_END}"
        if entry is None:
            return marked
        name = str(entry.name)
        with override("en"):
            untranslated = name == str(entry.name) and not (get_language_before or "en").startswith("en")
        if untranslated:
            name = f"{_CODE_START}{name}{_CODE_END}"
        return _("%(name)s (%(code)s)") % {"name": name, "code": marked}

    return words


def describe_rule_html(rule_type: str, params: Mapping, analytes: Mapping[str, Analyte] | None = None, *,
                       language: str = "en", diseases: Mapping | None = None) -> SafeString:
    """`describe_rule` as HTML for a page: the study's codes in it (item and condition names, therapy
    and outcome codes) in an element marked with the study's `language`; a disease by its name in the
    reader's language with its code (`diseases`: the catalogue's)."""
    text = describe_rule(rule_type, params, analytes, code=_marked_code, disease=_disease_words(diseases))
    return mark_safe(conditional_escape(text).replace(_CODE_START, f'<span lang="{conditional_escape(language)}">')  # noqa: S308
                     .replace(_CODE_END, "</span>"))
