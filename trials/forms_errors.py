"""A service's refusal on a page's form: each message on the field that holds the value.

The services name every bad value by its path (`date`, `product.lot`, `labs.2.value`; see
`trials.errors`). A page that calls one catches its `ServiceError` and hands it to
`add_service_errors`, which puts each path's messages on the form field of that name, a row
path (`labs.2.value`) on the field of the row form entered in that place, and whatever no field
shows (a hidden field shows nothing) on the form as a whole (its non-field errors), so that no
message is lost.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django import forms
from django.contrib import messages

from .errors import RecordLocked, ServiceError


def add_service_errors(form: forms.Form, error: ServiceError | Mapping[str, list[str]], *,
                       field_for: Callable[[str], str | None] | None = None,
                       rows: Mapping[str, Sequence[forms.Form]] | None = None,
                       rest: Callable[[str], None] | None = None, beside_form_errors: bool = False) -> None:
    """Put the refusal's messages on `form`.

    - `field_for(path)`: the name of the form field showing `path`, or None. By default the
      form's own `field_for` method if it has one (a form whose field names differ from the
      service's paths: `product.lot` shown by `product_lot`), else the field named as the path.
      A name the form does not have counts as None.
    - `rows`: the row forms entered, by list name (`{"labs": [...]}`), in the order the service
      received them: `labs.2.value` goes on the field `value` of the third row (on that row as a
      whole when it has no such field, or when the path is `labs.2` or deeper); a path past the
      last row goes where unplaced messages go.
    - `rest(message)`: where a message no field shows goes; default: the form's non-field errors.
    - `beside_form_errors`: the service checked what the form could read of a refused input (every
      problem is shown at once, `trials.all_errors`); a field that already shows the form's own
      message (its value was not readable, so not sent) gets no second one.

    A `RecordLocked` refusal is raised again: the page answers 403 naming the lock
    (`trials.middleware.RecordLockedMiddleware`), whatever form was posted.
    """
    if isinstance(error, RecordLocked):  # not a form's mistake: the page answers 403 naming the lock
        raise error
    errors = error.errors if isinstance(error, ServiceError) else error
    field_for = field_for or getattr(form, "field_for", None) or _same_name
    for path, texts in errors.items():
        target, name = _place(form, path, field_for, rows or {})
        if beside_form_errors and target is not None and target.has_error(name):
            continue
        for message in texts:
            if target is not None:
                target.add_error(name, message)
            elif rest is not None:
                rest(message)
            else:
                form.add_error(None, message)


def add_signature_refusal(form: forms.Form, refused: Exception) -> None:
    """A refused signature (`trials.signatures.SignatureRefused`, or another refusal of the signer)
    on a signing form: its message beside the field it names (the password), or on the form as a
    whole when the form has no such field."""
    name = getattr(refused, "field", "password")
    form.add_error(name if name in form.fields else None, str(refused))


def _same_name(path: str) -> str:
    return path


def _place(form, path: str, field_for, rows) -> tuple[forms.Form | None, str | None]:
    """The form (None: not placed) and field (None: the form as a whole) showing `path`."""
    parts = path.split(".")
    if parts[0] in rows and len(parts) >= 2 and parts[1].isdigit():
        entered, index = rows[parts[0]], int(parts[1])
        if index >= len(entered):
            return None, None
        row = entered[index]
        return row, parts[2] if len(parts) == 3 and _shown(row, parts[2]) else None
    name = field_for(path)
    return (form, name) if name is not None and _shown(form, name) else (None, None)


def _shown(form, name: str) -> bool:
    """Whether the field `name` of `form` shows its messages: a hidden field (the version a page
    was read at) shows none, so its messages go on the form as a whole."""
    return name in form.fields and not form.fields[name].widget.is_hidden


def errors_as_messages(request, form: forms.Form) -> None:
    """A refused form that the page no longer shows (the record changed meanwhile): its messages go
    to the top of the page."""
    for field_errors in form.errors.values():
        for message in field_errors:
            messages.error(request, message)
