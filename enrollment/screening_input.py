"""A screening as entered (facts, labs, prior therapies, conditions, answers) and its validation:
every bad field named by its path (such as `labs.2.value`) before anything is written
(`enrollment.services.screening_create` / `screening_update`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from trials import catalogues
from trials.errors import Errors
from trials.labs import LabInput, convert_labs
from trials.models import Study

from . import eligibility as rules
from .enums import (
    ANSWERS,
    CONDITIONS,
    PregnancyTest,
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
    conditions: dict | None = None
    answers: dict | None = None


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


def _validate_conditions(conditions: dict, errors: Errors) -> None:
    for name, value in conditions.items():
        if name not in CONDITIONS:
            errors.add(f"conditions.{name}", _("Unknown condition; use one of %(names)s.") % {
                "names": ", ".join(CONDITIONS)})
        elif value is not None and not isinstance(value, bool):
            errors.add(f"conditions.{name}", _("Answer yes (true), no (false) or leave empty."))


def _validate_answers(answers: dict, errors: Errors) -> None:
    for name, value in answers.items():
        spec = ANSWERS.get(name)
        if spec is None:
            errors.add(name, _("Unknown screening answer."))
            continue
        if value is None:
            continue
        kind = spec[1]
        if kind == "bool" and not isinstance(value, bool):
            errors.add(name, _("Answer yes (true), no (false) or leave empty."))
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            errors.add(name, _("Give a number of 0 or more."))
        elif kind is PregnancyTest and value not in PregnancyTest.values:
            errors.add(name, _("Use one of %(codes)s.") % {"codes": ", ".join(PregnancyTest.values)})


def validate_screening(data: ScreeningInput, study: Study, today: date, errors: Errors) -> list[dict] | None:
    _validate_scalars(data.values, study, today, errors)
    labs = None
    if data.labs is not None:
        labs = convert_labs(data.labs, errors)
        _validate_labs_dates(data.labs, data.values, today, errors)
    if data.prior_therapies is not None:
        _validate_therapies(data.prior_therapies, today, errors)
    if data.conditions is not None:
        _validate_conditions(data.conditions, errors)
    if data.answers is not None:
        _validate_answers(data.answers, errors)
    return labs
