"""A criterion's rule in words, for the study page and the admin (pure)."""
from __future__ import annotations

from collections.abc import Mapping

from .units import Analyte


def _yes_no(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _words(name: str) -> str:
    return str(name).replace("_", " ")


def describe_rule(rule_type: str, params: Mapping, analytes: Mapping[str, Analyte] | None = None) -> str:
    """E.g. `lab_vs_limit {ALT, <=, 3, uln}` -> "ALT <= 3 x ULN"; `analytes` (the lab catalogue)
    gives thresholds their SI unit."""
    p = params or {}

    def _inner(rule: Mapping) -> str:
        return describe_rule(rule.get("rule_type", "?"), rule.get("params") or {}, analytes)

    if rule_type == "age_range":
        low, high = p.get("min_years"), p.get("max_years")
        if low is None:
            return f"age at most {high} years on the screening date"
        if high is None:
            return f"age at least {low} years on the screening date"
        return f"age {low}-{high} years on the screening date"
    if rule_type == "lab_threshold":
        analyte = (analytes or {}).get(p.get("analyte"))
        unit = f" {analyte.si_unit}" if analyte else ""
        return f"{p.get('analyte')} {p.get('op')} {p.get('value')}{unit}"
    if rule_type == "lab_vs_limit":
        return f"{p.get('analyte')} {p.get('op')} {p.get('multiple')} x {str(p.get('limit', '')).upper()}"
    if rule_type == "creatinine_clearance":
        return f"creatinine clearance {p.get('op')} {p.get('value')} mL/min (Cockcroft-Gault; Schwartz under 18)"
    if rule_type == "ecog_range":
        return f"ECOG {p.get('min')}-{p.get('max')}"
    if rule_type == "disease_in":
        return "disease is " + " or ".join(p.get("diseases", []))
    if rule_type == "disease_duration":
        return f"disease duration {p.get('op', '>=')} {p.get('min_months')} months"
    if rule_type == "prior_therapy_failure":
        text = (f"{' or '.join(_words(t) for t in p.get('therapies', []))} with outcome "
                f"{' or '.join(p.get('failing_outcomes', ['none']))}")
        if p.get("min_weeks"):
            text += f" after at least {p['min_weeks']} weeks"
        return text
    if rule_type == "condition":
        return f"{_words(p.get('name'))}: {_yes_no(p.get('value'))}"
    if rule_type == "answer_equals":
        return f"{_words(p.get('field'))}: {_yes_no(p.get('value'))}"
    if rule_type == "answer_number":
        return f"{_words(p.get('field'))} {p.get('op')} {p.get('value')}"
    if rule_type in ("all_of", "any_of"):
        joiner = " and " if rule_type == "all_of" else " or "
        return "(" + joiner.join(_inner(rule) for rule in p.get("rules", [])) + ")"
    if rule_type == "when_disease":
        return f"if disease is {' or '.join(p.get('diseases', []))}: {_inner(p.get('rule') or {})}"
    if rule_type == "when_sex":
        who = f"if {p.get('sex')}"
        if p.get("min_age_years"):
            who += f" aged {p['min_age_years']} or more"
        if p.get("only_if_answer"):
            who += f" with {_words(p['only_if_answer'])}"
        return f"{who}: {_inner(p.get('rule') or {})}"
    return f"{rule_type} {dict(p)}"
