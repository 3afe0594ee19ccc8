"""Data queries: opened on an item of a record, answered by the site, closed (and re-opened) by
the asker or a data manager (ICH E6(R3) monitoring; roles in `trials.scoping`).

Each transition is one service, in one transaction, the query row locked: who may do it is
checked first (403), then the lock of the casebook and of its study (409, `enrollment.locks`: a
locked casebook takes no query, answer, closing or re-opening: its queries are closed before it is
locked), then the state it starts from (409: answering a query that is not open, closing a closed
one, re-opening one that is not closed), then the input (400 naming the field).
Each step is written to the query's thread (`DataQueryMessage`) and to its history with a reason.
Edit checks open and close queries of their own (`source` system, `followup.auto_queries`).
A correction made with a record's usual edit may answer a query (`query_for_correction`, then
`query_answer_by_correction`), which links the history row of the change.
"""
from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from enrollment.models import Participant
from trials.audit import audited_save
from trials.errors import ConflictError, Errors, ServiceError
from trials.limits import TEXT_MAX_LENGTH, reason_length_error
from trials.scoping import PERMISSIONS, Action, require, site_roles

from .models import LabResult
from .query_models import DataQuery, DataQueryMessage, MessageKind, QuerySource, QueryState
from .record_refs import KINDS, RecordRef, item_is_known

TEXT_MAX = TEXT_MAX_LENGTH

# The audit trail names (`trials.audit.register_audited`) of the records a correction is linked to.
AUDIT_NAMES = {"screening": "screening", "consent": "consent", "infusion": "infusion", "visit": "visit",
               "assessment": "assessment", "adverse_event": "adverse-event"}


