"""Posting Django admin pages back as a browser would: the values the GET rendered, each inline's
management form, and the rows a test adds, with the formset prefixes read from
`inline_admin_formsets`; and the errors a refused post shows, on their fields."""
import json
from datetime import date

from django import forms
from django.urls import reverse


def _post_value(field: forms.Field, value):
    """A field's value as a browser posts it; None when nothing is posted (unticked box)."""
    if isinstance(field, forms.BooleanField):
        return "on" if value else None
    if isinstance(field, forms.JSONField) and not isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _form_data(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        value = _post_value(field, form[name].value())
        if isinstance(field, forms.ModelMultipleChoiceField):
            # A list shows only the records offered to this user; only those can be posted.
            offered = {str(pk) for pk in field.queryset.values_list("pk", flat=True)}
            value = [pk for pk in value if pk in offered]
        if value is not None:
            data[form.add_prefix(name)] = value
        if field.show_hidden_initial:  # the hidden "initial-" input that tells Django what changed
            data[form.add_initial_prefix(name)] = _post_value(field, form[name].initial)
    return data


def inline_formset(response, model):
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset
    raise AssertionError(f"The page has no inline for {model.__name__}.")


def page_data(response) -> dict:
    """What the page posts when saved as rendered: its form, each inline's management form and rows."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.forms:
            data.update(_form_data(form))
    return data


def inline_add(data: dict, response, model, **values) -> None:
    """Add a row to the inline of `model` ("Add another"): the empty row's defaults, then `values`."""
    formset = inline_formset(response, model)
    index = int(data[f"{formset.prefix}-TOTAL_FORMS"])
    data[f"{formset.prefix}-TOTAL_FORMS"] = str(index + 1)
    empty = formset.empty_form
    for key, value in _form_data(empty).items():
        data[key.replace("__prefix__", str(index))] = value
    for name, value in values.items():
        data[f"{formset.prefix}-{index}-{name}"] = _post_value(empty.fields[name], value)


def inline_row(response, model, **match) -> str:
    """The name prefix of the existing row of `model` whose record matches, e.g. code="D14"."""
    for form in inline_formset(response, model).initial_forms:
        if all(getattr(form.instance, name) == value for name, value in match.items()):
            return form.prefix
    raise AssertionError(f"No {model.__name__} row matches {match}.")


def form_errors(response) -> dict:
    return {name: list(messages) for name, messages in response.context["adminform"].form.errors.items()}


def inline_errors(response, model) -> list[dict]:
    """The errors of each row of the inline of `model` that has any, {field: [messages]}."""
    return [{name: list(messages) for name, messages in errors.items()}
            for errors in inline_formset(response, model).errors if errors]


def activate_amendment(client, study, version: str = "2", reason: str = "Amendment approved") -> None:
    """Put the study's edited items and criteria in force, as an administrator does on the study's
    "Protocol versions" page (`trials.admin_amendments`)."""
    url = reverse("admin:trials_study_versions", args=[study.pk])
    response = client.post(url, {"version": version, "effective_date": date.today().isoformat(), "reason": reason})
    assert response.status_code == 302, form_errors(response)
    study.refresh_from_db()
