"""Unit conversion and physiological ranges (CLINICAL_RULES.md section 7, API.md "Codes")."""

import math
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trials import units
from trials.catalogue import shipped_catalogue
from trials.units import (
    UnitError,
    celsius_from_fahrenheit,
    fahrenheit_from_celsius,
    format_number,
    mixed_range_conflict,
)

# The lab catalogue as shipped (trials/studies/catalogues.yaml): the conversions take it as an argument.
ANALYTES = shipped_catalogue().analytes
to_si = partial(units.to_si, analytes=ANALYTES)
limit_to_si = partial(units.limit_to_si, analytes=ANALYTES)

# analyte -> (SI unit, {accepted unit: factor to SI}) exactly as API.md "Codes" and section 7.
EXPECTED_UNITS = {
    "HGB": ("g/L", {"g/L": 1, "g/dL": 10}),
    "PLT": ("10^9/L", {"10^9/L": 1, "/uL": 0.001, "10^3/uL": 1}),
    "ANC": ("10^9/L", {"10^9/L": 1, "/uL": 0.001, "10^3/uL": 1}),
    "WBC": ("10^9/L", {"10^9/L": 1, "/uL": 0.001, "10^3/uL": 1}),
    "LYM": ("10^9/L", {"10^9/L": 1, "/uL": 0.001, "10^3/uL": 1}),
    "RETIC_PCT": ("%", {"%": 1}),
    "RETIC_ABS": ("10^9/L", {"10^9/L": 1, "/uL": 0.001}),
    "ALT": ("U/L", {"U/L": 1}),
    "AST": ("U/L", {"U/L": 1}),
    "LDH": ("U/L", {"U/L": 1}),
    "TBIL": ("umol/L", {"umol/L": 1, "mg/dL": 17.1}),
    "CREAT": ("umol/L", {"umol/L": 1, "mg/dL": 88.4}),
    "HAPTO": ("g/L", {"g/L": 1, "mg/dL": 0.01}),
}

EXPECTED_RANGES = {
    "HGB": (20, 250),
    "PLT": (0, 2000),
    "ANC": (0, 100),
    "WBC": (0, 500),
    "LYM": (0, 500),
    "RETIC_PCT": (0, 100),
    "RETIC_ABS": (0, 1000),
    "ALT": (0, 10000),
    "AST": (0, 10000),
    "LDH": (0, 20000),
    "TBIL": (0, 1000),
    "CREAT": (0, 3000),
    "HAPTO": (0, 10),
}

ALL_UNITS = [(code, unit) for code, (_, units) in EXPECTED_UNITS.items() for unit in units]


def test_analytes_cover_exactly_the_api_codes():
    assert set(ANALYTES) == set(EXPECTED_UNITS)


@pytest.mark.parametrize("code", sorted(EXPECTED_UNITS))
def test_analyte_definition_matches_api_codes(code):
    analyte = ANALYTES[code]
    si_unit, units = EXPECTED_UNITS[code]

    assert analyte.code == code
    assert analyte.si_unit == si_unit
    assert analyte.units == pytest.approx(units)
    assert analyte.physiological_range == EXPECTED_RANGES[code]
    assert analyte.label


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        # Section 7 conversions.
        ("HGB", 8.6, "g/dL", 86.0),
        ("HGB", 86, "g/L", 86.0),
        ("PLT", 150000, "/uL", 150.0),
        ("PLT", 150, "10^3/uL", 150.0),
        ("PLT", 42, "10^9/L", 42.0),
        ("ANC", 500, "/uL", 0.5),
        ("ANC", 1.5, "10^3/uL", 1.5),
        ("WBC", 4500, "/uL", 4.5),
        ("WBC", 4.5, "10^3/uL", 4.5),
        ("LYM", 1200, "/uL", 1.2),
        ("LYM", 1.2, "10^3/uL", 1.2),
        ("RETIC_PCT", 2.5, "%", 2.5),
        ("RETIC_ABS", 85000, "/uL", 85.0),
        ("RETIC_ABS", 85, "10^9/L", 85.0),
        ("ALT", 40, "U/L", 40.0),
        ("AST", 35, "U/L", 35.0),
        ("LDH", 250, "U/L", 250.0),
        ("TBIL", 1.0, "mg/dL", 17.1),
        ("TBIL", 1.2, "mg/dL", 20.52),
        ("TBIL", 17, "umol/L", 17.0),
        ("CREAT", 1.0, "mg/dL", 88.4),
        ("CREAT", 0.9, "mg/dL", 79.56),
        ("CREAT", 79.6, "umol/L", 79.6),
        ("HAPTO", 150, "mg/dL", 1.5),
        ("HAPTO", 1.5, "g/L", 1.5),
    ],
)
def test_to_si_converts_each_accepted_unit(analyte, value, unit, expected):
    assert to_si(analyte, value, unit) == expected


