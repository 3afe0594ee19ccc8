"""What the response rules read (CLINICAL_RULES.md sections 1 and 2), and one value per day.

Pure: no Django, no ORM, no clock. :mod:`followup.response` re-exports every name here.

**One value per day** (section 1): several values of one analyte on one date are combined into
one daily value, the lowest, for every use (baseline, category, confirmation), so that no result
depends on the order in which values were entered:

* counts (:func:`daily_counts`): the lowest value; the worst (highest) recorded WHO bleeding grade
  of the day (None only when no count of the day has one); the highest recorded daily
  corticosteroid dose of the day;
* anaemia assessments (:func:`daily_hb`): each analyte its own lowest value - Hb, LDH, total
  bilirubin, reticulocytes, reticulocyte % - a lab value keeping its own reference range (equal
  values: the narrower-looking range is chosen by a fixed order, so the choice never depends on
  the input order); the Hb lower limit of normal of the lowest Hb (equal Hb: the highest limit);
  antiglobulin tests positive if any was positive, negative if any was negative and none positive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

__all__ = ["Count", "HbAssessment", "Lab", "Therapy", "Transfusion", "daily_counts", "daily_hb", "several_text"]


@dataclass(frozen=True)
class Count:
    """One blood count (platelets or neutrophils, x10^9/L) with the WHO bleeding grade if recorded
    and the daily corticosteroid dose (prednisone equivalent, mg) the participant was on, if recorded."""

    date: date
    value: float
    bleeding_grade: int | None = None
    steroid_mg_per_day: float | None = None


@dataclass(frozen=True)
class Therapy:
    """A rescue or supportive therapy (``ivig``, ``glucocorticoid``, ``tpo_agent``, ``gcsf``, ...).

    ``end`` None means still ongoing.
    """

    kind: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class Transfusion:
    kind: str  # "rbc" | "platelet"
    date: date


@dataclass(frozen=True)
class Lab:
    """A lab value with the reference range it was judged by; ``label`` names what was measured when
    it matters to the reader (reticulocytes: ``RETIC_ABS`` absolute count or ``RETIC_PCT`` percentage)."""

    value: float
    lln: float | None = None
    uln: float | None = None
    label: str = ""


@dataclass(frozen=True)
class HbAssessment:
    """One anaemia assessment: haemoglobin (g/L) and, where the criteria set needs them, markers.

    ``retic`` is the reticulocyte result with its reference range (the absolute count when recorded,
    else the percentage with its range, section 2), ``retic_pct`` the percentage (AIHA Chinese 2017
    PR), ``hb_lln`` the lab's Hb lower limit (AIHA Chinese 2017 "Hb normal").
    """

    date: date
    hb: float
    ldh: Lab | None = None
    tbil: Lab | None = None
    retic: Lab | None = None
    retic_pct: float | None = None
    antiglobulin_negative: bool | None = None
    hb_lln: float | None = None


def several_text(on: date, n: int, what: str = "counts") -> str:
    """The explanation of a combined day: "2 counts on 2026-03-15, lowest used"."""
    return f"{n} {what} on {on}, lowest used"


def _by_date(items: Iterable, date_of) -> dict[date, list]:
    found: dict[date, list] = {}
    for item in items:
        found.setdefault(date_of(item), []).append(item)
    return found


def daily_counts(counts: Sequence[Count]) -> tuple[tuple[Count, ...], dict[date, int]]:
    """One count per date, by date (module docstring), and how many counts each combined date had."""
    out, several = [], {}
    for on, same in sorted(_by_date(counts, lambda c: c.date).items()):
        if len(same) > 1:
            several[on] = len(same)
        grades = [c.bleeding_grade for c in same if c.bleeding_grade is not None]
        doses = [c.steroid_mg_per_day for c in same if c.steroid_mg_per_day is not None]
        out.append(Count(on, min(c.value for c in same), max(grades) if grades else None,
                         max(doses) if doses else None))
    return tuple(out), several


def _lab_key(lab: Lab):
    return (lab.value, lab.lln is None, lab.lln or 0.0, lab.uln is None, lab.uln or 0.0, lab.label)


def _lowest_lab(labs: Iterable[Lab | None]) -> Lab | None:
    found = [lab for lab in labs if lab is not None]
    return min(found, key=_lab_key) if found else None


def _antiglobulin(values: Iterable[bool | None]) -> bool | None:
    seen = {v for v in values if v is not None}
    if False in seen:
        return False
    return True if True in seen else None


def daily_hb(rows: Sequence[HbAssessment]) -> tuple[tuple[HbAssessment, ...], dict[date, int]]:
    """One anaemia assessment per date, by date (module docstring), and how many rows each combined date had."""
    out, several = [], {}
    for on, same in sorted(_by_date(rows, lambda a: a.date).items()):
        if len(same) == 1:
            out.append(same[0])
            continue
        several[on] = len(same)
        hb = min(a.hb for a in same)
        llns = [a.hb_lln for a in same if a.hb == hb and a.hb_lln is not None]
        pcts = [a.retic_pct for a in same if a.retic_pct is not None]
        out.append(HbAssessment(
            date=on, hb=hb, ldh=_lowest_lab(a.ldh for a in same), tbil=_lowest_lab(a.tbil for a in same),
            retic=_lowest_lab(a.retic for a in same), retic_pct=min(pcts) if pcts else None,
            antiglobulin_negative=_antiglobulin(a.antiglobulin_negative for a in same),
            hb_lln=max(llns) if llns else None))
    return tuple(out), several
