"""The administration's forms: the audit reason every change asks for, fields a person fills in
without knowing the codes, and inline rows that must not repeat."""
import re

from django import forms
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.functional import lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst, get_text_list
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import catalogues
from .catalogue_names import shown_name
from .content import CHINESE, ENGLISH, ContentText
from .enums import Assessment
from .limits import audit_reason_max_length
from .models import (
    EligibilityCriterion,
    StudyDisease,
    VisitDefinition,
)
from .rule_params import RULE_TYPES


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        max_length=audit_reason_max_length(),
        help_text=_("Required when you change an existing record; kept in the audit trail."),
        widget=forms.TextInput(attrs={"size": 80}),
    )

    # When the page was read (`trials.concurrency` for the administration): a save is refused when the
    # record, or a row edited on the same page (`related_histories`), changed since.
    read_at = forms.CharField(widget=forms.HiddenInput, required=False)
    related_histories: tuple = ()  # (model, attname of its link to this record) of the page's inlines

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["read_at"] = timezone.now().isoformat()

    def clean_change_reason(self):
        reason = (self.cleaned_data.get("change_reason") or "").strip()
        if self.instance.pk and not reason:
            raise forms.ValidationError(_("Say why you are changing this record (for the audit trail)."))
        return reason

    def clean(self):
        cleaned = super().clean()
        read_at = parse_datetime(self.cleaned_data.get("read_at") or "")
        if self.instance.pk and read_at is not None:
            latest = changed_since(self.instance, read_at, self.related_histories)
            if latest is not None:
                raise ValidationError(
                    _("%(who)s changed this record at %(when)s, since you opened this page (%(reason)s): nothing was "
                      "saved. Open it again to see their change, then make yours.") % {
                        "who": latest.history_user.get_username() if latest.history_user else _("someone"),
                        "when": timezone.localtime(latest.history_date).strftime("%Y-%m-%d %H:%M:%S"),
                        "reason": latest.history_change_reason or "-"}, code="stale")
        return cleaned


def changed_since(instance, read_at, related=()):
    """The newest history row of `instance`, or of a row linked to it (`related`: (model, attname)),
    written after `read_at`; None when nothing changed since."""
    rows = [model.history.filter(**{attname: instance.pk}) for model, attname in related]
    rows.append(type(instance).history.filter(id=instance.pk))
    found = [row for row in (query.filter(history_date__gt=read_at).select_related("history_user")
                             .order_by("-history_date").first() for query in rows) if row is not None]
    return max(found, key=lambda row: row.history_date) if found else None


# --------------------------------------------------------------------------------------------
# Fields a person fills in without knowing the codes
# --------------------------------------------------------------------------------------------


def code(text) -> str:
    """Code as typed (setting names, JSON examples, keys): kept as written, in English, whatever the
    page's language."""
    return format_html('<code lang="en">{}</code>', text)


def html_message(message: str, **values) -> str:
    """A translated `message` with its `%(name)s` placeholders filled with `values` (HTML kept,
    text escaped); unlike `format_html`, the message may hold braces (JSON examples)."""
    return mark_safe(conditional_escape(message) % {  # noqa: S308
        name: conditional_escape(value) for name, value in values.items()})


_EXAMPLE = re.compile(r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}")


def with_examples_as_code(text) -> str:
    """`text` with each JSON example in it (`{...}`, nested up to three deep) shown as code."""
    parts, end = [], 0
    for match in _EXAMPLE.finditer(str(text)):
        parts.append(format_html("{}{}", str(text)[end:match.start()], code(match.group())))
        end = match.end()
    return format_html("{}{}", format_html_join("", "{}", ((part,) for part in parts)), str(text)[end:])


