"""Study-defined items (trials/items.py): definitions, typed values, when an item applies, and the
check of rules against a study's items (trials/rule_items.py). Pure functions, table-driven."""
from datetime import date

import pytest

from trials.errors import Errors
from trials.items import (
    ItemSpec,
    applies,
    check_applicable,
    clean_value,
    clean_values,
    definition_errors,
    display,
    item_sections,
)
from trials.rule_items import items_read, rule_item_errors

TODAY = date(2026, 6, 1)
YES_NO = ItemSpec("splenectomy_done", "Splenectomy done", "yes_no")
QOL = ItemSpec("qol", "Quality of life", "number", unit="points", min_value=0, max_value=100, decimals=0)
FERRITIN = ItemSpec("ferritin", "Ferritin", "number", unit="ug/L", min_value=0, max_value=100000, decimals=1)
SPLENECTOMY = ItemSpec("splenectomy_date", "Date of splenectomy", "date")
MARROW = ItemSpec("marrow", "Bone marrow", "choice", choices=(("normal", "Normal"), ("hypo", "Hypocellular")))
SYMPTOMS = ItemSpec("symptoms", "Symptoms", "multi_choice",
                    choices=(("fatigue", "Fatigue"), ("bleeding", "Bleeding"), ("fever", "Fever")))
NOTE = ItemSpec("note", "Note", "text", max_length=10)
PREGNANCY = ItemSpec("pregnancy_test", "Pregnancy test", "choice", choices=(("negative", "Negative"),),
                     applies_if={"sex": "female", "min_age_years": 12, "max_age_years": 55})
CONTRACEPTION = ItemSpec("contraception", "Agrees to contraception", "yes_no",
                         applies_if={"item": "splenectomy_done", "equals": True})
SPECS = {spec.code: spec for spec in (YES_NO, QOL, FERRITIN, SPLENECTOMY, MARROW, SYMPTOMS, NOTE, PREGNANCY,
                                      CONTRACEPTION)}


@pytest.mark.parametrize(("spec", "raw", "stored"), [
    (YES_NO, True, True),
    (YES_NO, False, False),
    (YES_NO, None, None),
    (QOL, 75, 75),
    (QOL, 75.0, 75),  # no decimals allowed: a whole number
    (QOL, 0, 0),
    (QOL, 100, 100),
    (FERRITIN, 12.5, 12.5),
    (SPLENECTOMY, "2025-01-10", "2025-01-10"),
    (SPLENECTOMY, date(2025, 1, 10), "2025-01-10"),
    (SPLENECTOMY, TODAY.isoformat(), TODAY.isoformat()),
    (SPLENECTOMY, "", None),
    (MARROW, "hypo", "hypo"),
    (SYMPTOMS, ["fever", "fatigue"], ["fatigue", "fever"]),  # the code list's order
    (NOTE, "  short  ", "short"),
    (NOTE, "", None),
])
def test_clean_value_keeps_the_typed_value(spec, raw, stored):
    assert clean_value(spec, raw, today=TODAY) == stored


@pytest.mark.parametrize(("spec", "raw", "message"), [
    (YES_NO, "yes", "Answer yes (true), no (false) or leave empty."),
    (YES_NO, 1, "Answer yes (true), no (false) or leave empty."),
    (QOL, "75", "Enter a number."),
    (QOL, True, "Enter a number."),
    (QOL, float("nan"), "Enter a number."),
    (QOL, 101, "101 points is outside the plausible range 0-100 points."),
    (QOL, -1, "-1 points is outside the plausible range 0-100 points."),
    (QOL, 7.5, "Give at most 0 decimal(s)."),
    (FERRITIN, 12.55, "Give at most 1 decimal(s)."),
    (SPLENECTOMY, "10/01/2025", "Enter a date as YYYY-MM-DD."),
    (SPLENECTOMY, "2026-06-02", "A date cannot be in the future."),
    (MARROW, "abnormal", "Use one of normal, hypo."),
    (MARROW, 1, "Use one of normal, hypo."),
    (SYMPTOMS, "fever", "Give a list of codes among fatigue, bleeding, fever."),
    (SYMPTOMS, ["fever", "rash"], "Unknown choice(s) rash; use fatigue, bleeding, fever."),
    (NOTE, "x" * 11, "At most 10 characters (11 given)."),
    (NOTE, 5, "Enter a text."),
])
def test_clean_value_refuses_with_the_reason(spec, raw, message):
    with pytest.raises(ValueError) as refused:
        clean_value(spec, raw, today=TODAY)
    assert str(refused.value) == message