@pytest.mark.parametrize(("analyte", "unit"), ALL_UNITS)
def test_to_si_applies_the_factor_of_every_accepted_unit(analyte, unit):
    factor = EXPECTED_UNITS[analyte][1][unit]
    low, high = EXPECTED_RANGES[analyte]
    si_value = (low + high) / 4  # well inside the range

    assert to_si(analyte, si_value / factor, unit) == pytest.approx(si_value, abs=1e-4)


@pytest.mark.parametrize(("analyte", "unit"), ALL_UNITS)
def test_to_si_accepts_the_lower_bound_in_every_unit(analyte, unit):
    low = EXPECTED_RANGES[analyte][0]
    factor = EXPECTED_UNITS[analyte][1][unit]
    assert to_si(analyte, low / factor, unit) == pytest.approx(low)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("HGB", 250, "g/L", 250.0),
        ("HGB", 25, "g/dL", 250.0),
        ("PLT", 2000, "10^9/L", 2000.0),
        ("PLT", 2000000, "/uL", 2000.0),
        ("ANC", 100, "10^9/L", 100.0),
        ("CREAT", 3000, "umol/L", 3000.0),
        ("HAPTO", 1000, "mg/dL", 10.0),
    ],
)
def test_to_si_accepts_the_upper_bound_of_the_physiological_range(analyte, value, unit, expected):
    assert to_si(analyte, value, unit) == expected


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "message"),
    [
        (
            "HGB",
            250.1,
            "g/L",
            "Haemoglobin 250.1 g/L is outside the physiological range 20-250 g/L; "
            "check the value and unit.",
        ),
        (
            "HGB",
            260,
            "g/L",
            "Haemoglobin 260 g/L is outside the physiological range 20-250 g/L; "
            "check the value and unit.",
        ),
        (
            "HGB",
            26,
            "g/dL",
            "Haemoglobin 26 g/dL (260 g/L) is outside the physiological range 20-250 g/L; "
            "check the value and unit.",
        ),
        (
            "PLT",
            2001,
            "10^9/L",
            "Platelets 2001 10^9/L is outside the physiological range 0-2000 10^9/L; "
            "check the value and unit.",
        ),
        (
            "PLT",
            2001000,
            "/uL",
            "Platelets 2001000 /uL (2001 10^9/L) is outside the physiological range "
            "0-2000 10^9/L; check the value and unit.",
        ),
        (
            "CREAT",
            40,
            "mg/dL",
            "Creatinine 40 mg/dL (3536 umol/L) is outside the physiological range "
            "0-3000 umol/L; check the value and unit.",
        ),
    ],
)
def test_to_si_refuses_a_value_above_the_physiological_range(analyte, value, unit, message):
    with pytest.raises(UnitError) as excinfo:
        to_si(analyte, value, unit)

    assert excinfo.value.field == "value"
    assert str(excinfo.value) == message
    assert excinfo.value.message == message


@pytest.mark.parametrize(("analyte", "unit"), ALL_UNITS)
def test_to_si_refuses_just_above_the_range_in_every_unit(analyte, unit):
    factor = EXPECTED_UNITS[analyte][1][unit]
    high = EXPECTED_RANGES[analyte][1]

    with pytest.raises(UnitError) as excinfo:
        to_si(analyte, (high + 0.01) / factor, unit)

    assert excinfo.value.field == "value"


