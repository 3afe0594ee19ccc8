"""Prior-therapy rows added in place on the screening form (static/js/formset_rows.js), in headless
Chromium: what was typed stays, both rows are saved, and the Content-Security-Policy refuses nothing."""
import pytest

from enrollment.models import PriorTherapy, Screening
from enrollment.tests.support import years_ago

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username, password):
    page.goto(f"{page.base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_more_rows_adds_a_prior_therapy_row_in_place_and_both_rows_are_saved(chromium_page, studies, make_user):
    make_user("coordinator", username="zhao", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, "zhao", "Correct-Horse-88")
    page.goto(f"{page.base}/studies/MSC-ITP-5/screenings/new/")
    url = page.url
    rows = page.locator("[data-testid=therapy-entry] tbody tr")
    assert rows.count() == 4
    assert not page.get_by_text("(reloads the form: add rows before typing)").is_visible()
    page.fill("#id_initials", "WL")
    page.check("#id_prior_therapies_recorded")
    page.select_option("#id_therapy-0-therapy", "glucocorticoid")
    page.fill("#id_therapy-0-dose_text", "prednisone 1 mg/kg")
    page.select_option("#id_therapy-0-outcome", "none")

    page.get_by_test_id("more-therapy-rows").click()

    assert page.url == url  # no reload
    assert rows.count() == 5
    assert page.input_value("[name=therapy-TOTAL_FORMS]") == "5"
    assert rows.nth(4).locator("td").first.inner_text() == "5"
    assert page.evaluate("document.activeElement.id") == "id_therapy-4-therapy"
    assert page.input_value("#id_therapy-0-dose_text") == "prednisone 1 mg/kg"
    assert page.input_value("#id_therapy-0-therapy") == "glucocorticoid"
    page.select_option("#id_therapy-4-therapy", "tpo_agent")
    page.fill("#id_therapy-4-start", years_ago(1, 200))
    page.select_option("#id_therapy-4-outcome", "pr")
    with page.expect_navigation():
        page.get_by_role("button", name="Save and evaluate eligibility").click()

    assert page.locator(".alert-success").count() == 1
    screening = Screening.objects.get()
    saved = sorted(PriorTherapy.objects.filter(screening=screening).values_list("therapy", "dose_text", "outcome"))
    assert saved == [("glucocorticoid", "prednisone 1 mg/kg", "none"), ("tpo_agent", "", "pr")]
    assert problems == []


def test_more_rows_stops_at_the_most_rows_a_screening_takes(chromium_page, studies, make_user):
    make_user("coordinator", username="zhao", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, "zhao", "Correct-Horse-88")
    page.goto(f"{page.base}/studies/MSC-ITP-5/screenings/new/?therapy_rows=39")
    link = page.get_by_test_id("more-therapy-rows")

    link.click()

    assert page.locator("[data-testid=therapy-entry] tbody tr").count() == 40
    assert not link.is_visible()
    assert problems == []