def test_clean_values_names_each_field_and_an_unknown_item():
    errors = Errors()
    cleaned = clean_values(SPECS, {"qol": 50, "marrow": "x", "hb": 90}, today=TODAY, errors=errors)
    assert cleaned == {"qol": 50}
    assert errors["items.marrow"] == ["Use one of normal, hypo."]
    assert errors["items.hb"][0].startswith("Unknown item; the items of this form are splenectomy_done, qol,")
    top_level = Errors()
    clean_values(SPECS, {"hb": 90}, today=TODAY, errors=top_level, prefix="")
    assert list(top_level) == ["hb"]


@pytest.mark.parametrize(("spec", "errors"), [
    (ItemSpec("sex", "Sex", "yes_no"), {"code": ["'sex' is a fact of the screening itself; give the item another "
                                                 "code."]}),
    (ItemSpec("x", "X", "colour"), {"type": ["Unknown item type 'colour'; use one of yes_no, number, date, choice, "
                                             "multi_choice, text."]}),
    (ItemSpec("x", "X", "number", min_value=5, max_value=1), {"min_value": ["The lowest plausible value is above the "
                                                                            "highest."]}),
    (ItemSpec("x", "X", "number", decimals=9), {"decimals": ["Allow 0 to 6 decimals."]}),
    (ItemSpec("x", "X", "yes_no", unit="g/L"), {"unit": ["Only a number item has a unit."]}),
    (ItemSpec("x", "X", "date", min_value=1), {"min_value": ["Only a number item has a plausible range and "
                                                             "decimals."]}),
    (ItemSpec("x", "X", "choice"), {"choices": ["List the choices (a code and a label each)."]}),
    (ItemSpec("x", "X", "choice", choices=(("a", "A"), ("a", "B"))),
     {"choices": ["Each choice needs a code of its own: a repeated."]}),
    (ItemSpec("x", "X", "yes_no", choices=(("a", "A"),)), {"choices": ["Only a choice item has choices."]}),
    (ItemSpec("x", "X", "text", max_length=0), {"max_length": ["Allow 1 to 2000 characters."]}),
    (ItemSpec("x", "X", "yes_no", max_length=5), {"max_length": ["Only a text item has a maximum length."]}),
    (ItemSpec("x", "X", "yes_no", applies_if={"sex": "other"}), {"applies_if": ["The sex of a condition is male or "
                                                                               "female."]}),
    (ItemSpec("x", "X", "yes_no", applies_if={"item": "nowhere", "equals": True}),
     {"applies_if": ["The condition names the item 'nowhere', which the study does not have."]}),
    (ItemSpec("x", "X", "yes_no", applies_if={"item": "x", "equals": True}),
     {"applies_if": ["An item cannot depend on its own answer."]}),
    (ItemSpec("x", "X", "yes_no", applies_if={"item": "qol"}),
     {"applies_if": ["Say which answer of 'qol' makes this item apply (equals)."]}),
    (ItemSpec("x", "X", "yes_no", applies_if={"when": 1}),
     {"applies_if": ["Unknown condition key(s) when; use sex, min_age_years, max_age_years, item, equals."]}),
])
def test_definition_errors_name_the_field(spec, errors):
    assert definition_errors(spec, ["qol", "x"]) == errors


def test_well_formed_definitions_have_no_errors():
    assert all(definition_errors(spec, SPECS) == {} for spec in SPECS.values())


@pytest.mark.parametrize(("spec", "sex", "age", "values", "expected"), [
    (PREGNANCY, "female", 30, {}, True),
    (PREGNANCY, "male", 30, {}, False),
    (PREGNANCY, "female", 11, {}, False),
    (PREGNANCY, "female", 56, {}, False),
    (PREGNANCY, "female", 55, {}, True),
    (PREGNANCY, None, 30, {}, None),  # the sex is not recorded yet
    (PREGNANCY, "female", None, {}, None),
    (CONTRACEPTION, None, None, {"splenectomy_done": True}, True),
    (CONTRACEPTION, None, None, {"splenectomy_done": False}, False),
    (CONTRACEPTION, None, None, {}, None),
    (YES_NO, None, None, {}, True),
])
def test_when_an_item_applies(spec, sex, age, values, expected):
    assert applies(spec, sex=sex, age_years=age, values=values) is expected


