"""A participant's audit trail: the history of every record of their casebook, and of its
monitoring, in one list in time order (README "Audit trail"; issue 14).

It gathers the history rows (django-simple-history) of the participant, their screening with its
labs, prior therapies and consents, their infusions, visits, assessments with their labs,
transfusions and rescue therapies, adverse events, and of the monitoring: data queries with each
message of their threads, casebook signatures, item verifications, the casebook's locks and
unlocks (rows of the participant's own history, `enrollment.locks`) and the study's data locks and
unlocks for analysis since the casebook began (rows of the study's history, `trials.locks`), which
lock every record of the casebook as well. Each entry says who, when,
what (the record, the action and each field from its old to its new value, as the record's own
audit page shows it: `trials.audit`) and why, and names the record's own audit page while the
record exists.

Cost: one statement per model whatever the number of rows (the rows of deleted records included,
read from the history tables), one for the study's items, and one per kind of record the shown
rows link to (`trials.audit_labels.RelatedLabels`); the field-by-field changes are worked out for
the page shown only.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import models
from django.utils.translation import gettext as _

from dosing.models import Infusion
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from trials import catalogues
from trials.audit import FieldChange, audited_kind, history_row_entry
from trials.audit_labels import RelatedLabels
from trials.item_models import Item
from trials.models import Study

from .models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from .query_models import DataQuery, DataQueryMessage, MessageKind
from .record_refs import KINDS
from .sdv_models import ItemVerification
from .signoff_models import CasebookSignature

PAGE_SIZE = 200


@dataclass(frozen=True)
class TrailEntry:
    """One line of the participant's audit trail."""

    when: datetime
    who: str
    # created | changed | deleted | locked | unlocked | study_locked | study_unlocked | question | answer |
    # close | reopen
    action: str
    action_label: str
    record_type: str  # the kind of record, as its model names it ("visit", "data query")
    record: str  # the record, as the participant page names it ("Visit W1")
    audit_kind: str  # the record's audit page (`trials.audit.register_audited` name), "" when it has none
    audit_pk: int | None
    reason: str
    changes: tuple[FieldChange, ...]


@dataclass
class _Row:
    """A history row (or a query message) waiting for its place in the trail."""

    when: datetime
    order: int  # the source's place: rows written together keep the order they were written in
    key: int  # the history row's id (the message's)
    model: type[models.Model]
    row: Any
    older: Any = None  # the record's history row before this one


def _by_participant(participant):
    return {"participant_id": participant.pk}


def _by_screening(participant):
    return {"screening_id": participant.screening_id}


def _by_assessment(participant):
    return {"assessment_id__in": Assessment.history.filter(participant_id=participant.pk).values("id")}


# The models whose history the trail gathers, with the lookup of a participant's rows in their
# history table (the rows of deleted records too). A model's place here orders rows of one instant.
_SOURCES: tuple[tuple[type[models.Model], Callable], ...] = (
    (Screening, lambda participant: {"id": participant.screening_id}),
    (ScreeningLab, _by_screening),
    (PriorTherapy, _by_screening),
    (Consent, _by_screening),
    (Participant, lambda participant: {"id": participant.pk}),
    (Infusion, _by_participant),
    (Visit, _by_participant),
    (Assessment, _by_participant),
    (LabResult, _by_assessment),
    (Transfusion, _by_assessment),
    (RescueTherapy, _by_assessment),
    (AdverseEvent, _by_participant),
    (DataQuery, _by_participant),
    (CasebookSignature, _by_participant),
    (ItemVerification, _by_participant),
)

_ACTION_LABELS = {"+": "created", "~": "changed", "-": "deleted"}


def _action_label(action: str) -> str:
    labels = {"created": _("created"), "changed": _("changed"), "deleted": _("deleted"),
              "locked": _("casebook locked"), "unlocked": _("casebook unlocked"),
              "study_locked": _("study data locked"), "study_unlocked": _("study data unlocked")}
    if action in labels:
        return labels[action]
    return str(MessageKind(action).label)


@dataclass(frozen=True)
class AuditTrailPage:
    entries: list[TrailEntry]
    page: Page


