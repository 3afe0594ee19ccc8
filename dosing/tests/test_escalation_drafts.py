"""Adverse event drafts and the 3+3 rule (CLINICAL_RULES.md section 4): a draft inside the DLT
window that could be a DLT keeps its participant's assessment open, so the rule waits (API and page)."""
from datetime import timedelta

import pytest

from dosing.models import EscalationDecision
from dosing.tests.escalation_setup import PASSWORD, adverse_event, dlt_onset, enrol_p2, window_over
from followup.services import adverse_event_dismiss
from trials.models import DoseLevel
from trials.tests.support import SIGNER_PASSWORD, client_for, confirm_adverse_event, site_investigator

API_URL = "/api/v1/studies/HUCMSC-ITP-ESC/escalation/"
PAGE_URL = "/studies/HUCMSC-ITP-ESC/escalation/"
FIRST = "HUCMSC-ITP-ESC-PUMCH-001"


def sentence():
    return (f"The adverse event draft of {FIRST} on {dlt_onset().isoformat()} must be confirmed or dismissed before "
            "the rule can decide.")


def three_at_a_with_a_draft(coordinator, **draft):
    """Three participants treated at A, window over; the coordinator records a grade 4, possibly
    related event of the first inside its DLT window (a draft until an investigator signs it)."""
    first = enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    values = {"grade": 4, "relationship": "possible"} | draft
    event = adverse_event(first, onset=dlt_onset(), by=coordinator, confirmed=False, **values)
    assert event.status == "draft"
    return event


def test_escalation_api_draft_that_could_be_a_dlt_makes_the_rule_wait(studies, coordinator):
    event = three_at_a_with_a_draft(coordinator)

    body = client_for(coordinator).get(API_URL).json()

    assert [(lv["code"], lv["enrolled"], lv["evaluable"], lv["dlts"], lv["in_dlt_window"])
            for lv in body["levels"]][0] == ("A", 3, 3, 0, 1)
    assert body["proposal"] == {
        "action": "wait", "level": "A", "rule": None,
        "reason": sentence() + " Level A: 3 of 3 participants DLT-evaluable, 1 still inside the DLT window or not yet "
                             "evaluable; wait for their DLT assessment (0 with a DLT so far)."}
    assert [(d["action"], d["level"]) for d in body["offered_decisions"]] == [("expand", "A"), ("stop", None)]
    row = body["levels"][0]["participants"][0]
    assert (row["study_number"], row["in_dlt_window"], row["assessment"], row["dlts"]) == (
        FIRST, True, "Adverse event draft awaiting the investigator's confirmation", [])
    assert row["drafts_to_confirm"] == [{"adverse_event": event.pk, "term": "Alanine aminotransferase increased",
                                         "onset_date": dlt_onset().isoformat(), "message": sentence()}]


def test_escalation_decision_api_escalating_over_a_draft_is_409(studies, coordinator, investigator):
    three_at_a_with_a_draft(coordinator)

    response = client_for(investigator).post(
        API_URL + "decisions/", {"action": "escalate", "level": "B", "rationale": "ok", "password": PASSWORD},
        format="json")

    assert response.status_code == 409
    message = response.json()["errors"]["action"][0]
    assert message.startswith('The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be '
                              'opened, and the rule does not escalate to B now. The proposal is "wait A" under rule '
                              f'"wait: {sentence()}')
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B").status == "planned"


def test_escalation_api_draft_confirmed_counts_as_dlt(studies, coordinator):
    event = three_at_a_with_a_draft(coordinator)
    confirm_adverse_event(event)

    proposal = client_for(coordinator).get(API_URL).json()["proposal"]

    assert (proposal["action"], proposal["level"]) == ("expand", "A")


def test_escalation_api_draft_dismissed_no_longer_holds_the_rule(studies, coordinator):
    event = three_at_a_with_a_draft(coordinator)
    adverse_event_dismiss(event=event, reason="Recorded on the wrong participant", password=SIGNER_PASSWORD,
                          by=site_investigator())

    body = client_for(coordinator).get(API_URL).json()

    assert (body["proposal"]["action"], body["proposal"]["level"]) == ("escalate", "B")
    assert body["levels"][0]["participants"][0]["drafts_to_confirm"] == []


@pytest.mark.parametrize(("draft", "why"), [
    ({"relationship": "unrelated"}, "unrelated to treatment"),
    ({"grade": 2}, "grade 2 non-haematological toxicity"),
    ({"grade": 3, "category": "haematological"}, "haematological grade 3 only counts as grade 5"),
    ({"onset": "outside"}, "onset after the DLT window"),
])
def test_escalation_api_draft_that_cannot_be_a_dlt_does_not_hold_the_rule(studies, coordinator, draft, why):
    first = enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    values = {"grade": 4, "relationship": "possible"} | draft
    onset = window_over() + timedelta(days=50) if values.pop("onset", None) else dlt_onset()
    adverse_event(first, onset=onset, by=coordinator, confirmed=False, **values)

    proposal = client_for(coordinator).get(API_URL).json()["proposal"]

    assert (proposal["action"], proposal["level"]) == ("escalate", "B"), why


def test_escalation_page_participant_row_names_the_draft_to_confirm(client, studies, coordinator, investigator):
    three_at_a_with_a_draft(coordinator)
    client.force_login(investigator)

    response = client.get(PAGE_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="proposal" data-action="wait" data-level="A"' in html
    row = html.split(f'data-participant="{FIRST}"', 1)[1].split("</tr>", 1)[0]
    assert "Adverse event draft awaiting the investigator&#x27;s confirmation" in row
    assert f'<div class="small text-danger draft-to-confirm">{sentence()}</div>' in row
    assert [value for value, _label in response.context["form"].fields["decision"].choices] == ["expand:A", "stop:"]
    assert 'value="escalate:B"' not in html
