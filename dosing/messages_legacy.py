"""Reading the English that infusions stored before they kept messages (``dosing.messages``).

Until then an infusion kept the date its window was planned from (``anchor``) and its dose
arithmetic (``dose_explanation``) as English text, as `dosing.windows.plan_infusions` and
`dosing.dose.check_dose` worded them. :func:`anchor_message_of` and :func:`dose_message_of` read such
a text back into the message the rules now give; a text they cannot read exactly - one that would
not be worded again letter for letter (a row moved by hand) - becomes a ``text`` message holding it
unchanged, so nothing is lost; an empty text is no message (``{}``). Used by the data migration
``dosing/migrations/0008_infusion_messages``.
"""
from __future__ import annotations

import re

from trials.messages import Message, english, message, text

from .messages import dose_explanation, missed, plus_days

_DATE = r"(\d{4}-\d{2}-\d{2})"
_N = r"(\d+)"
_NUM = r"(-?\d+(?:\.\d+)?)"
_CELLS = r"(-?\d+(?:\.\d+)?) x10\^(-?\d+)"


class _Unreadable(ValueError):
    pass


def _int(value: str) -> int:
    return int(value)


def _number(value: str) -> int | float:
    return int(value) if re.fullmatch(r"-?\d+", value) else float(value)


def _cells(mantissa: str, exponent: str) -> int | float:
    value = float(f"{mantissa}e{exponent}")
    return int(value) if value.is_integer() and abs(value) < 1e18 else value


def _checked(msg: Message, stored: str) -> Message:
    """`msg` if it is worded exactly as `stored`, else `stored` kept as it was."""
    return msg if english(msg) == stored else text(stored)


# --- anchors ---------------------------------------------------------------------------------------

def _missed(value: str) -> Message:
    if match := re.fullmatch(rf"infusion {_N} missed", value):
        return missed([_int(match[1])])
    if match := re.fullmatch(r"infusions (\d+(?:, \d+)+) missed", value):
        return missed([_int(n) for n in match[1].split(", ")])
    raise _Unreadable(value)


def _day0(value: str) -> Message:
    if match := re.fullmatch(rf"day 0 \({_DATE}\)", value):
        return message("anchor_day0", date=match[1])
    if match := re.fullmatch(rf"day 0 \({_DATE}, infusion {_N} given\)", value):
        return message("anchor_day0_given", date=match[1], n=_int(match[2]))
    raise _Unreadable(value)


def _base(value: str) -> Message:  # noqa: PLR0911 - one reading per wording
    if value.startswith("day 0 (") and " (none given; " not in value:
        return _day0(value)
    if match := re.fullmatch(rf"infusion {_N} given {_DATE}", value):
        return message("anchor_given", n=_int(match[1]), date=match[2])
    if match := re.fullmatch(rf"infusion {_N} given {_DATE} \((.+)\)", value):
        return message("anchor_given_after_missed", n=_int(match[1]), date=match[2], missed=_missed(match[3]))
    if match := re.fullmatch(rf"planned day of infusion {_N} \({_DATE}, not yet given\)", value):
        return message("anchor_planned", n=_int(match[1]), date=match[2])
    if match := re.fullmatch(rf"planned day of infusion {_N} \({_DATE}, missed\)", value):
        return message("anchor_planned_missed", n=_int(match[1]), date=match[2])
    if match := re.fullmatch(rf"planned day of infusion {_N} \({_DATE}, not yet given; (.+)\)", value):
        return message("anchor_planned_after_missed", n=_int(match[1]), date=match[2], missed=_missed(match[3]))
    if match := re.fullmatch(r"(day 0 \(.+?\)) \(none given; (.+)\)", value):
        return message("anchor_none_given", day0=_day0(match[1]), missed=_missed(match[2]))
    raise _Unreadable(value)


def anchor_message_of(stored: str) -> Message:
    """The message of an anchor stored in English ("infusion 2 given 2026-03-10 + 14 days")."""
    stored = str(stored or "")
    if not stored:
        return {}
    match = re.fullmatch(r"(.+) \+ (-?\d+) days?", stored)
    try:
        if match is None:
            raise _Unreadable(stored)
        return _checked(plus_days(_base(match[1]), int(match[2])), stored)
    except _Unreadable:
        return text(stored)


# --- dose arithmetic -------------------------------------------------------------------------------

def _dose_part(value: str) -> Message:
    if match := re.fullmatch(rf"flat dose {_CELLS} cells", value):
        return message("dose_flat", dose=_cells(match[1], match[2]))
    if match := re.fullmatch(rf"{_CELLS} cells/kg x {_NUM} kg = {_CELLS} cells", value):
        return message("dose_computed", dose_per_kg=_cells(match[1], match[2]), weight=_number(match[3]),
                       computed=_cells(match[4], match[5]))
    if match := re.fullmatch(rf"given {_CELLS} cells / {_NUM} kg = {_CELLS} cells/kg", value):
        return message("dose_given", cells=_cells(match[1], match[2]), weight=_number(match[3]),
                       per_kg=_cells(match[4], match[5]))
    raise _Unreadable(value)


def dose_message_of(stored: str) -> Message:
    """The message of a dose arithmetic stored in English ("1 x10^8 cells/kg x 60 kg = 6 x10^9 cells;
    given ...")."""
    stored = str(stored or "")
    if not stored:
        return {}
    try:
        return _checked(dose_explanation(*(_dose_part(part) for part in stored.split("; "))), stored)
    except _Unreadable:
        return text(stored)
