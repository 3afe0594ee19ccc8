from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dosing.forms import DateTimeLocal
from enrollment.forms import LabRowForm
from trials.form_marks import label_row, mark_required, service_required
from trials import catalogues
from trials.item_fields import ItemFieldsMixin, item_initial
from trials.limits import LimitedForm
from trials.widgets import date_input, number_input

from .models import (
    ActionTaken,
    AdverseEvent,
    AdverseEventCategory,
    Assessment,
    BleedingGrade,
    Outcome,
    Relationship,
    RescueTherapy,
    RescueTherapyKind,
    SeriousnessCriterion,
    SteroidDrug,
    Transfusion,
    TransfusionKind,
    Visit,
)


class VisitDoneForm(LimitedForm, forms.Form):
    length_model = Visit

    done_at = forms.DateTimeField(label=_("Done (collected) at"), widget=DateTimeLocal(),
                                  input_formats=["%Y-%m-%dT%H:%M"])
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required(self)


class VisitMissedForm(LimitedForm, forms.Form):
    length_model = Visit

    reason = forms.CharField(label=_("Why was it missed?"), widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required(self)


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
    return [code for code in catalogues.current().analytes if code in wanted]


class AssessmentForm(LimitedForm, forms.Form):
    length_model = Assessment

    date = forms.DateField(label=_("Date of the assessment"), widget=date_input())
    bleeding_grade = forms.TypedChoiceField(label=_("WHO bleeding grade"), coerce=int, empty_value=None,
                                            required=False, choices=[("", "—"), *BleedingGrade.choices])
    steroid_mg_per_day = forms.DecimalField(
        label=_("Corticosteroid, prednisone-equivalent mg/day"), required=False,
        widget=number_input(min="0", max="2000"),
        help_text=_("The daily dose the participant is on today; 0 when none, empty when not known."))
    steroid_drug = forms.ChoiceField(label=_("Corticosteroid"), required=False,
                                     choices=[("", "—"), *SteroidDrug.choices])
    steroid_dose_mg_per_day = forms.DecimalField(
        label=_("Dose of that corticosteroid, mg/day"), required=False, widget=number_input(min="0"),
        help_text=_("Converted to prednisone equivalent (prednisone 5 = prednisolone 5 = methylprednisolone 4 = "
                    "dexamethasone 0.75 mg); or give the prednisone-equivalent dose instead."))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    deviation_reason = forms.CharField(label=_("Reason, if outside the window"), required=False,
                                       widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mark_required(self)



class AssessmentEditForm(AssessmentForm):
    """An assessment corrected: the visit it belongs to (or none: unscheduled) and the reason."""

    visit = forms.ChoiceField(label=_("Visit"), required=False)
    reason = forms.CharField(label=_("Reason for the correction (kept in the audit trail)"),
                             widget=forms.Textarea(attrs={"rows": 2}), required=False)
    # The version the page was read at (`trials.concurrency`): a change saved since is not overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    field_order = ["date", "visit", "bleeding_grade", "steroid_drug", "steroid_dose_mg_per_day", "steroid_mg_per_day"]

    def __init__(self, *args, visits=(), **kwargs):
        super().__init__(*args, **kwargs)
        service_required(self, "reason")
        self.fields["visit"].choices = [("", _("Unscheduled")), *[
            (v.code, f"{v.code} – {v.definition.label}") for v in visits]]

    @staticmethod
    def initial_from(assessment) -> dict:
        initial = {"date": assessment.date, "visit": assessment.visit.code if assessment.visit_id else "",
                   "version": assessment.row_version,
                   "bleeding_grade": assessment.bleeding_grade, "notes": assessment.notes,
                   "steroid_drug": assessment.steroid_drug,
                   "steroid_dose_mg_per_day": assessment.steroid_dose_mg_per_day,
                   # a dose recorded by drug shows as the drug and its dose; its equivalent is computed
                   "steroid_mg_per_day": None if assessment.steroid_drug else assessment.steroid_mg_per_day}
        return initial


class VisitItemsForm(ItemFieldsMixin, LimitedForm, forms.Form):
    """The study's items placed on the visit's form (`followup.visit_items`), by section; a field
    per item, named by its code (the inputs by `item-<code>`), shaped by its type
    (`trials.item_fields`). The service checks the values (`items.<code>` errors)."""

    length_model = None  # kept inside `Assessment.items` (JSON); a text item has its own, smaller limit
    prefix = "item"

    def __init__(self, *args, items, stored=None, **kwargs):
        if stored is not None:
            kwargs["initial"] = {spec.code: item_initial(spec, stored.get(spec.code)) for _section, spec in items}
        super().__init__(*args, **kwargs)
        self.add_item_fields(items)  # an item left empty in a correction clears its answer

    def field_for(self, path: str) -> str | None:
        """The field showing a service error's path (`items.<code>`, or a panel's earlier name)."""
        prefix, _dot, code = path.partition(".")
        return code if prefix in ("items", "virology", "immune_panel") and code in self.fields else None


class AssessmentLabRowForm(LabRowForm):
    """One analyte's value; an empty value means not done."""

    date = None


class TransfusionRowForm(LimitedForm, forms.Form):
    length_model = Transfusion

    kind = forms.ChoiceField(label=_("Transfusion"), required=False, choices=[("", "—"), *TransfusionKind.choices])
    date = forms.DateField(label=_("Date"), required=False, widget=date_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_row(self)

    def item(self) -> dict | None:
        data = self.cleaned_data
        return {"kind": data["kind"], "date": data["date"]} if data.get("kind") or data.get("date") else None

    @staticmethod
    def initial_from(row) -> dict:
        return {"kind": row.kind, "date": row.date}


class RescueTherapyRowForm(LimitedForm, forms.Form):
    length_model = RescueTherapy

    therapy = forms.ChoiceField(label=_("Rescue therapy"), required=False,
                                choices=[("", "—"), *RescueTherapyKind.choices])
    start = forms.DateField(label=_("Start"), required=False, widget=date_input())
    end = forms.DateField(label=_("End"), required=False, widget=date_input())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_row(self)

    def item(self) -> dict | None:
        data = self.cleaned_data
        if not (data.get("therapy") or data.get("start") or data.get("end")):
            return None
        return {"therapy": data["therapy"], "start": data["start"], "end": data["end"]}

    @staticmethod
    def initial_from(row) -> dict:
        return {"therapy": row.therapy, "start": row.start, "end": row.end}


# --- adverse events (the service validates; these only shape the input) -----------------------

CTCAE_DATALIST_ID = "ctcae-terms"


def _blank(choices):
    return [("", "—"), *choices]


_SERIOUS = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


def _serious(value):
    return {"yes": True, "no": False}.get(value)


class AdverseEventAssessmentForm(LimitedForm, forms.Form):
    """What the investigator judges: grade, seriousness, attribution, action taken and outcome."""

    length_model = AdverseEvent

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

    # What the service requires of the judgement (the form lets them through empty, so that the
    # service names every missing one with the rest).
    required_by_service = ("grade", "serious", "relationship")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        service_required(self, *self.required_by_service)


def _signature_field(required: bool = True) -> forms.CharField:
    return forms.CharField(label=_("Your password, as signature"), strip=False, required=required,
                           widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class AdverseEventConfirmForm(AdverseEventAssessmentForm):
    """The investigator's judgement of a draft, signed with their password (the service checks it).
    With `suggested_grade` (a lab-derived draft not graded yet), the grade field says the grade
    preselected is the suggestion, which the investigator may change."""

    password = _signature_field()

    def __init__(self, *args, suggested_grade: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if suggested_grade is not None:
            self.fields["grade"].help_text = _(
                "Preselected: the suggested grade %(grade)s. Choose another if your judgement differs.") % {
                "grade": suggested_grade}


class CasebookSignForm(LimitedForm, forms.Form):
    """The investigator's sign-off of the casebook: their password, under the meaning shown."""

    password = _signature_field()


class AdverseEventDismissForm(LimitedForm, forms.Form):
    length_model, length_fields = AdverseEvent, {"reason": "dismissed_reason"}

    reason = forms.CharField(label=_("Why is it not an adverse event?"), widget=forms.Textarea(attrs={"rows": 2}),
                             required=False)
    password = _signature_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        service_required(self, "reason")


class AdverseEventForm(AdverseEventAssessmentForm):
    """An adverse event recorded by a coordinator or investigator, graded and attributed."""

    term = forms.CharField(label=_("CTCAE term"), max_length=200, required=False,
                           widget=forms.TextInput(attrs={"list": CTCAE_DATALIST_ID, "autocomplete": "off"}),
                           help_text=_("A CTCAE v5.0 term from the list; for an event the list does not name, "
                                       "tick other, specify."))
    term_other = forms.BooleanField(label=_("Other, specify: the term is not in the CTCAE list"), required=False)
    category = forms.ChoiceField(label=_("Category"), choices=_blank(AdverseEventCategory.choices), required=False)
    onset_date = forms.DateField(label=_("Onset"), widget=forms.DateInput(attrs={"type": "date"}), required=False)
    resolution_date = forms.DateField(label=_("Resolved on"), widget=forms.DateInput(attrs={"type": "date"}),
                                      required=False)
    site_aware_at = forms.DateTimeField(label=_("Site learned of it at"), widget=DateTimeLocal(), required=False,
                                        help_text=_("Starts the 24-hour SAE reporting clock; empty: now."))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    field_order = ["term", "term_other", "category", "onset_date", "resolution_date", "grade", "serious",
                   "seriousness", "relationship", "action_taken", "outcome", "site_aware_at", "description"]
    required_by_service = ("term", "category", "onset_date", "grade", "serious", "relationship")


class AdverseEventRecordForm(AdverseEventForm):
    """The recording page: an investigator may sign at once with their password (confirmed);
    without it, and for a coordinator, the event is a draft for an investigator to confirm."""

    password = _signature_field(required=False)

    def __init__(self, *args, may_sign: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if may_sign:
            self.fields["password"].help_text = _(
                "Signs and confirms grade, seriousness and relationship at once; leave empty to save a draft.")
        else:
            del self.fields["password"]


class AdverseEventEditForm(AdverseEventForm):
    """A confirmed adverse event corrected, with the DLT-related flags and the reason. The relationship
    to treatment is shown but not editable for a user who may not change causality."""

    resolved_to_grade1_within_48h = forms.BooleanField(
        label=_("Fever resolved to grade 1 or less within 48 h"), required=False)
    stopped_infusions = forms.BooleanField(label=_("Stopped the planned infusions"), required=False)
    platelet_drop_confirmed = forms.BooleanField(
        label=_("Platelets >= 50 % below baseline, confirmed twice"), required=False)
    reason = forms.CharField(label=_("Reason for the correction (kept in the audit trail)"),
                             widget=forms.Textarea(attrs={"rows": 2}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)  # as read (`trials.concurrency`)

    field_order = [*AdverseEventForm.field_order, "resolved_to_grade1_within_48h", "stopped_infusions",
                   "platelet_drop_confirmed", "reason"]

    password = _signature_field(required=False)

    def __init__(self, *args, may_change_relationship: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        service_required(self, "reason")
        self.fields["site_aware_at"].help_text = _("Starts the 24-hour SAE reporting clock.")
        if may_change_relationship:
            self.fields["password"].help_text = _(
                "Needed when grade, seriousness or relationship change: signs the corrected judgement.")
        else:
            del self.fields["password"]
            self.fields["relationship"].disabled = True
            self.fields["relationship"].help_text = _("Causality is changed by an investigator of the site.")

    @staticmethod
    def initial_from(event) -> dict:
        initial = {name: getattr(event, name) for name in (
            "term", "category", "onset_date", "resolution_date", "grade", "relationship", "action_taken", "outcome",
            "description", "seriousness", "resolved_to_grade1_within_48h", "stopped_infusions",
            "platelet_drop_confirmed")}
        initial["serious"] = {True: "yes", False: "no"}.get(event.serious, "")
        initial["site_aware_at"] = timezone.localtime(event.site_aware_at).replace(second=0, microsecond=0)
        initial["term_other"] = event.term_other
        initial["version"] = event.row_version
        return initial
