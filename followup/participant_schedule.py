"""A participant's infusions and visits with their statuses as of now (CLINICAL_RULES.md section 8):
the participant page, the participant API (`trials.hooks.participant_schedule`) and the worklist read
the same statuses."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from dosing.windows import infusion_status
from trials.content import content
from trials.messages import render

from .schedule import PlannedVisit, visit_status


@dataclass(frozen=True)
class ScheduledInfusion:
    number: int
    target_date: object
    window_start: object
    window_end: object
    status: str
    given_at: object
    deviation: bool
    anchor_message: dict  # which date the target counts from (`dosing.messages`)
    # The dose given (CLINICAL_RULES.md section 4): total cells, weight on the day, the computed
    # dose, and whether it is a dose deviation (more than 10 % off the computed dose).
    cells_infused: float | None = None
    weight_kg: float | None = None
    computed_dose: float | None = None
    dose_deviation: bool = False
    pk: int | None = None  # the infusion's row (its audit trail)
    dose_message: dict = field(default_factory=dict)  # the dose arithmetic (`dosing.dose.check_dose`)

    @property
    def anchor(self) -> str:
        """Which date the target counts from, in the active language."""
        return render(self.anchor_message)

    @property
    def dose_arithmetic(self) -> str:
        """The dose arithmetic of an infusion given, in the active language ("" otherwise)."""
        return render(self.dose_message)

    @property
    def cells_per_kg(self) -> float | None:
        if self.cells_infused is None or not self.weight_kg:
            return None
        return self.cells_infused / self.weight_kg


@dataclass(frozen=True)
class ScheduledVisit:
    code: str
    label: str
    target_date: object
    target_at: object
    window_start: object
    window_end: object
    status: str
    provisional: bool
    timed: bool
    pk: int | None = None  # the visit's row (its audit trail)

    @property
    def window_start_date(self):
        return timezone.localtime(self.window_start).date()

    @property
    def window_end_date(self):
        return timezone.localtime(self.window_end).date()


# A planned infusion or visit whose window has opened or passed but which waits for an earlier
# infusion not given yet (the worklist, `followup.worklist`, leaves these out for the same reason).
WAITING = "waiting"
DUE_STATUSES = ("window_open", "overdue")


def scheduled_infusion_status(row, *, today, held: bool, pending: bool, zone=None) -> str:
    """The status of one infusion `row` (its `state`, `started_at` and window dates: a model or a row
    of plain values) as of `today`; `pending`: an earlier infusion is neither given nor missed."""
    given_on = timezone.localtime(row.started_at, zone).date() if row.state == "given" else None
    status = infusion_status(window_start=row.window_start, window_end=row.window_end, given_on=given_on,
                             missed=row.state == "missed", today=today, held=held)
    return WAITING if pending and status in DUE_STATUSES else status


def scheduled_visit_status(row, planned: PlannedVisit, *, now, held: bool, waits: bool) -> str:
    """The status of one visit `row` (its `state` and `done_at`: a model or a row of plain values),
    dated by `planned`, as of `now`; `waits`: `Visit.waits_for_infusion`."""
    status = visit_status(planned, done_at=row.done_at, missed=row.state == "missed", now=now).status
    if held and status in ("upcoming", "window_open", "overdue"):
        return "cancelled"  # withdrawal stops future visits
    return WAITING if waits and status in DUE_STATUSES else status


def participant_schedule(participant, *, now, infusion_rows=None, visit_rows=None) -> dict:
    """The participant's infusions and visits with their statuses as of `now` (no query when
    `infusions` and `visits__definition` are prefetched, or given as lists: `infusion_rows`,
    `visit_rows` with their definitions). A withdrawn participant's infusions not given are "held" and visits not
    done "cancelled"; what was recorded stays."""
    today = timezone.localdate(now)
    held = participant.status == "withdrawn"
    infusions = []
    pending = False  # an earlier infusion neither given nor missed: the later ones wait for it
    for row in sorted(participant.infusions.all() if infusion_rows is None else infusion_rows, key=lambda r: r.number):
        status = scheduled_infusion_status(row, today=today, held=held, pending=pending)
        pending = pending or row.state == "planned"
        infusions.append(ScheduledInfusion(
            number=row.number, target_date=row.target_date, window_start=row.window_start, window_end=row.window_end,
            status=status, given_at=row.started_at if row.state == "given" else None, deviation=row.deviation,
            anchor_message=row.anchor_message, cells_infused=row.cells_infused if row.state == "given" else None,
            weight_kg=row.weight_kg if row.state == "given" else None, computed_dose=row.computed_dose,
            dose_deviation=row.dose_deviation, pk=row.pk, dose_message=row.dose_message if row.state == "given" else {},
        ))
    visits = []
    rows = participant.visits.all() if visit_rows is None else visit_rows
    for row in sorted(rows, key=lambda r: (r.target_at, r.pk)):
        planned = PlannedVisit(code=row.code, label=content(row.definition, "label"), target=row.target_at,
                               window_start=row.window_start, window_end=row.window_end,
                               provisional=row.provisional, timed=row.timed)
        status = scheduled_visit_status(row, planned, now=now, held=held, waits=row.waits_for_infusion)
        visits.append(ScheduledVisit(
            code=row.code, label=planned.label, target_date=timezone.localtime(row.target_at).date(),
            target_at=row.target_at, window_start=row.window_start, window_end=row.window_end, status=status,
            provisional=row.provisional, timed=row.timed, pk=row.pk,
        ))
    return {"infusions": infusions, "visits": visits}
