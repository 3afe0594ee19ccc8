"""A coordinator works from the worklist in the browser: sees an overdue visit, follows its link and
records the visit's assessment; the visit leaves the list."""
from datetime import timedelta

import pytest
from django.utils import timezone

from followup.models import Visit
from followup.tests.support import enrol


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_coordinator_follows_an_overdue_visit_from_the_worklist_to_record_it(chromium_page, studies, make_user):
    today = timezone.localdate()
    user = make_user("coordinator", username="mei", password="Correct-Horse-88")
    # Enrolled 20 days ago with the first infusion planned 5 days ago: the baseline window
    # (day -14 to day 0) has passed without a visit, and infusion 1 is overdue too.
    participant = enrol(user, day0=today - timedelta(days=5), enrolled_on=today - timedelta(days=20))
    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "mei")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")

    with page.expect_navigation():
        page.click("[data-testid=nav-worklist]")
    row = page.locator('[data-testid=worklist] tr[data-kind=visit][data-status=overdue]')
    assert row.count() == 1
    assert "Visit BL: Baseline" in row.inner_text() and participant.study_number in row.inner_text()
    assert "overdue" in row.locator(".badge").inner_text()
    assert page.locator('[data-testid=worklist] tr[data-kind=infusion][data-status=overdue]').count() == 1

    with page.expect_navigation():
        row.locator("[data-testid=worklist-act]").click()
    assert page.url.endswith(f"/participants/{participant.pk}/assessments/new/?visit=BL")
    page.fill("#id_date", (today - timedelta(days=6)).isoformat())
    page.fill("#id_lab-PLT-value", "42")
    page.select_option("#id_bleeding_grade", "0")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    assert "BL recorded." in page.content()
    assert Visit.objects.get(participant=participant, code="BL").state == "done"
    with page.expect_navigation():
        page.click("[data-testid=nav-worklist]")
    assert page.locator("[data-testid=worklist] tr[data-kind=visit]").count() == 0
    assert page.locator("[data-testid=worklist] tr[data-kind=infusion]").count() == 1
    assert errors == []
