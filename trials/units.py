"""Lab analytes, accepted units and conversion to SI (``CLINICAL_RULES.md`` section 7).

Pure module: no ORM, no clock (messages are worded in the active language, through gettext).
Every lab value is stored in the SI unit of its analyte
(``API.md`` "Codes") together with the value and unit as entered; a value outside the analyte's
physiological range is refused with a message a coordinator can act on, never stored.

The analytes are data: the lab catalogue an administrator edits (``trials.catalogue_models``,
loaded from ``trials/studies/catalogues.yaml``). Every function that needs them takes the
catalogue, a mapping code -> ``Analyte``, as its ``analytes`` argument (``trials.catalogues.
current().analytes`` in the application), so that this module holds no state that could go stale
and its tests need no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .catalogue_names import shown_name

__all__ = [
    "BODY_TEMPERATURE_RANGE_C",
    "Analyte",
    "DefaultRange",
    "UnitError",
    "celsius_from_fahrenheit",
    "fahrenheit_from_celsius",
    "format_number",
    "limit_to_si",
    "normalise_unit",
    "to_si",
]


@dataclass(frozen=True)
class DefaultRange:
    """A normal range of the catalogue, in SI, for a sex (``any``, ``male``, ``female``) and an
    inclusive age band: what applies when the site's laboratory has given none. Its attributes are
    those of a site's ``ReferenceRange``, so that one resolution serves both."""

    analyte: str
    sex: str
    min_age_years: int
    max_age_years: int
    lln: float | None
    uln: float | None


@dataclass(frozen=True)
class Analyte:
    """One analyte: its SI unit, the units accepted at entry and its physiological range.

    ``units`` maps each accepted unit to the multiplicative factor that converts it to SI
    (the SI unit itself has factor 1). ``physiological_range`` is inclusive, in SI.
    ``default_ranges`` are the catalogue's normal ranges by sex and age band.
    """

    code: str
    label: str
    si_unit: str
    units: dict[str, float]
    physiological_range: tuple[float, float]
    default_ranges: tuple[DefaultRange, ...] = ()

    @property
    def accepted_units(self) -> tuple[str, ...]:
        return tuple(self.units)


BODY_TEMPERATURE_RANGE_C: tuple[float, float] = (25.0, 45.0)


class UnitError(ValueError):
    """A lab value, unit or analyte that cannot be accepted.

    ``field`` names what is wrong: ``"analyte"``, ``"unit"`` or ``"value"``, so that a form or the
    API can attach the message to the right input.
    """

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def format_number(x: float, decimals: int = 2) -> str:
    """``x`` with at most ``decimals`` decimals and no trailing zeros (250.0 -> "250")."""
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def normalise_unit(unit: str) -> str:
    """Tidy a unit as typed: spaces dropped, micro sign -> ``u``, ``x10^9/L``-style prefixes."""
    return (
        str(unit)
        .strip()
        .replace(" ", "")
        .replace("\u00b5", "u")  # micro sign
        .replace("\u03bc", "u")  # Greek mu
        .replace("\u00d7", "x")
        .removeprefix("x")
    )


def _get_analyte(code: str, analytes: Mapping[str, Analyte]) -> Analyte:
    analyte = analytes.get(str(code).strip().upper()) if code is not None else None
    if analyte is None:
        raise UnitError(_("Unknown analyte '%(code)s'; use one of %(codes)s.") % {
            "code": code, "codes": ", ".join(analytes)}, field="analyte")
    return analyte


def _label(analyte: Analyte) -> str:
    """The analyte's name in the reader's language (a shipped catalogue name is translated)."""
    return str(shown_name(analyte.label))


def _factor(analyte: Analyte, unit: str) -> float:
    wanted = normalise_unit(unit).lower()
    for accepted, factor in analyte.units.items():
        if accepted.lower() == wanted:
            return factor
    raise UnitError(_("%(analyte)s: unit '%(unit)s' is not accepted; use one of %(units)s.") % {
        "analyte": _label(analyte), "unit": unit, "units": ", ".join(analyte.units)}, field="unit")


