"""Visit schedule of one participant (CLINICAL_RULES.md section 8). Pure: no ORM, no clock.

A visit (or timed sample) is configured as an offset from an anchor - enrolment, the first
infusion or the last infusion - with a window before and after it (``trials.VisitDefinition``).
This module turns those rules into dated visits for one participant and classifies a visit
relative to ``now``:

* :func:`visits_for` keeps the visits the participant is due (female-only / male-only samples,
  "first N participants" samples);
* :func:`plan_visits` computes target and window of each visit from the participant's
  :class:`Anchors`;
* :func:`visit_status` says whether a visit is upcoming, open, overdue, done (inside or outside
  its window) or missed.

Day-based visits (offset and window in days) are calendar days in the site's time zone: the
target is 00:00 local on the anchor's local date + offset, the window runs from 00:00 of the first
allowed day to the end (23:59:59.999999) of the last allowed day. Timed visits (offset or window
in hours or minutes, e.g. P2's cell-concentration samples at -30 min ... +96 h from the start of
the first infusion) are exact instants: elapsed time from the anchor, so a daylight-saving change
neither stretches nor shrinks "96 h". Every datetime returned is aware, in ``tz``.

Section 8: a visit done outside its window is recorded as it happened and flagged as a protocol
deviation - never moved and never refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

__all__ = [
    "ANCHORS",
    "Anchors",
    "ENROLMENT",
    "FIRST_INFUSION",
    "LAST_INFUSION",
    "PlannedVisit",
    "SEX_RESTRICTIONS",
    "TIME_UNITS",
    "VISIT_STATUSES",
    "VisitRule",
    "VisitStatus",
    "plan_visits",
    "visit_status",
    "visits_for",
]

# trials.enums.VisitAnchor
ENROLMENT = "enrolment"
FIRST_INFUSION = "first_infusion"
LAST_INFUSION = "last_infusion"
ANCHORS = (ENROLMENT, FIRST_INFUSION, LAST_INFUSION)

# trials.enums.TimeUnit
DAYS = "days"
HOURS = "hours"
MINUTES = "minutes"
TIME_UNITS = (DAYS, HOURS, MINUTES)
_UNIT_DELTA = {DAYS: timedelta(days=1), HOURS: timedelta(hours=1), MINUTES: timedelta(minutes=1)}

# trials.enums.SexRestriction
ANY = "any"
FEMALE = "female"
MALE = "male"
SEX_RESTRICTIONS = (ANY, FEMALE, MALE)

STATUS_UPCOMING = "upcoming"
STATUS_WINDOW_OPEN = "window_open"
STATUS_OVERDUE = "overdue"
STATUS_DONE = "done"
STATUS_DONE_OUT_OF_WINDOW = "done_out_of_window"
STATUS_MISSED = "missed"
VISIT_STATUSES = (
    STATUS_UPCOMING,
    STATUS_WINDOW_OPEN,
    STATUS_OVERDUE,
    STATUS_DONE,
    STATUS_DONE_OUT_OF_WINDOW,
    STATUS_MISSED,
)


@dataclass(frozen=True)
class VisitRule:
    """One visit definition (``trials.VisitDefinition``), CLINICAL_RULES.md section 8.

    Target = anchor + ``offset`` ``offset_unit`` (negative: before the anchor); window =
    [target - ``window_before``, target + ``window_after``] in ``window_unit``.
    ``sex_restriction`` and ``first_n_participants`` limit who is due the visit (:func:`visits_for`).
    Raises ValueError on an unknown anchor, unit or restriction, a negative window or N < 1.
    """

    code: str
    label: str
    anchor: str
    offset: int
    offset_unit: str = DAYS
    window_before: int = 0
    window_after: int = 0
    window_unit: str = DAYS
    sex_restriction: str = ANY
    first_n_participants: int | None = None
    order: int = 0

    def __post_init__(self):
        if self.anchor not in ANCHORS:
            raise ValueError(f"Visit {self.code}: unknown anchor {self.anchor!r}; expected one of {ANCHORS}.")
        for field in ("offset_unit", "window_unit"):
            if getattr(self, field) not in TIME_UNITS:
                raise ValueError(
                    f"Visit {self.code}: unknown {field} {getattr(self, field)!r}; expected one of {TIME_UNITS}."
                )
        if self.window_before < 0 or self.window_after < 0:
            raise ValueError(f"Visit {self.code}: window_before and window_after cannot be negative.")
        if self.sex_restriction not in SEX_RESTRICTIONS:
            raise ValueError(
                f"Visit {self.code}: unknown sex restriction {self.sex_restriction!r}; "
                f"expected one of {SEX_RESTRICTIONS}."
            )
        if self.first_n_participants is not None and self.first_n_participants < 1:
            raise ValueError(f"Visit {self.code}: first_n_participants must be at least 1.")

    @property
    def timed(self) -> bool:
        """True when the offset or the window is in hours or minutes (an exact instant, not a day)."""
        return self.offset_unit != DAYS or self.window_unit != DAYS


@dataclass(frozen=True)
class Anchors:
    """The dates a participant's visits hang from.

    ``first_infusion`` / ``last_infusion`` are the actual start datetimes (aware), ``None`` until
    given; the ``*_planned`` ones are used meanwhile and make the visit provisional. The caller
    decides what "last infusion" means for a participant whose treatment stopped early (normally
    the last infusion actually given, once no further infusion is planned).
    """

    enrolment: date
    first_infusion: datetime | None
    last_infusion: datetime | None
    first_infusion_planned: datetime | None = None
    last_infusion_planned: datetime | None = None


@dataclass(frozen=True)
class PlannedVisit:
    """A dated visit. ``provisional``: anchored on a planned, not an actual, infusion.
    ``timed``: offset or window in hours/minutes, so show times, not just dates."""

    code: str
    label: str
    target: datetime
    window_start: datetime
    window_end: datetime
    provisional: bool
    timed: bool


@dataclass(frozen=True)
class VisitStatus:
    """``status`` is one of :data:`VISIT_STATUSES`; ``deviation`` is True exactly when the visit
    was done outside its window (CLINICAL_RULES.md section 8)."""

    status: str
    deviation: bool


def visits_for(rules: Sequence[VisitRule], *, sex: str | None, participant_sequence: int) -> list[VisitRule]:
    """The rules that apply to one participant, in the given order (CLINICAL_RULES.md section 8).

    A ``female`` (``male``) restricted visit applies only when ``sex`` is ``"female"``
    (``"male"``); with ``sex=None`` (not recorded) restricted visits are left out - sex is recorded
    at screening, before any visit is planned. A ``first_n_participants = N`` visit applies when
    ``participant_sequence <= N``; ``participant_sequence`` is the participant's 1-based order of
    enrolment in the study (P2: anti-hUC-MSC antibodies in the first 9 participants).
    """
    if participant_sequence < 1:
        raise ValueError("participant_sequence starts at 1.")
    if sex is not None and sex not in (FEMALE, MALE):
        raise ValueError(f"Unknown sex {sex!r}; expected 'female', 'male' or None.")
    return [
        rule
        for rule in rules
        if (rule.sex_restriction == ANY or rule.sex_restriction == sex)
        and (rule.first_n_participants is None or participant_sequence <= rule.first_n_participants)
    ]


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime.")
    return value


def _resolve_anchor(rule: VisitRule, anchors: Anchors, tz: tzinfo) -> tuple[datetime, bool] | None:
    """(anchor instant, provisional) or None when the anchor is not known at all."""
    if rule.anchor == ENROLMENT:
        # Only the date of enrolment is recorded: a timed visit counts from 00:00 local on it.
        return datetime.combine(anchors.enrolment, time(0), tzinfo=tz), False
    if rule.anchor == FIRST_INFUSION:
        actual, planned, name = anchors.first_infusion, anchors.first_infusion_planned, "first_infusion"
    else:
        actual, planned, name = anchors.last_infusion, anchors.last_infusion_planned, "last_infusion"
    if actual is not None:
        return _aware(actual, name), False
    if planned is not None:
        return _aware(planned, f"{name}_planned"), True
    return None


def _plan_one(rule: VisitRule, anchor: datetime, provisional: bool, tz: tzinfo) -> PlannedVisit:
    if rule.timed:
        start = anchor.astimezone(timezone.utc)
        target = start + rule.offset * _UNIT_DELTA[rule.offset_unit]
        window_start = target - rule.window_before * _UNIT_DELTA[rule.window_unit]
        window_end = target + rule.window_after * _UNIT_DELTA[rule.window_unit]
        target, window_start, window_end = (moment.astimezone(tz) for moment in (target, window_start, window_end))
    else:
        target_day = anchor.astimezone(tz).date() + timedelta(days=rule.offset)
        target = datetime.combine(target_day, time(0), tzinfo=tz)
        window_start = datetime.combine(target_day - timedelta(days=rule.window_before), time(0), tzinfo=tz)
        window_end = datetime.combine(target_day + timedelta(days=rule.window_after), time.max, tzinfo=tz)
    return PlannedVisit(
        code=rule.code,
        label=rule.label,
        target=target,
        window_start=window_start,
        window_end=window_end,
        provisional=provisional,
        timed=rule.timed,
    )


def plan_visits(rules: Sequence[VisitRule], anchors: Anchors, *, tz: tzinfo) -> list[PlannedVisit]:
    """Target and window of each visit for one participant, sorted by target (CLINICAL_RULES.md section 8).

    Pass the rules :func:`visits_for` kept. Anchors: ``enrolment`` is a date; an infusion anchor
    is the actual start datetime when given, else the planned one and the visit is
    ``provisional`` (it moves when the infusion is given - P3's follow-up D14-M12 hangs from the
    last actual infusion). A visit whose anchor is not known at all (no actual and no planned
    infusion, e.g. before infusions are planned) is **left out** of the result; it appears once
    the anchor exists.

    Day-based visits: 00:00 local on (anchor's local date + offset); window from 00:00 of the
    first allowed day to the end of the last allowed day. Timed visits (hours/minutes): the exact
    instant anchor + offset, window +/- the exact duration. All datetimes are aware, in ``tz``.
    Ties on the target keep the rules' ``order``, then code.
    Raises ValueError when an infusion anchor is a naive datetime.
    """
    planned = []
    for rule in rules:
        resolved = _resolve_anchor(rule, anchors, tz)
        if resolved is None:
            continue
        anchor, provisional = resolved
        planned.append((rule.order, rule.code, _plan_one(rule, anchor, provisional, tz)))
    planned.sort(key=lambda row: (row[2].target, row[0], row[1]))
    return [visit for _, _, visit in planned]


def visit_status(planned: PlannedVisit, *, done_at: datetime | None, missed: bool, now: datetime) -> VisitStatus:
    """Where one visit stands at ``now`` (CLINICAL_RULES.md section 8); window ends inclusive.

    Done inside [window_start, window_end] -> ``done``; done outside -> ``done_out_of_window``
    with ``deviation=True`` (recorded as it happened, never refused). Recorded as missed ->
    ``missed`` (its own status; ``deviation`` stays False). Otherwise, relative to ``now``:
    before the window ``upcoming``, inside it ``window_open``, after it ``overdue``.
    Raises ValueError when a visit is both done and missed.
    """
    if done_at is not None:
        if missed:
            raise ValueError(f"Visit {planned.code} cannot be both done and missed.")
        inside = planned.window_start <= done_at <= planned.window_end
        return VisitStatus(STATUS_DONE if inside else STATUS_DONE_OUT_OF_WINDOW, deviation=not inside)
    if missed:
        return VisitStatus(STATUS_MISSED, deviation=False)
    if now < planned.window_start:
        return VisitStatus(STATUS_UPCOMING, deviation=False)
    if now <= planned.window_end:
        return VisitStatus(STATUS_WINDOW_OPEN, deviation=False)
    return VisitStatus(STATUS_OVERDUE, deviation=False)
