import pytest

from dosing.dose import cells_text, check_dose


@pytest.mark.parametrize("value, text", [(6.0e9, "6 x10^9"), (1e8, "1 x10^8"), (5e5, "5 x10^5"), (1.25e7, "1.25 x10^7")])
def test_cells_text(value, text):
    assert cells_text(value) == text


def test_dose_is_per_kg_times_weight_on_the_day():
    check = check_dose(weight_kg=60.0, dose_per_kg=1e8, cells_infused=6.0e9, plausible_range=(0.8e8, 1.2e8))
    assert check.computed_dose == pytest.approx(6.0e9)
    assert check.actual_per_kg == pytest.approx(1e8)
    assert check.explanation == "1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg"
    assert check.confirmation_needed == []


@pytest.mark.parametrize(
    "cells, needed",
    [
        (6.6e9, []),                      # exactly 10 % above: accepted
        (5.4e9, []),                      # exactly 10 % below
        (6.61e9, ["6.61 x10^9 cells is 10 % above the computed dose 6 x10^9 cells (more than 10 %)"]),
        (5.0e9, ["5 x10^9 cells is 17 % below the computed dose 6 x10^9 cells (more than 10 %)"]),
    ],
)
def test_dose_more_than_ten_percent_off_needs_confirmation(cells, needed):
    check = check_dose(weight_kg=60.0, dose_per_kg=1e8, cells_infused=cells, plausible_range=None)
    assert check.confirmation_needed == needed


def test_dose_outside_the_plausible_range_needs_confirmation():
    check = check_dose(weight_kg=50.0, dose_per_kg=0.5e6, cells_infused=50.0e6, plausible_range=(0.4e6, 0.6e6))
    assert check.confirmation_needed == [
        "5 x10^7 cells is 100 % above the computed dose 2.5 x10^7 cells (more than 10 %)",
        "1 x10^6 cells/kg is outside the level's plausible range 4 x10^5-6 x10^5 cells/kg",
    ]


def test_cord_blood_unit_without_dose_level_gives_cells_per_kg():
    check = check_dose(weight_kg=62.5, dose_per_kg=None, cells_infused=1.5e9, plausible_range=None)
    assert check.computed_dose is None
    assert check.explanation == "given 1.5 x10^9 cells / 62.5 kg = 2.4 x10^7 cells/kg"


def test_zero_weight_is_refused():
    with pytest.raises(ValueError):
        check_dose(weight_kg=0, dose_per_kg=1e8, cells_infused=None, plausible_range=None)


def test_flat_dose_is_compared_in_cells():
    check = check_dose(weight_kg=60.0, dose_per_kg=None, flat_dose=1e9, cells_infused=1e9, plausible_range=(0.9e9, 1.1e9))
    assert check.computed_dose == 1e9
    assert check.confirmation_needed == []
    assert check.explanation == "flat dose 1 x10^9 cells; given 1 x10^9 cells / 60 kg = 1.667 x10^7 cells/kg"
    off = check_dose(weight_kg=60.0, dose_per_kg=None, flat_dose=1e9, cells_infused=1.2e9, plausible_range=(0.9e9, 1.1e9))
    assert off.confirmation_needed == [
        "1.2 x10^9 cells is 20 % above the computed dose 1 x10^9 cells (more than 10 %)",
        "1.2 x10^9 cells is outside the level's plausible range 9 x10^8-1.1 x10^9 cells"]
