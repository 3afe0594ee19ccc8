"""The nominal day of each configured infusion (CLINICAL_RULES.md section 8). Pure: no ORM, no clock.

Days count from day 0, the day of the first infusion, when every infusion is given on its target
day: the study page's and the study API's table of an arm's infusions. One participant's plan,
re-anchored on what actually happened, is `dosing.windows.plan_infusions`, which builds on these
rules.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DAY_0 = "day0"
PREVIOUS_ACTUAL = "previous_actual"


@dataclass(frozen=True)
class InfusionRule:
    number: int
    anchor: str  # DAY_0 | PREVIOUS_ACTUAL
    offset_days: int
    window_before_days: int = 0
    window_after_days: int = 0


@dataclass(frozen=True)
class NominalInfusion:
    number: int
    day: int
    earliest_day: int
    latest_day: int


def nominal_infusion_days(rules: Sequence[InfusionRule]) -> list[NominalInfusion]:
    """Nominal day and window of each infusion when every infusion is given on its target day.

    P3 (infusion 2 = #1 + 7, #3-#5 = previous + 14) gives days 0, 7, 21, 35, 49.
    Raises ValueError when the first infusion is anchored on a previous one or numbers repeat.
    """
    ordered = sorted(rules, key=lambda rule: rule.number)
    numbers = [rule.number for rule in ordered]
    if len(set(numbers)) != len(numbers):
        raise ValueError("Infusion numbers repeat.")
    planned: list[NominalInfusion] = []
    for rule in ordered:
        if rule.anchor == DAY_0:
            day = rule.offset_days
        elif rule.anchor == PREVIOUS_ACTUAL:
            if not planned:
                raise ValueError(f"Infusion {rule.number} is anchored on a previous infusion but none comes before it.")
            day = planned[-1].day + rule.offset_days
        else:
            raise ValueError(f"Unknown anchor {rule.anchor!r} for infusion {rule.number}.")
        planned.append(NominalInfusion(rule.number, day, day - rule.window_before_days, day + rule.window_after_days))
    return planned
