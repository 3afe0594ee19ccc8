"""Eligibility criteria as typed rules (``CLINICAL_RULES.md`` section 5).

Pure module: no Django, no ORM, no clock (the screening date is one of the facts).

A study's criterion is stored as a ``rule_type`` code plus JSON ``params``; an administrator
combines the rule types of ``RULE_TYPES`` without code. ``validate_params`` checks and normalises
params (called from the model's ``clean()``); ``evaluate_criteria`` turns screening facts into the
``eligibility`` object of ``API.md`` ("Screening facts").

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

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from trials.units import ANALYTES, format_number

__all__ = [
    "CG_FEMALE_FACTOR",
    "CG_MALE_FACTOR",
    "DISEASES",
    "MET",
    "MISSING",
    "NOT_MET",
    "OPERATORS",
    "RULE_TYPES",
    "SEXES",
    "THERAPIES",
    "THERAPY_OUTCOMES",
    "CriterionOutcome",
    "CriterionSpec",
    "EligibilityResult",
    "Facts",
    "Lab",
    "PriorTherapy",
    "RuleParamsError",
    "RuleResult",
    "RuleType",
    "age_in_years",
    "creatinine_clearance",
    "evaluate_criteria",
    "evaluate_rule",
    "validate_params",
    "whole_months",
]

MET = "met"
NOT_MET = "not_met"
MISSING = "missing"
INCLUSION = "inclusion"
EXCLUSION = "exclusion"
NOT_APPLICABLE = "not applicable: "

# Codes of API.md ("Codes").
DISEASES = ("ITP", "AIHA", "PRCA", "EVANS", "SECONDARY_CYTOPENIA")
THERAPIES = (
    "glucocorticoid",
    "cyclosporine",
    "ivig",
    "tpo_agent",
    "rituximab",
    "splenectomy",
    "azathioprine",
    "danazol",
    "mycophenolate",
    "other",
)
THERAPY_OUTCOMES = ("none", "pr", "cr", "relapse", "ongoing")
SEXES = ("male", "female")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# Cockcroft-Gault in umol/L: (140 - age) x weight / (72 x creatinine mg/dL) x 0.85 for women,
# with 1 mg/dL = 88.4 umol/L. CLINICAL_RULES.md section 5 writes these factors rounded as 1.23 and
# 1.04; its check values (108 and 51.9 mL/min) are those of the unrounded factors used here
# (1.04 would give 51.8 for the female check value).
CG_MALE_FACTOR = 88.4 / 72  # 1.2278
CG_FEMALE_FACTOR = 0.85 * 88.4 / 72  # 1.0436
SCHWARTZ_FACTOR = 36.5  # bedside Schwartz with creatinine in umol/L
ADULT_AGE_YEARS = 18


# --------------------------------------------------------------------------------------------
# Facts and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """One lab value in SI; ``lln``/``uln`` are the reporting lab's limits in SI, or None."""

    value: float
    lln: float | None = None
    uln: float | None = None
    date: date | None = None


@dataclass(frozen=True)
class PriorTherapy:
    """A prior therapy course (API.md "Codes"); ``outcome`` is none|pr|cr|relapse|ongoing."""

    therapy: str
    start: date | None = None
    end: date | None = None
    outcome: str | None = None
    dose_text: str = ""


@dataclass(frozen=True)
class Facts:
    """Screening facts (API.md "Screening facts"); None means not recorded."""

    screening_date: date | None = None
    birth_date: date | None = None
    sex: str | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    disease: str | None = None
    diagnosis_date: date | None = None
    ecog: int | None = None
    labs: Mapping[str, Lab] = field(default_factory=dict)
    prior_therapies: tuple[PriorTherapy, ...] | None = None
    conditions: Mapping[str, bool | None] = field(default_factory=dict)
    answers: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleResult:
    """A rule's outcome. A "missing" detail always starts with "missing: <what is missing>";
    ``missing`` lists those items (kept so that combinations can name them)."""

    outcome: str
    detail: str
    applicable: bool = True
    missing: tuple[str, ...] = field(default=(), compare=False, repr=False)


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


def _met(detail: str) -> RuleResult:
    return RuleResult(MET, detail)


def _not_met(detail: str) -> RuleResult:
    return RuleResult(NOT_MET, detail)


