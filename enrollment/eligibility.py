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
from dataclasses import dataclass, field

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
    clearance_message,
    creatinine_clearance,
    whole_months,
)
from .eligibility_items import ITEM_EVALUATORS
from .eligibility_results import (
    _body,
    _compare,
    _decided,
    _humanise,
    _met,
    _missing,
    _not_applicable,
    _not_met,
    _reason,
    _with_missing_lead,
)
from .eligibility_text import Message, english, listed, message, word

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
    message: Message | None = field(default=None, compare=False)  # the detail as a message (``eligibility_text``)


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool | None
    criteria: tuple[CriterionOutcome, ...]


def _lab_name(code: str, facts: Facts) -> str | Message:
    """"haemoglobin (HGB)" or "ALT" - for messages naming a lab result."""
    analyte = facts.analytes.get(code)
    label = analyte.label if analyte else code
    if label == code:
        return code
    return message("lab_name", label=f"{label[0].lower()}{label[1:]}", analyte=code)


def _age_or_missing(facts: Facts) -> int | RuleResult:
    missing = []
    if facts.birth_date is None:
        missing.append(message("birth_date"))
    if facts.screening_date is None:
        missing.append(message("screening_date"))
    if missing:
        return _missing(*missing)
    try:
        return age_in_years(facts.birth_date, facts.screening_date)
    except ValueError:
        return _missing(message("birth_after_screening", birth=facts.birth_date.isoformat(),
                                screening=facts.screening_date.isoformat()))


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
        required = message("years_between", low=low, high=high)
    elif low is not None:
        required = message("years_at_least", low=low)
    else:
        required = message("years_at_most", high=high)
    ok = (low is None or age >= low) and (high is None or age <= high)
    return _decided(ok, message("age", age=age, screening=facts.screening_date.isoformat(),
                                birth=facts.birth_date.isoformat(), required=required))


def _si_unit(code: str, facts: Facts) -> str:
    analyte = facts.analytes.get(code)
    return analyte.si_unit if analyte else ""


def _lab_text(code: str, lab: Lab, facts: Facts) -> Message:
    if lab.date is not None:
        return message("lab_value_dated", analyte=code, value=lab.value, unit=_si_unit(code, facts),
                       date=lab.date.isoformat())
    return message("lab_value", analyte=code, value=lab.value, unit=_si_unit(code, facts))


def _eval_lab_threshold(p: Mapping, facts: Facts) -> RuleResult:
    code, op, value = p["analyte"], p["op"], p["value"]
    lab = _lab(facts, code)
    if lab is None:
        return _missing(message("lab_result", lab=_lab_name(code, facts)))
    unit = _si_unit(code, facts)
    return _decided(
        _compare(lab.value, op, value),
        message("lab_threshold", lab=_lab_text(code, lab, facts), op=op, limit=value, unit=unit),
    )


def _eval_lab_vs_limit(p: Mapping, facts: Facts) -> RuleResult:
    code, op, multiple, limit_name = p["analyte"], p["op"], p["multiple"], p["limit"]
    lab = _lab(facts, code)
    label = limit_name.upper()
    limit = None if lab is None else (lab.uln if limit_name == "uln" else lab.lln)
    missing = []
    if lab is None:
        missing.append(message("lab_result", lab=_lab_name(code, facts)))
    if limit is None:
        which = "upper_limit_for" if limit_name == "uln" else "lower_limit_for"
        missing.append(message(which, lab=_lab_name(code, facts)))
    if missing:
        return _missing(*missing)
    unit = _si_unit(code, facts)
    shown = dict(lab=_lab_text(code, lab, facts), limit_name=label, limit=limit, unit=unit, op=op, multiple=multiple)
    if limit > 0:
        msg = message("lab_vs_limit", ratio=lab.value / limit, **shown)
    else:
        msg = message("lab_vs_zero_limit", **shown)
    return _decided(_compare(lab.value, op, multiple * limit), msg)


