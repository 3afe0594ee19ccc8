"""Eligibility rules and the three studies' criteria (CLINICAL_RULES.md section 5)."""

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from enrollment.eligibility import (
    CriterionOutcome,
    CriterionSpec,
    EligibilityResult,
    Facts,
    Lab,
    PriorTherapy,
    RuleResult,
    age_in_years,
    creatinine_clearance,
    evaluate_criteria,
    evaluate_rule,
    whole_months,
)
from enrollment.tests.study_criteria import criterion_rows, study_codes, study_criteria
from trials.catalogue import shipped_catalogue
from trials.rule_params import RULE_TYPES, RuleParamsError, validate_params

SCREENING = date(2026, 3, 2)


def rule(rule_type: str, **params) -> dict:
    """A nested rule as stored in params: ``{"rule_type": ..., "params": {...}}``."""
    return {"rule_type": rule_type, "params": params}


def make_facts(**changes) -> Facts:
    """Facts with a screening date; everything else not recorded unless given."""
    return replace(Facts(screening_date=SCREENING), **changes)


def born_aged(years: int, *, days_before_birthday: int = 0) -> date:
    """Birth date of someone exactly ``years`` old on the screening date (their birthday), or
    that many days before turning ``years``."""
    return SCREENING.replace(year=SCREENING.year - years) + timedelta(days=days_before_birthday)


def condition_rule(name: str, value: bool = True) -> dict:
    return rule("condition", name=name, value=value)


def not_applicable_rule() -> dict:
    """Applies only to AIHA; tests that use it record the disease ITP."""
    return rule("when_disease", diseases=["AIHA"], rule=condition_rule("x"))


# ------------------------------------------------------------------------------------------------
# Age
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (date(2008, 3, 2), date(2026, 3, 2), 18),  # 18th birthday
        (date(2008, 3, 2), date(2026, 3, 1), 17),  # the day before
        (date(2008, 3, 2), date(2026, 3, 3), 18),
        (date(2008, 3, 2), date(2008, 3, 2), 0),
        (date(1979, 5, 14), date(2026, 3, 2), 46),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # no 29 Feb in 2026: birthday is 1 March
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2028, 2, 28), 19),
        (date(2008, 2, 29), date(2028, 2, 29), 20),  # leap year: on 29 February itself
        (date(2007, 12, 31), date(2025, 12, 31), 18),
        (date(2008, 1, 1), date(2025, 12, 31), 17),
    ],
)
def test_age_in_years_counts_whole_years(birth, on, expected):
    assert age_in_years(birth, on) == expected


def test_age_in_years_before_birth_raises():
    with pytest.raises(ValueError):
        age_in_years(date(2020, 1, 2), date(2020, 1, 1))


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    first=st.integers(min_value=0, max_value=40000),
    extra=st.integers(min_value=0, max_value=40000),
)
def test_age_in_years_is_monotonic(birth, first, extra):
    earlier = birth + timedelta(days=first)
    later = earlier + timedelta(days=extra)

    assert 0 <= age_in_years(birth, earlier) <= age_in_years(birth, later)


@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    years=st.integers(min_value=1, max_value=120),
)
def test_age_in_years_increases_on_the_birthday(birth, years):
    assume(not (birth.month == 2 and birth.day == 29))
    birthday = birth.replace(year=birth.year + years)

    assert age_in_years(birth, birthday) == years
    assert age_in_years(birth, birthday - timedelta(days=1)) == years - 1


# ------------------------------------------------------------------------------------------------
# Months
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 11, 2), date(2026, 3, 2), 4),
        (date(2025, 11, 3), date(2026, 3, 2), 3),
        (date(2026, 3, 2), date(2026, 3, 2), 0),
        (date(2026, 1, 31), date(2026, 2, 28), 0),
        (date(2026, 1, 31), date(2026, 3, 1), 1),
        (date(2024, 11, 1), date(2026, 3, 2), 16),
    ],
)
def test_whole_months_counts_complete_months(start, end, expected):
    assert whole_months(start, end) == expected


def test_whole_months_end_before_start_raises():
    with pytest.raises(ValueError):
        whole_months(date(2026, 3, 2), date(2026, 3, 1))


# ------------------------------------------------------------------------------------------------
# Creatinine clearance arithmetic
# ------------------------------------------------------------------------------------------------


def test_creatinine_clearance_male_check_value():
    clearance, explanation = creatinine_clearance(
        age_years=40, sex="male", weight_kg=70, height_cm=None, creatinine_umol_l=79.6
    )

    assert clearance == 108.0
    assert explanation == (
        "Cockcroft-Gault (male, 40 y): (140 - 40) x 70 kg x 1.2278 (88.4/72) / 79.6 umol/L "
        "= 108 mL/min"
    )


def test_creatinine_clearance_female_check_value():
    clearance, explanation = creatinine_clearance(
        age_years=60, sex="female", weight_kg=55, height_cm=None, creatinine_umol_l=88.4
    )

    assert clearance == 51.9
    assert explanation == (
        "Cockcroft-Gault (female, 60 y): (140 - 60) x 55 kg x 1.0436 (0.85 x 88.4/72) / "
        "88.4 umol/L = 51.9 mL/min"
    )


def test_creatinine_clearance_child_uses_bedside_schwartz():
    clearance, explanation = creatinine_clearance(
        age_years=10, sex=None, weight_kg=None, height_cm=140, creatinine_umol_l=50
    )

    assert clearance == 102.2
    assert explanation == (
        "bedside Schwartz (age 10 y, under 18): 36.5 x 140 cm / 50 umol/L = 102.2 mL/min/1.73 m2"
    )


@pytest.mark.parametrize(
    ("age", "expected_formula"),
    [(17, "bedside Schwartz"), (18, "Cockcroft-Gault")],
)
def test_creatinine_clearance_formula_changes_at_18(age, expected_formula):
    _, explanation = creatinine_clearance(
        age_years=age, sex="male", weight_kg=60, height_cm=170, creatinine_umol_l=70
    )

    assert explanation.startswith(expected_formula)


@pytest.mark.parametrize(
    ("age", "sex", "weight", "height", "creatinine"),
    [
        (40, "male", 70, None, 0),
        (40, None, 70, 170, 80),
        (40, "male", None, 170, 80),
        (10, "male", 30, None, 50),
    ],
)
def test_creatinine_clearance_without_needed_input_raises(age, sex, weight, height, creatinine):
    with pytest.raises(ValueError):
        creatinine_clearance(
            age_years=age,
            sex=sex,
            weight_kg=weight,
            height_cm=height,
            creatinine_umol_l=creatinine,
        )


# ------------------------------------------------------------------------------------------------
# age_range
# ------------------------------------------------------------------------------------------------

ADULT_AGE = {"min_years": 18, "max_years": 80}


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (born_aged(18), "met"),  # 18th birthday on the screening date
        (born_aged(18, days_before_birthday=1), "not_met"),  # turns 18 tomorrow
        (born_aged(80), "met"),
        (born_aged(81, days_before_birthday=1), "met"),  # still 80 on the day before turning 81
        (born_aged(81), "not_met"),
        (date(2008, 3, 3), "not_met"),
        (date(2008, 2, 29), "met"),  # 18 since 1 March 2026
    ],
)
def test_age_range_boundaries(birth, expected):
    result = evaluate_rule("age_range", ADULT_AGE, make_facts(birth_date=birth))

    assert result.outcome == expected


def test_age_range_29_february_birthday_is_17_on_28_february():
    facts = make_facts(birth_date=date(2008, 2, 29), screening_date=date(2026, 2, 28))

    assert evaluate_rule("age_range", ADULT_AGE, facts).outcome == "not_met"


def test_age_range_29_february_birthday_is_18_on_1_march():
    facts = make_facts(birth_date=date(2008, 2, 29), screening_date=date(2026, 3, 1))

    assert evaluate_rule("age_range", ADULT_AGE, facts) == RuleResult(
        "met", "age 18 y on 2026-03-01 (born 2008-02-29); criterion 18-80 y"
    )


def test_age_range_detail_shows_age_and_dates():
    result = evaluate_rule("age_range", ADULT_AGE, make_facts(birth_date=date(1979, 5, 14)))

    assert result == RuleResult("met", "age 46 y on 2026-03-02 (born 1979-05-14); criterion 18-80 y")


@pytest.mark.parametrize(
    ("params", "birth", "expected", "detail_end"),
    [
        ({"min_years": 81}, born_aged(81), "met", "criterion >= 81 y"),
        ({"min_years": 81, "max_years": None}, born_aged(80), "not_met", "criterion >= 81 y"),
        ({"max_years": 17}, born_aged(17), "met", "criterion <= 17 y"),
        ({"max_years": 17}, born_aged(18), "not_met", "criterion <= 17 y"),
    ],
)
def test_age_range_with_one_bound(params, birth, expected, detail_end):
    result = evaluate_rule("age_range", params, make_facts(birth_date=birth))

    assert result.outcome == expected
    assert result.detail.endswith(detail_end)


@pytest.mark.parametrize(
    ("facts", "detail"),
    [
        (make_facts(), "missing: birth date"),
        (make_facts(birth_date=date(1990, 1, 1), screening_date=None), "missing: screening date"),
        (make_facts(screening_date=None), "missing: birth date, screening date"),
        (
            make_facts(birth_date=date(2026, 3, 3)),
            "missing: a valid birth date (birth date 2026-03-03 is after the screening date "
            "2026-03-02)",
        ),
    ],
)
def test_age_range_missing_input(facts, detail):
    assert evaluate_rule("age_range", ADULT_AGE, facts) == RuleResult("missing", detail)


# ------------------------------------------------------------------------------------------------
# lab_threshold
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 99.9, "met"),
        ("<", 100, "not_met"),
        ("<=", 100, "met"),
        ("<=", 100.1, "not_met"),
        (">", 100.1, "met"),
        (">", 100, "not_met"),
        (">=", 100, "met"),
        (">=", 99.9, "not_met"),
    ],
)
def test_lab_threshold_each_operator_at_the_boundary(op, value, expected):
    facts = make_facts(labs={"HGB": Lab(value)})

    result = evaluate_rule("lab_threshold", {"analyte": "HGB", "op": op, "value": 100}, facts)

    assert result.outcome == expected


def test_lab_threshold_detail_shows_value_unit_and_date():
    facts = make_facts(labs={"HGB": Lab(86, date=date(2026, 3, 1))})

    result = evaluate_rule("lab_threshold", {"analyte": "HGB", "op": "<", "value": 100}, facts)

    assert result == RuleResult("met", "HGB 86 g/L (2026-03-01); criterion < 100 g/L")


def test_lab_threshold_neutrophils_in_si():
    facts = make_facts(labs={"ANC": Lab(0.45)})

    result = evaluate_rule("lab_threshold", {"analyte": "ANC", "op": "<", "value": 0.5}, facts)

    assert result == RuleResult("met", "ANC 0.45 10^9/L; criterion < 0.5 10^9/L")


@pytest.mark.parametrize(
    ("analyte", "detail"),
    [
        ("HGB", "missing: haemoglobin (HGB) result"),
        ("CREAT", "missing: creatinine (CREAT) result"),
        ("ALT", "missing: ALT result"),
    ],
)
def test_lab_threshold_missing_result(analyte, detail):
    facts = make_facts(labs={"PLT": Lab(20)})

    result = evaluate_rule("lab_threshold", {"analyte": analyte, "op": "<", "value": 50}, facts)

    assert result == RuleResult("missing", detail)


# ------------------------------------------------------------------------------------------------
# lab_vs_limit
# ------------------------------------------------------------------------------------------------

