"""Reads of dose escalation: the 3+3 counts of each dose level, from the database (CLINICAL_RULES.md
section 4).

`escalation_state` turns participants, their infusions and their adverse events into the
`dosing.escalation.LevelState` counts, following the counting contract of that module's docstring,
and asks `dosing.escalation.propose` for the proposal. Everything is read in a fixed number of
queries whatever the number of participants; the per-participant arithmetic is in
`participant_escalation`, which reads nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Participant
from trials import hooks
from trials.messages import Message, message, render
from trials.models import DoseLevel, Study

from . import escalation
from .dose import cells_text
from .models import EscalationDecision, Infusion, InfusionState

# 3+3 (section 4): three per level, six when a level is expanded. P2 expands the chosen dose to six.
COHORT_SIZE = 3
EXPANSION_SIZE = 6

# An adverse event as follow-up records it (`followup.models.AdverseEvent`), read through the
# participant's `adverse_events` (`trials.hooks.escalation_events`): this app reads its grade,
# category, attribution, status and flags, and never imports follow-up.
AdverseEvent = object


# --------------------------------------------------------------------------- one participant


@dataclass(frozen=True)
class InfusionSummary:
    """What the DLT window and the 3+3 counts read of a participant's infusions: how many are planned
    in all, given and still planned, the start of the first given one and the target date of the
    last one by number (the last *planned* infusion of section 4). Built from the rows
    (`of_rows`) or from a grouped aggregate of them (`followup.dashboard`)."""

    planned: int
    received: int
    waiting: bool  # an infusion is still in the planned state
    first_infusion: date | None  # the local date of the earliest start of an infusion given
    last_target: date | None

    @classmethod
    def of_rows(cls, infusions) -> InfusionSummary:
        rows = sorted(infusions, key=lambda row: row.number)
        given = [row.started_at for row in rows if row.state == InfusionState.GIVEN and row.started_at]
        return cls(planned=len(rows), received=sum(1 for row in rows if row.state == InfusionState.GIVEN),
                   waiting=any(row.state == InfusionState.PLANNED for row in rows),
                   first_infusion=timezone.localtime(min(given)).date() if given else None,
                   last_target=rows[-1].target_date if rows else None)

    def dlt_window(self) -> tuple[date, date] | None:
        """First infusion given to 28 days after the last planned infusion's target date
        (`dosing.escalation.dlt_window`); ``None`` while no infusion has been given."""
        first = self.first_infusion
        if first is None:
            return None
        # An infusion given after the last one's target (a late deviation) cannot end the window early.
        return escalation.dlt_window(first, max(first, self.last_target))


def participant_dlt_window(infusions) -> tuple[date, date] | None:
    """First infusion given to 28 days after the last *planned* infusion's target date (section 4,
    `dosing.escalation.dlt_window`); ``None`` while no infusion has been given."""
    return InfusionSummary.of_rows(infusions).dlt_window()


@dataclass(frozen=True)
class AdverseEventDLT:
    """An adverse event judged by the DLT definition and placed against the DLT window."""

    adverse_event: AdverseEvent
    is_dlt: bool
    explanation: str
    in_dlt_window: bool
    dlt_window: tuple[date, date] | None
    could_be_dlt: bool = False  # a draft that could be a DLT once confirmed

    @property
    def counts(self) -> bool:
        """A DLT for the 3+3 counts: a DLT by definition, with its onset inside the window."""
        return self.is_dlt and self.in_dlt_window

    @property
    def awaits_confirmation(self) -> bool:
        """A draft inside the DLT window that could be a DLT: the 3+3 rule cannot decide on its
        participant until an investigator confirms or dismisses it (section 4)."""
        return self.adverse_event.status == "draft" and self.could_be_dlt and self.in_dlt_window

    @property
    def confirmation_message(self) -> Message:
        """The sentence the proposal gives while it waits on this draft, as a message."""
        return message("escalation_draft", participant=self.adverse_event.participant.study_number,
                       onset=self.adverse_event.onset_date.isoformat())

    @property
    def confirmation_needed(self) -> str:
        """The sentence the proposal gives while it waits on this draft, in the active language."""
        return render(self.confirmation_message)

    @property
    def window_explanation(self) -> str:
        onset = self.adverse_event.onset_date.isoformat()
        if self.dlt_window is None:
            return _("No infusion given yet: the DLT window has not started.")
        values = {"onset": onset, "start": self.dlt_window[0].isoformat(), "end": self.dlt_window[1].isoformat()}
        if self.in_dlt_window:
            return _("Onset %(onset)s is inside the DLT window %(start)s to %(end)s.") % values
        return _("Onset %(onset)s is outside the DLT window %(start)s to %(end)s.") % values


def _draft_could_be_dlt(event: AdverseEvent) -> bool:
    """`dosing.escalation.could_be_dlt` on a draft's values; a value the rule cannot read is
    taken as possibly a DLT (safety first)."""
    try:
        return escalation.could_be_dlt(
            grade=event.grade, category=event.category, related=event.relationship,
            resolved_to_grade1_within_48h=event.resolved_to_grade1_within_48h,
            stopped_infusions=event.stopped_infusions, platelet_drop_confirmed=event.platelet_drop_confirmed,
        )
    except ValueError:
        return True


def adverse_event_dlt(event: AdverseEvent, window: tuple[date, date] | None) -> AdverseEventDLT:
    """`dosing.escalation.is_dlt` on the event's recorded grade, category, attribution and flags."""
    inside = window is not None and window[0] <= event.onset_date <= window[1]
    if event.status != "confirmed":
        possible = event.status == "draft" and _draft_could_be_dlt(event)
        return AdverseEventDLT(adverse_event=event, is_dlt=False, in_dlt_window=inside, dlt_window=window,
                               could_be_dlt=possible,
                               explanation=_("Draft: not a DLT until the investigator grades and attributes it."))
    dlt, explanation = escalation.is_dlt(
        grade=event.grade, category=event.category, related=event.relationship,
        resolved_to_grade1_within_48h=event.resolved_to_grade1_within_48h,
        stopped_infusions=event.stopped_infusions, platelet_drop_confirmed=event.platelet_drop_confirmed,
    )
    return AdverseEventDLT(adverse_event=event, is_dlt=dlt, explanation=explanation, in_dlt_window=inside,
                           dlt_window=window)


