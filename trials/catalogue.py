"""The catalogues as plain values: diseases, prior therapies and lab analytes (issue "Catalogues as
data"; `trials/studies/catalogues.yaml`).

Pure module: no ORM, no clock. An administrator edits the catalogues in the admin
(`trials.catalogue_models`); `trials.catalogues.current()` gives the application an immutable
`Catalogue` built from those rows, and the pure rules (`trials.units`, `trials.rule_params`) take
it as an argument. `catalogue_from_data` reads the file's shape, for the tests of those rules.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from .units import Analyte, DefaultRange

__all__ = ["LINEAGES", "Catalogue", "DiseaseEntry", "TherapyEntry", "catalogue_from_data", "shipped_catalogue"]

SHIPPED_FILE = Path(__file__).resolve().parent / "studies" / "catalogues.yaml"

# The blood lineages a response engine follows (CLINICAL_RULES.md sections 1-2).
LINEAGES = ("platelets", "red_cells", "neutrophils")


@dataclass(frozen=True)
class DiseaseEntry:
    code: str
    name: str
    lineages: tuple[str, ...]
    response_criteria: str | None  # the code of the criteria set a study uses by default


@dataclass(frozen=True)
class TherapyEntry:
    code: str
    name: str
    therapy_class: str


@dataclass(frozen=True)
class Catalogue:
    """Every catalogue, by code, in display order."""

    diseases: Mapping[str, DiseaseEntry] = field(default_factory=dict)
    therapies: Mapping[str, TherapyEntry] = field(default_factory=dict)
    analytes: Mapping[str, Analyte] = field(default_factory=dict)

    def disease_name(self, code: str) -> str:
        entry = self.diseases.get(code)
        return entry.name if entry else code

    def therapy_name(self, code: str) -> str:
        entry = self.therapies.get(code)
        return entry.name if entry else code


def analyte_from_data(row: dict) -> Analyte:
    """An `Analyte` from a row of the file: code, name, si_unit, units {unit: factor},
    plausible_range [low, high], reference_ranges [{sex, min_age_years, max_age_years, lln, uln}]."""
    code = row["code"]
    low, high = row["plausible_range"]
    return Analyte(
        code=code,
        label=row["name"],
        si_unit=row["si_unit"],
        units={row["si_unit"]: 1.0, **{unit: float(factor) for unit, factor in (row.get("units") or {}).items()}},
        physiological_range=(float(low), float(high)),
        default_ranges=tuple(
            DefaultRange(analyte=code, sex=ref.get("sex", "any"), min_age_years=ref.get("min_age_years", 0),
                         max_age_years=ref.get("max_age_years", 150), lln=ref.get("lln"), uln=ref.get("uln"))
            for ref in row.get("reference_ranges") or ()
        ),
    )


def catalogue_from_data(data: dict) -> Catalogue:
    """The `Catalogue` a file of the shape of `trials/studies/catalogues.yaml` describes."""
    return Catalogue(
        diseases={row["code"]: DiseaseEntry(code=row["code"], name=row["name"], lineages=tuple(row["lineages"]),
                                            response_criteria=row.get("response_criteria"))
                  for row in data.get("diseases") or ()},
        therapies={row["code"]: TherapyEntry(code=row["code"], name=row["name"], therapy_class=row["class"])
                   for row in data.get("therapies") or ()},
        analytes={row["code"]: analyte_from_data(row) for row in data.get("analytes") or ()},
    )


@cache
def shipped_catalogue() -> Catalogue:
    """The catalogues as shipped (`trials/studies/catalogues.yaml`), before any administrator's
    change: for rules evaluated outside the application (their tests), never for its pages."""
    return catalogue_from_data(yaml.safe_load(SHIPPED_FILE.read_text(encoding="utf-8")))
