"""A study's response period against its visit windows (CLINICAL_RULES.md section 2, "P1 primary
endpoint"; section 8, visit windows).

The response period (`Study.response_from_day` / `response_until_day`, days after the first
infusion) says which assessments count for the best response. A protocol states it by visits -
P1: "from 0.5 to 24 months after the infusion, windows included (from the opening of the M0.5
visit window to the closing of the M24 window)" - so a period that cuts a visit window in two
would make a count taken inside that visit's own window not evaluable. The rule here: a visit
window the period reaches must lie wholly inside it. A visit whose window the period does not
reach at all (the baseline visit before the infusion) is outside the period and that is fine.

Only visits anchored on the first infusion are compared: the period counts days from the first
infusion, and the days of visits anchored on enrolment or on the last infusion are known per
participant only. Offsets and windows in hours or minutes are turned into the days they touch
(the opening rounded down, the closing rounded up). Pure: no database.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

MINUTES_PER_UNIT = {"days": 24 * 60, "hours": 60, "minutes": 1}


@dataclass(frozen=True)
class VisitWindow:
    code: str
    anchor: str
    offset: int
    offset_unit: str = "days"
    window_before: int = 0
    window_after: int = 0
    window_unit: str = "days"

    @classmethod
    def of(cls, visit) -> VisitWindow:
        """From a `VisitDefinition` or a study file's visit row (a dict)."""
        get = visit.get if isinstance(visit, dict) else lambda name, default=None: getattr(visit, name, default)
        return cls(code=str(get("code")), anchor=get("anchor"), offset=get("offset"),
                   offset_unit=get("offset_unit", "days") or "days", window_before=get("window_before", 0) or 0,
                   window_after=get("window_after", 0) or 0, window_unit=get("window_unit", "days") or "days")

    def days(self) -> tuple[int, int] | None:
        """(opening day, closing day) after the first infusion; None when not anchored on it or
        not computable (a unit or number the visit's own validation refuses)."""
        if self.anchor != "first_infusion":
            return None
        try:
            target = self.offset * MINUTES_PER_UNIT[self.offset_unit]
            opens = target - self.window_before * MINUTES_PER_UNIT[self.window_unit]
            closes = target + self.window_after * MINUTES_PER_UNIT[self.window_unit]
        except (KeyError, TypeError):
            return None
        return math.floor(opens / MINUTES_PER_UNIT["days"]), math.ceil(closes / MINUTES_PER_UNIT["days"])


def _period_text(from_day: int | None, until_day: int | None) -> str:
    if from_day is None:
        return _("until day %(until)s") % {"until": until_day}
    if until_day is None:
        return _("from day %(from)s") % {"from": from_day}
    return _("days %(from)s to %(until)s") % {"from": from_day, "until": until_day}


def window_cut(window: VisitWindow, from_day: int | None, until_day: int | None) -> str | None:
    """Why the response period cuts this visit's window, or None when it does not."""
    days = window.days()
    if days is None or (from_day is None and until_day is None):
        return None
    opens, closes = days
    low = -math.inf if from_day is None else from_day
    high = math.inf if until_day is None else until_day
    if closes < low or opens > high or (low <= opens and closes <= high):
        return None  # wholly outside, or wholly inside
    fixes = []
    if low > opens:
        fixes.append(_("start it on day %(day)s or earlier (the opening of the window), or after day %(closes)s")
                     % {"day": opens, "closes": closes})
    if high < closes:
        fixes.append(_("end it on day %(day)s or later (the closing of the window), or before day %(opens)s")
                     % {"day": closes, "opens": opens})
    return _("The response period (%(period)s after the first infusion) cuts the window of visit %(visit)s "
             "(days %(opens)s to %(closes)s): a count inside the visit's window would not be evaluable. "
             "The period must take in the whole window: %(fix)s.") % {
        "period": _period_text(from_day, until_day), "visit": window.code, "opens": opens, "closes": closes,
        "fix": _("; ").join(fixes)}


def period_cuts(visits, from_day: int | None, until_day: int | None) -> dict[str, str]:
    """Visit code -> message, for every visit window the response period cuts (empty: it covers
    the windows of the visits it spans). `visits`: `VisitDefinition`s or study file rows."""
    cuts = {}
    for visit in visits:
        window = visit if isinstance(visit, VisitWindow) else VisitWindow.of(visit)
        message = window_cut(window, from_day, until_day)
        if message:
            cuts[window.code] = message
    return cuts


TIME_POINT_NAMES = ("early", "initial", "durable", "remission")
TIME_POINT_ANCHORS = ("first_infusion", "last_infusion")


def time_point_errors(points) -> list[str]:
    """What is wrong with a study's `response_time_points` (empty when it is valid)."""
    if not isinstance(points, dict):
        return [str(_("Time points must be a set of named time points."))]
    errors = []
    for name, point in points.items():
        if name not in TIME_POINT_NAMES:
            errors.append(str(_("%(name)s: not a time point (one of %(names)s).")
                              % {"name": name, "names": ", ".join(TIME_POINT_NAMES)}))
        elif not isinstance(point, dict) or point.get("anchor") not in TIME_POINT_ANCHORS:
            errors.append(str(_("%(name)s: anchor must be one of %(anchors)s.")
                              % {"name": name, "anchors": ", ".join(TIME_POINT_ANCHORS)}))
        elif not isinstance(point.get("days"), int) or isinstance(point.get("days"), bool) or point["days"] < 0:
            errors.append(str(_("%(name)s: days must be a whole number of days, 0 or more.") % {"name": name}))
    return errors
