"""Eligibility criteria evaluated on screening facts (``CLINICAL_RULES.md`` section 5).

Pure module: no Django, no ORM, no clock (the screening date is one of the facts).

A study's criterion is stored as a ``rule_type`` code plus JSON ``params``; the rule types, and
the validation of their params, are study configuration in ``trials.rule_params``. This module
evaluates each rule type on the facts (``evaluate_rule``, which validates the params first) and
turns screening facts into the ``eligibility`` object of ``API.md`` ("Screening facts") with
``evaluate_criteria``. The facts, a rule's result and the arithmetic they use are defined in
``enrollment.eligibility_facts`` and imported from here.

Each rule gives one of three outcomes:

* ``"met"`` / ``"not_met"``: decided, with a ``detail`` that shows the values and arithmetic;
* ``"missing"``: an input is absent. A missing value is never defaulted (section 5): the detail
  names what is missing and the participant's eligibility stays ``None`` until it is resolved.

A disease-, sex- or age-specific rule that does not concern this participant is *not applicable*
(``RuleResult.applicable`` False): an inclusion criterion then counts as met and an exclusion
criterion as not met. For an exclusion criterion the rule describes the excluding condition, so
``"met"`` means the participant is excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from trials.rule_params import RULE_TYPES, SEXES, validate_params

from .eligibility_facts import (
    ADULT_AGE_YEARS,
    MET,
    MISSING,
    NOT_MET,
    Facts,
    Lab,
    PriorTherapy,
    RuleResult,
    age_in_years,
    creatinine_clearance,
    whole_months,
)
from .eligibility_items import ITEM_EVALUATORS
from .eligibility_results import (
    NOT_APPLICABLE,
    _body,
    _compare,
    _decided,
    _fmt,
    _humanise,
    _met,
    _missing,
    _not_applicable,
    _not_met,
    _with_missing_lead,
)

__all__ = [
    "MET",
    "MISSING",
    "NOT_MET",
    "CriterionOutcome",
    "CriterionSpec",
    "EligibilityResult",
    "Facts",
    "Lab",
    "PriorTherapy",
    "RuleResult",
    "age_in_years",
    "creatinine_clearance",
    "evaluate_criteria",
    "evaluate_rule",
    "whole_months",
]

INCLUSION = "inclusion"
EXCLUSION = "exclusion"


@dataclass(frozen=True)
class CriterionSpec:
    code: str
    kind: str
    text: str
    rule_type: str
    params: Mapping


@dataclass(frozen=True)
class CriterionOutcome:
    code: str
    kind: str
    text: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool | None
    criteria: tuple[CriterionOutcome, ...]


def _lab_name(code: str, facts: Facts) -> str:
    """"haemoglobin (HGB)" or "ALT" - for messages naming a lab result."""
    analyte = facts.analytes.get(code)
    label = analyte.label if analyte else code
    if label == code:
        return code
    return f"{label[0].lower()}{label[1:]} ({code})"


def _age_or_missing(facts: Facts) -> int | RuleResult:
    missing = []
    if facts.birth_date is None:
        missing.append("birth date")
    if facts.screening_date is None:
        missing.append("screening date")
    if missing:
        return _missing(*missing)
    try:
        return age_in_years(facts.birth_date, facts.screening_date)
    except ValueError:
        return _missing(
            f"a valid birth date (birth date {facts.birth_date.isoformat()} is after the "
            f"screening date {facts.screening_date.isoformat()})"
        )


def _lab(facts: Facts, code: str) -> Lab | None:
    lab = facts.labs.get(code)
    if lab is None or lab.value is None:
        return None
    return lab



# --------------------------------------------------------------------------------------------
# Rule evaluators (params already normalised by trials.rule_params)
# --------------------------------------------------------------------------------------------


def _eval_age_range(p: Mapping, facts: Facts) -> RuleResult:
    age = _age_or_missing(facts)
    if isinstance(age, RuleResult):
        return age
    low, high = p["min_years"], p["max_years"]
    if low is not None and high is not None:
        required = f"{low}-{high} y"
    elif low is not None:
        required = f">= {low} y"
    else:
        required = f"<= {high} y"
    ok = (low is None or age >= low) and (high is None or age <= high)
    return _decided(
        ok,
        f"age {age} y on {facts.screening_date.isoformat()} (born "
        f"{facts.birth_date.isoformat()}); criterion {required}",
    )


def _si_unit(code: str, facts: Facts) -> str:
    analyte = facts.analytes.get(code)
    return analyte.si_unit if analyte else ""


def _lab_text(code: str, lab: Lab, facts: Facts) -> str:
    text = f"{code} {_fmt(lab.value)} {_si_unit(code, facts)}"
    if lab.date is not None:
        text += f" ({lab.date.isoformat()})"
    return text


def _eval_lab_threshold(p: Mapping, facts: Facts) -> RuleResult:
    code, op, value = p["analyte"], p["op"], p["value"]
    lab = _lab(facts, code)
    if lab is None:
        return _missing(f"{_lab_name(code, facts)} result")
    unit = _si_unit(code, facts)
    return _decided(
        _compare(lab.value, op, value),
        f"{_lab_text(code, lab, facts)}; criterion {op} {_fmt(value)} {unit}",
    )


def _eval_lab_vs_limit(p: Mapping, facts: Facts) -> RuleResult:
    code, op, multiple, limit_name = p["analyte"], p["op"], p["multiple"], p["limit"]
    lab = _lab(facts, code)
    label = limit_name.upper()
    limit = None if lab is None else (lab.uln if limit_name == "uln" else lab.lln)
    missing = []
    if lab is None:
        missing.append(f"{_lab_name(code, facts)} result")
    if limit is None:
        which = "upper" if limit_name == "uln" else "lower"
        missing.append(f"{which} limit of normal ({label}) for {_lab_name(code, facts)}")
    if missing:
        return _missing(*missing)
    unit = _si_unit(code, facts)
    required = f"criterion {op} {_fmt(multiple)} x {label}"
    if limit > 0:
        shown = f"{_lab_text(code, lab, facts)} = {_fmt(lab.value / limit)} x {label} {_fmt(limit)} {unit}"
    else:
        shown = f"{_lab_text(code, lab, facts)}; {label} {_fmt(limit)} {unit}"
    return _decided(_compare(lab.value, op, multiple * limit), f"{shown}; {required}")


def _eval_creatinine_clearance(p: Mapping, facts: Facts) -> RuleResult:
    op, threshold = p["op"], p["value"]
    creat = _lab(facts, "CREAT")
    age = _age_or_missing(facts)
    missing = []
    if isinstance(age, RuleResult):
        missing.extend(age.missing)
    elif age < ADULT_AGE_YEARS:
        if facts.height_cm is None:
            missing.append(f"height (bedside Schwartz formula, age {age} y)")
    else:
        if facts.sex not in SEXES:
            missing.append("sex (male or female, Cockcroft-Gault formula)")
        if facts.weight_kg is None:
            missing.append("weight (Cockcroft-Gault formula)")
    if creat is None:
        missing.append(f"{_lab_name('CREAT', facts)} result")
    if missing:
        return _missing(*missing)
    try:
        clearance, explanation = creatinine_clearance(
            age_years=age,
            sex=facts.sex,
            weight_kg=facts.weight_kg,
            height_cm=facts.height_cm,
            creatinine_umol_l=creat.value,
        )
    except ValueError as exc:
        return _missing(f"usable inputs for creatinine clearance ({exc})")
    return _decided(
        _compare(clearance, op, threshold),
        f"{explanation}; criterion {op} {_fmt(threshold)} mL/min",
    )


def _eval_ecog_range(p: Mapping, facts: Facts) -> RuleResult:
    if facts.ecog is None:
        return _missing("ECOG performance status")
    low, high = p["min"], p["max"]
    return _decided(low <= facts.ecog <= high, f"ECOG {facts.ecog}; criterion {low}-{high}")


def _eval_disease_in(p: Mapping, facts: Facts) -> RuleResult:
    if facts.disease is None:
        return _missing("disease")
    diseases = p["diseases"]
    return _decided(
        facts.disease in diseases,
        f"disease {facts.disease}; criterion one of {', '.join(diseases)}",
    )


def _eval_disease_duration(p: Mapping, facts: Facts) -> RuleResult:
    missing = []
    if facts.diagnosis_date is None:
        missing.append("diagnosis date")
    if facts.screening_date is None:
        missing.append("screening date")
    if missing:
        return _missing(*missing)
    try:
        months = whole_months(facts.diagnosis_date, facts.screening_date)
    except ValueError:
        return _missing(
            f"a valid diagnosis date (diagnosis date {facts.diagnosis_date.isoformat()} is after "
            f"the screening date {facts.screening_date.isoformat()})"
        )
    op, minimum = p["op"], p["min_months"]
    return _decided(
        _compare(months, op, minimum),
        f"diagnosed {facts.diagnosis_date.isoformat()}, {months} whole months before screening "
        f"on {facts.screening_date.isoformat()}; criterion {op} {minimum} months",
    )


def _eval_prior_therapy_failure(p: Mapping, facts: Facts) -> RuleResult:
    therapies, failing, min_weeks = p["therapies"], p["failing_outcomes"], p["min_weeks"]
    required = (
        f"criterion {' or '.join(therapies)} with outcome {' or '.join(failing)}"
        + (f" for >= {min_weeks} weeks" if min_weeks is not None else "")
    )
    if facts.prior_therapies is None:
        return _missing("prior therapies (not recorded)")
    candidates = [c for c in facts.prior_therapies if c.therapy in therapies]
    if not candidates:
        return _not_met(f"no {' or '.join(therapies)} recorded; {required}")
    qualifying, undecided, described = [], [], []
    for course in candidates:
        end = course.end if course.end is not None else facts.screening_date
        period = (
            f"{course.start.isoformat() if course.start else '?'} to "
            f"{course.end.isoformat() if course.end else 'ongoing'}"
        )
        text = f"{course.therapy} {period}, outcome {course.outcome or 'not recorded'}"
        if course.outcome is None:
            undecided.append(f"outcome of {course.therapy} course {period}")
        elif course.outcome not in failing:
            text += " (not a failure)"
        elif min_weeks is None:
            qualifying.append(course)
            text += " (qualifies)"
        elif course.start is None or end is None:
            what = "start date" if course.start is None else "screening date"
            undecided.append(f"{what} of {course.therapy} course {period} (for its duration)")
        else:
            days = (end - course.start).days
            text = (
                f"{course.therapy} {period} ({_fmt(days / 7)} weeks), outcome {course.outcome}"
            )
            if days >= 7 * min_weeks:
                qualifying.append(course)
                text += " (qualifies)"
            else:
                text += f" (shorter than {min_weeks} weeks)"
        described.append(text)
    detail = f"{'; '.join(described)}; {required}"
    if qualifying:
        return _met(detail)
    if undecided:
        return _missing(*undecided, explanation=detail)
    return _not_met(detail)


_OUTCOME_WORDS = {MET: "met", NOT_MET: "not met", MISSING: "missing"}


def _evaluate_normalised(rule: Mapping, facts: Facts) -> RuleResult:
    return _EVALUATORS[rule["rule_type"]](rule["params"], facts)


def _combine(p: Mapping, facts: Facts, *, all_required: bool) -> RuleResult:
    results = [_evaluate_normalised(rule, facts) for rule in p["rules"]]
    joiner = " and " if all_required else " or "
    applicable = [r for r in results if r.applicable]
    if not applicable:
        return _not_applicable(
            joiner.join(f"({r.detail.removeprefix(NOT_APPLICABLE)})" for r in results)
        )
    outcomes = {r.outcome for r in applicable}
    decisive, default = (NOT_MET, MET) if all_required else (MET, NOT_MET)
    if decisive in outcomes:
        outcome = decisive
    elif MISSING in outcomes:
        outcome = MISSING
    else:
        outcome = default
    parts = [
        f"({_body(r)} -> {_OUTCOME_WORDS[r.outcome]})" if r.applicable else f"({r.detail})"
        for r in results
    ]
    detail = f"{'all' if all_required else 'any'} of: {joiner.join(parts)}"
    if outcome == MISSING:
        return _with_missing_lead(applicable, detail)
    return RuleResult(outcome, detail)


def _eval_all_of(p: Mapping, facts: Facts) -> RuleResult:
    return _combine(p, facts, all_required=True)


def _eval_any_of(p: Mapping, facts: Facts) -> RuleResult:
    return _combine(p, facts, all_required=False)


def _prefixed(prefix: str, result: RuleResult) -> RuleResult:
    """The inner rule's result with its context ("disease EVANS: ..."). A plain missing input
    keeps its own detail; a missing combination keeps its "missing: ..." lead first."""
    if not result.applicable:
        return result
    if result.outcome == MISSING:
        body = _body(result)
        if body == result.detail:
            return result
        return _with_missing_lead([result], f"{prefix}: {body}")
    return RuleResult(result.outcome, f"{prefix}: {result.detail}")


def _eval_when_disease(p: Mapping, facts: Facts) -> RuleResult:
    if facts.disease is None:
        return _missing("disease")
    if facts.disease not in p["diseases"]:
        return _not_applicable(
            f"disease {facts.disease} is not one of {', '.join(p['diseases'])}"
        )
    return _prefixed(f"disease {facts.disease}", _evaluate_normalised(p["rule"], facts))


def _eval_when_sex(p: Mapping, facts: Facts) -> RuleResult:
    sex, min_age, only_if = p["sex"], p["min_age_years"], p["only_if_answer"]
    if facts.sex not in SEXES:
        return _missing("sex (male or female)")
    if facts.sex != sex:
        return _not_applicable(f"rule for {sex} participants; sex is {facts.sex}")
    context = [sex]
    if min_age is not None:
        age = _age_or_missing(facts)
        if isinstance(age, RuleResult):
            return age
        if age < min_age:
            return _not_applicable(f"age {age} y is below {min_age} y")
        context.append(f"{age} y")
    if only_if is not None:
        answer = facts.item(only_if)
        if answer is None:
            return _missing(_humanise(only_if))
        if answer is False:
            return _not_applicable(f"{_humanise(only_if)}: no")
        if answer is not True:
            return _missing(f"{_humanise(only_if)} as yes or no (recorded '{answer}')")
        context.append(_humanise(only_if))
    return _prefixed(", ".join(context), _evaluate_normalised(p["rule"], facts))


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


# How each rule type of ``trials.rule_params.RULE_TYPES`` is evaluated, on params it normalised.
_EVALUATORS: dict[str, Callable[[Mapping, Facts], RuleResult]] = {
    "age_range": _eval_age_range,
    "lab_threshold": _eval_lab_threshold,
    "lab_vs_limit": _eval_lab_vs_limit,
    "creatinine_clearance": _eval_creatinine_clearance,
    "ecog_range": _eval_ecog_range,
    "disease_in": _eval_disease_in,
    "disease_duration": _eval_disease_duration,
    "prior_therapy_failure": _eval_prior_therapy_failure,
    **ITEM_EVALUATORS,
    "all_of": _eval_all_of,
    "any_of": _eval_any_of,
    "when_disease": _eval_when_disease,
    "when_sex": _eval_when_sex,
}
if _EVALUATORS.keys() != RULE_TYPES.keys():
    raise RuntimeError("every rule type of trials.rule_params needs an evaluator here, and only those")


def evaluate_rule(rule_type: str, params, facts: Facts) -> RuleResult:
    """Evaluate one rule on the facts (params are validated first, ``RuleParamsError`` if they are
    invalid; section 5)."""
    return _EVALUATORS[rule_type](validate_params(rule_type, params), facts)


def evaluate_criteria(criteria: Sequence[CriterionSpec], facts: Facts) -> EligibilityResult:
    """Every criterion's outcome and the overall eligibility (section 5, API.md "Screening").

    ``eligible`` is None while any criterion is missing; otherwise False when an inclusion
    criterion is not met or an exclusion criterion is met; otherwise True. A not-applicable rule
    counts as met for an inclusion criterion and as not met for an exclusion criterion.
    Raises ``RuleParamsError`` (stored criteria are validated on save) or ``ValueError`` for a
    kind other than inclusion/exclusion.
    """
    outcomes = []
    for spec in criteria:
        if spec.kind not in (INCLUSION, EXCLUSION):
            raise ValueError(f"criterion {spec.code}: kind must be inclusion or exclusion")
        result = evaluate_rule(spec.rule_type, spec.params, facts)
        outcome, detail = result.outcome, result.detail
        if not result.applicable:
            outcome = MET if spec.kind == INCLUSION else NOT_MET
            if not detail.startswith(NOT_APPLICABLE):
                detail = NOT_APPLICABLE + detail
        outcomes.append(CriterionOutcome(spec.code, spec.kind, spec.text, outcome, detail))
    if any(o.outcome == MISSING for o in outcomes):
        eligible = None
    else:
        eligible = not any(
            (o.kind == INCLUSION and o.outcome == NOT_MET)
            or (o.kind == EXCLUSION and o.outcome == MET)
            for o in outcomes
        )
    return EligibilityResult(eligible, tuple(outcomes))
