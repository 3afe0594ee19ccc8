"""The words of an infusion's dose arithmetic, of a dose's problem and of the date its window is
planned from, as messages (``trials.messages``): stored with their values, worded in the reader's
language (CLINICAL_RULES.md sections 4 and 8).

* The dose arithmetic (``Infusion.dose_message``, `dosing.dose.check_dose`): ``dose_flat``,
  ``dose_computed`` and ``dose_given``, two of them joined by ``list_semicolon``.
* Why a dose is a deviation or refused (`DoseCheck.problem_message`): ``dose_above_hard_limit``,
  ``dose_below_hard_limit``, ``dose_above_computed``, ``dose_below_computed``.
* The anchor of an infusion's target (``Infusion.anchor_message``, `dosing.windows.plan_infusions`):
  ``anchor_plus_day`` / ``anchor_plus_days`` around one of the ``anchor_*`` bases, the missed
  infusions as ``infusion_missed`` / ``infusions_missed``.

Doses in cells are written "6 x10^9" (format ``cells``), weights and factors with up to three
decimals (``decimal``), a ratio as a factor or, from 1000, in cells (``times``).
"""
from __future__ import annotations

from django.utils.translation import gettext_noop

from trials.messages import Message, Template, listed, message, register


def cells_text(value: float) -> str:
    """6.0e9 -> "6 x10^9", the way doses are written in protocols."""
    mantissa, exponent = f"{float(value):.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} x10^{int(exponent)}"


def decimal_text(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def times_text(ratio: float) -> str:
    return decimal_text(ratio) if ratio < 1000 else cells_text(ratio)


_CELLS, _DECIMAL, _TIMES = "cells", "decimal", "times"

TEMPLATES: dict[str, Template] = {
    # The dose arithmetic
    "dose_flat": Template(gettext_noop("flat dose %(dose)s cells"), {"dose": _CELLS}),
    "dose_computed": Template(gettext_noop("%(dose_per_kg)s cells/kg x %(weight)s kg = %(computed)s cells"),
                              {"dose_per_kg": _CELLS, "weight": _DECIMAL, "computed": _CELLS}),
    "dose_given": Template(gettext_noop("given %(cells)s cells / %(weight)s kg = %(per_kg)s cells/kg"),
                           {"cells": _CELLS, "weight": _DECIMAL, "per_kg": _CELLS}),
    # Why a dose is refused or a deviation
    "dose_above_hard_limit": Template(gettext_noop(
        "%(given)s cells is %(ratio)sx the computed dose: it exceeds the hard limit of %(limit)sx the computed "
        "dose (%(limit_cells)s cells)"), {"given": _CELLS, "ratio": _TIMES, "limit": _DECIMAL, "limit_cells": _CELLS}),
    "dose_below_hard_limit": Template(gettext_noop(
        "%(given)s cells is %(ratio)sx the computed dose: it is below the hard limit of %(limit)sx the computed "
        "dose (%(limit_cells)s cells)"), {"given": _CELLS, "ratio": _TIMES, "limit": _DECIMAL, "limit_cells": _CELLS}),
    "dose_above_computed": Template(gettext_noop(
        "%(given)s cells is %(percent)s %% above the computed dose %(computed)s cells (more than %(tolerance)s %%)"),
        {"given": _CELLS, "computed": _CELLS}),
    "dose_below_computed": Template(gettext_noop(
        "%(given)s cells is %(percent)s %% below the computed dose %(computed)s cells (more than %(tolerance)s %%)"),
        {"given": _CELLS, "computed": _CELLS}),
    # The date an infusion's target counts from
    "anchor_plus_day": gettext_noop("%(anchor)s + %(days)s day"),
    "anchor_plus_days": gettext_noop("%(anchor)s + %(days)s days"),
    "anchor_day0": gettext_noop("day 0 (%(date)s)"),
    "anchor_day0_given": gettext_noop("day 0 (%(date)s, infusion %(n)s given)"),
    "anchor_given": gettext_noop("infusion %(n)s given %(date)s"),
    "anchor_given_after_missed": gettext_noop("infusion %(n)s given %(date)s (%(missed)s)"),
    "anchor_planned": gettext_noop("planned day of infusion %(n)s (%(date)s, not yet given)"),
    "anchor_planned_missed": gettext_noop("planned day of infusion %(n)s (%(date)s, missed)"),
    "anchor_planned_after_missed": gettext_noop(
        "planned day of infusion %(n)s (%(date)s, not yet given; %(missed)s)"),
    "anchor_none_given": gettext_noop("%(day0)s (none given; %(missed)s)"),
    "infusion_missed": gettext_noop("infusion %(n)s missed"),
    "infusions_missed": gettext_noop("infusions %(numbers)s missed"),
}

register(TEMPLATES, formats={_CELLS: cells_text, _DECIMAL: decimal_text, _TIMES: times_text})


def dose_explanation(*parts: Message) -> Message:
    """The dose arithmetic of an infusion: its parts joined, or no message (``{}``) for none."""
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else listed("list_semicolon", parts)


def plus_days(anchor: Message, days: int) -> Message:
    """The anchor's date + `days` days (English says "1 day", "-1 day", else "n days")."""
    return message("anchor_plus_day" if abs(days) == 1 else "anchor_plus_days", anchor=anchor, days=days)


def missed(numbers: list[int]) -> Message:
    if len(numbers) == 1:
        return message("infusion_missed", n=numbers[0])
    return message("infusions_missed", numbers=listed("list_comma", numbers))
