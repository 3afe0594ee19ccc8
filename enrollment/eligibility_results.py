"""How an eligibility rule reports its outcome: met, not met, missing (naming what), not applicable,
with the values and arithmetic in words (``CLINICAL_RULES.md`` section 5). Pure module; its names
are private to the eligibility modules (``eligibility``, ``eligibility_items``)."""

from __future__ import annotations

from collections.abc import Sequence

from trials.rule_params import OPERATORS
from trials.units import format_number

from .eligibility_facts import MET, MISSING, NOT_MET, RuleResult

NOT_APPLICABLE = "not applicable: "


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
