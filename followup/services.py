"""Writes of the visit schedule (CLINICAL_RULES.md section 8, `followup/schedule.py`) and of adverse
events (sections 3-4)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from trials import dates
from trials.audit import audited_delete, audited_save
from trials.limits import reason_length_error
from trials.scoping import Action, can, require
from trials.signatures import (ADVERSE_EVENT_DISMISSAL_MEANING, ADVERSE_EVENT_MEANING, SignatureRefused,
                               check_signature)
from trials.units import mixed_range_conflict, mixed_range_message

from .assessment_checks import require_bleeding_grade, steroid_dose
from .models import AdverseEvent, AdverseEventCategory, Relationship, Visit
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


# ---------------------------------------------------------------------------------------------
# Adverse events (the minimum the DLT definition needs; CLINICAL_RULES.md sections 3-4)
# ---------------------------------------------------------------------------------------------

@dataclass
class AdverseEventInput:
    term: str = ""
    category: str = ""
    onset_date: date | None = None
    resolution_date: date | None = None
    grade: int | None = None
    serious: bool | None = None
    relationship: str = ""
    resolved_to_grade1_within_48h: bool = False
    stopped_infusions: bool = False
    platelet_drop_confirmed: bool = False
    description: str = ""
    seriousness: list = field(default_factory=list)
    action_taken: str = ""
    outcome: str = ""
    site_aware_at: datetime | None = None
    term_other: bool = False


def _ctcae_term(term: str) -> tuple[str, bool]:
    """(the term as stored, whether it is "other, specify"): in its CTCAE spelling when the list
    names it, else as entered."""
    from .ctcae_terms import ctcae_terms

    listed = ctcae_terms().find(term)
    return (listed.term, False) if listed is not None else (" ".join(term.split()), True)


def _validate_term(term: str, term_other: bool, add) -> None:
    """A term of the CTCAE v5.0 list (`followup/ctcae_terms.yaml`), or one the list does not name
    recorded explicitly as "other, specify"."""
    from .ctcae_terms import ctcae_terms

    terms = ctcae_terms()
    if term_other or terms.find(term) is not None:
        return
    closest = terms.closest(term)
    message = _("'%(term)s' is not in this product's %(version)s term list (the terms common in these studies). "
                "Choose a listed term or, for an event the list does not name, tick \"Other, specify\" (term_other "
                "in the API).") % {
        "term": term, "version": terms.version}
    if closest:
        message += " " + _("Closest listed terms: %(terms)s.") % {"terms": ", ".join(closest)}
    add("term", message)


def _validate_seriousness(grade, serious, seriousness, action_taken, outcome, add) -> None:
    """Seriousness criteria, action taken and outcome (CLINICAL_RULES.md section 3): a serious event
    names at least one criterion; a grade 5 event (death) has the outcome fatal."""
    from .models import ActionTaken, Outcome, SeriousnessCriterion

    if not isinstance(seriousness, list | tuple):
        add("seriousness", _("Give the seriousness criteria as a list."))
        seriousness = []
    unknown = [c for c in seriousness if c not in SeriousnessCriterion.values]
    if unknown:
        add("seriousness", _("Unknown seriousness criteria %(bad)s; use %(codes)s.") % {
            "bad": ", ".join(map(str, unknown)), "codes": ", ".join(SeriousnessCriterion.values)})
    elif serious and not seriousness:
        add("seriousness", _("A serious adverse event needs at least one seriousness criterion (%(codes)s).") % {
            "codes": ", ".join(SeriousnessCriterion.values)})
    elif serious is False and seriousness:
        add("seriousness", _("Seriousness criteria are given only for a serious event."))
    if action_taken and action_taken not in ActionTaken.values:
        add("action_taken", _("Use one of %(codes)s.") % {"codes": ", ".join(ActionTaken.values)})
    if outcome and outcome not in Outcome.values:
        add("outcome", _("Use one of %(codes)s.") % {"codes": ", ".join(Outcome.values)})
    elif grade == 5 and outcome != Outcome.FATAL:
        add("outcome", _("A grade 5 event (death) has the outcome fatal."))
    elif outcome == Outcome.FATAL and isinstance(grade, int) and grade != 5:
        add("outcome", _("A fatal outcome is CTCAE grade 5."))


def _validate_judgement(grade, serious, relationship, add) -> None:
    """The investigator's judgement of an event: CTCAE grade 1-5, serious or not (a death is),
    relationship to treatment (CLINICAL_RULES.md sections 3-4)."""
    if grade is None:
        add("grade", _("Give the CTCAE grade (1-5)."))
    elif isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
        add("grade", _("The CTCAE grade is a whole number from 1 to 5."))
    if serious is None:
        add("serious", _("Say whether the event is serious."))
    elif grade == 5 and not serious:
        add("serious", _("A grade 5 event (death) is serious."))
    if relationship not in Relationship.values:
        add("relationship", _("Give the relationship to treatment: one of %(codes)s.") % {
            "codes": ", ".join(Relationship.values)})


def _validate_adverse_event(participant, data: AdverseEventInput, today: date,
                            recorded_term: str | None = None) -> dict[str, list[str]]:
    """Every field of an adverse event, as recorded or corrected. The term is checked against the
    CTCAE list unless it is the term already recorded (`recorded_term`, a correction keeping it)."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(path, []).append(str(message))

    _validate_seriousness(data.grade, data.serious, data.seriousness, data.action_taken, data.outcome, add)
    if data.site_aware_at is not None and data.site_aware_at > timezone.now():
        add("site_aware_at", _("The site cannot learn of the event in the future."))

    term = (data.term or "").strip()
    if not term:
        add("term", _("Give the CTCAE term of the event."))
    elif len(term) > 200:
        add("term", _("The term is at most 200 characters; put the details in the description."))
    elif term != recorded_term:
        _validate_term(term, data.term_other, add)
    if data.category not in AdverseEventCategory.values:
        add("category", _("Use one of %(codes)s.") % {"codes": ", ".join(AdverseEventCategory.values)})
    _validate_judgement(data.grade, data.serious, data.relationship, add)
    onset = data.onset_date
    if onset is None:
        add("onset_date", _("Give the date of onset."))
    elif onset > today:
        add("onset_date", _("The onset cannot be in the future."))
    else:
        consent_day = min((timezone.localtime(c.signed_at).date() for c in participant.screening.consents.all()),
                          default=None)
        start = max(day for day in (participant.enrolled_on, consent_day) if day is not None)
        if onset < start:
            add("onset_date", _("The onset %(onset)s is before consent and enrolment (%(start)s): an event of the "
                                "study starts on or after %(start)s.") % {"onset": onset.isoformat(),
                                                                         "start": start.isoformat()})
    resolved = data.resolution_date
    if resolved is not None:
        if resolved > today:
            add("resolution_date", _("The resolution date cannot be in the future."))
        elif onset is not None and resolved < onset:
            add("resolution_date", _("The event resolves before its onset."))
    if data.resolved_to_grade1_within_48h and data.category != AdverseEventCategory.FEVER:
        add("resolved_to_grade1_within_48h",
            _("Only a fever is judged on resolving to grade 1 within 48 h (CLINICAL_RULES.md section 4)."))
    if data.platelet_drop_confirmed and data.category != AdverseEventCategory.HAEMATOLOGICAL:
        add("platelet_drop_confirmed", _("A platelet fall is a haematological event: use that category."))
    return errors


