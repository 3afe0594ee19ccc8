"""Writes of the visit schedule (CLINICAL_RULES.md section 8, `followup/schedule.py`)."""
from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .models import Visit
from .schedule import Anchors, VisitRule, plan_visits, visits_for


def _at_midnight(day, tz) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def participant_visit_rules(participant, definitions) -> list[tuple[VisitRule, object]]:
    """(rule, definition) for the visits the participant is due: their arm, sex and place in the study."""
    pairs = {d.code: d for d in definitions if d.arm_id in (None, participant.arm_id)}
    rules = [VisitRule(code=d.code, label=d.label, anchor=d.anchor, offset=d.offset, offset_unit=d.offset_unit,
                       window_before=d.window_before, window_after=d.window_after, window_unit=d.window_unit,
                       sex_restriction=d.sex_restriction, first_n_participants=d.first_n_participants, order=d.order)
             for d in pairs.values()]
    due = visits_for(rules, sex=participant.screening.sex or None, participant_sequence=participant.study_order)
    return [(rule, pairs[rule.code]) for rule in due]


def participant_anchors(participant, infusion_plan, infusions, tz) -> Anchors:
    """Enrolment, and the first and last infusions: actual start when given, else their plan."""
    given = sorted((i for i in infusions if i.state == "given"), key=lambda i: i.number)
    first_actual = given[0].started_at if given and given[0].number == infusion_plan[0].number else None
    pending = [p for p in infusion_plan if p.status not in ("given", "given_out_of_window", "missed")]
    last_actual = given[-1].started_at if given and not pending else None
    return Anchors(
        enrolment=participant.enrolled_on,
        first_infusion=first_actual,
        last_infusion=last_actual,
        first_infusion_planned=_at_midnight(infusion_plan[0].target, tz) if infusion_plan else None,
        last_infusion_planned=_at_midnight(pending[-1].target, tz) if pending else None,
    )


def visit_schedule_create(*, participant, definitions, infusion_plan, by) -> list[Visit]:
    """One visit row per visit the participant is due, dated from the infusion plan."""
    tz = timezone.get_current_timezone()
    due = participant_visit_rules(participant, definitions)
    anchors = participant_anchors(participant, infusion_plan, [], tz)
    by_code = {rule.code: definition for rule, definition in due}
    rows = [
        Visit(participant=participant, definition=by_code[v.code], code=v.code, target_at=v.target,
              window_start=v.window_start, window_end=v.window_end, provisional=v.provisional, timed=v.timed)
        for v in plan_visits([rule for rule, _ in due], anchors, tz=tz)
    ]
    return bulk_create_with_history(rows, Visit, default_user=by, default_change_reason="Planned at enrolment")


def visit_schedule_refresh(*, participant, infusion_plan, infusions, by, reason: str) -> int:
    """Re-date the visits not yet done or missed from the infusions as given; returns how many moved."""
    from trials.audit import audited_save

    tz = timezone.get_current_timezone()
    visits = {v.code: v for v in participant.visits.select_related("definition")}
    due = [(rule, d) for rule, d in participant_visit_rules(participant, [v.definition for v in visits.values()])]
    anchors = participant_anchors(participant, infusion_plan, infusions, tz)
    moved = 0
    for planned in plan_visits([rule for rule, _ in due], anchors, tz=tz):
        visit = visits.get(planned.code)
        if visit is None or visit.state != "upcoming":
            continue
        new = (planned.target, planned.window_start, planned.window_end, planned.provisional)
        if (visit.target_at, visit.window_start, visit.window_end, visit.provisional) != new:
            visit.target_at, visit.window_start, visit.window_end, visit.provisional = new
            audited_save(visit, by=by, reason=reason)
            moved += 1
    return moved
