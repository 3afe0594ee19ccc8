"""Length limits of free text and the calendar of dates, for the API serializers and the page forms alike.

Every text field a user fills is limited by the length of the model field it is stored in, so that
an over-long value is refused with a message on that field (400 / form error) before anything is
written: SQLite does not enforce a CharField's length, PostgreSQL would fail the write (DataError).
One mechanism serves both layers: an input serializer derives from `LimitedSerializer`, a form
from `LimitedForm`; each names the model its fields are stored in (`length_model`) and, where a
field's name differs from the model's, where it goes (`length_fields`). Then:

- a field named `reason` is an audit reason (kept in the history rows' `history_change_reason`),
  limited to that column's length (`audit_reason_max_length()`, 100);
- a field stored in a model CharField takes its `max_length`;
- any other text (a TextField, a value kept inside a JSON field, a password) is limited to
  `TEXT_MAX_LENGTH` characters, so that no request stores an unbounded text.

A field that declares a smaller `max_length` of its own keeps it.

Dates and datetimes are bounded the same way, to the calendar a clinical record can fall in
(`EARLIEST_DATE` to `LATEST_DATE`): a year 1 or 9999 would overflow the conversions to UTC and the
schedule arithmetic. Whether a date is plausible for its field (not in the future, not before
birth or enrolment, ...) is the services' business (trials/dates.py).
"""
from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Study

TEXT_MAX_LENGTH = 5000  # free text stored in a TextField or inside a JSON field
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(2099, 12, 31)


def validate_calendar(value: date | datetime | None) -> None:
    """Refuse a date (or a datetime's day) outside EARLIEST_DATE..LATEST_DATE."""
    if value is None:
        return
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(_("Give a date from %(first)s to %(last)s.") % {
            "first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()}, code="calendar")


def audit_reason_max_length() -> int:
    """The length of the audit trail's reason column (django-simple-history: 100)."""
    return Study.history.model._meta.get_field("history_change_reason").max_length


def text_max_length(name: str, model=None, length_fields: dict | None = None) -> int:
    """The length limit of the text field `name` stored in `model` (see the module docstring).

    `length_fields` maps a field name to the model field's name, or to `(Model, "field")` when it
    is stored in another model.
    """
    target = (length_fields or {}).get(name, name)
    if isinstance(target, tuple):
        model, target = target
    limit = None
    if model is not None:
        try:
            limit = getattr(model._meta.get_field(target), "max_length", None)
        except FieldDoesNotExist:
            limit = None
    if name == "reason":
        return min(limit or audit_reason_max_length(), audit_reason_max_length())
    return limit or TEXT_MAX_LENGTH


def reason_length_error(reason: str | None) -> str | None:
    """The message for an audit reason longer than its column, for services called without a form or
    serializer in front (the forms and the API refuse it first, with their own message)."""
    limit = audit_reason_max_length()
    if reason and len(reason.strip()) > limit:
        return str(_("The reason is at most %(n)d characters (it has %(has)d).") % {
            "n": limit, "has": len(reason.strip())})
    return None


# --- API ----------------------------------------------------------------------------------------

class CalendarDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, with a naive time at the edge of the calendar ("0001-01-01") refused as
    out of range: DRF's own time-zone check overflows on it (OverflowError, a 500)."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


def _limit_drf_field(field, limit: int) -> None:
    if type(field) is serializers.DateTimeField:
        field.__class__ = CalendarDateTimeField  # the same field, with the overflow refused
    if isinstance(field, serializers.DateField | serializers.DateTimeField):
        if validate_calendar not in field.validators:
            field.validators.append(validate_calendar)
    elif isinstance(field, serializers.CharField) and (field.max_length is None or field.max_length > limit):
        field.max_length = limit
        message = field.error_messages["max_length"].format(max_length=limit)
        field.validators.append(MaxLengthValidator(limit, message=message))
    elif isinstance(field, serializers.ListField | serializers.DictField):
        _limit_drf_field(field.child, limit)


class LimitedSerializer(serializers.Serializer):
    """An input serializer whose text fields are limited by the model's lengths (module docstring)."""

    length_model = None
    length_fields: dict = {}

    def get_fields(self):
        fields = super().get_fields()
        for name, field in fields.items():
            _limit_drf_field(field, text_max_length(name, self.length_model, self.length_fields))
        return fields


def unlimited_text_fields(serializer, prefix: str = "") -> list[str]:
    """Paths of the text fields of an input serializer (nested ones too) that have no length limit."""
    found = []
    for name, field in serializer.fields.items():
        path = f"{prefix}{name}"
        if isinstance(field, serializers.ListSerializer):
            found += unlimited_text_fields(field.child, f"{path}.0.")
        elif isinstance(field, serializers.Serializer):
            found += unlimited_text_fields(field, f"{path}.")
        else:
            while isinstance(field, serializers.ListField | serializers.DictField):
                field, path = field.child, f"{path}.*"
            if isinstance(field, serializers.CharField) and field.max_length is None and not field.read_only:
                found.append(path)
    return found


# --- pages --------------------------------------------------------------------------------------

def limit_form_fields(form: forms.BaseForm, model=None, length_fields: dict | None = None) -> None:
    """Give every text field of `form` without a limit the model's (see the module docstring)."""
    for name, field in form.fields.items():
        if isinstance(field, forms.DateField | forms.DateTimeField) and validate_calendar not in field.validators:
            field.validators.append(validate_calendar)
        if not isinstance(field, forms.CharField):
            continue
        limit = text_max_length(name, model, length_fields)
        if field.max_length is None or field.max_length > limit:
            field.max_length = limit
            field.validators.append(MaxLengthValidator(limit))
            if not field.widget.is_hidden:
                field.widget.attrs["maxlength"] = str(limit)


class LimitedForm:
    """Form mixin: text fields limited by the model's lengths, including fields added in `__init__`."""

    length_model = None
    length_fields: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit_form_fields(self, self.length_model, self.length_fields)

    def full_clean(self):
        limit_form_fields(self, self.length_model, self.length_fields)
        super().full_clean()