def _missing_lead(what: Sequence[str]) -> str:
    return "missing: " + ", ".join(what)


def _missing(*what: str, explanation: str = "") -> RuleResult:
    detail = _missing_lead(what) + (f" ({explanation})" if explanation else "")
    return RuleResult(MISSING, detail, missing=tuple(what))


def _body(result: RuleResult) -> str:
    """The detail without the "missing: ...; " lead that a combination adds."""
    if result.outcome == MISSING and result.missing:
        return result.detail.removeprefix(_missing_lead(result.missing) + "; ")
    return result.detail


def _with_missing_lead(results: Sequence[RuleResult], body: str) -> RuleResult:
    items = tuple(
        dict.fromkeys(
            item for r in results if r.applicable and r.outcome == MISSING for item in r.missing
        )
    )
    return RuleResult(MISSING, f"{_missing_lead(items)}; {body}", missing=items)


def _not_applicable(reason: str) -> RuleResult:
    return RuleResult(NOT_MET, NOT_APPLICABLE + reason, applicable=False)


def _decided(ok: bool, detail: str) -> RuleResult:
    return RuleResult(MET if ok else NOT_MET, detail)


# --------------------------------------------------------------------------------------------
# Arithmetic (section 5)
# --------------------------------------------------------------------------------------------


def age_in_years(birth: date, on: date) -> int:
    """Whole years of age on ``on`` (section 5).

    The age increases on the birthday itself; someone born on 29 February becomes a year older on
    1 March in a non-leap year (the anniversary does not exist, so it has not been reached on
    28 February). Raises ``ValueError`` when ``on`` is before ``birth``.
    """
    if on < birth:
        raise ValueError(f"date {on.isoformat()} is before birth date {birth.isoformat()}")
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def whole_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``, counted like ages: a month is complete on the same
    day of a later month (31 January -> 1 March is one month, -> 28 February none)."""
    if end < start:
        raise ValueError(f"date {end.isoformat()} is before {start.isoformat()}")
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (end.day < start.day)


def creatinine_clearance(
    *,
    age_years: int,
    sex: str | None,
    weight_kg: float | None,
    height_cm: float | None,
    creatinine_umol_l: float,
) -> tuple[float, str]:
    """Creatinine clearance in mL/min and the formula with its numbers (section 5).

    From 18 years: Cockcroft-Gault with actual body weight,
    (140 - age) x weight kg x factor / creatinine umol/L with factor 88.4/72 = 1.2278 (male) or
    0.85 x 88.4/72 = 1.0436 (female) (written 1.23 / 1.04 in section 5).
    Under 18: bedside Schwartz, 36.5 x height cm / creatinine umol/L (mL/min/1.73 m2), so a child
    is never given the adult formula. The result is rounded to 0.1 mL/min and that rounded value
    is what criteria compare. Raises ``ValueError`` if an input the formula needs is missing or
    not positive.
    """
    if creatinine_umol_l is None or creatinine_umol_l <= 0:
        raise ValueError("creatinine must be a positive value in umol/L")
    creat = format_number(creatinine_umol_l)
    if age_years < ADULT_AGE_YEARS:
        if height_cm is None or height_cm <= 0:
            raise ValueError("bedside Schwartz needs the height in cm")
        result = round(SCHWARTZ_FACTOR * height_cm / creatinine_umol_l, 1)
        return result, (
            f"bedside Schwartz (age {age_years} y, under {ADULT_AGE_YEARS}): 36.5 x "
            f"{format_number(height_cm)} cm / {creat} umol/L = {format_number(result, 1)} "
            "mL/min/1.73 m2"
        )
    if sex not in SEXES:
        raise ValueError("Cockcroft-Gault needs the sex (male or female)")
    if weight_kg is None or weight_kg <= 0:
        raise ValueError("Cockcroft-Gault needs the weight in kg")
    if sex == "male":
        factor, factor_text = CG_MALE_FACTOR, "88.4/72"
    else:
        factor, factor_text = CG_FEMALE_FACTOR, "0.85 x 88.4/72"
    result = round((140 - age_years) * weight_kg * factor / creatinine_umol_l, 1)
    return result, (
        f"Cockcroft-Gault ({sex}, {age_years} y): (140 - {age_years}) x "
        f"{format_number(weight_kg)} kg x {factor:.4f} ({factor_text}) / {creat} umol/L = "
        f"{format_number(result, 1)} mL/min"
    )


def _compare(a: float, op: str, b: float) -> bool:
    # Round away binary noise so that e.g. 3 x ULN 0.1 equals 0.3 at the boundary.
    return OPERATORS[op](round(a, 9), round(b, 9))


def _fmt(x: float) -> str:
    return format_number(x)


def _yes_no(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _humanise(name: str) -> str:
    return name.replace("_", " ")


def _lab_name(code: str) -> str:
    """"haemoglobin (HGB)" or "ALT" - for messages naming a lab result."""
    label = ANALYTES[code].label
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
# Parameter validation
# --------------------------------------------------------------------------------------------


class RuleParamsError(ValueError):
    """Invalid rule params; ``errors`` maps a param path (e.g. ``rules.1.params.analyte``) to
    messages an administrator understands. Problems with the params as a whole use
    ``__all__``."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items())
        )