ALT_3_ULN = {"analyte": "ALT", "op": "<=", "multiple": 3, "limit": "uln"}


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<=", 120, "met"),  # exactly 3 x ULN 40
        ("<=", 120.1, "not_met"),
        ("<", 120, "not_met"),
        ("<", 119.9, "met"),
        (">", 120, "not_met"),
        (">", 120.1, "met"),
        (">=", 120, "met"),
        (">=", 119.9, "not_met"),
    ],
)
def test_lab_vs_limit_each_operator_at_three_times_uln(op, value, expected):
    facts = make_facts(labs={"ALT": Lab(value, uln=40)})

    result = evaluate_rule("lab_vs_limit", {**ALT_3_ULN, "op": op}, facts)

    assert result.outcome == expected


def test_lab_vs_limit_exact_multiple_is_not_lost_to_rounding():
    facts = make_facts(labs={"TBIL": Lab(0.3, uln=0.1)})

    result = evaluate_rule(
        "lab_vs_limit", {"analyte": "TBIL", "op": "<=", "multiple": 3, "limit": "uln"}, facts
    )

    assert result.outcome == "met"


@pytest.mark.parametrize(
    ("analyte", "lab", "params", "expected"),
    [
        (
            "ALT",
            Lab(95, uln=40),
            ALT_3_ULN,
            RuleResult("met", "ALT 95 U/L = 2.38 x ULN 40 U/L; criterion <= 3 x ULN"),
        ),
        (
            "TBIL",
            Lab(30, uln=19),
            {"analyte": "TBIL", "op": "<=", "multiple": 1.5, "limit": "uln"},
            RuleResult("not_met", "TBIL 30 umol/L = 1.58 x ULN 19 umol/L; criterion <= 1.5 x ULN"),
        ),
        (
            "HGB",
            Lab(100, lln=115),
            {"analyte": "HGB", "op": "<", "multiple": 1, "limit": "lln"},
            RuleResult("met", "HGB 100 g/L = 0.87 x LLN 115 g/L; criterion < 1 x LLN"),
        ),
        (
            "ALT",
            Lab(5, uln=0),
            ALT_3_ULN,
            RuleResult("not_met", "ALT 5 U/L; ULN 0 U/L; criterion <= 3 x ULN"),
        ),
    ],
)
def test_lab_vs_limit_detail_shows_ratio(analyte, lab, params, expected):
    result = evaluate_rule("lab_vs_limit", params, make_facts(labs={analyte: lab}))

    assert result == expected


@pytest.mark.parametrize(
    ("labs", "params", "detail"),
    [
        ({}, ALT_3_ULN, "missing: ALT result, upper limit of normal (ULN) for ALT"),
        ({"ALT": Lab(95)}, ALT_3_ULN, "missing: upper limit of normal (ULN) for ALT"),
        (
            {"HGB": Lab(100, uln=160)},
            {"analyte": "HGB", "op": "<", "multiple": 1, "limit": "lln"},
            "missing: lower limit of normal (LLN) for haemoglobin (HGB)",
        ),
    ],
)
def test_lab_vs_limit_missing_value_or_limit(labs, params, detail):
    assert evaluate_rule("lab_vs_limit", params, make_facts(labs=labs)) == RuleResult(
        "missing", detail
    )


# ------------------------------------------------------------------------------------------------
# creatinine_clearance rule
# ------------------------------------------------------------------------------------------------

CLEARANCE_ABOVE_75 = {"op": ">", "value": 75}


def adult(age: int, sex: str, weight: float, creatinine: float, **changes) -> Facts:
    values = {
        "birth_date": born_aged(age),
        "sex": sex,
        "weight_kg": weight,
        "labs": {"CREAT": Lab(creatinine)},
    }
    return make_facts(**{**values, **changes})


def test_creatinine_clearance_rule_male_check_value_met():
    result = evaluate_rule("creatinine_clearance", CLEARANCE_ABOVE_75, adult(40, "male", 70, 79.6))

    assert result == RuleResult(
        "met",
        "Cockcroft-Gault (male, 40 y): (140 - 40) x 70 kg x 1.2278 (88.4/72) / 79.6 umol/L = "
        "108 mL/min; criterion > 75 mL/min",
    )


def test_creatinine_clearance_rule_female_check_value_not_met():
    facts = adult(60, "female", 55, 88.4)

    result = evaluate_rule("creatinine_clearance", CLEARANCE_ABOVE_75, facts)

    assert result == RuleResult(
        "not_met",
        "Cockcroft-Gault (female, 60 y): (140 - 60) x 55 kg x 1.0436 (0.85 x 88.4/72) / "
        "88.4 umol/L = 51.9 mL/min; criterion > 75 mL/min",
    )


@pytest.mark.parametrize(("op", "expected"), [(">", "not_met"), (">=", "met"), ("<=", "met")])
def test_creatinine_clearance_rule_exactly_75(op, expected):
    # Child (bedside Schwartz): 36.5 x 150 cm / 73 umol/L = 75.0 mL/min.
    facts = make_facts(birth_date=born_aged(12), height_cm=150, labs={"CREAT": Lab(73)})

    result = evaluate_rule("creatinine_clearance", {"op": op, "value": 75}, facts)

    assert result.outcome == expected
    assert "= 75 mL/min/1.73 m2" in result.detail


def test_creatinine_clearance_rule_child_needs_height_not_weight_or_sex():
    facts = make_facts(birth_date=born_aged(10), height_cm=140, labs={"CREAT": Lab(50)})

    result = evaluate_rule("creatinine_clearance", CLEARANCE_ABOVE_75, facts)

    assert result == RuleResult(
        "met",
        "bedside Schwartz (age 10 y, under 18): 36.5 x 140 cm / 50 umol/L = 102.2 mL/min/1.73 m2;"
        " criterion > 75 mL/min",
    )


def test_creatinine_clearance_rule_adult_at_18th_birthday_uses_cockcroft_gault():
    facts = adult(18, "female", 50, 60, height_cm=160)

    result = evaluate_rule("creatinine_clearance", CLEARANCE_ABOVE_75, facts)

    assert result.detail.startswith("Cockcroft-Gault (female, 18 y)")


@pytest.mark.parametrize(
    ("facts", "detail"),
    [
        (
            make_facts(labs={"CREAT": Lab(80)}),
            "missing: birth date",
        ),
        (
            make_facts(birth_date=born_aged(40), sex="male", weight_kg=70),
            "missing: creatinine (CREAT) result",
        ),
        (
            adult(40, "male", None, 80),
            "missing: weight (Cockcroft-Gault formula)",
        ),
        (
            adult(40, None, 70, 80),
            "missing: sex (male or female, Cockcroft-Gault formula)",
        ),
        (
            make_facts(birth_date=born_aged(10), sex="male", weight_kg=30),
            "missing: height (bedside Schwartz formula, age 10 y), creatinine (CREAT) result",
        ),
        (
            make_facts(screening_date=None, labs={}),
            "missing: birth date, screening date, creatinine (CREAT) result",
        ),
        (
            adult(40, "male", 70, 0),
            "missing: usable inputs for creatinine clearance (creatinine must be a positive "
            "value in umol/L)",
        ),
    ],
)
def test_creatinine_clearance_rule_missing_input(facts, detail):
    assert evaluate_rule("creatinine_clearance", CLEARANCE_ABOVE_75, facts) == RuleResult(
        "missing", detail
    )


# ------------------------------------------------------------------------------------------------
# ecog_range, disease_in, disease_duration
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecog", "expected"),
    [(0, "met"), (1, "met"), (2, "met"), (3, "not_met"), (4, "not_met"), (5, "not_met")],
)
def test_ecog_range_each_score(ecog, expected):
    result = evaluate_rule("ecog_range", {"min": 0, "max": 2}, make_facts(ecog=ecog))

    assert result == RuleResult(expected, f"ECOG {ecog}; criterion 0-2")


def test_ecog_range_lower_bound():
    result = evaluate_rule("ecog_range", {"min": 1, "max": 2}, make_facts(ecog=0))

    assert result.outcome == "not_met"


def test_ecog_range_missing():
    assert evaluate_rule("ecog_range", {"min": 0, "max": 2}, make_facts()) == RuleResult(
        "missing", "missing: ECOG performance status"
    )


@pytest.mark.parametrize(
    ("disease", "expected"),
    [
        ("AIHA", RuleResult("met", "disease AIHA; criterion one of AIHA, EVANS")),
        ("ITP", RuleResult("not_met", "disease ITP; criterion one of AIHA, EVANS")),
        (None, RuleResult("missing", "missing: disease")),
    ],
)
def test_disease_in(disease, expected):
    facts = make_facts(disease=disease)

    result = evaluate_rule("disease_in", {"diseases": ["AIHA", "EVANS"]}, facts)

    assert result == expected


@pytest.mark.parametrize(
    ("diagnosis", "params", "expected"),
    [
        (date(2025, 12, 2), {"min_months": 3}, "met"),  # exactly 3 months, default >=
        (date(2025, 12, 3), {"min_months": 3}, "not_met"),
        (date(2025, 12, 2), {"min_months": 3, "op": ">"}, "not_met"),
        (date(2025, 11, 2), {"min_months": 3, "op": ">"}, "met"),
        (date(2025, 12, 2), {"min_months": 3, "op": "<"}, "not_met"),
        (date(2026, 1, 2), {"min_months": 3, "op": "<="}, "met"),
    ],
)
def test_disease_duration_whole_months(diagnosis, params, expected):
    result = evaluate_rule("disease_duration", params, make_facts(diagnosis_date=diagnosis))

    assert result.outcome == expected


def test_disease_duration_detail():
    result = evaluate_rule(
        "disease_duration", {"min_months": 3}, make_facts(diagnosis_date=date(2024, 11, 1))
    )

    assert result == RuleResult(
        "met",
        "diagnosed 2024-11-01, 16 whole months before screening on 2026-03-02; "
        "criterion >= 3 months",
    )


@pytest.mark.parametrize(
    ("facts", "detail"),
    [
        (make_facts(), "missing: diagnosis date"),
        (make_facts(screening_date=None), "missing: diagnosis date, screening date"),
        (
            make_facts(diagnosis_date=date(2026, 4, 1)),
            "missing: a valid diagnosis date (diagnosis date 2026-04-01 is after the screening "
            "date 2026-03-02)",
        ),
    ],
)
def test_disease_duration_missing(facts, detail):
    assert evaluate_rule("disease_duration", {"min_months": 3}, facts) == RuleResult(
        "missing", detail
    )


# ------------------------------------------------------------------------------------------------
# prior_therapy_failure
# ------------------------------------------------------------------------------------------------

STEROID_4_WEEKS = {"therapies": ["glucocorticoid"], "failing_outcomes": ["none"], "min_weeks": 4}


def course(therapy="glucocorticoid", start=date(2025, 9, 1), days=28, outcome="none", end=...):
    if end is ...:
        end = start + timedelta(days=days) if start is not None else None
    return PriorTherapy(therapy=therapy, start=start, end=end, outcome=outcome)