class _Names:
    """How the trail names each record, from the latest history row of each (no query: the rows
    are those the trail read), and whether the record still exists."""

    def __init__(self, latest: dict[tuple[type[models.Model], int], Any]):
        self.latest = latest

    def exists(self, model, pk) -> bool:
        row = self.latest.get((model, pk))
        return row is not None and row.history_type != "-"

    def _assessment(self, pk) -> str:
        row = self.latest.get((Assessment, pk))
        if row is None:
            return _("Assessment %(id)s") % {"id": pk}
        visit = self.latest.get((Visit, row.visit_id)) if row.visit_id else None
        return _("Assessment of %(date)s") % {"date": row.date.isoformat()} + (f" ({visit.code})" if visit else "")

    def record(self, kind: str, pk: int) -> str:
        """A record of the casebook by its `followup.record_refs` kind (a query's, a verification's)."""
        model = KINDS[kind].model_class() if kind in KINDS else None
        if model is Assessment:
            return self._assessment(pk)
        row = self.latest.get((model, pk))
        if row is None:
            return f"{KINDS[kind].label if kind in KINDS else kind} {pk}"
        return self.name(model, row)

    def name(self, model, row) -> str:  # noqa: PLR0911 (one name per kind of record)
        if model is Participant:
            return _("Participant %(number)s") % {"number": row.study_number}
        if model is Screening:
            return _("Screening %(number)s") % {"number": row.number}
        if model is ScreeningLab:
            return _("Screening lab %(analyte)s") % {"analyte": row.analyte}
        if model is PriorTherapy:
            return _("Prior therapy %(therapy)s") % {"therapy": catalogues.current().therapy_name(row.therapy)}
        if model is Consent:
            return _("Consent %(version)s") % {"version": row.version}
        if model is Infusion:
            return _("Infusion %(n)d") % {"n": row.number}
        if model is Visit:
            return _("Visit %(code)s") % {"code": row.code}
        if model is Assessment:
            return self._assessment(row.id)
        if model in (LabResult, Transfusion, RescueTherapy):
            part = {LabResult: lambda: row.analyte, Transfusion: lambda: row.get_kind_display(),
                    RescueTherapy: lambda: row.get_therapy_display()}[model]()
            return f"{self._assessment(row.assessment_id)} › {part}"
        if model is AdverseEvent:
            return _("Adverse event %(term)s") % {"term": row.term}
        if model is DataQuery:
            return _("Data query on %(record)s › %(item)s") % {
                "record": self.record(row.record_kind, row.record_pk), "item": item_label(row.record_kind, row.item)}
        if model is CasebookSignature:
            return _("Casebook signature of %(name)s") % {"name": row.signed_by_name}
        if model is ItemVerification:
            return _("Verification of %(record)s › %(item)s") % {
                "record": self.record(row.record_kind, row.record_pk),
                "item": item_label(row.record_kind, row.item_code)}
        return str(row.id)

    def link(self, model, row) -> tuple[str, int | None]:
        """The audit page that holds the row: the record's own, an assessment's for its
        transfusions and rescue therapies; none once the record is deleted."""
        if model in (Transfusion, RescueTherapy):
            model, pk = Assessment, row.assessment_id
        else:
            pk = row.id
        kind = audited_kind(model)
        return (kind, pk) if kind and self.exists(model, pk) else ("", None)


def item_label(kind: str, code: str) -> str:
    """An item of a record as monitoring names it (`followup.record_refs`): a field by its label, a
    lab or a study item by its code."""
    definition = KINDS.get(kind)
    for item in definition.items if definition else ():
        if item.code == code:
            return str(item.label)
    return code.split(":", 1)[-1]


def _history_rows(participant) -> list[_Row]:
    """Every history row of the participant's records, each with the row of its record before it
    (one statement per model)."""
    found: list[_Row] = []
    for order, (model, lookup) in enumerate(_SOURCES):
        rows = (model.history.filter(**lookup(participant)).select_related("history_user")
                .order_by("id", "history_date", "history_id"))
        previous = None
        for row in rows:
            older = previous if previous is not None and previous.id == row.id else None
            found.append(_Row(row.history_date, order, row.history_id, model, row, older))
            previous = row
    return found


def _messages(participant) -> list[_Row]:
    """Each step of the threads of the participant's data queries (one statement)."""
    order = len(_SOURCES)
    return [_Row(message.at, order, message.id, DataQueryMessage, message)
            for message in DataQueryMessage.objects.filter(query__participant_id=participant.pk).select_related("by")]


