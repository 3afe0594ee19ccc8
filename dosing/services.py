"""Writes of the infusion plan (CLINICAL_RULES.md section 8, `dosing/windows.py`)."""
from __future__ import annotations

from datetime import date

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .models import Infusion, InfusionState
from .windows import InfusionEvent, InfusionRule, PlannedInfusion, plan_infusions


def arm_infusion_rules(arm) -> list[InfusionRule]:
    return [InfusionRule(d.number, d.anchor, d.offset_days, d.window_before_days, d.window_after_days)
            for d in arm.infusion_definitions.all()]


def infusion_events(infusions) -> list[InfusionEvent]:
    events = []
    for infusion in infusions:
        if infusion.state == InfusionState.GIVEN:
            events.append(InfusionEvent(infusion.number, given_on=timezone.localtime(infusion.started_at).date()))
        elif infusion.state == InfusionState.MISSED:
            events.append(InfusionEvent(infusion.number, missed=True))
    return events


def participant_infusion_plan(participant, infusions, *, today: date) -> list[PlannedInfusion]:
    """The plan in force for `participant`, re-anchored on the infusions given or missed."""
    return plan_infusions(
        arm_infusion_rules(participant.arm), day0=participant.planned_day0, events=infusion_events(infusions),
        today=today, missed_rule=participant.arm.missed_infusion_rule, held=participant.status == "withdrawn",
    )


def infusion_schedule_create(*, participant, by, today: date) -> list[Infusion]:
    """One planned infusion row per definition of the participant's arm, dated from day 0."""
    rows = [
        Infusion(participant=participant, number=p.number, target_date=p.target, window_start=p.window_start,
                 window_end=p.window_end, anchor=p.anchor, dose_level=participant.dose_level,
                 dose_per_kg=participant.dose_level.dose_per_kg if participant.dose_level else None)
        for p in participant_infusion_plan(participant, [], today=today)
    ]
    return bulk_create_with_history(rows, Infusion, default_user=by, default_change_reason="Planned at enrolment")
