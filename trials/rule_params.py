"""The typed rules of eligibility criteria and their params (``CLINICAL_RULES.md`` section 5).

No ORM; its names, explanations and messages are marked for translation (worded in the active
language). A study's criterion is stored as a ``rule_type`` code plus JSON
``params``; an administrator combines the rule types of ``RULE_TYPES`` without code.
``validate_params`` checks and normalises params (called from ``EligibilityCriterion.clean()``)
and raises ``RuleParamsError`` naming every bad param by path. Diseases, therapies and analytes
are codes of the catalogues (``trials.catalogue``): given the ``catalogue``, a code it does not
hold is refused; without it (evaluating stored params) codes are only normalised. This is study configuration, so it
lives in the kernel; evaluating a rule on a participant's screening facts is
``enrollment.eligibility``'s, which looks rule types up here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .catalogue import Catalogue
from .catalogue_names import shown_name
from .errors import INVALID, Errors
from .units import format_number

__all__ = [
    "OPERATORS",
    "RULE_TYPES",
    "SEXES",
    "THERAPY_OUTCOMES",
    "TIME_UNITS",
    "RuleParamsError",
    "RuleType",
    "is_number",
    "validate_params",
]

# Codes of API.md ("Codes"); diseases, therapies and analytes are the catalogues'.
THERAPY_OUTCOMES = ("none", "pr", "cr", "relapse", "ongoing")
SEXES = ("male", "female")
TIME_UNITS = ("days", "weeks", "months")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


# --------------------------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------------------------


class RuleParamsError(ValueError):
    """Invalid rule params; ``errors`` maps a param path (e.g. ``rules.1.params.analyte``) to
    messages an administrator understands. Problems with the params as a whole use
    ``__all__`` (``trials.errors.NON_FIELD``)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(
            "; ".join(f"{path}: {' '.join(messages)}" for path, messages in errors.items())
        )


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


Checker = Callable[[object, str, Errors], object]


@dataclass(frozen=True)
class _Param:
    name: str
    check: Checker
    required: bool = True
    default: object = None