def adverse_event_record(*, participant, data: AdverseEventInput, by, password: str = "",
                         today: date | None = None, now: datetime | None = None) -> AdverseEvent:
    """Record an adverse event with its CTCAE grade, seriousness and attribution (sections 3-4).

    Coordinators and investigators of the participant's site (`Action.CAPTURE`). The term is one
    of the CTCAE v5.0 list (`followup/ctcae_terms.yaml`, stored in its CTCAE spelling) or, with
    `term_other`, an event the list does not name. Every bad field is named; a refused event
    writes nothing. Whether it is a DLT is computed when read
    (`dosing.selectors.adverse_event_dlt`), from these fields and the participant's DLT window.

    Grade, seriousness and causality are the investigator's judgement: the event is a draft
    (counting nowhere: no DLT, no outcome) until an investigator of the site confirms it with
    their signature (`adverse_event_confirm`). An investigator who records it with their own
    `password` confirms it at once (signed, `trials.signatures.check_signature`; a wrong
    password is 403 and writes nothing); without it their event is a draft too. A coordinator
    does not sign (403 when a password is sent). A serious draft starts its 24-hour SAE reporting
    clock at once (`site_aware_at`): safety reporting does not wait for the signature.
    """
    from trials.errors import ServiceError

    today = today or timezone.localdate()
    now = now or timezone.now()
    require(by, Action.CAPTURE, [participant.site_id])
    errors = _validate_adverse_event(participant, data, today)
    if errors:
        raise ServiceError(errors)
    signed = bool(password)
    if signed:
        if not can(by, Action.SIGN, [participant.site_id]):
            raise SignatureRefused(_("Only an investigator of the site signs an adverse event; record it without a "
                                     "password, as a draft for the investigator to confirm."))
        check_signature(by, password, refused=_("The password is not correct: the adverse event was not recorded."))
    term, term_other = _ctcae_term(data.term.strip())
    event = AdverseEvent(
        participant=participant, term=term, term_other=term_other, category=data.category,
        onset_date=data.onset_date,
        resolution_date=data.resolution_date, grade=data.grade, serious=data.serious,
        relationship=data.relationship, resolved_to_grade1_within_48h=data.resolved_to_grade1_within_48h,
        stopped_infusions=data.stopped_infusions, platelet_drop_confirmed=data.platelet_drop_confirmed,
        description=(data.description or "").strip(), reported_by=by,
        seriousness=list(data.seriousness or []), action_taken=data.action_taken or "", outcome=data.outcome or "",
        status="confirmed" if signed else "draft",
    )
    if signed:
        event.confirmed_by, event.confirmed_at, event.confirmation_meaning = by, now, str(ADVERSE_EVENT_MEANING)
    event.site_aware_at = data.site_aware_at if data.site_aware_at is not None else now
    with transaction.atomic():
        audited_save(event, by=by, reason=_("Adverse event recorded and confirmed, signed by the investigator")
                     if signed else _("Adverse event recorded as a draft for the investigator to confirm"))
    return event


# ---------------------------------------------------------------------------------------------
# A visit or timed sample done (or missed)
# ---------------------------------------------------------------------------------------------

def visit_record(*, visit: Visit, done_at: datetime | None, deviation_reason: str = "", by,
                 now: datetime | None = None) -> Visit:
    """Mark a visit done (a timed sample collected) at the time it happened.

    Outside its window it is still recorded, flagged as a protocol deviation with a required
    reason (CLINICAL_RULES.md section 8). Nothing is dated before consent and enrolment.
    """
    from trials.errors import ConflictError, ServiceError

    from .schedule import PlannedVisit, visit_status

    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    participant = visit.participant
    if done_at is None:
        errors["done_at"] = [_("Give the date and time it was done.")]
    elif done_at > now:
        errors["done_at"] = [_("A visit cannot be done in the future.")]
    elif timezone.localtime(done_at).date() < participant.enrolled_on:
        errors["done_at"] = [_("A visit cannot be dated before enrolment.")]
    if errors:
        raise ServiceError(errors)
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
        locked = Visit.objects.select_for_update().select_related("participant").get(pk=visit.pk)
        if locked.state != "upcoming":
            raise ConflictError({"non_field_errors": [_("%(code)s is already recorded as %(state)s.") % {
                "code": visit.code, "state": locked.get_state_display().lower()}]})
        visit.state, visit.done_at = "done", done_at
        visit.deviation, visit.deviation_reason = deviation, (deviation_reason or "").strip() if deviation else ""
        audited_save(visit, by=by, reason=_("%(code)s done") % {"code": visit.code})
    return visit


def visit_miss(*, visit: Visit, reason: str, by, now: datetime | None = None) -> Visit:
    """Record a visit (a timed sample) as missed, with the reason; only once its window has closed
    (`trials.dates.window_closed`): until then it can still be done."""
    from trials.errors import ConflictError, ServiceError

    now = now or timezone.now()
    if not (reason or "").strip():
        raise ServiceError({"reason": [_("Say why the visit or sample was missed.")]})
    if not dates.window_closed(visit.window_end, now=now):
        shown = "%Y-%m-%d %H:%M" if visit.timed else "%Y-%m-%d"
        raise ServiceError({"missed": [_("%(code)s can still be done until %(end)s: it is missed only once its "
                                         "window has closed.") % {
            "code": visit.code, "end": timezone.localtime(visit.window_end).strftime(shown)}]})
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.state != "upcoming":
            raise ConflictError({"non_field_errors": [_("%(code)s is already recorded as %(state)s.") % {
                "code": visit.code, "state": locked.get_state_display().lower()}]})
        visit.state, visit.missed_reason = "missed", reason.strip()
        audited_save(visit, by=by, reason=_("%(code)s missed") % {"code": visit.code})
    return visit


# ---------------------------------------------------------------------------------------------
# Assessment capture: a visit's (or an unscheduled) labs, bleeding, transfusions, rescue therapy
# ---------------------------------------------------------------------------------------------

@dataclass
class AssessmentInput:
    """An assessment as entered. `labs` are `enrollment.services.LabInput`s or dicts with analyte,
    value, unit and optional lln/uln (the reporting lab's range, in the unit of the value);
    `transfusions` [{kind, date}], `rescue_therapies` [{therapy, start, end}],
    `concomitant_medications` [{name, dose, start, end}]; dates as `date` or ISO text."""

    date: date | None = None
    visit: str | None = None
    labs: list = field(default_factory=list)
    bleeding_grade: int | None = None
    transfusions: list = field(default_factory=list)
    rescue_therapies: list = field(default_factory=list)
    concomitant_medications: list = field(default_factory=list)
    virology: dict = field(default_factory=dict)
    immune_panel: dict = field(default_factory=dict)
    notes: str = ""
    deviation_reason: str = ""
    steroid_mg_per_day: Decimal | float | str | None = None
    steroid_drug: str | None = None
    steroid_dose_mg_per_day: Decimal | float | str | None = None


class _Keep:
    """The value of a field that a correction leaves as it is (`assessment_update`, `adverse_event_update`)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def _as_date(value):
    """A date from a `date` or ISO text; None when empty; ValueError when it is not a date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class _AssessmentErrors(dict):
    def add(self, path: str, message) -> None:
        self.setdefault(path, []).append(str(message))

    def day(self, path: str, value, *, required: bool, today: date):
        """The date at `path`, or None with the problem recorded."""
        try:
            day = _as_date(value)
        except (TypeError, ValueError):
            self.add(path, _("Give a date as YYYY-MM-DD."))
            return None
        if day is None:
            if required:
                self.add(path, _("Give the date."))
            return None
        if day > today:
            self.add(path, _("A date cannot be in the future."))
            return None
        return day


