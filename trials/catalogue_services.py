"""Writes of the catalogues from their file (`trials/studies/catalogues.yaml`), with the loader's
rules: rows matched on their codes, missing ones created, changed ones kept and reported (or
updated with `update`), none deleted."""
from __future__ import annotations

from django.utils.translation import gettext as _

from .catalogue_models import Analyte, AnalyteReferenceRange, AnalyteUnit, Disease, Therapy
from .loading import LoadReport, StudyDefinitionError, _report_extra, _upsert
from .models import ResponseCriteriaSet


def catalogues_load(data: dict, *, by, reason: str, report: LoadReport) -> None:
    """The diseases, prior therapies and lab analytes (with accepted units and default ranges) of
    `catalogues.yaml`, matched on their codes (a unit on analyte and unit, a range on analyte, sex
    and age band); their order is the file's."""
    criteria_sets = {c.code: c for c in ResponseCriteriaSet.objects.all()}
    for order, row in enumerate(data.get("diseases") or [], start=1):
        criteria = row.get("response_criteria")
        if criteria is not None and criteria not in criteria_sets:
            raise StudyDefinitionError(_("disease %(code)s: unknown response criteria set %(set)r.") % {
                "code": row["code"], "set": criteria})
        _upsert(Disease, key={"code": row["code"]},
                values={"name": row["name"], "lineages": list(row.get("lineages") or []),
                        "response_criteria": criteria_sets.get(criteria), "order": order},
                by=by, reason=reason, report=report, label=f"disease {row['code']}")
    for order, row in enumerate(data.get("therapies") or [], start=1):
        _upsert(Therapy, key={"code": row["code"]},
                values={"name": row["name"], "therapy_class": row["class"], "order": order},
                by=by, reason=reason, report=report, label=f"therapy {row['code']}")
    for order, row in enumerate(data.get("analytes") or [], start=1):
        code = row["code"]
        low, high = row["plausible_range"]
        analyte = _upsert(Analyte, key={"code": code},
                          values={"name": row["name"], "si_unit": row["si_unit"], "plausible_low": float(low),
                                  "plausible_high": float(high), "order": order},
                          by=by, reason=reason, report=report, label=f"analyte {code}")
        units = row.get("units") or {}
        for unit, factor in units.items():
            _upsert(AnalyteUnit, key={"analyte": analyte, "unit": unit}, values={"factor": float(factor)},
                    by=by, reason=reason, report=report, label=f"analyte {code} unit {unit}")
        _report_extra(report, f"analyte {code} unit", analyte.units.exclude(unit__in=list(units)), "unit")
        for ref in row.get("reference_ranges") or []:
            sex, low_age = ref.get("sex", "any"), ref.get("min_age_years", 0)
            _upsert(AnalyteReferenceRange, key={"analyte": analyte, "sex": sex, "min_age_years": low_age},
                    values={"max_age_years": ref.get("max_age_years", 150), "lln": ref.get("lln"),
                            "uln": ref.get("uln")},
                    by=by, reason=reason, report=report,
                    label=f"analyte {code} default reference range {sex} from {low_age} y")
    for model, key in ((Disease, "diseases"), (Therapy, "therapies"), (Analyte, "analytes")):
        listed = [row["code"] for row in data.get(key) or []]
        _report_extra(report, model._meta.model_name, model.objects.exclude(code__in=listed), "code")
