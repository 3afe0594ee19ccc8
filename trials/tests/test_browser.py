"""Journeys in headless Chromium (Playwright) against the live server."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username, password):
    page.goto(f"{page.base}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_coordinator_signs_in_and_reads_a_study_page(chromium_page, studies, make_user):
    make_user("coordinator", username="liu", password="Correct-Horse-88")
    page = chromium_page
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    sign_in(page, "liu", "Correct-Horse-88")
    with page.expect_navigation():
        page.get_by_role("link", name="MSC-ITP-5").click()

    assert page.get_by_role("heading", level=1).inner_text() == "MSC-ITP-5"
    rows = page.locator("[data-testid=infusion-schedule] tbody tr")
    assert rows.count() == 5
    assert rows.nth(2).inner_text().split("\t") == [
        "3", "infusion 2 as given + 14 days", "±3 d", "day 21", "18 – 24", "history"]
    visits = page.locator("[data-testid=visit-schedule] tbody tr td:first-child").all_inner_texts()
    assert visits == ["BL", "D14", "M1", "M2", "M3", "M6", "M9", "M12"]
    assert page.locator("[data-testid=criteria-inclusion] tbody tr").count() == 12
    assert "ITP response, IWG 2009" in page.locator("[data-testid=response-criteria]").inner_text()

    with page.expect_navigation():
        page.get_by_role("link", name="Audit trail").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Audit trail: study MSC-ITP-5"
    first = page.locator("[data-testid=audit-entries] tbody tr").last.inner_text()
    assert "created" in first and "Loaded from the study definition MSC-ITP-5" in first  # worded for the reader
    assert errors == []


def test_wrong_password_is_refused_in_the_browser(chromium_page, studies, make_user):
    make_user("monitor", username="gao", password="Correct-Horse-88")
    page = chromium_page
    sign_in(page, "gao", "not-the-password")
    assert "Please enter a correct username and password" in page.content()
    assert page.url.endswith("/accounts/login/?next=/") or "/accounts/login/" in page.url
