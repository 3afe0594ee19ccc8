"""Chromium: a coordinator records an adverse event with its causality (a draft); the site's
investigator finds it on the worklist and confirms it with a signature (password). An
investigator's correction of a signed grade, and the dismissal of a draft, are signed too."""
from datetime import timedelta

import pytest

from dosing.tests.escalation_setup import adverse_event, enrol_p2, window_over
from followup.models import AdverseEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"
MEANING = "I confirm grade, seriousness and relationship to treatment of this adverse event."


def sign_in(page, username):
    page.context.clear_cookies()
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_coordinator_records_causality_and_the_investigator_signs_it_in_the_browser(chromium_page, studies,
                                                                                      make_user):
    coordinator = make_user("coordinator", username="wang", password=PASSWORD)
    investigator = make_user("investigator", username="li", password=PASSWORD)
    participant = enrol_p2(coordinator)
    onset = window_over() + timedelta(days=10)
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(page, "wang")
    page.goto(f"{page.base}/participants/{participant.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("record-adverse-event").click()
    assert page.locator("#id_password").count() == 0  # a coordinator does not sign
    page.fill("#id_term", "Alanine aminotransferase increased")
    page.select_option("#id_category", "non_haematological")
    page.fill("#id_onset_date", onset.isoformat())
    page.select_option("#id_grade", "3")
    page.select_option("#id_serious", "no")
    page.select_option("#id_relationship", "definite")
    page.get_by_role("button", name="Record adverse event").click()

    assert page.locator(".alert-success").inner_text() == (
        "Adverse event recorded as a draft: an investigator of the site confirms grade, seriousness and "
        "relationship with their signature.")
    event = AdverseEvent.objects.get()
    assert (event.status, event.relationship, event.reported_by) == ("draft", "definite", coordinator)

    sign_in(page, "li")
    page.goto(f"{page.base}/worklist/")
    row = page.locator("[data-testid=worklist] tr[data-kind=adverse_event_draft]")
    assert row.count() == 1
    row.get_by_test_id("worklist-act").click()
    assert page.locator("#id_relationship").input_value() == "definite"  # the coordinator's judgement, to confirm
    assert MEANING in page.get_by_test_id("ae-meaning").inner_text()
    page.fill("#id_password", "not-my-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm adverse event").click()
    assert "The password is not correct: the adverse event was not confirmed." in page.inner_text("body")
    event.refresh_from_db()
    assert event.status == "draft"

    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Confirm adverse event").click()

    assert page.locator(".alert-success").inner_text() == "Adverse event confirmed and signed."
    event.refresh_from_db()
    assert (event.status, event.confirmed_by, event.confirmation_meaning) == ("confirmed", investigator, MEANING)
    page.goto(f"{page.base}/adverse-events/{event.pk}/")
    assert page.get_by_test_id("ae-confirmation").inner_text().startswith("Signed by li (li) on ")
    assert page.get_by_test_id("ae-confirmation-meaning").inner_text() == MEANING
    page.screenshot(path="/tmp/adverse-event-signed.png", full_page=True)
    assert problems == []


def test_a_correction_of_the_grade_and_a_dismissal_are_signed_in_the_browser(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="wang", password=PASSWORD)
    investigator = make_user("investigator", username="li", password=PASSWORD)
    participant = enrol_p2(coordinator)
    onset = window_over() + timedelta(days=10)
    signed = adverse_event(participant, onset=onset, by=coordinator, grade=3)  # signed by the site's investigator
    draft = adverse_event(participant, onset=onset, by=coordinator, grade=2, confirmed=False, term="Headache")
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    sign_in(page, "li")
    page.goto(f"{page.base}/adverse-events/{signed.pk}/edit/")
    page.select_option("#id_grade", "2")
    page.fill("#id_reason", "Grade 2 on the source")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the correction").click()
    assert ("The password is not correct: grade, seriousness and relationship of a signed adverse event change only "
            "with your signature.") in page.inner_text("body")
    signed.refresh_from_db()
    assert signed.grade == 3
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Save the correction").click()
    assert page.locator(".alert-success").inner_text() == "Adverse event corrected."
    signed.refresh_from_db()
    assert (signed.status, signed.grade, signed.confirmed_by, signed.confirmation_meaning) == (
        "confirmed", 2, investigator, MEANING)

    page.goto(f"{page.base}/adverse-events/{draft.pk}/")
    page.fill("#id_dismiss_reason", "Tension headache before the infusion")
    page.fill("#id_dismiss_password", "not-my-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Dismiss and sign").click()
    assert "The password is not correct: the adverse event was not dismissed." in page.inner_text("body")
    draft.refresh_from_db()
    assert draft.status == "draft"
    page.fill("#id_dismiss_password", PASSWORD)
    page.get_by_role("button", name="Dismiss and sign").click()

    assert page.locator(".alert-success").inner_text() == "Adverse event dismissed."
    draft.refresh_from_db()
    assert (draft.status, draft.confirmed_by, draft.confirmation_meaning) == (
        "dismissed", investigator, "I judge this is not an adverse event: Tension headache before the infusion")
    page.goto(f"{page.base}/adverse-events/{draft.pk}/")
    assert page.get_by_test_id("ae-confirmation").inner_text().startswith("Signed by li (li) on ")
    assert problems == []
