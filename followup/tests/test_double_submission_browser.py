"""Chromium: the adverse event form, recorded and then posted again with the same data (a resubmit),
records one event and shows the record created the first time."""
import pytest

from dosing.tests.escalation_setup import PASSWORD, enrol_p2
from followup.models import AdverseEvent
from followup.tests.support import ALREADY, form_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill(page, name, value):
    field = page.locator(f"form[data-testid=adverse-event-form] [name={name}]")
    kind = field.first.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
    if kind == "select":
        field.select_option(value)
    elif kind == "radio":
        page.locator(f"form[data-testid=adverse-event-form] [name={name}][value={value}]").check()
    else:
        field.fill(value)


def test_adverse_event_form_sent_again_records_one_event(chromium_page, studies, make_user):
    coordinator = make_user("coordinator", username="wen")
    participant = enrol_p2(coordinator)
    page = chromium_page
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "wen")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{participant.pk}/adverse-events/new/")
    for name, value in form_body().items():
        fill(page, name, value)
    form = page.locator("form[data-testid=adverse-event-form]")
    sent = form.evaluate("f => ({action: f.action, body: new URLSearchParams(new FormData(f)).toString()})")
    assert "submission_token=" in sent["body"]

    with page.expect_navigation():
        page.get_by_role("button", name="Record adverse event").click()
    assert "Adverse event recorded as a draft" in page.content()
    again = page.request.post(sent["action"], data=sent["body"],
                              headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": page.url})

    assert again.ok and again.url == f"{page.base}/participants/{participant.pk}/"
    assert ALREADY in again.text()
    assert AdverseEvent.objects.filter(participant=participant).count() == 1
