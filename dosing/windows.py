"""Infusion window arithmetic (CLINICAL_RULES.md section 8). Pure: no ORM, no clock.

Planned days count from day 0, the day of the first infusion. An infusion anchored on the
previous infusion "as actually given" is planned, before anything is given, from the previous
infusion's nominal day; once real dates exist the plan re-anchors on them (issue: dosing).

Two views of the same rules:

* :func:`nominal_infusion_days` - the study page's table: days from day 0 when every infusion is
  given on its target day;
* :func:`plan_infusions` - one participant's plan, re-anchored on what actually happened (dates
  given, infusions missed, treatment held), with a status per infusion relative to ``today``.

Section 8: an infusion given outside its window is recorded as it happened and flagged as a
protocol deviation - never moved and never refused. Nothing here refuses a date.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from trials.infusion_days import DAY_0, PREVIOUS_ACTUAL, InfusionRule, NominalInfusion, nominal_infusion_days
from trials.messages import Message, english, message

from .messages import missed as missed_message
from .messages import plus_days

__all__ = [
    "DAY_0",
    "INFUSION_STATUSES",
    "LAST_GIVEN",
    "MISSED_RULES",
    "PLANNED_DATE",
    "PREVIOUS_ACTUAL",
    "InfusionEvent",
    "InfusionRule",
    "NominalInfusion",
    "PlannedInfusion",
    "nominal_infusion_days",
    "infusion_status",
    "plan_infusions",
]

# Arm.missed_infusion_rule (trials.enums.MissedInfusionRule).
LAST_GIVEN = "last_given"
PLANNED_DATE = "planned_date"
MISSED_RULES = (LAST_GIVEN, PLANNED_DATE)

STATUS_PLANNED = "planned"
STATUS_WINDOW_OPEN = "window_open"
STATUS_OVERDUE = "overdue"
STATUS_GIVEN = "given"
STATUS_GIVEN_OUT_OF_WINDOW = "given_out_of_window"
STATUS_MISSED = "missed"
STATUS_HELD = "held"
INFUSION_STATUSES = (
    STATUS_PLANNED,
    STATUS_WINDOW_OPEN,
    STATUS_OVERDUE,
    STATUS_GIVEN,
    STATUS_GIVEN_OUT_OF_WINDOW,
    STATUS_MISSED,
    STATUS_HELD,
)


@dataclass(frozen=True)
class InfusionEvent:
    """What happened to one infusion: given on a date, or recorded as missed (never both)."""

    number: int
    given_on: date | None = None
    missed: bool = False


@dataclass(frozen=True)
class PlannedInfusion:
    """One infusion of a participant's plan (CLINICAL_RULES.md section 8).

    ``status`` is one of :data:`INFUSION_STATUSES`: ``planned`` (today is before the window),
    ``window_open``, ``overdue`` (window over, not given), ``given``, ``given_out_of_window``,
    ``missed`` or ``held``. ``deviation`` is True exactly when the infusion was given outside
    ``[window_start, window_end]`` (a missed infusion has its own status, not this flag).
    ``anchor_message`` says which date the target was computed from (a message of
    `dosing.messages`; ``anchor`` is its English).
    """

    number: int
    target: date
    window_start: date
    window_end: date
    status: str
    given_on: date | None
    deviation: bool
    anchor_message: Message

    @property
    def anchor(self) -> str:
        return english(self.anchor_message)


def _events_by_number(
    events: Mapping[int, InfusionEvent] | Sequence[InfusionEvent], numbers: set[int]
) -> dict[int, InfusionEvent]:
    if isinstance(events, Mapping):
        by_number = {}
        for key, event in events.items():
            if key != event.number:
                raise ValueError(f"Event for infusion {event.number} is filed under infusion {key}.")
            by_number[key] = event
    else:
        by_number = {}
        for event in events:
            if event.number in by_number:
                raise ValueError(f"Infusion {event.number} has more than one event.")
            by_number[event.number] = event
    for event in by_number.values():
        if event.number not in numbers:
            raise ValueError(f"Infusion {event.number} is not in the infusion schedule.")
        if event.missed and event.given_on is not None:
            raise ValueError(f"Infusion {event.number} cannot be both given and missed.")
    return by_number


def plan_infusions(
    rules: Sequence[InfusionRule],
    *,
    day0: date,
    events: Mapping[int, InfusionEvent] | Sequence[InfusionEvent],
    today: date,
    missed_rule: str = LAST_GIVEN,
    held: bool = False,
) -> list[PlannedInfusion]:
    """The infusion plan of one participant, re-anchored on what actually happened.

    CLINICAL_RULES.md section 8 (P3: #2 = actual #1 + 7 d +/- 1, #3-#5 = actual previous + 14 d
    +/- 3; P2: weekly x 4 from day 0 +/- 1). Returns one row per rule, in infusion-number order.

    * Day 0 is the first infusion's actual date once it is given (less its offset, 0 in every
      protocol), else the planned ``day0`` passed in. A missed first infusion leaves day 0 planned.
    * ``day0``-anchored infusion: target = day 0 + offset (a late infusion moves nothing else).
    * ``previous_actual``-anchored infusion, by the state of the previous infusion:
      given -> its given date + offset; not yet given -> its target + offset (provisional: it
      moves when the previous one is given); missed -> with ``missed_rule="last_given"`` the last
      infusion actually given before this one + offset (day 0 + offset when none was given), with
      ``"planned_date"`` the missed infusion's target + offset.
    * Window = [target - window_before_days, target + window_after_days], both ends inclusive.
    * Given inside the window -> ``given``; outside -> ``given_out_of_window`` with
      ``deviation=True``: the date is kept as it happened, never moved, never refused.
    * ``held=True`` (participant withdrawn or treatment stopped): every infusion neither given nor
      missed is ``held``; targets are still computed so the page can show what was planned.
    * Otherwise the status follows ``today``: before the window ``planned``, inside it
      ``window_open``, after it ``overdue``.

    Raises ValueError for a schedule :func:`nominal_infusion_days` refuses, an unknown
    ``missed_rule``, an event for an infusion not in ``rules``, two events for one infusion, or an
    event both given and missed.
    """
    if missed_rule not in MISSED_RULES:
        raise ValueError(f"Unknown missed-infusion rule {missed_rule!r}; expected one of {MISSED_RULES}.")
    nominal_infusion_days(rules)  # validates: numbers unique, first infusion on day 0, known anchors
    ordered = sorted(rules, key=lambda rule: rule.number)
    by_number = _events_by_number(events, {rule.number for rule in ordered})

    first_rule = ordered[0] if ordered else None
    first_event = by_number.get(first_rule.number) if first_rule else None
    if first_event is not None and first_event.given_on is not None:
        effective_day0 = first_event.given_on - timedelta(days=first_rule.offset_days)
        day0_said = message("anchor_day0_given", date=effective_day0.isoformat(), n=first_rule.number)
    else:
        effective_day0 = day0
        day0_said = message("anchor_day0", date=effective_day0.isoformat())

    planned: list[PlannedInfusion] = []
    for rule in ordered:
        if rule.anchor == DAY_0:
            anchor_date, anchor_said = effective_day0, day0_said
        else:
            anchor_date, anchor_said = _previous_anchor(planned, by_number, missed_rule, effective_day0, day0_said)
        target = anchor_date + timedelta(days=rule.offset_days)
        window_start = target - timedelta(days=rule.window_before_days)
        window_end = target + timedelta(days=rule.window_after_days)
        event = by_number.get(rule.number)
        given_on = event.given_on if event is not None else None
        deviation = given_on is not None and not (window_start <= given_on <= window_end)
        status = infusion_status(window_start=window_start, window_end=window_end, given_on=given_on,
                                 missed=event is not None and event.missed, today=today, held=held)
        planned.append(
            PlannedInfusion(
                number=rule.number,
                target=target,
                window_start=window_start,
                window_end=window_end,
                status=status,
                given_on=given_on,
                deviation=deviation,
                anchor_message=plus_days(anchor_said, rule.offset_days),
            )
        )
    return planned


def infusion_status(*, window_start: date, window_end: date, given_on: date | None, missed: bool, today: date,
                    held: bool = False) -> str:
    """The status of one infusion of the plan in force (see :func:`plan_infusions`)."""
    if given_on is not None:
        return STATUS_GIVEN if window_start <= given_on <= window_end else STATUS_GIVEN_OUT_OF_WINDOW
    if missed:
        return STATUS_MISSED
    if held:
        return STATUS_HELD
    if today < window_start:
        return STATUS_PLANNED
    if today <= window_end:
        return STATUS_WINDOW_OPEN
    return STATUS_OVERDUE


def _previous_anchor(
    planned: list[PlannedInfusion],
    by_number: Mapping[int, InfusionEvent],
    missed_rule: str,
    day0: date,
    day0_said: Message,
) -> tuple[date, Message]:
    """Date (and its explanation) a ``previous_actual`` infusion counts its offset from."""
    previous = planned[-1]
    if previous.given_on is not None:
        return previous.given_on, message("anchor_given", n=previous.number, date=previous.given_on.isoformat())
    previous_event = by_number.get(previous.number)
    if previous_event is None or not previous_event.missed:
        return previous.target, message("anchor_planned", n=previous.number, date=previous.target.isoformat())
    if missed_rule == PLANNED_DATE:
        return previous.target, message("anchor_planned_missed", n=previous.number, date=previous.target.isoformat())
    # last_given: walk back over the missed infusions to the last one that was given. An earlier
    # infusion still pending (data recorded out of order) anchors provisionally on its target.
    missed = []
    for earlier in reversed(planned):
        if earlier.given_on is not None:
            return earlier.given_on, message("anchor_given_after_missed", n=earlier.number,
                                             date=earlier.given_on.isoformat(), missed=missed_message(missed))
        earlier_event = by_number.get(earlier.number)
        if earlier_event is None or not earlier_event.missed:
            return earlier.target, message("anchor_planned_after_missed", n=earlier.number,
                                           date=earlier.target.isoformat(), missed=missed_message(missed))
        missed.insert(0, earlier.number)
    return day0, message("anchor_none_given", day0=day0_said, missed=missed_message(missed))