def _eval_creatinine_clearance(p: Mapping, facts: Facts) -> RuleResult:
    op, threshold = p["op"], p["value"]
    creat = _lab(facts, "CREAT")
    age = _age_or_missing(facts)
    missing = []
    if isinstance(age, RuleResult):
        missing.extend(age.missing)
    elif age < ADULT_AGE_YEARS:
        if facts.height_cm is None:
            missing.append(message("height_for_schwartz", age=age))
    else:
        if facts.sex not in SEXES:
            missing.append(message("sex_for_cockcroft_gault"))
        if facts.weight_kg is None:
            missing.append(message("weight_for_cockcroft_gault"))
    if creat is None:
        missing.append(message("lab_result", lab=_lab_name("CREAT", facts)))
    if missing:
        return _missing(*missing)
    try:
        clearance, formula = clearance_message(
            age_years=age,
            sex=facts.sex,
            weight_kg=facts.weight_kg,
            height_cm=facts.height_cm,
            creatinine_umol_l=creat.value,
        )
    except ValueError as exc:
        return _missing(message("clearance_inputs", problem=str(exc)))
    return _decided(
        _compare(clearance, op, threshold),
        message("clearance", formula=formula, op=op, limit=threshold),
    )


def _eval_ecog_range(p: Mapping, facts: Facts) -> RuleResult:
    if facts.ecog is None:
        return _missing(message("ecog"))
    low, high = p["min"], p["max"]
    return _decided(low <= facts.ecog <= high, message("ecog_range", ecog=facts.ecog, low=low, high=high))


def _eval_disease_in(p: Mapping, facts: Facts) -> RuleResult:
    if facts.disease is None:
        return _missing(message("disease"))
    diseases = p["diseases"]
    return _decided(
        facts.disease in diseases,
        message("disease_in", disease=facts.disease, diseases=listed("list_comma", diseases)),
    )


def _eval_disease_duration(p: Mapping, facts: Facts) -> RuleResult:
    missing = []
    if facts.diagnosis_date is None:
        missing.append(message("diagnosis_date"))
    if facts.screening_date is None:
        missing.append(message("screening_date"))
    if missing:
        return _missing(*missing)
    try:
        months = whole_months(facts.diagnosis_date, facts.screening_date)
    except ValueError:
        return _missing(message("diagnosis_after_screening", diagnosis=facts.diagnosis_date.isoformat(),
                                screening=facts.screening_date.isoformat()))
    op, minimum = p["op"], p["min_months"]
    return _decided(
        _compare(months, op, minimum),
        message("disease_duration", diagnosis=facts.diagnosis_date.isoformat(), months=months,
                screening=facts.screening_date.isoformat(), op=op, minimum=minimum),
    )


def _eval_prior_therapy_failure(p: Mapping, facts: Facts) -> RuleResult:
    therapies, failing, min_weeks = p["therapies"], p["failing_outcomes"], p["min_weeks"]
    named = listed("list_or", therapies)
    required = (
        message("therapy_required", therapies=named, outcomes=listed("list_or", failing)) if min_weeks is None
        else message("therapy_required_weeks", therapies=named, outcomes=listed("list_or", failing), weeks=min_weeks)
    )
    if facts.prior_therapies is None:
        return _missing(message("prior_therapies_not_recorded"))
    candidates = [c for c in facts.prior_therapies if c.therapy in therapies]
    if not candidates:
        return _not_met(message("no_therapy_recorded", therapies=named, required=required))
    qualifying, undecided, described = [], [], []
    for course in candidates:
        end = course.end if course.end is not None else facts.screening_date
        start = course.start.isoformat() if course.start else "?"
        period = (message("period", start=start, end=course.end.isoformat()) if course.end
                  else message("period_ongoing", start=start))
        said = {"therapy": course.therapy, "period": period, "outcome": course.outcome}
        if course.outcome is None:
            undecided.append(message("course_outcome_missing", therapy=course.therapy, period=period))
            text = message("course_no_outcome", therapy=course.therapy, period=period)
        elif course.outcome not in failing:
            text = message("course_not_failure", **said)
        elif min_weeks is None:
            qualifying.append(course)
            text = message("course_qualifies", **said)
        elif course.start is None or end is None:
            what = "course_start_missing" if course.start is None else "course_screening_date_missing"
            undecided.append(message(what, therapy=course.therapy, period=period))
            text = message("course", **said)
        else:
            days = (end - course.start).days
            if days >= 7 * min_weeks:
                qualifying.append(course)
                text = message("course_weeks_qualifies", weeks=days / 7, **said)
            else:
                text = message("course_weeks_short", weeks=days / 7, minimum=min_weeks, **said)
        described.append(text)
    detail = message("courses", courses=listed("list_semicolon", described), required=required)
    if qualifying:
        return _met(detail)
    if undecided:
        return _missing(*undecided, explanation=detail)
    return _not_met(detail)


