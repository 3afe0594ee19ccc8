"""Study configuration in the Django admin, driven through its real add, change and delete views.

An administrator sets a study up by hand with inlines (PROTOCOLS.md, "What configure without code
means"); the result must be indistinguishable from a built-in study on the study page and in the
API. Every change carries a reason into the audit trail, validation messages are written for a
non-programmer, and an administrator sees only the studies of their sites.

Forms are posted back as a browser would: the values the GET rendered, each inline's management
form, and the rows a test adds, with the formset prefixes read from `inline_admin_formsets`.
"""
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import format_html
from rest_framework.test import APIClient

from trials import catalogues
from trials.admin_base import CREATED_REASON
from trials.audit import change_context
from trials.models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ReferenceRange,
    ResponseCriteriaSet,
    Site,
    Study,
    StudyDisease,
    VisitDefinition,
)
from trials.rule_params import RULE_TYPES
from trials.tests.admin_forms import form_errors, inline_add, inline_errors, inline_formset, inline_row, page_data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def key_shape(value):
    """The keys of a JSON document, nested; rule parameters and thresholds count as values."""
    if isinstance(value, dict):
        return {key: None if key in ("params", "thresholds", "response_time_points") else key_shape(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [key_shape(value[0])] if value else []
    return None


def table_row(html: str, first_cell: str) -> str:
    """The <tr> of a page table whose first cell starts with `first_cell`, links to the record's
    own pages (which differ by id) reduced to their kind."""
    match = re.search(r"<tr><td[^>]*>(?:<[^>]+>)*" + re.escape(first_cell) + r"\b.*?</tr>", html, re.S)
    assert match, f"no row starting with {first_cell!r}"
    return re.sub(r'(href="[^"]*?)/\d+/', r"\1/<id>/", match.group())


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

# Copied from MSC-ITP-5 (trials/studies/MSC-ITP-5.yaml) so the pages can be compared row by row.
D14 = {"code": "D14", "label": "Day 14 after the last infusion", "anchor": "last_infusion", "offset": 14,
       "window_before": 3, "window_after": 3, "order": 1,
       "assessments": ["blood_count", "bleeding", "liver", "renal", "transfusions", "adverse_events"]}
M1 = {"code": "M1", "label": "Month 1", "anchor": "last_infusion", "offset": 30, "window_before": 7,
      "window_after": 7, "order": 2,
      "assessments": ["blood_count", "bleeding", "liver", "renal", "transfusions", "adverse_events"]}
AGE = {"code": "age", "kind": "inclusion", "order": 1, "text": "Age 4-75 years inclusive, male or female.",
       "source": "PROTOCOLS.md P3 inclusion 2", "rule_type": "age_range",
       "params": {"min_years": 4, "max_years": 75}}
CREATININE = {
    "code": "creatinine", "kind": "inclusion", "order": 2,
    "text": "Creatinine <= 1.5 x ULN or creatinine clearance > 75 mL/min (Cockcroft-Gault from 18 years, "
            "bedside Schwartz under 18).",
    "source": "PROTOCOLS.md P3 inclusion 5", "rule_type": "any_of",
    "params": {"rules": [
        {"rule_type": "lab_vs_limit", "params": {"analyte": "CREAT", "op": "<=", "multiple": 1.5, "limit": "uln"}},
        {"rule_type": "creatinine_clearance", "params": {"op": ">", "value": 75}},
    ]},
}
STD_LEVEL = {"code": "STD", "label": "1 x10^8 cells/kg per infusion", "order": 1, "dose_basis": "per_kg",
             "dose_per_kg": 1.0e8, "hard_limit_low": 0.5, "hard_limit_high": 2.0, "status": "open"}
INFUSIONS = [
    {"number": 1, "anchor": "day0", "offset_days": 0, "window_before_days": 0, "window_after_days": 0},
    {"number": 2, "anchor": "previous_actual", "offset_days": 14, "window_before_days": 3, "window_after_days": 3},
    {"number": 3, "anchor": "previous_actual", "offset_days": 14, "window_before_days": 3, "window_after_days": 3},
]


@pytest.fixture
def api(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def hand_made_study(admin_client):
    """HAND-ITP, set up in the admin: the study with its disease, visits and criteria, then its arm."""
    add_study = reverse("admin:trials_study_add")
    page = admin_client.get(add_study)
    data = page_data(page)
    data.update({
        "code": "HAND-ITP", "title": "MSC in refractory ITP, set up by hand", "version": "1",
        "effective_date": "2025-03-01", "sites": [str(Site.objects.get(code="PUMCH").pk)],
        "design": "Single-arm, single-centre.", "intervention": "Three MSC infusions.",
        "primary_endpoint": "ITP response (IWG 2009) at month 1.", "enrolment_target": "12",
        "response_time_points": '{"early": {"anchor": "first_infusion", "days": 7}, '
                                '"initial": {"anchor": "last_infusion", "days": 30}}',
        "time_point_window_days": "7",
    })
    inline_add(data, page, StudyDisease, disease="ITP",
               response_criteria=ResponseCriteriaSet.objects.get(code="IWG2009-ITP").pk)
    for visit in (D14, M1):
        inline_add(data, page, VisitDefinition, **visit)
    for criterion in (AGE, CREATININE):
        inline_add(data, page, EligibilityCriterion, **criterion)
    response = admin_client.post(add_study, data)
    assert response.status_code == 302, (form_errors(response), inline_errors(response, StudyDisease),
                                         inline_errors(response, VisitDefinition),
                                         inline_errors(response, EligibilityCriterion))
    study = Study.objects.get(code="HAND-ITP")

    add_arm = reverse("admin:trials_arm_add")
    page = admin_client.get(add_arm)
    data = page_data(page)
    data.update({"study": str(study.pk), "code": "MSC", "name": "Mesenchymal stem cells x 3",
                 "description": "Infusions 2 and 3 two weeks after the previous actual infusion (+/-3 d).",
                 "product_kind": "msc", "missed_infusion_rule": "last_given"})
    inline_add(data, page, DoseLevel, **STD_LEVEL)
    for infusion in INFUSIONS:
        inline_add(data, page, InfusionDefinition, **infusion)
    response = admin_client.post(add_arm, data)
    assert response.status_code == 302, (form_errors(response), inline_errors(response, DoseLevel),
                                         inline_errors(response, InfusionDefinition))
    return study


# --------------------------------------------------------------------------------------------
# 1. A study set up by hand is indistinguishable from a built-in one
# --------------------------------------------------------------------------------------------


def test_hand_made_study_api_detail_has_the_keys_of_a_built_in_study(hand_made_study, api):
    built_in = api.get("/api/v1/studies/MSC-ITP-5/").json()

    response = api.get("/api/v1/studies/HAND-ITP/")

    assert response.status_code == 200
    assert key_shape(response.json()) == key_shape(built_in)


def english(rows: list[dict]) -> list[dict]:
    return [{key: value for key, value in row.items() if not key.endswith("_zh")} for row in rows]


def test_hand_made_study_api_detail_shows_its_configuration_like_a_built_in_study(hand_made_study, api):
    built_in = api.get("/api/v1/studies/MSC-ITP-5/").json()

    hand = api.get("/api/v1/studies/HAND-ITP/").json()

    assert hand["sites"] == ["PUMCH"]
    assert hand["diseases"] == built_in["diseases"]
    # Typed in English alone: the built-in study's Chinese texts (`*_zh`) aside, the same configuration.
    assert english(hand["visits"]) == english([v for v in built_in["visits"] if v["code"] in ("D14", "M1")])
    assert english(hand["criteria"]) == english([c for c in built_in["criteria"] if c["code"] in ("age", "creatinine")])
    assert english(hand["arms"][0]["dose_levels"]) == english(built_in["arms"][0]["dose_levels"])
    infusions = hand["arms"][0]["infusions"]
    assert [(i["number"], i["nominal_day"], i["earliest_day"], i["latest_day"]) for i in infusions] == [
        (1, 0, 0, 0), (2, 14, 11, 17), (3, 28, 25, 31)]


def test_hand_made_study_page_shows_nominal_days_0_14_28(hand_made_study, admin_client):
    response = admin_client.get(reverse("study-detail", args=["HAND-ITP"]))

    assert response.status_code == 200
    [(arm, rows)] = response.context["arms"]
    assert arm.code == "MSC"
    assert [row.nominal_day for row in rows] == [0, 14, 28]
    assert [row.anchor_text for row in rows] == [
        "day 0", "infusion 1 as given + 14 days", "infusion 2 as given + 14 days"]


def test_hand_made_study_page_rows_are_those_of_the_built_in_study(hand_made_study, admin_client):
    built_in = admin_client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    hand = admin_client.get(reverse("study-detail", args=["HAND-ITP"])).content.decode()

    for first_cell in ("D14", "M1", "age", "creatinine", "STD", "1"):
        assert table_row(hand, first_cell) == table_row(built_in, first_cell)
    assert ("<code>(CREAT &lt;= 1.5 x ULN or creatinine clearance &gt; 75 mL/min (Cockcroft-Gault; Schwartz under 18))"
            "</code>") in table_row(hand, "creatinine")
    assert "<code>age 4-75 years on the screening date</code>" in table_row(hand, "age")


def test_hand_made_study_history_records_the_administrator(hand_made_study, admin_user):
    arm = hand_made_study.arms.get()
    records = [hand_made_study, hand_made_study.diseases.get(), arm, arm.dose_levels.get(),
               *arm.infusion_definitions.all(), *hand_made_study.visit_definitions.all(),
               *hand_made_study.criteria.all()]

    created = [(first.history_type, first.history_user, first.history_change_reason)
               for first in (record.history.earliest() for record in records)]

    assert len(records) == 11
    assert created == [("+", admin_user, CREATED_REASON)] * 11


# --------------------------------------------------------------------------------------------
# 2. Validation messages a non-programmer understands, on the field
# --------------------------------------------------------------------------------------------

REASON = "Protocol amendment 3"


@pytest.fixture
def msc_arm(studies):
    return studies["MSC-ITP-5"].arms.get(code="MSC")


def post_arm_with(client, arm, model, **row):
    """Post the arm's change page with a reason and one new row of `model`."""
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    page = client.get(url)
    data = page_data(page) | {"change_reason": REASON}
    inline_add(data, page, model, **row)
    return client.post(url, data)


def post_study_with(client, study, model, **row):
    """Post the study's change page with a reason and one new row of `model`."""
    url = reverse("admin:trials_study_change", args=[study.pk])
    page = client.get(url)
    data = page_data(page) | {"change_reason": REASON}
    inline_add(data, page, model, **row)
    return client.post(url, data)


def test_dose_level_per_kg_without_dose_is_refused_on_the_dose_field(admin_client, msc_arm):
    level = {k: v for k, v in STD_LEVEL.items() if k != "status"} | {"code": "HIGH", "order": 2, "dose_per_kg": None}

    response = post_arm_with(admin_client, msc_arm, DoseLevel, **level)

    assert response.status_code == 200
    assert inline_errors(response, DoseLevel) == [
        {"dose_per_kg": ["A per-kg dose level needs a dose per kg greater than 0."]}]
    assert list(msc_arm.dose_levels.values_list("code", flat=True)) == ["STD"]


def test_dose_level_hard_limits_are_edited_in_the_admin(admin_client, msc_arm):
    level = {k: v for k, v in STD_LEVEL.items() if k != "status"} | {
        "code": "HIGH", "order": 2, "hard_limit_low": 0.8, "hard_limit_high": 1.25, "dose_per_kg": 1.5e8}

    response = post_arm_with(admin_client, msc_arm, DoseLevel, **level)

    assert response.status_code == 302
    assert msc_arm.dose_levels.get(code="HIGH").hard_limits == (0.8, 1.25)


def test_dose_level_hard_limits_not_bracketing_the_dose_are_refused_on_their_fields(admin_client, msc_arm):
    level = {k: v for k, v in STD_LEVEL.items() if k != "status"} | {
        "code": "HIGH", "order": 2, "hard_limit_low": 1.2, "hard_limit_high": 0.8, "dose_per_kg": 1.5e8}

    response = post_arm_with(admin_client, msc_arm, DoseLevel, **level)

    assert response.status_code == 200
    assert inline_errors(response, DoseLevel) == [{
        "hard_limit_low": ["The low hard limit must be between 0 and 1 (a fraction of the computed dose, e.g. 0.5)."],
        "hard_limit_high": ["The high hard limit must be above 1 (a multiple of the computed dose, e.g. 2)."]}]
    assert list(msc_arm.dose_levels.values_list("code", flat=True)) == ["STD"]


def test_first_infusion_anchored_on_previous_infusion_is_refused_on_the_anchor_field(admin_client, studies):
    page = admin_client.get(reverse("admin:trials_arm_add"))
    data = page_data(page) | {"study": str(studies["MSC-ITP-5"].pk), "code": "B", "name": "Second arm",
                              "product_kind": "msc", "missed_infusion_rule": "last_given"}
    inline_add(data, page, InfusionDefinition, number=1, anchor="previous_actual", offset_days=7)

    response = admin_client.post(reverse("admin:trials_arm_add"), data)

    assert response.status_code == 200
    assert inline_errors(response, InfusionDefinition) == [
        {"anchor": ["The first infusion has no previous infusion: anchor it on day 0."]}]
    assert not Arm.objects.filter(code="B").exists()


def test_infusion_number_used_twice_in_an_arm_is_refused_on_the_number_field(admin_client, msc_arm):
    infusion = {"number": 3, "anchor": "previous_actual", "offset_days": 14, "window_before_days": 3,
                "window_after_days": 3}

    response = post_arm_with(admin_client, msc_arm, InfusionDefinition, **infusion)

    assert response.status_code == 200
    assert inline_errors(response, InfusionDefinition) == [
        {"number": ["Infusion number 3 is already used by another row of this arm; it must be unique within the arm."]}]
    assert msc_arm.infusion_definitions.count() == 5


def renumber_infusions(client, arm, renumbering: dict):
    url = reverse("admin:trials_arm_change", args=[arm.pk])
    page = client.get(url)
    data = page_data(page) | {"change_reason": REASON}
    for old, new in renumbering.items():
        data[f"{inline_row(page, InfusionDefinition, number=old)}-number"] = str(new)
    return client.post(url, data)


def test_infusions_swapping_numbers_are_refused_with_a_message(admin_client, msc_arm):
    response = renumber_infusions(admin_client, msc_arm, {4: 5, 5: 4})

    assert response.status_code == 200
    assert inline_errors(response, InfusionDefinition) == [{"number": [
        "Infusion number 4 still belongs to another row of this arm that changes in the same save: rows cannot "
        "swap values in one save. Give this row an unused value, save, then make the change."]}]
    assert list(msc_arm.infusion_definitions.values_list("number", "offset_days")) == [
        (1, 0), (2, 7), (3, 14), (4, 14), (5, 14)]


def test_infusions_renumbered_in_one_save_are_saved_one_after_the_other(admin_client, msc_arm):
    fifth = msc_arm.infusion_definitions.get(number=5)

    response = renumber_infusions(admin_client, msc_arm, {4: 5, 5: 6})

    assert response.status_code == 302
    assert list(msc_arm.infusion_definitions.values_list("number", flat=True)) == [1, 2, 3, 5, 6]
    fifth.refresh_from_db()
    assert fifth.number == 6


def test_visit_with_an_unknown_assessment_is_refused_on_the_assessments_field(admin_client, studies):
    visit = D14 | {"code": "M18", "label": "Month 18", "offset": 540, "assessments": ["blood_count", "x_ray"]}

    response = post_study_with(admin_client, studies["MSC-ITP-5"], VisitDefinition, **visit)

    assert response.status_code == 200
    assert inline_errors(response, VisitDefinition) == [
        {"assessments": ["Select a valid choice. x_ray is not one of the available choices."]}]
    assert not studies["MSC-ITP-5"].visit_definitions.filter(code="M18").exists()


def test_lab_threshold_without_analyte_is_refused_naming_the_parameter(admin_client, studies):
    criterion = AGE | {"code": "anaemia", "kind": "exclusion", "rule_type": "lab_threshold",
                       "params": {"op": "<", "value": 60}}

    response = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)

    assert response.status_code == 200
    assert inline_errors(response, EligibilityCriterion) == [{"params": ["analyte: This setting is required."]}]
    assert not studies["MSC-ITP-5"].criteria.filter(code="anaemia").exists()


def test_lab_threshold_with_an_unknown_analyte_is_refused_naming_the_parameter(admin_client, studies):
    criterion = AGE | {"code": "anaemia", "kind": "exclusion", "rule_type": "lab_threshold",
                       "params": {"analyte": "HB", "op": "<", "value": 60}}

    response = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)

    assert response.status_code == 200
    assert inline_errors(response, EligibilityCriterion) == [
        {"params": [f"analyte: Unknown analyte 'HB'; choose one of {', '.join(catalogues.current().analytes)}."]}]
    assert not studies["MSC-ITP-5"].criteria.filter(code="anaemia").exists()


def test_criterion_with_an_unknown_rule_type_is_refused_on_the_rule_field(admin_client, studies):
    criterion = AGE | {"code": "anaemia", "rule_type": "haemoglobin_below"}

    response = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)

    assert response.status_code == 200
    assert inline_errors(response, EligibilityCriterion) == [
        {"rule_type": [f"Unknown rule type 'haemoglobin_below'; choose one of {', '.join(RULE_TYPES)}."]}]
    assert not studies["MSC-ITP-5"].criteria.filter(code="anaemia").exists()


