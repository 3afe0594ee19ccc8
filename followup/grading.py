"""CTCAE v5.0 grading of lab values and fever (CLINICAL_RULES.md section 3).

Pure: no ORM, no clock. The grading table is data (:data:`CTCAE_V5`, a
:class:`GradingTable`); a later CTCAE version is another table passed as ``table=``.

Each term is a list of :class:`Band` s. A band says "grade G when the value is below / above
``threshold`` x reference", the reference being an absolute value, the lab's LLN or ULN, or the
participant's baseline. The grade is the highest grade whose band the value meets, so section 3's
range "< 75 - 50" (grade 2 of platelets) is the band "below 75" met and the band "below 50" (grade
3) not met: 50 is grade 2, 75 is not. Comparisons are exact decimal arithmetic on the values as
given (``1.5 x 17.1`` is 25.65, not 25.650000000000002).

Section 3 specifics:

* anaemia grade 3 also reads "transfusion indicated" and grade 4 "life-threatening consequences":
  those are clinical judgements, so the value alone grades anaemia at most 3;
* ALT, AST and total bilirubin with an abnormal baseline (baseline > ULN) use multiples of the
  baseline instead of the ULN. The lower end of grade 1 then follows the CTCAE v5.0 wording
  ("1.5 - 3.0 x baseline" for ALT/AST, "> 1.0 - 1.5 x baseline" for bilirubin);
* creatinine is graded by multiples of ULN and, when a baseline is given, by multiples of the
  baseline ("> 1.5 - 3.0 x baseline" grade 2, "> 3.0 x baseline" grade 3); the worse grade wins;
* fever above 40.0 deg C is grade 3 for <= 24 h and grade 4 for > 24 h; without a duration it is
  graded 3 and the explanation says so;
* blood counts (these patients start cytopenic) give an automatic adverse-event suggestion only
  when the grade is worse than the baseline grade; liver, renal and fever give one from grade 1.
  A suggestion is what the investigator confirms; the confirmed grade is what counts.

A grading and a suggestion explain themselves as a message (``message``; codes in
`followup.grading_messages`), worded in the reader's language where shown; ``explanation`` is its
English.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from trials.messages import Message, english, listed, message, word

from . import grading_messages  # noqa: F401 (registers the codes of the messages below)

__all__ = [
    "ABOVE",
    "ABSOLUTE",
    "BASELINE",
    "BELOW",
    "CTCAE_V5",
    "Band",
    "Grade",
    "GradingTable",
    "LLN",
    "Suggestion",
    "TermRule",
    "ULN",
    "WORSE_THAN_BASELINE",
    "ANY_GRADE",
    "grade_lab",
    "suggest_adverse_event",
]

# What a band's threshold multiplies.
ABSOLUTE = "absolute"
LLN = "LLN"
ULN = "ULN"
BASELINE = "baseline"

BELOW = "below"
ABOVE = "above"

# When a graded value becomes an adverse-event suggestion.
WORSE_THAN_BASELINE = "worse_than_baseline"
ANY_GRADE = "any_grade"


@dataclass(frozen=True)
class Band:
    """Grade ``grade`` when the value is below/above ``threshold`` x ``reference``.

    ``inclusive`` makes the bound itself belong to the band (">= 38.0" rather than "> 38.0").
    """

    grade: int
    threshold: float
    reference: str = ABSOLUTE
    direction: str = BELOW
    inclusive: bool = False

    def describe(self, unit: str) -> str:
        return english(self.message(unit)).rstrip()

    def message(self, unit: str) -> Message:
        sign = {(BELOW, False): "<", (BELOW, True): "<=", (ABOVE, False): ">", (ABOVE, True): ">="}[
            (self.direction, self.inclusive)
        ]
        if self.reference == ABSOLUTE:
            return message("ctcae_band_absolute", sign=sign, threshold=_num(self.threshold), unit=unit)
        reference = word(_REFERENCE_WORDS.get(self.reference, self.reference))
        if self.threshold == 1:
            return message("ctcae_band_reference", sign=sign, reference=reference)
        return message("ctcae_band_multiple", sign=sign, threshold=_num(self.threshold), reference=reference)


@dataclass(frozen=True)
class TermRule:
    """One CTCAE term graded from one analyte."""

    analyte: str
    term: str
    unit: str
    bands: tuple[Band, ...]
    # Replace ``bands`` when the baseline is above the ULN (ALT, AST, bilirubin).
    abnormal_baseline_bands: tuple[Band, ...] = ()
    # Applied in addition to ``bands`` whenever a baseline is given (creatinine).
    baseline_bands: tuple[Band, ...] = ()
    # Grade reached when a value meeting ``duration_band`` lasts more than ``duration_hours`` (fever).
    duration_band: Band | None = None
    duration_hours: float | None = None
    suggest: str = ANY_GRADE
    note: str = ""  # a message code (`followup.grading_messages`)


@dataclass(frozen=True)
class GradingTable:
    version: str
    terms: Mapping[str, TermRule]


@dataclass(frozen=True)
class Grade:
    """A CTCAE grade (0 = within the grade-0 range) and how it was reached."""

    grade: int
    term: str
    message: Message
    analyte: str = ""
    value: float | None = None
    version: str = ""

    @property
    def explanation(self) -> str:
        return english(self.message)


@dataclass(frozen=True)
class Suggestion:
    """An automatic adverse-event suggestion for the investigator to confirm (section 3)."""

    analyte: str
    term: str
    grade: int
    baseline_grade: int | None
    message: Message
    version: str

    @property
    def explanation(self) -> str:
        return english(self.message)


def _uln_bands(*multiples: float) -> tuple[Band, ...]:
    return tuple(Band(g, m, ULN, ABOVE) for g, m in enumerate(multiples, start=1))


_TRANSAMINASE_NOTE = "ctcae_note_transaminase"

CTCAE_V5 = GradingTable(
    version="CTCAE v5.0",
    terms=MappingProxyType(
        {
            "HGB": TermRule(
                "HGB", "Anemia", "g/L",
                bands=(Band(1, 1, LLN), Band(2, 100), Band(3, 80)),
                suggest=WORSE_THAN_BASELINE,
                note="ctcae_note_anemia",
            ),
            "PLT": TermRule(
                "PLT", "Platelet count decreased", "x10^9/L",
                bands=(Band(1, 1, LLN), Band(2, 75), Band(3, 50), Band(4, 25)),
                suggest=WORSE_THAN_BASELINE,
            ),
            "ANC": TermRule(
                "ANC", "Neutrophil count decreased", "x10^9/L",
                bands=(Band(1, 1, LLN), Band(2, 1.5), Band(3, 1.0), Band(4, 0.5)),
                suggest=WORSE_THAN_BASELINE,
            ),
            "ALT": TermRule(
                "ALT", "Alanine aminotransferase increased", "U/L",
                bands=_uln_bands(1, 3, 5, 20),
                abnormal_baseline_bands=(
                    Band(1, 1.5, BASELINE, ABOVE, inclusive=True),
                    Band(2, 3, BASELINE, ABOVE),
                    Band(3, 5, BASELINE, ABOVE),
                    Band(4, 20, BASELINE, ABOVE),
                ),
                note=_TRANSAMINASE_NOTE,
            ),
            "AST": TermRule(
                "AST", "Aspartate aminotransferase increased", "U/L",
                bands=_uln_bands(1, 3, 5, 20),
                abnormal_baseline_bands=(
                    Band(1, 1.5, BASELINE, ABOVE, inclusive=True),
                    Band(2, 3, BASELINE, ABOVE),
                    Band(3, 5, BASELINE, ABOVE),
                    Band(4, 20, BASELINE, ABOVE),
                ),
                note=_TRANSAMINASE_NOTE,
            ),
            "TBIL": TermRule(
                "TBIL", "Blood bilirubin increased", "umol/L",
                bands=_uln_bands(1, 1.5, 3, 10),
                abnormal_baseline_bands=(
                    Band(1, 1.0, BASELINE, ABOVE),
                    Band(2, 1.5, BASELINE, ABOVE),
                    Band(3, 3, BASELINE, ABOVE),
                    Band(4, 10, BASELINE, ABOVE),
                ),
                note=_TRANSAMINASE_NOTE,
            ),
            "CREAT": TermRule(
                "CREAT", "Creatinine increased", "umol/L",
                bands=_uln_bands(1, 1.5, 3, 6),
                baseline_bands=(Band(2, 1.5, BASELINE, ABOVE), Band(3, 3, BASELINE, ABOVE)),
                note="ctcae_note_creatinine",
            ),
            "TEMP": TermRule(
                "TEMP", "Fever", "deg C",
                bands=(
                    Band(1, 38.0, ABSOLUTE, ABOVE, inclusive=True),
                    Band(2, 39.0, ABSOLUTE, ABOVE),
                    Band(3, 40.0, ABSOLUTE, ABOVE),
                ),
                duration_band=Band(4, 40.0, ABSOLUTE, ABOVE),
                duration_hours=24,
            ),
        }
    ),
)


def _d(x: float) -> Decimal:
    return Decimal(str(x))


def _fmt(x: float | Decimal) -> str:
    text = format(_d(x).normalize(), "f")
    return text


def _num(x: float | Decimal | None) -> int | float | None:
    """A number as a message keeps it (written again by the format ``ctcae``, as `_fmt` writes it)."""
    if x is None:
        return None
    value = _d(x)
    return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)


_REFERENCE_WORDS = {BASELINE: "ctcae_baseline"}


def _reference_value(band: Band, *, lln, uln, baseline) -> float | None:
    return {ABSOLUTE: 1, LLN: lln, ULN: uln, BASELINE: baseline}[band.reference]


def _meets(band: Band, value: float, reference: float) -> bool:
    bound = _d(band.threshold) * _d(reference)
    v = _d(value)
    if band.direction == BELOW:
        return v <= bound if band.inclusive else v < bound
    return v >= bound if band.inclusive else v > bound


def _grade_bands(bands, value, unit, *, lln, uln, baseline) -> tuple[int, list[Message]]:
    """Highest grade met, and one message per band saying met or not met."""
    grade = 0
    said: list[Message] = []
    for band in bands:
        reference = _reference_value(band, lln=lln, uln=uln, baseline=baseline)
        if reference is None:
            raise ValueError(f"{band.reference} is needed to grade against '{band.describe(unit)}'")
        met = _meets(band, value, reference)
        shown = band.message(unit)
        if band.reference != ABSOLUTE:
            shown = message("ctcae_band_bound", band=shown, bound=_num(_d(band.threshold) * _d(reference)), unit=unit)
        said.append(message("ctcae_band_yes" if met else "ctcae_band_no", grade=band.grade, band=shown))
        if met:
            grade = max(grade, band.grade)
    return grade, said


def grade_lab(
    analyte: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    duration_hours: float | None = None,
    table: GradingTable = CTCAE_V5,
) -> Grade:
    """Grade one value of ``analyte`` (HGB, PLT, ANC, ALT, AST, TBIL, CREAT, TEMP) by ``table``.

    CLINICAL_RULES.md section 3. ``value``, ``lln``, ``uln`` and ``baseline`` are in the SI unit of
    section 7 (g/L, x10^9/L, U/L, umol/L, deg C). ``duration_hours`` is the duration of a fever.
    Raises ValueError for an unknown analyte or a missing reference limit the table needs.
    """
    try:
        rule = table.terms[analyte]
    except KeyError:
        raise ValueError(f"{table.version} has no grading rule for analyte {analyte!r}") from None

    bands = rule.bands
    basis: Message | None = None
    if rule.abnormal_baseline_bands and baseline is not None:
        if uln is None:
            raise ValueError(f"ULN is needed to tell whether the {analyte} baseline is abnormal")
        if _d(baseline) > _d(uln):
            bands = rule.abnormal_baseline_bands
            basis = message("ctcae_basis_baseline", baseline=_num(baseline), uln=_num(uln))
        else:
            basis = message("ctcae_basis_uln", baseline=_num(baseline), uln=_num(uln))
    grade, said = _grade_bands(bands, value, rule.unit, lln=lln, uln=uln, baseline=baseline)
    if rule.baseline_bands and baseline is not None:
        by_baseline, said_baseline = _grade_bands(
            rule.baseline_bands, value, rule.unit, lln=lln, uln=uln, baseline=baseline
        )
        said += [message("ctcae_by_baseline", band=s, baseline=_num(baseline)) for s in said_baseline]
        grade = max(grade, by_baseline)

    if rule.duration_band is not None and _meets(rule.duration_band, value, 1):
        limit = rule.duration_hours
        if duration_hours is None:
            said.append(message("ctcae_duration_not_given", grade=rule.duration_band.grade,
                                band=rule.duration_band.message(rule.unit), limit=_num(limit)))
        else:
            met = _d(duration_hours) > _d(limit)
            if met:
                grade = max(grade, rule.duration_band.grade)
            said.append(message("ctcae_duration_yes" if met else "ctcae_duration_no", grade=rule.duration_band.grade,
                                hours=_num(duration_hours), limit=_num(limit)))

    head = {"analyte": analyte, "value": _num(value), "unit": rule.unit, "term": word(rule.term), "grade": grade,
            "version": table.version}
    explained = (message("ctcae_grade", **head, bands=listed("list_semicolon", said)) if basis is None else
                 message("ctcae_grade_basis", **head, basis=basis, bands=listed("list_semicolon", said)))
    if rule.note:
        explained = message("ctcae_with_note", grading=explained, note=message(rule.note))
    return Grade(grade, rule.term, explained, analyte, value, table.version)


def suggest_adverse_event(
    analyte: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline_value: float | None = None,
    duration_hours: float | None = None,
    table: GradingTable = CTCAE_V5,
) -> Suggestion | None:
    """An adverse-event suggestion for this value, or None (CLINICAL_RULES.md section 3).

    Blood counts (HGB, PLT, ANC) suggest only when the grade is worse than the grade of
    ``baseline_value`` (these patients start cytopenic); with no baseline value every grade >= 1
    is suggested and the explanation says the baseline was missing. Liver, renal and fever suggest
    from grade 1, the grade already allowing for an abnormal baseline as the table says.
    """
    rule = table.terms.get(analyte)
    if rule is None:
        raise ValueError(f"{table.version} has no grading rule for analyte {analyte!r}")
    if rule.suggest == WORSE_THAN_BASELINE:
        now = grade_lab(analyte, value, lln=lln, uln=uln, duration_hours=duration_hours, table=table)
        if baseline_value is None:
            if now.grade == 0:
                return None
            return Suggestion(analyte, now.term, now.grade, None,
                              message("ctcae_suggested_no_baseline", grading=now.message), table.version)
        before = grade_lab(analyte, baseline_value, lln=lln, uln=uln, table=table)
        if now.grade <= before.grade:
            return None
        worse = message("ctcae_suggested_worse", grading=now.message, baseline_grade=before.grade, analyte=analyte,
                        baseline=_num(baseline_value), unit=rule.unit)
        return Suggestion(analyte, now.term, now.grade, before.grade, worse, table.version)
    now = grade_lab(
        analyte, value, lln=lln, uln=uln, baseline=baseline_value, duration_hours=duration_hours, table=table
    )
    if now.grade == 0:
        return None
    return Suggestion(analyte, now.term, now.grade, None, message("ctcae_suggested_from_grade_1", grading=now.message),
                      table.version)