@pytest.mark.parametrize(
    ("courses", "expected"),
    [
        ((course(days=28),), "met"),  # exactly 4 weeks
        ((course(days=27),), "not_met"),
        ((course(days=60, outcome="pr"),), "not_met"),
        ((course(days=60, outcome="cr"),), "not_met"),
        ((course(therapy="cyclosporine", days=60),), "not_met"),
        ((), "not_met"),
        ((course(days=60, outcome="pr"), course(days=35)), "met"),
        # an ongoing course without end is measured to the screening date
        ((course(start=date(2026, 2, 2), end=None),), "met"),
        ((course(start=date(2026, 2, 3), end=None),), "not_met"),
        # a qualifying course decides even when another course lacks its dates
        ((course(days=35), course(start=None)), "met"),
    ],
)
def test_prior_therapy_failure_outcome_and_duration(courses, expected):
    result = evaluate_rule(
        "prior_therapy_failure", STEROID_4_WEEKS, make_facts(prior_therapies=courses)
    )

    assert result.outcome == expected


def test_prior_therapy_failure_detail_met():
    facts = make_facts(prior_therapies=(course(end=date(2025, 10, 15)),))

    result = evaluate_rule("prior_therapy_failure", STEROID_4_WEEKS, facts)

    assert result == RuleResult(
        "met",
        "glucocorticoid 2025-09-01 to 2025-10-15 (6.29 weeks), outcome none (qualifies); "
        "criterion glucocorticoid with outcome none for >= 4 weeks",
    )


def test_prior_therapy_failure_detail_not_met():
    facts = make_facts(prior_therapies=(course(days=21), course(days=60, outcome="pr")))

    result = evaluate_rule("prior_therapy_failure", STEROID_4_WEEKS, facts)

    assert result == RuleResult(
        "not_met",
        "glucocorticoid 2025-09-01 to 2025-09-22 (3 weeks), outcome none (shorter than 4 weeks); "
        "glucocorticoid 2025-09-01 to 2025-10-31, outcome pr (not a failure); "
        "criterion glucocorticoid with outcome none for >= 4 weeks",
    )


def test_prior_therapy_failure_no_course_of_the_therapies():
    facts = make_facts(prior_therapies=(course(therapy="ivig"),))

    result = evaluate_rule(
        "prior_therapy_failure", {"therapies": ["rituximab", "tpo_agent"]}, facts
    )

    assert result == RuleResult(
        "not_met",
        "no rituximab or tpo_agent recorded; criterion rituximab or tpo_agent with outcome none",
    )


@pytest.mark.parametrize(
    ("params", "courses", "expected"),
    [
        ({"therapies": ["splenectomy"], "failing_outcomes": ["none", "relapse"]},
         (course(therapy="splenectomy", outcome="relapse"),), "met"),
        ({"therapies": ["splenectomy"], "failing_outcomes": ["none", "relapse"]},
         (course(therapy="splenectomy", outcome="cr"),), "not_met"),
        ({"therapies": ["glucocorticoid", "ivig"]}, (course(therapy="ivig", days=5),), "met"),
        ({"therapies": ["cyclosporine"]}, (course(therapy="cyclosporine", start=None),), "met"),
    ],
)
def test_prior_therapy_failure_without_min_weeks(params, courses, expected):
    result = evaluate_rule("prior_therapy_failure", params, make_facts(prior_therapies=courses))

    assert result.outcome == expected


@pytest.mark.parametrize(
    ("facts", "detail"),
    [
        (make_facts(), "missing: prior therapies (not recorded)"),
        (
            make_facts(prior_therapies=(course(start=None, end=date(2025, 10, 15)),)),
            "missing: start date of glucocorticoid course ? to 2025-10-15 (for its duration) "
            "(glucocorticoid ? to 2025-10-15, outcome none; criterion glucocorticoid with "
            "outcome none for >= 4 weeks)",
        ),
        (
            make_facts(prior_therapies=(course(outcome=None, end=date(2025, 10, 15)),)),
            "missing: outcome of glucocorticoid course 2025-09-01 to 2025-10-15 "
            "(glucocorticoid 2025-09-01 to 2025-10-15, outcome not recorded; criterion "
            "glucocorticoid with outcome none for >= 4 weeks)",
        ),
        (
            make_facts(screening_date=None, prior_therapies=(course(end=None),)),
            "missing: screening date of glucocorticoid course 2025-09-01 to ongoing (for its "
            "duration) (glucocorticoid 2025-09-01 to ongoing, outcome none; criterion "
            "glucocorticoid with outcome none for >= 4 weeks)",
        ),
    ],
)
def test_prior_therapy_failure_missing(facts, detail):
    assert evaluate_rule("prior_therapy_failure", STEROID_4_WEEKS, facts) == RuleResult(
        "missing", detail
    )


# ------------------------------------------------------------------------------------------------
# condition, answer_equals, answer_number
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded", "wanted", "expected"),
    [
        (False, False, RuleResult("met", "abnormal cardiac function: no; criterion no")),
        (True, False, RuleResult("not_met", "abnormal cardiac function: yes; criterion no")),
        (True, True, RuleResult("met", "abnormal cardiac function: yes; criterion yes")),
        (None, False, RuleResult("missing", "missing: abnormal cardiac function (yes/no)")),
        (..., False, RuleResult("missing", "missing: abnormal cardiac function (yes/no)")),
    ],
)
def test_condition(recorded, wanted, expected):
    conditions = {} if recorded is ... else {"abnormal_cardiac_function": recorded}

    result = evaluate_rule(
        "condition",
        {"name": "abnormal_cardiac_function", "value": wanted},
        make_facts(conditions=conditions),
    )

    assert result == expected


@pytest.mark.parametrize(
    ("answers", "params", "expected"),
    [
        (
            {"pregnancy_test": "negative"},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("met", "pregnancy test: negative; criterion negative"),
        ),
        (
            {"pregnancy_test": "Negative "},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("met", "pregnancy test: Negative ; criterion negative"),
        ),
        (
            {"pregnancy_test": "positive"},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("not_met", "pregnancy test: positive; criterion negative"),
        ),
        (
            {"agrees_contraception": True},
            {"field": "agrees_contraception", "value": True},
            RuleResult("met", "agrees contraception: yes; criterion yes"),
        ),
        (
            {"agrees_contraception": False},
            {"field": "agrees_contraception", "value": True},
            RuleResult("not_met", "agrees contraception: no; criterion yes"),
        ),
        (
            {"agrees_contraception": 1},  # not a yes/no answer
            {"field": "agrees_contraception", "value": True},
            RuleResult("not_met", "agrees contraception: 1; criterion yes"),
        ),
        (
            {},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("missing", "missing: pregnancy test"),
        ),
        (
            {"pregnancy_test": None},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("missing", "missing: pregnancy test"),
        ),
        (
            {"pregnancy_test": ""},
            {"field": "pregnancy_test", "value": "negative"},
            RuleResult("missing", "missing: pregnancy test"),
        ),
    ],
)
def test_answer_equals(answers, params, expected):
    assert evaluate_rule("answer_equals", params, make_facts(answers=answers)) == expected


@pytest.mark.parametrize(
    ("answer", "op", "expected"),
    [
        (4, ">", "met"),
        (3, ">", "not_met"),
        (3, ">=", "met"),
        (2.9, ">=", "not_met"),
        (3, "<", "not_met"),
        (2, "<", "met"),
        (3, "<=", "met"),
        (3.5, "<=", "not_met"),
        ("14", ">", "met"),
    ],
)
def test_answer_number_each_operator(answer, op, expected):
    facts = make_facts(answers={"thrombocytopenia_months": answer})

    result = evaluate_rule(
        "answer_number", {"field": "thrombocytopenia_months", "op": op, "value": 3}, facts
    )

    assert result.outcome == expected


def test_answer_number_detail():
    facts = make_facts(answers={"thrombocytopenia_months": 14})

    result = evaluate_rule(
        "answer_number", {"field": "thrombocytopenia_months", "op": ">", "value": 3}, facts
    )

    assert result == RuleResult("met", "thrombocytopenia months: 14; criterion > 3")


@pytest.mark.parametrize(
    ("answers", "detail"),
    [
        ({}, "missing: thrombocytopenia months"),
        ({"thrombocytopenia_months": None}, "missing: thrombocytopenia months"),
        (
            {"thrombocytopenia_months": "many"},
            "missing: thrombocytopenia months as a number (recorded 'many')",
        ),
        (
            {"thrombocytopenia_months": True},
            "missing: thrombocytopenia months as a number (recorded 'True')",
        ),
    ],
)
def test_answer_number_missing(answers, detail):
    result = evaluate_rule(
        "answer_number",
        {"field": "thrombocytopenia_months", "op": ">", "value": 3},
        make_facts(answers=answers),
    )

    assert result == RuleResult("missing", detail)


# ------------------------------------------------------------------------------------------------
# all_of / any_of: three-valued logic
# ------------------------------------------------------------------------------------------------

STATE_VALUES = {"met": True, "not_met": False, "missing": None}


def combination_facts(*states: str) -> Facts:
    """Facts in which condition c0, c1, ... gives the requested outcome for rule c_i == True."""
    return make_facts(
        disease="ITP",
        conditions={f"c{i}": STATE_VALUES[s] for i, s in enumerate(states) if s != "missing"},
    )


def combination(rule_type: str, n: int) -> dict:
    return {"rules": [condition_rule(f"c{i}") for i in range(n)]}


@pytest.mark.parametrize(
    ("first", "second", "all_of", "any_of"),
    [
        ("met", "met", "met", "met"),
        ("met", "not_met", "not_met", "met"),
        ("met", "missing", "missing", "met"),
        ("not_met", "met", "not_met", "met"),
        ("not_met", "not_met", "not_met", "not_met"),
        ("not_met", "missing", "not_met", "missing"),
        ("missing", "met", "missing", "met"),
        ("missing", "not_met", "not_met", "missing"),
        ("missing", "missing", "missing", "missing"),
    ],
)
def test_all_of_and_any_of_three_valued_truth_table(first, second, all_of, any_of):
    facts = combination_facts(first, second)

    assert evaluate_rule("all_of", combination("all_of", 2), facts).outcome == all_of
    assert evaluate_rule("any_of", combination("any_of", 2), facts).outcome == any_of


@pytest.mark.parametrize(
    ("rule_type", "state", "expected"),
    [
        ("all_of", "met", "met"),
        ("all_of", "not_met", "not_met"),
        ("all_of", "missing", "missing"),
        ("any_of", "met", "met"),
        ("any_of", "not_met", "not_met"),
        ("any_of", "missing", "missing"),
    ],
)
def test_combination_ignores_not_applicable_rules(rule_type, state, expected):
    params = {"rules": [not_applicable_rule(), condition_rule("c0")]}

    result = evaluate_rule(rule_type, params, combination_facts(state))

    assert result.outcome == expected
    assert result.applicable is True


@pytest.mark.parametrize("rule_type", ["all_of", "any_of"])
def test_combination_of_only_not_applicable_rules_is_not_applicable(rule_type):
    params = {"rules": [not_applicable_rule(), not_applicable_rule()]}

    result = evaluate_rule(rule_type, params, make_facts(disease="ITP"))

    joiner = "and" if rule_type == "all_of" else "or"
    assert result == RuleResult(
        "not_met",
        f"not applicable: (disease ITP is not one of AIHA) {joiner} "
        "(disease ITP is not one of AIHA)",
        applicable=False,
    )


def test_all_of_detail_joins_sub_details():
    facts = make_facts(labs={"ALT": Lab(95, uln=40), "AST": Lab(150, uln=40)})
    params = {
        "rules": [
            rule("lab_vs_limit", analyte="ALT", op="<=", multiple=3, limit="uln"),
            rule("lab_vs_limit", analyte="AST", op="<=", multiple=3, limit="uln"),
        ]
    }

    result = evaluate_rule("all_of", params, facts)

    assert result == RuleResult(
        "not_met",
        "all of: (ALT 95 U/L = 2.38 x ULN 40 U/L; criterion <= 3 x ULN -> met) and "
        "(AST 150 U/L = 3.75 x ULN 40 U/L; criterion <= 3 x ULN -> not met)",
    )


