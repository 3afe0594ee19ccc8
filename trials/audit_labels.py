"""Values of the audit trail as a reader knows them: a linked record by its name, a user by their
user name, a choice by its label, yes/no for a flag, a catalogue code by its label.

The records that history rows link to are read once per linked model (`RelatedLabels.resolve`), so
an audit page costs the same number of queries however long the history is.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from . import catalogues
from .content import ContentText
from .messages import MessageField, render


class Entered(str):
    """A stored text a person typed (a name, a reason, a free-text answer): data, shown as written,
    in whatever language it was written."""


class AsWritten(str):
    """A text the product wrote and keeps as it was read (the meaning a signer signed), in its
    language (`lang`)."""

    def __new__(cls, value: str):
        text = super().__new__(cls, value)
        text.lang = "zh-Hans" if _CHINESE.search(value) else "en"
        return text


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def value_attributes(value) -> str:
    """The attributes that mark a shown value on a page: `data-entered` for what a person typed,
    `lang` for a text kept in the language it was written in, `lang` and `data-study-content` for a
    study's text (`trials.content.ContentText`); "" for the interface's own words, numbers, dates
    and codes."""
    if isinstance(value, Entered):
        return "data-entered"
    if isinstance(value, AsWritten):
        return f'lang="{value.lang}"'
    if isinstance(value, ContentText):
        return f'lang="{value.lang}" data-study-content'
    return ""


# Fields whose stored values are shown their own way (a text the product wrote, in the reader's
# language): (model, field name) -> the function showing a value. Registered by the apps.
_VALUE_DISPLAYS: dict[tuple[type[models.Model], str], Any] = {}


def register_value_display(model: type[models.Model], field: str, show) -> None:
    """Show the values of `model`'s `field` with `show(value)` on the audit trail."""
    _VALUE_DISPLAYS[(model, field)] = show


# The names of links whose field has no name of its own (Django names it after the field): the
# audit trail shows them translated (`field_label`).
LINK_NAMES = (
    gettext_noop("definition"), gettext_noop("recorded by"), gettext_noop("enrolled by"), gettext_noop("created by"),
    gettext_noop("created at"), gettext_noop("reported by"), gettext_noop("visit definition"), gettext_noop("user"),
)


def field_label(field) -> str:
    """A field's name as the reader knows it: its own name (translated), or, for a name Django made
    from the field's name, that name translated."""
    name = field.verbose_name
    return str(name) if isinstance(name, Promise) else _(str(name))


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
        show = next((_VALUE_DISPLAYS[(klass, field.name)] for klass in model.__mro__
                     if (klass, field.name) in _VALUE_DISPLAYS), None)
        if show is not None and value is not None:
            return show(value)
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
            return Entered(value) if label is None else label
        if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
            return ", ".join(str(item) for item in value) or None
        return value
