"""Audit trail: who changed what, when, from what to what, and why.

Every clinical and configuration model keeps history (django-simple-history). A record may be
created without a reason, but any later change or deletion must carry one: the guards below
refuse a save or deletion that has none before anything is written (`refuse_change_without_reason`,
connected to every model with history by `connect_guards`), and refuse a history row without one,
so no code path can change data silently. Services set the reason and the user with
`audited_save` / `audited_delete`, or `change_context` around a queryset's update, bulk_update or
bulk_create, which are refused without one (`trials.audit_querysets`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver
from django.utils.translation import gettext as _
from simple_history.signals import pre_create_historical_record

from . import items as item_rules
from .audit_context import AuditReasonRequired, change_context, change_in_progress, clip
from .audit_labels import Entered, RelatedLabels, field_label
from .audit_querysets import guard_managers
from .concurrency import VERSION_FIELD
from .content import CHINESE, ENGLISH, ContentText, language_of
from .history_fields import saves_only_unrecorded
from .item_models import Item
from .limits import audit_reason_max_length
from .messages import MessageField


@receiver(pre_create_historical_record)
def require_reason_for_changes(sender, instance, history_instance, **kwargs):
    current = change_in_progress()
    if current is not None:
        by, reason = current
        if not (history_instance.history_change_reason or "").strip():
            history_instance.history_change_reason = reason
        if history_instance.history_user_id is None and by is not None and getattr(by, "pk", None):
            history_instance.history_user = by
    if history_instance.history_type in ("~", "-") and not (history_instance.history_change_reason or "").strip():
        _refuse_without_reason(instance, None)
    history_instance.history_change_reason = clip_reason(history_instance.history_change_reason)


def _reason_in_force(instance: models.Model) -> str:
    """The reason the next history row of `instance` will record: its own (`mark_change`), else
    that of the change in progress (`change_context`)."""
    own = getattr(instance, "_change_reason", None)
    current = change_in_progress()
    return (own or (current[1] if current is not None else "") or "").strip()


def _writes_existing_row(instance: models.Model) -> bool:
    """True when saving `instance` changes a row already in the database (an UPDATE), False when
    it creates one. A new instance given the primary key of an existing row updates that row."""
    if not instance._state.adding:
        return True
    meta = instance._meta
    if instance.pk is None or meta.pk.has_default() or meta.pk.has_db_default():
        return False
    return type(instance)._base_manager.using(instance._state.db or "default").filter(pk=instance.pk).exists()


def refuse_change_without_reason(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of a model with history: a change to an existing row without a reason, or without
    its history row (simple-history's `save_without_historical_record`), is refused before the
    UPDATE runs, so the row and its history never disagree (fixtures loaded raw, which keep no
    history, are left alone; so is a save of fields the history leaves out)."""
    if raw or not _writes_existing_row(instance) or saves_only_unrecorded(instance, update_fields):
        return
    if hasattr(instance, "skip_history_when_saving"):
        raise AuditReasonRequired(_("A change to %(record)s keeps its history: it cannot be saved without it.") % {
            "record": f"{instance._meta.verbose_name} {instance}"})
    _refuse_without_reason(instance, _reason_in_force(instance))


def refuse_deletion_without_reason(sender, instance, **kwargs):
    """pre_delete of a model with history (a row deleted on its own, by a queryset or by cascade):
    refused without a reason before the DELETE runs."""
    _refuse_without_reason(instance, _reason_in_force(instance))


def connect_guards() -> None:
    """Connect the reason guards to every model that keeps history (called once the app registry
    is ready). Connected per model, so that deletions of other models keep Django's fast path.
    Its querysets' own writes (update, bulk_update, bulk_create) are guarded by
    `trials.audit_querysets` (`guard_managers`)."""
    for model in apps.get_models():
        if hasattr(model._meta, "simple_history_manager_attribute"):
            pre_save.connect(refuse_change_without_reason, sender=model, dispatch_uid=f"audit-save-{model._meta.label}")
            pre_delete.connect(refuse_deletion_without_reason, sender=model,
                               dispatch_uid=f"audit-delete-{model._meta.label}")
            guard_managers(model)