_OUTCOME_WORDS = {MET: word("met"), NOT_MET: word("not met"), MISSING: word("missing")}


def _evaluate_normalised(rule: Mapping, facts: Facts) -> RuleResult:
    return _EVALUATORS[rule["rule_type"]](rule["params"], facts)


def _combine(p: Mapping, facts: Facts, *, all_required: bool) -> RuleResult:
    results = [_evaluate_normalised(rule, facts) for rule in p["rules"]]
    joiner = "list_and" if all_required else "list_or"
    applicable = [r for r in results if r.applicable]
    if not applicable:
        return _not_applicable(listed(joiner, (message("bracketed", detail=_reason(r)) for r in results)))
    outcomes = {r.outcome for r in applicable}
    decisive, default = (NOT_MET, MET) if all_required else (MET, NOT_MET)
    if decisive in outcomes:
        outcome = decisive
    elif MISSING in outcomes:
        outcome = MISSING
    else:
        outcome = default
    parts = [
        message("part", detail=_body(r), outcome=_OUTCOME_WORDS[r.outcome]) if r.applicable
        else message("bracketed", detail=r.message)
        for r in results
    ]
    detail = message("all_of" if all_required else "any_of", parts=listed(joiner, parts))
    if outcome == MISSING:
        return _with_missing_lead(applicable, detail)
    return _decided(outcome == MET, detail)


def _eval_all_of(p: Mapping, facts: Facts) -> RuleResult:
    return _combine(p, facts, all_required=True)


def _eval_any_of(p: Mapping, facts: Facts) -> RuleResult:
    return _combine(p, facts, all_required=False)


def _prefixed(prefix: str | Message, result: RuleResult) -> RuleResult:
    """The inner rule's result with its context ("disease EVANS: ..."). A plain missing input
    keeps its own detail; a missing combination keeps its "missing: ..." lead first."""
    if not result.applicable:
        return result
    if result.outcome == MISSING:
        body = _body(result)
        if body is result.message:
            return result
        return _with_missing_lead([result], message("in_context", context=prefix, detail=body))
    return _decided(result.outcome == MET, message("in_context", context=prefix, detail=result.message))


def _eval_when_disease(p: Mapping, facts: Facts) -> RuleResult:
    if facts.disease is None:
        return _missing(message("disease"))
    if facts.disease not in p["diseases"]:
        return _not_applicable(
            message("disease_not_in", disease=facts.disease, diseases=listed("list_comma", p["diseases"]))
        )
    return _prefixed(message("disease_context", disease=facts.disease), _evaluate_normalised(p["rule"], facts))


def _eval_when_sex(p: Mapping, facts: Facts) -> RuleResult:
    sex, min_age, only_if = p["sex"], p["min_age_years"], p["only_if_answer"]
    if facts.sex not in SEXES:
        return _missing(message("sex_male_or_female"))
    if facts.sex != sex:
        return _not_applicable(message("rule_for_sex", sex=word(sex), actual=word(facts.sex)))
    context = [word(sex)]
    if min_age is not None:
        age = _age_or_missing(facts)
        if isinstance(age, RuleResult):
            return age
        if age < min_age:
            return _not_applicable(message("age_below", age=age, minimum=min_age))
        context.append(message("years", age=age))
    if only_if is not None:
        answer = facts.item(only_if)
        if answer is None:
            return _missing(_humanise(only_if))
        if answer is False:
            return _not_applicable(message("answered", name=_humanise(only_if), answer=word("no")))
        if answer is not True:
            return _missing(message("item_not_yes_no", name=_humanise(only_if), answer=str(answer)))
        context.append(_humanise(only_if))
    return _prefixed(listed("list_comma", context), _evaluate_normalised(p["rule"], facts))


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
        outcome, msg = result.outcome, result.message
        if not result.applicable:
            outcome = MET if spec.kind == INCLUSION else NOT_MET
            if msg["code"] != "not_applicable":
                msg = message("not_applicable", reason=msg)
        outcomes.append(CriterionOutcome(spec.code, spec.kind, spec.text, outcome, english(msg), msg))
    if any(o.outcome == MISSING for o in outcomes):
        eligible = None
    else:
        eligible = not any(
            (o.kind == INCLUSION and o.outcome == NOT_MET)
            or (o.kind == EXCLUSION and o.outcome == MET)
            for o in outcomes
        )
    return EligibilityResult(eligible, tuple(outcomes))