def _assessment_visit(participant, code, assessment_date, deviation_reason, now, errors, current_visit_id=None):
    """The participant's visit `code` if it can take this assessment, whether it is a deviation and
    the deviation reason to keep. The visit an assessment being corrected is already linked to
    (`current_visit_id`) may stay linked, done; outside its window it keeps its recorded reason
    unless a new one is given."""
    from .schedule import PlannedVisit, visit_status

    if code in (None, ""):
        return None, False, ""
    visit = next((v for v in participant.visits.all() if v.code == code), None)
    if visit is None:
        errors.add("visit", _("%(code)s is not one of this participant's visits.") % {"code": code})
        return None, False, ""
    if visit.timed:
        errors.add("visit", _("%(code)s is a timed sample: record it with its time on its own page.") % {"code": code})
        return None, False, ""
    own = current_visit_id is not None and visit.pk == current_visit_id
    if visit.state != "upcoming" and not own:
        errors.add("visit", _("%(code)s is already recorded as %(state)s.") % {
            "code": code, "state": visit.get_state_display().lower()})
        return None, False, ""
    if assessment_date is None:
        return visit, False, ""
    planned = PlannedVisit(code=visit.code, label=visit.code, target=visit.target_at, window_start=visit.window_start,
                           window_end=visit.window_end, provisional=visit.provisional, timed=False)
    done_at = _at_midnight(assessment_date, timezone.get_current_timezone())
    deviation = visit_status(planned, done_at=done_at, missed=False, now=now).deviation
    reason = (deviation_reason or "").strip() or (visit.deviation_reason if own and visit.deviation else "")
    if deviation and not reason:
        errors.add("deviation_reason", _(
            "%(code)s on %(when)s is outside its window %(start)s to %(end)s: give the reason (it is recorded as a "
            "protocol deviation).") % {
            "code": code, "when": assessment_date.isoformat(),
            "start": timezone.localtime(visit.window_start).date().isoformat(),
            "end": timezone.localtime(visit.window_end).date().isoformat()})
    return visit, deviation, reason if deviation else ""


def _assessment_labs(labs, errors) -> list[dict]:
    from enrollment.services import LabInput, _convert_labs

    entries = []
    for index, lab in enumerate(labs):
        if isinstance(lab, LabInput):
            entries.append(lab)
        elif isinstance(lab, dict):
            entries.append(LabInput(analyte=lab.get("analyte"), value=lab.get("value"), unit=lab.get("unit") or "",
                                    lln=lab.get("lln"), uln=lab.get("uln")))
        else:
            errors.add(f"labs.{index}", _("Give the analyte, value and unit."))
            entries.append(LabInput(analyte=f"#{index}", value=None, unit=""))
    return [row for row in _convert_labs(entries, errors) if not row["analyte"].startswith("#")]


def _assessment_items(data: AssessmentInput, today: date, errors) -> tuple[list, list]:
    from .models import RescueTherapyKind, TransfusionKind

    transfusions, rescues = [], []
    for index, item in enumerate(data.transfusions or []):
        path = f"transfusions.{index}"
        item = item if isinstance(item, dict) else {}
        if item.get("kind") not in TransfusionKind.values:
            errors.add(f"{path}.kind", _("Use one of %(codes)s.") % {"codes": ", ".join(TransfusionKind.values)})
        day = errors.day(f"{path}.date", item.get("date"), required=True, today=today)
        transfusions.append({"kind": item.get("kind"), "date": day})
    for index, item in enumerate(data.rescue_therapies or []):
        path = f"rescue_therapies.{index}"
        item = item if isinstance(item, dict) else {}
        if item.get("therapy") not in RescueTherapyKind.values:
            errors.add(f"{path}.therapy", _("Use one of %(codes)s.") % {"codes": ", ".join(RescueTherapyKind.values)})
        start = errors.day(f"{path}.start", item.get("start"), required=True, today=today)
        end = errors.day(f"{path}.end", item.get("end"), required=False, today=today)
        if start and end and end < start:
            errors.add(f"{path}.end", _("The therapy ends before it starts."))
        rescues.append({"therapy": item.get("therapy"), "start": start, "end": end})
    return transfusions, rescues


def _assessment_panels(data: AssessmentInput, today: date, errors) -> tuple[list, dict, dict]:
    """Concomitant medications, virology and immune panel as stored (JSON, dates as ISO text)."""
    from .models import IMMUNE_PANEL, VIROLOGY_TESTS, VirologyResult

    medications = []
    for index, item in enumerate(data.concomitant_medications or []):
        path = f"concomitant_medications.{index}"
        item = item if isinstance(item, dict) else {}
        name = str(item.get("name") or "").strip()
        if not name:
            errors.add(f"{path}.name", _("Give the medication's name."))
        start = errors.day(f"{path}.start", item.get("start"), required=False, today=today)
        end = errors.day(f"{path}.end", item.get("end"), required=False, today=today)
        if start and end and end < start:
            errors.add(f"{path}.end", _("The medication ends before it starts."))
        medications.append({"name": name, "dose": str(item.get("dose") or "").strip(),
                            "start": start.isoformat() if start else None, "end": end.isoformat() if end else None})
    virology = {}
    for test, result in (data.virology or {}).items():
        if test not in VIROLOGY_TESTS:
            errors.add(f"virology.{test}", _("Unknown test; use one of %(codes)s.") % {"codes": ", ".join(VIROLOGY_TESTS)})
        elif result not in VirologyResult.values:
            errors.add(f"virology.{test}", _("Use one of %(codes)s.") % {"codes": ", ".join(VirologyResult.values)})
        else:
            virology[test] = result
    panel = {}
    for cell, value in (data.immune_panel or {}).items():
        if cell not in IMMUNE_PANEL:
            errors.add(f"immune_panel.{cell}", _("Unknown cell type; use one of %(codes)s.") % {
                "codes": ", ".join(IMMUNE_PANEL)})
        elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            errors.add(f"immune_panel.{cell}", _("Give a percentage of lymphocytes from 0 to 100."))
        else:
            panel[cell] = float(value)
    return medications, virology, panel


def _lab_ranges(participant, labs: list[dict], on: date | None) -> None:
    """Each lab's range used: the report's limits, a missing one from the site's range for the
    participant's sex and age on the assessment date (as at screening)."""
    from enrollment.eligibility import age_in_years
    from enrollment.selectors import site_reference_range
    from trials.models import ReferenceRange

    screening = participant.screening
    age = age_in_years(screening.birth_date, on) if screening.birth_date and on and on >= screening.birth_date else None
    ranges = list(ReferenceRange.objects.filter(site_id=participant.site_id)) if labs else []
    for index, lab in enumerate(labs):
        found = site_reference_range(ranges, lab["analyte"], screening.sex or None, age)
        site_lln, site_uln = (found.lln, found.uln) if found else (None, None)
        conflict = mixed_range_conflict(lab["report_lln"], lab["report_uln"], site_lln, site_uln)
        if conflict:
            from trials.errors import ServiceError

            raise ServiceError({f"labs.{index}.{conflict}": [mixed_range_message(
                lab["analyte"], conflict, lab["report_lln"], lab["report_uln"], site_lln, site_uln)]})
        lln = lab["report_lln"] if lab["report_lln"] is not None else site_lln
        uln = lab["report_uln"] if lab["report_uln"] is not None else site_uln
        from_report = lab["report_lln"] is not None or lab["report_uln"] is not None
        from_site = (lab["report_lln"] is None and site_lln is not None) or (lab["report_uln"] is None and site_uln is not None)
        lab["lln"], lab["uln"] = lln, uln
        lab["range_source"] = "+".join(name for name, used in (("report", from_report), ("site", from_site)) if used)