def test_check_applicable_refuses_an_answer_that_does_not_apply_and_a_missing_required_one():
    required = ItemSpec("ecg", "ECG done", "yes_no", required=True)
    specs = {"pregnancy_test": PREGNANCY, "ecg": required}
    errors = Errors()
    check_applicable(specs, {"pregnancy_test": "negative"}, sex="male", age_years=40, errors=errors, require=True)
    assert errors == {
        "items.pregnancy_test": ["This item does not apply to this participant (sex female, age 12-55 years); leave "
                                 "it empty."],
        "items.ecg": ["ECG done is required."],
    }


def test_display_and_sections_read_as_the_form_shows_them():
    placed = [("Marrow", MARROW), ("Marrow", QOL), ("Other", SYMPTOMS), ("Other", YES_NO)]
    values = {"marrow": "hypo", "qol": 70, "symptoms": ["fatigue", "fever"], "splenectomy_done": False}
    assert item_sections(placed, values) == [
        ("Marrow", [("marrow", "Bone marrow", "Hypocellular", False), ("qol", "Quality of life", "70 points", False)]),
        ("Other", [("symptoms", "Symptoms", "Fatigue, Fever", False), ("splenectomy_done", "Splenectomy done", "No",
                                                                        False)]),
    ]
    assert display(NOTE, None) == "-"


# --- rules on items ----------------------------------------------------------------------------

def rule(rule_type, **params):
    return {"rule_type": rule_type, "params": params}


@pytest.mark.parametrize(("rule_type", "params", "errors"), [
    ("condition", {"name": "splenectomy_done", "value": True}, {}),
    ("condition", {"name": "spleen", "value": True},
     {"name": ["The study has no item 'spleen'; add it to the data dictionary first (items: contraception, ferritin, "
               "marrow, note, pregnancy_test, qol, splenectomy_date, splenectomy_done, symptoms)."]}),
    ("condition", {"name": "qol", "value": True},
     {"name": ["'qol' is a number item; this rule reads a yes/no item."]}),
    ("answer_number", {"field": "qol", "op": ">", "value": 3}, {}),
    ("answer_number", {"field": "marrow", "op": ">", "value": 3},
     {"field": ["'marrow' is a single choice item; this rule reads a number item."]}),
    ("answer_equals", {"field": "marrow", "value": "hypo"}, {}),
    ("answer_equals", {"field": "marrow", "value": "low"},
     {"value": ["'low' is not a code of 'marrow' (normal, hypo)."]}),
    ("answer_equals", {"field": "splenectomy_done", "value": "yes"},
     {"value": ["'splenectomy_done' is yes/no: compare it with true or false."]}),
    ("answer_equals", {"field": "qol", "value": "high"}, {"value": ["'qol' is a number: compare it with a number."]}),
    ("answer_in", {"field": "symptoms", "values": ["fever", "rash"]},
     {"values": ["rash: not among the codes of 'symptoms' (fatigue, bleeding, fever)."]}),
    ("days_since", {"field": "splenectomy_date", "unit": "months", "op": ">=", "value": 6}, {}),
    ("days_since", {"field": "note", "unit": "days", "op": ">", "value": 1},
     {"field": ["'note' is a text item; this rule reads a date item."]}),
    ("when_sex", {"sex": "female", "only_if_answer": "qol", "rule": rule("condition", name="nothing", value=True)},
     {"only_if_answer": ["'qol' is a number item; this rule reads a yes/no item."],
      "rule.params.name": ["The study has no item 'nothing'; add it to the data dictionary first (items: "
                           "contraception, ferritin, marrow, note, pregnancy_test, qol, splenectomy_date, "
                           "splenectomy_done, symptoms)."]}),
    ("any_of", {"rules": [rule("age_range", min_years=18), rule("answer_number", field="ferritin", op="<", value=9),
                          rule("answer_in", field="qol", values=["a"])]},
     {"rules.2.params.field": ["'qol' is a number item; this rule reads a single choice or multiple choice item."]}),
])
def test_rules_are_checked_against_the_studys_items(rule_type, params, errors):
    assert rule_item_errors(rule_type, params, SPECS) == errors


def test_items_read_lists_nested_rules():
    params = {"rules": [rule("when_sex", sex="female", only_if_answer="splenectomy_done",
                             rule=rule("answer_equals", field="pregnancy_test", value="negative")),
                        rule("days_since", field="splenectomy_date", unit="days", op=">", value=1)]}
    assert items_read("all_of", params) == ["splenectomy_done", "pregnancy_test", "splenectomy_date"]
