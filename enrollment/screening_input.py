"""A screening as entered (facts, labs, prior therapies, answers to the study's items) and its validation:
every bad field named by its path (such as `labs.2.value`) before anything is written
(`enrollment.services.screening_create` / `screening_update`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from trials import catalogues
from trials import items as item_rules
from trials.errors import Errors
from trials.labs import LabInput, convert_labs
from trials.models import Study

from . import eligibility as rules
from .enums import (
    Sex,
    TherapyOutcome,
)


@dataclass
class TherapyInput:
    therapy: str
    outcome: str
    start: date | None = None
    end: date | None = None
    dose_text: str = ""


SCALAR_FIELDS = ("screening_date", "initials", "birth_date", "sex", "weight_kg", "height_cm", "disease",
                 "diagnosis_date", "ecog")


@dataclass
class ScreeningInput:
    """Screening facts as given (API.md 'Screening facts'); `given` lists the keys present."""

    values: dict = field(default_factory=dict)  # scalar fields
    labs: list[LabInput] | None = None
    prior_therapies: list[TherapyInput] | None = None
    items: dict | None = None  # answers to the study's screening items, by code (only those given)
    # Earlier names of items (API.md: `conditions`, and answers as top-level keys): read as items.
    conditions: dict | None = None
    answers: dict | None = None

    def given_items(self) -> dict | None:
        """Every item answer given, under whichever name; None when none was given."""
        if self.items is None and self.conditions is None and self.answers is None:
            return None
        return {**(self.conditions or {}), **(self.answers or {}), **(self.items or {})}


def _validate_scalars(values: dict, study: Study, today: date, errors: Errors) -> None:
    screening_date, birth, diagnosis = (values.get("screening_date"), values.get("birth_date"),
                                        values.get("diagnosis_date"))
    if screening_date and screening_date > today:
        errors.add("screening_date", _("The screening date cannot be in the future."))
    if birth:
        if birth > today:
            errors.add("birth_date", _("The date of birth cannot be in the future."))
        elif screening_date and birth > screening_date:
            errors.add("birth_date", _("The date of birth is after the screening date."))
        elif rules.age_in_years(birth, screening_date or today) > 120:
            errors.add("birth_date", _("An age over 120 years is not plausible; check the date of birth."))
    if diagnosis:
        if diagnosis > today:
            errors.add("diagnosis_date", _("The diagnosis date cannot be in the future."))
        elif screening_date and diagnosis > screening_date:
            errors.add("diagnosis_date", _("The diagnosis date is after the screening date."))
        if birth and diagnosis < birth:
            errors.add("diagnosis_date", _("The diagnosis date is before the date of birth."))
    sex = values.get("sex")
    if sex not in (None, "") and sex not in Sex.values:
        errors.add("sex", _("Use male or female."))
    weight = values.get("weight_kg")
    if weight is not None and not 0.5 <= weight <= 350:
        errors.add("weight_kg", _("A weight of %(w)s kg is not plausible (0.5-350 kg).") % {"w": weight})
    height = values.get("height_cm")
    if height is not None and not 40 <= height <= 250:
        errors.add("height_cm", _("A height of %(h)s cm is not plausible (40-250 cm).") % {"h": height})
    ecog = values.get("ecog")
    if ecog is not None and ecog not in range(0, 6):
        errors.add("ecog", _("ECOG is a whole number from 0 to 5."))
    disease = values.get("disease")
    if disease not in (None, ""):
        allowed = {row.disease for row in study.diseases.all()}
        known = catalogues.current().diseases
        if disease not in known:
            errors.add("disease", _("Unknown disease; use one of %(codes)s.") % {"codes": ", ".join(known)})
        elif disease not in allowed:
            errors.add("disease", _("%(study)s admits %(codes)s only.") % {
                "study": study.code, "codes": ", ".join(sorted(allowed))})
    initials = values.get("initials")
    if initials and (len(initials) > 10 or not initials.replace(" ", "").replace("-", "").isalpha()):
        errors.add("initials", _("Initials are up to 10 letters."))


def _validate_labs_dates(labs: list[LabInput], values: dict, today: date, errors: Errors) -> None:
    for index, lab in enumerate(labs):
        if lab.date and lab.date > today:
            errors.add(f"labs.{index}.date", _("A sample date cannot be in the future."))


def _validate_therapies(therapies: list[TherapyInput], today: date, errors: Errors) -> None:
    known = catalogues.current().therapies
    for index, course in enumerate(therapies):
        path = f"prior_therapies.{index}"
        if course.therapy not in known:
            errors.add(f"{path}.therapy", _("Unknown therapy; use one of %(codes)s.") % {
                "codes": ", ".join(known)})
        if course.outcome not in TherapyOutcome.values:
            errors.add(f"{path}.outcome", _("Use one of %(codes)s.") % {"codes": ", ".join(TherapyOutcome.values)})
        if course.start and course.start > today:
            errors.add(f"{path}.start", _("A course cannot start in the future."))
        if course.start and course.end and course.end < course.start:
            errors.add(f"{path}.end", _("The course ends before it starts."))
        elif course.end and course.end > today:
            errors.add(f"{path}.end", _("A course cannot end in the future."))


def _validate_items(data: ScreeningInput, specs: dict, current: dict, today: date, errors: Errors) -> dict | None:
    """The item answers given, typed and checked against the study's items (`trials.items`): the
    merged answers that would be stored, or None when none was given."""
    if data.given_items() is None:
        return None
    cleaned = {}
    for prefix, given in (("conditions", data.conditions), ("", data.answers), ("items", data.items)):
        if given is not None:
            cleaned.update(item_rules.clean_values(specs, given, today=today, errors=errors, prefix=prefix))
    merged = {code: value for code, value in {**current, **cleaned}.items() if value is not None}
    values = data.values
    birth, on = values.get("birth_date"), values.get("screening_date") or today
    age = rules.age_in_years(birth, on) if birth and birth <= on else None
    item_rules.check_applicable(specs, merged, sex=values.get("sex") or None, age_years=age, errors=errors)
    return merged


def validate_screening(data: ScreeningInput, study: Study, today: date, errors: Errors, *, specs: dict,
                       current_items: dict | None = None) -> tuple[list[dict] | None, dict | None]:
    """The labs converted to SI and the item answers to store (None: not given), every problem
    gathered in `errors`; `specs` are the study's screening items by code."""
    _validate_scalars(data.values, study, today, errors)
    labs = None
    if data.labs is not None:
        labs = convert_labs(data.labs, errors)
        _validate_labs_dates(data.labs, data.values, today, errors)
    if data.prior_therapies is not None:
        _validate_therapies(data.prior_therapies, today, errors)
    items = _validate_items(data, specs, current_items or {}, today, errors)
    return labs, items
