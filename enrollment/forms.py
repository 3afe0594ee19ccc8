"""Forms of the screening, consent, enrolment and withdrawal pages.

They turn what a coordinator typed into the services' inputs, and put a service's refusal
(`ServiceError.errors`, keyed by paths such as ``labs.2.value``) back on the field that holds the
value. They check only the shape of the input (a number is a number, a filled therapy row names
the therapy); everything else - plausibility, dates, eligibility, guardians - is the services'.
"""
from __future__ import annotations

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trials import catalogues
from trials.content import content
from trials.form_marks import label_row, mark_required
from trials.forms_errors import add_service_errors
from trials.item_fields import BLANK, ItemFieldsMixin, item_initial
from trials.labs import LabInput
from trials.limits import LimitedForm
from trials.selectors import form_items
from trials.templatetags.trials_tags import cells
from trials.units import Analyte, normalise_unit
from trials.widgets import date_input, number_input

from . import services
from .enums import Sex, TherapyOutcome, WithdrawalReason
from .models import Consent, Participant, PriorTherapy, Screening, ScreeningLab

MAX_THERAPY_ROWS = 40
DEFAULT_THERAPY_ROWS = 4


def _plain_number(value):
    """24.0 -> 24, so that whole answers read as typed."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class ServiceChecked:
    """A field shown as required (asterisk, HTML ``required``) whose emptiness the service judges.

    The form lets an empty value through so that the service refuses it with its own message,
    which says why the value is needed (a minor's guardian, the reason for a change).
    """

    def validate(self, value):
        if value in self.empty_values:
            return
        super().validate(value)


class ServiceCheckedCharField(ServiceChecked, forms.CharField):
    pass


def style(form: forms.Form) -> None:
    """Bootstrap classes on every widget; fields with errors get ``is-invalid``."""
    errors = form._errors or {}  # never triggers validation
    for name, field in form.fields.items():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect):
            css = "form-check-input"
        elif isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        classes = [css]
        if name in errors:
            classes.append("is-invalid")
        widget.attrs["class"] = " ".join(classes)


# ---------------------------------------------------------------------------------------------
# Screening facts
# ---------------------------------------------------------------------------------------------

class ScreeningFactsForm(ItemFieldsMixin, LimitedForm, forms.Form):
    """Patient, disease and the study's screening items (by section); every fact may be left empty."""

    length_model = Screening

    screening_date = forms.DateField(label=_("Screening date"), required=False, initial=timezone.localdate,
                                     widget=date_input())
    initials = forms.CharField(label=_("Initials"), max_length=10, required=False)
    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=date_input())
    sex = forms.ChoiceField(label=_("Sex"), choices=BLANK + Sex.choices, required=False)
    weight_kg = forms.FloatField(label=_("Weight (kg)"), required=False, widget=number_input())
    height_cm = forms.FloatField(label=_("Height (cm)"), required=False, widget=number_input())
    disease = forms.ChoiceField(label=_("Disease"), required=False)
    diagnosis_date = forms.DateField(label=_("Date of diagnosis"), required=False, widget=date_input())
    ecog = forms.TypedChoiceField(label=_("ECOG performance status"), required=False, coerce=int, empty_value=None,
                                  choices=BLANK + [(str(n), str(n)) for n in range(6)])
    prior_therapies_recorded = forms.BooleanField(
        label=_("Prior-therapy history taken"), required=False,
        help_text=_("Tick when the history has been taken: with no rows filled in it then means no prior "
                    "therapy. Unticked, criteria that need the history stay missing."))

    def __init__(self, *args, study, items, sites=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if sites is not None and len(sites) > 1:
            self.fields["site"] = forms.ModelChoiceField(label=_("Site"), queryset=sites, required=True)
            self.order_fields(["site"])
        catalogue = catalogues.current()
        self.fields["disease"].choices = BLANK + [(d.disease, f"{catalogue.disease_name(d.disease)} ({d.disease})")
                                                  for d in study.diseases.all()]
        self.add_item_fields(items)  # the study's screening form
        if editing:
            self.fields["reason"] = ServiceCheckedCharField(
                label=_("Reason for the change"), required=True,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text=_("Kept in the audit trail with every changed value."))
            # The version the page was read at (`trials.concurrency`): a change saved since is not overwritten.
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput, required=False)
        mark_required(self)
        style(self)

    @classmethod
    def initial_from(cls, screening: Screening, items) -> dict:
        initial = {key: getattr(screening, key) for key in services.SCALAR_FIELDS}
        initial["ecog"] = "" if screening.ecog is None else str(screening.ecog)
        initial["prior_therapies_recorded"] = screening.prior_therapies_recorded
        initial["version"] = screening.row_version
        for _section, spec in items:
            initial[spec.code] = item_initial(spec, screening.items.get(spec.code))
        return initial