def test_criterion_left_without_rule_is_refused_once_on_the_rule_field(admin_client, studies):
    criterion = AGE | {"code": "anaemia", "rule_type": ""}

    response = post_study_with(admin_client, studies["MSC-ITP-5"], EligibilityCriterion, **criterion)

    assert response.status_code == 200
    assert inline_errors(response, EligibilityCriterion) == [{"rule_type": ["This field is required."]}]


def test_criterion_rule_is_chosen_by_name_with_each_rule_explained(admin_client, studies):
    response = admin_client.get(reverse("admin:trials_study_change", args=[studies["MSC-ITP-5"].pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="age_range" selected>Age range</option>' in html
    assert "<summary>Rules, their settings and an example of each</summary>" in html
    for rule in RULE_TYPES.values():
        # each rule's code and examples as typed, marked as code whatever the page's language
        assert str(format_html('<dt>{} <code lang="en">{}</code></dt>', rule.label, rule.code)) in html
        example = re.search(r"\{.*\}", str(rule.help)).group().split("}")[0]
        assert str(format_html('<code lang="en">{}', example)) in html


def test_the_study_page_shows_the_studys_texts_and_codes_marked_and_the_rules_in_chinese(admin_client, studies):
    """For a Chinese reader: the rules and diseases by their Chinese names, each criterion's and row's codes
    marked as the study's, the response criteria sets by their Chinese names, the keys of the sites' list
    as the keyboard names them."""
    study = studies["UCB-IRIC"]
    response = admin_client.get(reverse("admin:trials_study_change", args=[study.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="age_range">年龄范围</option>' in html
    assert '<option value="AIHA" selected lang="zh-Hans">自身免疫性溶血性贫血</option>' in html
    assert 'lang="zh-Hans">PRCA疗效标准 (1)</option>' in html
    assert f"<span data-study-content>{study.criteria.get(code='age')}</span>" in html
    assert '按住 <kbd lang="en">Control</kbd> 键（苹果电脑上为 <kbd lang="en">Command</kbd> 键）可选择多项。' in html
    assert '<span lang="en">abnormal cardiac function</span>' in html


# --------------------------------------------------------------------------------------------
# 3. An edit needs a reason, which the study and its edited rows record with the user
# --------------------------------------------------------------------------------------------


def edit_study_page(client, study):
    """The study's change page posted back with a new title and the D14 window widened to +5 d."""
    url = reverse("admin:trials_study_change", args=[study.pk])
    page = client.get(url)
    data = page_data(page) | {"title": "MSC in refractory ITP (amended)"}
    data[f"{inline_row(page, VisitDefinition, code='D14')}-window_after"] = "5"
    return url, data


def test_study_edit_without_reason_shows_the_reason_error_and_changes_nothing(admin_client, studies):
    study = studies["MSC-ITP-5"]
    d14 = study.visit_definitions.get(code="D14")
    url, data = edit_study_page(admin_client, study)
    history_before = (study.history.count(), d14.history.count())

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert form_errors(response) == {"change_reason": ["Say why you are changing this record (for the audit trail)."]}
    study.refresh_from_db()
    d14.refresh_from_db()
    assert (study.title, d14.window_after) == (
        "Single-arm, single-centre clinical study of mesenchymal stem cells in refractory primary immune "
        "thrombocytopenia", 3)
    assert (study.history.count(), d14.history.count()) == history_before


def test_study_edit_with_reason_records_the_reason_and_user(admin_client, admin_user, studies):
    study = studies["MSC-ITP-5"]
    url, data = edit_study_page(admin_client, study)

    response = admin_client.post(url, data | {"change_reason": "Protocol amendment 3: wider D14 window"})

    assert response.status_code == 302
    latest = study.history.latest()
    assert (latest.history_type, latest.history_user, latest.history_change_reason, latest.title) == (
        "~", admin_user, "Protocol amendment 3: wider D14 window", "MSC in refractory ITP (amended)")


def test_study_edit_with_reason_gives_the_edited_row_the_same_reason(admin_client, admin_user, studies):
    study = studies["MSC-ITP-5"]
    d14, m1 = study.visit_definitions.get(code="D14"), study.visit_definitions.get(code="M1")
    m1_history = m1.history.count()
    url, data = edit_study_page(admin_client, study)

    admin_client.post(url, data | {"change_reason": "Protocol amendment 3: wider D14 window"})

    latest = d14.history.latest()
    assert (latest.history_type, latest.history_user, latest.history_change_reason, latest.window_after) == (
        "~", admin_user, "Protocol amendment 3: wider D14 window", 5)
    assert m1.history.count() == m1_history  # rows not edited are not saved again


def test_inline_row_deleted_with_the_study_edit_records_its_reason(admin_client, admin_user, studies):
    study = studies["MSC-ITP-5"]
    m9 = study.visit_definitions.get(code="M9")
    url = reverse("admin:trials_study_change", args=[study.pk])
    page = admin_client.get(url)
    data = page_data(page) | {"change_reason": "M9 visit dropped by amendment 3"}
    data[f"{inline_row(page, VisitDefinition, code='M9')}-DELETE"] = "on"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert not study.visit_definitions.filter(code="M9").exists()
    deleted = VisitDefinition.history.filter(id=m9.pk).latest()
    assert (deleted.history_type, deleted.history_user, deleted.history_change_reason) == (
        "-", admin_user, "M9 visit dropped by amendment 3")


# --------------------------------------------------------------------------------------------
# 4. Deleting through the delete confirmation needs a reason
# --------------------------------------------------------------------------------------------


def test_visit_delete_confirmation_asks_for_a_reason(admin_client, studies):
    d14 = studies["MSC-ITP-5"].visit_definitions.get(code="D14")

    response = admin_client.get(reverse("admin:trials_visitdefinition_delete", args=[d14.pk]))

    assert response.status_code == 200
    assert ('<input type="text" name="change_reason" id="id_change_reason" size="80" maxlength="500" required>'
            in response.content.decode())


def test_visit_delete_without_reason_is_refused_with_a_message(admin_client, studies):
    d14 = studies["MSC-ITP-5"].visit_definitions.get(code="D14")
    url = reverse("admin:trials_visitdefinition_delete", args=[d14.pk])

    response = admin_client.post(url, {"post": "yes", "change_reason": "  "})

    assert (response.status_code, response["Location"]) == (302, url)
    assert messages_of(response) == ["Give a reason for deleting this record (for the audit trail)."]
    assert VisitDefinition.objects.filter(pk=d14.pk).exists()
    assert d14.history.filter(history_type="-").count() == 0


def test_visit_delete_with_reason_records_it_in_the_history(admin_client, admin_user, studies):
    d14 = studies["MSC-ITP-5"].visit_definitions.get(code="D14")

    response = admin_client.post(reverse("admin:trials_visitdefinition_delete", args=[d14.pk]),
                                 {"post": "yes", "change_reason": "Visit entered twice"})

    assert response.status_code == 302
    assert not VisitDefinition.objects.filter(pk=d14.pk).exists()
    deleted = VisitDefinition.history.filter(id=d14.pk).latest()
    assert (deleted.history_type, deleted.history_user, deleted.history_change_reason) == (
        "-", admin_user, "Visit entered twice")


def test_deleted_visit_history_stays_visible_to_the_administrator(admin_client, studies):
    d14 = studies["MSC-ITP-5"].visit_definitions.get(code="D14")
    admin_client.post(reverse("admin:trials_visitdefinition_delete", args=[d14.pk]),
                      {"post": "yes", "change_reason": "Visit entered twice"})

    response = admin_client.get(reverse("admin:trials_visitdefinition_history", args=[d14.pk]))

    assert response.status_code == 200
    assert "Visit entered twice" in response.content.decode()


ROW_PARENTS = {StudyDisease: "study", VisitDefinition: "study", EligibilityCriterion: "study", DoseLevel: "arm",
               InfusionDefinition: "arm"}


@pytest.mark.parametrize("model", list(ROW_PARENTS), ids=lambda model: model.__name__)
def test_row_page_is_linked_from_its_parents_page(admin_client, studies, model):
    study = studies["MSC-ITP-5"]
    parent = study if ROW_PARENTS[model] == "study" else study.arms.get()
    row = model.objects.filter(**{ROW_PARENTS[model]: parent}).first()
    parent_page = admin_client.get(reverse(f"admin:trials_{parent._meta.model_name}_change", args=[parent.pk]))

    response = admin_client.get(reverse(f"admin:trials_{model._meta.model_name}_change", args=[row.pk]))

    assert response.status_code == 200
    assert reverse(f"admin:trials_{model._meta.model_name}_change", args=[row.pk]) in parent_page.content.decode()
    assert ROW_PARENTS[model] not in response.context["adminform"].form.fields  # shown, not editable


# --------------------------------------------------------------------------------------------
# 5. An administrator sees and chooses only the studies of their sites
# --------------------------------------------------------------------------------------------


def test_study_of_another_site_cannot_be_opened(admin_client, other_site_study):
    response = admin_client.get(reverse("admin:trials_study_change", args=[other_site_study.pk]))

    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))


def test_history_of_a_study_of_another_site_cannot_be_opened(admin_client, other_site_study):
    response = admin_client.get(reverse("admin:trials_study_history", args=[other_site_study.pk]))

    assert response.status_code == 404


def test_study_of_another_site_cannot_be_reverted_to_an_old_version(admin_client, other_site_study):
    version = other_site_study.history.earliest()
    url = reverse("admin:trials_study_simple_history", args=[other_site_study.pk, version.history_id])

    response = admin_client.post(url, {"title": "Overwritten", "change_reason": "reverting"})

    assert response.status_code == 404
    other_site_study.refresh_from_db()
    assert other_site_study.title != "Overwritten"


def test_visit_of_a_study_of_another_site_cannot_be_deleted(admin_client, other_site_study):
    visit = other_site_study.visit_definitions.get(code="D14")

    response = admin_client.post(reverse("admin:trials_visitdefinition_delete", args=[visit.pk]),
                                 {"post": "yes", "change_reason": "not mine"})

    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
    assert VisitDefinition.objects.filter(pk=visit.pk).exists()


def test_arm_study_dropdown_lists_only_the_studies_of_the_administrators_sites(admin_client, other_site_study):
    response = admin_client.get(reverse("admin:trials_arm_add"))

    choices = response.context["adminform"].form.fields["study"].queryset
    assert [study.code for study in choices] == ["HUCMSC-ITP-ESC", "MSC-ITP-5", "UCB-IRIC"]


def test_arm_for_a_study_of_another_site_is_refused(admin_client, other_site_study):
    page = admin_client.get(reverse("admin:trials_arm_add"))
    data = page_data(page) | {"study": str(other_site_study.pk), "code": "B", "name": "Second arm",
                              "product_kind": "msc"}

    response = admin_client.post(reverse("admin:trials_arm_add"), data)

    assert response.status_code == 200
    assert form_errors(response) == {
        "study": ["Select a valid choice. That choice is not one of the available choices."]}
    assert not other_site_study.arms.filter(code="B").exists()


def test_study_sites_list_offers_only_the_administrators_sites(admin_client, other_site_study):
    response = admin_client.get(reverse("admin:trials_study_add"))

    assert [site.code for site in response.context["adminform"].form.fields["sites"].queryset] == ["PUMCH"]


def test_study_edit_keeps_the_sites_the_administrator_cannot_see(admin_client, other_site_study):
    with change_context(by=None, reason="test setup"):
        other_site_study.sites.add(Site.objects.get(code="PUMCH"))
    url = reverse("admin:trials_study_change", args=[other_site_study.pk])
    data = page_data(admin_client.get(url)) | {"enrolment_target": "30", "change_reason": "Target raised"}

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert sorted(other_site_study.sites.values_list("code", flat=True)) == ["PUMCH", "XH"]


def test_visit_arm_dropdown_lists_only_the_arms_of_the_study(admin_client, studies):
    response = admin_client.get(reverse("admin:trials_study_change", args=[studies["MSC-ITP-5"].pk]))

    arms = inline_formset(response, VisitDefinition).empty_form.fields["arm"].queryset
    assert [str(arm) for arm in arms] == ["MSC-ITP-5 / MSC"]


def test_reference_ranges_are_edited_with_a_reason_and_scoped(client, studies, other_site_study, make_user):
    ReferenceRange.objects.create(site=Site.objects.get(code="XH"), analyte="PLT", lln=100, uln=300)
    client.force_login(make_user("admin"))
    listing = client.get("/admin/trials/referencerange/")
    assert listing.status_code == 200
    sites = {row.site.code for row in listing.context["cl"].result_list}
    assert sites == {"PUMCH"}
    alt = ReferenceRange.objects.get(site__code="PUMCH", analyte="ALT", sex="female")
    url = f"/admin/trials/referencerange/{alt.pk}/change/"
    data = {"site": alt.site_id, "analyte": "ALT", "sex": "female", "min_age_years": 0, "max_age_years": 150,
            "lln": 7, "uln": 45, "source": "PUMCH laboratory 2026"}
    refused = client.post(url, data)
    assert refused.status_code == 200 and "change_reason" in refused.context["adminform"].form.errors
    saved = client.post(url, {**data, "change_reason": "Laboratory changed its assay"})
    assert saved.status_code == 302
    alt.refresh_from_db()
    assert alt.uln == 45
    assert alt.history.first().history_change_reason == "Laboratory changed its assay"


def test_dose_level_status_is_read_only_once_the_level_exists(admin_client, studies):
    level = DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B")
    arm_page = admin_client.get(reverse("admin:trials_arm_change", args=[level.arm_id]))
    formset = next(f for f in arm_page.context["inline_admin_formsets"] if f.formset.model is DoseLevel)
    assert "status" not in formset.formset.forms[0].fields
    data = {"change_reason": "try to open B", "status": "open"}
    admin_client.post(reverse("admin:trials_doselevel_change", args=[level.pk]), data)
    level.refresh_from_db()
    assert level.status == "planned"


def test_shared_response_criteria_set_is_read_only_to_an_administrator_of_one_site(client, studies, other_site_study,
                                                                                    make_user):
    client.force_login(make_user("admin"))
    iwg = ResponseCriteriaSet.objects.get(code="IWG2009-ITP")  # also used by XH-MSC, which this admin cannot see
    page = client.get(reverse("admin:trials_responsecriteriaset_change", args=[iwg.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    aiha = ResponseCriteriaSet.objects.get(code="AIHA-INTL")  # only PUMCH's UCB-IRIC uses it
    assert client.get(reverse("admin:trials_responsecriteriaset_change",
                              args=[aiha.pk])).context["has_change_permission"]


def test_a_level_added_to_a_study_without_escalation_is_open_at_once(admin_client, msc_arm):
    level = {k: v for k, v in STD_LEVEL.items() if k != "status"} | {"code": "HIGH", "order": 2, "dose_per_kg": 1.5e8}

    response = post_arm_with(admin_client, msc_arm, DoseLevel, **level)

    assert response.status_code == 302
    assert msc_arm.dose_levels.get(code="HIGH").status == "open"


def test_a_level_added_to_an_escalation_study_waits_for_a_signed_decision(admin_client, studies):
    arm = studies["HUCMSC-ITP-ESC"].arms.get()
    first = arm.dose_levels.order_by("order").first()
    level = {"code": "D", "label": "Level D", "order": 9, "dose_basis": first.dose_basis,
             "dose_per_kg": first.dose_per_kg or "", "flat_dose": first.flat_dose or "", "hard_limit_low": 0.5,
             "hard_limit_high": 2.0, "group_cap": ""}

    response = post_arm_with(admin_client, arm, DoseLevel, **level)

    assert response.status_code == 302, inline_errors(response, DoseLevel)
    assert arm.dose_levels.get(code="D").status == "planned"
