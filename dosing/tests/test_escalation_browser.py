"""Chromium: an investigator signs the 3+3 decision to escalate after level A's DLT windows end."""
import pytest

from dosing.models import EscalationDecision
from dosing.tests.escalation_setup import enrol_p2
from enrollment.models import Participant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-88"


def test_investigator_signs_escalation_to_b_in_the_browser(chromium_page, studies, make_user):
    coordinator = make_user("coordinator")
    investigator = make_user("investigator", username="li", password=PASSWORD)
    # Three level-A participants, 4 weekly infusions given, the last one 39 days ago: their DLT
    # windows (28 days after the last planned infusion) are over, and nobody had a DLT.
    for _ in range(3):
        enrol_p2(coordinator)
    assert [p.infusions.filter(state="given").count() for p in Participant.objects.all()] == [4, 4, 4]
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "li")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="HUCMSC-ITP-ESC").click()
    with page.expect_navigation():
        page.get_by_test_id("escalation-link").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Dose escalation: HUCMSC-ITP-ESC"
    proposal = page.get_by_test_id("proposal")
    assert proposal.get_attribute("data-action") == "escalate"
    assert proposal.get_by_test_id("proposal-action").inner_text() == "Escalate"
    assert proposal.get_by_test_id("proposal-level").inner_text() == "B"
    assert proposal.get_by_test_id("proposal-reason").inner_text() == (
        "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3).")
    level_a = page.get_by_test_id("level-A")
    assert level_a.locator("[data-testid=participants] tbody tr").count() == 3
    assert [level_a.locator(f"[data-count={name}]").inner_text() for name in
            ("enrolled", "evaluable", "dlts", "in_dlt_window")] == ["3", "3", "0", "0"]
    assert page.get_by_test_id("level-B").get_by_test_id("level-status").inner_text() == "Planned"
    statement = 'I approve escalate B under rule "0 of 3 with a DLT: escalate" (the 3+3 rule of the study).'
    assert page.locator("input[name=decision]:checked").input_value() == "escalate:B"
    assert page.get_by_label(statement).is_checked()
    assert page.locator("input[name=decision][value='escalate:C']").count() == 0

    page.fill("#id_rationale", "Safety review of level A: no DLT in 3 participants.")
    page.check("#id_confirm")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign the decision").click()

    assert page.locator(".alert-success").inner_text() == "Decision signed: Escalate to the next level (B)."
    assert page.get_by_test_id("level-B").get_by_test_id("level-status").inner_text() == "Open"
    assert page.get_by_test_id("level-A").get_by_test_id("level-status").inner_text() == "Closed"
    assert page.get_by_test_id("proposal").get_attribute("data-action") == "wait"
    decisions = page.locator("[data-testid=decisions] tbody tr")
    assert decisions.count() == 1
    assert "li" in decisions.inner_text() and "Safety review of level A" in decisions.inner_text()
    assert statement in decisions.get_by_test_id("signature").inner_text()
    page.screenshot(path="/tmp/escalation.png", full_page=True)
    decision = EscalationDecision.objects.get()
    assert (decision.action, decision.level.code, decision.signed_by) == ("escalate", "B", investigator)
    assert decision.signature_meaning == statement
    assert problems == []


def test_investigator_cannot_open_a_level_above_the_rule_in_the_browser(chromium_page, studies, make_user):
    coordinator = make_user("coordinator")
    make_user("investigator", username="wang", password=PASSWORD)
    enrol_p2(coordinator)  # 1 of 3 places taken at A: the rule says wait, nothing may open above A
    page = chromium_page
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "wang")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{page.base}/studies/HUCMSC-ITP-ESC/escalation/")

    assert page.get_by_test_id("proposal").get_attribute("data-action") == "wait"
    offered = page.locator("input[name=decision]")
    # no "stop:A": with 1 treated A cannot be named as the recommended dose (6 with <= 1 DLT needed)
    assert sorted(offered.nth(i).input_value() for i in range(offered.count())) == ["expand:A", "stop:"]
    # A form posted with a level the page does not offer (edited, or an old page): escalate to B.
    offered.first.evaluate("radio => { radio.value = 'escalate:B'; radio.checked = true; }")
    page.fill("#id_rationale", "The pilot showed A is safe")
    page.check("#id_confirm")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign the decision").click()

    assert page.locator(".alert-danger").first.inner_text() == "The decision was not signed."
    error = page.locator("#decide .invalid-feedback, #decide .alert-block").first.inner_text()
    assert error.startswith('The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be '
                            'opened, and the rule does not escalate to B now.')
    assert "a level above what the rule allows is never opened" in error
    assert page.get_by_test_id("level-B").get_by_test_id("level-status").inner_text() == "Planned"
    assert page.get_by_test_id("level-A").get_by_test_id("level-status").inner_text() == "Open"
    assert EscalationDecision.objects.count() == 0