NON_FIELD = "__all__"
_INVALID = object()


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> object:
        self.errors.setdefault(path or NON_FIELD, []).append(message)
        return _INVALID


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


Checker = Callable[[object, str, _Errors], object]


@dataclass(frozen=True)
class _Param:
    name: str
    check: Checker
    required: bool = True
    default: object = None


def _is_number(value: object) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
    )


def _number(*, minimum: float | None = None, positive: bool = False) -> Checker:
    def check(value, path, errs):
        if not _is_number(value):
            return errs.add(path, "Enter a number.")
        if positive and value <= 0:
            return errs.add(path, "Must be greater than 0.")
        if minimum is not None and value < minimum:
            return errs.add(path, f"Must be at least {_fmt(minimum)}.")
        return value

    return check


def _integer(*, minimum: int | None = None, maximum: int | None = None) -> Checker:
    def check(value, path, errs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return errs.add(path, "Enter a whole number.")
        if minimum is not None and value < minimum:
            return errs.add(path, f"Must be at least {minimum}.")
        if maximum is not None and value > maximum:
            return errs.add(path, f"Must be at most {maximum}.")
        return value

    return check


def _choice(options: Sequence[str], what: str, *, upper: bool = False) -> Checker:
    def check(value, path, errs):
        if isinstance(value, str):
            value = value.strip().upper() if upper else value.strip().lower()
            if value in options:
                return value
        return errs.add(path, f"Unknown {what} '{value}'; choose one of {', '.join(options)}.")

    return check


def _operator(value, path, errs):
    if isinstance(value, str) and value.strip() in OPERATORS:
        return value.strip()
    return errs.add(path, f"Unknown comparison '{value}'; choose one of {', '.join(OPERATORS)}.")


def _choices(options: Sequence[str], what: str, plural: str, *, upper: bool = False) -> Checker:
    item = _choice(options, what, upper=upper)

    def check(value, path, errs):
        if not isinstance(value, (list, tuple)):
            return errs.add(path, f"Give a list of {plural}.")
        if not value:
            return errs.add(path, f"Give at least one {what}.")
        chosen = [item(v, _join(path, i), errs) for i, v in enumerate(value)]
        if any(v is _INVALID for v in chosen):
            return _INVALID
        return list(dict.fromkeys(chosen))

    return check


def _boolean(value, path, errs):
    if isinstance(value, bool):
        return value
    return errs.add(path, "Choose true or false.")


def _name(value, path, errs):
    if isinstance(value, str) and value.strip():
        return value.strip()
    return errs.add(path, "Enter a name (text).")


def _answer_value(value, path, errs):
    if isinstance(value, bool) or _is_number(value):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    return errs.add(path, "Enter the expected answer: true, false, a number or a text.")


_analyte = _choice(tuple(ANALYTES), "analyte", upper=True)


def _rule(value, path, errs):
    """A nested rule ``{"rule_type": ..., "params": {...}}``, validated recursively."""
    if not isinstance(value, Mapping):
        return errs.add(path, 'Give a rule as {"rule_type": ..., "params": {...}}.')
    unknown = [k for k in value if k not in ("rule_type", "params")]
    for key in unknown:
        errs.add(_join(path, key), f"'{key}' is not part of a rule; use rule_type and params.")
    code = value.get("rule_type")
    if code is None:
        errs.add(_join(path, "rule_type"), "This setting is required.")
        return _INVALID
    rule_type = RULE_TYPES.get(code) if isinstance(code, str) else None
    if rule_type is None:
        errs.add(_join(path, "rule_type"), _unknown_rule_type(code))
        return _INVALID
    params = value.get("params", {})
    normalised = rule_type._validate(params, _join(path, "params"), errs)
    if normalised is _INVALID or unknown:
        return _INVALID
    return {"rule_type": code, "params": normalised}


def _rules(value, path, errs):
    if not isinstance(value, (list, tuple)):
        return errs.add(path, "Give a list of rules.")
    if not value:
        return errs.add(path, "Give at least one rule.")
    rules = [_rule(v, _join(path, i), errs) for i, v in enumerate(value)]
    if any(r is _INVALID for r in rules):
        return _INVALID
    return rules


def _unknown_rule_type(code: object) -> str:
    return f"Unknown rule type '{code}'; choose one of {', '.join(RULE_TYPES)}."


# Cross-parameter checks, run once each parameter is valid.


def _check_min_max(low_key: str, high_key: str, unit: str, *, one_required: bool = False):
    def check(params, prefix, errs):
        low, high = params[low_key], params[high_key]
        if one_required and low is None and high is None:
            errs.add(_join(prefix, low_key), "Give a minimum, a maximum or both.")
        elif low is not None and high is not None and low > high:
            errs.add(
                _join(prefix, low_key),
                f"The minimum ({low}{unit}) is greater than the maximum ({high}{unit}).",
            )

    return check


def _check_threshold_in_range(params, prefix, errs):
    analyte = ANALYTES[params["analyte"]]
    low, high = analyte.physiological_range
    if not low <= params["value"] <= high:
        errs.add(
            _join(prefix, "value"),
            f"{analyte.label} threshold {_fmt(params['value'])} {analyte.si_unit} is outside the "
            f"physiological range {_fmt(low)}-{_fmt(high)} {analyte.si_unit}; thresholds are in "
            f"{analyte.si_unit}.",
        )


# --------------------------------------------------------------------------------------------
# Rule types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleType:
    """A rule an administrator can use in a criterion: ``code`` (stored), ``label`` and ``help``
    (shown in the admin), the params it takes, and how it is evaluated."""

    code: str
    label: str
    help: str
    params: tuple[_Param, ...]
    _evaluate: Callable[[Mapping, Facts], RuleResult]
    _check_together: Callable[[dict, str, _Errors], None] | None = None

    def validate(self, params) -> dict:
        """Normalised params, or ``RuleParamsError``."""
        errs = _Errors()
        normalised = self._validate(params, "", errs)
        if errs.errors:
            raise RuleParamsError(errs.errors)
        return normalised

    def evaluate(self, params, facts: Facts) -> RuleResult:
        return self._evaluate(self.validate(params), facts)

    def _validate(self, params, prefix: str, errs: _Errors):
        if not isinstance(params, Mapping):
            return errs.add(
                prefix, "The settings must be a set of named values (a JSON object)."
            )
        allowed = [p.name for p in self.params]
        before = sum(len(m) for m in errs.errors.values())
        for key in params:
            if key not in allowed:
                errs.add(
                    _join(prefix, key),
                    f"'{key}' is not a setting of the rule '{self.label}'; "
                    f"its settings are {', '.join(allowed)}.",
                )
        normalised = {}
        for param in self.params:
            path = _join(prefix, param.name)
            value = params.get(param.name)
            if value is None:
                if param.required:
                    errs.add(path, "This setting is required.")
                    normalised[param.name] = _INVALID
                else:
                    default = param.default
                    if isinstance(default, tuple):
                        default = list(default)
                    normalised[param.name] = default
                continue
            normalised[param.name] = param.check(value, path, errs)
        if sum(len(m) for m in errs.errors.values()) > before:
            return _INVALID
        if self._check_together is not None:
            self._check_together(normalised, prefix, errs)
            if sum(len(m) for m in errs.errors.values()) > before:
                return _INVALID
        return normalised


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


def _lab_text(code: str, lab: Lab) -> str:
    text = f"{code} {_fmt(lab.value)} {ANALYTES[code].si_unit}"
    if lab.date is not None:
        text += f" ({lab.date.isoformat()})"
    return text


def _eval_lab_threshold(p: Mapping, facts: Facts) -> RuleResult:
    code, op, value = p["analyte"], p["op"], p["value"]
    lab = _lab(facts, code)
    if lab is None:
        return _missing(f"{_lab_name(code)} result")
    unit = ANALYTES[code].si_unit
    return _decided(
        _compare(lab.value, op, value),
        f"{_lab_text(code, lab)}; criterion {op} {_fmt(value)} {unit}",
    )


def _eval_lab_vs_limit(p: Mapping, facts: Facts) -> RuleResult:
    code, op, multiple, limit_name = p["analyte"], p["op"], p["multiple"], p["limit"]
    lab = _lab(facts, code)
    label = limit_name.upper()
    limit = None if lab is None else (lab.uln if limit_name == "uln" else lab.lln)
    missing = []
    if lab is None:
        missing.append(f"{_lab_name(code)} result")
    if limit is None:
        which = "upper" if limit_name == "uln" else "lower"
        missing.append(f"{which} limit of normal ({label}) for {_lab_name(code)}")
    if missing:
        return _missing(*missing)
    unit = ANALYTES[code].si_unit
    required = f"criterion {op} {_fmt(multiple)} x {label}"
    if limit > 0:
        shown = f"{_lab_text(code, lab)} = {_fmt(lab.value / limit)} x {label} {_fmt(limit)} {unit}"
    else:
        shown = f"{_lab_text(code, lab)}; {label} {_fmt(limit)} {unit}"
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
        missing.append(f"{_lab_name('CREAT')} result")
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


def _eval_condition(p: Mapping, facts: Facts) -> RuleResult:
    name, wanted = p["name"], p["value"]
    actual = facts.conditions.get(name)
    if actual is None:
        return _missing(f"{_humanise(name)} (yes/no)")
    return _decided(
        actual is wanted, f"{_humanise(name)}: {_yes_no(actual)}; criterion {_yes_no(wanted)}"
    )


def _answers_equal(actual: object, wanted: object) -> bool:
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    if isinstance(wanted, str) and isinstance(actual, str):
        return actual.strip().lower() == wanted.lower()
    return actual == wanted


def _eval_answer_equals(p: Mapping, facts: Facts) -> RuleResult:
    name, wanted = p["field"], p["value"]
    actual = facts.answers.get(name)
    if actual is None or actual == "":
        return _missing(_humanise(name))
    return _decided(
        _answers_equal(actual, wanted),
        f"{_humanise(name)}: {_yes_no(actual)}; criterion {_yes_no(wanted)}",
    )


def _eval_answer_number(p: Mapping, facts: Facts) -> RuleResult:
    name, op, value = p["field"], p["op"], p["value"]
    actual = facts.answers.get(name)
    if actual is None or actual == "":
        return _missing(_humanise(name))
    number = actual
    if isinstance(actual, str):
        try:
            number = float(actual)
        except ValueError:
            number = None
    if not _is_number(number):
        return _missing(f"{_humanise(name)} as a number (recorded '{actual}')")
    return _decided(
        _compare(number, op, value),
        f"{_humanise(name)}: {_fmt(number)}; criterion {op} {_fmt(value)}",
    )


_OUTCOME_WORDS = {MET: "met", NOT_MET: "not met", MISSING: "missing"}


def _evaluate_normalised(rule: Mapping, facts: Facts) -> RuleResult:
    return RULE_TYPES[rule["rule_type"]]._evaluate(rule["params"], facts)


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
        answer = facts.answers.get(only_if)
        if answer is None:
            return _missing(_humanise(only_if))
        if answer is False:
            return _not_applicable(f"{_humanise(only_if)}: no")
        if answer is not True:
            return _missing(f"{_humanise(only_if)} as yes or no (recorded '{answer}')")
        context.append(_humanise(only_if))
    return _prefixed(", ".join(context), _evaluate_normalised(p["rule"], facts))


_OPERATOR_PARAM = _Param("op", _operator)

_RULE_TYPE_LIST = (
    RuleType(
        code="age_range",
        label="Age range",
        help=(
            "Age in whole years on the screening date within an inclusive range (either bound "
            'may be left empty), e.g. {"min_years": 18, "max_years": 80}.'
        ),
        params=(
            _Param("min_years", _integer(minimum=0, maximum=150), required=False),
            _Param("max_years", _integer(minimum=0, maximum=150), required=False),
        ),
        _evaluate=_eval_age_range,
        _check_together=_check_min_max("min_years", "max_years", " y", one_required=True),
    ),
    RuleType(
        code="lab_threshold",
        label="Lab value threshold (SI unit)",
        help=(
            "Compares a lab result, in the SI unit of the analyte, with a fixed value, "
            'e.g. {"analyte": "HGB", "op": "<", "value": 100} for haemoglobin below 100 g/L.'
        ),
        params=(_Param("analyte", _analyte), _OPERATOR_PARAM, _Param("value", _number())),
        _evaluate=_eval_lab_threshold,
        _check_together=_check_threshold_in_range,
    ),
    RuleType(
        code="lab_vs_limit",
        label="Lab value as a multiple of the normal limit",
        help=(
            "Compares a lab result with a multiple of the reporting lab's upper (uln) or lower "
            '(lln) limit of normal, e.g. {"analyte": "ALT", "op": "<=", "multiple": 3, '
            '"limit": "uln"} for ALT at most 3 x ULN.'
        ),
        params=(
            _Param("analyte", _analyte),
            _OPERATOR_PARAM,
            _Param("multiple", _number(positive=True)),
            _Param("limit", _choice(("uln", "lln"), "limit")),
        ),
        _evaluate=_eval_lab_vs_limit,
    ),
    RuleType(
        code="creatinine_clearance",
        label="Creatinine clearance (mL/min)",
        help=(
            "Computes creatinine clearance (Cockcroft-Gault from 18 years, bedside Schwartz "
            'under 18) and compares it, e.g. {"op": ">", "value": 75}.'
        ),
        params=(_OPERATOR_PARAM, _Param("value", _number(minimum=0))),
        _evaluate=_eval_creatinine_clearance,
    ),
    RuleType(
        code="ecog_range",
        label="ECOG performance status range",
        help='ECOG performance status within an inclusive range, e.g. {"min": 0, "max": 2}.',
        params=(
            _Param("min", _integer(minimum=0, maximum=5)),
            _Param("max", _integer(minimum=0, maximum=5)),
        ),
        _evaluate=_eval_ecog_range,
        _check_together=_check_min_max("min", "max", ""),
    ),
    RuleType(
        code="disease_in",
        label="Disease is one of",
        help=(
            "The participant's disease is one of a list, "
            'e.g. {"diseases": ["AIHA", "PRCA", "EVANS", "SECONDARY_CYTOPENIA"]}.'
        ),
        params=(_Param("diseases", _choices(DISEASES, "disease", "diseases", upper=True)),),
        _evaluate=_eval_disease_in,
    ),
    RuleType(
        code="disease_duration",
        label="Time since diagnosis (months)",
        help=(
            "Whole months from the diagnosis date to the screening date compared with a number "
            '(comparison ">=" unless given), e.g. {"min_months": 3, "op": ">"}.'
        ),
        params=(
            _Param("min_months", _integer(minimum=0)),
            _Param("op", _operator, required=False, default=">="),
        ),
        _evaluate=_eval_disease_duration,
    ),
    RuleType(
        code="prior_therapy_failure",
        label="Failed prior therapy",
        help=(
            "A recorded prior therapy of the listed kinds ended with a failing outcome (default "
            '"none") and, if given, lasted at least min_weeks, e.g. {"therapies": '
            '["glucocorticoid"], "failing_outcomes": ["none"], "min_weeks": 4}.'
        ),
        params=(
            _Param("therapies", _choices(THERAPIES, "therapy", "therapies")),
            _Param(
                "failing_outcomes",
                _choices(THERAPY_OUTCOMES, "outcome", "outcomes"),
                required=False,
                default=("none",),
            ),
            _Param("min_weeks", _integer(minimum=0), required=False),
        ),
        _evaluate=_eval_prior_therapy_failure,
    ),
    RuleType(
        code="condition",
        label="Yes/no condition",
        help=(
            "A yes/no condition recorded at screening has the given value, "
            'e.g. {"name": "abnormal_cardiac_function", "value": false}.'
        ),
        params=(_Param("name", _name), _Param("value", _boolean)),
        _evaluate=_eval_condition,
    ),
    RuleType(
        code="answer_equals",
        label="Screening answer equals",
        help=(
            "A screening answer equals the given value (yes/no or text), "
            'e.g. {"field": "pregnancy_test", "value": "negative"}.'
        ),
        params=(_Param("field", _name), _Param("value", _answer_value)),
        _evaluate=_eval_answer_equals,
    ),
    RuleType(
        code="answer_number",
        label="Numeric screening answer",
        help=(
            "Compares a numeric screening answer with a number, "
            'e.g. {"field": "thrombocytopenia_months", "op": ">", "value": 3}.'
        ),
        params=(_Param("field", _name), _OPERATOR_PARAM, _Param("value", _number())),
        _evaluate=_eval_answer_number,
    ),
    RuleType(
        code="all_of",
        label="All of these rules",
        help=(
            "Met when every listed rule is met (rules that do not apply are ignored), "
            'e.g. {"rules": [{"rule_type": "lab_vs_limit", "params": {"analyte": "ALT", '
            '"op": "<=", "multiple": 3, "limit": "uln"}}, {"rule_type": "lab_vs_limit", '
            '"params": {"analyte": "AST", "op": "<=", "multiple": 3, "limit": "uln"}}]}.'
        ),
        params=(_Param("rules", _rules),),
        _evaluate=_eval_all_of,
    ),
    RuleType(
        code="any_of",
        label="Any of these rules",
        help=(
            "Met when at least one listed rule is met (rules that do not apply are ignored), "
            'e.g. {"rules": [{"rule_type": "lab_threshold", "params": {"analyte": "HGB", '
            '"op": "<", "value": 100}}, {"rule_type": "lab_threshold", "params": '
            '{"analyte": "PLT", "op": "<", "value": 30}}]}.'
        ),
        params=(_Param("rules", _rules),),
        _evaluate=_eval_any_of,
    ),
    RuleType(
        code="when_disease",
        label="Only for some diseases",
        help=(
            "Applies the inner rule only to participants with one of the listed diseases, e.g. "
            '{"diseases": ["AIHA"], "rule": {"rule_type": "lab_threshold", "params": '
            '{"analyte": "HGB", "op": "<", "value": 100}}}.'
        ),
        params=(
            _Param("diseases", _choices(DISEASES, "disease", "diseases", upper=True)),
            _Param("rule", _rule),
        ),
        _evaluate=_eval_when_disease,
    ),
    RuleType(
        code="when_sex",
        label="Only for one sex",
        help=(
            "Applies the inner rule only to one sex, optionally from an age and only when a "
            'yes/no answer is yes, e.g. {"sex": "female", "min_age_years": 12, '
            '"only_if_answer": "childbearing_potential", "rule": {"rule_type": '
            '"answer_equals", "params": {"field": "pregnancy_test", "value": "negative"}}}.'
        ),
        params=(
            _Param("sex", _choice(SEXES, "sex")),
            _Param("min_age_years", _integer(minimum=0, maximum=150), required=False),
            _Param("only_if_answer", _name, required=False),
            _Param("rule", _rule),
        ),
        _evaluate=_eval_when_sex,
    ),
)

RULE_TYPES: dict[str, RuleType] = {rt.code: rt for rt in _RULE_TYPE_LIST}


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _rule_type(code: object) -> RuleType:
    rule_type = RULE_TYPES.get(code) if isinstance(code, str) else None
    if rule_type is None:
        raise RuleParamsError({"rule_type": [_unknown_rule_type(code)]})
    return rule_type


def validate_params(rule_type: str, params) -> dict:
    """Normalised params of a criterion's rule, or ``RuleParamsError`` whose ``errors`` name every
    bad param by path (nested rules: ``rules.1.params.analyte``, ``rule.params.value``)."""
    return _rule_type(rule_type).validate(params)


def evaluate_rule(rule_type: str, params, facts: Facts) -> RuleResult:
    """Evaluate one rule on the facts (params are validated first; section 5)."""
    return _rule_type(rule_type).evaluate(params, facts)


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
