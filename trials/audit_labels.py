"""Values of the audit trail as a reader knows them: a linked record by its name, a user by their
user name, a choice by its label, yes/no for a flag, a catalogue code by its label.

The records that history rows link to are read once per linked model (`RelatedLabels.resolve`), so
an audit page costs the same number of queries however long the history is.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext as _

from . import catalogues
from .messages import MessageField, render


def _field(model: type[models.Model], name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _links(model: type[models.Model]) -> list:
    """The model's own foreign keys (and one-to-one links)."""
    return [field for field in model._meta.concrete_fields
            if field.is_relation and (field.many_to_one or field.one_to_one) and not field.primary_key]


def _label_paths(model: type[models.Model]) -> list[str]:
    """The links a record's name may read (two levels: a dose level is named by its arm's study),
    joined in the one query that reads the records."""
    paths = []
    for field in _links(model):
        paths.append(field.name)
        paths.extend(f"{field.name}__{inner.name}" for inner in _links(field.related_model))
    return paths


def _m2m_target(field) -> str:
    """The key of the linked record in simple-history's rows of a many-to-many field (`site`)."""
    return field.m2m_reverse_field_name()


class RelatedLabels:
    """Collects the ids that history rows link to (`collect`), reads them in one query per linked
    model (`resolve`) and shows every value of a field as a reader knows it (`display`)."""

    def __init__(self) -> None:
        self._wanted: dict[type[models.Model], set] = defaultdict(set)
        self._labels: dict[tuple[type[models.Model], Any], str] = {}

    def collect(self, model: type[models.Model], rows) -> None:
        links = _links(model)
        for row in rows:
            for field in links:
                value = getattr(row, field.attname, None)
                if value is not None:
                    self._wanted[field.related_model].add(value)

    def collect_m2m(self, field, values) -> None:
        """Ids of the records linked through a many-to-many field, from a change's old and new values."""
        target = _m2m_target(field)
        for value in values:
            for link in value or ():
                if isinstance(link, dict) and link.get(target) is not None:
                    self._wanted[field.related_model].add(link[target])

    def resolve(self) -> None:
        user_model = get_user_model()
        for model, ids in self._wanted.items():
            ids = ids - {pk for (known, pk) in self._labels if known is model}
            if not ids:
                continue
            records = model._base_manager.filter(pk__in=ids)
            if model is not user_model:
                records = records.select_related(*_label_paths(model))
            for record in records:
                name = record.get_username() if isinstance(record, user_model) else str(record)
                self._labels[(model, record.pk)] = name
        self._wanted.clear()

    def label(self, model: type[models.Model], pk) -> str:
        found = self._labels.get((model, pk))
        if found is not None:
            return found
        return _("%(record)s %(id)s (deleted)") % {"record": model._meta.verbose_name, "id": pk}

    def display(self, model: type[models.Model], name: str, value):
        """`value` of the field `name` (its name or attname) of `model` as a reader knows it."""
        field = _field(model, name)
        if field is None:
            return value
        if field.many_to_many:
            target = _m2m_target(field)
            return "; ".join(sorted(self.label(field.related_model, link.get(target)) for link in value or ()
                                    if isinstance(link, dict))) or None
        if field.is_relation:
            return None if value is None else self.label(field.related_model, value)
        if value is None:
            return None
        if isinstance(field, MessageField):  # an explanation kept as a message: worded for the reader
            return render(value) or None
        if getattr(field, "choices", None):
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, str):
            label = catalogues.code_label(field.name, value)
            return value if label is None else label
        if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
            return ", ".join(str(item) for item in value) or None
        return value
