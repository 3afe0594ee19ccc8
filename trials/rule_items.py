"""Rules that read study-defined items, checked against the study's data dictionary.

Pure module. `rule_item_errors` walks a criterion's (normalised) rule, nested rules included, and
names by path every item a rule reads that the study does not have, has with another type, or
compares with a value its type cannot take - so that a criterion can never wait for a fact no form
asks (`EligibilityCriterion.clean`, used by the admin and by `load_studies` alike).
"""
from __future__ import annotations

from collections.abc import Mapping

from .errors import Errors
from .items import CHOICE, DATE, MULTI_CHOICE, NUMBER, TEXT, YES_NO, ItemSpec
from .rule_params import is_number

# rule type -> (the param naming the item, the item types the rule can read)
ITEM_PARAMS = {
    "condition": ("name", (YES_NO,)),
    "answer_equals": ("field", (YES_NO, CHOICE, NUMBER, TEXT)),
    "answer_number": ("field", (NUMBER,)),
    "answer_in": ("field", (CHOICE, MULTI_CHOICE)),
    "days_since": ("field", (DATE,)),
}
_TYPE_WORDS = {YES_NO: "yes/no", NUMBER: "number", DATE: "date", CHOICE: "single choice",
               MULTI_CHOICE: "multiple choice", TEXT: "text"}


def _join(prefix: str, key) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def rule_item_errors(rule_type: str, params: Mapping, items: Mapping[str, ItemSpec]) -> dict[str, list[str]]:
    """Problems by param path (`rules.0.params.field`); empty when every item read exists and fits."""
    errors = Errors()
    _check(rule_type, params, items, "", errors)
    return dict(errors)


def items_read(rule_type: str, params: Mapping) -> list[str]:
    """The item codes a rule reads, nested rules included."""
    found = []

    def visit(kind, p):
        if kind in ITEM_PARAMS:
            found.append(p.get(ITEM_PARAMS[kind][0]))
        if kind == "when_sex" and p.get("only_if_answer"):
            found.append(p["only_if_answer"])
        for nested in p.get("rules") or []:
            visit(nested.get("rule_type"), nested.get("params") or {})
        if isinstance(p.get("rule"), Mapping):
            visit(p["rule"].get("rule_type"), p["rule"].get("params") or {})

    visit(rule_type, params or {})
    return [code for code in found if isinstance(code, str)]


def _item(code, items, wanted: tuple[str, ...], path: str, errors: Errors) -> ItemSpec | None:
    spec = items.get(code)
    if spec is None:
        known = ", ".join(sorted(items)) or "none"
        errors.add(path, f"The study has no item '{code}'; add it to the data dictionary first (items: {known}).")
        return None
    if spec.type not in wanted:
        errors.add(path, f"'{code}' is a {_TYPE_WORDS[spec.type]} item; this rule reads a "
                         f"{' or '.join(_TYPE_WORDS[t] for t in wanted)} item.")
        return None
    return spec


def _check(rule_type: str, params: Mapping, items: Mapping[str, ItemSpec], prefix: str, errors: Errors) -> None:
    if not isinstance(params, Mapping):
        return
    if rule_type in ITEM_PARAMS:
        key, wanted = ITEM_PARAMS[rule_type]
        spec = _item(params.get(key), items, wanted, _join(prefix, key), errors)
        if spec is not None:
            _check_value(rule_type, spec, params, prefix, errors)
    if rule_type == "when_sex" and params.get("only_if_answer"):
        _item(params["only_if_answer"], items, (YES_NO,), _join(prefix, "only_if_answer"), errors)
    for index, nested in enumerate(params.get("rules") or []):
        if isinstance(nested, Mapping):
            _check(nested.get("rule_type"), nested.get("params") or {}, items,
                   _join(prefix, f"rules.{index}.params"), errors)
    nested = params.get("rule")
    if isinstance(nested, Mapping):
        _check(nested.get("rule_type"), nested.get("params") or {}, items, _join(prefix, "rule.params"), errors)


def _check_value(rule_type: str, spec: ItemSpec, params: Mapping, prefix: str, errors: Errors) -> None:
    value = params.get("value")
    path = _join(prefix, "value")
    if rule_type == "answer_in":
        unknown = [code for code in params.get("values") or [] if code not in spec.choice_codes]
        if unknown:
            errors.add(_join(prefix, "values"), f"{', '.join(unknown)}: not among the codes of '{spec.code}' "
                                                f"({', '.join(spec.choice_codes)}).")
    elif rule_type == "answer_equals":
        if spec.type == YES_NO and not isinstance(value, bool):
            errors.add(path, f"'{spec.code}' is yes/no: compare it with true or false.")
        elif spec.type == CHOICE and value not in spec.choice_codes:
            errors.add(path, f"{value!r} is not a code of '{spec.code}' ({', '.join(spec.choice_codes)}).")
        elif spec.type == NUMBER and not is_number(value):
            errors.add(path, f"'{spec.code}' is a number: compare it with a number.")
        elif spec.type == TEXT and not isinstance(value, str):
            errors.add(path, f"'{spec.code}' is a text: compare it with a text.")
