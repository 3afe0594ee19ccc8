"""Prednisone equivalents (CLINICAL_RULES.md section 1: prednisone 5 mg = prednisolone 5 =
methylprednisolone 4 = dexamethasone 0.75). No database."""
from decimal import Decimal

import pytest

from followup.models import SteroidDrug
from followup.steroids import STEROID_DRUGS, prednisone_equivalent

EQUIVALENTS = [
    # (drug, mg/day of the drug, prednisone-equivalent mg/day)
    ("prednisone", 5, Decimal("5.00")),
    ("prednisone", 12.5, Decimal("12.50")),
    ("prednisolone", 5, Decimal("5.00")),
    ("methylprednisolone", 4, Decimal("5.00")),
    ("methylprednisolone", 8, Decimal("10.00")),
    ("methylprednisolone", 2, Decimal("2.50")),
    ("dexamethasone", 0.75, Decimal("5.00")),
    ("dexamethasone", 1.5, Decimal("10.00")),
    ("dexamethasone", 2, Decimal("13.33")),  # 2 x 5 / 0.75 = 13.333...
    ("dexamethasone", 40, Decimal("266.67")),
    ("prednisone", 0, Decimal("0.00")),
]


@pytest.mark.parametrize("drug, mg, equivalent", EQUIVALENTS)
def test_prednisone_equivalent_of_each_drug(drug, mg, equivalent):
    assert prednisone_equivalent(drug, mg) == equivalent


@pytest.mark.parametrize("drug, mg", [("hydrocortisone", 20), ("prednisone", -1), ("prednisone", "nan")])
def test_prednisone_equivalent_refuses_unknown_drug_or_bad_dose(drug, mg):
    with pytest.raises(ValueError):
        prednisone_equivalent(drug, mg)


def test_the_recorded_drugs_are_the_converted_ones():
    assert tuple(SteroidDrug.values) == STEROID_DRUGS