def clip_reason(reason: str | None) -> str | None:
    """The reason cut to the audit column's length (100), ending in an ellipsis when cut.

    A reason a user types is refused over that length by the forms and the API (trials/limits.py);
    a reason composed by a service around it ("Adverse event dismissed: <reason>") may exceed it,
    and is then cut here rather than failing the write. The full text the user gave is kept in its
    own field of the record (the dismissal reason, ...).
    """
    return clip(reason, audit_reason_max_length())


def mark_change(instance: models.Model, *, by, reason: str | None) -> None:
    """Attach the user and reason that the next history row of `instance` records."""
    instance._history_user = by
    instance._change_reason = (reason or "").strip()


def forget_change(instance: models.Model) -> None:
    """Drop the user and reason `mark_change` attached, once the row they were for is written: a
    later save of the same object must give its own (else it is refused)."""
    for name in ("_history_user", "_change_reason"):
        instance.__dict__.pop(name, None)


def _refuse_without_reason(instance: models.Model, reason: str | None) -> None:
    if not (reason or "").strip():
        raise AuditReasonRequired(
            _("A reason is required to change or delete %(record)s.") % {
                "record": f"{instance._meta.verbose_name} {instance}"}
        )


def audited_save(instance: models.Model, *, by, reason: str | None = None, **save_kwargs) -> None:
    """Save in one transaction; a change to an existing record needs a reason."""
    if instance.pk is not None and not instance._state.adding:
        _refuse_without_reason(instance, reason)
    mark_change(instance, by=by, reason=reason)
    try:
        # No savepoint: a failure aborts the caller's transaction, which is what a service wants.
        with transaction.atomic(savepoint=False), change_context(by=by, reason=reason):
            instance.save(**save_kwargs)
    finally:
        forget_change(instance)


def audited_delete(instance: models.Model, *, by, reason: str) -> None:
    """Delete with a reason; rows deleted with it (cascade) record the same reason."""
    _refuse_without_reason(instance, reason)
    mark_change(instance, by=by, reason=reason)
    try:
        with transaction.atomic(savepoint=False), change_context(by=by, reason=reason):
            instance.delete()
    finally:
        forget_change(instance)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    # An item's answer: `field` is "<prefix> › <item> (<code>)", the item's label as the study words it.
    prefix: str = ""
    item: str = ""
    code: str = ""


@dataclass(frozen=True)
class AuditEntry:
    when: Any
    who: str
    action: str
    reason: str
    changes: tuple[FieldChange, ...]


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}  # codes; the page shows them translated


# Records whose audit trail also shows the history of the rows they hold (an assessment's lab
# results, ...): model -> names of the reverse relations.
AUDITED_PARTS: dict[type[models.Model], tuple[str, ...]] = {}


def register_audited_parts(model: type[models.Model], *relations: str) -> None:
    """Show the history of `model`'s rows in `relations` (added, changed, removed) on its audit trail."""
    AUDITED_PARTS[model] = tuple(relations)


# Records that hold answers to their study's items by code in a JSON field (a screening's, an
# assessment's): model -> (the field, the record's study id).
ITEM_ANSWERS: dict[type[models.Model], tuple[str, Callable[[models.Model], int]]] = {}


def register_item_answers(model: type[models.Model], field: str, study_id: Callable[[models.Model], int]) -> None:
    """Show `model`'s answers in `field` on its audit trail by the item's label (and code), each answer
    as a reader sees it (a choice by its label); `study_id(record)` is the record's study."""
    ITEM_ANSWERS[model] = (field, study_id)


def _item_specs(instance: models.Model) -> tuple[str, Mapping[str, item_rules.ItemSpec]]:
    """The field holding the record's item answers and its study's items by code (one query), or
    ("", {}) for a record without answers."""
    registered = ITEM_ANSWERS.get(type(instance))
    if registered is None:
        return "", {}
    field, study_id = registered
    return field, {item.code: item.spec for item in Item.objects.filter(study_id=study_id(instance))}


