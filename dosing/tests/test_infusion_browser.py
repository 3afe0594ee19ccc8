"""Chromium: a coordinator records an infusion from the participant page and sees the plan move."""
from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment import services as enrolment
from enrollment.tests.support import eligible_p3_screening

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_records_infusion_1_in_the_browser(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="tian", password="Correct-Horse-88")
    today = timezone.localdate()
    screening = eligible_p3_screening(coordinator)
    participant = enrolment.participant_enrol(screening=screening, first_infusion_on=today, by=coordinator)
    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "tian")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{participant.pk}/")
    page.get_by_test_id("record-infusion").click()
    page.fill("#id_weight_kg", "60")
    page.fill("#id_cells_infused", "6e9")
    page.fill("#id_product_lot", "MSC-2026-014")
    page.fill("#id_product_viability_pct", "93.5")
    with page.expect_navigation():
        page.get_by_role("button", name="Record infusion").click()

    assert "Infusion 1 recorded." in page.content()
    first_row = page.locator("[data-testid=infusion-plan] tbody tr").first.inner_text()
    assert "given" in first_row
    second_row = page.locator("[data-testid=infusion-plan] tbody tr").nth(1).inner_text()
    assert (today + timedelta(days=7)).isoformat() in second_row and "infusion 1 given" in second_row
    page.screenshot(path="/tmp/participant.png", full_page=True)
    assert errors == []
