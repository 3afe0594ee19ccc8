"""Eligibility rules on study-defined items (CLINICAL_RULES.md section 5; enrollment/eligibility_items.py):
a choice among codes and the time from a date item to the screening date, with their arithmetic."""
from datetime import date

import pytest

from enrollment.eligibility import Facts, RuleResult, evaluate_rule
from enrollment.eligibility_items import time_between

SCREENING = date(2026, 6, 1)


def facts(**items) -> Facts:
    return Facts(screening_date=SCREENING, items=items)


@pytest.mark.parametrize(("start", "unit", "elapsed"), [
    (date(2025, 12, 1), "days", 182),
    (date(2025, 12, 1), "weeks", 26),
    (date(2025, 12, 1), "months", 6),
    (date(2025, 12, 2), "months", 5),  # the sixth month completes on 2 June
    (date(2026, 5, 26), "weeks", 0),  # 6 days: no whole week
    (date(2026, 5, 25), "weeks", 1),
    (date(2026, 6, 1), "days", 0),
    (date(2024, 2, 29), "months", 27),
])
def test_time_between_counts_whole_units(start, unit, elapsed):
    assert time_between(start, SCREENING, unit) == elapsed


@pytest.mark.parametrize(("recorded", "params", "expected"), [
    ("2025-12-01", {"unit": "months", "op": ">=", "value": 6},
     RuleResult("met", "splenectomy date 2025-12-01 to screening 2026-06-01: 6 months; criterion >= 6 months")),
    ("2025-12-02", {"unit": "months", "op": ">=", "value": 6},
     RuleResult("not_met", "splenectomy date 2025-12-02 to screening 2026-06-01: 5 months; criterion >= 6 months")),
    ("2026-03-03", {"unit": "days", "op": ">", "value": 90},
     RuleResult("not_met", "splenectomy date 2026-03-03 to screening 2026-06-01: 90 days; criterion > 90 days")),
    ("2026-03-02", {"unit": "days", "op": ">", "value": 90},
     RuleResult("met", "splenectomy date 2026-03-02 to screening 2026-06-01: 91 days; criterion > 90 days")),
    ("2026-04-06", {"unit": "weeks", "op": "<", "value": 8},
     RuleResult("not_met", "splenectomy date 2026-04-06 to screening 2026-06-01: 8 weeks; criterion < 8 weeks")),
    ("2026-04-07", {"unit": "weeks", "op": "<", "value": 8},
     RuleResult("met", "splenectomy date 2026-04-07 to screening 2026-06-01: 7 weeks; criterion < 8 weeks")),
])
def test_days_since_a_date_item(recorded, params, expected):
    assert evaluate_rule("days_since", {"field": "splenectomy_date", **params}, facts(splenectomy_date=recorded)) \
        == expected


def test_days_since_is_missing_without_the_date_the_screening_date_or_with_a_date_after_screening():
    params = {"field": "splenectomy_date", "unit": "days", "op": ">", "value": 1}
    assert evaluate_rule("days_since", params, facts()).detail == "missing: splenectomy date (a date)"
    assert evaluate_rule("days_since", params, Facts(items={"splenectomy_date": "2026-01-01"})).detail == (
        "missing: screening date")
    late = evaluate_rule("days_since", params, facts(splenectomy_date="2026-06-02"))
    assert (late.outcome, late.detail) == ("missing", "missing: splenectomy date on or before the screening date "
                                                      "(recorded 2026-06-02, screening 2026-06-01)")


@pytest.mark.parametrize(("answer", "outcome"), [
    ("hypo", "met"), ("normal", "met"), ("fibrosis", "not_met"), (["fibrosis", "hypo"], "met"),
    (["fibrosis"], "not_met"), (None, "missing"), ([], "missing"),
])
def test_answer_in_reads_a_single_or_multiple_choice(answer, outcome):
    result = evaluate_rule("answer_in", {"field": "marrow", "values": ["hypo", "normal"]}, facts(marrow=answer))
    assert result.outcome == outcome


def test_answer_in_explains_the_answer_and_the_codes():
    assert evaluate_rule("answer_in", {"field": "marrow", "values": ["hypo", "normal"]}, facts(marrow="fibrosis")) == (
        RuleResult("not_met", "marrow: fibrosis; criterion one of hypo, normal"))


def test_items_and_their_earlier_names_are_read_alike():
    rule = {"name": "lactating", "value": False}
    assert evaluate_rule("condition", rule, Facts(items={"lactating": False})).outcome == "met"
    assert evaluate_rule("condition", rule, Facts(conditions={"lactating": False})).outcome == "met"
    number = {"field": "thrombocytopenia_months", "op": ">", "value": 3}
    assert evaluate_rule("answer_number", number, Facts(items={"thrombocytopenia_months": 4})).outcome == "met"
    assert evaluate_rule("answer_number", number, Facts(answers={"thrombocytopenia_months": 4})).outcome == "met"
