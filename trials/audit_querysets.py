"""The audit trail of writes made by a queryset rather than by saving a record.

A model that keeps history (django-simple-history) records a history row when one of its records
is saved or deleted (`trials.audit`). A queryset's own writes bypass the saves: `update()` and
`bulk_update()` change rows with one UPDATE, `bulk_create()` inserts them with one INSERT. On a
model that keeps history, `AuditedQuerySet` makes these write the history rows too, in the same
transaction and in a fixed number of statements whatever the number of rows:

- `update()` and `bulk_update()` are refused (`AuditReasonRequired`, before anything is written)
  unless called inside `change_context(by=..., reason=...)` with a reason; then each row they
  change gets one "~" history row with that user and reason, read back after the write (`update`:
  the rows' keys, locked, then the UPDATE, the rows, one INSERT of their history; `bulk_update`: the
  UPDATE, then one INSERT of the history of the objects given, as they now are);
- `update_record(record, **values)` is the conditional update of one record read in the transaction
  (`Visit.objects.filter(state="upcoming").update_record(visit, state="done")`): the UPDATE, then
  its history row, written from the record with the values set;
- `bulk_create()` writes a "+" history row per record created, with the user and reason of the
  change in progress if there is one (a creation needs no reason).

Every model of the project with history uses it: `trials.scoping.ScopedQuerySet` is one, the
others declare `objects = AuditedQuerySet.as_manager()`. Related managers
(`screening.consents.update(...)`) are built from the model's default manager's class and so are
guarded as well. At start-up `guard_managers` guards the managers of a model with history that does
not declare it (one of Django's), and makes every such model's default manager its base manager, so
that Django's own writes through the base manager (a related manager's `add()`, the SET_NULL of a
deletion) keep the history too. The system check below reports a manager left unguarded. The
history manager itself (`Model.history`) is django-simple-history's and left as it is.
"""
from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

from django.apps import apps
from django.core import checks
from django.db import NotSupportedError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .concurrency import VERSION_FIELD
from .audit_context import AuditReasonRequired, change_context, change_in_progress, clip

# Set while `bulk_update` runs Django's own UPDATEs, whose history it writes itself.
_writing_history: ContextVar[bool] = ContextVar("writing_history", default=False)


def keeps_history(model: type[models.Model]) -> bool:
    return hasattr(model._meta, "simple_history_manager_attribute")


def _history_manager(model: type[models.Model]):
    return getattr(model, model._meta.simple_history_manager_attribute)


def _change_in_force(model: type[models.Model]) -> tuple[object, str]:
    """(user, reason) of the change in progress, or AuditReasonRequired when there is no reason."""
    current = change_in_progress()
    if current is None or not (current[1] or "").strip():
        raise AuditReasonRequired(
            _("A reason is required to change %(records)s: several rows cannot be changed at once without "
              "one.") % {"records": model._meta.verbose_name_plural})
    return current


def _write_history(model: type[models.Model], rows: list[models.Model], *, history_type: str, by,
                   reason: str | None) -> None:
    """One INSERT of the history rows of `rows` (as they now are), with `by` and `reason`."""
    if not rows:
        return
    history = _history_manager(model)
    limit = history.model._meta.get_field("history_change_reason").max_length
    history.bulk_history_create(rows, update=history_type == "~", default_user=by if getattr(by, "pk", None) else None,
                                default_change_reason=clip(reason or None, limit), default_date=timezone.now())


def _plain_update(queryset: models.QuerySet, values: dict) -> int:
    return models.QuerySet.update(queryset, **values)


def _versioned(model: type[models.Model]) -> bool:
    """A record whose every change moves its version on (`trials.concurrency.VersionedModel`): a
    queryset write changes it too, so that an edit made from a read before it is refused."""
    return any(field.attname == VERSION_FIELD for field in model._meta.concrete_fields)


