import pytest

from trials.catalogue import shipped_catalogue
from trials.rule_text import describe_rule


@pytest.mark.parametrize(
    "rule_type, params, text",
    [
        ("age_range", {"min_years": 18, "max_years": 80}, "age 18-80 years on the screening date"),
        ("age_range", {"min_years": None, "max_years": 17}, "age at most 17 years on the screening date"),
        ("age_range", {"min_years": 81, "max_years": None}, "age at least 81 years on the screening date"),
        ("lab_threshold", {"analyte": "HGB", "op": "<", "value": 100}, "HGB < 100 g/L"),
        ("lab_vs_limit", {"analyte": "ALT", "op": "<=", "multiple": 3, "limit": "uln"}, "ALT <= 3 x ULN"),
        ("ecog_range", {"min": 0, "max": 2}, "ECOG 0-2"),
        ("condition", {"name": "abnormal_cardiac_function", "value": False}, "abnormal cardiac function: no"),
        ("answer_equals", {"field": "pregnancy_test", "value": "negative"}, "pregnancy test: negative"),
        ("prior_therapy_failure", {"therapies": ["glucocorticoid"], "failing_outcomes": ["none"], "min_weeks": 4},
         "glucocorticoid with outcome none after at least 4 weeks"),
        ("any_of", {"rules": [
            {"rule_type": "lab_vs_limit", "params": {"analyte": "CREAT", "op": "<=", "multiple": 1.5, "limit": "uln"}},
            {"rule_type": "creatinine_clearance", "params": {"op": ">", "value": 75}}]},
         "(CREAT <= 1.5 x ULN or creatinine clearance > 75 mL/min (Cockcroft-Gault; Schwartz under 18))"),
        ("when_disease", {"diseases": ["EVANS"], "rule": {"rule_type": "lab_threshold",
                                                          "params": {"analyte": "PLT", "op": "<", "value": 30}}},
         "if disease is EVANS: PLT < 30 10^9/L"),
        ("when_sex", {"sex": "female", "min_age_years": 12, "only_if_answer": "childbearing_potential",
                      "rule": {"rule_type": "condition", "params": {"name": "lactating", "value": False}}},
         "if female aged 12 or more with childbearing potential: lactating: no"),
    ],
)
def test_describe_rule_in_words(rule_type, params, text):
    assert describe_rule(rule_type, params, shipped_catalogue().analytes) == text
