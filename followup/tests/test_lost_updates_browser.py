"""Chromium: two coordinators open the same assessment's correction page; the second to save sees
what the first changed (who, which field, why) with their own values still in the form, nothing
of the first change overwritten, and saving again applies theirs."""
import pytest
from django.urls import reverse

from dosing.tests.escalation_setup import PASSWORD
from followup.models import Assessment
from followup.tests.test_assessment_update_api import w1_body
from trials.tests.support import client_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser, base, username):
    page = browser.new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_the_second_save_shows_the_first_and_keeps_the_users_values(chromium_page, studies, make_user, woman):
    make_user("coordinator", username="ana")
    make_user("coordinator", username="bo")
    response = client_for(make_user("coordinator")).post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(),
                                                         format="json")
    assessment = Assessment.objects.get(pk=response.json()["id"])
    url = f"{chromium_page.base}{reverse('assessment-edit', args=[assessment.pk])}"
    ana, bo = (signed_in(chromium_page.context.browser, chromium_page.base, name) for name in ("ana", "bo"))
    ana.goto(url)
    bo.goto(url)

    bo.fill("[name=notes]", "Gum bleeding")
    bo.fill("[name=reason]", "Nurse's note")
    bo.get_by_role("button", name="Save the correction").click()
    bo.wait_for_url(f"**{reverse('participant-detail', args=[woman.pk])}")
    ana.fill("[name=notes]", "Petechiae on both legs")
    ana.fill("[name=reason]", "Seen at the visit")
    ana.get_by_role("button", name="Save the correction").click()

    box = ana.locator("[data-testid=edit-conflict]")
    box.wait_for(state="visible")
    text = box.inner_text()
    assert "bo (Nurse's note)" in text and "notes Routine visit → Gum bleeding" in text
    assert ana.input_value("[name=notes]") == "Petechiae on both legs"
    assert ana.input_value("[name=reason]") == "Seen at the visit"
    assert Assessment.objects.get(pk=assessment.pk).notes == "Gum bleeding"  # nothing overwritten

    ana.get_by_role("button", name="Save the correction").click()

    ana.wait_for_url(f"**{reverse('participant-detail', args=[woman.pk])}")
    assert Assessment.objects.get(pk=assessment.pk).notes == "Petechiae on both legs"