@dataclass
class _ValidAssessment:
    """An assessment's values once every field checked. A list left as it is by a correction is None."""

    day: date | None
    visit: Visit | None
    deviation: bool
    deviation_reason: str
    bleeding_grade: int | None
    steroid_mg_per_day: Decimal | None
    steroid_drug: str
    steroid_dose_mg_per_day: Decimal | None
    labs: list[dict] | None
    transfusions: list[dict] | None
    rescue_therapies: list[dict] | None
    medications: list | None
    virology: dict | None
    immune_panel: dict | None
    notes: str


def _assessment_validate(participant, data: AssessmentInput, *, now: datetime, errors: _AssessmentErrors,
                         current_visit_id: int | None = None) -> _ValidAssessment:
    """Every field of an assessment, as recorded (`assessment_record`) or corrected
    (`assessment_update`), checked with the same rules; each problem is added to `errors` under
    its path. A list given as None (a correction that does not give it) is not checked and stays None."""
    today = timezone.localtime(now).date()
    day = errors.day("date", data.date, required=True, today=today)
    if day is not None and participant.enrolled_on and day < participant.enrolled_on:
        errors.add("date", _("An assessment cannot be dated before enrolment (%(day)s).") % {
            "day": participant.enrolled_on.isoformat()})
        day = None
    visit, deviation, deviation_reason = _assessment_visit(participant, data.visit, day, data.deviation_reason, now,
                                                           errors, current_visit_id=current_visit_id)
    grade = data.bleeding_grade
    if grade is not None and (isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 4):
        errors.add("bleeding_grade", _("The WHO bleeding grade is a whole number from 0 to 4."))
    else:
        require_bleeding_grade(participant, grade, errors)
    drug, drug_dose, steroid = steroid_dose(data.steroid_drug, data.steroid_dose_mg_per_day, data.steroid_mg_per_day,
                                            errors)
    labs = None if data.labs is None else _assessment_labs(data.labs, errors)
    transfusions, rescues = _assessment_items(data, today, errors)
    medications, virology, panel = _assessment_panels(data, today, errors)
    return _ValidAssessment(
        day=day, visit=visit, deviation=deviation, deviation_reason=deviation_reason, bleeding_grade=grade,
        steroid_mg_per_day=steroid, steroid_drug=drug, steroid_dose_mg_per_day=drug_dose, labs=labs,
        transfusions=None if data.transfusions is None else transfusions,
        rescue_therapies=None if data.rescue_therapies is None else rescues,
        medications=None if data.concomitant_medications is None else medications,
        virology=None if data.virology is None else virology,
        immune_panel=None if data.immune_panel is None else panel,
        notes=(data.notes or "").strip())


def assessment_record(*, participant, data: AssessmentInput, by, now: datetime | None = None):
    """Record an assessment: labs in SI with the value as entered and the range used (CLINICAL_RULES.md
    section 7), WHO bleeding grade (section 1), the daily corticosteroid dose (prednisone
    equivalent, section 1: corticosteroid dependence), transfusions, rescue therapy, concomitant
    medications, virology, immune panel; and mark its visit done on that date.

    Coordinators and investigators of the participant's site (`Action.CAPTURE`). Everything is
    validated first and every bad field named (`labs.2.value`, `transfusions.0.date`, ...); a
    refused assessment writes nothing. A visit done outside its window needs `deviation_reason`
    (section 8), as in `visit_record`, which marks it done in the same transaction.
    """
    from trials.errors import ServiceError

    from .models import Assessment, LabResult, RescueTherapy, Transfusion

    now = now or timezone.now()
    require(by, Action.CAPTURE, [participant.site_id])
    errors = _AssessmentErrors()
    valid = _assessment_validate(participant, data, now=now, errors=errors)
    if errors:
        raise ServiceError(dict(errors))

    day, visit, labs = valid.day, valid.visit, valid.labs or []
    _lab_ranges(participant, labs, day)
    reason = _("Assessment recorded")
    assessment = Assessment(participant=participant, visit=visit, date=day, bleeding_grade=valid.bleeding_grade,
                            steroid_mg_per_day=valid.steroid_mg_per_day, steroid_drug=valid.steroid_drug,
                            steroid_dose_mg_per_day=valid.steroid_dose_mg_per_day,
                            concomitant_medications=valid.medications or [], virology=valid.virology or {},
                            immune_panel=valid.immune_panel or {}, notes=valid.notes, recorded_by=by)
    children = {
        "labs": [LabResult(assessment=assessment, **_lab_fields(lab)) for lab in labs],
        "transfusions": [Transfusion(assessment=assessment, **row) for row in valid.transfusions or []],
        "rescue_therapies": [RescueTherapy(assessment=assessment, **row) for row in valid.rescue_therapies or []],
    }
    with transaction.atomic():
        audited_save(assessment, by=by, reason=reason)
        for rows in children.values():
            if rows:
                bulk_create_with_history(rows, type(rows[0]), default_user=by, default_change_reason=reason)
        if visit is not None:
            visit_record(visit=visit, done_at=_at_midnight(day, timezone.get_current_timezone()),
                         deviation_reason=valid.deviation_reason, by=by, now=now)
        adverse_event_suggest(participant=participant, labs=children["labs"], onset=day, by=by, now=now)
        queue_outcomes(participant.study_id)
    # Returned with its rows loaded, as `prefetch_related` would, so that showing it reads nothing more.
    assessment._prefetched_objects_cache = children
    return assessment


# ---------------------------------------------------------------------------------------------
# Correcting a recorded assessment, with the reason
# ---------------------------------------------------------------------------------------------

LAB_FIELDS = ("analyte", "value", "entered_value", "entered_unit", "report_lln", "report_uln", "lln", "uln",
              "range_source")
ASSESSMENT_CORRECTORS = frozenset({"coordinator"})


def _lab_fields(lab: dict) -> dict:
    return {key: lab[key] for key in LAB_FIELDS if key in lab}


def assessment_can_correct(user, participant) -> bool:
    """Whether `user` corrects the participant's assessments: a coordinator of the participant's
    site. Investigators and monitors read them; the site's data entry stays with the coordinator."""
    from trials.scoping import site_roles

    return site_roles(user).get(participant.site_id) in ASSESSMENT_CORRECTORS


def _same(old, new) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return old is not None and new is not None and math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)
    return old == new


def _lab_changes(assessment, current: list, wanted: list[dict]) -> tuple[list, list, list]:
    """(added, changed, removed) LabResult rows that turn `current` into `wanted` (one row per analyte)."""
    from .models import LabResult

    by_analyte = {lab.analyte: lab for lab in current}
    added, changed = [], []
    for row in wanted:
        fields_ = _lab_fields(row)
        lab = by_analyte.pop(row["analyte"], None)
        if lab is None:
            added.append(LabResult(assessment=assessment, **fields_))
        elif not all(_same(getattr(lab, key), value) for key, value in fields_.items()):
            for key, value in fields_.items():
                setattr(lab, key, value)
            changed.append(lab)
    return added, changed, list(by_analyte.values())


def _item_changes(current: list, wanted: list[dict]) -> tuple[list[dict], list, list]:
    """(to add, to delete, kept) turning the rows `current` into the entries `wanted`, matched on their values."""
    remaining = list(current)
    added, kept = [], []
    for entry in wanted:
        match = next((row for row in remaining if all(getattr(row, key) == value for key, value in entry.items())),
                     None)
        if match is None:
            added.append(entry)
        else:
            remaining.remove(match)
            kept.append(match)
    return added, remaining, kept