@lru_cache(maxsize=4096)
def dlt_judgement(status: str, grade, category: str, relationship, resolved_to_grade1_within_48h,
                  stopped_infusions, platelet_drop_confirmed) -> tuple[bool, bool]:
    """(a DLT by definition, a draft that could be one) of an adverse event's recorded values, as
    `adverse_event_dlt` judges them, remembered per combination of values: the thousands of events
    of a large study share a few hundred. Raises as `escalation.is_dlt` does for a confirmed event
    it cannot judge."""
    event = _EventValues(status, grade, category, relationship, resolved_to_grade1_within_48h, stopped_infusions,
                         platelet_drop_confirmed)
    if status != "confirmed":
        return False, status == "draft" and _draft_could_be_dlt(event)
    return escalation.is_dlt(
        grade=grade, category=category, related=relationship,
        resolved_to_grade1_within_48h=resolved_to_grade1_within_48h, stopped_infusions=stopped_infusions,
        platelet_drop_confirmed=platelet_drop_confirmed)[0], False


@dataclass(frozen=True)
class _EventValues:
    status: str
    grade: int | None
    category: str
    relationship: str | None
    resolved_to_grade1_within_48h: bool | None
    stopped_infusions: bool | None
    platelet_drop_confirmed: bool | None


@dataclass(frozen=True)
class ParticipantEscalation:
    """One participant of a dose level, as the 3+3 counts see them (``dosing.escalation`` docstring)."""

    participant: Participant
    infusions_received: int
    infusions_planned: int
    first_infusion: date | None
    dlt_window: tuple[date, date] | None
    adverse_events: tuple[AdverseEventDLT, ...]
    counted: bool  # False: withdrawn before any infusion, not part of the group
    evaluable: bool
    in_dlt_window: bool  # the DLT assessment is not final yet

    @property
    def dlts(self) -> tuple[AdverseEventDLT, ...]:
        return tuple(event for event in self.adverse_events if event.counts)

    @property
    def had_dlt(self) -> bool:
        return bool(self.dlts)

    @property
    def drafts_to_confirm(self) -> tuple[AdverseEventDLT, ...]:
        """Drafts that keep the assessment open (none once the participant had a DLT: that is final)."""
        if self.had_dlt or not self.counted:
            return ()
        return tuple(event for event in self.adverse_events if event.awaits_confirmation)

    @property
    def assessment(self) -> str:
        """The participant's place in the counts, in words."""
        if not self.counted:
            return _("Withdrawn before any infusion: not counted")
        if self.had_dlt:
            return _("DLT")
        if self.drafts_to_confirm:
            return _("Adverse event draft awaiting the investigator's confirmation")
        if self.in_dlt_window:
            if self.dlt_window is None:
                return _("No infusion given yet")
            if not self.evaluable:
                return _("Receiving infusions")
            return _("Inside the DLT window")
        if self.evaluable:
            return _("No DLT")
        return _("Not DLT-evaluable: to be replaced")


