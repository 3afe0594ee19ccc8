"""Dose given vs computed (CLINICAL_RULES.md section 4): the three zones and their boundaries.

Expected zones come from the rule's wording: "within 10 %" includes exactly 10 %; "beyond the
hard limits" (default 0.5x-2x) is strictly outside them, so exactly 0.5x and exactly 2x are
dose deviations, not refusals.
"""
import pytest

from dosing.dose import DEVIATION, REFUSED, UNCHECKED, WITHIN, cells_text, check_dose


@pytest.mark.parametrize("value, text",
                         [(6.0e9, "6 x10^9"), (1e8, "1 x10^8"), (5e5, "5 x10^5"), (1.25e7, "1.25 x10^7")])
def test_cells_text(value, text):
    assert cells_text(value) == text


def test_dose_is_per_kg_times_weight_on_the_day():
    check = check_dose(weight_kg=60.0, dose_per_kg=1e8, cells_infused=6.0e9)
    assert check.computed_dose == pytest.approx(6.0e9)
    assert check.actual_per_kg == pytest.approx(1e8)
    assert check.explanation == ("1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; "
                                 "given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg")
    assert (check.zone, check.problem) == (WITHIN, "")


# 55 kg at 1 x10^6 cells/kg: computed dose 5.5 x10^7 cells.
@pytest.mark.parametrize(
    "cells, zone",
    [
        (5.5e7, WITHIN),
        (6.05e7, WITHIN),        # exactly 10 % above: "within 10 %" is inclusive
        (4.95e7, WITHIN),        # exactly 10 % below
        (6.0500001e7, DEVIATION),  # just beyond 10 %
        (4.9499999e7, DEVIATION),
        (1.1e8, DEVIATION),      # exactly 2x: inside the hard limit
        (2.75e7, DEVIATION),     # exactly 0.5x: inside the hard limit
        (1.1000001e8, REFUSED),  # just above 2x: beyond the hard limit
        (2.7499999e7, REFUSED),  # just below 0.5x
        (6e15, REFUSED),         # the recorded 6 x10^15 cells
    ],
)
def test_dose_zone_at_the_boundaries(cells, zone):
    check = check_dose(weight_kg=55.0, dose_per_kg=1e6, cells_infused=cells)
    assert check.computed_dose == pytest.approx(5.5e7)
    assert check.zone == zone
    assert check.deviation is (zone == DEVIATION) and check.refused is (zone == REFUSED)


@pytest.mark.parametrize(
    "cells, zone, problem",
    [
        (6.6e7, DEVIATION, "6.6 x10^7 cells is 20 % above the computed dose 5.5 x10^7 cells (more than 10 %)"),
        (3.3e7, DEVIATION, "3.3 x10^7 cells is 40 % below the computed dose 5.5 x10^7 cells (more than 10 %)"),
        (6e15, REFUSED, "6 x10^15 cells is 1.091 x10^8x the computed dose: it exceeds the hard limit of 2x the "
                        "computed dose (1.1 x10^8 cells)"),
        (1.65e8, REFUSED, "1.65 x10^8 cells is 3x the computed dose: it exceeds the hard limit of 2x the computed "
                          "dose (1.1 x10^8 cells)"),
        (1.1e7, REFUSED, "1.1 x10^7 cells is 0.2x the computed dose: it is below the hard limit of 0.5x the computed "
                         "dose (2.75 x10^7 cells)"),
    ],
)
def test_dose_problem_names_the_difference_and_the_limit(cells, zone, problem):
    check = check_dose(weight_kg=55.0, dose_per_kg=1e6, cells_infused=cells)
    assert (check.zone, check.problem) == (zone, problem)


@pytest.mark.parametrize("cells, zone", [(7.9e9, REFUSED), (8.0e9, DEVIATION), (1.2e10, DEVIATION), (1.21e10, REFUSED)])
def test_dose_hard_limits_are_per_level(cells, zone):
    # 100 kg at 1 x10^8 cells/kg = 1 x10^10 cells, with hard limits 0.8x-1.2x.
    assert check_dose(weight_kg=100.0, dose_per_kg=1e8, cells_infused=cells, hard_limits=(0.8, 1.2)).zone == zone


@pytest.mark.parametrize("limits", [(1.0, 2.0), (0.5, 1.0), (0.0, 2.0), (1.5, 0.5)])
def test_dose_hard_limits_must_bracket_the_computed_dose(limits):
    with pytest.raises(ValueError, match="0 < low < 1 < high"):
        check_dose(weight_kg=60.0, dose_per_kg=1e8, cells_infused=6e9, hard_limits=limits)


def test_cord_blood_unit_without_dose_level_gives_cells_per_kg_unchecked():
    check = check_dose(weight_kg=62.5, dose_per_kg=None, cells_infused=1.5e9)
    assert check.computed_dose is None
    assert check.zone == UNCHECKED
    assert check.explanation == "given 1.5 x10^9 cells / 62.5 kg = 2.4 x10^7 cells/kg"


def test_no_dose_given_cannot_be_checked():
    # The pure check cannot place a missing dose in a zone; recording such an infusion is refused
    # by `dosing.services.infusion_record` (test_infusion_dose_required.py).
    check = check_dose(weight_kg=60.0, dose_per_kg=1e8, cells_infused=None)
    assert (check.computed_dose, check.zone, check.missing_dose) == (pytest.approx(6e9), UNCHECKED, True)


def test_dose_given_without_a_computed_dose_is_not_missing():
    check = check_dose(weight_kg=60.0, dose_per_kg=None, cells_infused=6e9)
    assert (check.zone, check.missing_dose) == (UNCHECKED, False)


def test_zero_weight_is_refused():
    with pytest.raises(ValueError):
        check_dose(weight_kg=0, dose_per_kg=1e8, cells_infused=None)


@pytest.mark.parametrize("cells, zone", [(1.1e9, WITHIN), (1.2e9, DEVIATION), (2e9, DEVIATION), (2.1e9, REFUSED)])
def test_flat_dose_is_compared_in_cells(cells, zone):
    check = check_dose(weight_kg=60.0, dose_per_kg=None, flat_dose=1e9, cells_infused=cells)
    assert check.computed_dose == 1e9
    assert check.zone == zone
    assert check.explanation.startswith("flat dose 1 x10^9 cells; given ")
