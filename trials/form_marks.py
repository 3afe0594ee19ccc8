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