class LabRowForm(LimitedForm, forms.Form):
    """One analyte of the screening labs; an empty value means not done."""

    length_model = ScreeningLab

    value = forms.FloatField(label=_("Value"), required=False, widget=number_input())
    unit = forms.ChoiceField(label=_("Unit"))
    lln = forms.FloatField(label=_("LLN"), required=False, widget=number_input())
    uln = forms.FloatField(label=_("ULN"), required=False, widget=number_input())
    date = forms.DateField(label=_("Sample date"), required=False, widget=date_input())

    def __init__(self, *args, analyte: Analyte, **kwargs):
        kwargs.setdefault("prefix", f"lab-{analyte.code}")
        super().__init__(*args, **kwargs)
        self.analyte = analyte
        self.fields["unit"].choices = [(unit, unit) for unit in analyte.accepted_units]
        self.fields["unit"].initial = analyte.si_unit
        for name, field in self.fields.items():
            field.widget.attrs["aria-label"] = f"{analyte.code} {field.label}"
        style(self)

    def clean(self):
        data = super().clean()
        if data.get("value") is None and not self.has_error("value") and any(
                data.get(k) is not None for k in ("lln", "uln", "date")):
            self.add_error("value", _("Enter the value, or clear the row (an empty value means not done)."))
        return data

    def lab_input(self) -> LabInput | None:
        data = self.cleaned_data
        if data.get("value") is None:
            return None
        return LabInput(analyte=self.analyte.code, value=data["value"], unit=data.get("unit") or self.analyte.si_unit,
                                 lln=data.get("lln"), uln=data.get("uln"), date=data.get("date"))

    @staticmethod
    def initial_from(lab) -> dict:
        """The lab as entered; the limits only when they came from the report (site ranges are not typed)."""
        analyte = catalogues.current().analytes[lab.analyte]
        wanted = normalise_unit(lab.entered_unit).lower()
        unit = next((u for u in analyte.accepted_units if u.lower() == wanted), analyte.si_unit)
        factor = analyte.units[unit]
        initial = {"value": _plain_number(lab.entered_value), "unit": unit}
        if hasattr(lab, "sampled_on"):  # a screening lab has its own date; an assessment's labs share theirs
            initial["date"] = lab.sampled_on
        for key in ("lln", "uln"):
            limit = getattr(lab, f"report_{key}")
            initial[key] = None if limit is None else _plain_number(round(limit / factor, 6))
        return initial


