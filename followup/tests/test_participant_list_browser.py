"""A coordinator finds a participant by initials in the browser and opens a cell of the study's
participant x visit grid: the overdue baseline visit, to record its assessment."""
from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.models import Screening
from followup.tests.support import enrol
from trials.tests.support import setup_update


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_coordinator_finds_a_participant_by_initials_and_opens_a_grid_cell(chromium_page, studies, make_user):
    today = timezone.localdate()
    user = make_user("coordinator", username="mei", password="Correct-Horse-88")
    # Enrolled 20 days ago, first infusion planned 5 days ago: the baseline visit is overdue.
    wanted = enrol(user, day0=today - timedelta(days=5), enrolled_on=today - timedelta(days=20))
    other = enrol(user, day0=today - timedelta(days=5), enrolled_on=today - timedelta(days=20))
    setup_update(Screening.objects.filter(pk=wanted.screening_id), initials="WXM")
    setup_update(Screening.objects.filter(pk=other.screening_id), initials="LHY")
    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "mei")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")

    with page.expect_navigation():
        page.click("[data-testid=nav-participants]")
    assert page.locator("[data-testid=participant-link]").count() == 2
    page.select_option("#participants-study", "MSC-ITP-5")
    page.fill("#participants-q", "wxm")
    with page.expect_navigation():
        page.click("[data-testid=participants-filter]")
    links = page.locator("[data-testid=participant-link]")
    assert links.count() == 1 and links.inner_text() == wanted.study_number

    with page.expect_navigation():
        page.click("[data-testid=grid-link]")
    rows = page.locator("[data-testid=participant-grid] tbody tr")
    assert rows.count() == 1 and wanted.study_number in rows.inner_text()
    cell = rows.locator('[data-testid=grid-cell][data-kind=visit][data-key=BL]')
    assert cell.get_attribute("data-state") == "overdue" and cell.inner_text() == "!"
    assert cell.get_attribute("aria-label").startswith("Visit BL: overdue")
    with page.expect_navigation():
        cell.click()
    assert page.url.endswith(f"/participants/{wanted.pk}/assessments/new/?visit=BL")
    assert errors == []