def test_any_of_detail_lists_not_applicable_and_missing_rules():
    params = {"rules": [not_applicable_rule(), condition_rule("c0"), condition_rule("c1")]}

    result = evaluate_rule("any_of", params, combination_facts("not_met", "missing"))

    assert result == RuleResult(
        "missing",
        "missing: c1 (yes/no); any of: (not applicable: disease ITP is not one of AIHA) or "
        "(c0: no; criterion yes -> not met) or (missing: c1 (yes/no) -> missing)",
    )


def test_nested_combinations_evaluate_recursively():
    params = {
        "rules": [
            rule("all_of", rules=[condition_rule("c0"), condition_rule("c1")]),
            condition_rule("c2"),
        ]
    }

    def outcome(*states):
        return evaluate_rule("any_of", params, combination_facts(*states)).outcome

    assert outcome("met", "met", "not_met") == "met"
    assert outcome("met", "not_met", "not_met") == "not_met"
    assert outcome("met", "missing", "not_met") == "missing"
    assert outcome("met", "not_met", "met") == "met"


def test_nested_missing_names_what_is_missing_once_at_the_start():
    params = {
        "rules": [
            rule("all_of", rules=[condition_rule("c0"), condition_rule("c1")]),
            condition_rule("c2"),
        ]
    }

    result = evaluate_rule("any_of", params, combination_facts("missing", "met", "not_met"))

    assert result == RuleResult(
        "missing",
        "missing: c0 (yes/no); any of: (all of: (missing: c0 (yes/no) -> missing) and "
        "(c1: yes; criterion yes -> met) -> missing) or (c2: no; criterion yes -> not met)",
    )


def test_when_disease_around_a_missing_combination_leads_with_what_is_missing():
    params = {
        "diseases": ["EVANS"],
        "rule": rule(
            "any_of",
            rules=[HB_BELOW_100, rule("lab_threshold", analyte="PLT", op="<", value=30)],
        ),
    }

    facts = make_facts(disease="EVANS", labs={"HGB": Lab(105)})

    result = evaluate_rule("when_disease", params, facts)

    assert result == RuleResult(
        "missing",
        "missing: platelets (PLT) result; disease EVANS: any of: (HGB 105 g/L; criterion < 100 g/L "
        "-> not met) or (missing: platelets (PLT) result -> missing)",
    )


LAB_VALUES = st.floats(min_value=20, max_value=250, allow_nan=False)  # haemoglobin's physiological range
OPS = st.sampled_from(["<", "<=", ">", ">="])


@given(value=st.one_of(st.none(), LAB_VALUES), op=OPS, threshold=LAB_VALUES)
def test_single_rule_combination_equals_the_rule(value, op, threshold):
    facts = make_facts(labs={} if value is None else {"HGB": Lab(value)})
    inner = rule("lab_threshold", analyte="HGB", op=op, value=threshold)

    alone = evaluate_rule(inner["rule_type"], inner["params"], facts)

    for rule_type in ("any_of", "all_of"):
        assert evaluate_rule(rule_type, {"rules": [inner]}, facts).outcome == alone.outcome


@given(value=LAB_VALUES, threshold=LAB_VALUES)
def test_lab_threshold_opposite_operators_never_agree(value, threshold):
    facts = make_facts(labs={"HGB": Lab(value)})

    for op, opposite in (("<", ">="), (">", "<=")):
        first = evaluate_rule(
            "lab_threshold", {"analyte": "HGB", "op": op, "value": threshold}, facts
        )
        second = evaluate_rule(
            "lab_threshold", {"analyte": "HGB", "op": opposite, "value": threshold}, facts
        )
        assert {first.outcome, second.outcome} == {"met", "not_met"}


@given(
    states=st.lists(st.sampled_from(["met", "not_met", "missing"]), min_size=1, max_size=5)
)
def test_any_of_is_the_negation_dual_of_all_of(states):
    # not(all_of(x)) == any_of(not x): compare with negated conditions (value False).
    facts = combination_facts(*states)
    negated = {"rules": [condition_rule(f"c{i}", False) for i in range(len(states))]}
    flip = {"met": "not_met", "not_met": "met", "missing": "missing"}

    all_result = evaluate_rule("all_of", combination("all_of", len(states)), facts).outcome
    any_negated = evaluate_rule("any_of", negated, facts).outcome

    assert any_negated == flip[all_result]


# ------------------------------------------------------------------------------------------------
# when_disease / when_sex
# ------------------------------------------------------------------------------------------------

HB_BELOW_100 = rule("lab_threshold", analyte="HGB", op="<", value=100)
EVANS_ONLY = {"diseases": ["EVANS", "AIHA"], "rule": HB_BELOW_100}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            make_facts(disease="EVANS", labs={"HGB": Lab(90)}),
            RuleResult("met", "disease EVANS: HGB 90 g/L; criterion < 100 g/L"),
        ),
        (
            make_facts(disease="AIHA", labs={"HGB": Lab(100)}),
            RuleResult("not_met", "disease AIHA: HGB 100 g/L; criterion < 100 g/L"),
        ),
        (
            make_facts(disease="AIHA"),
            RuleResult("missing", "missing: haemoglobin (HGB) result"),
        ),
        (
            make_facts(disease="ITP", labs={"HGB": Lab(90)}),
            RuleResult(
                "not_met", "not applicable: disease ITP is not one of EVANS, AIHA", applicable=False
            ),
        ),
        (make_facts(labs={"HGB": Lab(90)}), RuleResult("missing", "missing: disease")),
    ],
)
def test_when_disease(facts, expected):
    assert evaluate_rule("when_disease", EVANS_ONLY, facts) == expected


PREGNANCY_NEGATIVE = rule("answer_equals", field="pregnancy_test", value="negative")
WOMEN_OF_CHILDBEARING_POTENTIAL = {
    "sex": "female",
    "min_age_years": 12,
    "only_if_answer": "childbearing_potential",
    "rule": PREGNANCY_NEGATIVE,
}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            make_facts(
                sex="female",
                birth_date=born_aged(30),
                answers={"childbearing_potential": True, "pregnancy_test": "negative"},
            ),
            RuleResult(
                "met",
                "female, 30 y, childbearing potential: pregnancy test: negative; criterion negative",
            ),
        ),
        (
            make_facts(
                sex="female",
                birth_date=born_aged(30),
                answers={"childbearing_potential": True, "pregnancy_test": "positive"},
            ),
            RuleResult(
                "not_met",
                "female, 30 y, childbearing potential: pregnancy test: positive; criterion negative",
            ),
        ),
        (
            make_facts(
                sex="female", birth_date=born_aged(30), answers={"childbearing_potential": True}
            ),
            RuleResult("missing", "missing: pregnancy test"),
        ),
        (
            make_facts(sex="male", birth_date=born_aged(30)),
            RuleResult(
                "not_met", "not applicable: rule for female participants; sex is male", False
            ),
        ),
        (
            make_facts(sex="male"),  # age irrelevant for the other sex
            RuleResult(
                "not_met", "not applicable: rule for female participants; sex is male", False
            ),
        ),
        (
            make_facts(sex="female", birth_date=born_aged(12, days_before_birthday=1)),
            RuleResult("not_met", "not applicable: age 11 y is below 12 y", False),
        ),
        (
            make_facts(
                sex="female", birth_date=born_aged(50), answers={"childbearing_potential": False}
            ),
            RuleResult("not_met", "not applicable: childbearing potential: no", False),
        ),
        (
            make_facts(sex="female", birth_date=born_aged(50)),
            RuleResult("missing", "missing: childbearing potential"),
        ),
        (
            make_facts(
                sex="female", birth_date=born_aged(50), answers={"childbearing_potential": "yes"}
            ),
            RuleResult("missing", "missing: childbearing potential as yes or no (recorded 'yes')"),
        ),
        (
            make_facts(birth_date=born_aged(30)),
            RuleResult("missing", "missing: sex (male or female)"),
        ),
        (make_facts(sex="female"), RuleResult("missing", "missing: birth date")),
    ],
)
def test_when_sex(facts, expected):
    assert evaluate_rule("when_sex", WOMEN_OF_CHILDBEARING_POTENTIAL, facts) == expected


def test_when_sex_without_age_or_answer_condition():
    params = {"sex": "female", "rule": condition_rule("pregnant")}
    facts = make_facts(sex="female", conditions={"pregnant": False})  # no birth date needed

    assert evaluate_rule("when_sex", params, facts) == RuleResult(
        "not_met", "female: pregnant: no; criterion yes"
    )


def test_when_sex_inside_when_disease_keeps_not_applicable():
    params = {"diseases": ["ITP"], "rule": rule("when_sex", sex="male", rule=condition_rule("c0"))}

    result = evaluate_rule("when_disease", params, make_facts(disease="ITP", sex="female"))

    assert result.applicable is False
    assert result.detail == "not applicable: rule for male participants; sex is female"


# ------------------------------------------------------------------------------------------------
# Criteria: inclusion / exclusion semantics and the eligible flag
# ------------------------------------------------------------------------------------------------


def spec(code: str, kind: str, condition: str, value: bool = True) -> CriterionSpec:
    params = {"name": condition, "value": value}
    return CriterionSpec(code, kind, f"text {code}", "condition", params)


def test_not_applicable_inclusion_counts_as_met():
    criteria = [CriterionSpec("evans", "inclusion", "Evans: Hb < 100", "when_disease", EVANS_ONLY)]

    result = evaluate_criteria(criteria, make_facts(disease="ITP"))

    assert result == EligibilityResult(
        True,
        (
            CriterionOutcome(
                "evans",
                "inclusion",
                "Evans: Hb < 100",
                "met",
                "not applicable: disease ITP is not one of EVANS, AIHA",
            ),
        ),
    )


def test_not_applicable_exclusion_counts_as_not_met():
    criteria = [
        CriterionSpec(
            "pregnant",
            "exclusion",
            "Pregnant",
            "when_sex",
            {"sex": "female", "rule": condition_rule("pregnant")},
        )
    ]

    result = evaluate_criteria(criteria, make_facts(sex="male"))

    assert result == EligibilityResult(
        True,
        (
            CriterionOutcome(
                "pregnant",
                "exclusion",
                "Pregnant",
                "not_met",
                "not applicable: rule for female participants; sex is male",
            ),
        ),
    )


@pytest.mark.parametrize(
    ("inclusion", "exclusion", "eligible"),
    [
        ("met", "not_met", True),
        ("not_met", "not_met", False),
        ("met", "met", False),  # excluded
        ("not_met", "met", False),
        ("missing", "not_met", None),
        ("met", "missing", None),
        ("not_met", "missing", None),  # null while ANY criterion is missing (API.md)
        ("missing", "met", None),
        ("missing", "missing", None),
    ],
)
def test_eligible_flag_from_criterion_outcomes(inclusion, exclusion, eligible):
    criteria = [spec("inc", "inclusion", "c0"), spec("exc", "exclusion", "c1")]

    result = evaluate_criteria(criteria, combination_facts(inclusion, exclusion))

    assert result.eligible is eligible
    assert [c.outcome for c in result.criteria] == [inclusion, exclusion]


