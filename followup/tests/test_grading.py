"""Tests for followup/grading.py (CLINICAL_RULES.md section 3, CTCAE v5.0). No database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from followup.grading import CTCAE_V5, grade_lab, suggest_adverse_event

HB_LLN = 120
PLT_LLN = 100
ANC_LLN = 2.0

# --------------------------------------------------------------------------- blood counts

BLOOD_COUNT_BOUNDARIES = [
    # (analyte, value, lln, grade) - "< 75 - 50" includes 50 and excludes 75
    ("HGB", 120, HB_LLN, 0),
    ("HGB", 119, HB_LLN, 1),
    ("HGB", 100, HB_LLN, 1),
    ("HGB", 99.9, HB_LLN, 2),
    ("HGB", 80, HB_LLN, 2),
    ("HGB", 79.9, HB_LLN, 3),
    ("HGB", 40, HB_LLN, 3),  # grade 4 is "life-threatening": clinical, never from the value
    ("PLT", 100, PLT_LLN, 0),
    ("PLT", 99, PLT_LLN, 1),
    ("PLT", 75, PLT_LLN, 1),
    ("PLT", 74, PLT_LLN, 2),
    ("PLT", 50, PLT_LLN, 2),
    ("PLT", 49, PLT_LLN, 3),
    ("PLT", 25, PLT_LLN, 3),
    ("PLT", 24, PLT_LLN, 4),
    ("PLT", 0, PLT_LLN, 4),
    ("ANC", 2.0, ANC_LLN, 0),
    ("ANC", 1.9, ANC_LLN, 1),
    ("ANC", 1.5, ANC_LLN, 1),
    ("ANC", 1.49, ANC_LLN, 2),
    ("ANC", 1.0, ANC_LLN, 2),
    ("ANC", 0.99, ANC_LLN, 3),
    ("ANC", 0.5, ANC_LLN, 3),
    ("ANC", 0.49, ANC_LLN, 4),
]


@pytest.mark.parametrize("analyte, value, lln, grade", BLOOD_COUNT_BOUNDARIES)
def test_grade_lab_blood_count_boundaries(analyte, value, lln, grade):
    result = grade_lab(analyte, value, lln=lln, uln=None)

    assert result.grade == grade


def test_grade_lab_explanation_names_value_bands_and_version():
    result = grade_lab("PLT", 50, lln=PLT_LLN, uln=300)

    assert result.term == "Platelet count decreased"
    assert result.explanation == (
        "PLT 50 x10^9/L -> Platelet count decreased grade 2 (CTCAE v5.0): G1 < LLN (100 x10^9/L): yes; "
        "G2 < 75 x10^9/L: yes; G3 < 50 x10^9/L: no; G4 < 25 x10^9/L: no"
    )


# --------------------------------------------------------------------------- liver

ULN_ALT = 40

LIVER_BOUNDARIES = [
    # (analyte, value, uln, baseline, grade)
    ("ALT", 40, ULN_ALT, None, 0),
    ("ALT", 41, ULN_ALT, None, 1),
    ("ALT", 120, ULN_ALT, None, 1),
    ("ALT", 121, ULN_ALT, None, 2),
    ("ALT", 200, ULN_ALT, None, 2),
    ("ALT", 201, ULN_ALT, None, 3),
    ("ALT", 800, ULN_ALT, None, 3),
    ("ALT", 801, ULN_ALT, None, 4),
    ("AST", 121, ULN_ALT, 30, 2),  # normal baseline: still multiples of ULN
    # abnormal baseline 100 (> ULN 40): multiples of baseline; grade 1 from 1.5 x baseline (CTCAE)
    ("ALT", 149, ULN_ALT, 100, 0),
    ("ALT", 150, ULN_ALT, 100, 1),
    ("ALT", 300, ULN_ALT, 100, 1),
    ("ALT", 301, ULN_ALT, 100, 2),
    ("AST", 500, ULN_ALT, 100, 2),
    ("AST", 501, ULN_ALT, 100, 3),
    ("AST", 2000, ULN_ALT, 100, 3),
    ("AST", 2001, ULN_ALT, 100, 4),
    # bilirubin, ULN 17.1 umol/L: 1.5 x = 25.65, 3 x = 51.3, 10 x = 171
    ("TBIL", 17.1, 17.1, None, 0),
    ("TBIL", 17.2, 17.1, None, 1),
    ("TBIL", 25.65, 17.1, None, 1),
    ("TBIL", 25.66, 17.1, None, 2),
    ("TBIL", 51.3, 17.1, None, 2),
    ("TBIL", 51.31, 17.1, None, 3),
    ("TBIL", 171, 17.1, None, 3),
    ("TBIL", 171.1, 17.1, None, 4),
    # bilirubin with abnormal baseline 40: "> 1.0 - 1.5 x baseline" is grade 1
    ("TBIL", 40, 17.1, 40, 0),
    ("TBIL", 40.1, 17.1, 40, 1),
    ("TBIL", 60, 17.1, 40, 1),
    ("TBIL", 60.1, 17.1, 40, 2),
    ("TBIL", 400.1, 17.1, 40, 4),
]


@pytest.mark.parametrize("analyte, value, uln, baseline, grade", LIVER_BOUNDARIES)
def test_grade_lab_liver_boundaries(analyte, value, uln, baseline, grade):
    result = grade_lab(analyte, value, lln=None, uln=uln, baseline=baseline)

    assert result.grade == grade


def test_grade_lab_abnormal_baseline_is_explained():
    result = grade_lab("ALT", 301, lln=None, uln=ULN_ALT, baseline=100)

    assert "baseline 100 > ULN 40, so multiples of baseline" in result.explanation
    assert "G2 > 3 x baseline (300 U/L): yes" in result.explanation


# --------------------------------------------------------------------------- creatinine

CREATININE_BOUNDARIES = [
    # (value, uln, baseline, grade)
    (100, 100, None, 0),
    (101, 100, None, 1),
    (150, 100, None, 1),
    (151, 100, None, 2),
    (300, 100, None, 2),
    (301, 100, None, 3),
    (600, 100, None, 3),
    (601, 100, None, 4),
    (90, 100, 60, 0),  # 1.5 x baseline exactly: not above it
    (91, 100, 60, 2),  # > 1.5 x baseline, below ULN: grade 2 by baseline
    (180, 100, 60, 2),
    (181, 100, 60, 3),  # > 3 x baseline
    (601, 100, 60, 4),  # > 6 x ULN wins over the baseline grade
]


@pytest.mark.parametrize("value, uln, baseline, grade", CREATININE_BOUNDARIES)
def test_grade_lab_creatinine_boundaries(value, uln, baseline, grade):
    result = grade_lab("CREAT", value, lln=None, uln=uln, baseline=baseline)

    assert result.grade == grade


# --------------------------------------------------------------------------- fever

FEVER_BOUNDARIES = [
    # (deg C, duration hours, grade)
    (37.9, None, 0),
    (38.0, None, 1),
    (39.0, None, 1),
    (39.1, None, 2),
    (40.0, None, 2),
    (40.1, None, 3),
    (40.1, 24, 3),
    (40.1, 24.5, 4),
    (40.0, 48, 2),  # the duration only matters above 40.0
]


@pytest.mark.parametrize("value, hours, grade", FEVER_BOUNDARIES)
def test_grade_lab_fever_boundaries(value, hours, grade):
    result = grade_lab("TEMP", value, lln=None, uln=None, duration_hours=hours)

    assert result.grade == grade
    assert result.term == "Fever"


def test_grade_lab_fever_without_duration_says_so():
    result = grade_lab("TEMP", 40.5, lln=None, uln=None)

    assert "duration not given" in result.explanation


# --------------------------------------------------------------------------- errors


def test_grade_lab_unknown_analyte_raises():
    with pytest.raises(ValueError, match="no grading rule for analyte 'XYZ'"):
        grade_lab("XYZ", 1, lln=1, uln=2)


def test_grade_lab_missing_lln_raises():
    with pytest.raises(ValueError, match="LLN is needed"):
        grade_lab("PLT", 50, lln=None, uln=300)


# --------------------------------------------------------------------------- suggestions

SUGGESTIONS = [
    # (analyte, value, baseline value, suggested grade or None)
    ("PLT", 20, 22, None),  # grade 4 at baseline and now: nothing new
    ("PLT", 40, 60, 3),  # baseline grade 2, now grade 3
    ("PLT", 60, 40, None),  # better than baseline
    ("PLT", 74, 75, 2),  # 75 is grade 1, 74 grade 2
    ("HGB", 79, 85, 3),
    ("HGB", 85, 85, None),
    ("ANC", 0.4, 0.6, 4),
    ("ANC", 0.6, None, 3),  # no baseline: every grade >= 1
]


@pytest.mark.parametrize("analyte, value, baseline, grade", SUGGESTIONS)
def test_suggest_adverse_event_blood_counts_only_when_worse_than_baseline(analyte, value, baseline, grade):
    lln = {"HGB": HB_LLN, "PLT": PLT_LLN, "ANC": ANC_LLN}[analyte]

    suggestion = suggest_adverse_event(analyte, value, lln=lln, uln=None, baseline_value=baseline)

    if grade is None:
        assert suggestion is None
    else:
        assert suggestion is not None and suggestion.grade == grade


def test_suggest_adverse_event_blood_count_explains_baseline_grade():
    suggestion = suggest_adverse_event("PLT", 40, lln=PLT_LLN, uln=None, baseline_value=60)

    assert suggestion.baseline_grade == 2
    assert suggestion.explanation.endswith("Worse than baseline grade 2 (PLT 60 x10^9/L).")


LIVER_RENAL_SUGGESTIONS = [
    ("ALT", 41, 40, None, 1),
    ("ALT", 40, 40, None, None),
    ("ALT", 140, 40, 100, None),  # 1.4 x abnormal baseline: grade 0
    ("ALT", 150, 40, 100, 1),
    ("CREAT", 91, 100, 60, 2),
    ("TBIL", 17.1, 17.1, None, None),
    ("TEMP", 38.0, None, None, 1),
]


@pytest.mark.parametrize("analyte, value, uln, baseline, grade", LIVER_RENAL_SUGGESTIONS)
def test_suggest_adverse_event_liver_renal_fever_from_grade_1(analyte, value, uln, baseline, grade):
    suggestion = suggest_adverse_event(analyte, value, lln=None, uln=uln, baseline_value=baseline)

    if grade is None:
        assert suggestion is None
    else:
        assert suggestion is not None and suggestion.grade == grade and suggestion.baseline_grade is None


# --------------------------------------------------------------------------- properties


@given(
    analyte=st.sampled_from(["PLT", "ANC", "HGB"]),
    a=st.floats(min_value=0, max_value=300, allow_nan=False),
    b=st.floats(min_value=0, max_value=300, allow_nan=False),
)
def test_grade_lab_lower_count_never_grades_better(analyte, a, b):
    lln = {"HGB": HB_LLN, "PLT": PLT_LLN, "ANC": ANC_LLN}[analyte]
    low, high = sorted((a, b))

    assert grade_lab(analyte, low, lln=lln, uln=None).grade >= grade_lab(analyte, high, lln=lln, uln=None).grade


@given(
    analyte=st.sampled_from(["ALT", "AST", "TBIL", "CREAT"]),
    a=st.floats(min_value=0, max_value=5000, allow_nan=False),
    b=st.floats(min_value=0, max_value=5000, allow_nan=False),
    baseline=st.one_of(st.none(), st.floats(min_value=1, max_value=500, allow_nan=False)),
)
def test_grade_lab_higher_chemistry_never_grades_better(analyte, a, b, baseline):
    low, high = sorted((a, b))

    g_low = grade_lab(analyte, low, uln=40, baseline=baseline).grade
    g_high = grade_lab(analyte, high, uln=40, baseline=baseline).grade

    assert 0 <= g_low <= g_high <= 4


@given(
    analyte=st.sampled_from(["PLT", "ANC", "HGB"]),
    value=st.floats(min_value=0, max_value=300, allow_nan=False),
    baseline=st.floats(min_value=0, max_value=300, allow_nan=False),
)
def test_suggest_adverse_event_blood_count_grade_always_worse_than_baseline(analyte, value, baseline):
    lln = {"HGB": HB_LLN, "PLT": PLT_LLN, "ANC": ANC_LLN}[analyte]

    suggestion = suggest_adverse_event(analyte, value, lln=lln, uln=None, baseline_value=baseline)

    if suggestion is not None:
        assert suggestion.grade > suggestion.baseline_grade


def test_ctcae_v5_table_is_versioned_data():
    assert CTCAE_V5.version == "CTCAE v5.0"
    assert set(CTCAE_V5.terms) == {"HGB", "PLT", "ANC", "ALT", "AST", "TBIL", "CREAT", "TEMP"}
