"""Correcting an assessment in the browser: the participant page's assessment list with its Edit
link, the form prefilled with what was recorded, the required reason, roles and sites."""
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from followup.models import Assessment, LabResult, Transfusion, Visit
from followup.tests.support import assessment_form_as_posted


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def w1_body():
    return {"date": days_ago(3), "visit": "W1", "bleeding_grade": 1, "steroid_mg_per_day": 10,
            "labs": [{"analyte": "PLT", "value": 42000, "unit": "/uL"},
                     {"analyte": "HGB", "value": 9.6, "unit": "g/dL", "lln": 11.5, "uln": 15},
                     {"analyte": "ALT", "value": 30, "unit": "U/L", "uln": 40}],
            "transfusions": [{"kind": "platelet", "date": days_ago(5)}]}


@pytest.fixture
def recorded(api, woman):
    response = api.post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(), format="json")
    assert response.status_code == 201, response.json()
    return Assessment.objects.get(pk=response.json()["id"])


def edit_url(assessment) -> str:
    return reverse("assessment-edit", args=[assessment.pk])


def test_participant_page_lists_the_assessments_with_an_edit_link_for_the_coordinator(client, recorded, coordinator):
    client.force_login(coordinator)

    page = client.get(reverse("participant-detail", args=[recorded.participant_id])).content.decode()

    listing = page.split('data-testid="assessments"')[1].split("</table>")[0]
    assert days_ago(3) in listing and "W1" in listing and "PLT 42 10^9/L" in listing and "HGB 96 g/L" in listing
    assert f'href="{edit_url(recorded)}"' in listing
    assert reverse("audit-trail", args=["assessment", recorded.pk]) in listing


@pytest.mark.parametrize("role", ["investigator", "monitor"])
def test_participant_page_shows_no_edit_link_to_investigators_and_monitors(client, recorded, make_user, role):
    client.force_login(make_user(role))
    page = client.get(reverse("participant-detail", args=[recorded.participant_id])).content.decode()
    assert 'data-testid="assessments"' in page and edit_url(recorded) not in page


def count_queries(request) -> tuple[int, object]:
    """(queries run, response) of one request."""
    executed = []

    def counting(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        response = request()
    return len(executed), response


def test_participant_page_reads_the_same_number_of_rows_sets_for_one_or_many_assessments(client, api, woman,
                                                                                           coordinator):
    client.force_login(coordinator)
    url = reverse("participant-detail", args=[woman.pk])
    api.post(f"/api/v1/participants/{woman.pk}/assessments/", {**w1_body(), "visit": None}, format="json")
    client.get(url)
    with_one, _response = count_queries(lambda: client.get(url))
    for day in range(4, 9):
        api.post(f"/api/v1/participants/{woman.pk}/assessments/", {**w1_body(), "visit": None, "date": days_ago(day)},
                 format="json")

    with_six, response = count_queries(lambda: client.get(url))

    assert with_six == with_one > 0
    assert response.content.decode().count('data-testid="assessment-edit"') == 6


def test_the_edit_form_shows_what_was_recorded(client, recorded, coordinator):
    client.force_login(coordinator)

    response = client.get(edit_url(recorded))

    assert response.status_code == 200
    form = response.context["form"]
    assert (form["visit"].value(), form["bleeding_grade"].value(), str(form["steroid_mg_per_day"].value())) == (
        "W1", 1, "10.00")
    labs = {row.analyte.code: row for row in response.context["labs"]}
    assert [code for code in labs] == ["HGB", "PLT", "ANC", "WBC", "ALT"]  # the visit's and those recorded
    assert (labs["PLT"]["value"].value(), labs["PLT"]["unit"].value()) == (42000, "/uL")
    assert (labs["HGB"]["value"].value(), labs["HGB"]["lln"].value(), labs["HGB"]["uln"].value()) == (9.6, 11.5, 15)
    assert labs["ANC"]["value"].value() is None
    assert response.context["transfusions"][0]["kind"].value() == "platelet"
    choices = [code for code, _label in form.fields["visit"].choices]
    assert choices[:2] == ["", "D-1"] and "W1" in choices and "PK30M" not in choices
    page = response.content.decode()
    assert 'name="reason"' in page and "style=" not in page and "<script>" not in page
    assert reverse("audit-trail", args=["assessment", recorded.pk]) in page


def test_the_coordinator_corrects_a_value_with_a_reason(client, recorded, coordinator):
    client.force_login(coordinator)
    data = assessment_form_as_posted(client.get(edit_url(recorded)))

    response = client.post(edit_url(recorded), {**data, "lab-PLT-value": "24000", "lab-ALT-value": "",
                                                 "lab-ALT-uln": "", "transfusion-0-kind": "", "transfusion-0-date": "",
                                                 "steroid_mg_per_day": "5", "reason": "Wrong report copied"})

    assert response.status_code == 302, response.context and response.context["form"].errors
    assert sorted(LabResult.objects.values_list("analyte", "value")) == [("HGB", 96.0), ("PLT", 24.0)]
    assert Transfusion.objects.count() == 0
    assessment = Assessment.objects.get()
    assert (str(assessment.steroid_mg_per_day), assessment.visit.code) == ("5.00", "W1")
    assert assessment.history.first().history_change_reason == "Wrong report copied"
    assert LabResult.objects.get(analyte="HGB").history.count() == 1  # submitted unchanged: not rewritten


def test_the_form_without_a_reason_names_it_and_changes_nothing(client, recorded, coordinator):
    client.force_login(coordinator)
    data = assessment_form_as_posted(client.get(edit_url(recorded)))

    response = client.post(edit_url(recorded), {**data, "lab-PLT-value": "24000", "reason": ""})

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["Say why the assessment is corrected (kept in the audit "
                                                          "trail)."]}
    assert LabResult.objects.get(analyte="PLT").value == 42.0