def _text(errors: Errors, field: str, value, message: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None:
        errors.add(field, _("Give it as text."))
    elif not text:
        errors.add(field, message)
    elif len(text) > TEXT_MAX:
        errors.add(field, _("Keep it within %(n)d characters.") % {"n": TEXT_MAX})
    return text or ""


def record_participant_id(ref: RecordRef) -> int | None:
    """The participant of the record `ref` names; None when there is no such record."""
    definition = KINDS[ref.kind]
    return (definition.model_class().objects.filter(pk=ref.pk)
            .values_list(definition.participant_path, flat=True).first())


def _message(query: DataQuery, kind: str, text: str, by, at: datetime) -> None:
    DataQueryMessage.objects.create(query=query, kind=kind, text=text, by=by, at=at)


def _locked(query: DataQuery) -> DataQuery:
    """The query row locked, once the casebook's lock is checked and held (`hold_unlocked`): inside
    the transaction."""
    hold_unlocked(query.participant)
    return DataQuery.objects.select_for_update(of=("self",)).select_related("participant").get(pk=query.pk)


def _state_label(state: str) -> str:
    return str(dict(QueryState.choices)[state]).lower()


def _refuse_state(query: DataQuery, field: str = "state") -> None:
    raise ConflictError({field: [_("This query is %(state)s.") % {"state": _state_label(query.state)}]})


def query_open(record_ref: RecordRef, item: str, question: str, by, *, participant=None,
               now: datetime | None = None) -> DataQuery:
    """Open a query on `item` of the record `record_ref` names (`Action.QUERY`: a monitor, an
    investigator or a data manager of the participant's site, else 403). `participant`, when
    given, must be the record's: an unknown record, one of another participant or an unknown item
    is refused (400)."""
    now = now or timezone.now()
    errors = Errors()
    participant_id = record_participant_id(record_ref)
    if participant_id is None or (participant is not None and participant_id != participant.pk):
        errors.add("record", _("There is no such record of this participant."))
    elif participant is None:
        participant = Participant.objects.get(pk=participant_id)
    if participant is not None:
        require(by, Action.QUERY, [participant.site_id])
        refuse_if_locked(participant)
    if not item_is_known(record_ref.kind, item or ""):
        errors.add("item", _("This record has no such item."))
    text = _text(errors, "question", question, _("Write the question."))
    errors.raise_if_any()
    with transaction.atomic():
        hold_unlocked(participant)
        query = DataQuery(participant=participant, record_kind=record_ref.kind, record_pk=record_ref.pk, item=item,
                          question=text, source=QuerySource.MANUAL, opened_by=by, opened_at=now)
        audited_save(query, by=by, reason=_("Query opened"))
        _message(query, MessageKind.QUESTION, text, by, now)
    return query


def query_can_answer(user, query: DataQuery) -> bool:
    return site_roles(user).get(query.participant.site_id) in PERMISSIONS[Action.ANSWER_QUERY]


def query_can_close(user, query: DataQuery) -> bool:
    """Whether `user` closes and re-opens `query`: the person who opened it or a data manager of
    the participant's site; a query an edit check opened, anyone whose role closes queries there."""
    role = site_roles(user).get(query.participant.site_id)
    if role not in PERMISSIONS[Action.CLOSE_QUERY]:
        return False
    return query.opened_by_id is None or query.opened_by_id == user.pk or role == "data_manager"


def _require_closer(user, query: DataQuery) -> None:
    require(user, Action.CLOSE_QUERY, [query.participant.site_id])
    if not query_can_close(user, query):
        raise PermissionDenied(_("Only the person who opened the query or a data manager closes or re-opens it."))


def query_answer(query: DataQuery, answer: str, by, *, now: datetime | None = None) -> DataQuery:
    """Answer an open query (`Action.ANSWER_QUERY`: a coordinator or an investigator of the
    participant's site) without a correction, or explaining why the value stands."""
    now = now or timezone.now()
    require(by, Action.ANSWER_QUERY, [query.participant.site_id])
    with transaction.atomic():
        locked = _locked(query)
        if locked.state != QueryState.OPEN:
            _refuse_state(locked)
        errors = Errors()
        text = _text(errors, "answer", answer, _("Write the answer."))
        errors.raise_if_any()
        _answered(locked, text, by, now)
    return locked


def _answered(query: DataQuery, text: str, by, now: datetime, correction=None) -> None:
    query.state, query.answer, query.answered_by, query.answered_at = QueryState.ANSWERED, text, by, now
    if correction is not None:
        query.correction_kind, query.correction_pk, query.correction_history_id, query.corrected_at = correction
    audited_save(query, by=by, reason=_("Query answered"))
    _message(query, MessageKind.ANSWER, text, by, now)


def query_close(query: DataQuery, by, note: str = "", *, now: datetime | None = None) -> DataQuery:
    """Close an open or answered query (`query_can_close`), with an optional note."""
    now = now or timezone.now()
    _require_closer(by, query)
    with transaction.atomic():
        locked = _locked(query)
        if locked.state == QueryState.CLOSED:
            _refuse_state(locked)
        errors = Errors()
        text = (note or "").strip() if isinstance(note, str) or note is None else None
        if text is None:
            errors.add("note", _("Give it as text."))
        elif len(text) > TEXT_MAX:
            errors.add("note", _("Keep it within %(n)d characters.") % {"n": TEXT_MAX})
        errors.raise_if_any()
        locked.state, locked.closed_by, locked.closed_at, locked.close_note = QueryState.CLOSED, by, now, text
        audited_save(locked, by=by, reason=_("Query closed"))
        _message(locked, MessageKind.CLOSE, text, by, now)
    return locked


def query_reopen(query: DataQuery, by, reason: str, *, now: datetime | None = None) -> DataQuery:
    """Re-open a closed query (`query_can_close`), saying why: it is open again, its last answer
    and closing kept in its thread and history."""
    now = now or timezone.now()
    _require_closer(by, query)
    with transaction.atomic():
        locked = _locked(query)
        if locked.state != QueryState.CLOSED:
            _refuse_state(locked)
        errors = Errors()
        text = _text(errors, "reason", reason, _("Say why the query is re-opened."))
        if text and reason_length_error(text):
            errors.add("reason", reason_length_error(text))
        errors.raise_if_any()
        if locked.source == QuerySource.SYSTEM and DataQuery.objects.filter(
                record_kind=locked.record_kind, record_pk=locked.record_pk, item=locked.item,
                check_code=locked.check_code, source=QuerySource.SYSTEM).exclude(state=QueryState.CLOSED).exists():
            raise ConflictError({"state": [_("The same check has an open query on this item already.")]})
        locked.state = QueryState.OPEN
        locked.answer, locked.answered_by, locked.answered_at = "", None, None
        locked.correction_kind, locked.correction_pk, locked.correction_history_id, locked.corrected_at = (
            "", None, None, None)
        locked.closed_by, locked.closed_at, locked.close_note = None, None, ""
        audited_save(locked, by=by, reason=_("Query re-opened: %(reason)s") % {"reason": text})
        _message(locked, MessageKind.REOPEN, text, by, now)
    return locked


# --- a correction answering a query ----------------------------------------------------------

def query_for_correction(query_id, *, record_ref: RecordRef, by) -> DataQuery:
    """The open query `query_id` on the record `record_ref`, locked, that the correction in
    progress answers; 400 (field `query`) when it is not a query of that record, 409 when it is no
    longer open. Call it inside the correction's transaction."""
    try:
        pk = int(query_id)
    except (TypeError, ValueError):
        pk = None
    if pk is not None and not 0 < pk < 2 ** 63:
        pk = None
    query = (DataQuery.objects.select_for_update(of=("self",)).select_related("participant")
             .filter(pk=pk, record_kind=record_ref.kind, record_pk=record_ref.pk).first() if pk else None)
    if query is None:
        raise ServiceError({"query": [_("This is not a query on this record.")]})
    require(by, Action.ANSWER_QUERY, [query.participant.site_id])
    if query.state != QueryState.OPEN:
        _refuse_state(query, "query")
    return query


def correction_row(record_ref: RecordRef, item: str, since: datetime):
    """(audit name, record id, history id, time) of the latest change to the record (for a lab
    item, to that lab value when it changed) made since `since`; None when nothing changed."""
    if record_ref.kind in ("assessment",) and item.startswith("lab:"):
        lab = (LabResult.history.filter(assessment_id=record_ref.pk, analyte=item[4:], history_date__gte=since)
               .order_by("-history_id").values_list("id", "history_id", "history_date").first())
        if lab is not None:
            return ("lab-result", *lab)
    model = record_ref.definition.model_class()
    row = (model.history.filter(id=record_ref.pk, history_date__gte=since).order_by("-history_id")
           .values_list("history_id", "history_date").first())
    return None if row is None else (AUDIT_NAMES[record_ref.kind], record_ref.pk, *row)


def query_answer_by_correction(query: DataQuery, *, answer: str, by, since: datetime,
                               now: datetime | None = None) -> DataQuery:
    """Answer `query` (from `query_for_correction`) with the reason of the correction just made,
    linking the history row of the change (none when the correction changed nothing)."""
    now = now or timezone.now()
    ref = RecordRef(query.record_kind, query.record_pk)
    _answered(query, answer, by, now, correction=correction_row(ref, query.item, since))
    return query


# --- the queries an edit check opens and closes ------------------------------------------------

def query_open_system(*, participant, record_ref: RecordRef, item: str, check_code: str, question: str,
                      by, now: datetime | None = None, basis: str = "") -> DataQuery:
    """A query an edit check opens (no opener); `by` is the user whose change raised it (audit);
    `basis` what the check compared with, kept with it (`DataQuery.check_basis`)."""
    now = now or timezone.now()
    query = DataQuery(participant=participant, record_kind=record_ref.kind, record_pk=record_ref.pk, item=item,
                      question=question, source=QuerySource.SYSTEM, check_code=check_code, opened_at=now,
                      check_basis=basis)
    audited_save(query, by=by, reason=_("Query opened by an edit check"))
    _message(query, MessageKind.QUESTION, question, None, now)
    return query


def query_close_system(query: DataQuery, *, by, now: datetime | None = None) -> DataQuery:
    """Close a query of an edit check whose condition no longer holds after a change by `by`."""
    now = now or timezone.now()
    note = _("Closed by the edit check: the value no longer raises the question.")
    query.state, query.closed_by, query.closed_at, query.close_note = QueryState.CLOSED, None, now, note
    audited_save(query, by=by, reason=_("Query closed by an edit check"))
    _message(query, MessageKind.CLOSE, note, None, now)
    return query
