"""The dose-escalation page (server side): what it shows, who may sign, and its query count."""
from datetime import timedelta

import pytest
from django.utils import timezone

from dosing.models import EscalationDecision
from dosing.tests.escalation_setup import PASSWORD, adverse_event, enrol_p2, window_over
from trials.models import DoseLevel, Study
from trials.tests.support import setup_save, setup_update

URL = "/studies/HUCMSC-ITP-ESC/escalation/"


def test_escalation_page_shows_counts_participants_and_a_preselected_form(client, studies, coordinator, investigator):
    first = enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    adverse_event(first, onset=window_over() + timedelta(days=10), by=coordinator)
    client.force_login(investigator)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="proposal" data-action="expand" data-level="A"' in html
    assert "1 of 3 evaluable participants at level A had a DLT: treat 3 more at A (3+3)." in html
    assert '<td data-count="enrolled">3</td>' in html and '<td data-count="dlts">1</td>' in html
    assert 'data-participant="HUCMSC-ITP-ESC-PUMCH-001"' in html
    window = f"{window_over():%Y-%m-%d} – {window_over() + timedelta(days=49):%Y-%m-%d}"
    assert window in html
    form = response.context["form"]
    assert form["decision"].initial == "expand:A"
    rule = '"1 of 3 with a DLT: treat 3 more at the same dose" (the 3+3 rule of the study).'
    # no "stop A": A has 3 treated, a recommended dose needs 6 with <= 1 DLT (section 4)
    assert [label for _value, label in form.fields["decision"].choices] == [
        f"I approve expand A under rule {rule}", f"I approve stop under rule {rule}"]
    assert "<script>" not in html and "style=" not in html


def test_escalation_page_coordinator_sees_no_form_and_cannot_post(client, studies, coordinator):
    client.force_login(coordinator)
    page = client.get(URL)
    assert page.status_code == 200 and page.context["form"] is None
    assert 'data-testid="decision-form"' not in page.content.decode()
    posted = client.post(URL, {"decision": "escalate:B", "rationale": "x", "password": PASSWORD, "confirm": "on",
                               "rule_seen": "0 of 3 with a DLT: escalate"})
    assert posted.status_code == 403
    assert EscalationDecision.objects.count() == 0


