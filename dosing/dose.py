"""Dose given vs computed (CLINICAL_RULES.md section 4, "Dose given vs computed"). Pure: no ORM,
no clock.

The computed dose is the level's dose per kg x the weight on the day (or the level's flat dose).
The dose given falls in one of three zones:

* ``within`` - at most 10 % off the computed dose ("within 10 %": **inclusive**, exactly 10 %
  above or below is still within): recorded;
* ``deviation`` - more than 10 % off but inside the level's hard limits (default 0.5x-2x the
  computed dose; the limits themselves are **inside**): a reason is required and the infusion
  is recorded as a dose deviation;
* ``refused`` - beyond the hard limits (**strictly** below ``low`` x or above ``high`` x the
  computed dose): refused whatever the reason.

``unchecked`` when there is no computed dose or no dose given; a computed dose with no dose given
(:attr:`DoseCheck.missing_dose`) cannot be checked against the hard limits, so the service
refuses to record such an infusion.

The hard limits are the only range check of a dose: they replace the former absolute "plausible
range" of a dose level (P3: "the dose per kg is configuration"), which was a confirmation band
around the configured dose. Boundaries are compared with a relative tolerance of 1e-9 so that
binary floating point does not move a dose written exactly at a limit (6.6e9 for 6e9 + 10 %)
to the other side of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCE = 0.10  # "within 10 %" of the computed dose: recorded as it is
HARD_LIMIT_LOW = 0.5  # default hard limits, as factors of the computed dose
HARD_LIMIT_HIGH = 2.0

WITHIN, DEVIATION, REFUSED, UNCHECKED = "within", "deviation", "refused", "unchecked"
ZONES = (WITHIN, DEVIATION, REFUSED, UNCHECKED)

_CLOSE = 1e-9


def cells_text(value: float) -> str:
    """6.0e9 -> "6 x10^9", the way doses are written in protocols."""
    mantissa, exponent = f"{float(value):.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} x10^{int(exponent)}"


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _times(ratio: float) -> str:
    return _number(ratio) if ratio < 1000 else cells_text(ratio)


def _at_most(value: float, limit: float) -> bool:
    return value <= limit or math.isclose(value, limit, rel_tol=_CLOSE)


def check_hard_limits(low: float, high: float) -> None:
    """A level's hard limits must bracket the computed dose: ``0 < low < 1 < high``."""
    if not (0 < low < 1 < high):
        raise ValueError(f"hard limits need 0 < low < 1 < high, got {low} and {high}")


@dataclass(frozen=True)
class DoseCheck:
    computed_dose: float | None  # cells, dose per kg x weight (or the flat dose)
    cells_infused: float | None
    actual_per_kg: float | None
    explanation: str
    zone: str  # one of ZONES; "unchecked" when there is no computed dose or no dose given
    ratio: float | None = None  # dose given / computed dose
    problem: str = ""  # why the dose is a deviation or refused, in words

    @property
    def missing_dose(self) -> bool:
        """A dose to check against but no dose given: it cannot be checked against the hard
        limits, so an infusion given this way is refused (`dosing.services.infusion_record`)."""
        return self.computed_dose is not None and self.cells_infused is None

    @property
    def deviation(self) -> bool:
        return self.zone == DEVIATION

    @property
    def refused(self) -> bool:
        return self.zone == REFUSED


def check_dose(*, weight_kg: float, dose_per_kg: float | None, cells_infused: float | None,
               flat_dose: float | None = None, hard_limits: tuple[float, float] = (HARD_LIMIT_LOW, HARD_LIMIT_HIGH),
               tolerance: float = TOLERANCE) -> DoseCheck:
    """The computed dose and the zone of the dose given (module docstring; CLINICAL_RULES.md
    section 4). ``hard_limits`` are factors of the computed dose, ``0 < low < 1 < high``.
    Raises ``ValueError`` for a weight that is not positive or bad hard limits."""
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    low, high = hard_limits
    check_hard_limits(low, high)
    parts = []
    if flat_dose:
        computed = flat_dose
        parts.append(f"flat dose {cells_text(flat_dose)} cells")
    else:
        computed = dose_per_kg * weight_kg if dose_per_kg else None
        if computed is not None:
            parts.append(f"{cells_text(dose_per_kg)} cells/kg x {_number(weight_kg)} kg = {cells_text(computed)} cells")
    actual_per_kg = cells_infused / weight_kg if cells_infused is not None else None
    if cells_infused is not None:
        parts.append(
            f"given {cells_text(cells_infused)} cells / {_number(weight_kg)} kg = {cells_text(actual_per_kg)} cells/kg"
        )
    explanation = "; ".join(parts)
    if computed is None or cells_infused is None:
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, UNCHECKED)

    ratio = cells_infused / computed
    off = ratio - 1
    given = f"{cells_text(cells_infused)} cells"
    if _at_most(abs(off), tolerance):
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, WITHIN, ratio)
    if ratio > high and not _at_most(ratio, high):
        problem = (f"{given} is {_times(ratio)}x the computed dose: it exceeds the hard limit of "
                   f"{_number(high)}x the computed dose ({cells_text(high * computed)} cells)")
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, REFUSED, ratio, problem)
    if ratio < low and not math.isclose(ratio, low, rel_tol=_CLOSE):
        problem = (f"{given} is {_times(ratio)}x the computed dose: it is below the hard limit of "
                   f"{_number(low)}x the computed dose ({cells_text(low * computed)} cells)")
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, REFUSED, ratio, problem)
    problem = (f"{given} is {abs(off) * 100:.0f} % {'above' if off > 0 else 'below'} the computed dose "
               f"{cells_text(computed)} cells (more than {tolerance * 100:.0f} %)")
    return DoseCheck(computed, cells_infused, actual_per_kg, explanation, DEVIATION, ratio, problem)