def test_the_form_moves_the_assessment_to_unscheduled(client, recorded, coordinator):
    client.force_login(coordinator)
    data = assessment_form_as_posted(client.get(edit_url(recorded)))

    response = client.post(edit_url(recorded), {**data, "visit": "", "reason": "Walk-in, not the W1 visit"})

    assert response.status_code == 302
    assert Assessment.objects.get().visit is None
    assert Visit.objects.get(participant=recorded.participant, code="W1").state == "upcoming"


@pytest.mark.parametrize("role", ["investigator", "monitor"])
def test_investigators_and_monitors_cannot_open_or_post_the_edit_form(client, recorded, make_user, role):
    client.force_login(make_user(role))
    assert client.get(edit_url(recorded)).status_code == 403
    assert client.post(edit_url(recorded), {"reason": "x", "date": days_ago(3)}).status_code == 403


def test_another_sites_coordinator_gets_404_and_anonymous_is_sent_to_sign_in(client, recorded, make_user):
    assert client.get(edit_url(recorded)).status_code == 302
    client.force_login(make_user("coordinator", site="XH"))
    assert client.get(edit_url(recorded)).status_code == 404


def test_coordinator_corrects_an_assessment_in_the_browser(chromium_page, api, woman, coordinator):
    recorded = Assessment.objects.get(pk=api.post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(),
                                                  format="json").json()["id"])
    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", coordinator.username)
    page.fill("#id_password", "Long-enough-pass-91")
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{woman.pk}/")
    page.locator("[data-testid=assessments] [data-testid=assessment-edit]").click()
    page.fill("#id_lab-PLT-value", "24000")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the correction").click()

    assert "Say why the assessment is corrected" in page.content()
    page.fill("#id_reason", "Value copied from the wrong report")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the correction").click()

    assert "corrected." in page.content()
    assert "PLT 24 10^9/L" in page.locator("[data-testid=assessments]").inner_text()
    page.goto(f"{page.base}{reverse('audit-trail', args=['assessment', recorded.pk])}")
    audit = page.locator("[data-testid=audit-entries]").inner_text()
    assert "Value copied from the wrong report" in audit and "lab result PLT 24.0: value (SI)" in audit
    assert errors == []