def test_evaluate_criteria_keeps_order_code_kind_and_text():
    criteria = [spec("b", "exclusion", "c1"), spec("a", "inclusion", "c0")]

    result = evaluate_criteria(criteria, combination_facts("met", "not_met"))

    assert result.criteria == (
        CriterionOutcome("b", "exclusion", "text b", "not_met", "c1: no; criterion yes"),
        CriterionOutcome("a", "inclusion", "text a", "met", "c0: yes; criterion yes"),
    )


def test_evaluate_criteria_without_criteria_is_eligible():
    assert evaluate_criteria([], make_facts()) == EligibilityResult(True, ())


def test_evaluate_criteria_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        evaluate_criteria([spec("x", "optional", "c0")], make_facts())


def test_evaluate_criteria_refuses_invalid_params():
    criteria = [CriterionSpec("x", "inclusion", "x", "lab_threshold", {"analyte": "HB"})]

    with pytest.raises(RuleParamsError):
        evaluate_criteria(criteria, make_facts())


# ------------------------------------------------------------------------------------------------
# validate_params
# ------------------------------------------------------------------------------------------------

ANALYTE_CODES = "HGB, PLT, ANC, WBC, LYM, RETIC_PCT, RETIC_ABS, ALT, AST, LDH, TBIL, CREAT, HAPTO"
RULE_TYPE_CODES = (
    "age_range, lab_threshold, lab_vs_limit, creatinine_clearance, ecog_range, disease_in, "
    "disease_duration, prior_therapy_failure, condition, answer_equals, answer_number, answer_in, days_since, all_of, "
    "any_of, when_disease, when_sex"
)


@pytest.mark.parametrize(
    ("rule_type", "params", "errors"),
    [
        (
            "no_such_rule",
            {},
            {"rule_type": [f"Unknown rule type 'no_such_rule'; choose one of {RULE_TYPE_CODES}."]},
        ),
        (None, {}, {"rule_type": [f"Unknown rule type 'None'; choose one of {RULE_TYPE_CODES}."]}),
        (
            "lab_threshold",
            [],
            {"__all__": ["The settings must be a set of named values (a JSON object)."]},
        ),
        (
            "lab_threshold",
            {},
            {
                "analyte": ["This setting is required."],
                "op": ["This setting is required."],
                "value": ["This setting is required."],
            },
        ),
        (
            "lab_threshold",
            {"analyte": "HB", "op": "=", "value": "100", "unit": "g/L"},
            {
                "unit": [
                    "'unit' is not a setting of the rule 'Lab value threshold (SI unit)'; "
                    "its settings are analyte, op, value."
                ],
                "analyte": [f"Unknown analyte 'HB'; choose one of {ANALYTE_CODES}."],
                "op": ["Unknown comparison '='; choose one of <, <=, >, >=."],
                "value": ["Enter a number."],
            },
        ),
        (
            "lab_threshold",
            {"analyte": "HGB", "op": "<", "value": 1000},
            {
                "value": [
                    "Haemoglobin threshold 1000 g/L is outside the physiological range "
                    "20-250 g/L; thresholds are in g/L."
                ]
            },
        ),
        (
            "lab_threshold",
            {"analyte": "PLT", "op": "<", "value": True},
            {"value": ["Enter a number."]},
        ),
        (
            "lab_vs_limit",
            {"analyte": "ALT", "op": "<=", "multiple": 0, "limit": "upper"},
            {
                "multiple": ["Must be greater than 0."],
                "limit": ["Unknown limit 'upper'; choose one of uln, lln."],
            },
        ),
        (
            "age_range",
            {"min_years": 80, "max_years": 18},
            {"min_years": ["The minimum (80 y) is greater than the maximum (18 y)."]},
        ),
        ("age_range", {}, {"min_years": ["Give a minimum, a maximum or both."]}),
        (
            "age_range",
            {"min_years": 17.5, "max_years": -1},
            {"min_years": ["Enter a whole number."], "max_years": ["Must be at least 0."]},
        ),
        (
            "ecog_range",
            {"min": 3, "max": 6},
            {"max": ["Must be at most 5."]},
        ),
        (
            "ecog_range",
            {"min": 3, "max": 2},
            {"min": ["The minimum (3) is greater than the maximum (2)."]},
        ),
        (
            "disease_in",
            {"diseases": ["ITP", "LUPUS"]},
            {
                "diseases.1": [
                    "Unknown disease 'LUPUS'; choose one of ITP, AIHA, PRCA, EVANS, "
                    "SECONDARY_CYTOPENIA."
                ]
            },
        ),
        ("disease_in", {"diseases": []}, {"diseases": ["Give at least one disease."]}),
        ("disease_in", {"diseases": "ITP"}, {"diseases": ["Give a list of diseases."]}),
        (
            "prior_therapy_failure",
            {"therapies": ["steroids"], "failing_outcomes": ["fail"], "min_weeks": "4"},
            {
                "therapies.0": [
                    "Unknown therapy 'steroids'; choose one of glucocorticoid, cyclosporine, "
                    "ivig, tpo_agent, rituximab, splenectomy, azathioprine, danazol, "
                    "mycophenolate, other."
                ],
                "failing_outcomes.0": [
                    "Unknown outcome 'fail'; choose one of none, pr, cr, relapse, ongoing."
                ],
                "min_weeks": ["Enter a whole number."],
            },
        ),
        (
            "condition",
            {"name": "", "value": "no"},
            {"name": ["Enter a name (text)."], "value": ["Choose true or false."]},
        ),
        (
            "answer_equals",
            {"field": "pregnancy_test", "value": []},
            {"value": ["Enter the expected answer: true, false, a number or a text."]},
        ),
        (
            "answer_number",
            {"field": "thrombocytopenia_months", "op": "gt", "value": 3},
            {"op": ["Unknown comparison 'gt'; choose one of <, <=, >, >=."]},
        ),
        (
            "creatinine_clearance",
            {"op": ">", "value": -5},
            {"value": ["Must be at least 0."]},
        ),
        ("disease_duration", {"op": ">"}, {"min_months": ["This setting is required."]}),
        ("all_of", {"rules": []}, {"rules": ["Give at least one rule."]}),
        ("any_of", {"rules": {"rule_type": "condition"}}, {"rules": ["Give a list of rules."]}),
        (
            "all_of",
            {
                "rules": [
                    rule("lab_threshold", analyte="HGB", op="<", value=100),
                    rule("lab_threshold", analyte="HB", op="<", value=100),
                    {"rule_type": "bogus", "params": {}},
                    {"params": {}},
                    "HGB < 100",
                ]
            },
            {
                "rules.1.params.analyte": [f"Unknown analyte 'HB'; choose one of {ANALYTE_CODES}."],
                "rules.2.rule_type": [
                    f"Unknown rule type 'bogus'; choose one of {RULE_TYPE_CODES}."
                ],
                "rules.3.rule_type": ["This setting is required."],
                "rules.4": ['Give a rule as {"rule_type": ..., "params": {...}}.'],
            },
        ),
        (
            "any_of",
            {
                "rules": [
                    {
                        "rule_type": "all_of",
                        "params": {"rules": [{"rule_type": "ecog_range", "params": {"min": 0}}]},
                    }
                ]
            },
            {"rules.0.params.rules.0.params.max": ["This setting is required."]},
        ),
        (
            "when_disease",
            {
                "diseases": ["EVANS"],
                "rule": {
                    "rule_type": "lab_threshold",
                    "params": {"analyte": "PLT", "op": "<", "value": 30000},
                    "note": "platelets",
                },
            },
            {
                "rule.note": ["'note' is not part of a rule; use rule_type and params."],
                "rule.params.value": [
                    "Platelets threshold 30000 10^9/L is outside the physiological range "
                    "0-2000 10^9/L; thresholds are in 10^9/L."
                ],
            },
        ),
        (
            "when_disease",
            {"diseases": ["EVANS"], "rule": {"rule_type": "condition", "params": "tumour"}},
            {"rule.params": ["The settings must be a set of named values (a JSON object)."]},
        ),
        (
            "when_sex",
            {"sex": "woman", "min_age_years": 12, "only_if_answer": 3},
            {
                "sex": ["Unknown sex 'woman'; choose one of male, female."],
                "only_if_answer": ["Enter a name (text)."],
                "rule": ["This setting is required."],
            },
        ),
    ],
)
def test_validate_params_errors(rule_type, params, errors):
    with pytest.raises(RuleParamsError) as excinfo:
        validate_params(rule_type, params, catalogue=shipped_catalogue())

    assert excinfo.value.errors == errors


def test_rule_params_error_message_names_paths():
    with pytest.raises(RuleParamsError) as excinfo:
        validate_params("ecog_range", {"min": 0})

    assert str(excinfo.value) == "max: This setting is required."
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    ("rule_type", "params", "normalised"),
    [
        (
            "lab_threshold",
            {"analyte": " hgb ", "op": "<", "value": 100},
            {"analyte": "HGB", "op": "<", "value": 100},
        ),
        ("age_range", {"min_years": 18.0}, {"min_years": 18, "max_years": None}),
        ("disease_duration", {"min_months": 3}, {"min_months": 3, "op": ">="}),
        (
            "prior_therapy_failure",
            {"therapies": ["Glucocorticoid", "glucocorticoid"]},
            {"therapies": ["glucocorticoid"], "failing_outcomes": ["none"], "min_weeks": None},
        ),
        (
            "when_sex",
            {"sex": "Female", "rule": {"rule_type": "disease_in", "params": {"diseases": ["itp"]}}},
            {
                "sex": "female",
                "min_age_years": None,
                "only_if_answer": None,
                "rule": {"rule_type": "disease_in", "params": {"diseases": ["ITP"]}},
            },
        ),
        (
            "any_of",
            {"rules": [{"rule_type": "condition", "params": {"name": " tumour ", "value": True}}]},
            {"rules": [{"rule_type": "condition", "params": {"name": "tumour", "value": True}}]},
        ),
    ],
)
def test_validate_params_normalises(rule_type, params, normalised):
    assert validate_params(rule_type, params, catalogue=shipped_catalogue()) == normalised
    assert validate_params(rule_type, params) == normalised


def test_validate_params_without_a_catalogue_only_normalises_the_codes():
    """Stored params are evaluated without the catalogue: a code is taken as saved."""
    assert validate_params("disease_in", {"diseases": [" aaa "]}) == {"diseases": ["AAA"]}
    assert validate_params("lab_threshold", {"analyte": "ferr", "op": "<", "value": 1e9}) == {
        "analyte": "FERR", "op": "<", "value": 1e9}
    with pytest.raises(RuleParamsError) as excinfo:
        validate_params("prior_therapy_failure", {"therapies": [3]})
    assert excinfo.value.errors == {"therapies.0": ["Enter a therapy code."]}


def _first_json_object(text: str) -> dict:
    start = text.index("{")
    depth = 0
    for i, char in enumerate(text[start:], start):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return json.loads(text[start : i + 1])
    raise AssertionError(f"no JSON object in {text!r}")


@pytest.mark.parametrize("code", sorted(RULE_TYPES))
def test_rule_type_help_example_is_valid(code):
    rule_type = RULE_TYPES[code]

    example = _first_json_object(rule_type.help)

    assert rule_type.code == code
    assert rule_type.label
    assert "e.g." in rule_type.help
    assert rule_type.validate(example) == validate_params(code, example)


def test_rule_types_are_exactly_the_contract():
    assert list(RULE_TYPES) == RULE_TYPE_CODES.split(", ")


def test_rule_type_evaluate_validates_params():
    with pytest.raises(RuleParamsError):
        evaluate_rule("ecog_range", {"min": 0}, make_facts(ecog=1))


# ------------------------------------------------------------------------------------------------
# The three studies, with the criteria of their study files (trials/studies/<CODE>.yaml)
# ------------------------------------------------------------------------------------------------