def _assessment_kept(data: AssessmentInput, assessment, visit_code: str | None) -> AssessmentInput:
    """`data` with each `KEEP` replaced by the assessment's value (None for a list: left as it is)."""
    kept = {"date": assessment.date, "visit": visit_code, "bleeding_grade": assessment.bleeding_grade,
            "steroid_mg_per_day": assessment.steroid_mg_per_day, "notes": assessment.notes, "deviation_reason": "",
            "steroid_drug": assessment.steroid_drug, "steroid_dose_mg_per_day": assessment.steroid_dose_mg_per_day}
    # The dose is either the drug and its dose or the prednisone equivalent: a correction giving one
    # form replaces the other; a drug kept recomputes its equivalent.
    drug_given = data.steroid_drug is not KEEP or data.steroid_dose_mg_per_day is not KEEP
    if drug_given and data.steroid_mg_per_day is KEEP:
        kept["steroid_mg_per_day"] = None
    elif data.steroid_mg_per_day is not KEEP and not drug_given:
        kept["steroid_drug"], kept["steroid_dose_mg_per_day"] = "", None
    elif assessment.steroid_drug and data.steroid_mg_per_day is KEEP:
        kept["steroid_mg_per_day"] = None
    return AssessmentInput(**{
        f.name: kept.get(f.name) if getattr(data, f.name) is KEEP else getattr(data, f.name) for f in fields(data)})


def _visit_release(visit: Visit, *, by, reason: str) -> None:
    """The visit an assessment no longer belongs to is upcoming again (a planned visit not yet done)."""
    visit.state, visit.done_at, visit.deviation, visit.deviation_reason = "upcoming", None, False, ""
    audited_save(visit, by=by, reason=reason)


def assessment_update(*, assessment, data: AssessmentInput, reason: str, by, now: datetime | None = None):
    """Correct a recorded assessment, with the reason kept in the audit trail.

    A coordinator of the participant's site (`assessment_can_correct`). `data` is validated as
    `assessment_record` validates it (`_assessment_validate`); a field given as `KEEP` stays as
    it is, and a list given (labs, transfusions, rescue therapies, concomitant medications,
    virology, immune panel) replaces the recorded one: labs are added, changed or removed per
    analyte, transfusions and rescue therapies added or removed per entry, each change with its own
    history row carrying the reason. The visit link and the date may change, with the window and
    deviation rules of recording (section 8): a visit left becomes upcoming again, a new one is
    marked done, the same visit is re-dated. New or changed labs suggest adverse events as at
    recording (no second draft of an open term). One transaction, the assessment row locked;
    outcomes are recomputed after commit. Nothing changed: nothing is written.
    """
    from django.core.exceptions import PermissionDenied
    from django.db.models import prefetch_related_objects

    from trials.errors import ServiceError

    from .models import Assessment, RescueTherapy, Transfusion

    now = now or timezone.now()
    participant = assessment.participant
    if not assessment_can_correct(by, participant):
        raise PermissionDenied(_("Only a coordinator of the participant's site corrects an assessment."))
    reason = (reason or "").strip()
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        locked = (Assessment.objects.select_for_update()
                  .prefetch_related("labs", "transfusions", "rescue_therapies").get(pk=assessment.pk))
        prefetch_related_objects([participant], "visits")  # read once, here and by `_assessment_visit`
        old_visit = next((v for v in participant.visits.all() if v.pk == locked.visit_id), None)
        data = _assessment_kept(data, locked, old_visit.code if old_visit else None)
        errors = _AssessmentErrors()
        if not reason:
            errors.add("reason", _("Say why the assessment is corrected (kept in the audit trail)."))
        elif reason_length_error(reason):
            errors.add("reason", reason_length_error(reason))
        valid = _assessment_validate(participant, data, now=now, errors=errors, current_visit_id=locked.visit_id)
        if errors:
            raise ServiceError(dict(errors))

        current_labs = list(locked.labs.all())
        added = changed = removed = []
        if valid.labs is not None or valid.day != locked.date:
            # A new date may change the site range that applies (the participant's age): re-resolve.
            wanted = valid.labs if valid.labs is not None else [
                {key: getattr(lab, key) for key in LAB_FIELDS[:6]} for lab in current_labs]
            _lab_ranges(participant, wanted, valid.day)
            added, changed, removed = _lab_changes(locked, current_labs, wanted)
        new_transfusions, old_transfusions, kept_transfusions = _item_changes(
            list(locked.transfusions.all()), valid.transfusions if valid.transfusions is not None
            else [{"kind": t.kind, "date": t.date} for t in locked.transfusions.all()])
        new_rescues, old_rescues, kept_rescues = _item_changes(
            list(locked.rescue_therapies.all()), valid.rescue_therapies if valid.rescue_therapies is not None
            else [{"therapy": r.therapy, "start": r.start, "end": r.end} for r in locked.rescue_therapies.all()])

        scalars = {"date": valid.day, "visit_id": valid.visit.pk if valid.visit else None,
                   "bleeding_grade": valid.bleeding_grade, "steroid_mg_per_day": valid.steroid_mg_per_day,
                   "steroid_drug": valid.steroid_drug, "steroid_dose_mg_per_day": valid.steroid_dose_mg_per_day,
                   "notes": valid.notes}
        for name, value in (("concomitant_medications", valid.medications), ("virology", valid.virology),
                            ("immune_panel", valid.immune_panel)):
            if value is not None:
                scalars[name] = value
        new_visit = valid.visit
        redated = (new_visit is not None and old_visit is not None and new_visit.pk == old_visit.pk
                   and (new_visit.done_at != _at_midnight(valid.day, tz) or new_visit.deviation != valid.deviation
                        or (valid.deviation and new_visit.deviation_reason != valid.deviation_reason)))
        if not (any(getattr(locked, name) != value for name, value in scalars.items()) or added or changed or removed
                or new_transfusions or old_transfusions or new_rescues or old_rescues or redated):
            return locked

        if old_visit is not None and (new_visit is None or new_visit.pk != old_visit.pk):
            _visit_release(old_visit, by=by, reason=reason)
        for name, value in scalars.items():
            setattr(locked, name, value)
        audited_save(locked, by=by, reason=reason)
        if added:
            bulk_create_with_history(added, type(added[0]), default_user=by, default_change_reason=reason)
        if changed:
            bulk_update_with_history(changed, type(changed[0]), [key for key in LAB_FIELDS if key != "analyte"],
                                     default_user=by, default_change_reason=reason)
        for row in (*removed, *old_transfusions, *old_rescues):
            audited_delete(row, by=by, reason=reason)
        transfusions = [Transfusion(assessment=locked, **entry) for entry in new_transfusions]
        rescues = [RescueTherapy(assessment=locked, **entry) for entry in new_rescues]
        for rows in (transfusions, rescues):
            if rows:
                bulk_create_with_history(rows, type(rows[0]), default_user=by, default_change_reason=reason)
        if new_visit is not None and (old_visit is None or new_visit.pk != old_visit.pk):
            visit_record(visit=new_visit, done_at=_at_midnight(valid.day, tz), deviation_reason=valid.deviation_reason,
                         by=by, now=now)
        elif redated:
            new_visit.done_at = _at_midnight(valid.day, tz)
            new_visit.deviation, new_visit.deviation_reason = valid.deviation, valid.deviation_reason
            audited_save(new_visit, by=by, reason=reason)
        adverse_event_suggest(participant=participant, labs=[*added, *changed], onset=valid.day, by=by, now=now)
        queue_outcomes(participant.study_id)
    locked.visit = new_visit
    kept_labs = [lab for lab in current_labs if lab not in removed]
    locked._prefetched_objects_cache = {
        "labs": sorted([*kept_labs, *added], key=lambda lab: lab.analyte),
        "transfusions": sorted([*kept_transfusions, *transfusions], key=lambda t: (t.date, t.pk or 0)),
        "rescue_therapies": sorted([*kept_rescues, *rescues], key=lambda r: (r.start, r.pk or 0)),
    }
    return locked


