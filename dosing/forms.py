"""Forms of infusion recording (the service validates; these only shape the input)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from trials.limits import LimitedForm

from .models import EscalationDecision, Infusion
from .products import LABELS, PRODUCT_FIELDS
from .services import REACTIONS

REACTION_LABELS = {
    "fever": _("Fever"), "haemoglobinuria": _("Haemoglobinuria"), "dmso_reaction": _("DMSO reaction"),
    "infusion_reaction": _("Infusion-related reaction"), "allergic_reaction": _("Allergic reaction"),
}
VITALS = (("temperature_c", _("Temperature (°C)")), ("heart_rate", _("Heart rate (/min)")),
          ("systolic", _("Systolic BP (mmHg)")), ("diastolic", _("Diastolic BP (mmHg)")))


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class InfusionForm(LimitedForm, forms.Form):
    length_model = Infusion

    number = forms.IntegerField(widget=forms.HiddenInput)
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
    dose_confirmation = forms.CharField(label=_("Reason, if the dose differs from the computed one"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, product_kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.product_kind = product_kind
        for name, (kind, required, _bounds) in PRODUCT_FIELDS[product_kind].items():
            field_class = forms.CharField if kind == "text" else forms.FloatField
            self.fields[f"product_{name}"] = field_class(label=LABELS[name].capitalize(), required=False)
        for moment in ("before", "after"):
            for key, label in VITALS:
                self.fields[f"{moment}_{key}"] = forms.FloatField(label=f"{label}, {moment}", required=False)

    def service_input(self) -> dict:
        data = self.cleaned_data
        product = {"kind": self.product_kind}
        for name in PRODUCT_FIELDS[self.product_kind]:
            value = data.get(f"product_{name}")
            if value not in (None, ""):
                product[name] = int(value) if name == "passage" and float(value).is_integer() else value
        vitals = {moment: {key: data[f"{moment}_{key}"] for key, _l in VITALS if data.get(f"{moment}_{key}") is not None}
                  for moment in ("before", "after")}
        return {
            "number": data["number"], "started_at": data["started_at"], "ended_at": data.get("ended_at"),
            "weight_kg": data["weight_kg"], "cells_infused": data.get("cells_infused"), "product": product,
            "premedication": data.get("premedication", ""), "vitals": {k: v for k, v in vitals.items() if v},
            "reactions": list(data.get("reactions") or []), "deviation_reason": data.get("deviation_reason", ""),
            "dose_confirmation": data.get("dose_confirmation", ""),
        }

    def add_service_errors(self, errors: dict) -> None:
        for path, messages in errors.items():
            field = f"product_{path.split('.', 1)[1]}" if path.startswith("product.") else path
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class MissedInfusionForm(LimitedForm, forms.Form):
    length_model = Infusion

    number = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why was it missed?"), widget=forms.Textarea(attrs={"rows": 2}))


class EscalationDecisionForm(LimitedForm, forms.Form):
    """An investigator's 3+3 decision, signed by re-entering their password (the service checks
    the password, the fit with the levels' state and the rationale a contradiction needs)."""

    length_model = EscalationDecision

    action = forms.ChoiceField(label=_("Decision"))
    level = forms.ChoiceField(label=_("Dose level"), required=False,
                              help_text=_("Escalate: the level to open. Expand: the level to expand. Stop: the "
                                          "recommended dose (may be empty). Choose: the dose to expand to 6."))
    rationale = forms.CharField(label=_("Rationale"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text=_("Required when the decision differs from the proposal."))
    password = forms.CharField(label=_("Your password, as signature"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, levels, proposal, **kwargs):
        """`levels`: the `LevelEscalation` rows; `proposal`: the proposal, preselected when it is a decision."""
        from .models import EscalationAction

        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "—"), *EscalationAction.choices]
        self.fields["level"].choices = [("", "—")] + [
            (row.code, f"{row.code} – {row.level.get_status_display()}") for row in levels]
        if proposal.action in EscalationAction.values:
            self.fields["action"].initial = proposal.action
            self.fields["level"].initial = proposal.level or ""

    def add_service_errors(self, errors: dict) -> None:
        for path, messages in errors.items():
            for message in messages:
                self.add_error(path if path in self.fields else None, message)
