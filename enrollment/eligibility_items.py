"""Eligibility rules on study-defined items (``items.<code>`` of the screening; ``CLINICAL_RULES.md``
section 5): a yes/no answer, an answer equal to a value, a number compared, a choice among codes,
and the time from a date item to the screening date. Pure module; the rule types and their params
are ``trials.rule_params``'s, their check against the study's items ``trials.rule_items``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from trials.rule_params import is_number

from .eligibility_facts import Facts, RuleResult, whole_months
from .eligibility_results import _compare, _decided, _humanise, _missing, _yes_no
from .eligibility_text import listed, message, word


def _eval_condition(p: Mapping, facts: Facts) -> RuleResult:
    name, wanted = p["name"], p["value"]
    actual = facts.item(name)
    if actual is None:
        return _missing(message("item_yes_no", name=_humanise(name)))
    return _decided(
        actual is wanted, message("answer", name=_humanise(name), answer=_yes_no(actual), wanted=_yes_no(wanted))
    )


def _answers_equal(actual: object, wanted: object) -> bool:
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    if isinstance(wanted, str) and isinstance(actual, str):
        return actual.strip().lower() == wanted.lower()
    return actual == wanted


def _eval_answer_equals(p: Mapping, facts: Facts) -> RuleResult:
    name, wanted = p["field"], p["value"]
    actual = facts.item(name)
    if actual is None or actual == "":
        return _missing(_humanise(name))
    return _decided(
        _answers_equal(actual, wanted),
        message("answer", name=_humanise(name), answer=_yes_no(actual), wanted=_yes_no(wanted)),
    )


def _eval_answer_number(p: Mapping, facts: Facts) -> RuleResult:
    name, op, value = p["field"], p["op"], p["value"]
    actual = facts.item(name)
    if actual is None or actual == "":
        return _missing(_humanise(name))
    number = actual
    if isinstance(actual, str):
        try:
            number = float(actual)
        except ValueError:
            number = None
    if not is_number(number):
        return _missing(message("item_not_number", name=_humanise(name), answer=str(actual)))
    return _decided(
        _compare(number, op, value),
        message("answer_number", name=_humanise(name), answer=number, op=op, value=value),
    )


def _eval_answer_in(p: Mapping, facts: Facts) -> RuleResult:
    name, wanted = p["field"], p["values"]
    actual = facts.item(name)
    if actual is None or actual == [] or actual == "":
        return _missing(_humanise(name))
    answers = actual if isinstance(actual, list) else [actual]
    chosen = [a for a in answers if a in wanted]
    return _decided(
        bool(chosen),
        message("answer_in", name=_humanise(name), answers=listed("list_comma", [str(a) for a in answers]),
                wanted=listed("list_comma", wanted)),
    )


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def time_between(start: date, end: date, unit: str) -> int:
    """Whole days, weeks (7 days) or months (counted like ages, ``whole_months``) from start to end."""
    if unit == "months":
        return whole_months(start, end)
    days = (end - start).days
    return days // 7 if unit == "weeks" else days


def _eval_days_since(p: Mapping, facts: Facts) -> RuleResult:
    name, unit, op, value = p["field"], p["unit"], p["op"], p["value"]
    missing = []
    start = _as_date(facts.item(name)) if facts.item(name) is not None else None
    if start is None:
        missing.append(message("item_date", name=_humanise(name)))
    if facts.screening_date is None:
        missing.append(message("screening_date"))
    if missing:
        return _missing(*missing)
    if start > facts.screening_date:
        return _missing(message("item_date_after_screening", name=_humanise(name), date=start.isoformat(),
                                screening=facts.screening_date.isoformat()))
    elapsed = time_between(start, facts.screening_date, unit)
    return _decided(
        _compare(elapsed, op, value),
        message("time_since", name=_humanise(name), start=start.isoformat(),
                screening=facts.screening_date.isoformat(), elapsed=elapsed, unit=word(unit), op=op, value=value),
    )


# How each item rule type of ``trials.rule_params.RULE_TYPES`` is evaluated.
ITEM_EVALUATORS: dict[str, Callable[[Mapping, Facts], RuleResult]] = {
    "condition": _eval_condition,
    "answer_equals": _eval_answer_equals,
    "answer_number": _eval_answer_number,
    "answer_in": _eval_answer_in,
    "days_since": _eval_days_since,
}