CRITERION_KEYS = {"code", "kind", "text", "text_zh", "source", "rule_type", "params"}
STUDY_ROWS = [(study, row) for study in study_codes() for row in criterion_rows(study)]
STUDY_ROW_IDS = [f"{study}-{row.get('code')}" for study, row in STUDY_ROWS]


@pytest.mark.parametrize(("study", "row"), STUDY_ROWS, ids=STUDY_ROW_IDS)
def test_study_file_criterion_is_valid(study, row):
    """What load_studies stores must pass the model's validation: a shipped file never fails."""
    assert set(row) <= CRITERION_KEYS, f"unknown keys {set(row) - CRITERION_KEYS}"
    assert isinstance(row.get("code"), str) and row["code"].strip()
    assert row.get("kind") in ("inclusion", "exclusion")
    assert str(row.get("text", "")).strip()
    validate_params(row.get("rule_type"), row.get("params", {}), catalogue=shipped_catalogue())


@pytest.mark.parametrize(("study", "row"), STUDY_ROWS, ids=STUDY_ROW_IDS)
def test_study_file_criterion_source_cites_protocols(study, row):
    assert str(row.get("source", "")).startswith("PROTOCOLS.md")


@pytest.mark.parametrize("study", study_codes())
def test_study_file_criterion_codes_are_unique(study):
    codes = [c.code for c in study_criteria(study)]

    assert codes
    assert len(codes) == len(set(codes))


def named_inputs(rule_type: str, params) -> set[str]:
    """Names of the answers and conditions a rule reads, nested rules included."""
    names = {params[key] for key in ("field", "name", "only_if_answer") if params.get(key)}
    nested = list(params.get("rules") or []) + ([params["rule"]] if params.get("rule") else [])
    for inner in nested:
        names |= named_inputs(inner["rule_type"], inner["params"])
    return names


def rule_types_used(rule_type: str, params) -> set[str]:
    used = {rule_type}
    nested = list(params.get("rules") or []) + ([params["rule"]] if params.get("rule") else [])
    for inner in nested:
        used |= rule_types_used(inner["rule_type"], inner["params"])
    return used


@pytest.mark.parametrize("study", study_codes())
def test_study_has_no_consent_criterion(study):
    # Enrolment itself requires a recorded consent, so consent is never a screening criterion.
    for criterion in study_criteria(study):
        assert "consent" not in criterion.code
        assert not any(
            "consent" in name for name in named_inputs(criterion.rule_type, criterion.params)
        )


NO_CONDITIONS = {
    name: False
    for name in (
        "abnormal_cardiac_function",
        "tumour",
        "carcinoma_in_situ_only",
        "uncontrolled_infection",
        "other_serious_disease",
        "pregnant",
        "lactating",
        "mental_illness",
        "other_secondary_disease",
    )
}


def with_changes(facts: Facts, *, labs=None, conditions=None, answers=None, **changes) -> Facts:
    """``facts`` with some labs / conditions / answers replaced (``None`` removes one)."""

    def merged(current, updates):
        if updates is None:
            return current
        result = {**current, **updates}
        return {k: v for k, v in result.items() if v is not None}

    return replace(
        facts,
        labs=merged(facts.labs, labs),
        conditions=merged(facts.conditions, conditions),
        answers=merged(facts.answers, answers),
        **changes,
    )


def failing(result: EligibilityResult) -> set[str]:
    """Codes of the criteria that make the participant ineligible."""
    return {
        c.code
        for c in result.criteria
        if (c.kind == "inclusion" and c.outcome == "not_met")
        or (c.kind == "exclusion" and c.outcome == "met")
    }


def missing(result: EligibilityResult) -> set[str]:
    return {c.code for c in result.criteria if c.outcome == "missing"}


def outcome_of(result: EligibilityResult, code: str) -> tuple[str, str]:
    (criterion,) = [c for c in result.criteria if c.code == code]
    return criterion.outcome, criterion.detail


# --- P1 UCB-IRIC ---------------------------------------------------------------------------------

UCB_IRIC = study_criteria("UCB-IRIC")

UCB_PATIENT = Facts(
    screening_date=SCREENING,
    birth_date=date(1979, 5, 14),
    sex="female",
    weight_kg=58.0,
    height_cm=162,
    disease="AIHA",
    diagnosis_date=date(2024, 11, 1),
    ecog=1,
    labs={
        "HGB": Lab(86, lln=115, uln=150, date=date(2026, 3, 1)),
        "PLT": Lab(210),
        "ANC": Lab(3.1),
        "TBIL": Lab(25, uln=19),
        "ALT": Lab(40, uln=40),
        "AST": Lab(30, uln=35),
        "CREAT": Lab(60, uln=84),
    },
    prior_therapies=(
        PriorTherapy(
            "glucocorticoid", date(2025, 9, 1), date(2025, 10, 15), "none", "prednisone 1 mg/kg"
        ),
    ),
    conditions=NO_CONDITIONS,
)

# One patient per criterion of the study file, failing that criterion and no other.
UCB_FAILURES = {
    "age": with_changes(UCB_PATIENT, birth_date=born_aged(18, days_before_birthday=1)),
    "disease": with_changes(UCB_PATIENT, disease="ITP"),
    "aiha_hb": with_changes(UCB_PATIENT, labs={"HGB": Lab(100, uln=150)}),
    "prca_hb": with_changes(UCB_PATIENT, disease="PRCA", labs={"HGB": Lab(104)}),
    "evans_counts": with_changes(
        UCB_PATIENT, disease="EVANS", labs={"HGB": Lab(105), "PLT": Lab(30)}
    ),
    "secondary_counts": with_changes(
        UCB_PATIENT,
        disease="SECONDARY_CYTOPENIA",
        labs={"HGB": Lab(100), "PLT": Lab(45), "ANC": Lab(0.5)},
    ),
    "refractory": with_changes(
        UCB_PATIENT,
        prior_therapies=(
            # 27 days of glucocorticoid is short of 4 weeks; cyclosporine reached PR
            PriorTherapy("glucocorticoid", date(2025, 9, 1), date(2025, 9, 28), "none"),
            PriorTherapy("cyclosporine", date(2025, 10, 1), date(2026, 1, 1), "pr"),
        ),
    ),
    "cardiac": with_changes(UCB_PATIENT, conditions={"abnormal_cardiac_function": True}),
    "tbil": with_changes(UCB_PATIENT, labs={"TBIL": Lab(28.6, uln=19)}),
    "alt": with_changes(UCB_PATIENT, labs={"ALT": Lab(121, uln=40)}),
    "ast": with_changes(UCB_PATIENT, labs={"AST": Lab(106, uln=35)}),
    "creatinine": with_changes(UCB_PATIENT, labs={"CREAT": Lab(85, uln=84)}),
    "ecog": with_changes(UCB_PATIENT, ecog=3),
    "no_other_secondary_disease": with_changes(
        UCB_PATIENT, conditions={"other_secondary_disease": True}
    ),
    "tumour": with_changes(UCB_PATIENT, conditions={"tumour": True}),
    "infection_serious_disease": with_changes(
        UCB_PATIENT, conditions={"other_serious_disease": True}
    ),
    "pregnant_lactating": with_changes(UCB_PATIENT, conditions={"lactating": True}),
    "mental_illness": with_changes(UCB_PATIENT, conditions={"mental_illness": True}),
}

UCB_DISEASE_CRITERIA = {
    "AIHA": "aiha_hb",
    "PRCA": "prca_hb",
    "EVANS": "evans_counts",
    "SECONDARY_CYTOPENIA": "secondary_counts",
}


def test_ucb_iric_clearly_eligible_patient():
    result = evaluate_criteria(UCB_IRIC, UCB_PATIENT)

    assert result.eligible is True
    assert failing(result) == set()
    assert missing(result) == set()
    assert outcome_of(result, "aiha_hb") == (
        "met",
        "disease AIHA: HGB 86 g/L (2026-03-01); criterion < 100 g/L",
    )
    # not applicable to AIHA, so counted as met
    assert outcome_of(result, "prca_hb") == (
        "met",
        "not applicable: disease AIHA is not one of PRCA",
    )


def test_ucb_iric_age_exclusion_is_folded_into_the_age_inclusion():
    uses_age = [c for c in UCB_IRIC if "age_range" in rule_types_used(c.rule_type, c.params)]

    assert [(c.code, c.kind) for c in uses_age] == [("age", "inclusion")]


@pytest.mark.parametrize(
    ("birth", "eligible"),
    [
        (born_aged(18), True),
        (born_aged(18, days_before_birthday=1), False),
        (born_aged(80), True),
        (born_aged(81, days_before_birthday=1), True),  # still 80
        (born_aged(81), False),
    ],
)
def test_ucb_iric_age_boundaries(birth, eligible):
    result = evaluate_criteria(UCB_IRIC, with_changes(UCB_PATIENT, birth_date=birth))

    assert result.eligible is eligible
    assert failing(result) == (set() if eligible else {"age"})


@pytest.mark.parametrize(
    ("disease", "labs"),
    [
        ("AIHA", {"HGB": Lab(99), "PLT": Lab(210), "ANC": Lab(3.1)}),
        ("PRCA", {"HGB": Lab(99), "PLT": Lab(210), "ANC": Lab(3.1)}),
        ("EVANS", {"HGB": Lab(110), "PLT": Lab(20), "ANC": Lab(3.1)}),
        ("EVANS", {"HGB": Lab(95), "PLT": Lab(150), "ANC": Lab(3.1)}),
        ("SECONDARY_CYTOPENIA", {"HGB": Lab(130), "PLT": Lab(150), "ANC": Lab(0.4)}),
        ("SECONDARY_CYTOPENIA", {"HGB": Lab(130), "PLT": Lab(25), "ANC": Lab(2.0)}),
        ("SECONDARY_CYTOPENIA", {"HGB": Lab(95), "PLT": Lab(150), "ANC": Lab(2.0)}),
    ],
)
def test_ucb_iric_each_disease_with_its_own_threshold_is_eligible(disease, labs):
    result = evaluate_criteria(UCB_IRIC, with_changes(UCB_PATIENT, disease=disease, labs=labs))

    assert result.eligible is True
    assert missing(result) == set()
    for other_disease, code in UCB_DISEASE_CRITERIA.items():
        outcome, detail = outcome_of(result, code)
        assert outcome == "met"
        if other_disease == disease:
            assert detail.startswith(f"disease {disease}: ")
        else:
            assert detail.startswith("not applicable: ")


def test_ucb_iric_evans_threshold_detail_shows_each_count():
    facts = with_changes(UCB_PATIENT, disease="EVANS", labs={"HGB": Lab(110), "PLT": Lab(20)})

    result = evaluate_criteria(UCB_IRIC, facts)

    assert outcome_of(result, "evans_counts") == (
        "met",
        "disease EVANS: any of: (HGB 110 g/L; criterion < 100 g/L -> not met) or "
        "(PLT 20 10^9/L; criterion < 30 10^9/L -> met)",
    )


def test_ucb_iric_secondary_cytopenia_with_only_low_neutrophils_is_eligible():
    facts = with_changes(
        UCB_PATIENT,
        disease="SECONDARY_CYTOPENIA",
        labs={"HGB": Lab(130), "PLT": Lab(150), "ANC": Lab(0.4)},
    )

    result = evaluate_criteria(UCB_IRIC, facts)

    assert result.eligible is True
    assert outcome_of(result, "secondary_counts") == (
        "met",
        "disease SECONDARY_CYTOPENIA: any of: (HGB 130 g/L; criterion < 100 g/L -> not met) or "
        "(PLT 150 10^9/L; criterion < 30 10^9/L -> not met) or (ANC 0.4 10^9/L; criterion < 0.5 "
        "10^9/L -> met)",
    )