# ---------------------------------------------------------------------------------------------
# Lab-derived adverse-event suggestions (CLINICAL_RULES.md section 3, `followup/grading.py`)
# ---------------------------------------------------------------------------------------------

GRADED_ANALYTES = {"HGB": AdverseEventCategory.HAEMATOLOGICAL, "PLT": AdverseEventCategory.HAEMATOLOGICAL,
                   "ANC": AdverseEventCategory.HAEMATOLOGICAL, "ALT": AdverseEventCategory.NON_HAEMATOLOGICAL,
                   "AST": AdverseEventCategory.NON_HAEMATOLOGICAL, "TBIL": AdverseEventCategory.NON_HAEMATOLOGICAL,
                   "CREAT": AdverseEventCategory.NON_HAEMATOLOGICAL}


def _baselines_and_open_drafts(participant, analytes, terms) -> tuple[dict, set]:
    """The screening values {analyte: (value, lln, uln)} and the terms of the open drafts, in one query
    (the assessment's query budget)."""
    from django.db.models import CharField, FloatField, Value

    from enrollment.models import ScreeningLab

    labs = (ScreeningLab.objects.filter(screening_id=participant.screening_id, analyte__in=analytes).order_by()
            .annotate(kind=Value("lab", output_field=CharField()))
            .values_list("kind", "analyte", "value", "lln", "uln"))
    none = Value(None, output_field=FloatField())
    drafts = (AdverseEvent.objects.filter(participant_id=participant.pk, status="draft", term__in=terms).order_by()
              .annotate(kind=Value("draft", output_field=CharField()), v1=none, v2=none, v3=none)
              .values_list("kind", "term", "v1", "v2", "v3"))
    baselines, open_terms = {}, set()
    for kind, name, value, lln, uln in labs.union(drafts, all=True):
        if kind == "lab":
            baselines[name] = (value, lln, uln)
        else:
            open_terms.add(name)
    return baselines, open_terms


def adverse_event_suggest(*, participant, labs, onset: date, by, now: datetime | None = None) -> list[AdverseEvent]:
    """Draft adverse events for the labs CTCAE grades as a suggestion (`grading.suggest_adverse_event`).

    The baseline is the participant's screening value of the analyte. Blood counts suggest only
    when worse than the baseline grade; liver and renal tests from grade 1 (the abnormal-baseline
    branch of the table applies). The lab's own range is used, the screening lab's where the
    assessment lab has none; a lab that cannot be graded (no range known) suggests nothing. No
    second draft is opened while a draft of the same term is open. Called inside the caller's
    transaction; the investigator confirms or dismisses each draft.
    """
    from . import grading

    graded = [lab for lab in labs if lab.analyte in GRADED_ANALYTES]
    if not graded:
        return []
    baselines, open_terms = _baselines_and_open_drafts(
        participant, {lab.analyte for lab in graded}, {grading.CTCAE_V5.terms[lab.analyte].term for lab in graded})
    suggestions = []
    for lab in graded:
        value, base_lln, base_uln = baselines.get(lab.analyte, (None, None, None))
        lln = lab.lln if lab.lln is not None else base_lln
        uln = lab.uln if lab.uln is not None else base_uln
        try:
            found = grading.suggest_adverse_event(lab.analyte, lab.value, lln=lln, uln=uln, baseline_value=value)
        except ValueError:
            continue  # no reference range to grade against
        if found is not None:
            suggestions.append((lab.analyte, found))
    if not suggestions:
        return []
    rows = []
    for analyte, found in suggestions:
        if found.term in open_terms:
            continue
        open_terms.add(found.term)
        rows.append(AdverseEvent(
            participant=participant, term=found.term, category=GRADED_ANALYTES[analyte], onset_date=onset,
            status="draft", suggested_grade=found.grade, suggestion=found.explanation, reported_by=by,
            site_aware_at=now or timezone.now()))
    if rows:
        rows = bulk_create_with_history(rows, AdverseEvent, default_user=by,
                                        default_change_reason=_("Suggested from a lab value"))
    return rows


# ---------------------------------------------------------------------------------------------
# The investigator confirms or dismisses a draft (a suggestion or an infusion reaction)
# ---------------------------------------------------------------------------------------------

def _locked_draft(event: AdverseEvent) -> AdverseEvent:
    from trials.errors import ConflictError

    locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if locked.status != "draft":
        raise ConflictError({"non_field_errors": [_("This adverse event is already %(status)s.") % {
            "status": locked.status}]})
    return locked


def adverse_event_confirm(*, event: AdverseEvent, grade, serious, relationship, seriousness=(), action_taken: str = "",
                          outcome: str = "", password: str = "", by, now: datetime | None = None) -> AdverseEvent:
    """The investigator grades and attributes a draft (`Action.SIGN`) and signs it with their own
    password (`trials.signatures.check_signature`: a wrong or missing one is 403 and writes
    nothing). The confirmed grade is what counts, and may differ from the suggested or the
    coordinator's one (CLINICAL_RULES.md section 3). The signature (who, when, the meaning
    `trials.signatures.ADVERSE_EVENT_MEANING`) is stored with the event. A draft that is not a
    draft any more is a conflict (409)."""
    from trials.errors import ServiceError

    now = now or timezone.now()
    require(by, Action.SIGN, [event.participant.site_id])
    errors: dict[str, list[str]] = {}

    def add(path: str, message) -> None:
        errors.setdefault(path, []).append(str(message))

    _validate_judgement(grade, serious, relationship, add)
    _validate_seriousness(grade, serious, list(seriousness or []), action_taken or "", outcome or "", add)
    if errors:
        raise ServiceError(errors)
    with transaction.atomic():
        _locked_draft(event)
        check_signature(by, password, refused=_("The password is not correct: the adverse event was not confirmed."))
        event.status, event.grade, event.serious, event.relationship = "confirmed", grade, serious, relationship
        event.seriousness, event.action_taken, event.outcome = list(seriousness or []), action_taken or "", outcome or ""
        event.confirmed_by, event.confirmed_at, event.confirmation_meaning = by, now, str(ADVERSE_EVENT_MEANING)
        if event.suggested_grade is not None and event.suggested_grade != grade:
            reason = _("Adverse event confirmed and signed at grade %(grade)s (suggested %(suggested)s)") % {
                "grade": grade, "suggested": event.suggested_grade}
        else:
            reason = _("Adverse event confirmed and signed at grade %(grade)s") % {"grade": grade}
        audited_save(event, by=by, reason=reason)
    return event


def adverse_event_dismiss(*, event: AdverseEvent, reason: str, password: str = "", by,
                          now: datetime | None = None) -> AdverseEvent:
    """The investigator dismisses a draft, with the reason (`Action.SIGN`); it then counts nowhere
    (not as a DLT, not as an SAE), so it is signed with their own password as a confirmation is
    (`trials.signatures.check_signature`: a wrong or missing one is 403 and writes nothing). The
    signature (who, when, the meaning `trials.signatures.ADVERSE_EVENT_DISMISSAL_MEANING` with the
    reason) is stored in the event's signature fields. A draft that is not a draft any more is a
    conflict (409)."""
    from trials.errors import ServiceError

    now = now or timezone.now()
    require(by, Action.SIGN, [event.participant.site_id])
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError({"reason": [_("Say why the suggested adverse event is dismissed.")]})
    with transaction.atomic():
        _locked_draft(event)
        check_signature(by, password, refused=_("The password is not correct: the adverse event was not dismissed."))
        event.status, event.dismissed_reason = "dismissed", reason
        event.confirmed_by, event.confirmed_at = by, now
        event.confirmation_meaning = str(ADVERSE_EVENT_DISMISSAL_MEANING) % {"reason": reason}
        audited_save(event, by=by, reason=_("Adverse event dismissed: %(reason)s") % {"reason": reason})
    return event