def is_number(value: object) -> bool:
    """A finite int or float (not a bool)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
    )


def _number(*, minimum: float | None = None, positive: bool = False) -> Checker:
    def check(value, path, errs):
        if not is_number(value):
            return errs.add(path, _("Enter a number."))
        if positive and value <= 0:
            return errs.add(path, _("Must be greater than 0."))
        if minimum is not None and value < minimum:
            return errs.add(path, _("Must be at least %(minimum)s.") % {"minimum": format_number(minimum)})
        return value

    return check


def _integer(*, minimum: int | None = None, maximum: int | None = None) -> Checker:
    def check(value, path, errs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return errs.add(path, _("Enter a whole number."))
        if minimum is not None and value < minimum:
            return errs.add(path, _("Must be at least %(minimum)s.") % {"minimum": minimum})
        if maximum is not None and value > maximum:
            return errs.add(path, _("Must be at most %(maximum)s.") % {"maximum": maximum})
        return value

    return check


def _unknown(what, value, options) -> str:
    return _("Unknown %(what)s '%(value)s'; choose one of %(options)s.") % {
        "what": what, "value": value, "options": ", ".join(options)}


def _choice(options: Sequence[str], what, *, upper: bool = False) -> Checker:
    def check(value, path, errs):
        if isinstance(value, str):
            value = value.strip().upper() if upper else value.strip().lower()
            if value in options:
                return value
        return errs.add(path, _unknown(what, value, options))

    return check


def _operator(value, path, errs):
    if isinstance(value, str) and value.strip() in OPERATORS:
        return value.strip()
    return errs.add(path, _unknown(_("comparison"), value, OPERATORS))


# The catalogue the params are checked against (`validate_params`), None to normalise codes only.
_CATALOGUE: ContextVar[Catalogue | None] = ContextVar("rule_params_catalogue", default=None)


def _code(catalogue_attr: str, what, *, upper: bool) -> Checker:
    """A code of one of the catalogues (``diseases``, ``therapies``, ``analytes``)."""

    def check(value, path, errs):
        catalogue = _CATALOGUE.get()
        known = None if catalogue is None else getattr(catalogue, catalogue_attr)
        if isinstance(value, str) and value.strip():
            value = value.strip().upper() if upper else value.strip().lower()
            if known is None or value in known:
                return value
        if known is None:
            return errs.add(path, _("Enter a %(what)s code.") % {"what": what})
        return errs.add(path, _unknown(what, value, known))

    return check


def _choices(options: Sequence[str] | Checker, what, plural, *, upper: bool = False) -> Checker:
    item = options if callable(options) else _choice(options, what, upper=upper)

    def check(value, path, errs):
        if not isinstance(value, (list, tuple)):
            return errs.add(path, _("Give a list of %(what)s.") % {"what": plural})
        if not value:
            return errs.add(path, _("Give at least one %(what)s.") % {"what": what})
        chosen = [item(v, _join(path, i), errs) for i, v in enumerate(value)]
        if any(v is INVALID for v in chosen):
            return INVALID
        return list(dict.fromkeys(chosen))

    return check


def _boolean(value, path, errs):
    if isinstance(value, bool):
        return value
    return errs.add(path, _("Choose true or false."))


def _name(value, path, errs):
    if isinstance(value, str) and value.strip():
        return value.strip()
    return errs.add(path, _("Enter a name (text)."))


def _answer_value(value, path, errs):
    if isinstance(value, bool) or is_number(value):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    return errs.add(path, _("Enter the expected answer: true, false, a number or a text."))


def _codes(value, path, errs):
    if not isinstance(value, (list, tuple)) or not value:
        return errs.add(path, _("Give a list of one or more codes."))
    if not all(isinstance(code, str) and code.strip() for code in value):
        return errs.add(path, _("Every code is a text."))
    return [code.strip() for code in value]


_analyte = _code("analytes", gettext_lazy("analyte"), upper=True)
_DISEASES = _code("diseases", gettext_lazy("disease"), upper=True)
_THERAPIES = _code("therapies", gettext_lazy("therapy"), upper=False)


def _rule(value, path, errs):
    """A nested rule ``{"rule_type": ..., "params": {...}}``, validated recursively."""
    if not isinstance(value, Mapping):
        return errs.add(path, _('Give a rule as {"rule_type": ..., "params": {...}}.'))
    unknown = [k for k in value if k not in ("rule_type", "params")]
    for key in unknown:
        errs.add(_join(path, key), _("'%(key)s' is not part of a rule; use rule_type and params.") % {"key": key})
    code = value.get("rule_type")
    if code is None:
        errs.add(_join(path, "rule_type"), _("This setting is required."))
        return INVALID
    rule_type = RULE_TYPES.get(code) if isinstance(code, str) else None
    if rule_type is None:
        errs.add(_join(path, "rule_type"), _unknown_rule_type(code))
        return INVALID
    params = value.get("params", {})
    normalised = rule_type._validate(params, _join(path, "params"), errs)
    if normalised is INVALID or unknown:
        return INVALID
    return {"rule_type": code, "params": normalised}


def _rules(value, path, errs):
    if not isinstance(value, (list, tuple)):
        return errs.add(path, _("Give a list of rules."))
    if not value:
        return errs.add(path, _("Give at least one rule."))
    rules = [_rule(v, _join(path, i), errs) for i, v in enumerate(value)]
    if any(r is INVALID for r in rules):
        return INVALID
    return rules


def _unknown_rule_type(code: object) -> str:
    return _unknown(_("rule type"), code, RULE_TYPES)


# Cross-parameter checks, run once each parameter is valid.


def _check_min_max(low_key: str, high_key: str, unit: str, *, one_required: bool = False):
    def check(params, prefix, errs):
        low, high = params[low_key], params[high_key]
        if one_required and low is None and high is None:
            errs.add(_join(prefix, low_key), _("Give a minimum, a maximum or both."))
        elif low is not None and high is not None and low > high:
            errs.add(
                _join(prefix, low_key),
                _("The minimum (%(low)s) is greater than the maximum (%(high)s).") % {
                    "low": f"{low}{unit}", "high": f"{high}{unit}"},
            )

    return check


def _check_threshold_in_range(params, prefix, errs):
    catalogue = _CATALOGUE.get()
    if catalogue is None:
        return
    analyte = catalogue.analytes[params["analyte"]]
    low, high = analyte.physiological_range
    if not low <= params["value"] <= high:
        errs.add(
            _join(prefix, "value"),
            _("%(analyte)s threshold %(value)s %(unit)s is outside the physiological range %(low)s-%(high)s "
              "%(unit)s; thresholds are in %(unit)s.") % {
                "analyte": shown_name(analyte.label), "value": format_number(params["value"]),
                "unit": analyte.si_unit, "low": format_number(low), "high": format_number(high)},
        )


# --------------------------------------------------------------------------------------------
# Rule types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleType:
    """A rule an administrator can use in a criterion: ``code`` (stored), ``label`` and ``help``
    (shown in the admin) and the params it takes. How it is evaluated on screening facts
    is the enrollment engine's concern (``enrollment.eligibility``)."""

    code: str
    label: str  # lazily translated, as `help`
    help: str
    params: tuple[_Param, ...]
    _check_together: Callable[[dict, str, Errors], None] | None = None

    def validate(self, params, *, catalogue: Catalogue | None = None) -> dict:
        """Normalised params, or ``RuleParamsError``; codes checked against ``catalogue`` if given."""
        errs = Errors()
        token = _CATALOGUE.set(catalogue)
        try:
            normalised = self._validate(params, "", errs)
        finally:
            _CATALOGUE.reset(token)
        if errs:
            raise RuleParamsError(dict(errs))
        return normalised

    def _validate(self, params, prefix: str, errs: Errors):
        if not isinstance(params, Mapping):
            return errs.add(
                prefix, _("The settings must be a set of named values (a JSON object).")
            )
        allowed = [p.name for p in self.params]
        before = sum(len(m) for m in errs.values())
        for key in params:
            if key not in allowed:
                errs.add(
                    _join(prefix, key),
                    _("'%(key)s' is not a setting of the rule '%(rule)s'; its settings are %(settings)s.") % {
                        "key": key, "rule": self.label, "settings": ", ".join(allowed)},
                )
        normalised = {}
        for param in self.params:
            path = _join(prefix, param.name)
            value = params.get(param.name)
            if value is None:
                if param.required:
                    errs.add(path, _("This setting is required."))
                    normalised[param.name] = INVALID
                else:
                    default = param.default
                    if isinstance(default, tuple):
                        default = list(default)
                    normalised[param.name] = default
                continue
            normalised[param.name] = param.check(value, path, errs)
        if sum(len(m) for m in errs.values()) > before:
            return INVALID
        if self._check_together is not None:
            self._check_together(normalised, prefix, errs)
            if sum(len(m) for m in errs.values()) > before:
                return INVALID
        return normalised


