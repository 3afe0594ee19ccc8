"""The visit schedule (CLINICAL_RULES.md section 8, `followup/schedule.py`): planned at enrolment,
re-dated as infusions are given, and each visit or timed sample done or missed."""
from __future__ import annotations

from datetime import datetime, time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from trials import dates
from trials.audit import audited_save
from trials.audit_context import change_context
from trials.audit_querysets import audited_bulk_create
from trials.concurrency import VERSION_FIELD, check_version
from trials.errors import ConflictError, Errors, ServiceError

from ..auto_queries import auto_queries_for
from ..models import Visit
from ..schedule import (
    Anchors,
    PlannedVisit,
    VisitRule,
    plan_visits,
    visit_status,
    visits_for,
)


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
    return audited_bulk_create(rows, by=by, reason="Planned at enrolment")


def visit_schedule_refresh(*, participant, infusion_plan, infusions, by, reason: str) -> int:
    """Re-date the visits not yet done or missed from the infusions as given; returns how many moved."""
    tz = timezone.get_current_timezone()
    visits = {v.code: v for v in participant.visits.select_related("definition")}
    due = [(rule, d) for rule, d in participant_visit_rules(participant, [v.definition for v in visits.values()])]
    anchors = participant_anchors(participant, infusion_plan, infusions, tz)
    moved = 0
    for planned in plan_visits([rule for rule, _definition in due], anchors, tz=tz):
        visit = visits.get(planned.code)
        if visit is None or visit.state != "upcoming":
            continue
        new = (planned.target, planned.window_start, planned.window_end, planned.provisional)
        if (visit.target_at, visit.window_start, visit.window_end, visit.provisional) != new:
            visit.target_at, visit.window_start, visit.window_end, visit.provisional = new
            audited_save(visit, by=by, reason=reason)
            moved += 1
    return moved


# ---------------------------------------------------------------------------------------------
# A visit or timed sample done (or missed)
# ---------------------------------------------------------------------------------------------

def visit_record(*, visit: Visit, done_at: datetime | None, deviation_reason: str = "", by,
                 now: datetime | None = None, version: int | None = None, edit_checks: bool = True,
                 lock_checked: bool = False) -> Visit:
    """Mark a visit done (a timed sample collected) at the time it happened.

    Outside its window it is still recorded, flagged as a protocol deviation with a required
    reason (CLINICAL_RULES.md section 8). Nothing is dated before consent and enrolment. The
    visit as read (its `version`, when the caller sends the one its user read) must still be the
    row's: a visit re-dated or recorded since is refused (409), not recorded over. Then the edit
    checks open or close their data queries (`followup.auto_queries`), unless the caller runs them
    itself (`edit_checks=False`: an assessment recorded with its visit). A locked casebook refuses it,
    unless the caller refused one already (`lock_checked`: the assessment service it is part of).
    """
    if not lock_checked:
        refuse_if_locked(visit.participant)
    if version is not None:
        visit.row_version = version
    now = now or timezone.now()
    errors = Errors()
    participant = visit.participant
    if done_at is None:
        errors["done_at"] = [_("Give the date and time it was done.")]
    elif done_at > now:
        errors["done_at"] = [_("A visit cannot be done in the future.")]
    elif timezone.localtime(done_at).date() < participant.enrolled_on:
        errors["done_at"] = [_("A visit cannot be dated before enrolment.")]
    errors.raise_if_any()
    planned = PlannedVisit(code=visit.code, label=visit.code, target=visit.target_at, window_start=visit.window_start,
                           window_end=visit.window_end, provisional=visit.provisional, timed=visit.timed)
    deviation = visit_status(planned, done_at=done_at, missed=False, now=now).deviation
    if deviation and not (deviation_reason or "").strip():
        shown = "%Y-%m-%d %H:%M" if visit.timed else "%Y-%m-%d"
        raise ServiceError({"deviation_reason": [
            _("%(code)s on %(when)s is outside its window %(start)s to %(end)s: give the reason (it is recorded as "
              "a protocol deviation).") % {
                "code": visit.code, "when": timezone.localtime(done_at).strftime(shown),
                "start": timezone.localtime(visit.window_start).strftime(shown),
                "end": timezone.localtime(visit.window_end).strftime(shown)}]})
    # No savepoint: nested in `assessment_record`, a refusal here rolls the whole assessment back anyway.
    with transaction.atomic(savepoint=False):
        if not lock_checked:
            hold_unlocked(participant)
        values = {"state": "done", "done_at": done_at, "deviation": deviation,
                  "deviation_reason": (deviation_reason or "").strip() if deviation else ""}
        # One conditional UPDATE marks it done only while it is upcoming (a concurrent recording of the
        # same visit finds it done and is refused), then its history row, with who and why.
        with change_context(by=by, reason=_("%(code)s done") % {"code": visit.code}):
            done = Visit.objects.filter(state="upcoming").update_record(visit, **values)
    if not done:  # refused after the block: the caller's transaction stays usable (nothing was written)
        state, current = Visit.objects.filter(pk=visit.pk).values_list("state", VERSION_FIELD).first()
        if state == "upcoming":  # still to do, but changed since it was read (re-dated)
            check_version(current, visit.row_version, record=visit, label=visit.code)
        label = dict(Visit._meta.get_field("state").choices).get(state, state)
        raise ConflictError({"non_field_errors": [_("%(code)s is already recorded as %(state)s.") % {
            "code": visit.code, "state": str(label).lower()}]})
    if edit_checks:
        assessments = list(visit.assessments.all())
        for assessment in assessments:
            assessment.visit = visit
        with transaction.atomic(savepoint=False):
            auto_queries_for(participant, by, assessments=assessments)
    return visit


def visit_miss(*, visit: Visit, reason: str, by, now: datetime | None = None, version: int | None = None) -> Visit:
    """Record a visit (a timed sample) as missed, with the reason; only once its window has closed
    (`trials.dates.window_closed`): until then it can still be done."""
    refuse_if_locked(visit.participant)
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ServiceError({"reason": [_("Say why the visit or sample was missed.")]})
    if not dates.window_closed(visit.window_end, now=now):
        shown = "%Y-%m-%d %H:%M" if visit.timed else "%Y-%m-%d"
        raise ServiceError({"missed": [_("%(code)s can still be done until %(end)s: it is missed only once its "
                                         "window has closed.") % {
            "code": visit.code, "end": timezone.localtime(visit.window_end).strftime(shown)}]})
    with transaction.atomic():
        hold_unlocked(visit.participant)
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.state != "upcoming":
            raise ConflictError({"non_field_errors": [_("%(code)s is already recorded as %(state)s.") % {
                "code": visit.code, "state": locked.get_state_display().lower()}]})
        if version is not None:
            check_version(locked.row_version, version, record=visit, label=visit.code)
        visit.row_version = locked.row_version  # moves on from the version locked, not the one read
        visit.state, visit.missed_reason = "missed", reason.strip()
        audited_save(visit, by=by, reason=_("%(code)s missed") % {"code": visit.code})
    return visit
