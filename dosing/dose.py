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
from dataclasses import dataclass, field

from trials.messages import Message, english, message

from .messages import cells_text, dose_explanation

__all__ = ["DEVIATION", "HARD_LIMIT_HIGH", "HARD_LIMIT_LOW", "REFUSED", "TOLERANCE", "UNCHECKED", "WITHIN", "ZONES",
           "DoseCheck", "cells_text", "check_dose", "check_hard_limits"]

TOLERANCE = 0.10  # "within 10 %" of the computed dose: recorded as it is
HARD_LIMIT_LOW = 0.5  # default hard limits, as factors of the computed dose
HARD_LIMIT_HIGH = 2.0

WITHIN, DEVIATION, REFUSED, UNCHECKED = "within", "deviation", "refused", "unchecked"
ZONES = (WITHIN, DEVIATION, REFUSED, UNCHECKED)

_CLOSE = 1e-9


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
    explanation_message: Message  # the arithmetic (`dosing.messages`); {} when there is none
    zone: str  # one of ZONES; "unchecked" when there is no computed dose or no dose given
    ratio: float | None = None  # dose given / computed dose
    problem_message: Message = field(default_factory=dict)  # why the dose is a deviation or refused

    @property
    def explanation(self) -> str:
        return english(self.explanation_message)

    @property
    def problem(self) -> str:
        """Why the dose is a deviation or refused, in English ("" when it is neither)."""
        return english(self.problem_message)

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
        parts.append(message("dose_flat", dose=flat_dose))
    else:
        computed = dose_per_kg * weight_kg if dose_per_kg else None
        if computed is not None:
            parts.append(message("dose_computed", dose_per_kg=dose_per_kg, weight=weight_kg, computed=computed))
    actual_per_kg = cells_infused / weight_kg if cells_infused is not None else None
    if cells_infused is not None:
        parts.append(message("dose_given", cells=cells_infused, weight=weight_kg, per_kg=actual_per_kg))
    explanation = dose_explanation(*parts)
    if computed is None or cells_infused is None:
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, UNCHECKED)

    ratio = cells_infused / computed
    off = ratio - 1
    if _at_most(abs(off), tolerance):
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, WITHIN, ratio)
    if ratio > high and not _at_most(ratio, high):
        problem = message("dose_above_hard_limit", given=cells_infused, ratio=ratio, limit=high,
                          limit_cells=high * computed)
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, REFUSED, ratio, problem)
    if ratio < low and not math.isclose(ratio, low, rel_tol=_CLOSE):
        problem = message("dose_below_hard_limit", given=cells_infused, ratio=ratio, limit=low,
                          limit_cells=low * computed)
        return DoseCheck(computed, cells_infused, actual_per_kg, explanation, REFUSED, ratio, problem)
    # Whole percents, as the protocol states the tolerance.
    problem = message("dose_above_computed" if off > 0 else "dose_below_computed", given=cells_infused,
                      percent=int(f"{abs(off) * 100:.0f}"), computed=computed, tolerance=int(f"{tolerance * 100:.0f}"))
    return DoseCheck(computed, cells_infused, actual_per_kg, explanation, DEVIATION, ratio, problem)