def participant_escalation(participant: Participant, infusions, events, *, today: date) -> ParticipantEscalation:
    """The participant's DLT window, DLTs, evaluability and whether their assessment is final.

    Section 4: DLT-evaluable = received all planned infusions, or had a DLT. The assessment is not
    final (``in_dlt_window``) while the window has not ended by ``today``, or while the participant
    is not yet evaluable and can still receive infusions. A participant with a DLT is final. One
    who can no longer become evaluable (withdrawn or an infusion missed) and whose window is over
    is final and not evaluable: the module docstring of `dosing.escalation` says they are replaced.
    A participant withdrawn before any infusion is not counted at all. A participant without a DLT
    whose adverse event draft inside the window could be a DLT is not final until an investigator
    confirms or dismisses it, whether or not the window is over.
    """
    return escalation_of(participant, InfusionSummary.of_rows(infusions), events, today=today)


def escalation_of(participant, infusions: InfusionSummary, events, *, today: date) -> ParticipantEscalation:
    """`participant_escalation` from the summary of the participant's infusions (`InfusionSummary`);
    of the participant it reads the status only."""
    planned, received = infusions.planned, infusions.received
    window = infusions.dlt_window()
    judged = tuple(adverse_event_dlt(event, window) for event in events)
    had_dlt = any(event.counts for event in judged)
    awaiting = any(event.awaits_confirmation for event in judged)
    counted, evaluable, in_window = _assessment(participant.status, infusions, window, had_dlt, awaiting, today)
    return ParticipantEscalation(
        participant=participant, infusions_received=received, infusions_planned=planned,
        first_infusion=infusions.first_infusion, dlt_window=window,
        adverse_events=judged, counted=counted, evaluable=evaluable, in_dlt_window=in_window,
    )


def escalation_counts(status: str, infusions: InfusionSummary, events, *, today: date) -> tuple[bool, bool, bool, bool]:
    """What the 3+3 counts take of `escalation_of` (counted, evaluable, had a DLT, assessment final),
    for a participant's status, infusions and adverse events read as plain values (each with the
    attributes of an adverse event that `adverse_event_dlt` reads), judged by `dlt_judgement`:
    nothing is built per event."""
    window = infusions.dlt_window()
    had_dlt = awaiting = False
    for event in events:
        dlt, possible = dlt_judgement(event.status, event.grade, event.category, event.relationship,
                                      event.resolved_to_grade1_within_48h, event.stopped_infusions,
                                      event.platelet_drop_confirmed)
        if (dlt or possible) and window is not None and window[0] <= event.onset_date <= window[1]:
            had_dlt, awaiting = had_dlt or dlt, awaiting or possible
    counted, evaluable, in_window = _assessment(status, infusions, window, had_dlt, awaiting, today)
    return counted, evaluable, had_dlt, not in_window


