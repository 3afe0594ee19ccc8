"""Chromium, by keyboard: the skip link leads past the navigation to the page's content, and a form
that comes back with errors has moved the focus to its error summary (or, without one, to the
first field in error), so that a screen reader reads the errors first."""
from datetime import timedelta

import pytest
from django.urls import reverse

from enrollment.tests.support import today

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"


def sign_in(page, username):
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def focused(page, attribute: str) -> str | None:
    return page.evaluate(f"document.activeElement.getAttribute('{attribute}')")


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(chromium_page, studies, make_user):
    make_user("coordinator", username="mei", password=PASSWORD)
    page = chromium_page
    sign_in(page, "mei")
    page.goto(f"{page.base}/studies/MSC-ITP-5/screenings/new/")
    page.keyboard.press("Tab")
    assert focused(page, "data-testid") == "skip-link"
    assert page.get_by_test_id("skip-link").is_visible()  # shown once focused
    page.keyboard.press("Enter")
    assert focused(page, "id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the content, not the navigation
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def test_a_refused_form_moves_the_focus_to_its_errors(chromium_page, studies, make_user):
    make_user("coordinator", username="mei", password=PASSWORD)
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, "mei")
    page.goto(f"{page.base}/studies/MSC-ITP-5/screenings/new/")
    page.fill("input[name=weight_kg]", "-70")
    page.fill("input[name=birth_date]", (today() + timedelta(days=3)).isoformat())
    page.get_by_test_id("screening-form").locator("button[type=submit]").last.click()
    page.wait_for_load_state()
    assert focused(page, "data-testid") == "form-errors"
    assert "2 problems" in page.evaluate("document.activeElement.innerText")

    # The password change form has no summary: the first field in error takes the focus.
    page.goto(f"{page.base}{reverse('password_change')}")
    page.fill("#id_old_password", "not-the-password")
    page.fill("#id_new_password1", "Another-Horse-99")
    page.fill("#id_new_password2", "Another-Horse-99")
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert focused(page, "id") == "id_old_password"
    assert problems == []