@pytest.mark.parametrize(("analyte", "unit"), ALL_UNITS)
def test_to_si_refuses_a_negative_value(analyte, unit):
    with pytest.raises(UnitError) as excinfo:
        to_si(analyte, -1, unit)

    assert excinfo.value.field == "value"
    assert str(excinfo.value) == (
        f"{ANALYTES[analyte].label} -1 {unit} is negative; a measured value cannot be below 0."
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, "12", None, True])
def test_to_si_refuses_a_value_that_is_not_a_number(value):
    with pytest.raises(UnitError) as excinfo:
        to_si("HGB", value, "g/L")

    assert excinfo.value.field == "value"
    assert str(excinfo.value) == f"Haemoglobin: '{value}' is not a number."


@pytest.mark.parametrize(
    ("analyte", "unit", "message"),
    [
        ("HGB", "mg/dL", "Haemoglobin: unit 'mg/dL' is not accepted; use one of g/L, g/dL."),
        (
            "PLT",
            "g/L",
            "Platelets: unit 'g/L' is not accepted; use one of 10^9/L, /uL, 10^3/uL.",
        ),
        ("ALT", "ukat/L", "ALT: unit 'ukat/L' is not accepted; use one of U/L."),
        (
            "RETIC_ABS",
            "10^3/uL",
            "Reticulocytes (absolute): unit '10^3/uL' is not accepted; use one of 10^9/L, /uL.",
        ),
        ("RETIC_PCT", "", "Reticulocytes (%): unit '' is not accepted; use one of %."),
    ],
)
def test_to_si_refuses_an_unknown_unit_naming_the_accepted_units(analyte, unit, message):
    with pytest.raises(UnitError) as excinfo:
        to_si(analyte, 1, unit)

    assert excinfo.value.field == "unit"
    assert str(excinfo.value) == message


@pytest.mark.parametrize("analyte", ["HB", "", "FERRITIN", None])
def test_to_si_refuses_an_unknown_analyte_naming_the_codes(analyte):
    with pytest.raises(UnitError) as excinfo:
        to_si(analyte, 1, "g/L")

    assert excinfo.value.field == "analyte"
    assert str(excinfo.value) == (
        f"Unknown analyte '{analyte}'; use one of HGB, PLT, ANC, WBC, LYM, RETIC_PCT, "
        "RETIC_ABS, ALT, AST, LDH, TBIL, CREAT, HAPTO."
    )


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("hgb", 8.6, "g/dl", 86.0),  # analyte and unit case
        ("PLT", 150000, "/\u00b5L", 150.0),  # micro sign
        ("PLT", 150000, "/\u03bcL", 150.0),  # Greek mu
        ("PLT", 150, " 10^3/uL ", 150.0),
        ("PLT", 150, "x10^9/L", 150.0),
        ("PLT", 150, "\u00d710^9/L", 150.0),
    ],
)
def test_to_si_accepts_common_spellings_of_a_unit(analyte, value, unit, expected):
    assert to_si(analyte, value, unit) == expected


def test_to_si_rounds_to_four_decimals():
    assert to_si("TBIL", 1.23456, "mg/dL") == 21.111  # 21.110976
    assert to_si("HGB", 8.66666, "g/dL") == 86.6666


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        ("ALT", 40, "U/L", 40.0),
        ("TBIL", 1.2, "mg/dL", 20.52),
        ("CREAT", 1.1, "mg/dL", 97.24),
        ("HGB", 16, "g/dL", 160.0),
        ("PLT", 400000, "/uL", 400.0),
        # A limit is not a measured value: no physiological range check.
        ("HGB", 30, "g/dL", 300.0),
    ],
)
def test_limit_to_si_converts_a_reference_limit(analyte, value, unit, expected):
    assert limit_to_si(analyte, value, unit) == expected


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "field"),
    [
        ("ALT", -1, "U/L", "value"),
        ("ALT", 40, "mg/dL", "unit"),
        ("XYZ", 40, "U/L", "analyte"),
    ],
)
def test_limit_to_si_refuses_negative_value_or_unknown_unit_or_analyte(analyte, value, unit, field):
    with pytest.raises(UnitError) as excinfo:
        limit_to_si(analyte, value, unit)

    assert excinfo.value.field == field


