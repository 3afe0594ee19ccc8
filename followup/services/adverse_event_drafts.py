"""Adverse event drafts: suggested from labs (CLINICAL_RULES.md section 3, `followup/grading.py`) or
opened by an infusion reaction, then confirmed or dismissed by the investigator's signature."""
from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import CharField, FloatField, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from enrollment.models import ScreeningLab
from trials.audit import audited_save
from trials.audit_querysets import audited_bulk_create
from trials.errors import ConflictError, Errors, ServiceError
from trials.scoping import Action, require
from trials.signatures import (
    ADVERSE_EVENT_DISMISSAL_MEANING,
    ADVERSE_EVENT_MEANING,
    check_signature,
)

from .. import grading
from ..models import AdverseEvent, AdverseEventCategory
from .adverse_events import _validate_judgement, _validate_seriousness

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


def suggestion_reads(labs) -> tuple[set[str], set[str]]:
    """(analytes whose screening baseline, terms whose open drafts) `adverse_event_suggest` reads
    for these labs (rows or dicts with an analyte)."""
    analytes = {lab["analyte"] if isinstance(lab, dict) else lab.analyte for lab in labs} & set(GRADED_ANALYTES)
    return analytes, {grading.CTCAE_V5.terms[analyte].term for analyte in analytes}


def adverse_event_suggest(*, participant, labs, onset: date, by, now: datetime | None = None,
                          read: tuple[dict, set] | None = None) -> list[AdverseEvent]:
    """Draft adverse events for the labs CTCAE grades as a suggestion (`grading.suggest_adverse_event`).

    The baseline is the participant's screening value of the analyte. Blood counts suggest only
    when worse than the baseline grade; liver and renal tests from grade 1 (the abnormal-baseline
    branch of the table applies). The lab's own range is used, the screening lab's where the
    assessment lab has none; a lab that cannot be graded (no range known) suggests nothing. No
    second draft is opened while a draft of the same term is open. Called inside the caller's
    transaction; the investigator confirms or dismisses each draft. `read`: (baselines, open draft
    terms) when the caller read them already (`suggestion_reads`, `assessment_reads`), for at least
    these labs.
    """
    graded = [lab for lab in labs if lab.analyte in GRADED_ANALYTES]
    if not graded:
        return []
    if read is not None:
        baselines, open_terms = read[0], set(read[1])
    else:
        baselines, open_terms = _baselines_and_open_drafts(
            participant, {lab.analyte for lab in graded},
            {grading.CTCAE_V5.terms[lab.analyte].term for lab in graded})
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
            status="draft", suggested_grade=found.grade, suggestion_message=found.message, reported_by=by,
            site_aware_at=now or timezone.now()))
    if rows:
        rows = audited_bulk_create(rows, by=by, reason=_("Suggested from a lab value"))
    return rows


# ---------------------------------------------------------------------------------------------
# The investigator confirms or dismisses a draft (a suggestion or an infusion reaction)
# ---------------------------------------------------------------------------------------------

def _locked_draft(event: AdverseEvent) -> AdverseEvent:
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
    now = now or timezone.now()
    require(by, Action.SIGN, [event.participant.site_id])
    refuse_if_locked(event.participant)
    errors = Errors()

    add = errors.add

    _validate_judgement(grade, serious, relationship, add)
    _validate_seriousness(grade, serious, list(seriousness or []), action_taken or "", outcome or "", add)
    errors.raise_if_any()
    with transaction.atomic():
        hold_unlocked(event.participant)
        _locked_draft(event)
        check_signature(by, password, refused=_("The password is not correct: the adverse event was not confirmed."))
        event.status, event.grade, event.serious, event.relationship = "confirmed", grade, serious, relationship
        event.seriousness, event.action_taken, event.outcome = (
            list(seriousness or []), action_taken or "", outcome or "")
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
    now = now or timezone.now()
    require(by, Action.SIGN, [event.participant.site_id])
    refuse_if_locked(event.participant)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError({"reason": [_("Say why the suggested adverse event is dismissed.")]})
    with transaction.atomic():
        hold_unlocked(event.participant)
        _locked_draft(event)
        check_signature(by, password, refused=_("The password is not correct: the adverse event was not dismissed."))
        event.status, event.dismissed_reason = "dismissed", reason
        event.confirmed_by, event.confirmed_at = by, now
        event.confirmation_meaning = str(ADVERSE_EVENT_DISMISSAL_MEANING) % {"reason": reason}
        audited_save(event, by=by, reason=_("Adverse event dismissed: %(reason)s") % {"reason": reason})
    return event
