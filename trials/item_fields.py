"""Form fields of study-defined items, for every form that places them (screening, visits).

A field's name is the item's code; its shape follows the item's type (`trials.items`); the form
checks only the shape, the service the rest (`trials.items.clean_value`), so the page and the API
give the same messages.
"""
from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from . import items as item_rules
from .content import CHINESE, ENGLISH, ContentText
from .form_marks import service_required
from .widgets import date_input, number_input

BLANK = [("", "—")]
YES, NO, UNKNOWN = "yes", "no", "unknown"
YES_NO_UNKNOWN = [(YES, _("Yes")), (NO, _("No")), (UNKNOWN, _("Unknown"))]
_AS_BOOL = {YES: True, NO: False}


def as_choice(value) -> str:
    return YES if value is True else NO if value is False else UNKNOWN


def item_field(spec: item_rules.ItemSpec) -> forms.Field:
    shown = spec.shown_label  # knows its language, for the page to mark it (`trials.content`)
    label = ContentText(f"{shown} ({spec.unit})", shown.lang) if spec.unit else shown
    common = {"label": label, "required": False, "help_text": spec.shown_help_text}
    if spec.type == item_rules.YES_NO:
        return forms.ChoiceField(choices=YES_NO_UNKNOWN, initial=UNKNOWN, widget=forms.RadioSelect, **common)
    if spec.type == item_rules.NUMBER:
        attrs = {key: value for key, value in (("min", spec.min_value), ("max", spec.max_value)) if value is not None}
        return forms.FloatField(widget=number_input(**attrs), **common)
    if spec.type == item_rules.DATE:
        return forms.DateField(widget=date_input(), **common)
    if spec.type == item_rules.CHOICE:
        field = forms.ChoiceField(choices=BLANK + spec.shown_choices, **common)
        # The language of the code list as a whole: Chinese only when every label is (`trials.content`).
        field.choices_lang = ContentText("", CHINESE if spec.shown_choices and all(
            label.lang == CHINESE for _code, label in spec.shown_choices) else ENGLISH)
        return field
    if spec.type == item_rules.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=spec.shown_choices, widget=forms.CheckboxSelectMultiple, **common)
    return forms.CharField(max_length=spec.max_length or item_rules.DEFAULT_TEXT_LENGTH, **common)


def item_value(spec: item_rules.ItemSpec, cleaned):
    """What the form's cleaned value means for the service (None: not recorded)."""
    if spec.type == item_rules.YES_NO:
        return _AS_BOOL.get(cleaned)
    if spec.type == item_rules.NUMBER:
        return int(cleaned) if isinstance(cleaned, float) and cleaned.is_integer() else cleaned
    if spec.type == item_rules.DATE:
        return cleaned.isoformat() if isinstance(cleaned, date) else None
    if spec.type == item_rules.MULTI_CHOICE:
        return list(cleaned or []) or None
    return cleaned or None


def item_initial(spec: item_rules.ItemSpec, stored):
    """The field's initial value for a stored answer."""
    if spec.type == item_rules.YES_NO:
        return as_choice(stored)
    if stored is None:
        return [] if spec.type == item_rules.MULTI_CHOICE else ""
    return stored


class ItemFieldsMixin:
    """A form's study-defined items: a field per item, named by its code, read back by section
    (for the template) and as the service's values."""

    def add_item_fields(self, items) -> None:
        self.items = items  # [(section, ItemSpec)] in the form's order
        for _section, spec in items:
            self.fields[spec.code] = item_field(spec)
        # An item the study requires (when it applies) is marked; the service judges whether it applies.
        service_required(self, *[spec.code for _section, spec in items if spec.required])

    def item_sections(self) -> list[tuple[str, list]]:
        """The item fields by section, in the form's order."""
        sections: dict[str, list] = {}
        for section, spec in self.items:
            sections.setdefault(section, []).append(self[spec.code])
        return list(sections.items())

    def item_values(self) -> dict:
        """Every item of the form, by code; None: not answered."""
        return {spec.code: item_value(spec, self.cleaned_data.get(spec.code)) for _section, spec in self.items}