def _assessment(status: str, infusions: InfusionSummary, window, had_dlt: bool, awaiting: bool,
                today: date) -> tuple[bool, bool, bool]:
    """(counted, evaluable, in the DLT window) of `participant_escalation`."""
    planned, received = infusions.planned, infusions.received
    withdrawn = status == "withdrawn"
    counted = not (withdrawn and received == 0)
    evaluable = had_dlt or (planned >= 1 and escalation.is_dlt_evaluable(
        infusions_received=received, infusions_planned=planned, had_dlt=had_dlt))
    can_still_receive = not withdrawn and status != "completed" and infusions.waiting
    window_open = window is not None and today <= window[1]
    in_window = counted and not had_dlt and (window_open or awaiting or (not evaluable and can_still_receive))
    return counted, counted and evaluable, in_window


# --------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class LevelEscalation:
    """A dose level with its 3+3 counts and the participants behind them."""

    level: DoseLevel
    participants: tuple[ParticipantEscalation, ...]

    @property
    def code(self) -> str:
        return self.level.code

    @property
    def counted(self) -> tuple[ParticipantEscalation, ...]:
        return tuple(p for p in self.participants if p.counted)

    @property
    def enrolled(self) -> int:
        return len(self.counted)

    @property
    def evaluable(self) -> int:
        return sum(1 for p in self.counted if p.evaluable)

    @property
    def dlts(self) -> int:
        return sum(1 for p in self.counted if p.had_dlt)

    @property
    def in_dlt_window(self) -> int:
        return sum(1 for p in self.counted if p.in_dlt_window)

    @property
    def drafts_to_confirm(self) -> tuple[str, ...]:
        return tuple(event.confirmation_message for p in self.counted for event in p.drafts_to_confirm)

    def state(self) -> escalation.LevelState:
        return escalation.LevelState(
            code=self.level.code, order=self.level.order, status=self.level.status, enrolled=self.enrolled,
            evaluable=self.evaluable, dlts=self.dlts, in_dlt_window=self.in_dlt_window,
            drafts_to_confirm=self.drafts_to_confirm,
        )

    def counts(self) -> dict:
        return {"code": self.level.code, "status": self.level.status, "group_cap": self.level.group_cap,
                "enrolled": self.enrolled, "evaluable": self.evaluable, "dlts": self.dlts,
                "in_dlt_window": self.in_dlt_window}

    def visible_participants(self, site_ids) -> list[ParticipantEscalation]:
        """The participants of the user's sites; others are counted but never shown."""
        allowed = set(site_ids)
        return [p for p in self.participants if p.participant.site_id in allowed]


@dataclass(frozen=True)
class EscalationState:
    study: Study
    today: date
    levels: tuple[LevelEscalation, ...]
    proposal: escalation.Proposal
    decisions: tuple[EscalationDecision, ...]

    def level(self, code: str) -> LevelEscalation | None:
        return next((row for row in self.levels if row.code == code), None)

    @property
    def current_level(self) -> LevelEscalation | None:
        """The highest open level, else the highest closed one (as `dosing.escalation.propose`)."""
        for status in ("open", "closed"):
            rows = [row for row in self.levels if row.level.status == status]
            if rows:
                return rows[-1]
        return None

    @property
    def dose_exceeded_level(self) -> LevelEscalation | None:
        """The lowest level with >= 2 DLTs (section 4: dose exceeded)."""
        return next((row for row in self.levels if row.dlts >= escalation.DOSE_EXCEEDED_DLTS), None)

    def counts_snapshot(self) -> list[dict]:
        return [row.counts() for row in self.levels]


def _propose(levels: list[LevelEscalation]) -> escalation.Proposal:
    """The 3+3 proposal; inconsistent configuration (a planned level with participants, two arms'
    levels sharing an order) gives ``wait`` with the reason instead of an error page."""
    try:
        return escalation.propose([row.state() for row in levels], cohort_size=COHORT_SIZE,
                                  expansion_size=EXPANSION_SIZE)
    except ValueError as error:
        return escalation.Proposal(escalation.WAIT, None, message("escalation_inconsistent", error=str(error)))