@pytest.mark.parametrize(
    "start, eligible",
    [
        (date(2025, 8, 31), True),   # 26 weeks and 1 day before the screening date 2026-03-02
        (date(2025, 9, 1), True),    # exactly 26 weeks before 2026-03-02
        (date(2025, 9, 2), False),   # 25 weeks 6 days
    ],
)
def test_ucb_iric_cyclosporine_failure_needs_half_a_year(start, eligible):
    facts = with_changes(
        UCB_PATIENT,
        prior_therapies=(PriorTherapy("cyclosporine", start, None, "none"),),
    )

    assert evaluate_criteria(UCB_IRIC, facts).eligible is eligible


def test_ucb_iric_glucocorticoid_for_exactly_4_weeks_is_refractory():
    facts = with_changes(
        UCB_PATIENT,
        prior_therapies=(
            PriorTherapy("glucocorticoid", date(2025, 9, 1), date(2025, 9, 29), "none"),
        ),
    )

    assert evaluate_criteria(UCB_IRIC, facts).eligible is True


@pytest.mark.parametrize(
    "conditions",
    [
        {"tumour": True, "carcinoma_in_situ_only": True},
        {"tumour": False, "carcinoma_in_situ_only": None},  # not asked without a tumour
    ],
)
def test_ucb_iric_carcinoma_in_situ_or_no_tumour_is_not_excluded(conditions):
    result = evaluate_criteria(UCB_IRIC, with_changes(UCB_PATIENT, conditions=conditions))

    assert result.eligible is True
    assert outcome_of(result, "tumour")[0] == "not_met"


def test_ucb_iric_male_patient_pregnancy_exclusion_not_applicable():
    facts = with_changes(UCB_PATIENT, sex="male", conditions={"pregnant": None, "lactating": None})

    result = evaluate_criteria(UCB_IRIC, facts)

    assert result.eligible is True
    assert outcome_of(result, "pregnant_lactating") == (
        "not_met",
        "not applicable: rule for female participants; sex is male",
    )


@pytest.mark.parametrize(
    ("facts", "code", "detail"),
    [
        (
            with_changes(UCB_PATIENT, labs={"CREAT": None}),
            "creatinine",
            "missing: creatinine (CREAT) result, upper limit of normal (ULN) for creatinine "
            "(CREAT)",
        ),
        (
            with_changes(UCB_PATIENT, labs={"ALT": Lab(40)}),
            "alt",
            "missing: upper limit of normal (ULN) for ALT",
        ),
        (with_changes(UCB_PATIENT, ecog=None), "ecog", "missing: ECOG performance status"),
        (
            with_changes(UCB_PATIENT, conditions={"mental_illness": None}),
            "mental_illness",
            "missing: mental illness (yes/no)",
        ),
        (
            with_changes(
                UCB_PATIENT, conditions={"tumour": True, "carcinoma_in_situ_only": None}
            ),
            "tumour",
            "missing: carcinoma in situ only (yes/no); all of: (tumour: yes; criterion yes -> "
            "met) and (missing: carcinoma in situ only (yes/no) -> missing)",
        ),
    ],
)
def test_ucb_iric_patient_with_one_missing_value_is_undecided(facts, code, detail):
    result = evaluate_criteria(UCB_IRIC, facts)

    assert result.eligible is None
    assert missing(result) == {code}
    assert failing(result) == set()
    assert outcome_of(result, code) == ("missing", detail)


def test_ucb_iric_missing_disease_leaves_every_disease_threshold_missing():
    result = evaluate_criteria(UCB_IRIC, with_changes(UCB_PATIENT, disease=None))

    assert result.eligible is None
    assert missing(result) == {"disease", *UCB_DISEASE_CRITERIA.values()}


# --- P2 HUCMSC-ITP-ESC ---------------------------------------------------------------------------

HUCMSC_ITP_ESC = study_criteria("HUCMSC-ITP-ESC")

# Only ITP and refractoriness are criteria (the source lists no others): no answers or conditions.
HUCMSC_PATIENT = Facts(
    screening_date=SCREENING,
    birth_date=date(1988, 2, 11),
    sex="male",
    weight_kg=72.0,
    disease="ITP",
    diagnosis_date=date(2023, 6, 1),
    labs={"PLT": Lab(12)},
    prior_therapies=(
        PriorTherapy("glucocorticoid", date(2023, 6, 5), date(2023, 7, 20), "none"),
        PriorTherapy("tpo_agent", date(2023, 9, 1), date(2024, 1, 10), "none"),
        PriorTherapy("rituximab", date(2024, 3, 1), date(2024, 4, 1), "none"),
    ),
)

HUCMSC_FAILURES = {
    "disease": with_changes(HUCMSC_PATIENT, disease="EVANS"),
    "refractory": with_changes(HUCMSC_PATIENT, prior_therapies=()),
}


def test_hucmsc_itp_esc_clearly_eligible_patient():
    result = evaluate_criteria(HUCMSC_ITP_ESC, HUCMSC_PATIENT)

    assert result.eligible is True
    assert {c.outcome for c in result.criteria} == {"met"}


@pytest.mark.parametrize(
    ("changes", "code", "detail"),
    [
        ({"disease": None}, "disease", "missing: disease"),
        ({"prior_therapies": None}, "refractory", None),
        (
            {
                "prior_therapies": HUCMSC_PATIENT.prior_therapies[:2]
                + (PriorTherapy("rituximab", date(2024, 3, 1), date(2024, 4, 1)),)
            },
            "refractory",
            None,
        ),
    ],
)
def test_hucmsc_itp_esc_patient_with_one_missing_value_is_undecided(changes, code, detail):
    result = evaluate_criteria(HUCMSC_ITP_ESC, with_changes(HUCMSC_PATIENT, **changes))

    assert result.eligible is None
    assert missing(result) == {code}
    assert failing(result) == set()
    if detail is not None:
        assert outcome_of(result, code) == ("missing", detail)


def test_hucmsc_itp_esc_refractory_detail_explains_each_therapy():
    result = evaluate_criteria(HUCMSC_ITP_ESC, HUCMSC_PATIENT)

    assert outcome_of(result, "refractory") == (
        "met",
        "any of: (all of: (glucocorticoid 2023-06-05 to 2023-07-20, outcome none (qualifies); "
        "criterion glucocorticoid or ivig with outcome none -> met) and (tpo_agent 2023-09-01 to "
        "2024-01-10, outcome none (qualifies); criterion tpo_agent with outcome none -> met) and "
        "(rituximab 2024-03-01 to 2024-04-01, outcome none (qualifies); criterion rituximab with "
        "outcome none -> met) -> met) or (no splenectomy recorded; criterion splenectomy with "
        "outcome none or relapse -> not met)",
    )


# --- P3 MSC-ITP-5 --------------------------------------------------------------------------------

MSC_ITP_5 = study_criteria("MSC-ITP-5")

MSC_PATIENT = Facts(
    screening_date=SCREENING,
    birth_date=date(1995, 7, 20),
    sex="female",
    weight_kg=58.0,
    height_cm=162,
    disease="ITP",
    diagnosis_date=date(2024, 11, 1),
    ecog=0,
    labs={
        "PLT": Lab(18),
        "ALT": Lab(35, uln=40),
        "AST": Lab(28, uln=35),
        "TBIL": Lab(12, uln=19),
        "CREAT": Lab(62, uln=84),
    },
    prior_therapies=(
        PriorTherapy("glucocorticoid", date(2024, 11, 5), date(2024, 12, 20), "none"),
        PriorTherapy("tpo_agent", date(2025, 1, 10), date(2025, 4, 10), "none"),
        PriorTherapy("rituximab", date(2025, 5, 1), date(2025, 6, 1), "none"),
    ),
    conditions={"lactating": False, "pregnant": False},
    answers={
        "diagnosis_meets_guideline": True,
        "thrombocytopenia_months": 16,
        "stable_maintenance_therapy_4_weeks": True,
        "childbearing_potential": True,
        "pregnancy_test": "negative",
        "agrees_contraception": True,
        "understands_and_complies": True,
    },
)

MSC_MAN = with_changes(
    MSC_PATIENT,
    sex="male",
    weight_kg=74.0,
    height_cm=176,
    conditions={"lactating": None, "pregnant": None},
    answers={"pregnancy_test": None, "childbearing_potential": None, "agrees_contraception": None,
             "fertile": True, "agrees_barrier_contraception_or_abstinence": True},
)

# One patient per criterion of the study file, failing that criterion and no other.
MSC_FAILURES = {
    "age": with_changes(MSC_PATIENT, birth_date=born_aged(76)),
    "disease": with_changes(MSC_PATIENT, disease="AIHA"),
    "guideline_diagnosis": with_changes(MSC_PATIENT, answers={"diagnosis_meets_guideline": False}),
    "thrombocytopenia_duration": with_changes(MSC_PATIENT, answers={"thrombocytopenia_months": 3}),
    "refractory": with_changes(
        MSC_PATIENT,
        prior_therapies=MSC_PATIENT.prior_therapies[:2]
        + (PriorTherapy("rituximab", date(2025, 5, 1), date(2025, 6, 1), "pr"),),
    ),
    "stable_maintenance": with_changes(
        MSC_PATIENT, answers={"stable_maintenance_therapy_4_weeks": False}
    ),
    "alt_ast": with_changes(MSC_PATIENT, labs={"AST": Lab(105.1, uln=35)}),
    "tbil": with_changes(MSC_PATIENT, labs={"TBIL": Lab(28.6, uln=19)}),
    # 1.9 x ULN and Cockcroft-Gault (140 - 30) x 58 x 1.0436 / 160 = 41.6 mL/min
    "creatinine": with_changes(MSC_PATIENT, labs={"CREAT": Lab(160, uln=84)}),
    "women_childbearing": with_changes(MSC_PATIENT, answers={"pregnancy_test": "positive"}),
    "men_contraception": with_changes(MSC_MAN, answers={"agrees_barrier_contraception_or_abstinence": False}),
    "compliance": with_changes(MSC_PATIENT, answers={"understands_and_complies": False}),
}


def test_msc_itp_5_clearly_eligible_patient():
    result = evaluate_criteria(MSC_ITP_5, MSC_PATIENT)

    assert result.eligible is True
    assert failing(result) == set()
    assert missing(result) == set()
    assert outcome_of(result, "women_childbearing")[1].startswith(
        "female, childbearing potential: all of: "
    )


@pytest.mark.parametrize(
    ("birth", "eligible"),
    [
        (born_aged(4), True),
        (born_aged(4, days_before_birthday=1), False),  # still 3
        (born_aged(75), True),
        (born_aged(76, days_before_birthday=1), True),  # still 75
        (born_aged(76), False),
    ],
)
def test_msc_itp_5_age_boundaries(birth, eligible):
    result = evaluate_criteria(MSC_ITP_5, with_changes(MSC_PATIENT, birth_date=birth))

    assert result.eligible is eligible
    assert failing(result) == (set() if eligible else {"age"})
    assert missing(result) == set()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"disease": "EVANS"}, "disease"),
        ({"answers": {"agrees_contraception": False}}, "women_childbearing"),
        ({"conditions": {"lactating": True}}, "women_childbearing"),
        ({"labs": {"ALT": Lab(121, uln=40)}}, "alt_ast"),
    ],
)
def test_msc_itp_5_other_single_failures(changes, code):
    result = evaluate_criteria(MSC_ITP_5, with_changes(MSC_PATIENT, **changes))

    assert result.eligible is False
    assert failing(result) == {code}


