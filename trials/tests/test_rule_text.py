import pytest
from django.utils import translation
from django.utils.translation import gettext

from trials.catalogue import DiseaseEntry, shipped_catalogue
from trials.catalogue_names import shown_name
from trials.languages import language_choose
from trials.rule_text import describe_rule, describe_rule_html


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


# --- a disease by its name in the reader's language, with its code (the study page, the admin) ---------

def _chinese(msgid: str) -> str:
    with translation.override("zh-hans"):
        return gettext(msgid)


def test_a_disease_reads_by_its_name_in_the_readers_language_with_its_code():
    diseases = {"EVANS": DiseaseEntry("EVANS", shown_name("Evans syndrome"), ("platelets",), None),
                "NEW": DiseaseEntry("NEW", shown_name("A disease nobody translated"), (), None)}
    params = {"diseases": ["EVANS"], "rule": {"rule_type": "lab_threshold",
                                              "params": {"analyte": "PLT", "op": "<", "value": 30}}}
    with translation.override("zh-hans"):
        html = describe_rule_html("when_disease", params, shipped_catalogue().analytes, diseases=diseases)
        unknown = describe_rule_html("disease_in", {"diseases": ["NEW", "GONE"]}, diseases=diseases)
    evans = _chinese("%(name)s (%(code)s)") % {"name": _chinese("Evans syndrome"),
                                               "code": '<span lang="en">EVANS</span>'}
    assert html == _chinese("if disease is %(diseases)s: %(rule)s") % {"diseases": evans,
                                                                        "rule": "PLT &lt; 30 10^9/L"}
    # a name the catalogue of translations lacks is marked as written; an unknown code stays a code
    assert '<span lang="en">A disease nobody translated</span>' in unknown
    assert unknown.endswith('<span lang="en">GONE</span>')
    with translation.override("en"):
        english = describe_rule_html("disease_in", {"diseases": ["EVANS"]}, diseases=diseases)
    assert english == 'disease is Evans syndrome (<span lang="en">EVANS</span>)'


def test_the_admin_study_page_names_ucb_irics_diseases_in_chinese(client, studies, make_user):
    admin = make_user("admin", username="zhou")
    language_choose(admin, "zh-hans", by=admin, reason="test setup")
    client.force_login(admin)
    html = client.get(f"/admin/trials/study/{studies['UCB-IRIC'].pk}/change/").content.decode()
    for code, name in (("AIHA", "Autoimmune haemolytic anaemia"), ("EVANS", "Evans syndrome"),
                       ("SECONDARY_CYTOPENIA", "Cytopenia secondary to an autoimmune disease")):
        shown = _chinese("%(name)s (%(code)s)") % {"name": _chinese(name), "code": f'<span lang="en">{code}</span>'}
        assert shown in html
    assert "disease is" not in html
