from django import forms
from django.utils.translation import gettext_lazy as _

from dosing.forms import DateTimeLocal
from enrollment.forms import LabRowForm, _date_input, _number_input
from trials.units import ANALYTES

from .models import (IMMUNE_PANEL, VIROLOGY_TESTS, ActionTaken, AdverseEventCategory, BleedingGrade, Outcome,
                     Relationship, RescueTherapyKind, SeriousnessCriterion, TransfusionKind, VirologyResult)


class VisitDoneForm(forms.Form):
    done_at = forms.DateTimeField(label=_("Done (collected) at"), widget=DateTimeLocal(),
                                  input_formats=["%Y-%m-%dT%H:%M"])
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))


class VisitMissedForm(forms.Form):
    reason = forms.CharField(label=_("Why was it missed?"), widget=forms.Textarea(attrs={"rows": 2}))


# --- assessment capture (the service validates; these only shape the input) -------------------

# Analytes offered at a visit, by what its definition lists (`VisitDefinition.assessments`); the
# blood count is always offered, since every follow-up visit of these studies counts platelets.
ALWAYS_OFFERED = ("PLT", "HGB", "ANC", "WBC")
ANALYTES_BY_ASSESSMENT = {
    "blood_count": ("PLT", "HGB", "ANC", "WBC", "LYM"),
    "platelets": ("PLT",),
    "liver": ("ALT", "AST", "TBIL"),
    "renal": ("CREAT",),
    "haemolysis": ("LDH", "TBIL", "HAPTO", "RETIC_PCT", "RETIC_ABS"),
}
TRANSFUSION_ROWS = RESCUE_ROWS = 3


def analytes_expected(assessments: list[str]) -> list[str]:
    """The analyte codes to offer for a visit listing `assessments`, in the order of API.md 'Codes'."""
    wanted = set(ALWAYS_OFFERED)
    for name in assessments or []:
        wanted.update(ANALYTES_BY_ASSESSMENT.get(name, ()))
    return [code for code in ANALYTES if code in wanted]


class AssessmentForm(forms.Form):
    date = forms.DateField(label=_("Date of the assessment"), widget=_date_input())
    bleeding_grade = forms.TypedChoiceField(label=_("WHO bleeding grade"), coerce=int, empty_value=None,
                                            required=False, choices=[("", "—"), *BleedingGrade.choices])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, virology: bool = False, immune_panel: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if virology:
            for test, label in VIROLOGY_TESTS.items():
                self.fields[f"virology_{test}"] = forms.ChoiceField(
                    label=label, required=False, choices=[("", "—"), *VirologyResult.choices])
        if immune_panel:
            for cell, label in IMMUNE_PANEL.items():
                self.fields[f"immune_{cell}"] = forms.FloatField(
                    label=_("%(cell)s (%% of lymphocytes)") % {"cell": label}, required=False,
                    widget=_number_input(min="0", max="100"))

    def field_for(self, path: str) -> str | None:
        """The field holding a service error's path (`date`, `virology.hbv`, ...), if shown."""
        name = path.replace("virology.", "virology_").replace("immune_panel.", "immune_")
        return name if name in self.fields else None

    def panels(self) -> tuple[dict, dict]:
        data = self.cleaned_data
        virology = {test: data[f"virology_{test}"] for test in VIROLOGY_TESTS if data.get(f"virology_{test}")}
        panel = {cell: data[f"immune_{cell}"] for cell in IMMUNE_PANEL if data.get(f"immune_{cell}") is not None}
        return virology, panel


class AssessmentLabRowForm(LabRowForm):
    """One analyte's value; an empty value means not done."""

    date = None


class TransfusionRowForm(forms.Form):
    kind = forms.ChoiceField(label=_("Transfusion"), required=False, choices=[("", "—"), *TransfusionKind.choices])
    date = forms.DateField(label=_("Date"), required=False, widget=_date_input())

    def item(self) -> dict | None:
        data = self.cleaned_data
        return {"kind": data["kind"], "date": data["date"]} if data.get("kind") or data.get("date") else None


class RescueTherapyRowForm(forms.Form):
    therapy = forms.ChoiceField(label=_("Rescue therapy"), required=False,
                                choices=[("", "—"), *RescueTherapyKind.choices])
    start = forms.DateField(label=_("Start"), required=False, widget=_date_input())
    end = forms.DateField(label=_("End"), required=False, widget=_date_input())

    def item(self) -> dict | None:
        data = self.cleaned_data
        if not (data.get("therapy") or data.get("start") or data.get("end")):
            return None
        return {"therapy": data["therapy"], "start": data["start"], "end": data["end"]}


# --- adverse events (the service validates; these only shape the input) -----------------------

def _blank(choices):
    return [("", "—"), *choices]


_SERIOUS = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def _serious(value):
    return {"yes": True, "no": False}.get(value)


class AdverseEventAssessmentForm(forms.Form):
    """What the investigator judges: grade, seriousness, attribution, action taken and outcome."""

    grade = forms.TypedChoiceField(label=_("CTCAE grade"), choices=_blank([(g, str(g)) for g in range(1, 6)]),
                                   coerce=int, empty_value=None, required=False)
    serious = forms.TypedChoiceField(label=_("Serious"), choices=_SERIOUS, coerce=_serious, empty_value=None,
                                     required=False)
    seriousness = forms.MultipleChoiceField(label=_("Seriousness criteria"), choices=SeriousnessCriterion.choices,
                                            widget=forms.CheckboxSelectMultiple, required=False)
    relationship = forms.ChoiceField(label=_("Relationship to treatment"), choices=_blank(Relationship.choices),
                                     required=False)
    action_taken = forms.ChoiceField(label=_("Action taken"), choices=_blank(ActionTaken.choices), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=_blank(Outcome.choices), required=False)


class AdverseEventDismissForm(forms.Form):
    reason = forms.CharField(label=_("Why is it not an adverse event?"), widget=forms.Textarea(attrs={"rows": 2}),
                             required=False)


class AdverseEventForm(AdverseEventAssessmentForm):
    """An adverse event recorded by a coordinator or investigator, graded and attributed."""

    term = forms.CharField(label=_("CTCAE term"), max_length=200, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=_blank(AdverseEventCategory.choices), required=False)
    onset_date = forms.DateField(label=_("Onset"), widget=forms.DateInput(attrs={"type": "date"}), required=False)
    resolution_date = forms.DateField(label=_("Resolved on"), widget=forms.DateInput(attrs={"type": "date"}),
                                      required=False)
    site_aware_at = forms.DateTimeField(label=_("Site learned of it at"), widget=DateTimeLocal(), required=False,
                                        help_text=_("Starts the 24-hour SAE reporting clock; empty: now."))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    field_order = ["term", "category", "onset_date", "resolution_date", "grade", "serious", "seriousness",
                   "relationship", "action_taken", "outcome", "site_aware_at", "description"]
