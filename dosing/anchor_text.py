"""An infusion's "planned from" explanation in the reader's language.

`dosing.windows.plan_infusions` words the anchor of each infusion ("planned day of infusion 2
(2026-03-09, not yet given) + 14 days") and the infusion row stores it as written, in English, the
API's language. :func:`anchor_shown` translates that closed set of sentences when it is displayed;
a text it does not recognise (a row moved by hand) is shown as stored.
"""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

_DATE = r"(\d{4}-\d{2}-\d{2})"
_TOTAL = re.compile(r"(.+) \+ (-?\d+) days?")
_MISSED_ONE = re.compile(r"infusion (\d+) missed")
_MISSED_MANY = re.compile(r"infusions ([\d, ]+) missed")


def _missed(text: str) -> str | None:
    if match := _MISSED_ONE.fullmatch(text):
        return _("infusion %(n)s missed") % {"n": match[1]}
    if match := _MISSED_MANY.fullmatch(text):
        return _("infusions %(numbers)s missed") % {"numbers": match[1]}
    return None


def _day0(text: str) -> str | None:
    if match := re.fullmatch(rf"day 0 \({_DATE}\)", text):
        return _("day 0 (%(date)s)") % {"date": match[1]}
    if match := re.fullmatch(rf"day 0 \({_DATE}, infusion (\d+) given\)", text):
        return _("day 0 (%(date)s, infusion %(n)s given)") % {"date": match[1], "n": match[2]}
    return None


def _base(text: str) -> str | None:
    if (day0 := _day0(text)) is not None:
        return day0
    if match := re.fullmatch(rf"infusion (\d+) given {_DATE}", text):
        return _("infusion %(n)s given %(date)s") % {"n": match[1], "date": match[2]}
    if (match := re.fullmatch(rf"infusion (\d+) given {_DATE} \((.+)\)", text)) and (missed := _missed(match[3])):
        return _("infusion %(n)s given %(date)s (%(missed)s)") % {"n": match[1], "date": match[2], "missed": missed}
    if match := re.fullmatch(rf"planned day of infusion (\d+) \({_DATE}, not yet given\)", text):
        return _("planned day of infusion %(n)s (%(date)s, not yet given)") % {"n": match[1], "date": match[2]}
    if match := re.fullmatch(rf"planned day of infusion (\d+) \({_DATE}, missed\)", text):
        return _("planned day of infusion %(n)s (%(date)s, missed)") % {"n": match[1], "date": match[2]}
    if ((match := re.fullmatch(rf"planned day of infusion (\d+) \({_DATE}, not yet given; (.+)\)", text))
            and (missed := _missed(match[3]))):
        return _("planned day of infusion %(n)s (%(date)s, not yet given; %(missed)s)") % {
            "n": match[1], "date": match[2], "missed": missed}
    if ((match := re.fullmatch(r"(day 0 \(.+?\)) \(none given; (.+)\)", text))
            and (day0 := _day0(match[1])) and (missed := _missed(match[2]))):
        return _("%(day0)s (none given; %(missed)s)") % {"day0": day0, "missed": missed}
    return None


def anchor_shown(text: str) -> str:
    """`text`, an anchor as `plan_infusions` words it, in the active language; else as stored."""
    text = str(text or "")
    match = _TOTAL.fullmatch(text)
    base = _base(match[1]) if match else None
    if base is None:
        return text
    days = int(match[2])
    return ngettext("%(anchor)s + %(days)d day", "%(anchor)s + %(days)d days", abs(days)) % {
        "anchor": base, "days": days}