def _check_number(analyte: Analyte, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnitError(_("%(analyte)s: '%(value)s' is not a number.") % {"analyte": _label(analyte), "value": value},
                        field="value")
    return float(value)


def _convert(analyte_code: str, value, unit: str, analytes: Mapping[str, Analyte]) -> tuple[Analyte, float, float]:
    analyte = _get_analyte(analyte_code, analytes)
    factor = _factor(analyte, unit)
    number = _check_number(analyte, value)
    if number < 0:
        raise UnitError(_("%(analyte)s %(value)s %(unit)s is negative; a measured value cannot be below 0.") % {
            "analyte": _label(analyte), "value": format_number(number, 4), "unit": unit}, field="value")
    return analyte, number, round(number * factor, 4)


def _as_entered(analyte: Analyte, number: float, unit: str, si: float) -> str:
    shown = f"{format_number(number, 4)} {unit}"
    if normalise_unit(unit).lower() != analyte.si_unit.lower():
        shown += f" ({format_number(si, 4)} {analyte.si_unit})"
    return shown


def to_si(analyte: str, value: float, unit: str, *, analytes: Mapping[str, Analyte]) -> float:
    """Convert ``value`` entered in ``unit`` to the SI unit of ``analyte`` (section 7).

    Raises ``UnitError`` for an unknown analyte or unit (the message lists the accepted ones),
    a value that is not a number or is negative, or an SI value outside the analyte's
    physiological range (inclusive bounds). Returns the SI value rounded to 4 decimals.
    """
    found, number, si = _convert(analyte, value, unit, analytes)
    low, high = found.physiological_range
    if not low <= si <= high:
        raise UnitError(_("%(analyte)s %(entered)s is outside the physiological range %(low)s-%(high)s %(unit)s; "
                          "check the value and unit.") % {
            "analyte": _label(found), "entered": _as_entered(found, number, unit, si), "low": format_number(low),
            "high": format_number(high), "unit": found.si_unit}, field="value")
    return si


def limit_to_si(analyte: str, value: float, unit: str, *, analytes: Mapping[str, Analyte]) -> float:
    """Convert a reference limit (LLN or ULN) to SI: same conversion as ``to_si``, no range check
    other than refusing a negative limit."""
    return _convert(analyte, value, unit, analytes)[2]


def _check_temperature(celsius: float, shown: str) -> None:
    low, high = BODY_TEMPERATURE_RANGE_C
    if not low <= celsius <= high:
        raise UnitError(_("Body temperature %(entered)s is outside the plausible range %(low)s-%(high)s deg C; "
                          "check the value and unit.") % {
            "entered": shown, "low": format_number(low), "high": format_number(high)}, field="value")


def _temperature_number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnitError(_("Body temperature: '%(value)s' is not a number.") % {"value": value}, field="value")
    return float(value)


def celsius_from_fahrenheit(f: float) -> float:
    """deg C from deg F (deg F = deg C x 9/5 + 32, section 7); refuses a body temperature outside
    25-45 deg C. Rounded to 4 decimals."""
    f = _temperature_number(f)
    c = round((f - 32.0) * 5.0 / 9.0, 4)
    _check_temperature(c, f"{format_number(f)} deg F ({format_number(c)} deg C)")
    return c


def fahrenheit_from_celsius(c: float) -> float:
    """deg F from deg C (deg F = deg C x 9/5 + 32, section 7); refuses a body temperature outside
    25-45 deg C. Rounded to 4 decimals."""
    c = _temperature_number(c)
    _check_temperature(c, f"{format_number(c)} deg C")
    return round(c * 9.0 / 5.0 + 32.0, 4)


def mixed_range_conflict(report_lln: float | None, report_uln: float | None,
                         site_lln: float | None, site_uln: float | None) -> str | None:
    """Which of the report's limits contradicts the site's range that completes it (all in SI).

    A lab report giving one limit only is completed with the site's other limit; when the two
    cross (the report's upper limit below the site's lower limit, or its lower limit above the
    site's upper limit), the range would be upside down. Returns "uln" or "lln" (the report's
    limit at fault), or None when the range holds.
    """
    if report_lln is None and report_uln is not None and site_lln is not None and report_uln < site_lln:
        return "uln"
    if report_uln is None and report_lln is not None and site_uln is not None and report_lln > site_uln:
        return "lln"
    return None


def mixed_range_message(code: str, conflict: str, report_lln, report_uln, site_lln, site_uln) -> str:
    """The refusal of a `mixed_range_conflict`, for the report's limit at fault."""
    if conflict == "uln":
        return _("%(code)s: the upper limit of normal %(uln)s is below the site's lower limit %(lln)s (SI); give the "
                 "report's lower limit too.") % {"code": code, "uln": f"{report_uln:g}", "lln": f"{site_lln:g}"}
    return _("%(code)s: the lower limit of normal %(lln)s is above the site's upper limit %(uln)s (SI); give the "
             "report's upper limit too.") % {"code": code, "lln": f"{report_lln:g}", "uln": f"{site_uln:g}"}