@pytest.mark.parametrize(
    "prior_therapies",
    [
        (PriorTherapy("splenectomy", date(2024, 1, 10), None, "relapse"),),
        (PriorTherapy("splenectomy", date(2024, 1, 10), None, "none"),),
        (
            PriorTherapy("ivig", date(2024, 11, 5), date(2024, 11, 9), "none"),
            PriorTherapy("tpo_agent", date(2025, 1, 10), None, "none"),
            PriorTherapy("rituximab", date(2025, 5, 1), date(2025, 6, 1), "none"),
        ),
    ],
)
def test_msc_itp_5_refractory_alternatives_are_eligible(prior_therapies):
    facts = with_changes(MSC_PATIENT, prior_therapies=prior_therapies)

    assert evaluate_criteria(MSC_ITP_5, facts).eligible is True


def test_msc_itp_5_adult_creatinine_above_limit_but_clearance_above_75_is_eligible():
    # 1.6 x ULN, but Cockcroft-Gault (140 - 30) x 90 kg x 1.2278 / 135 = 90 mL/min
    facts = with_changes(MSC_MAN, weight_kg=90, labs={"CREAT": Lab(135, uln=84)})

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is True
    assert outcome_of(result, "creatinine") == (
        "met",
        "any of: (CREAT 135 umol/L = 1.61 x ULN 84 umol/L; criterion <= 1.5 x ULN -> not met) or "
        "(Cockcroft-Gault (male, 30 y): (140 - 30) x 90 kg x 1.2278 (88.4/72) / 135 umol/L = "
        "90 mL/min; criterion > 75 mL/min -> met)",
    )


MSC_CHILD = with_changes(
    MSC_PATIENT,
    birth_date=born_aged(10),
    weight_kg=None,  # a child's clearance needs the height only
    height_cm=140,
    conditions={"lactating": None, "pregnant": None},
    answers={
        "childbearing_potential": False,  # asked of every girl, whatever her age
        "pregnancy_test": None,
        "agrees_contraception": None,
    },
)


def test_msc_itp_5_child_creatinine_above_limit_but_schwartz_clearance_above_75_is_eligible():
    # 66 umol/L is 1.57 x the child's ULN 42; bedside Schwartz 36.5 x 140 / 66 = 77.4 > 75
    facts = with_changes(MSC_CHILD, labs={"CREAT": Lab(66, uln=42)})

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is True
    assert missing(result) == set()
    assert outcome_of(result, "creatinine") == (
        "met",
        "any of: (CREAT 66 umol/L = 1.57 x ULN 42 umol/L; criterion <= 1.5 x ULN -> not met) or "
        "(bedside Schwartz (age 10 y, under 18): 36.5 x 140 cm / 66 umol/L = 77.4 "
        "mL/min/1.73 m2; criterion > 75 mL/min -> met)",
    )
    assert outcome_of(result, "women_childbearing") == (
        "met",
        "not applicable: childbearing potential: no",
    )


def test_msc_itp_5_child_with_schwartz_clearance_of_75_or_less_is_not_eligible():
    facts = with_changes(MSC_CHILD, labs={"CREAT": Lab(130, uln=62)})  # 2.1 x ULN

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is False
    assert failing(result) == {"creatinine"}
    assert "bedside Schwartz (age 10 y, under 18): 36.5 x 140 cm / 130 umol/L = 39.3" in (
        outcome_of(result, "creatinine")[1]
    )


def test_msc_itp_5_child_without_height_is_undecided_when_creatinine_is_above_limit():
    facts = with_changes(MSC_CHILD, height_cm=None, weight_kg=35, labs={"CREAT": Lab(66, uln=42)})

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is None
    assert missing(result) == {"creatinine"}
    assert outcome_of(result, "creatinine")[1].startswith(
        "missing: height (bedside Schwartz formula, age 10 y); "
    )


@pytest.mark.parametrize("fertile", [True, False])
def test_msc_itp_5_man_needs_no_pregnancy_test(fertile):
    facts = with_changes(
        MSC_MAN,
        answers={
            "fertile": fertile,
            "agrees_barrier_contraception_or_abstinence": True if fertile else None,
        },
    )

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is True
    assert missing(result) == set()
    assert outcome_of(result, "women_childbearing") == (
        "met",
        "not applicable: rule for female participants; sex is male",
    )
    assert outcome_of(result, "men_contraception") == (
        ("met", "male, fertile: agrees barrier contraception or abstinence: yes; criterion yes")
        if fertile
        else ("met", "not applicable: fertile: no")
    )


def test_msc_itp_5_woman_without_childbearing_potential_needs_no_pregnancy_test():
    facts = with_changes(
        MSC_PATIENT,
        birth_date=born_aged(60),
        conditions={"lactating": None, "pregnant": None},
        answers={
            "childbearing_potential": False,
            "pregnancy_test": None,
            "agrees_contraception": None,
        },
    )

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is True
    assert missing(result) == set()
    assert outcome_of(result, "women_childbearing") == (
        "met",
        "not applicable: childbearing potential: no",
    )


@pytest.mark.parametrize(
    ("changes", "code", "detail"),
    [
        (
            {"answers": {"thrombocytopenia_months": None}},
            "thrombocytopenia_duration",
            "missing: thrombocytopenia months",
        ),
        (
            {"answers": {"childbearing_potential": None}},
            "women_childbearing",
            "missing: childbearing potential",
        ),
        (
            {"answers": {"pregnancy_test": None}},
            "women_childbearing",
            "missing: pregnancy test; female, childbearing potential: all of: (missing: "
            "pregnancy test -> missing) and (lactating: no; criterion no -> met) and (agrees "
            "contraception: yes; criterion yes -> met)",
        ),
        ({"sex": None}, "women_childbearing", "missing: sex (male or female)"),
        ({"prior_therapies": None}, "refractory", None),
        ({"labs": {"AST": None}}, "alt_ast", None),
    ],
)
def test_msc_itp_5_patient_with_one_missing_value_is_undecided(changes, code, detail):
    facts = with_changes(MSC_PATIENT, **changes)

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is None
    assert code in missing(result)
    assert failing(result) == set()
    if changes.get("sex", "") is None:
        # the sex-specific rules both wait for the sex
        assert missing(result) == {"women_childbearing", "men_contraception"}
    else:
        assert missing(result) == {code}
    if detail is not None:
        assert outcome_of(result, code) == ("missing", detail)


def test_msc_itp_5_missing_value_does_not_hide_a_failure():
    facts = with_changes(
        MSC_PATIENT, answers={"thrombocytopenia_months": None, "pregnancy_test": "positive"}
    )

    result = evaluate_criteria(MSC_ITP_5, facts)

    assert result.eligible is None  # null while any criterion is missing, even if one failed
    assert failing(result) == {"women_childbearing"}


# --- Refractory ITP (P2 and P3) ------------------------------------------------------------------

ITP_STUDIES = {"HUCMSC-ITP-ESC": HUCMSC_ITP_ESC, "MSC-ITP-5": MSC_ITP_5}
ITP_PATIENTS = {"HUCMSC-ITP-ESC": HUCMSC_PATIENT, "MSC-ITP-5": MSC_PATIENT}
THERAPY_OUTCOMES = ("none", "pr", "cr", "relapse", "ongoing")


@pytest.mark.parametrize("outcome", THERAPY_OUTCOMES)
@pytest.mark.parametrize("line", [0, 1, 2], ids=["glucocorticoid", "tpo_agent", "rituximab"])
@pytest.mark.parametrize("study", list(ITP_STUDIES))
def test_refractory_itp_drug_line_fails_only_without_response(study, line, outcome):
    patient = ITP_PATIENTS[study]
    courses = list(patient.prior_therapies)
    courses[line] = replace(courses[line], outcome=outcome)

    result = evaluate_criteria(
        ITP_STUDIES[study], with_changes(patient, prior_therapies=tuple(courses))
    )

    assert outcome_of(result, "refractory")[0] == ("met" if outcome == "none" else "not_met")


@pytest.mark.parametrize("outcome", THERAPY_OUTCOMES)
@pytest.mark.parametrize("study", list(ITP_STUDIES))
def test_refractory_itp_splenectomy_fails_without_response_or_with_relapse(study, outcome):
    splenectomy = (PriorTherapy("splenectomy", date(2024, 1, 10), None, outcome),)
    facts = with_changes(ITP_PATIENTS[study], prior_therapies=splenectomy)

    result = evaluate_criteria(ITP_STUDIES[study], facts)

    expected = "met" if outcome in ("none", "relapse") else "not_met"
    assert outcome_of(result, "refractory")[0] == expected


# --- Every criterion of every study file has a patient failing it --------------------------------

STUDY_FAILURES = {
    "UCB-IRIC": UCB_FAILURES,
    "HUCMSC-ITP-ESC": HUCMSC_FAILURES,
    "MSC-ITP-5": MSC_FAILURES,
}
STUDY_CRITERIA = {study: study_criteria(study) for study in study_codes()}
STUDY_CRITERION_CODES = [
    (study, criterion.code) for study, criteria in STUDY_CRITERIA.items() for criterion in criteria
]


def test_every_study_file_has_failure_scenarios():
    assert set(STUDY_FAILURES) == set(study_codes())


@pytest.mark.parametrize("study", study_codes())
def test_failure_table_covers_every_criterion_of_the_study_file(study):
    assert set(STUDY_FAILURES.get(study, {})) == {c.code for c in STUDY_CRITERIA[study]}


@pytest.mark.parametrize(
    ("study", "code"),
    STUDY_CRITERION_CODES,
    ids=[f"{study}-{code}" for study, code in STUDY_CRITERION_CODES],
)
def test_patient_failing_one_criterion_is_not_eligible(study, code):
    facts = STUDY_FAILURES.get(study, {}).get(code)
    if facts is None:
        pytest.fail(f"no patient failing {study} criterion {code}: add one to its failure table")

    result = evaluate_criteria(STUDY_CRITERIA[study], facts)

    assert result.eligible is False
    assert failing(result) == {code}
    assert missing(result) == set()


DROPPABLE = (
    [("field", name) for name in ("birth_date", "sex", "weight_kg", "height_cm", "disease",
                                  "diagnosis_date", "prior_therapies", "screening_date")]
    + [("labs", code) for code in MSC_PATIENT.labs]
    + [("answers", name) for name in MSC_PATIENT.answers]
    + [("conditions", name) for name in MSC_PATIENT.conditions]
)


@given(
    failure=st.sampled_from(sorted(MSC_FAILURES)),
    dropped=st.sets(st.sampled_from(DROPPABLE), max_size=6),
)
def test_missing_facts_never_make_an_ineligible_patient_eligible(failure, dropped):
    ineligible = MSC_FAILURES[failure]
    facts = with_changes(
        ineligible,
        labs={name: None for kind, name in dropped if kind == "labs"},
        answers={name: None for kind, name in dropped if kind == "answers"},
        conditions={name: None for kind, name in dropped if kind == "conditions"},
        **{name: None for kind, name in dropped if kind == "field"},
    )

    result = evaluate_criteria(MSC_ITP_5, facts)

    missing_criteria = [c for c in result.criteria if c.outcome == "missing"]
    assert result.eligible is not True
    assert (result.eligible is None) == bool(missing_criteria)
    for criterion in missing_criteria:
        assert criterion.detail.startswith("missing: ")
