"""Corticosteroid doses as prednisone equivalents (CLINICAL_RULES.md section 1, corticosteroid dependence).

Pure: no Django model, no ORM, no clock. Equivalent anti-inflammatory doses: prednisone 5 mg =
prednisolone 5 mg = methylprednisolone 4 mg = dexamethasone 0.75 mg.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["EQUIVALENT_MG", "STEROID_DRUGS", "prednisone_equivalent"]

# mg of each drug equivalent to 5 mg prednisone.
EQUIVALENT_MG = {
    "prednisone": Decimal("5"),
    "prednisolone": Decimal("5"),
    "methylprednisolone": Decimal("4"),
    "dexamethasone": Decimal("0.75"),
}
STEROID_DRUGS = tuple(EQUIVALENT_MG)


def prednisone_equivalent(drug: str, mg_per_day) -> Decimal:
    """The daily dose of `drug` as prednisone-equivalent mg/day, rounded half up to 0.01 mg.

    ValueError for a drug not in :data:`EQUIVALENT_MG` or a dose that is not a finite number >= 0.
    """
    if drug not in EQUIVALENT_MG:
        raise ValueError(f"unknown corticosteroid {drug!r}; use one of {', '.join(STEROID_DRUGS)}")
    dose = Decimal(str(mg_per_day))
    if not dose.is_finite() or dose < 0:
        raise ValueError(f"a daily dose is a number >= 0, got {mg_per_day!r}")
    return (dose * Decimal("5") / EQUIVALENT_MG[drug]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