def escalation_state(study: Study, *, today: date) -> EscalationState:
    """Each dose level of ``study`` in order with its 3+3 counts and participants, the proposal,
    and the signed decisions so far (5 queries, whatever the number of participants).

    Counts are study-wide (a dose group spans sites); callers show only the participants of the
    user's sites (`LevelEscalation.visible_participants`).
    """
    levels = list(DoseLevel.objects.filter(arm__study=study).order_by("order", "arm_id", "code"))
    participants = (
        Participant.objects.filter(study=study, dose_level__isnull=False)
        .select_related("site")
        .prefetch_related(
            Prefetch("infusions", queryset=Infusion.objects.order_by("number")),
            # confirmed events and drafts in one query: a draft that could be a DLT keeps the
            # participant's assessment open (dismissed events play no part)
            hooks.escalation_events.one(),
        )
        .order_by("study_order")
    )
    by_level: dict[int, list[ParticipantEscalation]] = {level.pk: [] for level in levels}
    for participant in participants:
        by_level.setdefault(participant.dose_level_id, []).append(participant_escalation(
            participant, participant.infusions.all(), participant.adverse_events.all(), today=today))
    rows = [LevelEscalation(level=level, participants=tuple(by_level[level.pk])) for level in levels]
    decisions = tuple(EscalationDecision.objects.filter(study=study).select_related("level", "signed_by")
                      .order_by("signed_at", "id"))
    return EscalationState(study=study, today=today, levels=tuple(rows), proposal=_propose(rows), decisions=decisions)


@dataclass(frozen=True)
class Deviation:
    participant: Participant
    what: str  # "Infusion 2", "Visit D14"
    kind: str  # "out_of_window" | "missed" | "dose"
    planned: str
    happened: str
    reason: str


def dose_text(cells: float | None, weight_kg: float | None = None) -> str:
    """"6 x10^9 cells", with the dose per kg when the weight is given; "—" when unknown."""
    if cells is None:
        return "—"
    if not weight_kg:
        return _("%(cells)s cells") % {"cells": cells_text(cells)}
    return _("%(cells)s cells (%(per_kg)s cells/kg)") % {
        "cells": cells_text(cells), "per_kg": cells_text(cells / weight_kg)}


def infusion_deviations(row) -> list[Deviation]:
    """One infusion's deviations (outside the window, dose, missed), as listed per study and participant."""
    return sorted_deviations(infusion_deviation_rows(
        [row] if row.deviation or row.dose_deviation or row.state == "missed" else []))


def infusion_deviation_rows(infusions) -> list[tuple[str, Deviation]]:
    """(window, deviation) of infusions outside their window, missed, or off their dose, for
    `sorted_deviations` (visits add theirs in `followup.deviations`)."""
    rows = []
    for row in infusions:
        window = f"{row.window_start.isoformat()} – {row.window_end.isoformat()}"
        what = _("Infusion %(n)d") % {"n": row.number}
        if row.state == "missed":
            rows.append((window, Deviation(row.participant, what, "missed", window, _("missed"), row.missed_reason)))
            continue
        if row.deviation:
            rows.append((window, Deviation(row.participant, what, "out_of_window", window,
                                           timezone.localtime(row.started_at).strftime("%Y-%m-%d %H:%M"),
                                           row.deviation_reason)))
        if row.dose_deviation:
            rows.append((window, Deviation(row.participant, what, "dose", dose_text(row.computed_dose),
                                           dose_text(row.cells_infused, row.weight_kg), row.dose_confirmation)))
    return rows


def sorted_deviations(rows: list[tuple[str, Deviation]]) -> list[Deviation]:
    """Per participant, in the order of the plan."""
    return [d for _key, d in sorted(rows, key=lambda pair: (pair[1].participant.study_number, pair[0]))]