class LanguageSelect(forms.Select):
    """A select whose options' labels say the language they are written in (`ContentText`, e.g. a
    study's or a catalogue's name without its Chinese twin): the option is marked so."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if isinstance(label, ContentText):
            option["attrs"]["lang"] = label.lang
        return option


def catalogue_label(name) -> ContentText:
    """A catalogue row's name in the reader's language (`trials.catalogue_names`; the catalogues give
    it lazily), knowing whether it is still the English one (a Chinese name is never all ASCII)."""
    shown = str(shown_name(str(name)))
    return ContentText(shown, ENGLISH if shown.isascii() else CHINESE)


def _rule_type_choices():
    # The rules by name; their codes, used in nested rules, are in the parameters' help.
    return [("", "---------")] + [(rule.code, str(rule.label)) for rule in RULE_TYPES.values()]


def _rule_parameters_help() -> str:
    rules = format_html_join(
        "", "<dt>{} {}</dt><dd>{}</dd>",
        ((rule.label, code(rule.code), with_examples_as_code(rule.help)) for rule in RULE_TYPES.values()),
    )
    return format_html(
        '{}<details><summary>{}</summary><dl class="rule-types">{}</dl></details>',
        html_message(gettext("The settings of the chosen rule, written as in the examples: names in double quotes, "
                             "e.g. %(example)s for an age range."), example=code('{"min_years": 18, "max_years": 75}')),
        gettext("Rules, their settings and an example of each"),
        rules,
    )


def several_hint() -> str:
    """How to choose several rows of a list, the keys named as on the keyboard."""
    return html_message(gettext("Hold down %(control)s, or %(command)s on a Mac, to select more than one."),
                        control=format_html('<kbd lang="en">{}</kbd>', "Control"),
                        command=format_html('<kbd lang="en">{}</kbd>', "Command"))


# Lazy, so that the text is translated in the language of the request.
rule_parameters_help = lazy(_rule_parameters_help, str)


class PlainFieldsMixin:
    """Assessments are ticked from a list and the rule is chosen by name, with its settings
    explained next to the parameters field, instead of codes typed as JSON."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.model is VisitDefinition and db_field.name == "assessments":
            return forms.MultipleChoiceField(
                label=capfirst(db_field.verbose_name), choices=Assessment.choices, required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        if db_field.model is EligibilityCriterion and db_field.name == "rule_type":
            # A CharField with a list, not a ChoiceField: the rule library's own message explains
            # a rule type it does not know.
            kwargs["widget"] = forms.Select(choices=_rule_type_choices())
        if db_field.model is StudyDisease and db_field.name == "disease":
            # The catalogue's diseases by name (Configuration > Diseases adds one, and lists their codes).
            kwargs["widget"] = LanguageSelect(choices=[("", "---------")] + [
                (key, catalogue_label(entry.name)) for key, entry in catalogues.current().diseases.items()])
        if db_field.model is EligibilityCriterion and db_field.name == "params":
            kwargs["help_text"] = rule_parameters_help()
            kwargs["widget"] = forms.Textarea(attrs={"rows": 3, "cols": 80})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        widget = getattr(field, "widget", None)
        if (isinstance(widget, forms.SelectMultiple) and widget.allow_multiple_selected
                and not isinstance(widget, (forms.CheckboxSelectMultiple, AutocompleteSelectMultiple))):
            # Django's own hint names the keys in the reader's words; ours marks them as the keyboard's.
            field.help_text = format_html("{} {}", db_field.help_text, several_hint()) if db_field.help_text \
                else several_hint()
        return field


class CriterionErrorsMixin:
    """The model names the setting in front of each message ("analyte: ..."); on the rule field
    that would only repeat the field, and a rule left empty is reported once."""

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict") and "rule_type" in errors.error_dict:
            if self.has_error("rule_type"):
                del errors.error_dict["rule_type"]
            else:
                errors.error_dict["rule_type"] = [
                    ValidationError(str(message).removeprefix("rule_type: "))
                    for error in errors.error_dict["rule_type"] for message in error.messages
                ]
        super()._update_errors(errors)


class CriterionInlineForm(CriterionErrorsMixin, forms.ModelForm):
    pass


class CriterionForm(CriterionErrorsMixin, ReasonForm):
    pass


class StudyForm(ReasonForm):
    def clean_sites(self):
        """Keep the sites this administrator cannot see: the list offers only their own."""
        chosen = list(self.cleaned_data["sites"])
        if self.instance.pk is None:
            return chosen
        offered = self.fields["sites"].queryset
        return chosen + list(self.instance.sites.exclude(pk__in=offered.values("pk")))


def _unique_key(values: dict, fields) -> tuple | None:
    """The values of `fields` as a comparable key; None when one is missing or empty."""
    if any(values.get(name) is None for name in fields):
        return None
    return tuple(values[name].pk if hasattr(values[name], "_get_pk_val") else values[name] for name in fields)


class UniqueRowsFormSet(BaseInlineFormSet):
    """The rows of one parent against its unique constraints (one infusion number per arm), with
    messages in words on the field of the offending row.

    Rows are saved one at a time and the database checks each save, so an existing row may take a
    value that another row gives up in the same save (renumbering 1, 2 as 2, 3) only if that row is
    saved first: `save_order` gives that order. Rows that swap values cannot be saved one after
    the other and are refused with a message instead of a server error.
    """

    def _unique_fields(self) -> list[tuple[str, ...]]:
        unique_checks, _date_checks = self.model()._get_unique_checks(include_meta_constraints=True)
        checks = {tuple(name for name in fields if name != self.fk.name) for _model, fields in unique_checks}
        return sorted(fields for fields in checks if fields and fields != (self.model._meta.pk.name,))

    def validate_unique(self):
        self._save_after: dict = {}
        rows = [form for form in self.forms if form.is_valid() and form not in self.deleted_forms]
        for fields in self._unique_fields():
            seen = set()
            for form in rows:
                key = _unique_key(form.cleaned_data, fields)
                if key is None:
                    continue
                if key in seen:
                    form.add_error(fields[0], self._message(gettext(
                        "%(field)s %(value)s is already used by another row of this %(parent)s; "
                        "it must be unique within the %(parent)s."), fields, key))
                seen.add(key)
        self._order_moves([form for form in rows if not form.errors])

    def _order_moves(self, rows) -> None:
        existing = [form for form in rows if form.instance.pk is not None]
        takes: dict = {}  # form -> [(form whose current value it takes, fields, value)]
        for fields in self._unique_fields():
            held = {_unique_key(form.initial, fields): form for form in existing}
            for form in existing:
                new = _unique_key(form.cleaned_data, fields)
                holder = held.get(new)
                if new is not None and holder is not None and holder is not form:
                    takes.setdefault(form, []).append((holder, fields, new))
        state: dict = {}

        def visit(form):
            state[form] = "visiting"
            for holder, fields, value in takes.get(form, []):
                if state.get(holder) == "visiting":  # the holder waits, through others, for this row
                    form.add_error(fields[0], self._message(gettext(
                        "%(field)s %(value)s still belongs to another row of this %(parent)s that changes in "
                        "the same save: rows cannot swap values in one save. Give this row an unused value, "
                        "save, then make the change."), fields, value))
                elif holder not in state:
                    visit(holder)
            state[form] = "done"

        for form in existing:
            if form not in state:
                visit(form)
        self._save_after = {form.instance.pk: [holder.instance.pk for holder, _f, _v in pairs]
                            for form, pairs in takes.items()}

    def save_order(self, instances: list) -> list:
        """`instances` (from save(commit=False)) ordered so that a row giving up a value is saved
        before the row taking it; new rows keep their place after the existing ones."""
        existing = {obj.pk: obj for obj in instances if obj.pk is not None}
        ordered, placed = [], set()

        def place(pk):
            if pk in placed or pk not in existing:
                return
            placed.add(pk)
            for holder in getattr(self, "_save_after", {}).get(pk, []):
                place(holder)
            ordered.append(existing[pk])

        for obj in instances:
            if obj.pk is None:
                ordered.append(obj)
            else:
                place(obj.pk)
        return ordered

    def _message(self, text: str, fields, values) -> str:
        labels = [str(self.model._meta.get_field(name).verbose_name) for name in fields]
        return text % {
            "field": capfirst(get_text_list(labels, gettext("and"))),
            "value": ", ".join(str(value) for value in values),
            "parent": self.fk.remote_field.model._meta.verbose_name,
        }
