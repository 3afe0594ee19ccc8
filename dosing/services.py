"""Writes of the infusion plan (CLINICAL_RULES.md section 8, `dosing/windows.py`) and of the signed
dose-escalation decisions (section 4)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.locks import hold_unlocked, refuse_if_locked
from enrollment.models import Participant
from trials import hooks
from trials.audit import audited_save
from trials.audit_querysets import audited_bulk_create
from trials.concurrency import VERSION_FIELD, check_version
from trials.errors import ConflictError, Errors, ServiceError
from trials.locks import refuse_if_study_locked
from trials.messages import render
from trials.models import Study
from trials.scoping import Action, require
from trials.signatures import SignatureRefused, check_signature, printed_name  # noqa: F401 (SignatureRefused re-exported)

from . import escalation_decisions as decisions
from .dose import HARD_LIMIT_HIGH, HARD_LIMIT_LOW, cells_text, check_dose
from .escalation import CHOOSE_EXPANSION_DOSE, STOP
from .models import EscalationAction, EscalationDecision, Infusion, InfusionState
from .products import CELLS_FIELD, validate_product
from .selectors import EXPANSION_SIZE, escalation_state
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
                 window_end=p.window_end, anchor_message=p.anchor_message, dose_level=participant.dose_level,
                 dose_per_kg=participant.dose_level.dose_per_kg if participant.dose_level else None)
        for p in participant_infusion_plan(participant, [], today=today)
    ]
    return audited_bulk_create(rows, by=by, reason="Planned at enrolment")


# ---------------------------------------------------------------------------------------------
# Recording what happened
# ---------------------------------------------------------------------------------------------

@dataclass
class InfusionInput:
    number: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    weight_kg: float | None = None
    cells_infused: float | None = None
    product: dict | None = None
    premedication: str = ""
    vitals: dict | None = None
    reactions: list | None = None
    deviation_reason: str = ""
    dose_confirmation: str = ""
    # The version of the planned row the user read (API.md "Versions"): when given, a row changed
    # since (re-planned, recorded) is refused with 409 instead of recorded from an older plan.
    version: int | None = None


REACTIONS = ("fever", "haemoglobinuria", "dmso_reaction", "infusion_reaction", "allergic_reaction")
# An immediate reaction opens an adverse event draft: its CTCAE term and the DLT category.
REACTION_EVENTS = {
    "fever": ("Fever", "fever"),
    "haemoglobinuria": ("Hemoglobinuria", "non_haematological"),
    "dmso_reaction": ("Infusion related reaction", "infusion_reaction"),  # the DMSO named in the description
    "infusion_reaction": ("Infusion related reaction", "infusion_reaction"),
    "allergic_reaction": ("Allergic reaction", "allergic"),
}
# What a user reads of each reaction and vital sign (the API names them by their codes).
REACTION_NAMES = {
    "fever": gettext_lazy("Fever"), "haemoglobinuria": gettext_lazy("Haemoglobinuria"),
    "dmso_reaction": gettext_lazy("DMSO reaction"), "infusion_reaction": gettext_lazy("Infusion-related reaction"),
    "allergic_reaction": gettext_lazy("Allergic reaction"),
}
VITAL_NAMES = {
    "temperature_c": (gettext_lazy("Temperature"), "°C"), "heart_rate": (gettext_lazy("Heart rate"), "/min"),
    "systolic": (gettext_lazy("Systolic blood pressure"), "mmHg"),
    "diastolic": (gettext_lazy("Diastolic blood pressure"), "mmHg"),
    "respiratory_rate": (gettext_lazy("Respiratory rate"), "/min"), "spo2": (gettext_lazy("Oxygen saturation"), "%"),
}
MOMENT_NAMES = {"before": gettext_lazy("before the infusion"), "after": gettext_lazy("after the infusion")}
VITAL_RANGES = {"temperature_c": (25, 45), "heart_rate": (20, 250), "systolic": (50, 260), "diastolic": (20, 160),
                "respiratory_rate": (4, 60), "spo2": (50, 100)}


def _validate_vitals(vitals: dict | None, errors: Errors) -> dict:
    """{"before": {...}, "after": {...}} with known measures in plausible ranges (temperature in deg C)."""
    cleaned = {}
    for moment, values in (vitals or {}).items():
        if moment not in ("before", "after") or not isinstance(values, dict):
            errors.add(f"vitals.{moment}", _("Give vital signs 'before' and 'after' the infusion."))
            continue
        for name, value in values.items():
            path = f"vitals.{moment}.{name}"
            if name not in VITAL_RANGES:
                errors.add(path, _("Unknown measure; use %(names)s.") % {"names": ", ".join(VITAL_RANGES)})
                continue
            measure, unit = VITAL_NAMES[name]
            named = {"measure": measure, "moment": MOMENT_NAMES[moment]}
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.add(path, _("%(measure)s %(moment)s: give a number.") % named)
            elif not VITAL_RANGES[name][0] <= value <= VITAL_RANGES[name][1]:
                low, high = VITAL_RANGES[name]
                errors.add(path, _("%(measure)s %(moment)s: %(value)s is outside %(low)s-%(high)s %(unit)s.") % {
                    **named, "value": f"{value:g}", "low": low, "high": high, "unit": unit})
            else:
                cleaned.setdefault(moment, {})[name] = float(value)
    return cleaned


def _infusion_row(participant, number: int, errors: Errors) -> Infusion | None:
    rows = {row.number: row for row in participant.infusions.all()}
    row = rows.get(number)
    if row is None:
        errors.add("number", _("The plan has no infusion %(n)d; infusions are numbered %(numbers)s.") % {
                "n": number, "numbers": ", ".join(map(str, sorted(rows))) or _("none")})
        return None
    if row.state != InfusionState.PLANNED:
        errors.add("number", _("Infusion %(n)d is already recorded as %(state)s.") % {
            "n": number, "state": row.get_state_display().lower()})
        return None
    pending_before = [n for n, r in rows.items() if n < number and r.state == InfusionState.PLANNED]
    if pending_before:
        errors.add("number", _("Record infusion %(n)d first (given or missed).") % {"n": pending_before[0]})
    return row


def _check_participant_can_receive(participant) -> None:
    if participant.status in ("withdrawn", "completed"):
        raise ConflictError({"non_field_errors": [
            _("The participant is %(status)s: no further infusion can be recorded.") % {
                "status": participant.get_status_display().lower()}]})


def cells_required(level, product_kind: str) -> bool:
    """Whether an infusion given at ``level`` must say how many cells were infused: the level has a
    dose per kg or a flat dose to check the dose given against (CLINICAL_RULES.md section 4, hard
    limits) and the product has no field that gives the number (`dosing.products.CELLS_FIELD`)."""
    return level is not None and bool(level.dose_per_kg or level.flat_dose) and product_kind not in CELLS_FIELD


def _cells_required_message(level) -> str:
    if level.flat_dose:
        dose = _("a flat dose of %(cells)s cells") % {"cells": cells_text(level.flat_dose)}
    else:
        dose = _("%(cells)s cells/kg x the weight on the day") % {"cells": cells_text(level.dose_per_kg)}
    return _("The number of cells infused is required to check the dose against the computed dose of level "
             "%(level)s (%(dose)s; the study's hard dose limits): give it.") % {"level": level.code, "dose": dose}


@dataclass
class _CheckedInfusion:
    row: Infusion | None = None
    product: dict | None = None
    vitals: dict | None = None
    dose: object = None
    cells: float | None = None
    planned: object = None


def _check_infusion(participant, data: InfusionInput, now: datetime, errors: Errors) -> _CheckedInfusion:
    """Every check of an infusion given, each problem added to `errors` under its path: the dose
    and the window are checked whenever the values they need are good, so that one refusal names
    every problem."""
    row = _infusion_row(participant, data.number, errors)
    if data.started_at is None:
        errors.add("started_at", _("Give the start date and time."))
    elif data.started_at > now:
        errors.add("started_at", _("An infusion cannot start in the future."))
    else:
        consent_day = min((timezone.localtime(c.signed_at).date() for c in participant.screening.consents.all()),
                          default=None)
        start_day = timezone.localtime(data.started_at).date()
        if start_day < participant.enrolled_on or (consent_day and start_day < consent_day):
            errors.add("started_at", _("An infusion cannot be dated before consent and enrolment."))
    if data.ended_at is not None and data.started_at is not None and data.ended_at < data.started_at:
        errors.add("ended_at", _("The infusion ends before it starts."))
    elif data.ended_at is not None and data.ended_at > now:
        errors.add("ended_at", _("An infusion cannot end in the future."))
    if data.weight_kg is None:
        errors.add("weight_kg", _("Give the weight on the day (the dose is per kg)."))
    elif not 1 <= data.weight_kg <= 350:
        errors.add("weight_kg", _("A weight of %(w)s kg is not plausible (1-350 kg).") % {"w": f"{data.weight_kg:g}"})
    if data.cells_infused is not None and data.cells_infused <= 0:
        errors.add("cells_infused", _("The number of cells infused must be greater than 0."))
    product, product_errors = validate_product(data.product, participant.arm.product_kind)
    errors.update(product_errors)
    level = participant.dose_level
    if data.cells_infused is None and cells_required(level, participant.arm.product_kind):
        errors.add("cells_infused", _cells_required_message(level))
    vitals = _validate_vitals(data.vitals, errors)
    unknown = [r for r in (data.reactions or []) if r not in REACTIONS]
    if unknown:
        errors.add("reactions", _("Unknown reaction %(r)s; use %(names)s.") % {
            "r": repr(unknown[0]), "names": ", ".join(str(REACTION_NAMES[r]) for r in REACTIONS)})
    checked = _CheckedInfusion(row=row, product=product, vitals=vitals)
    if not ({"weight_kg", "cells_infused"} & set(errors) or any(path.startswith("product.") for path in errors)):
        cells = data.cells_infused if data.cells_infused is not None else product.get("tnc")
        dose = check_dose(weight_kg=data.weight_kg, dose_per_kg=level.dose_per_kg if level else None,
                          cells_infused=cells, flat_dose=level.flat_dose if level else None,
                          hard_limits=level.hard_limits if level else (HARD_LIMIT_LOW, HARD_LIMIT_HIGH))
        cells_field = "cells_infused" if data.cells_infused is not None else "product.tnc"
        if dose.missing_dose:  # a product field that should give the count did not: never record it unchecked
            errors.add("cells_infused", _cells_required_message(level))
        if dose.refused:
            errors.add(cells_field, _("%(problem)s. Refused whatever the reason (the dose is outside the level's "
                                      "hard limits): check the number of cells and the weight.") % {
                "problem": render(dose.problem_message)})
        if dose.deviation and not data.dose_confirmation.strip():
            errors.add("dose_confirmation", _("Give the reason for this dose: %(why)s. It is recorded as a dose "
                                              "deviation.") % {"why": render(dose.problem_message)})
        checked.dose, checked.cells = dose, cells
    if row is not None and data.started_at is not None and "started_at" not in errors:
        given_on = timezone.localtime(data.started_at).date()
        # The window of the plan as it stands with this infusion given: the first infusion defines
        # day 0, so it is never late relative to itself.
        events = [e for e in infusion_events(participant.infusions.all()) if e.number != row.number]
        plan = plan_infusions(arm_infusion_rules(participant.arm), day0=participant.planned_day0,
                              events=events + [InfusionEvent(row.number, given_on=given_on)], today=given_on,
                              missed_rule=participant.arm.missed_infusion_rule)
        planned = next(p for p in plan if p.number == row.number)
        if planned.deviation and not data.deviation_reason.strip():
            errors.add("deviation_reason", _(
                "Infusion %(n)d on %(day)s is outside its window %(start)s to %(end)s: give the reason (it is "
                "recorded as a protocol deviation).") % {
                "n": row.number, "day": given_on.isoformat(),
                "start": planned.window_start.isoformat(), "end": planned.window_end.isoformat()})
        checked.planned = planned
    return checked


def infusion_problems(*, participant, data: InfusionInput, now: datetime | None = None) -> Errors:
    """What `infusion_record` would refuse in `data`, every problem by its path; writes nothing.
    The page calls it on what it could read of an infusion its form refused, so that every
    problem shows at once."""
    errors = Errors()
    _check_infusion(participant, data, now or timezone.now(), errors)
    return errors


def infusion_record(*, participant, data: InfusionInput, by, now: datetime | None = None) -> Infusion:
    """Record an infusion given: dose from the weight on the day, product, window check.

    A date outside the window is recorded as it happened and flagged as a protocol deviation,
    with a required reason (CLINICAL_RULES.md section 8). The dose given against the computed one
    (section 4, `dosing.dose`): within 10 % it is recorded; beyond 10 % but inside the level's
    hard limits it needs a reason (`dose_confirmation`) and is recorded as a dose deviation;
    beyond the hard limits it is refused (400 on the field that gave the number of cells),
    whatever the reason. At a level with a dose to check against, an infusion without the number
    of cells (``cells_infused``, or the cord blood unit's TNC) is refused (400 on ``cells_infused``):
    an unchecked dose would bypass the hard limits (`cells_required`). Later infusions and the
    visits anchored on infusions are re-planned.
    """
    refuse_if_locked(participant)
    now = now or timezone.now()
    _check_participant_can_receive(participant)
    errors = Errors()
    checked = _check_infusion(participant, data, now, errors)
    errors.raise_if_any()
    row, product, vitals, dose, cells, planned = (checked.row, checked.product, checked.vitals, checked.dose,
                                                  checked.cells, checked.planned)
    deviation, level = planned.deviation, participant.dose_level

    with transaction.atomic():
        _lock_for_recording(participant, row, version=data.version)
        row.target_date, row.window_start, row.window_end, row.anchor_message = (
            planned.target, planned.window_start, planned.window_end, planned.anchor_message)
        row.state = InfusionState.GIVEN
        row.started_at, row.ended_at, row.weight_kg = data.started_at, data.ended_at, data.weight_kg
        row.dose_level = level
        row.dose_per_kg = level.dose_per_kg if level else None
        row.computed_dose, row.cells_infused, row.dose_message = dose.computed_dose, cells, dose.explanation_message
        row.dose_deviation = dose.deviation
        row.dose_confirmation = data.dose_confirmation.strip() if dose.deviation else ""
        row.deviation, row.deviation_reason = deviation, data.deviation_reason.strip() if deviation else ""
        row.product, row.premedication = product, data.premedication.strip()
        row.vitals, row.reactions, row.recorded_by = vitals, list(data.reactions or []), by
        audited_save(row, by=by, reason=f"Infusion {row.number} given")
        _after_infusion_change(participant, row, by=by, reason=f"Re-planned after infusion {row.number}",
                               today=timezone.localdate(now))
    return row


def infusion_miss(*, participant, number: int, reason: str, by, now: datetime | None = None,
                  version: int | None = None) -> Infusion:
    """Record a planned infusion as missed, with the reason; later ones follow the arm's rule."""
    refuse_if_locked(participant)
    now = now or timezone.now()
    _check_participant_can_receive(participant)
    errors = Errors()
    row = _infusion_row(participant, number, errors)
    if not (reason or "").strip():
        errors.add("reason", _("Say why the infusion was missed."))
    errors.raise_if_any()
    with transaction.atomic():
        _lock_for_recording(participant, row, version=version)
        row.state, row.missed_reason = InfusionState.MISSED, reason.strip()
        audited_save(row, by=by, reason=f"Infusion {row.number} missed")
        _after_infusion_change(participant, row, by=by, reason=f"Re-planned after infusion {row.number} was missed",
                               today=timezone.localdate(now))
    return row


def _lock_for_recording(participant, row, *, version: int | None = None) -> None:
    """Lock the participant and the infusion, and re-check them: a withdrawal or the same infusion
    recorded by someone else meanwhile wins, and this call is refused; so is a call made from a
    version of the row older than the one locked (`trials.concurrency`), when the caller sent one."""
    hold_unlocked(participant)
    current = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
    state, row_version = (Infusion.objects.select_for_update().filter(pk=row.pk)
                          .values_list("state", VERSION_FIELD).get())
    if current.status in ("withdrawn", "completed"):
        raise ConflictError({"non_field_errors": [_("The participant was %(status)s meanwhile.") % {
            "status": current.get_status_display().lower()}]})
    if state != InfusionState.PLANNED:
        raise ConflictError({"number": [_("Infusion %(n)d was recorded meanwhile.") % {"n": row.number}]})
    if version is not None:
        check_version(row_version, version, record=row, label=_("Infusion %(n)d") % {"n": row.number})
    row.row_version = row_version  # the next save moves on from the version locked, not the one read
    participant.status = current.status


def _after_infusion_change(participant, changed, *, by, reason: str, today: date) -> None:
    """Re-plan later infusions, let follow-up do its part (`trials.hooks.infusion_changed`: the
    visits re-dated, reaction drafts opened, outcomes queued) and move the participant along its
    states."""
    infusions = list(participant.infusions.all())
    plan = participant_infusion_plan(participant, infusions, today=today)
    for planned, row in zip(plan, sorted(infusions, key=lambda r: r.number), strict=True):
        if row.state != InfusionState.PLANNED:
            continue
        new = (planned.target, planned.window_start, planned.window_end, planned.anchor_message)
        if (row.target_date, row.window_start, row.window_end, row.anchor_message) != new:
            row.target_date, row.window_start, row.window_end, row.anchor_message = new
            audited_save(row, by=by, reason=reason)
    hooks.infusion_changed(participant=participant, infusion=changed, infusions=infusions, infusion_plan=plan, by=by,
                           reason=reason, today=today)
    pending = any(row.state == InfusionState.PLANNED for row in infusions)
    any_given = any(row.state == InfusionState.GIVEN for row in infusions)
    status = "follow_up" if not pending else ("on_treatment" if any_given else participant.status)
    if status != participant.status:
        participant.status = status
        audited_save(participant, by=by, reason=reason, update_fields=["status"])


# ---------------------------------------------------------------------------------------------
# Dose escalation: the investigator's signed decision (CLINICAL_RULES.md section 4)
# ---------------------------------------------------------------------------------------------

def _check_signature(user, password: str) -> None:
    """The signer's own password, re-entered (`trials.signatures.check_signature`, shared with the
    eligibility and adverse-event signatures)."""
    check_signature(user, password, refused=_("The password is not correct: the decision was not signed."))


def _decision_conflicts(action: str, target, state) -> list[str]:
    """Why ``action`` at ``target`` (a `LevelEscalation` or None) does not fit the study's state."""
    levels = list(state.levels)
    exceeded = state.dose_exceeded_level
    current = state.current_level
    problems = []
    if target is not None and action != EscalationAction.ESCALATE and target.level.status == "planned":
        problems.append(_("Level %(code)s was never opened: nobody has been treated at it.") % {"code": target.code})
    if (exceeded is not None and target is not None and action != EscalationAction.STOP
            and target.level.order >= exceeded.level.order):
        problems.append(_("Level %(code)s exceeded the dose (%(n)d DLTs, section 4): no decision may open "
                          "%(target)s or a level above it.") % {
            "code": exceeded.code, "n": exceeded.dlts, "target": target.code})
    if action == EscalationAction.ESCALATE and target is not None:
        if target.level.status == "open":
            problems.append(_("Level %(code)s is already open.") % {"code": target.code})
        elif current is not None and current is levels[-1]:
            problems.append(_("Level %(code)s is the top level: there is no level to escalate to.") % {
                "code": current.code})
        else:
            position = next((i for i, row in enumerate(levels) if row is current), -1)
            expected = levels[position + 1]
            if target is not expected:
                problems.append(_("Escalation goes one level at a time: the next level is %(code)s.") % {
                    "code": expected.code})
    elif action == EscalationAction.EXPAND and target is not None:
        cap = target.level.group_cap
        if cap is None or cap >= EXPANSION_SIZE:
            problems.append(_("Level %(code)s already takes %(cap)s participants: there is nothing to expand.") % {
                "code": target.code, "cap": cap if cap is not None else _("any number of")})
    elif action == EscalationAction.STOP and not any(row.level.status == "open" for row in levels):
        problems.append(_("No dose level is open: escalation has already stopped."))
    return problems


def _rule_refusal(action: str, level_code: str | None, state) -> str | None:
    """`dosing.escalation_decisions.decision_refusal` on the study's levels and proposal (section 4)."""
    try:
        levels = [row.state() for row in state.levels]
    except ValueError as error:  # inconsistent configuration: the proposal says so, nothing may open
        return _("No decision can be signed: the dose levels are inconsistent (%(error)s).") % {"error": error}
    refusal = decisions.decision_refusal(levels, state.proposal, action, level_code or None,
                                         expansion_size=EXPANSION_SIZE, check_recommended=False)
    target = next((row for row in levels if row.code == level_code), None) if level_code else None
    if not refusal and action == STOP and target is not None \
            and not decisions.can_be_recommended(target, EXPANSION_SIZE):
        # CLINICAL_RULES.md section 4: "the recommended dose ... needs 6 treated with <= 1 DLT"
        return _("Level %(code)s cannot be named as the recommended dose: it needs %(n)d treated with at most 1 DLT "
                 "(the study's 3+3 rule) and has %(evaluable)d DLT-evaluable (%(dlts)d with a DLT, "
                 "%(open)d whose assessment is not final). Expand %(code)s to %(n)d first, or stop without a "
                 "recommended dose.") % {"code": target.code, "n": EXPANSION_SIZE, "evaluable": target.evaluable,
                                         "dlts": target.dlts, "open": target.in_dlt_window}
    return refusal


def offered_decisions(state) -> list[tuple[str, str | None, str]]:
    """The decisions an investigator may sign now, the proposal first: ``(action, level, meaning)``
    for each decision the 3+3 rule allows given the proposal (`dosing.escalation_decisions.allowed_decisions`)
    that also fits the levels' state. Reads nothing."""
    try:
        levels = [row.state() for row in state.levels]
    except ValueError:
        return []
    rule = decisions.rule_text(state.proposal)
    return [(action, code, decisions.signature_meaning(action, code, rule))
            for action, code in decisions.allowed_decisions(levels, state.proposal, expansion_size=EXPANSION_SIZE)
            if not _decision_conflicts(action, state.level(code) if code else None, state)]


def _apply_decision(decision, target, state, *, by) -> None:
    """Open, close and expand the levels as decided; each change cites the decision."""
    reason = _("Escalation decision %(id)d: %(action)s %(level)s") % {
        "id": decision.pk, "action": decision.action, "level": target.code if target else ""}
    reason = reason.strip()[:100]
    opened = target.level if target is not None and decision.action != EscalationAction.STOP else None
    for row in state.levels:
        level = row.level
        before = (level.status, level.group_cap)
        if level is opened:
            level.status = "open"
            if decision.action in (EscalationAction.EXPAND, EscalationAction.CHOOSE_EXPANSION_DOSE) and \
                    level.group_cap is not None:
                # P2: "choose one dose and expand it to 6"; 3+3: "treat 3 more at the same dose".
                level.group_cap = max(level.group_cap, EXPANSION_SIZE)
        elif level.status == "open":
            level.status = "closed"
        if (level.status, level.group_cap) != before:
            audited_save(level, by=by, reason=reason)


def escalation_decide(*, study, action: str, level_code: str | None, rationale: str, password: str, by,
                      now: datetime | None = None, expected_meaning: str | None = None):
    """Record an investigator's signed 3+3 decision and open, expand or close the levels it names.

    CLINICAL_RULES.md section 4: the application proposes (`dosing.selectors.escalation_state`), an
    investigator records and signs, and the next group opens only then. Investigators only
    (`Action.SIGN` at a site of the study); the password is the signer's own, re-entered: a wrong
    one raises `SignatureRefused` (403) and records nothing. A decision may differ from the
    proposal only towards safety (`dosing.escalation_decisions.decision_refusal`: expand the current level,
    stop, de-escalate); anything else - above all opening a level higher than the rule allows - is
    a `ConflictError` (409) on ``action`` citing the rule. A decision that differs from the
    proposal (another action, or another level) needs a rationale (400). A decision that does not
    fit the levels' state (a level already open, nothing left to expand, stopping when nothing is
    open) is a `ConflictError` (409) too.

    The signature's meaning (21 CFR 11.50) is stored with the signer's printed name and the time:
    "I approve <action> <level> under rule <rule>" (`dosing.escalation_decisions.signature_meaning`). With
    ``expected_meaning`` (the statement the signer read and confirmed), a different statement now
    - the proposal changed meanwhile - is a `ConflictError` and nothing is signed.

    Applied under the study row lock that enrolment takes, so that no participant is enrolled
    into a level while it closes: escalate closes the current level and opens the next; expand
    raises the level's cap to 6 and keeps it (re)opened; stop closes every open level; choose
    the expansion dose opens the chosen level with a cap of 6. Any other open level closes.
    """

    now = now or timezone.now()
    require(by, Action.SIGN, list(study.sites.values_list("pk", flat=True)))
    _check_signature(by, password)
    if not study.uses_dose_escalation:
        raise ServiceError({"study": [_("%(study)s does not use dose escalation.") % {"study": study.code}]})
    errors = Errors()
    action = (action or "").strip()
    level_code = (level_code or "").strip()
    rationale = (rationale or "").strip()
    if action not in EscalationAction.values:
        errors.add("action", _("Use one of %(codes)s.") % {"codes": ", ".join(EscalationAction.values)})
    errors.raise_if_any()

    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study.pk)
        refuse_if_study_locked(study)  # a study locked for analysis takes no decision
        state = escalation_state(study, today=timezone.localdate(now))
        proposal = state.proposal
        target = state.level(level_code) if level_code else None
        codes = ", ".join(row.code for row in state.levels) or "-"
        if level_code and target is None:
            errors.add("level", _("Unknown dose level %(code)s; this study has %(codes)s.") % {
                "code": level_code, "codes": codes})
        elif not level_code and action != EscalationAction.STOP:
            errors.add("level", _("Name the dose level this decision concerns (%(codes)s).") % {"codes": codes})
        errors.raise_if_any()
        refusal = _rule_refusal(action, level_code, state)
        if refusal:
            raise ConflictError({"action": [refusal]})
        problems = _decision_conflicts(action, target, state)
        if problems:
            raise ConflictError({"action": problems})
        meaning = decisions.signature_meaning(action, level_code or None, decisions.rule_text(proposal))
        if expected_meaning is not None and expected_meaning.strip() != meaning:
            raise ConflictError({"action": [
                _('The proposal changed since you read it; the decision now means: "%(meaning)s" Read the page again '
                  "and sign if you agree.") % {"meaning": meaning}]})
        contradicts = action != proposal.action or (
            action != CHOOSE_EXPANSION_DOSE and level_code != (proposal.level or ""))
        if contradicts and not rationale:
            proposed = f"{proposal.action} {proposal.level or ''}".strip()
            raise ServiceError({"rationale": [
                _('The proposal is "%(proposal)s": %(reason)s A decision that differs from it needs a rationale.')
                % {"proposal": proposed, "reason": proposal.reason}]})
        decision = EscalationDecision(
            study=study, action=action, level=target.level if target else None, proposal_action=proposal.action,
            proposal_level=proposal.level or "", proposal_message=proposal.message,
            level_counts=state.counts_snapshot(), rationale=rationale, signed_by=by, signed_at=now,
            signed_by_name=printed_name(by), signature_meaning=meaning,
        )
        audited_save(decision, by=by, reason=_("Escalation decision signed"))
        _apply_decision(decision, target, state, by=by)
    return decision