def _study_locks(participant, since) -> list[_Row]:
    """The study's data locks and unlocks from `since` on (one statement: the study's history rows
    read as values, the lock's fields only; a row that leaves the lock as it was is no step)."""
    order = len(_SOURCES) + 1
    rows = (Study.history.filter(id=participant.study_id).order_by("history_date", "history_id")
            .values("history_id", "history_date", "history_change_reason", "history_user__username", "code",
                    "locked_at", "lock_reason", "locked_by__username"))
    found, previous = [], None
    for row in rows:
        if previous is not None and (row["locked_at"] is None) != (previous["locked_at"] is None) and (
                since is None or row["history_date"] >= since):
            found.append(_Row(row["history_date"], order, row["history_id"], Study, row, older=previous))
        previous = row
    return found


def _study_lock_entry(row: _Row) -> TrailEntry:
    values, older = row.row, row.older
    action = "study_locked" if values["locked_at"] is not None else "study_unlocked"
    changes = tuple(FieldChange(str(Study._meta.get_field(name).verbose_name), older[key] or "", values[key] or "")
                    for name, key in (("locked_by", "locked_by__username"), ("lock_reason", "lock_reason")))
    return TrailEntry(when=row.when, who=values["history_user__username"] or _("system"), action=action,
                      action_label=_action_label(action), record_type=str(Study._meta.verbose_name),
                      record=_("Study %(code)s") % {"code": values["code"]}, audit_kind="", audit_pk=None,
                      reason=values["history_change_reason"] or "", changes=changes)


def _lock_action(row, older) -> str:
    """`locked` / `unlocked` for a participant's history row that locks / unlocks the casebook."""
    if older is None or row.history_type != "~" or (row.locked_at is None) == (older.locked_at is None):
        return ""
    return "locked" if row.locked_at is not None else "unlocked"


def participant_audit_trail(participant, *, page=None, page_size: int | None = None) -> AuditTrailPage:
    """The page `page` (1 when absent or not a number, the last beyond it) of the participant's
    audit trail, oldest first, `page_size` entries a page (`PAGE_SIZE` by default)."""
    rows = _history_rows(participant) + _messages(participant)
    rows += _study_locks(participant, since=min((row.when for row in rows), default=None))
    latest = {}
    for row in rows:
        if row.model not in (DataQueryMessage, Study):
            latest[(row.model, row.row.id)] = row.row  # rows of a record come oldest first
    names = _Names(latest)
    rows.sort(key=lambda row: (row.when, row.order, row.key))
    shown = Paginator(rows, page_size or PAGE_SIZE).get_page(page)
    specs = {item.code: item.spec for item in Item.objects.filter(study_id=participant.study_id)}
    labels = RelatedLabels()
    pending = [(row, history_row_entry(row.model, row.row, row.older, labels, specs))
               for row in shown.object_list if row.model not in (DataQueryMessage, Study)]
    labels.resolve()
    built = {id(row): entry() for row, entry in pending}
    entries = []
    for row in shown.object_list:
        if row.model is DataQueryMessage:
            entries.append(_message_entry(row.row, names))
        elif row.model is Study:
            entries.append(_study_lock_entry(row))
        else:
            entries.append(_history_entry(row, built[id(row)], names))
    return AuditTrailPage(entries=entries, page=shown)


def _history_entry(row: _Row, audited, names: _Names) -> TrailEntry:
    action = _lock_action(row.row, row.older) if row.model is Participant else ""
    action = action or _ACTION_LABELS.get(row.row.history_type, row.row.history_type)
    kind, pk = names.link(row.model, row.row)
    return TrailEntry(when=audited.when, who=audited.who, action=action, action_label=_action_label(action),
                      record_type=str(row.model._meta.verbose_name), record=names.name(row.model, row.row),
                      audit_kind=kind, audit_pk=pk, reason=audited.reason, changes=audited.changes)


def _message_entry(message: DataQueryMessage, names: _Names) -> TrailEntry:
    query = names.latest.get((DataQuery, message.query_id))
    kind, pk = names.link(DataQuery, query) if query is not None else ("", None)
    return TrailEntry(when=message.at, who=message.by.get_username() if message.by_id else _("system"),
                      action=message.kind, action_label=_action_label(message.kind),
                      record_type=str(DataQueryMessage._meta.verbose_name),
                      record=names.name(DataQuery, query) if query is not None else str(message.query_id),
                      audit_kind=kind, audit_pk=pk, reason=message.text, changes=())