# ---------------------------------------------------------------------------------------------
# Correcting a confirmed adverse event, with the reason
# ---------------------------------------------------------------------------------------------

# The fields a correction may change; each is validated as at recording (`_validate_adverse_event`).
ADVERSE_EVENT_CORRECTABLE = ("term", "category", "onset_date", "resolution_date", "grade", "serious", "relationship",
                             "resolved_to_grade1_within_48h", "stopped_infusions", "platelet_drop_confirmed",
                             "description", "seriousness", "action_taken", "outcome", "site_aware_at")


def adverse_event_can_change_relationship(user, participant) -> bool:
    """Causality is the investigator's judgement (`Action.SIGN`, as confirming a draft): a
    correction that changes the relationship to treatment is theirs."""

    return can(user, Action.SIGN, [participant.site_id])


# The investigator's signed judgements: a correction that changes one of them is signed again or
# withdraws the signature (`adverse_event_update`).
ADVERSE_EVENT_SIGNED = ("grade", "serious", "seriousness", "relationship")


def adverse_event_signed_changes(event: AdverseEvent, values: dict) -> list[str]:
    """The signed judgements (`ADVERSE_EVENT_SIGNED`) that `values` change (the seriousness
    criteria compared as a set: their order is no judgement)."""
    def same(name):
        if name == "seriousness":
            return set(values[name] or []) == set(getattr(event, name) or [])
        return values[name] == getattr(event, name)

    return [name for name in ADVERSE_EVENT_SIGNED if not same(name)]


def adverse_event_update(*, event: AdverseEvent, data: AdverseEventInput, reason: str, by, password: str = "",
                         today: date | None = None) -> AdverseEvent:
    """Correct a confirmed adverse event, with the reason kept in the audit trail
    (CLINICAL_RULES.md sections 3-4).

    Coordinators and investigators of the participant's site (`Action.CAPTURE`); a change of the
    relationship to treatment, and moving later the time the site learned of a serious event (the
    start of its 24-hour reporting clock), only by an investigator
    (`adverse_event_can_change_relationship`, 403 otherwise). An event made serious without a
    time the site learned of it starts its clock at the correction. Fields given as `KEEP` stay as
    they are; the event as corrected is validated as a recorded one (a term kept as recorded is not checked against the CTCAE list again, so an
    event recorded before the list can still be corrected). A draft is confirmed or dismissed, not
    corrected; a dismissed event is not corrected (409).

    Grade, seriousness, seriousness criteria and relationship are the investigator's signed
    judgement (`ADVERSE_EVENT_SIGNED`): a correction that changes one of them by an investigator of
    the site is signed with their password (`trials.signatures.check_signature`: wrong or missing,
    403 and nothing written) and stores a new signature (signer, time, meaning) on the new values,
    in the same audit row as the change; by a coordinator it withdraws the signature: the event goes
    back to draft (an audit row "Signature withdrawn: <fields> changed by <user>: <reason>" before
    the row of the change, which keeps the reason whole) and waits on the investigators' worklist
    to be confirmed again (a draft counts as no DLT). Other fields are corrected without touching the
    signature. Whether an event is a DLT is computed when read, so the 3+3 counts
    (`dosing.selectors.escalation_state`) follow a corrected grade, attribution or flag at once. The
    row is locked; nothing changed: nothing is written.
    """
    from django.core.exceptions import PermissionDenied

    from trials.errors import ConflictError, ServiceError

    today = today or timezone.localdate()
    participant = event.participant
    require(by, Action.CAPTURE, [participant.site_id])
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
        if locked.status == "dismissed":
            raise ConflictError({"non_field_errors": [_("This adverse event was dismissed; a dismissed event is not "
                                                        "corrected.")]})
        if locked.status != "confirmed":
            raise ConflictError({"non_field_errors": [_("This adverse event is a draft: an investigator confirms or "
                                                        "dismisses it first.")]})
        values = {name: getattr(locked, name) if getattr(data, name) is KEEP else getattr(data, name)
                  for name in ADVERSE_EVENT_CORRECTABLE}
        merged = AdverseEventInput(**values, term_other=bool(data.term_other) and data.term_other is not KEEP)
        if merged.relationship != locked.relationship and not adverse_event_can_change_relationship(by, participant):
            raise PermissionDenied(_("Only an investigator changes the relationship to treatment (causality)."))
        errors = _validate_adverse_event(participant, merged, today, recorded_term=locked.term)
        if not reason:
            errors.setdefault("reason", []).append(_("Say why the adverse event is corrected (kept in the audit "
                                                     "trail)."))
        elif reason_length_error(reason):
            errors.setdefault("reason", []).append(reason_length_error(reason))
        if (locked.sae_reported_at is not None and merged.site_aware_at is not None
                and merged.site_aware_at > locked.sae_reported_at):
            errors.setdefault("site_aware_at", []).append(
                _("The site learned of the event before its SAE report (%(when)s).") % {
                    "when": timezone.localtime(locked.sae_reported_at).strftime("%Y-%m-%d %H:%M")})
        if errors:
            raise ServiceError(errors)
        if (locked.serious and merged.serious and merged.site_aware_at is not None
                and merged.site_aware_at > locked.site_aware_at
                and not adverse_event_can_change_relationship(by, participant)):
            raise PermissionDenied(_("Only an investigator moves later the time the site learned of a serious adverse "
                                     "event: it starts the 24-hour reporting clock."))
        if merged.serious and not locked.serious and data.site_aware_at is KEEP:
            # Now serious: the 24-hour reporting clock starts when the site learns it, unless told when.
            values["site_aware_at"] = timezone.now()
        if merged.term.strip() != locked.term:
            values["term"], values["term_other"] = _ctcae_term(merged.term.strip())
        else:
            values["term"], values["term_other"] = locked.term, locked.term_other
        values.update(description=(merged.description or "").strip(), seriousness=list(merged.seriousness or []),
                      action_taken=merged.action_taken or "", outcome=merged.outcome or "")
        if values["site_aware_at"] is None:
            values["site_aware_at"] = locked.site_aware_at
        changed = {name: value for name, value in values.items() if getattr(locked, name) != value}
        judged = adverse_event_signed_changes(locked, values)
        if judged and adverse_event_can_change_relationship(by, participant):
            # The investigator signs the corrected judgement again: the new signature is on the new values.
            check_signature(by, password, refused=_("The password is not correct: grade, seriousness and relationship "
                                                    "of a signed adverse event change only with your signature."))
            changed.update(confirmed_by=by, confirmed_at=timezone.now(),
                           confirmation_meaning=str(ADVERSE_EVENT_MEANING))
        elif judged and locked.status == "confirmed":
            # Changed by a coordinator: the old signature does not cover the new values. It is withdrawn
            # first (its own audit row), so no row holds the new values under the old signature.
            signature = ["confirmed_by", "confirmed_at", "confirmation_meaning"]
            locked.status, locked.confirmed_by, locked.confirmed_at, locked.confirmation_meaning = "draft", None, None, ""
            audited_save(locked, by=by, update_fields=["status", *signature],
                         reason=_("Signature withdrawn: %(fields)s changed by %(user)s: %(reason)s") % {
                             "fields": ", ".join(judged), "user": by.get_username(), "reason": reason})
        if changed:
            for name, value in changed.items():
                setattr(locked, name, value)
            audited_save(locked, by=by, reason=reason, update_fields=list(changed))
    for name in (*ADVERSE_EVENT_CORRECTABLE, "term_other", "status", "confirmed_by", "confirmed_at",
                 "confirmation_meaning"):
        setattr(event, name, getattr(locked, name))
    return event


