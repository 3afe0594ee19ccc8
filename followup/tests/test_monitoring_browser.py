"""Chromium: the monitoring of one casebook from source data verification to its lock. The monitor
verifies the baseline assessment against source and opens a data query on its platelet count; the
coordinator corrects the value from the query (the correction answers it); the monitor closes the
query; the investigator signs the casebook with their password; the data manager locks it; the
coordinator can no longer correct the assessment; the audit trails show the correction with its
reason and the lock."""
from datetime import timedelta

import pytest

from followup import services
from followup.models import Assessment, LabResult
from followup.query_models import DataQuery
from followup.signoff_models import CasebookSignature
from followup.tests.support import enrol
from enrollment.tests.support import today

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"
QUESTION = "The source lab report reads 24 x 10^9/L: please check the platelet count."
REASON = "Transcription error: 24 x 10^9/L on the source lab report"


def sign_in(page, username):
    page.context.clear_cookies()
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_a_casebook_is_verified_queried_corrected_signed_and_locked_in_the_browser(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="mei", password=PASSWORD)
    monitor = make_user("monitor", username="zhao", password=PASSWORD)
    investigator = make_user("investigator", username="li", password=PASSWORD)
    make_user("data_manager", username="chen", password=PASSWORD)
    participant = enrol(coordinator, day0=today() - timedelta(days=5), enrolled_on=today() - timedelta(days=20))
    services.assessment_record(participant=participant, by=coordinator, data=services.AssessmentInput(
        date=today() - timedelta(days=6), visit="BL", bleeding_grade=0,
        labs=[{"analyte": "PLT", "value": 42, "unit": "10^9/L"}]))
    assessment = Assessment.objects.get(participant=participant)
    assert assessment.visit.code == "BL" and assessment.visit.state == "done"
    participant_url = f"{chromium_page.base}/participants/{participant.pk}/"
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The monitor verifies the baseline assessment against source.
    sign_in(page, "zhao")
    page.goto(participant_url)
    assert page.get_by_test_id("assessment-edit").count() == 0  # a monitor never edits clinical data
    sdv_row = page.locator(f"[data-testid=sdv-states] tr[data-sdv-record=assessment-{assessment.pk}]")
    with page.expect_navigation():
        sdv_row.get_by_role("link", name="verify").click()
    assert page.url.endswith(f"/participants/{participant.pk}/verify/assessment/{assessment.pk}/")
    page.locator("[data-testid=verify-items] tr[data-item='lab:PLT'] input[type=checkbox]").check()
    page.get_by_test_id("verify-submit").click()
    assert page.locator(".alert-success").inner_text() == "Verification recorded."
    assert "by zhao on" in page.locator(
        "[data-testid=verify-items] tr[data-item='lab:PLT'] [data-testid=verified-by]").inner_text()
    page.goto(participant_url)
    verified = page.locator(f"[data-testid=sdv-states] tr[data-sdv-record=assessment-{assessment.pk}]").inner_text()
    assert "verified" in verified.lower(), verified

    # ... and opens a data query on its platelet count from the participant page.
    page.locator(f"[data-testid=assessments] tr[data-assessment='{assessment.pk}']").get_by_test_id(
        "assessment-query").click()
    page.select_option("#id_item", "lab:PLT")
    page.fill("#id_question", QUESTION)
    page.get_by_role("button", name="Open the query").click()
    assert page.locator(".alert-success").inner_text() == "Query opened."
    query = DataQuery.objects.get()
    assert (query.state, query.item, query.opened_by) == ("open", "lab:PLT", monitor)
    assert page.get_by_test_id("query-state").inner_text() == "Open"

    # The coordinator finds the open query and corrects the value from it.
    sign_in(page, "mei")
    page.goto(participant_url)
    assert page.locator(f"[data-testid=assessments] tr[data-assessment='{assessment.pk}']").get_by_test_id(
        "assessment-queried").count() == 1
    assert QUESTION[:60] in page.locator(f"[data-testid=data-queries] tr[data-query='{query.pk}']").inner_text()
    page.click("[data-testid=nav-worklist]")
    with page.expect_navigation():
        page.locator(f"[data-testid=worklist-queries] tr[data-query='{query.pk}']").get_by_role(
            "link", name=QUESTION[:40]).click()
    assert page.url.endswith(f"/queries/{query.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("query-correct").click()
    assert page.url.endswith(f"/assessments/{assessment.pk}/edit/?query={query.pk}")
    assert QUESTION[:60] in page.get_by_test_id("answering-query").inner_text()
    assert page.input_value("#id_lab-PLT-value") == "42"
    page.fill("#id_lab-PLT-value", "24")
    page.fill("#id_reason", REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="Save the correction").click()
    assert "The query is answered with this correction." in page.locator(".alert-success").all_inner_texts()
    assert page.get_by_test_id("query-state").inner_text() == "Answered"
    assert "Corrected on" in page.get_by_test_id("query-correction").inner_text()
    query.refresh_from_db()
    assert (query.state, query.answered_by, query.correction_kind, query.correction_pk) == (
        "answered", coordinator, "lab-result", LabResult.objects.get(assessment=assessment, analyte="PLT").pk)

    # The monitor closes the query.
    sign_in(page, "zhao")
    page.click("[data-testid=nav-worklist]")
    with page.expect_navigation():
        page.locator(f"[data-testid=worklist-queries] tr[data-query='{query.pk}']").get_by_role(
            "link", name=QUESTION[:40]).click()
    assert page.url.endswith(f"/queries/{query.pk}/")
    thread = page.get_by_test_id("query-thread").inner_text()
    assert QUESTION in thread and REASON in thread, thread
    page.fill("#id_note", "Matches the source now.")
    page.get_by_role("button", name="Close the query").click()
    assert page.locator(".alert-success").inner_text() == "Query closed."
    assert page.get_by_test_id("query-state").inner_text() == "Closed"
    query.refresh_from_db()
    assert (query.state, query.closed_by) == ("closed", monitor)

    # The investigator signs the casebook with their password.
    sign_in(page, "li")
    page.goto(participant_url)
    assert page.get_by_test_id("casebook-not-signed").count() == 1
    meaning = page.get_by_test_id("casebook-meaning").inner_text()
    page.get_by_test_id("casebook-sign-form").locator("input[type=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign the casebook").click()
    assert "Casebook signed." in page.locator(".alert-success").all_inner_texts()
    signed = page.get_by_test_id("casebook-signed").inner_text()
    assert signed.startswith("Signed by li (li) on ")
    assert f"Meaning of the signature: “{meaning}”" in signed
    signature = CasebookSignature.objects.get()
    assert (signature.participant, signature.signed_by, signature.meaning) == (participant, investigator, meaning)

    # The data manager locks the casebook with a reason.
    sign_in(page, "chen")
    page.goto(participant_url)
    page.get_by_test_id("casebook-lock-form").locator("input[name=reason]").fill("Ready for the interim analysis")
    with page.expect_navigation():
        page.get_by_role("button", name="Lock casebook").click()
    assert f"The casebook of {participant.study_number} is locked." in page.locator(".alert-success").all_inner_texts()
    banner = page.get_by_test_id("casebook-lock").inner_text()
    assert "This casebook was locked by chen on " in banner and "Ready for the interim analysis" in banner

    # The coordinator can no longer correct the assessment.
    sign_in(page, "mei")
    page.goto(participant_url)
    assert page.get_by_test_id("casebook-lock").count() == 1
    assert page.get_by_test_id("casebook-signed").count() == 1  # the lock changes no data: the signature holds
    assert page.get_by_test_id("assessment-edit").count() == 0
    assert problems == []
    response = page.goto(f"{page.base}/assessments/{assessment.pk}/edit/")
    assert response.status == 403
    assert problems == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    problems.clear()  # the refusal itself, expected
    refusal = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    assert "Locked" in refusal and "Ready for the interim analysis" in refusal and participant.study_number in refusal
    assert LabResult.objects.get(assessment=assessment, analyte="PLT").value == 24

    # The audit trails: the correction with its reason, and the lock.
    page.goto(participant_url)
    row = page.locator(f"[data-testid=assessments] tr[data-assessment='{assessment.pk}']")
    with page.expect_navigation():
        row.get_by_role("link", name="audit", exact=True).click()
    assert page.url.endswith(f"/audit/assessment/{assessment.pk}/")
    entries = page.get_by_test_id("audit-entries").inner_text()
    assert REASON in entries and "mei" in entries, entries
    page.go_back()
    row.get_by_test_id("lab-history").click()
    entries = page.get_by_test_id("audit-entries").inner_text()
    assert REASON in entries and "mei" in entries, entries
    page.goto(participant_url)
    page.get_by_role("link", name="Audit trail").click()
    entries = page.get_by_test_id("audit-entries").inner_text()
    # The participant's trail holds every step of the journey, in the order they were taken.
    steps = ["Verified against source", QUESTION, REASON, "Matches the source now.",
             "Casebook signed by the investigator", "Casebook locked: Ready for the interim analysis"]
    places = [entries.find(step) for step in steps]
    assert -1 not in places and places == sorted(places), (places, entries)
    assert all(name in entries for name in ("zhao", "mei", "li", "chen")), entries
    page.screenshot(path="/tmp/monitoring-audit.png", full_page=True)
    assert problems == []
