"""Laboratory values as entered (value, unit, the report's limits) and their conversion to SI
(CLINICAL_RULES.md section 7, `trials/units.py`), shared by screening and follow-up assessments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from . import catalogues
from .errors import Errors
from .units import UnitError, limit_to_si, to_si


@dataclass
class LabInput:
    analyte: str
    value: float
    unit: str
    lln: float | None = None
    uln: float | None = None
    date: date | None = None


def convert_labs(labs: list[LabInput], errors: Errors) -> list[dict]:
    """Labs in SI with the value as entered; every problem named by its path."""
    converted, seen = [], {}
    analytes = catalogues.current().analytes
    for index, lab in enumerate(labs):
        path = f"labs.{index}"
        code = str(lab.analyte or "").strip().upper()
        if code in seen:
            errors.add(f"{path}.analyte", _("%(code)s is given twice (also labs.%(other)d).") % {
                "code": code, "other": seen[code]})
            continue
        seen[code] = index
        try:
            value = to_si(code, lab.value, lab.unit, analytes=analytes)
            lln = limit_to_si(code, lab.lln, lab.unit, analytes=analytes) if lab.lln is not None else None
            uln = limit_to_si(code, lab.uln, lab.unit, analytes=analytes) if lab.uln is not None else None
        except UnitError as exc:
            errors.add(f"{path}.{exc.field}", exc.message)
            continue
        if lln is not None and uln is not None and lln > uln:
            errors.add(f"{path}.uln", _("The upper limit of normal is below the lower limit."))
            continue
        converted.append({"analyte": code, "value": value, "entered_value": float(lab.value),
                          "entered_unit": lab.unit, "report_lln": lln, "report_uln": uln, "sampled_on": lab.date})
    return converted


def range_source_shown(source: str) -> str:
    """Where a lab value's reference range came from (`LabValue.range_source`: "report", "site",
    "catalogue", or two of them joined by "+") in the reader's language; an unknown code as stored."""
    names = {"report": _("the report"), "site": _("the site's range"), "catalogue": _("the lab catalogue")}
    parts = str(source or "").split("+")
    if not all(part in names for part in parts):
        return source
    return _(" and ").join(names[part] for part in parts)