_OPERATOR_PARAM = _Param("op", _operator)

_RULE_TYPE_LIST = (
    RuleType(
        code="age_range",
        label=gettext_lazy("Age range"),
        help=gettext_lazy(
            "Age in whole years on the screening date within an inclusive range (either bound "
            'may be left empty), e.g. {"min_years": 18, "max_years": 80}.'
        ),
        params=(
            _Param("min_years", _integer(minimum=0, maximum=150), required=False),
            _Param("max_years", _integer(minimum=0, maximum=150), required=False),
        ),
        _check_together=_check_min_max("min_years", "max_years", " y", one_required=True),
    ),
    RuleType(
        code="lab_threshold",
        label=gettext_lazy("Lab value threshold (SI unit)"),
        help=gettext_lazy(
            "Compares a lab result, in the SI unit of the analyte, with a fixed value, "
            'e.g. {"analyte": "HGB", "op": "<", "value": 100} for haemoglobin below 100 g/L.'
        ),
        params=(_Param("analyte", _analyte), _OPERATOR_PARAM, _Param("value", _number())),
        _check_together=_check_threshold_in_range,
    ),
    RuleType(
        code="lab_vs_limit",
        label=gettext_lazy("Lab value as a multiple of the normal limit"),
        help=gettext_lazy(
            "Compares a lab result with a multiple of the reporting lab's upper (uln) or lower "
            '(lln) limit of normal, e.g. {"analyte": "ALT", "op": "<=", "multiple": 3, '
            '"limit": "uln"} for ALT at most 3 x ULN.'
        ),
        params=(
            _Param("analyte", _analyte),
            _OPERATOR_PARAM,
            _Param("multiple", _number(positive=True)),
            _Param("limit", _choice(("uln", "lln"), gettext_lazy("limit"))),
        ),
    ),
    RuleType(
        code="creatinine_clearance",
        label=gettext_lazy("Creatinine clearance (mL/min)"),
        help=gettext_lazy(
            "Computes creatinine clearance (Cockcroft-Gault from 18 years, bedside Schwartz "
            'under 18) and compares it, e.g. {"op": ">", "value": 75}.'
        ),
        params=(_OPERATOR_PARAM, _Param("value", _number(minimum=0))),
    ),
    RuleType(
        code="ecog_range",
        label=gettext_lazy("ECOG performance status range"),
        help=gettext_lazy('ECOG performance status within an inclusive range, e.g. {"min": 0, "max": 2}.'),
        params=(
            _Param("min", _integer(minimum=0, maximum=5)),
            _Param("max", _integer(minimum=0, maximum=5)),
        ),
        _check_together=_check_min_max("min", "max", ""),
    ),
    RuleType(
        code="disease_in",
        label=gettext_lazy("Disease is one of"),
        help=gettext_lazy(
            "The participant's disease is one of a list, "
            'e.g. {"diseases": ["AIHA", "PRCA", "EVANS", "SECONDARY_CYTOPENIA"]}.'
        ),
        params=(_Param("diseases", _choices(_DISEASES, gettext_lazy("disease"), gettext_lazy("diseases"))),),
    ),
    RuleType(
        code="disease_duration",
        label=gettext_lazy("Time since diagnosis (months)"),
        help=gettext_lazy(
            "Whole months from the diagnosis date to the screening date compared with a number "
            '(comparison ">=" unless given), e.g. {"min_months": 3, "op": ">"}.'
        ),
        params=(
            _Param("min_months", _integer(minimum=0)),
            _Param("op", _operator, required=False, default=">="),
        ),
    ),
    RuleType(
        code="prior_therapy_failure",
        label=gettext_lazy("Failed prior therapy"),
        help=gettext_lazy(
            "A recorded prior therapy of the listed kinds ended with a failing outcome (default "
            '"none") and, if given, lasted at least min_weeks, e.g. {"therapies": '
            '["glucocorticoid"], "failing_outcomes": ["none"], "min_weeks": 4}.'
        ),
        params=(
            _Param("therapies", _choices(_THERAPIES, gettext_lazy("therapy"), gettext_lazy("therapies"))),
            _Param(
                "failing_outcomes",
                _choices(THERAPY_OUTCOMES, gettext_lazy("outcome"), gettext_lazy("outcomes")),
                required=False,
                default=("none",),
            ),
            _Param("min_weeks", _integer(minimum=0), required=False),
        ),
    ),
    RuleType(
        code="condition",
        label=gettext_lazy("Yes/no item"),
        help=gettext_lazy(
            "A yes/no item of the screening has the given value, "
            'e.g. {"name": "abnormal_cardiac_function", "value": false}.'
        ),
        params=(_Param("name", _name), _Param("value", _boolean)),
    ),
    RuleType(
        code="answer_equals",
        label=gettext_lazy("Item equals"),
        help=gettext_lazy(
            "A screening item's answer equals the given value (yes/no, a choice's code, a number or a text), "
            'e.g. {"field": "pregnancy_test", "value": "negative"}.'
        ),
        params=(_Param("field", _name), _Param("value", _answer_value)),
    ),
    RuleType(
        code="answer_number",
        label=gettext_lazy("Number item compared"),
        help=gettext_lazy(
            "Compares a number item of the screening with a number, "
            'e.g. {"field": "thrombocytopenia_months", "op": ">", "value": 3}.'
        ),
        params=(_Param("field", _name), _OPERATOR_PARAM, _Param("value", _number())),
    ),
    RuleType(
        code="answer_in",
        label=gettext_lazy("Choice among codes"),
        help=gettext_lazy(
            "A single- or multiple-choice item's answer is one of the listed codes (for a multiple "
            'choice: at least one of them is chosen), e.g. {"field": "marrow_finding", "values": '
            '["hypocellular", "normal"]}.'
        ),
        params=(_Param("field", _name), _Param("values", _codes)),
    ),
    RuleType(
        code="days_since",
        label=gettext_lazy("Time since a date item"),
        help=gettext_lazy(
            "Days (or, with unit, whole weeks or whole months) from a date item to the screening date "
            'compared with a number, e.g. {"field": "splenectomy_date", "op": ">=", "value": 180} or '
            '{"field": "splenectomy_date", "unit": "months", "op": ">=", "value": 6}.'
        ),
        params=(
            _Param("field", _name),
            _OPERATOR_PARAM,
            _Param("value", _integer(minimum=0)),
            _Param("unit", _choice(TIME_UNITS, gettext_lazy("unit")), required=False, default="days"),
        ),
    ),
    RuleType(
        code="all_of",
        label=gettext_lazy("All of these rules"),
        help=gettext_lazy(
            "Met when every listed rule is met (rules that do not apply are ignored), "
            'e.g. {"rules": [{"rule_type": "lab_vs_limit", "params": {"analyte": "ALT", '
            '"op": "<=", "multiple": 3, "limit": "uln"}}, {"rule_type": "lab_vs_limit", '
            '"params": {"analyte": "AST", "op": "<=", "multiple": 3, "limit": "uln"}}]}.'
        ),
        params=(_Param("rules", _rules),),
    ),
    RuleType(
        code="any_of",
        label=gettext_lazy("Any of these rules"),
        help=gettext_lazy(
            "Met when at least one listed rule is met (rules that do not apply are ignored), "
            'e.g. {"rules": [{"rule_type": "lab_threshold", "params": {"analyte": "HGB", '
            '"op": "<", "value": 100}}, {"rule_type": "lab_threshold", "params": '
            '{"analyte": "PLT", "op": "<", "value": 30}}]}.'
        ),
        params=(_Param("rules", _rules),),
    ),
    RuleType(
        code="when_disease",
        label=gettext_lazy("Only for some diseases"),
        help=gettext_lazy(
            "Applies the inner rule only to participants with one of the listed diseases, e.g. "
            '{"diseases": ["AIHA"], "rule": {"rule_type": "lab_threshold", "params": '
            '{"analyte": "HGB", "op": "<", "value": 100}}}.'
        ),
        params=(
            _Param("diseases", _choices(_DISEASES, gettext_lazy("disease"), gettext_lazy("diseases"))),
            _Param("rule", _rule),
        ),
    ),
    RuleType(
        code="when_sex",
        label=gettext_lazy("Only for one sex"),
        help=gettext_lazy(
            "Applies the inner rule only to one sex, optionally from an age and only when a "
            'yes/no answer is yes, e.g. {"sex": "female", "min_age_years": 12, '
            '"only_if_answer": "childbearing_potential", "rule": {"rule_type": '
            '"answer_equals", "params": {"field": "pregnancy_test", "value": "negative"}}}.'
        ),
        params=(
            _Param("sex", _choice(SEXES, gettext_lazy("sex"))),
            _Param("min_age_years", _integer(minimum=0, maximum=150), required=False),
            _Param("only_if_answer", _name, required=False),
            _Param("rule", _rule),
        ),
    ),
)

RULE_TYPES: dict[str, RuleType] = {rt.code: rt for rt in _RULE_TYPE_LIST}


def _rule_type(code: object) -> RuleType:
    rule_type = RULE_TYPES.get(code) if isinstance(code, str) else None
    if rule_type is None:
        raise RuleParamsError({"rule_type": [_unknown_rule_type(code)]})
    return rule_type


def validate_params(rule_type: str, params, *, catalogue: Catalogue | None = None) -> dict:
    """Normalised params of a criterion's rule, or ``RuleParamsError`` whose ``errors`` name every
    bad param by path (nested rules: ``rules.1.params.analyte``, ``rule.params.value``). With the
    ``catalogue`` (saving a criterion), a disease, therapy or analyte it does not hold is refused;
    without it (evaluating a saved criterion) codes are normalised only."""
    return _rule_type(rule_type).validate(params, catalogue=catalogue)

