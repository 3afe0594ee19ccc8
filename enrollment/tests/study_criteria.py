"""The built-in studies' eligibility criteria, read from their declarative study files.

``trials/studies/<CODE>.yaml`` (key ``criteria``) is the single source of truth: ``load_studies``
puts it into the database, and the scenario tests read it here, with PyYAML only (no Django), so
that they check exactly the criteria a study ships with. Files are selected as ``load_studies``
does (every ``*.yaml`` but the response criteria sets and the sites), and a criterion's text is stored with its
whitespace collapsed, as the loader stores it.
"""

import copy
from functools import cache
from pathlib import Path

import yaml

from enrollment.eligibility import CriterionSpec

STUDIES_DIR = Path(__file__).resolve().parents[2] / "trials" / "studies"
NOT_STUDIES = ("response_criteria.yaml", "sites.yaml", "catalogues.yaml")


@cache
def _study_files() -> dict[str, dict]:
    studies = {}
    for path in sorted(STUDIES_DIR.glob("*.yaml")):
        if path.name in NOT_STUDIES:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        code = data["code"]
        if code in studies:
            raise ValueError(f"{path.name}: study code {code} is defined twice")
        studies[code] = data
    return studies


def study_codes() -> list[str]:
    """Codes of the studies in ``trials/studies/``, in file-name order."""
    return list(_study_files())


def criterion_rows(study: str) -> list[dict]:
    """The study file's ``criteria`` entries as written (a copy: callers may change it)."""
    return copy.deepcopy(_study_files()[study].get("criteria") or [])


def study_criteria(study: str) -> list[CriterionSpec]:
    """The study's criteria, in file order, as ``evaluate_criteria`` takes them."""
    return [
        CriterionSpec(
            code=row["code"],
            kind=row["kind"],
            text=" ".join(str(row["text"]).split()),
            rule_type=row["rule_type"],
            params=row.get("params", {}),
        )
        for row in criterion_rows(study)
    ]
