"""Dose per kilogram arithmetic for an infusion (issue: infusions). Pure: no ORM, no clock."""
from __future__ import annotations

from dataclasses import dataclass, field

TOLERANCE = 0.10  # a dose more than 10 % off the computed one needs a confirmation


def cells_text(value: float) -> str:
    """6.0e9 -> "6 x10^9", the way doses are written in protocols."""
    mantissa, exponent = f"{float(value):.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} x10^{int(exponent)}"


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class DoseCheck:
    computed_dose: float | None  # cells, dose per kg x weight
    cells_infused: float | None
    actual_per_kg: float | None
    explanation: str
    confirmation_needed: list[str] = field(default_factory=list)  # why the dose needs an explicit confirmation


def check_dose(*, weight_kg: float, dose_per_kg: float | None, cells_infused: float | None,
               plausible_range: tuple[float, float] | None, flat_dose: float | None = None,
               tolerance: float = TOLERANCE) -> DoseCheck:
    """Computed dose = dose per kg x weight on the day (or the flat dose); the dose given is
    compared with it and with the level's plausible range (per kg for a per-kg level, in cells for
    a flat one). Either difference needs a confirmation with a reason."""
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    parts, confirm = [], []
    if flat_dose:
        computed = flat_dose
        parts.append(f"flat dose {cells_text(flat_dose)} cells")
    else:
        computed = dose_per_kg * weight_kg if dose_per_kg else None
    if computed is not None and not flat_dose:
        parts.append(f"{cells_text(dose_per_kg)} cells/kg x {_number(weight_kg)} kg = {cells_text(computed)} cells")
    actual_per_kg = cells_infused / weight_kg if cells_infused is not None else None
    if cells_infused is not None:
        parts.append(f"given {cells_text(cells_infused)} cells / {_number(weight_kg)} kg = {cells_text(actual_per_kg)} cells/kg")
        if computed:
            off = (cells_infused - computed) / computed
            if abs(off) > tolerance:
                confirm.append(f"{cells_text(cells_infused)} cells is {abs(off) * 100:.0f} % "
                               f"{'above' if off > 0 else 'below'} the computed dose {cells_text(computed)} cells "
                               f"(more than {tolerance * 100:.0f} %)")
    if flat_dose:
        compared, unit = (cells_infused if cells_infused is not None else flat_dose), "cells"
    else:
        compared, unit = (actual_per_kg if actual_per_kg is not None else dose_per_kg), "cells/kg"
    if plausible_range is not None and compared is not None:
        low, high = plausible_range
        if not low <= compared <= high:
            confirm.append(f"{cells_text(compared)} {unit} is outside the level's plausible range "
                           f"{cells_text(low)}-{cells_text(high)} {unit}")
    return DoseCheck(computed_dose=computed, cells_infused=cells_infused, actual_per_kg=actual_per_kg,
                     explanation="; ".join(parts), confirmation_needed=confirm)
