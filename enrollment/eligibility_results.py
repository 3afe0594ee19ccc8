"""How an eligibility rule reports its outcome: met, not met, missing (naming what), not applicable,
with the values and arithmetic as a message of ``eligibility_text`` (``CLINICAL_RULES.md`` section 5).
Pure module; its names are private to the eligibility modules (``eligibility``, ``eligibility_items``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from trials.rule_params import OPERATORS
from trials.units import format_number

from .eligibility_facts import MET, MISSING, NOT_MET, RuleResult
from .eligibility_text import Message, english, listed, message, word

NOT_APPLICABLE = "not applicable: "


def _result(outcome: str, msg: Message, *, applicable: bool = True, missing: Sequence = ()) -> RuleResult:
    return RuleResult(outcome, english(msg), applicable, tuple(missing), msg)


def _met(msg: Message) -> RuleResult:
    return _result(MET, msg)


def _not_met(msg: Message) -> RuleResult:
    return _result(NOT_MET, msg)


def _missing(*what, explanation: Message | None = None) -> RuleResult:
    """Missing ``what`` (messages, or an item's name), with the arithmetic so far if any."""
    items = listed("list_comma", what)
    msg = (message("missing_because", items=items, explanation=explanation) if explanation
           else message("missing", items=items))
    return _result(MISSING, msg, missing=what)


def _body(result: RuleResult) -> Message:
    """The message without the "missing: ...; " lead that a combination adds."""
    if result.message["code"] == "missing_with":
        return result.message["params"]["detail"]
    return result.message


def _reason(result: RuleResult) -> Message:
    """Why a rule does not apply, without the "not applicable: " lead."""
    if result.message["code"] == "not_applicable":
        return result.message["params"]["reason"]
    return result.message


def _with_missing_lead(results: Sequence[RuleResult], body: Message) -> RuleResult:
    items = {
        json.dumps(item, sort_keys=True): item
        for r in results if r.applicable and r.outcome == MISSING for item in r.missing
    }
    return _result(MISSING, message("missing_with", items=listed("list_comma", items.values()), detail=body),
                   missing=items.values())


def _not_applicable(reason: Message) -> RuleResult:
    return _result(NOT_MET, message("not_applicable", reason=reason), applicable=False)


def _decided(ok: bool, msg: Message) -> RuleResult:
    return _result(MET if ok else NOT_MET, msg)


def _compare(a: float, op: str, b: float) -> bool:
    # Round away binary noise so that e.g. 3 x ULN 0.1 equals 0.3 at the boundary.
    return OPERATORS[op](round(a, 9), round(b, 9))


def _fmt(x: float) -> str:
    return format_number(x)


def _yes_no(value: object):
    """A yes/no answer as a word of the reader's language, any other answer as it is."""
    if isinstance(value, bool):
        return word("yes" if value else "no")
    return value if isinstance(value, int | float) else str(value)


def _humanise(name: str) -> str:
    return name.replace("_", " ")
