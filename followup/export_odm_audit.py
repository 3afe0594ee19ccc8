"""The audit trail of the ODM export (`followup.export_odm`), read from django-simple-history.

Each item carries its whole history: one ItemDataAny per value it has held, in order, the first
with TransactionType "Insert", each later one "Update" (a value cleared: IsNull="Yes"), each
pointing (`AuditRecordID`) to the AuditRecord of the change that set it (who, where, when, the
reason, the history row); the last is the current value, without a record when it was changed
outside the history. The records are kept once in ClinicalData's AuditRecords
(`subject_records`, subject by subject: one for each history row of every exported record, the
changes that set no exported value included). The ItemDataAny of a row are in the order of its changes (each history
row's, then the current value's when it was changed outside the history). The document is
therefore a Transactional ODM file: a reader that applies the ItemDataAny in order ends with the
current data, and one that keeps the last of each item reads the current data. A row deleted
outright from a form that stays (`REMOVABLE`) is an ItemGroupData with TransactionType "Remove" and
the audit record of its deletion, before the form's current groups.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone as dt_timezone
from xml.sax.saxutils import escape, quoteattr

from django.utils import timezone

from enrollment.models import PriorTherapy, ScreeningLab

from .export_odm_meta import LAB, PRIOR_THERAPY, RESCUE, SCREENING_LAB, TRANSFUSION, Group
from .models import LabResult, RescueTherapy, Transfusion

SYSTEM_USER = "USR.SYSTEM"


def user_oid(pk) -> str:
    return f"USR.{pk}" if pk is not None else SYSTEM_USER


def is_item(f) -> bool:
    return f.oid.startswith("IT.ITEM.")


class Audit:
    """The history rows of one model's records, read in one statement for a chunk of records: per
    item, each change of its value.

    `codes` turns a foreign key of a history row into what the current row holds ({key: {id: code}},
    e.g. the dose level's code), `adapt` adds what the writer derives (the SI unit of a lab value)."""

    def __init__(self, model, ids, group: Group, *, codes=None, adapt=None, text=None):
        self.prefix, self.label = record_prefix(model), model.history.model._meta.label_lower
        self.group, self.codes, self.adapt, self.text = group, codes or {}, adapt, text
        self.rows = defaultdict(list)
        keys = {f.column for f in group.fields if not is_item(f)}
        if any(is_item(f) for f in group.fields):
            keys.add("items")
        names = {f.name for f in model.history.model._meta.concrete_fields}
        wanted = [k for k in keys if k in names] + [k + "_id" for k in keys if k + "_id" in names]
        for row in (model.history.filter(id__in=ids)
                    .order_by("id", "history_date", "history_id")
                    .values("id", "history_id", *wanted, *_RECORD).iterator()):
            for key, lookup in self.codes.items():
                if key + "_id" in row:
                    row[key] = lookup.get(row[key + "_id"], row[key + "_id"])
            if self.adapt is not None:
                self.adapt(row)
            self.rows[row["id"]].append(row)

    def changes(self, pk, f) -> list[tuple[dict, str | None]]:
        """(history row, ODM text) of each change of the item's value, oldest first; a value never
        set before a change is left out (nothing was there to change)."""
        found, previous = [], None
        for row in self.rows.get(pk) or ():
            value = self.text(f.value(row), f.datatype)
            if value != previous or not found:
                if found or value is not None:
                    found.append((row, value))
            previous = value
        return found


def item_history(audit: Audit | None, pk, f, current: str | None) -> tuple[list, dict | None]:
    """The earlier values of an item to write before the current one, and the history row of the
    change that set the current value (None when the history does not hold it)."""
    if audit is None:
        return [], None
    changes = audit.changes(pk, f)
    if changes and changes[-1][1] == current:
        return changes[:-1], changes[-1][0]
    return changes, None  # changed outside the history: the current value has no audit record


_RECORD = ("history_date", "history_user_id", "history_change_reason", "history_type")  # what an AuditRecord says


def location_oid(code: str) -> str:
    return f"LOC.{code}"


def record_prefix(model) -> str:
    """The start of the ID of a shared AuditRecord of `model`'s history rows (the history id follows)."""
    return f"AR.{model._meta.model_name}."


def write_audit_record(xml, history: dict, label: str, location: str) -> None:
    """The AuditRecord of a history row, written inside its element (a removal's)."""
    content = record_content(history["history_id"], history["history_date"], history["history_user_id"],
                             history["history_change_reason"], history["history_type"], label, location)
    xml.raw(f"<AuditRecord>{content}</AuditRecord>")


def record_content(history_id, at, user, reason, kind, label: str, location: str) -> str:
    """What the AuditRecord of a history row holds: who, where, when, the reason, the history row."""
    return (f"<UserRef UserOID={quoteattr(user_oid(user))}/><LocationRef LocationOID={quoteattr(location)}/>"
            f"<DateTimeStamp>{_aware(at).isoformat()}</DateTimeStamp>"
            + (f"<ReasonForChange>{escape(reason)}</ReasonForChange>" if reason else "")
            + f"<SourceID>{escape(f'{label}:{history_id}:{kind}')}</SourceID>")


def subject_records(records, location: str) -> tuple[str, set[int]]:
    """A subject's AuditRecords in ClinicalData's AuditRecords (ID `record_prefix` and the history
    id): one for each history row of its records, which their ItemDataAny point to; and the users
    they name. `records`: (the model's `Audit`, the subject's records of that model), in order;
    each model's rows in the order of their history ids."""
    parts, users = [], set()
    for audit, ids in records:
        rows = sorted((row for pk in ids for row in audit.rows.get(pk, ())), key=_history_id)
        prefix, label = audit.prefix, audit.label
        for row in rows:
            history_id, user = row["history_id"], row["history_user_id"]
            if user is not None:
                users.add(user)
            content = record_content(history_id, row["history_date"], user, row["history_change_reason"],
                                     row["history_type"], label, location)
            parts.append(f'<AuditRecord ID="{prefix}{history_id}">{content}</AuditRecord>')
    return "".join(parts), users


def _history_id(row) -> int:
    return row["history_id"]


def _aware(at):
    """A date-time read by a raw statement as Django reads it (SQLite gives it without its zone)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return timezone.make_aware(at, dt_timezone.utc) if timezone.is_naive(at) else at


# The records deleted outright from a form that stays (a lab value dropped, the transfusions or
# prior therapies entered again), by their group: the model, its parent record, the group's repeat
# key (None: its place among the deleted rows, in the order of the current rows) and that order.
# Each is written, before the form's current groups, as an ItemGroupData with TransactionType
# "Remove" and the audit record of its deletion. These are the only clinical rows the product
# deletes (prior therapies entered again before enrolment, an assessment's corrections; no service
# deletes a screening lab): participants, screenings, consents, infusions, visits, assessments and
# adverse events are never deleted (an adverse event is dismissed, kept with its reason), so there
# is no removed SubjectData, StudyEventData or FormData to write (test_export_odm_deletions).
REMOVABLE = {
    SCREENING_LAB.oid: (ScreeningLab, "screening_id", "analyte", ("analyte",)),
    PRIOR_THERAPY.oid: (PriorTherapy, "screening_id", None, ("start", "id")),
    LAB.oid: (LabResult, "assessment_id", "analyte", ("analyte",)),
    TRANSFUSION.oid: (Transfusion, "assessment_id", None, ("date", "id")),
    RESCUE.oid: (RescueTherapy, "assessment_id", None, ("start", "id")),
}


class Removals:
    """The rows deleted outright (history type "-", no current row) of the `REMOVABLE` groups,
    read for a chunk of parent records, written as removals (TransactionType "Remove")."""

    def __init__(self):
        self.removed = {}

    def read(self, oids, parent_ids) -> None:
        for oid in oids:
            model, parent, key, order = REMOVABLE[oid]
            current = model.objects.filter(**{f"{parent}__in": parent_ids}).values("id")
            rows = defaultdict(list)
            for row in (model.history.filter(**{f"{parent}__in": parent_ids}, history_type="-")
                        .exclude(id__in=current).order_by(parent, *order, "history_date", "history_id")
                        .values(parent, *([key] if key else []), "history_id", "history_date", "history_user_id",
                                "history_change_reason", "history_type")):
                rows[row[parent]].append(row)
            self.removed[oid] = (rows, key, model.history.model._meta.label_lower)

    def write(self, xml, oids, parent_id, location: str) -> set[int]:
        """Write the removals of the parent's rows; return the users who deleted them."""
        users = set()
        for oid in oids:
            rows, key, label = self.removed[oid]
            for n, row in enumerate(rows.get(parent_id, ()), 1):
                if row["history_user_id"] is not None:
                    users.add(row["history_user_id"])
                xml.start("ItemGroupData", ItemGroupOID=oid, ItemGroupRepeatKey=row[key] if key else n,
                          TransactionType="Remove")
                write_audit_record(xml, row, label, location)
                xml.end("ItemGroupData")
        return users
