"""In headless Chromium: an administrator adds a screening item and a criterion that reads it; a
coordinator answers it on the screening page and sees the criterion's result with its arithmetic."""
from datetime import timedelta

import pytest

from enrollment.tests.support import p3_facts, today
from enrollment.tests.test_browser import fill_screening, sign_in
from trials.models import EligibilityCriterion, Item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_item_added_in_the_admin_is_asked_and_judged_on_the_screening_page(chromium_page, studies, make_user):
    make_user("admin", username="qian", password="Correct-Horse-88")
    make_user("coordinator", username="zhao", password="Correct-Horse-88")
    page = chromium_page
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))

    # The administrator: the item, on the screening form...
    sign_in(page, "qian", "Correct-Horse-88")
    page.goto(f"{page.base}/admin/trials/study/{studies['MSC-ITP-5'].pk}/change/")
    with page.expect_navigation():
        page.get_by_role("link", name="Add an item").click()
    page.fill("#id_code", "splenectomy_date")
    page.fill("#id_label", "Date of splenectomy")
    page.select_option("#id_type", "date")
    page.fill("#id_section", "Surgery")
    page.fill("#id_order", "30")
    page.check("#id_on_screening_form")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    item = Item.objects.get(study__code="MSC-ITP-5", code="splenectomy_date")
    assert (item.section, item.placements.get().visit_definition) == ("Surgery", None)

    # ... and a criterion reading it, on the study's page.
    page.goto(f"{page.base}/admin/trials/study/{studies['MSC-ITP-5'].pk}/change/")
    page.locator(".add-row a", has_text="Add another Eligibility criterion").click()  # the admin's own script
    row = page.locator(".dynamic-criteria").last
    row.locator("input[name$=-code]").fill("spleen_6_months")
    row.locator("select[name$=-kind]").select_option("inclusion")
    row.locator("input[name$=-order]").fill("40")
    row.locator("textarea[name$=-text]").fill("Splenectomy at least 6 months before screening.")
    row.locator("select[name$=-rule_type]").select_option("days_since")
    row.locator("textarea[name$=-params]").fill(
        '{"field": "splenectomy_date", "unit": "months", "op": ">=", "value": 6}')
    page.fill("#id_change_reason", "Amendment 4: splenectomy interval")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    assert EligibilityCriterion.objects.filter(study__code="MSC-ITP-5", code="spleen_6_months").exists()

    # The item and the criterion are the amendment in preparation until the administrator activates it.
    page.goto(f"{page.base}/admin/trials/study/{studies['MSC-ITP-5'].pk}/change/")
    page.get_by_role("link", name="Protocol versions").click()
    pending = page.get_by_test_id("pending-changes").inner_text()
    assert "splenectomy_date" in pending and "spleen_6_months" in pending
    page.get_by_label("New protocol version").fill("4")
    page.get_by_label("Effective date (approval)").fill(today().isoformat())
    page.get_by_label("Reason (kept in the audit trail)").fill("Amendment 4 approved by the ethics committee")
    page.get_by_role("button", name="Activate the amendment").click()
    assert "Protocol version 4 of MSC-ITP-5 is in force" in page.locator(".messagelist").inner_text()

    # The coordinator answers it: 200 days before the screening date is 6 whole months.
    page.context.clear_cookies()
    sign_in(page, "zhao", "Correct-Horse-88")
    page.goto(f"{page.base}/studies/MSC-ITP-5/screenings/new/")
    fill_screening(page, p3_facts())
    surgery = today() - timedelta(days=200)
    page.get_by_label("Date of splenectomy").fill(surgery.isoformat())
    page.get_by_role("button", name="Save and evaluate eligibility").click()

    criterion = page.locator("[data-testid=criteria] tr[data-code=spleen_6_months]")
    assert criterion.get_attribute("data-outcome") == "met"
    assert f"splenectomy date {surgery.isoformat()} to screening {today().isoformat()}: 6 months; criterion >= 6 " \
           "months" in criterion.inner_text()
    assert "Date of splenectomy" in page.locator("[data-item=splenectomy_date]").inner_text()
    assert problems == []