class PriorTherapyForm(LimitedForm, forms.Form):
    length_model = PriorTherapy

    therapy = forms.ChoiceField(label=_("Therapy"), required=False)
    start = forms.DateField(label=_("Start"), required=False, widget=date_input())
    end = forms.DateField(label=_("End"), required=False, widget=date_input())
    dose_text = forms.CharField(label=_("Dose"), max_length=200, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=BLANK + TherapyOutcome.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["therapy"].choices = BLANK + [(code, entry.name)
                                                  for code, entry in catalogues.current().therapies.items()]
        label_row(self)
        style(self)

    def is_blank(self) -> bool:
        return not any(v not in (None, "") for v in getattr(self, "cleaned_data", {}).values())

    def clean(self):
        data = super().clean()
        if not self.is_blank():
            if not data.get("therapy") and not self.has_error("therapy"):
                self.add_error("therapy", _("Choose the therapy, or clear the row."))
            if not data.get("outcome") and not self.has_error("outcome"):
                self.add_error("outcome", _("Choose the outcome, or clear the row."))
        return data

    def therapy_input(self) -> services.TherapyInput:
        data = self.cleaned_data
        return services.TherapyInput(therapy=data.get("therapy") or "", outcome=data.get("outcome") or "",
                                     start=data.get("start"),
                                     end=data.get("end"), dose_text=data.get("dose_text") or "")


def therapy_formset(*, data=None, initial=None, extra=DEFAULT_THERAPY_ROWS):
    formset_class = formset_factory(PriorTherapyForm, extra=max(0, min(extra, MAX_THERAPY_ROWS)),
                                    max_num=MAX_THERAPY_ROWS, absolute_max=MAX_THERAPY_ROWS, validate_max=True)
    # Every row is cleaned, even one equal to its initial value: a row is blank by its content only.
    return formset_class(data=data, initial=initial, prefix="therapy", form_kwargs={"empty_permitted": False})


class ScreeningEntry:
    """The whole screening form: facts, one lab row per analyte, prior-therapy rows.

    `is_valid()` checks the input's shape, `to_input()` gives the service's `ScreeningInput`, and
    `add_service_errors()` puts the service's refusal on the fields (unknown paths on the form).
    """

    def __init__(self, *, study, data=None, screening: Screening | None = None, sites=None,
                 therapy_rows: int = DEFAULT_THERAPY_ROWS):
        self.screening = screening
        editing = screening is not None
        items = form_items(study)
        facts_initial, labs_initial, therapies_initial = {}, {}, None
        if editing:
            facts_initial = ScreeningFactsForm.initial_from(screening, items)
            labs_initial = {lab.analyte: LabRowForm.initial_from(lab) for lab in screening.labs.all()}
            therapies_initial = [{"therapy": t.therapy, "start": t.start, "end": t.end, "dose_text": t.dose_text,
                                  "outcome": t.outcome} for t in screening.prior_therapies.all()]
        self.facts = ScreeningFactsForm(data, study=study, items=items, sites=sites, editing=editing,
                                        initial=facts_initial)
        self.labs = [LabRowForm(data, analyte=analyte, initial=labs_initial.get(code))
                     for code, analyte in catalogues.current().analytes.items()]
        self.therapies = therapy_formset(data=data, initial=therapies_initial, extra=therapy_rows)
        self.non_field_errors: list[str] = []
        self._lab_paths: list[LabRowForm] = []
        self._therapy_paths: list[PriorTherapyForm] = []

    @property
    def is_bound(self) -> bool:
        return self.facts.is_bound

    def is_valid(self) -> bool:
        valid = all([self.facts.is_valid(), *[lab.is_valid() for lab in self.labs], self.therapies.is_valid()])
        if "prior_therapies_recorded" in self.facts.cleaned_data:
            filled = [form for form in self.therapies.forms if form.is_valid() and not form.is_blank()]
            if filled and not self.facts.cleaned_data["prior_therapies_recorded"]:
                self.facts.add_error("prior_therapies_recorded",
                                     _("Tick this to save the prior therapies entered below, or clear those rows."))
                valid = False
        if self.screening is not None:
            valid = self._check_nothing_removed() and valid
        for form in [self.facts, *self.labs, *self.therapies.forms]:
            style(form)
        return valid

    def _check_nothing_removed(self) -> bool:
        """The update service adds and corrects facts; it cannot remove a lab value or un-take a history."""
        ok = True
        recorded = {lab.analyte for lab in self.screening.labs.all()}
        for form in self.labs:
            if form.analyte.code in recorded and form.is_valid() and form.cleaned_data.get("value") is None:
                form.add_error("value", _("A recorded value cannot be removed; correct it instead."))
                ok = False
        if (self.screening.prior_therapies_recorded and "prior_therapies_recorded" in self.facts.cleaned_data
                and not self.facts.cleaned_data["prior_therapies_recorded"]):
            self.facts.add_error(
                "prior_therapies_recorded",
                _("The history was taken and stays recorded; clear the rows if there was no prior therapy."),
            )
            ok = False
        return ok

    def site(self):
        return self.facts.cleaned_data.get("site")

    def reason(self) -> str:
        return self.facts.cleaned_data.get("reason") or ""

    def version(self) -> int | None:
        return self.facts.cleaned_data.get("version")

    def to_input(self) -> services.ScreeningInput:
        data = self.facts.cleaned_data
        values = {key: data.get(key) for key in services.SCALAR_FIELDS}
        for key in ("initials", "sex", "disease"):
            values[key] = (values[key] or "").strip() or None
        self._lab_paths = [form for form in self.labs if not form.errors and form.lab_input() is not None]
        therapies = None
        if data.get("prior_therapies_recorded"):
            # A row the form refused is not sent (it shows its own messages).
            self._therapy_paths = [form for form in self.therapies.forms if not form.errors and not form.is_blank()]
            therapies = [form.therapy_input() for form in self._therapy_paths]
        return services.ScreeningInput(
            values=values,
            labs=[form.lab_input() for form in self._lab_paths],
            prior_therapies=therapies,
            items=self.facts.item_values(),
        )

    def add_service_errors(self, errors, *, beside_form_errors: bool = False) -> None:
        """The facts on their fields, `labs.<i>.<field>` and `prior_therapies.<i>.<field>` on the
        rows sent (`to_input()`), the rest above the form (`non_field_errors`). `beside_form_errors`:
        the service checked what could be read of an entry the form refused (every problem at once);
        a field already showing the form's message gets no second one."""
        add_service_errors(self.facts, errors, field_for=self._fact_field, rest=self.non_field_errors.append,
                           rows={"labs": self._lab_paths, "prior_therapies": self._therapy_paths},
                           beside_form_errors=beside_form_errors)
        for form in [self.facts, *self.labs, *self.therapies.forms]:
            style(form)

    @staticmethod
    def _fact_field(path: str) -> str | None:
        parts = path.split(".")
        if parts[0] == "items" and len(parts) == 2:
            return parts[1]
        return path if len(parts) == 1 else None

    @property
    def error_count(self) -> int:
        forms_ = [self.facts, *self.labs, *self.therapies.forms]
        return (sum(len(f.errors.get(name, [])) for f in forms_ for name in f.errors)
                + len(self.non_field_errors) + len(self.therapies.non_form_errors()))


# ---------------------------------------------------------------------------------------------
# Consent, enrolment, withdrawal
# ---------------------------------------------------------------------------------------------

class ConsentForm(LimitedForm, forms.Form):
    length_model = Consent

    version = forms.CharField(label=_("Consent form version"), max_length=100)
    signed_at = forms.DateTimeField(
        label=_("Signed at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Date and time of the signature."))
    obtained_by = forms.CharField(label=_("Consent obtained by"), max_length=200,
                                  help_text=_("The investigator or delegate who obtained consent."))
    guardian_name = ServiceCheckedCharField(label=_("Legal guardian"), max_length=200, required=False)
    guardian_relationship = ServiceCheckedCharField(label=_("Guardian's relationship to the patient"),
                                                    max_length=100, required=False)

    def __init__(self, *args, minor: bool = False, **kwargs):
        kwargs.setdefault("prefix", "consent")
        super().__init__(*args, **kwargs)
        if minor:
            for name in ("guardian_name", "guardian_relationship"):
                self.fields[name].required = True
                self.fields[name].help_text = _("Required: the patient is a minor.")
        else:
            self.fields["guardian_name"].help_text = _("Only when the patient is a minor.")
        style(self)


class EnrolForm(LimitedForm, forms.Form):
    length_model = Participant

    option = forms.ChoiceField(label=_("Dose level"))
    enrolled_on = forms.DateField(label=_("Enrolment date"), required=False, initial=timezone.localdate,
                                  widget=date_input())
    first_infusion_on = forms.DateField(label=_("First infusion planned on"), required=False,
                                        help_text=_("Day 0 of the plan; empty: the enrolment date."),
                                        widget=date_input())

    def __init__(self, *args, options, **kwargs):
        """`options`: `selectors.enrolment_options(study)`; a select appears only when there is a choice."""
        kwargs.setdefault("prefix", "enrol")
        super().__init__(*args, **kwargs)
        self.options = {self._value(o): o for o in options}
        if len(self.options) > 1:
            several_arms = len({o.arm.pk for o in options}) > 1
            field = self.fields["option"]
            if several_arms:
                field.label = _("Arm and dose level")
            field.choices = [(value, self._label(o, several_arms)) for value, o in self.options.items()]
            first_open = next((v for v, o in self.options.items() if o.level and o.level.status == "open"), None)
            field.initial = first_open
        else:
            del self.fields["option"]
        style(self)

    @staticmethod
    def _value(option) -> str:
        return option.arm.code if option.level is None else f"{option.arm.code}:{option.level.code}"

    @staticmethod
    def _label(option, several_arms: bool) -> str:
        if option.level is None:
            return f"{option.arm.code} - {content(option.arm, 'name')}"
        level = option.level
        dose = f"{cells(level.dose)} {level.dose_unit}" if level.dose else ""
        if level.group_cap:
            places = _("%(taken)d of %(cap)d places taken") % {"taken": option.taken, "cap": level.group_cap}
        else:
            places = _("%(taken)d enrolled, no cap") % {"taken": option.taken}
        name = f"{option.arm.code} / {level.code}" if several_arms else level.code
        return " · ".join((f"{name} – {content(level, 'label') or dose}", str(level.get_status_display()), places))

    def enrolment(self) -> dict:
        """Keyword arguments of `services.participant_enrol` from the cleaned form."""
        chosen = self.options.get(self.cleaned_data.get("option") or "")
        return {
            "enrolled_on": self.cleaned_data.get("enrolled_on"),
            "first_infusion_on": self.cleaned_data.get("first_infusion_on"),
            "arm_code": chosen.arm.code if chosen else None,
            "dose_level_code": chosen.level.code if chosen and chosen.level else None,
        }

    def field_for(self, path: str) -> str:
        """The arm and the dose level are chosen together, in `option` (when there is a choice)."""
        return "option" if path in ("arm", "dose_level") and "option" in self.fields else path

    def add_service_errors(self, errors) -> None:
        add_service_errors(self, errors)
        style(self)


class WithdrawalForm(LimitedForm, forms.Form):
    length_model, length_fields = Participant, {"detail": "withdrawal_detail"}

    # No date prefilled: the user states the day the participant withdrew, not the day it is recorded.
    withdrawn_on = forms.DateField(label=_("Withdrawal date"), widget=date_input())
    reason = forms.ChoiceField(label=_("Reason"), choices=BLANK + WithdrawalReason.choices)
    detail = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Required when the reason is Other."))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "withdraw")
        super().__init__(*args, **kwargs)
        style(self)



class ReevaluationForm(LimitedForm, forms.Form):
    """Evaluate a screening again under the study's current criteria: the reason (audit trail)."""

    reason = ServiceCheckedCharField(label=_("Reason for evaluating again"), required=True,
                                     widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


class EligibilityConfirmationForm(LimitedForm, forms.Form):
    """An investigator's signed eligibility confirmation: the meaning shown, the password re-entered
    (the service checks it, `services.screening_eligibility_confirm`)."""

    length_model = Screening

    password = forms.CharField(label=_("Your password, as signature"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
