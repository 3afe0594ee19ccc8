"""Study-defined items on visit forms (`trials.items`, `followup.visit_items`): placed on a visit's
definition, they are asked on its assessment page and through the API, validated by the service
(errors on `items.<code>`, shown on the field), stored in `Assessment.items` in the same row
write, shown on the participant page, corrected with a reason and kept in the audit trail."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followup.models import Assessment
from followup.tests.support import assessment_form_as_posted, days_ago, filled, form_url
from trials.models import Item, ItemPlacement
from trials.tests.support import activate_amendment, audit_changes_shown, patch_current

REASON = "Score copied from the wrong questionnaire"


def url(participant):
    return f"/api/v1/participants/{participant.pk}/assessments/"


def detail_url(assessment):
    return f"/api/v1/assessments/{assessment.pk}/"


def w1_body(**items):
    return {"date": days_ago(3), "visit": "W1", "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"}],
            "bleeding_grade": 0, "items": {"qol_score": 70, **items}}


@pytest.fixture
def w1_items(woman):
    """Items of the woman's study placed on W1: a required quality-of-life score (0-100, whole), a
    bone-marrow finding (choice) with its date, and a PSA asked of men only."""
    study = woman.study
    w1 = woman.visits.get(code="W1").definition
    rows = [
        ("Quality of life", Item(study=study, code="qol_score", label="Quality of life score", type="number",
                                 unit="points", min_value=0, max_value=100, decimals=0, required=True)),
        ("Bone marrow", Item(study=study, code="marrow_finding", label="Bone-marrow finding", type="choice",
                             choices=[{"code": "normal", "label": "Normal"},
                                      {"code": "hypocellular", "label": "Hypocellular"}])),
        ("Bone marrow", Item(study=study, code="marrow_date", label="Date of the aspirate", type="date")),
        ("Men only", Item(study=study, code="psa", label="PSA", type="number", unit="ng/mL",
                          applies_if={"sex": "male"})),
    ]
    first = max(study.items.values_list("order", flat=True), default=0)
    for order, (section, item) in enumerate(rows, start=first + 1):
        item.section, item.order = section, order
        item.save()
        ItemPlacement.objects.create(item=item, visit_definition=w1)
    activate_amendment(study)
    return [item for _section, item in rows]


# --- the page ------------------------------------------------------------------------------------

def test_the_visit_page_asks_its_items_by_section_in_order(client, woman, coordinator, w1_items):
    client.force_login(coordinator)

    response = client.get(form_url(woman, "W1"))

    items = response.context["items"]
    assert [(section, [field.name for field in fields]) for section, fields in items.item_sections()] == [
        ("Quality of life", ["qol_score"]), ("Bone marrow", ["marrow_finding", "marrow_date"]),
        ("Men only", ["psa"])]
    page = response.content.decode()
    assert 'data-item="qol_score"' in page and 'name="item-marrow_finding"' in page
    assert "Quality of life score (points)" in page
    # another visit's form does not ask them
    assert "qol_score" not in client.get(form_url(woman, "W3")).context["items"].fields


def test_the_page_saves_the_answers_in_the_assessment_row(client, woman, coordinator, w1_items):
    client.force_login(coordinator)

    response = client.post(form_url(woman, "W1"), filled(**{
        "item-qol_score": "65", "item-marrow_finding": "hypocellular", "item-marrow_date": days_ago(4)}))

    assert response.status_code == 302, response.context and response.context["items"].errors
    assert Assessment.objects.get().items == {"qol_score": 65, "marrow_finding": "hypocellular",
                                              "marrow_date": days_ago(4)}


@pytest.mark.parametrize(("posted", "field", "message"), [
    ({"item-qol_score": "150"}, "qol_score", "150 points is outside the plausible range 0-100 points."),
    ({"item-qol_score": "65.5"}, "qol_score", "Give at most 0 decimal(s)."),
    ({"item-marrow_date": days_ago(-1)}, "marrow_date", "A date cannot be in the future."),
    ({"item-qol_score": "65", "item-psa": "1.2"}, "psa",
     "This item does not apply to this participant (sex male); leave it empty."),
    ({"item-qol_score": ""}, "qol_score", "Quality of life score is required."),
], ids=["out_of_range", "decimals", "future_date", "does_not_apply", "required"])
def test_a_refused_answer_is_shown_on_its_field_and_nothing_is_stored(client, woman, coordinator, w1_items, posted,
                                                                      field, message):
    client.force_login(coordinator)

    response = client.post(form_url(woman, "W1"), filled(**{"item-qol_score": "65", **posted}))

    assert response.status_code == 200
    assert response.context["items"].errors == {field: [message]}
    page = response.content.decode()
    assert f'<tr class="table-danger" data-item="{field}">' in page and message in page
    assert Assessment.objects.count() == 0


def test_the_participant_page_shows_the_answers_by_section(client, api, woman, coordinator, w1_items):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    client.force_login(coordinator)

    page = client.get(reverse("participant-detail", args=[woman.pk])).content.decode()

    # The study's texts (section, label) are marked with their language (`trials.content`).
    assert ('<span class="text-muted" lang="en" data-study-content>Quality of life:</span> <span data-item="qol_score">'
            '<span lang="en" data-study-content>Quality of life score</span> <strong>70 points</strong></span>' in page)
    assert ('<span data-item="marrow_finding"><span lang="en" data-study-content>Bone-marrow finding</span> '
            '<strong>Normal</strong></span>' in page)
    assert 'data-item="marrow_date"' not in page  # not answered


def test_the_coordinator_corrects_an_answer_on_the_page_with_a_reason(client, api, woman, coordinator, w1_items):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    assessment = Assessment.objects.get()
    client.force_login(coordinator)
    edit = reverse("assessment-edit", args=[assessment.pk])
    data = assessment_form_as_posted(client.get(edit))
    assert (data["item-qol_score"], data["item-marrow_finding"]) == ("70", "normal")

    without_reason = client.post(edit, {**data, "item-marrow_finding": "hypocellular", "reason": ""})
    corrected = client.post(edit, {**data, "item-marrow_finding": "hypocellular", "item-qol_score": "",
                                   "reason": REASON})

    assert without_reason.status_code == 200
    assert without_reason.context["form"].errors == {"reason": [
        "Say why the assessment is corrected (kept in the audit trail)."]}
    assert corrected.status_code == 200  # a required answer is not cleared
    assert corrected.context["items"].errors == {"qol_score": ["Quality of life score is required."]}
    assert Assessment.objects.get().items == {"qol_score": 70, "marrow_finding": "normal"}

    done = client.post(edit, {**data, "item-marrow_finding": "hypocellular", "reason": REASON})

    assert done.status_code == 302
    assessment.refresh_from_db()
    assert assessment.items == {"qol_score": 70, "marrow_finding": "hypocellular"}
    assert [row.items for row in assessment.history.order_by("history_id")] == [
        {"qol_score": 70, "marrow_finding": "normal"}, {"qol_score": 70, "marrow_finding": "hypocellular"}]
    assert assessment.history.first().history_change_reason == REASON


# --- the API -------------------------------------------------------------------------------------

def test_the_api_records_and_returns_the_answers(api, woman, w1_items):
    response = api.post(url(woman), w1_body(marrow_finding="normal", marrow_date=days_ago(5)), format="json")

    assert response.status_code == 201, response.json()
    expected = {"qol_score": 70, "marrow_finding": "normal", "marrow_date": days_ago(5)}
    assert response.json()["items"] == expected
    assert api.get(detail_url(Assessment.objects.get())).json()["items"] == expected
    assert api.get(url(woman)).json()[0]["items"] == expected


@pytest.mark.parametrize(("items", "errors"), [
    ({"qol_score": 101}, {"items.qol_score": ["101 points is outside the plausible range 0-100 points."]}),
    ({"qol_score": "seventy"}, {"items.qol_score": ["Enter a number."]}),
    ({"marrow_finding": "fibrotic"}, {"items.marrow_finding": ["Use one of normal, hypocellular."]}),
    ({"marrow_date": days_ago(-2)}, {"items.marrow_date": ["A date cannot be in the future."]}),
    ({"marrow_date": "last week"}, {"items.marrow_date": ["Enter a date as YYYY-MM-DD."]}),
    ({"marrow_finding": ["normal"]}, {"items.marrow_finding": ["Use one of normal, hypocellular."]}),
    ({"hbv": "negative"}, {"items.hbv": [
        "Unknown item; the items of this form are qol_score, marrow_finding, marrow_date, psa."]}),
    ({"qol_score": None}, {"items.qol_score": ["Quality of life score is required."]}),
], ids=["out_of_range", "wrong_type", "unknown_choice", "future_date", "not_a_date", "list_for_a_choice",
        "item_of_another_visit", "required_missing"])
def test_the_api_refuses_a_bad_answer_on_its_item(api, woman, w1_items, items, errors):
    response = api.post(url(woman), w1_body(**items), format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert Assessment.objects.count() == 0
    assert woman.visits.get(code="W1").state == "upcoming"


def test_an_unscheduled_assessment_takes_any_visit_item_and_requires_none(api, woman, w1_items):
    response = api.post(url(woman), {"date": days_ago(2), "visit": None, "bleeding_grade": 0,
                                     "items": {"marrow_finding": "normal", "treg": 4.5}}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["items"] == {"marrow_finding": "normal", "treg": 4.5}


def test_the_virology_items_are_asked_on_the_virology_visit(api, woman):
    vir = woman.visits.get(code="VIR-W4")
    body = {"date": (timezone.localdate() - timedelta(days=1)).isoformat(), "visit": "VIR-W4",
            "deviation_reason": "Came early", "bleeding_grade": 0}

    refused = api.post(url(woman), {**body, "items": {"hbv": "negative", "syphilis": "unclear"}}, format="json")
    response = api.post(url(woman), {**body, "items": {"hbv": "negative", "hiv": "not_done"}}, format="json")

    assert refused.json() == {"errors": {"items.syphilis": ["Use one of positive, negative, not_done."]}}
    assert response.status_code == 201, response.json()
    assert response.json()["items"] == {"hbv": "negative", "hiv": "not_done"}
    vir.refresh_from_db()
    assert vir.state == "done"


def test_the_api_correction_changes_an_answer_with_its_reason_and_keeps_the_others(api, woman, w1_items):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    assessment = Assessment.objects.get()

    refused = patch_current(api, detail_url(assessment), {"items": {"marrow_finding": "fibrotic"}, "reason": REASON},
                        format="json")
    no_reason = patch_current(api, detail_url(assessment), {"items": {"marrow_finding": "hypocellular"}}, format="json")
    response = patch_current(api, detail_url(assessment),
                             {"items": {"marrow_finding": "hypocellular", "marrow_date": None},
                                                  "reason": REASON}, format="json")

    assert refused.json() == {"errors": {"items.marrow_finding": ["Use one of normal, hypocellular."]}}
    assert no_reason.json() == {"errors": {"reason": ["Say why the assessment is corrected (kept in the audit "
                                                      "trail)."]}}
    assert response.status_code == 200, response.json()
    assert response.json()["items"] == {"qol_score": 70, "marrow_finding": "hypocellular"}
    assert assessment.history.count() == 2
    assert assessment.history.first().history_change_reason == REASON


def test_a_correction_to_another_visit_clears_the_answers_its_form_does_not_ask(api, woman, w1_items):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    assessment = Assessment.objects.get()
    move = {"visit": "W3", "deviation_reason": "Came early", "reason": REASON}

    refused = patch_current(api, detail_url(assessment),
                            {**move, "items": {"marrow_finding": "hypocellular"}}, format="json")
    moved = patch_current(api, detail_url(assessment), {**move, "items": {"qol_score": None, "marrow_finding": None}},
                      format="json")

    assert refused.json() == {"errors": {"items.marrow_finding": ["Unknown item; the items of this form are none."]}}
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["visit"], moved.json()["items"]) == ("W3", {})


def test_the_audit_trail_shows_each_answer_changed(client, api, woman, coordinator, w1_items):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    assessment = Assessment.objects.get()
    patch_current(api, detail_url(assessment),
                  {"items": {"marrow_finding": "hypocellular"}, "reason": REASON}, format="json")
    client.force_login(coordinator)

    page = audit_changes_shown(client.get(reverse("audit-trail", args=["assessment", assessment.pk])).content.decode())

    assert "<strong>items › Bone-marrow finding (marrow_finding)</strong>: <del>Normal</del> → Hypocellular" in page
    assert "<strong>items › Quality of life score (qol_score)</strong>: 70 points" in page  # as recorded
    assert "(qol_score)</strong>: <del>" not in page  # unchanged by the correction


def test_the_audit_trail_reads_the_items_once_for_any_number_of_changes(client, api, woman, coordinator, w1_items,
                                                                        django_assert_max_num_queries):
    api.post(url(woman), w1_body(marrow_finding="normal"), format="json")
    assessment = Assessment.objects.get()
    page = reverse("audit-trail", args=["assessment", assessment.pk])
    client.force_login(coordinator)
    client.get(page)  # the session and caches warm
    with CaptureQueriesContext(connection) as one:
        client.get(page)
    queries_of_one_row = len(one)  # counted now: the requests below start the connection's log anew
    for finding, score in (("hypocellular", 60), ("normal", 55), ("hypocellular", 50)):
        response = patch_current(api, detail_url(assessment), {"items": {"marrow_finding": finding, "qol_score": score},
                                                      "reason": REASON}, format="json")
        assert response.status_code == 200, response.json()

    with django_assert_max_num_queries(queries_of_one_row):
        response = client.get(page)

    entries = response.context["entries"]
    assert [entry.action for entry in entries] == ["changed"] * 3 + ["created"] * 2  # the assessment, its lab
    assert [(c.field, c.old, c.new) for c in entries[0].changes] == [
        ("items › Bone-marrow finding (marrow_finding)", "Normal", "Hypocellular"),
        ("items › Quality of life score (qol_score)", "55 points", "50 points")]
    assert audit_changes_shown(response.content.decode()).count("items › Bone-marrow finding (marrow_finding)") == 4


def test_another_sites_user_cannot_read_or_record_and_other_roles_are_refused(woman, w1_items, make_user, api):
    api.post(url(woman), w1_body(), format="json")
    assessment = Assessment.objects.get()
    elsewhere = APIClient()
    elsewhere.force_authenticate(make_user("coordinator", site="XH"))
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))
    investigator = APIClient()
    investigator.force_authenticate(make_user("investigator"))

    assert elsewhere.post(url(woman), w1_body(), format="json").status_code == 404
    assert patch_current(elsewhere, detail_url(assessment), {"items": {"qol_score": 10}, "reason": REASON},
                           format="json").status_code == 404
    assert monitor.post(url(woman), {**w1_body(), "visit": None}, format="json").status_code == 403
    assert patch_current(investigator, detail_url(assessment), {"items": {"qol_score": 10}, "reason": REASON},
                              format="json").status_code == 403
    assert monitor.get(detail_url(assessment)).json()["items"] == {"qol_score": 70}
    assert Assessment.objects.get().items == {"qol_score": 70}


def test_recording_answers_stays_within_the_assessment_budget(api, woman, w1_items, django_assert_max_num_queries):
    api.get(url(woman))  # the user's site memberships are read once per request

    with django_assert_max_num_queries(20):
        response = api.post(url(woman), w1_body(marrow_finding="normal", marrow_date=days_ago(5)), format="json")

    assert response.status_code == 201, response.json()


def test_the_participant_page_reads_the_visit_forms_once_for_any_number_of_answered_assessments(
        client, api, woman, coordinator, w1_items):
    page = reverse("participant-detail", args=[woman.pk])
    client.force_login(coordinator)
    api.post(url(woman), w1_body(), format="json")
    client.get(page)  # the session and caches warm
    with CaptureQueriesContext(connection) as one:
        client.get(page)
    for day in (2, 1):
        api.post(url(woman), {"date": days_ago(day), "visit": None, "bleeding_grade": 0,
                              "items": {"marrow_finding": "normal", "treg": 4.5}}, format="json")

    with CaptureQueriesContext(connection) as three:
        response = client.get(page)

    assert len(three) == len(one)
    assert response.content.decode().count('data-item="marrow_finding"') == 2
