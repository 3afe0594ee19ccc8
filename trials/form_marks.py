"""Required fields marked as such on every form: the asterisk (crispy-forms draws one for a
required field, red by `static/css/edc.css`; the page's legend says what it means), the HTML
`required` attribute and `aria-required` for assistive technology.

Some values are required by the service rather than the form (the product's lot, the adverse
event's category): `service_required` marks them the same, while the form still lets an empty
value through, so that the service refuses it with its own message, beside every other problem
of the input (`trials.all_errors`).
"""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _


def service_required(form: forms.Form, *names: str) -> None:
    """Mark the fields `names` required (those the form has, and not disabled), without the form
    refusing them when empty: the service does, saying why the value is needed."""
    for name in names:
        field = form.fields.get(name)
        if field is None or field.disabled:
            continue
        field.required = True
        field.validate = _empty_allowed(field)
    mark_required(form)


def mark_required(form: forms.Form) -> None:
    """`aria-required` on every required field a user fills in (Django adds `required`)."""
    for field in form.fields.values():
        if field.required and not field.disabled and not field.widget.is_hidden:
            field.widget.attrs["aria-required"] = "true"


def _empty_allowed(field: forms.Field):
    validate = field.validate

    def validate_unless_empty(value):
        if value in field.empty_values:
            return
        validate(value)
    return validate_unless_empty


def label_row(form: forms.Form) -> None:
    """Name every input of one row of a table of rows ("Start (row 2)"): the table's column heading
    is not the input's label for assistive technology. The row is the number the form's prefix
    ends with, counted from 1."""
    row = (form.prefix or "").rsplit("-", 1)[-1]
    row = int(row) + 1 if row.isdigit() else row
    for field in form.fields.values():
        field.widget.attrs["aria-label"] = f"{field.label} ({_('row')} {row})"