def audit_entries(instance: models.Model) -> list[AuditEntry]:
    """The record's history, newest first, each change shown field by field, a linked record by its
    name (one query, one for the study's items when the record holds item answers, one per part
    registered with `register_audited_parts`, and one per kind of record linked to)."""
    rows = list(instance.history.select_related("history_user").order_by("-history_date", "-history_id"))
    answers_field, specs = _item_specs(instance)
    labels = RelatedLabels()
    groups = [(_changes_of(rows, type(instance), labels), type(instance), "", "")]
    parts = AUDITED_PARTS.get(type(instance), ())
    for relation in parts:
        related = instance._meta.get_field(relation)
        part_rows = list(related.related_model.history.filter(**{related.field.attname: instance.pk})
                         .select_related("history_user").order_by("-history_date", "-history_id"))
        by_part: dict = {}
        for row in part_rows:
            by_part.setdefault(row.id, []).append(row)
        for history in by_part.values():
            label = f"{related.related_model._meta.verbose_name} {history[0].instance}"
            groups.append((_changes_of(history, related.related_model, labels), related.related_model, label,
                           related.field.attname))
    labels.resolve()
    entries = []
    for index, (changes, model, label, skip) in enumerate(groups):
        entries.extend(_entries(changes, model, labels, label=label, skip=skip,
                                answers=(answers_field, specs) if index == 0 else ("", {})))
    if parts:
        entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries


def _changes_of(rows: list, model: type[models.Model], labels: RelatedLabels) -> list[tuple[Any, list]]:
    """Each history row (newest first) with its changes from the row before it (empty for a creation
    or deletion); the records the rows link to are noted in `labels`, to be read together."""
    labels.collect(model, rows)
    found = []
    for index, row in enumerate(rows):
        older = rows[index + 1] if index + 1 < len(rows) else None
        changes = []
        if older is not None and row.history_type == "~":
            changes = row.diff_against(older, foreign_keys_are_objs=False).changes
            for change in changes:
                field = _model_field(model, change.field)
                if field is not None and field.many_to_many:
                    labels.collect_m2m(field, (change.old, change.new))
        found.append((row, changes))
    return found


def _entries(rows: list[tuple[Any, list]], model: type[models.Model], labels: RelatedLabels, *, label: str = "",
             skip: str = "", answers: tuple[str, Mapping[str, item_rules.ItemSpec]] = ("", {})) -> list[AuditEntry]:
    """Entries of one record's history rows with their changes (`_changes_of`, newest first); a
    part's fields are prefixed with `label` (its link to the record, `skip`, left out), and its
    removal lists what was removed. The field named by `answers` holds item answers, shown with the
    items (`answers[1]`, by code). Values are shown as a reader knows them (`labels`)."""
    prefix = f"{label}: " if label else ""
    answers_field, specs = answers
    entries = []
    for row, delta in rows:
        changes: list[FieldChange] = []
        if row.history_type == "~":
            for change in delta:
                if change.field == VERSION_FIELD:  # the record's edit counter (`trials.concurrency`), not data
                    continue
                field = _model_field(model, change.field)
                known = field is not None
                verbose = field_label(field) if known else change.field
                if _answers(change.old) and _answers(change.new) and not isinstance(field, MessageField):
                    item_specs = specs if change.field == answers_field else {}
                    changes.extend(_answer_changes(prefix + verbose, change.old, change.new, item_specs))
                    continue
                changes.append(FieldChange(
                    field=prefix + verbose,
                    old=labels.display(model, change.field, change.old) if known else change.old,
                    new=labels.display(model, change.field, change.new) if known else change.new,
                ))
        elif row.history_type == "+" or (label and row.history_type == "-"):
            for field in model._meta.concrete_fields:
                if field.primary_key or field.attname in (skip, VERSION_FIELD):
                    continue
                value = getattr(row, field.attname, None)
                if isinstance(value, dict) and value and not isinstance(field, MessageField):
                    item_specs = specs if field.attname == answers_field else {}
                    changes.extend(_answer_changes(prefix + field_label(field), {}, value, item_specs))
                elif value not in (None, "", [], {}):
                    changes.append(FieldChange(field=prefix + field_label(field), old=None,
                                               new=labels.display(model, field.name, value)))
        user = row.history_user
        entries.append(
            AuditEntry(
                when=row.history_date,
                who=user.get_username() if user else _("system"),
                action=_ACTIONS.get(row.history_type, row.history_type),
                reason=row.history_change_reason or "",
                changes=tuple(changes),
            )
        )
    return entries


