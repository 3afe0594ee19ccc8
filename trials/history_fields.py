"""Fields a model's history leaves out (simple-history's `excluded_fields`: a user's password and
last sign-in). A save that changes only those is not a change of the record: the audit guards ask
no reason for it (`trials.audit`) and no history row is written (`trials.auth_models`)."""
from __future__ import annotations

from django.db import models


def saves_only_unrecorded(instance: models.Model, update_fields=None) -> bool:
    """True when saving `instance` (a row that exists) changes only fields its history leaves out.
    With `update_fields`, those are the fields saved; without, the stored row is read (one query,
    only for a model whose history leaves fields out)."""
    history = getattr(type(instance), instance._meta.simple_history_manager_attribute).model
    excluded = set(getattr(history, "_history_excluded_fields", ()))
    if not excluded:
        return False
    if update_fields is not None:
        return bool(update_fields) and set(update_fields) <= excluded
    recorded = [field.attname for field in instance._meta.concrete_fields if field.name not in excluded]
    stored = type(instance)._base_manager.filter(pk=instance.pk).values(*recorded).first()
    return stored is not None and all(stored[name] == getattr(instance, name) for name in recorded)
