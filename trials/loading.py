"""The loader's primitives: a row matched on its natural key and created, kept and reported, or
updated from its file (`trials.services.studies_load`, `trials.catalogue_services.catalogues_load`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from .audit import audited_save


class StudyDefinitionError(Exception):
    """A study definition file is not valid; the message names the file, the row and the field, and
    `errors` (when the row's place is known) gives the messages by path in the document, such as
    `criteria.3.params.field` (API.md "Study definitions")."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class LoadReport:
    update: bool = False  # apply the file's values to rows that differ (else keep and report them)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _upsert(model: type[models.Model], *, key: dict, values: dict, by, reason: str, report: LoadReport,
            label: str, create_only: dict | None = None, path: str | None = None,
            names: dict[str, str] | None = None) -> models.Model:
    instance = model.objects.filter(**key).first()
    creating = instance is None
    if creating:
        instance = model(**key, **values, **(create_only or {}))
    else:
        changed = [name for name, value in values.items() if getattr(instance, name) != value]
        if not changed:
            return instance
        if not report.update:
            # Changed since (by an administrator, with its own audit trail): keep it, say so.
            report.differs.append(f"{label}: {', '.join(changed)}")
            return instance
        for name in changed:
            setattr(instance, name, values[name])
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors = _error_paths(exc, path, names or {}) if path is not None else None
        raise StudyDefinitionError(_("%(label)s: %(problem)s") % {"label": label, "problem": _format_errors(exc)},
                                   errors) from None
    audited_save(instance, by=by, reason=reason)
    (report.created if creating else report.updated).append(label)
    return instance


def _error_paths(exc: ValidationError, path: str, names: dict[str, str]) -> dict[str, list[str]]:
    """A row's validation messages by their path in the document (`names`: the document's name of
    a model field where they differ); a rule's messages, written "<param path>: <message>", under
    `<row>.params.<param path>`."""
    found: dict[str, list[str]] = {}
    for name, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}).items():
        for message in messages:
            key = path if name == "__all__" else f"{path}.{names.get(name, name)}"
            param, separator, rest = message.partition(": ")
            if name == "params" and separator and " " not in param:
                key, message = f"{key}.{param}", rest
            found.setdefault(key, []).append(message)
    return found


def _format_errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(str(m) for m in msgs)}" if name != "__all__" else " ".join(msgs)
                         for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


def _report_extra(report: LoadReport, label: str, queryset, attr: str) -> None:
    for row in queryset:
        report.not_in_file.append(f"{label} {getattr(row, attr)}")
