"""What eligibility rules read and give (``CLINICAL_RULES.md`` section 5): the screening facts,
a rule's result, and the arithmetic of ages, months and creatinine clearance.

Pure module: no Django, no ORM, no clock (the screening date is one of the facts). The rules
themselves are in ``enrollment.eligibility``, which is also where these names are imported from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from trials.catalogue import shipped_catalogue
from trials.rule_params import SEXES
from trials.units import Analyte, format_number

from .eligibility_text import Message, english, message, word

__all__ = [
    "ADULT_AGE_YEARS",
    "CG_FEMALE_FACTOR",
    "CG_MALE_FACTOR",
    "MET",
    "MISSING",
    "NOT_MET",
    "Facts",
    "Lab",
    "PriorTherapy",
    "RuleResult",
    "age_in_years",
    "clearance_message",
    "creatinine_clearance",
    "whole_months",
]

MET = "met"
NOT_MET = "not_met"
MISSING = "missing"

# Cockcroft-Gault in umol/L: (140 - age) x weight / (72 x creatinine mg/dL) x 0.85 for women,
# with 1 mg/dL = 88.4 umol/L. CLINICAL_RULES.md section 5 writes these factors rounded as 1.23 and
# 1.04; its check values (108 and 51.9 mL/min) are those of the unrounded factors used here
# (1.04 would give 51.8 for the female check value).
CG_MALE_FACTOR = 88.4 / 72  # 1.2278
CG_FEMALE_FACTOR = 0.85 * 88.4 / 72  # 1.0436
SCHWARTZ_FACTOR = 36.5  # bedside Schwartz with creatinine in umol/L
ADULT_AGE_YEARS = 18


# --------------------------------------------------------------------------------------------
# Facts and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab:
    """One lab value in SI; ``lln``/``uln`` are the reporting lab's limits in SI, or None."""

    value: float
    lln: float | None = None
    uln: float | None = None
    date: date | None = None


@dataclass(frozen=True)
class PriorTherapy:
    """A prior therapy course (API.md "Codes"); ``outcome`` is none|pr|cr|relapse|ongoing."""

    therapy: str
    start: date | None = None
    end: date | None = None
    outcome: str | None = None
    dose_text: str = ""


@dataclass(frozen=True)
class Facts:
    """Screening facts (API.md "Screening facts"); None means not recorded."""

    screening_date: date | None = None
    birth_date: date | None = None
    sex: str | None = None
    weight_kg: float | None = None
    height_cm: float | None = None
    disease: str | None = None
    diagnosis_date: date | None = None
    ecog: int | None = None
    labs: Mapping[str, Lab] = field(default_factory=dict)
    prior_therapies: tuple[PriorTherapy, ...] | None = None
    items: Mapping[str, object] = field(default_factory=dict)  # study-defined items by code
    # The names yes/no conditions and other answers had before they became items; read as items.
    conditions: Mapping[str, bool | None] = field(default_factory=dict)
    answers: Mapping[str, object] = field(default_factory=dict)
    # The lab catalogue naming the analytes in the criteria's details (the application passes the
    # administrators' catalogue; the shipped one serves rules evaluated on their own).
    analytes: Mapping[str, Analyte] = field(default_factory=lambda: shipped_catalogue().analytes, compare=False,
                                            repr=False)

    def item(self, code: str) -> object:
        """The value of item ``code`` (None when not recorded)."""
        for source in (self.items, self.answers, self.conditions):
            if code in source:
                return source[code]
        return None


@dataclass(frozen=True)
class RuleResult:
    """A rule's outcome. ``message`` holds its values and arithmetic (``enrollment.eligibility_text``)
    and ``detail`` their English words. A "missing" detail always starts with "missing: <what is
    missing>"; ``missing`` lists those items as messages (kept so that combinations can name them)."""

    outcome: str
    detail: str
    applicable: bool = True
    missing: tuple = field(default=(), compare=False, repr=False)
    message: Message | None = field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Arithmetic (section 5)
# --------------------------------------------------------------------------------------------


def age_in_years(birth: date, on: date) -> int:
    """Whole years of age on ``on`` (section 5).

    The age increases on the birthday itself; someone born on 29 February becomes a year older on
    1 March in a non-leap year (the anniversary does not exist, so it has not been reached on
    28 February). Raises ``ValueError`` when ``on`` is before ``birth``.
    """
    if on < birth:
        raise ValueError(f"date {on.isoformat()} is before birth date {birth.isoformat()}")
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def whole_months(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``, counted like ages: a month is complete on the same
    day of a later month (31 January -> 1 March is one month, -> 28 February none)."""
    if end < start:
        raise ValueError(f"date {end.isoformat()} is before {start.isoformat()}")
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (end.day < start.day)


def creatinine_clearance(
    *,
    age_years: int,
    sex: str | None,
    weight_kg: float | None,
    height_cm: float | None,
    creatinine_umol_l: float,
) -> tuple[float, str]:
    """Creatinine clearance in mL/min and the formula with its numbers in English (section 5;
    ``clearance_message`` gives the same as a message)."""
    result, formula = clearance_message(age_years=age_years, sex=sex, weight_kg=weight_kg, height_cm=height_cm,
                                        creatinine_umol_l=creatinine_umol_l)
    return result, english(formula)


def clearance_message(
    *,
    age_years: int,
    sex: str | None,
    weight_kg: float | None,
    height_cm: float | None,
    creatinine_umol_l: float,
) -> tuple[float, Message]:
    """Creatinine clearance in mL/min and the formula with its numbers (section 5).

    From 18 years: Cockcroft-Gault with actual body weight,
    (140 - age) x weight kg x factor / creatinine umol/L with factor 88.4/72 = 1.2278 (male) or
    0.85 x 88.4/72 = 1.0436 (female) (written 1.23 / 1.04 in section 5).
    Under 18: bedside Schwartz, 36.5 x height cm / creatinine umol/L (mL/min/1.73 m2), so a child
    is never given the adult formula. The result is rounded to 0.1 mL/min and that rounded value
    is what criteria compare. Raises ``ValueError`` if an input the formula needs is missing or
    not positive.
    """
    if creatinine_umol_l is None or creatinine_umol_l <= 0:
        raise ValueError("creatinine must be a positive value in umol/L")
    if age_years < ADULT_AGE_YEARS:
        if height_cm is None or height_cm <= 0:
            raise ValueError("bedside Schwartz needs the height in cm")
        result = round(SCHWARTZ_FACTOR * height_cm / creatinine_umol_l, 1)
        return result, message("schwartz", age=age_years, adult_age=ADULT_AGE_YEARS, height=height_cm,
                               creatinine=creatinine_umol_l, clearance=format_number(result, 1))
    if sex not in SEXES:
        raise ValueError("Cockcroft-Gault needs the sex (male or female)")
    if weight_kg is None or weight_kg <= 0:
        raise ValueError("Cockcroft-Gault needs the weight in kg")
    if sex == "male":
        factor, factor_text = CG_MALE_FACTOR, "88.4/72"
    else:
        factor, factor_text = CG_FEMALE_FACTOR, "0.85 x 88.4/72"
    result = round((140 - age_years) * weight_kg * factor / creatinine_umol_l, 1)
    return result, message("cockcroft_gault", sex=word(sex), age=age_years, weight=weight_kg,
                           factor=f"{factor:.4f}", factor_text=factor_text, creatinine=creatinine_umol_l,
                           clearance=format_number(result, 1))
