"""Reading the English that adverse events stored before they kept their grading suggestion as a
message (``followup.grading_messages``).

Until then a lab-derived adverse event kept its CTCAE grading suggestion (``suggestion``) as English
text, as `followup.grading.suggest_adverse_event` worded it. :func:`suggestion_message_of` reads the
values the text names (analyte, value, LLN or ULN, baseline, fever duration) and grades them again; a
text that is not worded again letter for letter (another table version, a row moved by hand) becomes
a ``text`` message holding it unchanged, so nothing is lost; an empty text is no message (``{}``).
Used by the data migration ``followup/migrations/0033_adverseevent_suggestion_messages``.
"""
from __future__ import annotations

import re

from trials.messages import Message, english, text

from .grading import CTCAE_V5, suggest_adverse_event

_NUM = r"(-?\d+(?:\.\d+)?)"


def _number(pattern: str, stored: str) -> float | None:
    match = re.search(pattern, stored)
    return float(match[1]) if match else None


def _values(stored: str) -> dict:
    """The grading's inputs as the text names them."""
    analyte = stored.split(" ", 1)[0]
    rule = CTCAE_V5.terms.get(analyte)
    if rule is None:
        raise ValueError(analyte)
    unit = re.escape(rule.unit)
    match = re.match(rf"{re.escape(analyte)} {_NUM} ", stored)
    if match is None:
        raise ValueError(stored)
    baselines = (_number(rf"baseline {_NUM} (?:>|<=) ULN", stored),  # liver
                 _number(rf"\(baseline {_NUM}\)", stored),  # creatinine
                 _number(rf"Worse than baseline grade \d+ \({re.escape(analyte)} {_NUM} {unit}\)\.$", stored))
    baseline = next((b for b in baselines if b is not None), None)
    return {
        "analyte": analyte, "value": float(match[1]),
        "lln": _number(rf"LLN \({_NUM} {unit}\)", stored),
        "uln": next((u for u in (_number(rf"ULN \({_NUM} {unit}\)", stored),
                                 _number(rf"ULN {_NUM}, so multiples", stored)) if u is not None), None),
        "baseline_value": baseline,
        "duration_hours": _number(rf"lasting {_NUM} h", stored),
    }


def suggestion_message_of(stored: str) -> Message:
    """The message of a grading suggestion stored in English ("PLT 40 x10^9/L -> Platelet count
    decreased grade 3 (CTCAE v5.0): ... Worse than baseline grade 2 (PLT 60 x10^9/L).")."""
    stored = str(stored or "")
    if not stored:
        return {}
    try:
        values = _values(stored)
        found = suggest_adverse_event(values.pop("analyte"), values.pop("value"), **values)
    except (ValueError, ArithmeticError):
        return text(stored)
    return found.message if found is not None and english(found.message) == stored else text(stored)