def adverse_event_sae_report(*, event: AdverseEvent, reported_at: datetime | None, by,
                             now: datetime | None = None) -> AdverseEvent:
    """Record when a serious adverse event was reported to the sponsor and ethics committee
    (CLINICAL_RULES.md section 3: within 24 hours of the site learning of it).

    Coordinators and investigators of the participant's site (`Action.CAPTURE`). A serious event is
    reported once, a draft as well as a confirmed one (reporting does not wait for the
    investigator's signature), not a dismissed one; `reported_at` (default now) is neither in the future nor
    before the site learned of the event. A report after the deadline is recorded as it happened
    (it shows as late). The row is locked, so two reports at once record one.
    """
    from trials.errors import ConflictError, ServiceError

    now = now or timezone.now()
    reported_at = reported_at or now
    require(by, Action.CAPTURE, [event.participant.site_id])
    if timezone.is_naive(reported_at):
        raise ServiceError({"reported_at": [_("Give the time of the report with its time zone.")]})
    with transaction.atomic():
        locked = (AdverseEvent.objects.select_for_update(of=("self",)).select_related("sae_reported_by")
                  .get(pk=event.pk))
        if locked.sae_reported_at is not None:
            reporter = locked.sae_reported_by.get_username() if locked.sae_reported_by else _("someone")
            raise ConflictError({"non_field_errors": [
                _("This serious adverse event was already reported at %(when)s by %(who)s.") % {
                    "when": timezone.localtime(locked.sae_reported_at).strftime("%Y-%m-%d %H:%M"), "who": reporter}]})
        if locked.status == "dismissed":
            raise ConflictError({"non_field_errors": [
                _("This adverse event was dismissed by the investigator: there is no SAE report.")]})
        if not locked.serious:
            raise ConflictError({"non_field_errors": [_("This adverse event is not serious: there is no SAE report.")]})
        if reported_at > now:
            raise ServiceError({"reported_at": [_("The SAE report cannot be dated in the future.")]})
        if reported_at < locked.site_aware_at:
            raise ServiceError({"reported_at": [
                _("The SAE report cannot be dated before the site learned of the event (%(aware)s).") % {
                    "aware": timezone.localtime(locked.site_aware_at).strftime("%Y-%m-%d %H:%M")}]})
        due = locked.sae_report_due
        when = timezone.localtime(reported_at).strftime("%Y-%m-%d %H:%M")
        reason = (_("SAE reported at %(when)s, after the 24-hour deadline") if due and reported_at > due
                  else _("SAE reported at %(when)s")) % {"when": when}
        # The locked row is written, not the caller's copy, which may be older.
        locked.sae_reported_at, locked.sae_reported_by = reported_at, by
        audited_save(locked, by=by, reason=reason, update_fields=["sae_reported_at", "sae_reported_by"])
    event.sae_reported_at, event.sae_reported_by = reported_at, by
    return event


# ---------------------------------------------------------------------------------------------
# Study outcomes (CLINICAL_RULES.md section 6)
# ---------------------------------------------------------------------------------------------

RESPONDERS = ("CR", "R", "PR")


def _group_key(participant) -> str:
    """Results are per dose level where an arm has several, else per arm."""
    arm = participant.arm
    if participant.dose_level_id and len(arm.dose_levels.all()) > 1:
        return participant.dose_level.code
    return arm.code


def outcomes_compute(*, study, now: datetime | None = None):
    """Treated, evaluable, responders and complete responders per arm or dose level and for all,
    with the rate over the treated and its exact (Clopper-Pearson) and Wilson 95 % CIs, the rate
    over the evaluable set, and the Kaplan-Meier duration of response of the confirmed responders
    (`statistics.duration_of_response_summary`, null without responders). Evaluable = a best
    confirmed response other than NE: a participant with a single unconfirmed NR count (CLINICAL_RULES.md
    section 1, "NR not confirmed") is treated but not evaluable, so the rate over the treated
    counts them as non-responders and the rate over the evaluable leaves them out. Stored as the study's
    snapshot (one row, replaced). A fixed number of queries whatever the number of participants."""
    from enrollment.models import Participant

    from .models import OutcomeSnapshot
    from .selectors import ResponseNotAvailable, participant_response, response_prefetch
    from .statistics import duration_of_response_summary, proportion

    now = now or timezone.now()
    from trials.models import StudyDisease

    sets = {d.disease: d for d in StudyDisease.objects.filter(study=study).select_related("response_criteria")}
    participants = (Participant.objects.filter(study=study).select_related("screening", "arm", "dose_level")
                    .prefetch_related("arm__dose_levels", *response_prefetch()))
    tallies: dict[str, dict[str, int]] = {}
    durations: dict[str, list[tuple[int, bool]]] = {}
    for participant in participants:
        try:
            result = participant_response(participant, sets.get(participant.screening.disease))
        except ResponseNotAvailable:
            if not any(i.state == "given" for i in participant.infusions.all()):
                continue  # not treated: outside every denominator
            best, duration = "NE", None
        else:
            best = result.best_confirmed_response
            duration = (None if best not in RESPONDERS or result.duration_of_response_days is None
                        else (result.duration_of_response_days, bool(result.duration_censored)))
        for key in (_group_key(participant), "all"):
            if duration is not None:
                durations.setdefault(key, []).append(duration)
            tally = tallies.setdefault(key, {"treated": 0, "evaluable": 0, "responders": 0, "complete_responders": 0})
            tally["treated"] += 1
            tally["evaluable"] += best != "NE"
            tally["responders"] += best in RESPONDERS
            tally["complete_responders"] += best == "CR"
    groups = []
    for key in sorted(k for k in tallies if k != "all") + (["all"] if "all" in tallies else []):
        tally = tallies[key]
        rate = proportion(tally["responders"], tally["treated"])
        evaluable_rate = proportion(tally["responders"], tally["evaluable"])
        groups.append({
            "group": key, **tally,
            "rate": rate.rate, "ci_exact": list(rate.ci_exact) if rate.ci_exact else None,
            "ci_wilson": list(rate.ci_wilson) if rate.ci_wilson else None,
            "rate_evaluable": evaluable_rate.rate,
            "ci_exact_evaluable": list(evaluable_rate.ci_exact) if evaluable_rate.ci_exact else None,
            "ci_wilson_evaluable": list(evaluable_rate.ci_wilson) if evaluable_rate.ci_wilson else None,
            "duration_of_response": duration_of_response_summary(durations.get(key, [])),
        })
    snapshot, _created = OutcomeSnapshot.objects.update_or_create(study=study, defaults={"computed_at": now,
                                                                                          "groups": groups})
    return snapshot


def outcomes_current(*, study, compute_missing: bool = True):
    """The study's stored outcomes snapshot, recomputed now when it was stored before the duration
    of response was part of it (so no reader sees a partial shape). Without any snapshot it is
    computed now, or with `compute_missing=False` None is returned (the task stores one when the
    first infusion is committed, so none means nobody treated yet)."""
    from .models import OutcomeSnapshot

    snapshot = OutcomeSnapshot.objects.filter(study=study).first()
    if snapshot is None and not compute_missing:
        return None
    if snapshot is None or any("duration_of_response" not in group for group in snapshot.groups):
        snapshot = outcomes_compute(study=study)
    return snapshot


def queue_outcomes(study_id: int) -> None:
    """Recompute the study's outcomes once the current transaction commits."""
    from .tasks import compute_outcomes

    transaction.on_commit(lambda: compute_outcomes.delay(study_id))
