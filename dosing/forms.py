"""Forms of infusion recording (the service validates; these only shape the input)."""
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.utils.translation import gettext_lazy as _

from trials.form_marks import mark_required, service_required
from trials.limits import LimitedForm

from .escalation_decisions import DECISION_ACTIONS
from .models import EscalationDecision, Infusion
from .products import LABELS, PRODUCT_FIELDS
from .services import REACTION_NAMES as REACTION_LABELS
from .services import REACTIONS

VITAL_MOMENTS = (("before", _("Before the infusion")), ("after", _("After the infusion")))
VITALS = (("temperature_c", _("Temperature (°C)")), ("heart_rate", _("Heart rate (/min)")),
          ("systolic", _("Systolic BP (mmHg)")), ("diastolic", _("Diastolic BP (mmHg)")))


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _shown_at(path: str) -> str | None:
    """A refusal of the version read (`trials.concurrency`) is shown above the form: its field is hidden."""
    return None if path == "version" else path


class InfusionForm(LimitedForm, forms.Form):
    length_model = Infusion

    number = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    started_at = forms.DateTimeField(label=_("Started at"), widget=DateTimeLocal(), input_formats=["%Y-%m-%dT%H:%M"])
    ended_at = forms.DateTimeField(label=_("Ended at"), widget=DateTimeLocal(), input_formats=["%Y-%m-%dT%H:%M"],
                                   required=False)
    weight_kg = forms.FloatField(label=_("Weight today (kg)"))
    cells_infused = forms.FloatField(label=_("Cells infused"), required=False,
                                     help_text=_("Write 6e9 for 6 x10^9 cells. Empty: the computed dose was given."))
    premedication = forms.CharField(label=_("Premedication"), required=False)
    reactions = forms.MultipleChoiceField(label=_("Immediate reactions"), required=False,
                                          choices=[(r, REACTION_LABELS[r]) for r in REACTIONS],
                                          widget=forms.CheckboxSelectMultiple)
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    # xgettext:no-python-format (a percentage, not a placeholder)
    dose_confirmation = forms.CharField(label=_("Reason, if the dose is more than 10 % off the computed one"),
                                        required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                        help_text=_("Recorded as a dose deviation."))

    def __init__(self, *args, product_kind: str, cells_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.product_kind = product_kind
        if cells_required:  # the dose level's dose is checked against it (`dosing.services.cells_required`)
            self.fields["cells_infused"].required = True
            self.fields["cells_infused"].help_text = _(
                "Write 6e9 for 6 x10^9 cells. Required: the dose given is checked against the level's dose.")
            self.fields["cells_infused"].error_messages["required"] = _(
                "The number of cells infused is required to check the dose against the level's computed dose.")
        for name, (kind, required, _bounds) in PRODUCT_FIELDS[product_kind].items():
            field_class = forms.CharField if kind == "text" else forms.FloatField
            self.fields[f"product_{name}"] = field_class(label=LABELS[name].capitalize(), required=False)
        # Each vital sign is labelled by its own name; the fieldset's legend says before or after.
        for moment, _legend in VITAL_MOMENTS:
            for key, label in VITALS:
                self.fields[f"{moment}_{key}"] = forms.FloatField(label=label, required=False)
        # The product's required fields (lot, viability, ...) are the service's to refuse, with the rest.
        service_required(self, *[f"product_{name}" for name, (_kind, required, _bounds)
                                 in PRODUCT_FIELDS[product_kind].items() if required])
        self.helper = self._layout()

    def _layout(self) -> FormHelper:
        """Every field in order, then the vital signs before and after the infusion side by side (one
        column on a narrow screen), each group under its heading (`{% crispy form %}`, no form tag)."""
        vitals = {f"{moment}_{key}" for moment, _legend in VITAL_MOMENTS for key, _label in VITALS}
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        helper.layout = Layout(
            *[name for name in self.fields if name not in vitals],
            Row(*[Column(Fieldset(legend, *[f"{moment}_{key}" for key, _label in VITALS],
                                  css_class="vitals", css_id=f"vitals-{moment}"), css_class="col-12 col-md-6")
                  for moment, legend in VITAL_MOMENTS], css_class="vitals-row", data_testid="vitals"),
        )
        return helper

    def service_input(self) -> dict:
        data = self.cleaned_data
        product = {"kind": self.product_kind}
        for name in PRODUCT_FIELDS[self.product_kind]:
            value = data.get(f"product_{name}")
            if value not in (None, ""):
                product[name] = int(value) if name == "passage" and float(value).is_integer() else value
        vitals = {moment: {key: data[f"{moment}_{key}"] for key, _l in VITALS
                           if data.get(f"{moment}_{key}") is not None}
                  for moment in ("before", "after")}
        return {
            "number": data.get("number", 0), "started_at": data.get("started_at"), "ended_at": data.get("ended_at"),
            "weight_kg": data.get("weight_kg"), "cells_infused": data.get("cells_infused"), "product": product,
            "premedication": data.get("premedication", ""), "vitals": {k: v for k, v in vitals.items() if v},
            "reactions": list(data.get("reactions") or []), "deviation_reason": data.get("deviation_reason", ""),
            "dose_confirmation": data.get("dose_confirmation", ""), "version": data.get("version"),
        }

    def field_for(self, path: str) -> str | None:
        """The field showing a service error's path: `product.lot` is `product_lot`,
        `vitals.before.temperature_c` is `before_temperature_c`."""
        parts = path.split(".")
        if parts[0] == "product" and len(parts) == 2:
            return f"product_{parts[1]}"
        if parts[0] == "vitals" and len(parts) == 3:
            return f"{parts[1]}_{parts[2]}"
        return _shown_at(path)


class MissedInfusionForm(LimitedForm, forms.Form):
    length_model = Infusion

    number = forms.IntegerField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(label=_("Why was it missed?"), widget=forms.Textarea(attrs={"rows": 2}))

    field_for = staticmethod(_shown_at)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required(self)


class _DecisionField(forms.ChoiceField):
    """The offered decisions as radio buttons; any decision of the study's levels is accepted as
    input so that the service, not the form, refuses one the rule does not allow, citing it."""

    def __init__(self, *args, accepted=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.accepted = set(accepted)

    def valid_value(self, value):
        return value in self.accepted or super().valid_value(value)


def decision_value(action: str, level: str | None) -> str:
    return f"{action}:{level or ''}"


class EscalationDecisionForm(LimitedForm, forms.Form):
    """An investigator's 3+3 decision: one of the decisions the rule allows, each shown as the
    statement its signature approves; signed by ticking the confirmation and re-entering the
    password (the service checks the password, the rule, the levels' state and the rationale)."""

    length_model = EscalationDecision

    decision = _DecisionField(label=_("Decision"), widget=forms.RadioSelect)
    rationale = forms.CharField(label=_("Rationale"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text=_("Required when the decision differs from the proposal."))
    rule_seen = forms.CharField(widget=forms.HiddenInput, required=False)  # the rule the statements cite
    confirm = forms.BooleanField(
        label=_("I have read the statement of the decision I chose; signing with my password means I approve it."),
        error_messages={"required": _("Tick the confirmation: your signature approves the statement of the decision.")})
    password = forms.CharField(label=_("Your password, as signature"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, offered, level_codes, rule, proposal, **kwargs):
        """`offered`: ``(action, level, meaning)`` the rule allows now (`services.offered_decisions`);
        `rule`: the rule text of the proposal the page shows; the proposal is preselected when offered."""
        super().__init__(*args, **kwargs)
        field = self.fields["decision"]
        field.choices = [(decision_value(action, level), meaning) for action, level, meaning in offered]
        field.accepted = {decision_value(action, code) for action in DECISION_ACTIONS for code in [*level_codes, None]}
        self.fields["rule_seen"].initial = rule
        proposed = decision_value(proposal.action, proposal.level)
        if any(value == proposed for value, _meaning in field.choices):
            field.initial = proposed

    def decided(self) -> tuple[str, str]:
        action, _sep, level = self.cleaned_data["decision"].partition(":")
        return action, level

    def field_for(self, path: str) -> str:
        """The field showing a service error's path: the action and the level are one `decision`."""
        return "decision" if path in ("action", "level") else path
