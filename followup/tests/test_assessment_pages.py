"""Assessment capture from the participant page (the same service as the API)."""
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from enrollment.tests.factories import ParticipantFactory
from enrollment.tests.support import eligible_p2_screening
from followup.models import Assessment, LabResult, Transfusion, Visit
from followup.tests.support import days_ago, filled, form_url
from trials.tests.support import setup_update


def test_participant_page_links_a_day_visit_to_the_assessment_form_and_a_sample_to_the_visit_form(client, woman,
                                                                                                 coordinator):
    client.force_login(coordinator)

    page = client.get(reverse("participant-detail", args=[woman.pk])).content.decode()

    assert f'href="{form_url(woman, "W1")}"' in page
    assert reverse("visit-record", args=[woman.pk, "W1"]) not in page
    assert reverse("visit-record", args=[woman.pk, "PK30M"]) in page


def test_assessment_form_offers_the_visits_analytes_with_their_units_and_the_who_grades(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.get(form_url(woman, "D-1"))

    assert response.status_code == 200
    assert [lab.analyte.code for lab in response.context["labs"]] == [
        "HGB", "PLT", "ANC", "WBC", "LYM", "ALT", "AST", "TBIL", "CREAT"]
    hb = response.context["labs"][0]
    assert hb.fields["unit"].choices == [("g/L", "g/L"), ("g/dL", "g/dL")]
    assert list(response.context["items"].fields) == ["th17", "tfh", "treg", "breg", "nk"]  # the visit's items
    page = response.content.decode()
    assert "3 – gross blood loss needing transfusion" in page
    assert "style=" not in page and "<script>" not in page


def test_assessment_form_for_a_platelet_visit_offers_the_blood_count(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.get(form_url(woman, "W1"))

    assert [lab.analyte.code for lab in response.context["labs"]] == ["HGB", "PLT", "ANC", "WBC"]
    assert "immune_treg" not in response.context["form"].fields


def test_assessment_form_records_the_visit_in_si_with_the_values_as_entered(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.post(form_url(woman, "W1"), filled())

    assert response.status_code == 302, response.context and response.context["form"].errors
    assessment = Assessment.objects.get()
    assert (assessment.visit.code, assessment.bleeding_grade) == ("W1", 1)
    assert sorted(LabResult.objects.values_list("analyte", "value", "entered_value", "entered_unit")) == [
        ("HGB", 96.0, 9.6, "g/dL"), ("PLT", 42.0, 42000.0, "/uL")]
    assert list(Transfusion.objects.values_list("kind", "date")) == [
        ("platelet", timezone.localdate() - timedelta(days=4))]
    assert Visit.objects.get(participant=woman, code="W1").state == "done"


def test_assessment_form_with_a_bad_hb_shows_the_message_on_that_row_and_stores_nothing(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.post(form_url(woman, "W1"), filled(**{"lab-HGB-value": "30"}))

    assert response.status_code == 200
    rows = {lab.analyte.code: lab for lab in response.context["labs"]}
    assert rows["HGB"].errors == {"value": [
        "Haemoglobin 30 g/dL (300 g/L) is outside the physiological range 20-250 g/L; check the value and unit."]}
    assert not rows["PLT"].errors
    page = response.content.decode()
    assert 'id="id_lab-HGB-value_error"' in page and "is-invalid" in page
    assert (Assessment.objects.count(), LabResult.objects.count()) == (0, 0)
    assert Visit.objects.get(participant=woman, code="W1").state == "upcoming"


def test_assessment_form_outside_the_window_asks_for_the_deviation_reason(client, woman, coordinator):
    client.force_login(coordinator)
    url = form_url(woman, "W2")

    refused = client.post(url, filled(date=days_ago(0)))
    accepted = client.post(url, filled(date=days_ago(0), deviation_reason="Patient travelling"))

    assert list(refused.context["form"].errors) == ["deviation_reason"]
    assert accepted.status_code == 302
    visit = Visit.objects.get(participant=woman, code="W2")
    assert (visit.state, visit.deviation, visit.deviation_reason) == ("done", True, "Patient travelling")


def test_assessment_form_puts_transfusion_and_rescue_errors_on_their_rows(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.post(form_url(woman, "W1"), filled(**{
        "transfusion-0-date": "", "rescue-1-therapy": "ivig", "rescue-1-start": days_ago(4),
        "rescue-1-end": days_ago(6)}))

    assert response.context["transfusions"][0].errors == {"date": ["Give the date."]}
    assert response.context["rescues"][1].errors == {"end": ["The therapy ends before it starts."]}
    assert Assessment.objects.count() == 0


def test_assessment_form_is_refused_to_a_monitor_and_hidden_from_another_site(client, woman, make_user):
    client.force_login(make_user("monitor"))
    monitor = client.get(form_url(woman, "W1")).status_code
    client.force_login(make_user("coordinator", site="XH"))
    other_site = client.post(form_url(woman, "W1"), filled()).status_code

    assert (monitor, other_site) == (403, 404)
    assert Assessment.objects.count() == 0


def test_assessment_form_for_a_timed_sample_goes_to_the_visit_form(client, woman, coordinator):
    client.force_login(coordinator)

    response = client.get(form_url(woman, "PK30M"))

    assert response.status_code == 302
    assert response.url == reverse("visit-record", args=[woman.pk, "PK30M"])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_coordinator_records_a_visit_assessment_in_the_browser(chromium_page, studies, make_user):
    user = make_user("coordinator", username="wen", password="Correct-Horse-88")
    day0 = timezone.localdate() - timedelta(days=10)
    screening = eligible_p2_screening(user, sex="female")
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=12))
    participant = ParticipantFactory(screening=screening, dose_level_code="A", enrolled_on=day0, first_infusion_on=day0,
                                     by=user)
    InfusionFactory(participant=participant, number=1,
                    started_at=datetime.combine(day0, time(9, 0), tzinfo=timezone.get_current_timezone()),
                    ended_at=None,
                    weight_kg=60, cells_infused=3e7, product={"kind": "msc", "lot": "L1", "viability_pct": 95}, by=user)
    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "wen")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{participant.pk}/")
    page.locator('[data-testid=visit-plan] a[href$="?visit=W1"]').click()
    page.fill("#id_date", days_ago(3))
    page.fill("#id_lab-PLT-value", "42")
    page.fill("#id_lab-HGB-value", "30")
    page.select_option("#id_lab-HGB-unit", "g/dL")
    page.select_option("#id_bleeding_grade", "0")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    assert "outside the physiological range" in page.locator("tr[data-analyte=HGB]").inner_text()
    page.fill("#id_lab-HGB-value", "9.6")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    assert "W1 recorded." in page.content()
    assert page.locator('[data-testid=visit-plan] a[href$="?visit=W1"]').count() == 0
    assert Visit.objects.get(participant=participant, code="W1").state == "done"
    assert sorted(LabResult.objects.values_list("analyte", "value")) == [("HGB", 96.0), ("PLT", 42.0)]
    assert errors == []