def history_row_entry(model: type[models.Model], row, older, labels: RelatedLabels,
                      specs: Mapping[str, item_rules.ItemSpec] | None = None) -> Callable[[], AuditEntry]:
    """One history row of a record of `model` as its audit page shows it, for a page that gathers
    rows of many records (a participant's audit trail): its changes from `older` (the record's row
    before it, or None) are computed now and the records they link to noted in `labels`; the
    returned function gives the entry once `labels` is resolved. `specs` are the study's items by
    code, for a record that holds item answers (`register_item_answers`)."""
    changes = _changes_of([row] if older is None else [row, older], model, labels)[0][1]
    answers_field = ITEM_ANSWERS.get(model, ("", None))[0]
    answers = (answers_field, specs or {}) if answers_field else ("", {})
    return lambda: _entries([(row, changes)], model, labels, answers=answers)[0]


def _answers(value) -> bool:
    """A JSON object of answers by code (`items`), or none yet: shown key by key."""
    return value is None or isinstance(value, dict)


def _answer_changes(verbose: str, old: dict | None, new: dict | None,
                    specs: Mapping[str, item_rules.ItemSpec] | None = None) -> list[FieldChange]:
    """One change per code whose answer differs (`items › hbv: negative → positive`); an item of
    `specs` is named by its label with its code (`items › HBV serology (hbv)`) and its answers are
    shown as a reader sees them (a choice by its label, a number with its unit)."""
    old, new, specs = old or {}, new or {}, specs or {}
    changes = []
    for code in sorted({*old, *new}, key=str):
        if old.get(code) == new.get(code):
            continue
        spec = specs.get(code)
        label = spec.shown_label if spec else ""
        name = f"{label} ({code})" if spec else code
        changes.append(FieldChange(field=f"{verbose} › {name}", old=_answer_display(spec, old.get(code)),
                                   new=_answer_display(spec, new.get(code)), prefix=verbose, item=label,
                                   code=str(code)))
    return changes


def _answer_display(spec: item_rules.ItemSpec | None, value):
    """An answer as the item shows it; as recorded when there is no such item, no answer, or a value
    the item's type does not read (recorded before a change of its definition)."""
    if value is None:
        return value
    if spec is None or (spec.type == item_rules.MULTI_CHOICE and not isinstance(value, list)):
        return Entered(value) if isinstance(value, str) else value
    try:
        shown = item_rules.display(spec, value)
    except (TypeError, ValueError):
        return Entered(value) if isinstance(value, str) else value
    if spec.type in (item_rules.YES_NO, item_rules.DATE):
        return shown
    if spec.type == item_rules.NUMBER:  # its unit is the study's
        return ContentText(shown, ENGLISH) if spec.unit else shown
    if spec.type in (item_rules.CHOICE, item_rules.MULTI_CHOICE):
        languages = {language_of(label) for code, label in spec.shown_choices
                     if code in (value if isinstance(value, list) else [value])}
        return ContentText(shown, CHINESE if languages == {CHINESE} else ENGLISH)
    return Entered(shown)  # a text typed as the answer


def _model_field(model: type[models.Model], name: str):
    """The field `name` of `model` (a many-to-many field too, which its history rows lack), or None."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


# Records whose audit trail can be opened from a page: URL name -> model. The configuration models
# are added by `trials.apps`, the clinical ones by their apps' `ready`.
_AUDITED: dict[str, type[models.Model]] = {}


def register_audited(name: str, model: type[models.Model]) -> None:
    """An app adds a model so that its records get an audit page too."""
    _AUDITED[name] = model


def audited_model(name: str) -> type[models.Model] | None:
    return _AUDITED.get(name)


def audited_kind(model: type[models.Model]) -> str | None:
    """The name under which `model`'s records have their audit page (`register_audited`), or None."""
    return next((name for name, registered in _AUDITED.items() if registered is model), None)