@pytest.mark.parametrize(
    ("fahrenheit", "celsius"),
    [(98.6, 37.0), (100.4, 38.0), (102.2, 39.0), (104.0, 40.0), (77.0, 25.0), (113.0, 45.0)],
)
def test_temperature_conversion_both_directions(fahrenheit, celsius):
    assert celsius_from_fahrenheit(fahrenheit) == pytest.approx(celsius, abs=1e-9)
    assert fahrenheit_from_celsius(celsius) == pytest.approx(fahrenheit, abs=1e-9)


@pytest.mark.parametrize(
    ("function", "value", "message"),
    [
        (
            fahrenheit_from_celsius,
            45.1,
            "Body temperature 45.1 deg C is outside the plausible range 25-45 deg C; "
            "check the value and unit.",
        ),
        (
            fahrenheit_from_celsius,
            24.9,
            "Body temperature 24.9 deg C is outside the plausible range 25-45 deg C; "
            "check the value and unit.",
        ),
        (
            celsius_from_fahrenheit,
            37.5,  # deg C typed into a deg F field
            "Body temperature 37.5 deg F (3.06 deg C) is outside the plausible range 25-45 deg "
            "C; check the value and unit.",
        ),
        (
            celsius_from_fahrenheit,
            113.2,
            "Body temperature 113.2 deg F (45.11 deg C) is outside the plausible range 25-45 deg "
            "C; check the value and unit.",
        ),
    ],
)
def test_temperature_outside_body_range_is_refused(function, value, message):
    with pytest.raises(UnitError) as excinfo:
        function(value)

    assert excinfo.value.field == "value"
    assert str(excinfo.value) == message


@pytest.mark.parametrize("value", [None, "37", math.nan])
def test_temperature_that_is_not_a_number_is_refused(value):
    with pytest.raises(UnitError) as excinfo:
        fahrenheit_from_celsius(value)

    assert excinfo.value.field == "value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(250.0, "250"), (1.5, "1.5"), (2.375, "2.38"), (0.0, "0"), (-0.001, "0"), (108.17, "108.17")],
)
def test_format_number_drops_trailing_zeros(value, expected):
    assert format_number(value) == expected


@given(
    st.sampled_from(ALL_UNITS).flatmap(
        lambda pair: st.tuples(
            st.just(pair),
            st.floats(min_value=EXPECTED_RANGES[pair[0]][0], max_value=EXPECTED_RANGES[pair[0]][1], allow_nan=False),
        )
    )
)
def test_to_si_round_trip_property(case):
    (analyte, unit), si_value = case
    factor = EXPECTED_UNITS[analyte][1][unit]

    converted = to_si(analyte, si_value / factor, unit)

    assert converted == pytest.approx(si_value, abs=1e-4)
    assert to_si(analyte, converted, ANALYTES[analyte].si_unit) == converted


@given(st.floats(min_value=25, max_value=45, allow_nan=False))
def test_temperature_round_trip_property(celsius):
    fahrenheit = fahrenheit_from_celsius(celsius)

    assert celsius_from_fahrenheit(fahrenheit) == pytest.approx(celsius, abs=1e-3)


def test_haemoglobin_in_g_dl_entered_as_g_l_is_refused():
    with pytest.raises(UnitError) as excinfo:
        to_si("HGB", 11.2, "g/L")
    assert str(excinfo.value) == (
        "Haemoglobin 11.2 g/L is outside the physiological range 20-250 g/L; check the value and unit.")
    assert to_si("HGB", 20, "g/L") == 20.0


@pytest.mark.parametrize("report_lln, report_uln, site_lln, site_uln, expected", [
    (None, 1.0, 125.0, 350.0, "uln"),  # the report's ULN alone, below the site's LLN
    (400.0, None, 125.0, 350.0, "lln"),  # the report's LLN alone, above the site's ULN
    (None, 125.0, 125.0, 350.0, None),  # touching is a (narrow) range
    (100.0, 1.0, 125.0, 350.0, None),  # both of the report's limits: the site's are not used
    (None, 1.0, None, 350.0, None),  # nothing from the site to cross
    (None, None, 125.0, 350.0, None),
])
def test_mixed_range_conflict_names_the_reports_limit_that_crosses_the_sites(report_lln, report_uln, site_lln,
                                                                             site_uln, expected):
    assert mixed_range_conflict(report_lln, report_uln, site_lln, site_uln) == expected