def test_escalation_page_wrong_password_is_403_with_the_message_and_records_nothing(client, studies, coordinator,
                                                                                    investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client.force_login(investigator)

    response = client.post(URL, {"decision": "escalate:B", "rationale": "", "password": "Wrong-one-77", "confirm": "on",
                                 "rule_seen": "0 of 3 with a DLT: escalate"})

    assert response.status_code == 403
    assert response.context["form"].errors == {"password": [
        "The password is not correct: the decision was not signed."]}
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B").status == "planned"


def test_escalation_page_signs_and_redirects(client, studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client.force_login(investigator)

    response = client.post(URL, {"decision": "escalate:B", "rationale": "", "password": PASSWORD, "confirm": "on",
                                 "rule_seen": "0 of 3 with a DLT: escalate"}, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert [str(m) for m in response.context["messages"]] == ["Decision signed: Escalate to the next level (B)."]
    assert 'data-testid="level-B" data-status="open"' in response.content.decode()
    decision = EscalationDecision.objects.get()
    audit = client.get(f"/audit/escalation-decision/{decision.pk}/")
    assert audit.status_code == 200 and "Escalation decision signed" in audit.content.decode()


def test_escalation_page_study_without_escalation_is_404(client, studies, investigator):
    client.force_login(investigator)
    assert client.get("/studies/MSC-ITP-5/escalation/").status_code == 404


def test_escalation_page_other_sites_study_is_404(client, other_site_study, investigator):
    client.force_login(investigator)
    assert client.get("/studies/XH-MSC/escalation/").status_code == 404


def test_study_page_links_to_escalation_only_for_an_escalating_study(client, studies, coordinator):
    client.force_login(coordinator)
    assert 'href="/studies/HUCMSC-ITP-ESC/escalation/"' in client.get("/studies/HUCMSC-ITP-ESC/").content.decode()
    assert "escalation-link" not in client.get("/studies/MSC-ITP-5/").content.decode()


@pytest.mark.parametrize("participants", [1, 9])
def test_escalation_page_query_count_is_constant(client, studies, coordinator, investigator,
                                                 django_assert_max_num_queries, participants):
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    setup_update(DoseLevel.objects.filter(arm__study=study), status="open")
    for index in range(participants):
        participant = enrol_p2(coordinator, level="ABC"[index // 3])
        adverse_event(participant, onset=window_over() + timedelta(days=10), by=coordinator)
        adverse_event(participant, onset=window_over() + timedelta(days=10), by=coordinator,
                      confirmed=False, grade=4)  # a draft: prefetched in the same query
    client.force_login(investigator)
    with django_assert_max_num_queries(13):
        response = client.get(URL)
    assert response.status_code == 200
    assert response.content.decode().count("data-participant=") == participants


RULE_ESCALATE = "0 of 3 with a DLT: escalate"


def test_escalation_page_offers_only_allowed_decisions_as_signed_statements(client, studies, coordinator,
                                                                            investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client.force_login(investigator)

    response = client.get(URL)

    rule = f'"{RULE_ESCALATE}" (the 3+3 rule of the study).'
    assert response.context["form"].fields["decision"].choices == [
        ("escalate:B", f"I approve escalate B under rule {rule}"),
        ("expand:A", f"I approve expand A under rule {rule}"),
        ("stop:", f"I approve stop under rule {rule}")]
    html = response.content.decode()
    assert 'value="escalate:C"' not in html and 'value="escalate:B"' in html and 'value="stop:A"' not in html
    assert "I approve escalate B under rule &quot;0 of 3 with a DLT: escalate&quot;" in html
    assert 'name="confirm"' in html and 'name="password"' in html


def test_escalation_page_refuses_a_level_above_the_rule_with_the_message(client, studies, coordinator, investigator):
    enrol_p2(coordinator)  # 1 of 3 enrolled at A: the rule says wait
    client.force_login(investigator)

    response = client.post(URL, {"decision": "escalate:B", "rationale": "ok", "password": PASSWORD, "confirm": "on",
                                 "rule_seen": "wait: Level A has 1 of 3 places enrolled; enrol 2 more."})

    assert response.status_code == 409
    message = response.context["form"].errors["decision"][0]
    assert message.startswith('The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be '
                              'opened, and the rule does not escalate to B now. The proposal is "wait A"')
    assert "The 3+3 rule does not allow &quot;escalate B&quot;" in response.content.decode()
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B").status == "planned"


def test_escalation_page_refuses_stop_naming_a_level_with_3_treated(client, studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client.force_login(investigator)

    response = client.post(URL, {"decision": "stop:A", "rationale": "safety", "password": PASSWORD, "confirm": "on",
                                 "rule_seen": RULE_ESCALATE})

    assert response.status_code == 409
    assert response.context["form"].errors["decision"] == [
        "Level A cannot be named as the recommended dose: it needs 6 treated with at most 1 DLT (the study's 3+3 "
        "rule) and has 3 DLT-evaluable (0 with a DLT, 0 whose assessment is not final). Expand A to 6 first, "
        "or stop without a recommended dose."]
    assert EscalationDecision.objects.count() == 0
    assert ("A stop names a recommended dose only for a level with 6 participants treated and at most 1 DLT, all "
            "assessed") in response.content.decode()


def test_escalation_page_signature_needs_the_confirmation_ticked(client, studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client.force_login(investigator)

    response = client.post(URL, {"decision": "escalate:B", "rationale": "", "password": PASSWORD,
                                 "rule_seen": RULE_ESCALATE})

    assert response.status_code == 200
    assert response.context["form"].errors == {"confirm": [
        "Tick the confirmation: your signature approves the statement of the decision."]}
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B").status == "planned"


def test_escalation_page_lists_the_decision_with_its_signature_manifestation(client, studies, coordinator,
                                                                              investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    investigator.first_name, investigator.last_name = "Li", "Wei"
    setup_save(investigator)
    client.force_login(investigator)

    response = client.post(URL, {"decision": "escalate:B", "rationale": "", "password": PASSWORD, "confirm": "on",
                                 "rule_seen": RULE_ESCALATE}, follow=True)

    decision = EscalationDecision.objects.get()
    assert (decision.signed_by_name, decision.signature_meaning) == (
        "Li Wei", 'I approve escalate B under rule "0 of 3 with a DLT: escalate" (the 3+3 rule of the study).')
    html = response.content.decode()
    signed_at = timezone.localtime(decision.signed_at)
    assert (f"Signed by Li Wei ({investigator.username}) on {signed_at:%Y-%m-%d %H:%M %Z %z}." in html
            and "I approve escalate B under rule &quot;0 of 3 with a DLT: escalate&quot; (the 3+3 rule of the "
                "study)." in html)