class AuditedQuerySet(models.QuerySet):
    """A queryset whose writes keep the history of a model that keeps one (module docstring); on
    any other model it is Django's."""

    def update(self, **values) -> int:
        if _writing_history.get() or not keeps_history(self.model) or not values or self.query.is_sliced:
            return super().update(**values)  # nothing to record, or Django's refusal of a sliced query
        by, reason = _change_in_force(self.model)
        if _versioned(self.model) and VERSION_FIELD not in values:
            values = {**values, VERSION_FIELD: models.F(VERSION_FIELD) + 1}
        with transaction.atomic(using=self.db, savepoint=False):
            # The rows' keys first, locked (PostgreSQL) so that they are the rows the UPDATE changes.
            keys = list(self.select_for_update(of=("self",)).values_list("pk", flat=True))
            if not keys:
                return 0
            changed = _plain_update(self.filter(pk__in=keys), values)
            rows = list(self.model._default_manager.using(self.db).filter(pk__in=keys))
            _write_history(self.model, rows, history_type="~", by=by, reason=reason)
        return changed

    def update_record(self, record: models.Model, **values) -> bool:
        """UPDATE `record`'s row with `values` (plain values, no expressions) if it is among this
        queryset's rows; if it was, `record` (read in this transaction) takes the values and its
        history row is written from it: two statements. False when the row did not match."""
        if any(hasattr(value, "resolve_expression") for value in values.values()):
            raise ValueError("update_record() takes plain values; use update() for expressions.")
        if not keeps_history(self.model):
            raise TypeError(f"{self.model._meta.label} keeps no history: use update().")
        by, reason = _change_in_force(self.model)
        matching = self.filter(pk=record.pk)
        if _versioned(self.model) and VERSION_FIELD not in values:
            # Only the row as `record` read it: a row changed since does not match (False).
            matching = matching.filter(**{VERSION_FIELD: getattr(record, VERSION_FIELD)})
            values = {**values, VERSION_FIELD: getattr(record, VERSION_FIELD) + 1}
        with transaction.atomic(using=self.db, savepoint=False):
            if not _plain_update(matching, values):
                return False
            for name, value in values.items():
                setattr(record, name, value)
            _write_history(self.model, [record], history_type="~", by=by, reason=reason)
        return True

    def bulk_update(self, objs: Iterable[models.Model], fields, batch_size=None) -> int:
        if _writing_history.get() or not keeps_history(self.model):
            return super().bulk_update(objs, fields, batch_size=batch_size)
        by, reason = _change_in_force(self.model)
        objs = list(objs)
        if _versioned(self.model) and VERSION_FIELD not in fields:
            fields = [*fields, VERSION_FIELD]
            for obj in objs:
                setattr(obj, VERSION_FIELD, getattr(obj, VERSION_FIELD) + 1)
        with transaction.atomic(using=self.db, savepoint=False):
            token = _writing_history.set(True)
            try:
                changed = super().bulk_update(objs, fields, batch_size=batch_size)
            finally:
                _writing_history.reset(token)
            rows = objs
            if any(obj.get_deferred_fields() for obj in objs):  # read back whole, in one query
                rows = list(self.model._default_manager.using(self.db).filter(pk__in=[obj.pk for obj in objs]))
            _write_history(self.model, rows, history_type="~", by=by, reason=reason)
        return changed

    def bulk_create(self, objs: Iterable[models.Model], batch_size=None, ignore_conflicts=False,
                    update_conflicts=False, update_fields=None, unique_fields=None) -> list[models.Model]:
        if not keeps_history(self.model):
            return super().bulk_create(objs, batch_size=batch_size, ignore_conflicts=ignore_conflicts,
                                       update_conflicts=update_conflicts, update_fields=update_fields,
                                       unique_fields=unique_fields)
        if ignore_conflicts or update_conflicts:
            # Which rows were created (or changed) is not known: their history could not be written.
            raise NotSupportedError(_("%(records)s keep their history: they cannot be created while ignoring or "
                                      "updating the rows they conflict with.") % {
                "records": self.model._meta.verbose_name_plural})
        by, reason = change_in_progress() or (None, None)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, batch_size=batch_size)
            if any(obj.pk is None for obj in created):
                raise NotSupportedError("The database did not return the keys of the rows created: "
                                        "their history cannot be written.")
            _write_history(self.model, created, history_type="+", by=by, reason=reason)
        return created


# Guarded subclasses of querysets that are not (`_guarded`), made once each.
_GUARDED: dict[type[models.QuerySet], type[AuditedQuerySet]] = {}


def _guarded(queryset_class: type[models.QuerySet]) -> type[models.QuerySet]:
    if issubclass(queryset_class, AuditedQuerySet):
        return queryset_class
    if queryset_class not in _GUARDED:
        _GUARDED[queryset_class] = type(f"Audited{queryset_class.__name__}", (AuditedQuerySet, queryset_class),
                                        {"__module__": __name__})
    return _GUARDED[queryset_class]


def guard_managers(model: type[models.Model]) -> None:
    """Guard every manager of `model`, a model with history (called at start-up by
    `trials.audit.connect_guards`).

    The project's models declare guarded querysets, which their related managers inherit. A model
    that cannot (one of Django's, given history by `simple_history.register`) has its managers given
    a guarded queryset here, both the managers the model class holds and those it inherits from an
    abstract model (so that they stay guarded when Django makes its copies again); its related
    managers, made from its manager's class, are not. The migrations record none of it.

    The default manager is made the base manager too, so that Django's own writes through the base
    manager (a related manager's `add()`, the SET_NULL of a deletion) keep the history. Set on the
    model's options, not in its Meta: the migrations do not record it."""
    for base in model.__mro__:
        for manager in getattr(getattr(base, "_meta", None), "local_managers", ()):
            if not issubclass(manager._queryset_class, AuditedQuerySet):
                manager._queryset_class = _guarded(manager._queryset_class)
    for manager in model._meta.managers:  # the copies made already
        if not issubclass(manager._queryset_class, AuditedQuerySet):
            manager._queryset_class = _guarded(manager._queryset_class)
    if not model._meta.base_manager_name:
        model._meta.base_manager_name = model._default_manager.name
        model._meta.__dict__.pop("base_manager", None)  # computed again from the name


def unguarded_managers() -> list[str]:
    """The managers of models with history whose querysets would write without it."""
    found = []
    for model in apps.get_models():
        if not keeps_history(model):
            continue
        for manager in (*model._meta.managers, model._base_manager):
            if not issubclass(manager._queryset_class, AuditedQuerySet):
                found.append(f"{model._meta.label}.{manager.name}")
    return found


@checks.register(checks.Tags.models)
def check_guarded_managers(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name} writes without history: its queryset must be a trials.audit_querysets."
                         "AuditedQuerySet.", id="trials.E101") for name in unguarded_managers()]


def audited_bulk_create(rows: list[models.Model], *, by, reason: str | None = None) -> list[models.Model]:
    """Insert `rows` (records of one model) and their "+" history rows with `by` and `reason`: one
    INSERT each (as many as the database's batch size needs)."""
    if not rows:
        return []
    with change_context(by=by, reason=reason):
        return type(rows[0])._default_manager.bulk_create(rows)


def audited_bulk_update(rows: list[models.Model], fields: list[str], *, by, reason: str) -> int:
    """Write `fields` of `rows` (records of one model, read in this transaction) and their "~" history
    rows with `by` and `reason` (`AuditedQuerySet.bulk_update`)."""
    if not rows:
        return 0
    with change_context(by=by, reason=reason):
        return type(rows[0])._default_manager.bulk_update(rows, fields)
