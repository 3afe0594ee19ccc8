"""Adverse events recorded, corrected and reported (CLINICAL_RULES.md sections 3-4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from trials.audit import audited_save
from trials.concurrency import check_version
from trials.errors import ConflictError, Errors, ServiceError
from trials.limits import reason_length_error
from trials.scoping import Action, can, require
from trials.signatures import ADVERSE_EVENT_MEANING, SignatureRefused, check_signature

from ..ctcae_terms import ctcae_terms
from ..data_queries import query_answer_by_correction, query_for_correction
from ..models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventCategory,
    Outcome,
    Relationship,
    SeriousnessCriterion,
)
from ..record_refs import RecordRef
from .keep import KEEP


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


def _labels(choices) -> str:
    """The choices of a field as a user reads them ("Haematological, Non-haematological, ..."),
    never their codes."""
    return ", ".join(str(label) for label in choices.labels)


def _ctcae_term(term: str) -> tuple[str, bool]:
    """(the term as stored, whether it is "other, specify"): in its CTCAE spelling when the list
    names it, else as entered."""
    listed = ctcae_terms().find(term)
    return (listed.term, False) if listed is not None else (" ".join(term.split()), True)


def _validate_term(term: str, term_other: bool, add) -> None:
    """A term of the CTCAE v5.0 list (`followup/ctcae_terms.yaml`), or one the list does not name
    recorded explicitly as "other, specify"."""
    terms = ctcae_terms()
    if term_other or terms.find(term) is not None:
        return
    closest = terms.closest(term)
    message = _("'%(term)s' is not in this product's %(version)s term list (the terms common in these studies). "
                "Choose a listed term or, for an event the list does not name, tick \"Other, specify\".") % {
        "term": term, "version": terms.version}
    if closest:
        message += " " + _("Closest listed terms: %(terms)s.") % {"terms": ", ".join(closest)}
    add("term", message)


def _validate_seriousness(grade, serious, seriousness, action_taken, outcome, add) -> None:
    """Seriousness criteria, action taken and outcome (CLINICAL_RULES.md section 3): a serious event
    names at least one criterion; a grade 5 event (death) has the outcome fatal."""
    if not isinstance(seriousness, list | tuple):
        add("seriousness", _("Give the seriousness criteria as a list."))
        seriousness = []
    unknown = [c for c in seriousness if c not in SeriousnessCriterion.values]
    if unknown:
        add("seriousness", _("Unknown seriousness criteria %(bad)s; choose among: %(choices)s.") % {
            "bad": ", ".join(map(str, unknown)), "choices": _labels(SeriousnessCriterion)})
    elif serious and not seriousness:
        add("seriousness", _("A serious adverse event needs at least one seriousness criterion: %(choices)s.") % {
            "choices": _labels(SeriousnessCriterion)})
    elif serious is False and seriousness:
        add("seriousness", _("Seriousness criteria are given only for a serious event."))
    if action_taken and action_taken not in ActionTaken.values:
        add("action_taken", _("Choose the action taken: %(choices)s.") % {"choices": _labels(ActionTaken)})
    if outcome and outcome not in Outcome.values:
        add("outcome", _("Choose the outcome: %(choices)s.") % {"choices": _labels(Outcome)})
    elif grade == 5 and outcome != Outcome.FATAL:
        add("outcome", _("A grade 5 event (death) has the outcome %(fatal)s.") % {"fatal": Outcome.FATAL.label})
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
        add("relationship", _("Give the relationship to treatment: %(choices)s.") % {
            "choices": _labels(Relationship)})


def _validate_adverse_event(participant, data: AdverseEventInput, today: date,
                            recorded_term: str | None = None) -> dict[str, list[str]]:
    """Every field of an adverse event, as recorded or corrected. The term is checked against the
    CTCAE list unless it is the term already recorded (`recorded_term`, a correction keeping it)."""
    errors = Errors()

    add = errors.add

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
        add("category", _("Choose the category: %(choices)s.") % {"choices": _labels(AdverseEventCategory)})
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
            _("Only a fever is judged on resolving to grade 1 within 48 h (the study's DLT definition)."))
    if data.platelet_drop_confirmed and data.category != AdverseEventCategory.HAEMATOLOGICAL:
        add("platelet_drop_confirmed", _("A platelet fall is a haematological event: choose the category "
                                         "%(category)s.") % {"category": AdverseEventCategory.HAEMATOLOGICAL.label})
    return errors


def adverse_event_problems(*, participant, data: AdverseEventInput, today: date | None = None) -> Errors:
    """What `adverse_event_record` would refuse in `data`, every problem by its path; writes
    nothing. The page calls it on what it could read of an event its form refused (a date that is
    not a date), so that every problem shows at once."""
    return _validate_adverse_event(participant, data, today or timezone.localdate())


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
    today = today or timezone.localdate()
    now = now or timezone.now()
    require(by, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    errors = _validate_adverse_event(participant, data, today)
    errors.raise_if_any()
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
        hold_unlocked(participant)
        audited_save(event, by=by, reason=_("Adverse event recorded and confirmed, signed by the investigator")
                     if signed else _("Adverse event recorded as a draft for the investigator to confirm"))
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
                         today: date | None = None, version: int | None = None, check: bool = True,
                         query=None) -> AdverseEvent:
    """Correct a confirmed adverse event, with the reason kept in the audit trail
    (CLINICAL_RULES.md sections 3-4).

    Coordinators and investigators of the participant's site (`Action.CAPTURE`); a change of the
    relationship to treatment, and moving later the time the site learned of a serious event (the
    start of its 24-hour reporting clock), only by an investigator
    (`adverse_event_can_change_relationship`, 403 otherwise). An event made serious without a
    time the site learned of it starts its clock at the correction. Fields given as `KEEP` stay as
    they are; the event as corrected is validated as a recorded one (a term kept as recorded is
    not checked against the CTCAE list again, so an event recorded before the list can still be
    corrected). A draft is confirmed or dismissed, not corrected; a dismissed event is not
    corrected (409).

    Grade, seriousness, seriousness criteria and relationship are the investigator's signed
    judgement (`ADVERSE_EVENT_SIGNED`): a correction that changes one of them by an investigator of
    the site is signed with their password (`trials.signatures.check_signature`: wrong or missing,
    403 and nothing written) and stores a new signature (signer, time, meaning) on the new values,
    in the same audit row as the change (the correction is made from `version` of the event,
    `trials.concurrency`: 400 without it, 409 when it changed since; only a caller that read the row
    in its own transaction passes `check=False`); by a coordinator it withdraws the signature: the event goes
    back to draft (an audit row "Signature withdrawn: <fields> changed by <user>: <reason>" before
    the row of the change, which keeps the reason whole) and waits on the investigators' worklist
    to be confirmed again (a draft counts as no DLT). Other fields are corrected without touching the
    signature. Whether an event is a DLT is computed when read, so the 3+3 counts
    (`dosing.selectors.escalation_state`) follow a corrected grade, attribution or flag at once. The
    row is locked; nothing changed: nothing is written.

    `query`, the id of an open data query on this event, is answered in the same transaction by
    the reason, the history row of the change linked (`followup.data_queries`): a query of another
    record is refused (400 on `query`), one no longer open too (409), and nothing is written.
    """
    today = today or timezone.localdate()
    participant = event.participant
    require(by, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    reason = (reason or "").strip()
    with transaction.atomic():
        hold_unlocked(participant)
        answering = None
        if query is not None:
            answering = query_for_correction(getattr(query, "pk", query), record_ref=RecordRef(
                "adverse_event", event.pk), by=by)
        since = timezone.now()
        locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
        if check:
            check_version(locked.row_version, version, record=locked,
                          label=_("Adverse event %(term)s") % {"term": locked.shown_term})
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
            errors.add("reason", _("Say why the adverse event is corrected (kept in the audit trail)."))
        elif reason_length_error(reason):
            errors.add("reason", reason_length_error(reason))
        if (locked.sae_reported_at is not None and merged.site_aware_at is not None
                and merged.site_aware_at > locked.sae_reported_at):
            errors.add("site_aware_at", _("The site learned of the event before its SAE report (%(when)s).") % {
                "when": timezone.localtime(locked.sae_reported_at).strftime("%Y-%m-%d %H:%M")})
        errors.raise_if_any()
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
            locked.status, locked.confirmed_by, locked.confirmed_at, locked.confirmation_meaning = (
                "draft", None, None, "")
            audited_save(locked, by=by, update_fields=["status", *signature],
                         reason=_("Signature withdrawn: %(fields)s changed by %(user)s: %(reason)s") % {
                             "fields": ", ".join(judged), "user": by.get_username(), "reason": reason})
        if changed:
            for name, value in changed.items():
                setattr(locked, name, value)
            audited_save(locked, by=by, reason=reason, update_fields=list(changed))
        if answering is not None:
            query_answer_by_correction(answering, answer=reason, by=by, since=since)
    for name in (*ADVERSE_EVENT_CORRECTABLE, "term_other", "status", "confirmed_by", "confirmed_at",
                 "confirmation_meaning", "row_version"):
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
    now = now or timezone.now()
    reported_at = reported_at or now
    require(by, Action.CAPTURE, [event.participant.site_id])
    refuse_if_locked(event.participant)
    if timezone.is_naive(reported_at):
        raise ServiceError({"reported_at": [_("Give the time of the report with its time zone.")]})
    with transaction.atomic():
        hold_unlocked(event.participant)
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
