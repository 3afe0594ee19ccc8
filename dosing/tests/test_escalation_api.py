"""The dose-escalation API (API.md "Dose escalation", "Errors"): counts, proposal, signed decisions."""
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from dosing.models import EscalationDecision
from dosing.tests.escalation_setup import PASSWORD, adverse_event, enrol_p2, today, window_over
from enrollment.tests.support import eligible_p2_screening
from trials.audit import change_context
from trials.models import DoseLevel, Study
from trials.tests.support import client_for, setup_update

URL = "/api/v1/studies/HUCMSC-ITP-ESC/escalation/"
DECISIONS = URL + "decisions/"


def dlt_window():
    return {"start": window_over().isoformat(), "end": (window_over() + timedelta(days=49)).isoformat()}


def level_counts(body):
    return [(lv["code"], lv["status"], lv["enrolled"], lv["evaluable"], lv["dlts"], lv["in_dlt_window"])
            for lv in body["levels"]]


def test_escalation_api_reports_counts_participants_and_proposal(studies, coordinator):
    first = enrol_p2(coordinator)
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    event = adverse_event(first, onset=window_over() + timedelta(days=10), by=coordinator)

    response = client_for(coordinator).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert level_counts(body) == [("A", "open", 3, 3, 1, 0), ("B", "planned", 0, 0, 0, 0),
                                  ("C", "planned", 0, 0, 0, 0)]
    assert [(lv["dose_per_kg"], lv["group_cap"]) for lv in body["levels"]] == [(5e5, 3), (1e6, 3), (2e6, 3)]
    assert body["proposal"] == {
        "action": "expand", "level": "A", "rule": "1 of 3 with a DLT: treat 3 more at the same dose",
        "reason": "1 of 3 evaluable participants at level A had a DLT: treat 3 more at A (3+3)."}
    assert body["decisions"] == []
    assert (body["study"], body["computed_on"]) == ("HUCMSC-ITP-ESC", today().isoformat())
    row = body["levels"][0]["participants"][0]
    assert row == {
        "id": first.pk, "study_number": "HUCMSC-ITP-ESC-PUMCH-001", "site": "PUMCH", "status": "follow_up",
        "first_infusion": window_over().isoformat(), "dlt_window": dlt_window(), "infusions_received": 4,
        "infusions_planned": 4, "counted": True, "evaluable": True, "in_dlt_window": False, "assessment": "DLT",
        "dlts": [{"adverse_event": event.pk, "term": "Alanine aminotransferase increased", "grade": 3,
                  "onset_date": (window_over() + timedelta(days=10)).isoformat(),
                  "explanation": "DLT: grade 3 non-haematological toxicity, possibly related: "
                                 "grade >= 3 (section 4)."}],
        "drafts_to_confirm": [],
    }
    assert body["levels"][0]["participants_at_other_sites"] == 0


def test_escalation_api_proposes_wait_while_someone_is_in_the_window(studies, coordinator):
    enrol_p2(coordinator)
    enrol_p2(coordinator, day0=today() - timedelta(days=30))

    body = client_for(coordinator).get(URL).json()

    assert level_counts(body)[0] == ("A", "open", 2, 2, 0, 1)
    assert body["proposal"]["action"] == "wait"
    assert body["proposal"]["reason"] == ("Level A has 2 of 3 places enrolled; enrol 1 more "
                                          "(1 still inside the DLT window or not yet evaluable).")


def test_escalation_decision_api_escalate_opens_b_and_is_listed(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    api = client_for(investigator)

    response = api.post(DECISIONS, {"action": "escalate", "level": "B", "rationale": "", "password": PASSWORD},
                        format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["action"], body["level"], body["signed_by"], body["contradicts_proposal"]) == (
        "escalate", "B", investigator.username, False)
    assert body["proposal"] == {"action": "escalate", "level": "B",
                                "reason": "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3)."}
    assert body["levels"] == [{"code": "A", "status": "closed", "group_cap": 3},
                              {"code": "B", "status": "open", "group_cap": 3},
                              {"code": "C", "status": "planned", "group_cap": 3}]
    assert "password" not in body
    meaning = 'I approve escalate B under rule "0 of 3 with a DLT: escalate" (the 3+3 rule of the study).'
    assert (body["signature_meaning"], body["signed_by_name"]) == (meaning, investigator.username)
    listed = api.get(URL).json()
    assert [(d["id"], d["action"], d["level"], d["signature_meaning"]) for d in listed["decisions"]] == [
        (body["id"], "escalate", "B", meaning)]
    assert (listed["proposal"]["action"], listed["proposal"]["level"]) == ("wait", "B")


def test_escalation_after_escalate_enrolment_into_b_succeeds_and_into_a_is_409(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    client_for(investigator).post(DECISIONS, {"action": "escalate", "level": "B", "password": PASSWORD},
                                  format="json")
    api = client_for(coordinator)

    into_b = api.post(f"/api/v1/screenings/{eligible_p2_screening(coordinator).pk}/enrol/", {"dose_level": "B"},
                      format="json")
    into_a = api.post(f"/api/v1/screenings/{eligible_p2_screening(coordinator).pk}/enrol/", {"dose_level": "A"},
                      format="json")

    assert (into_b.status_code, into_b.json()["dose_level"]) == (201, "B")
    assert into_a.status_code == 409
    assert into_a.json() == {"errors": {"dose_level": ["Dose level A is closed, not open for enrolment."]}}


def test_escalation_decision_api_wrong_password_is_403_and_writes_nothing(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)

    response = client_for(investigator).post(
        DECISIONS, {"action": "escalate", "level": "B", "password": "Wrong-password-12"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"errors": {"detail": ["The password is not correct: the decision was not signed."]}}
    assert EscalationDecision.objects.count() == 0
    assert list(DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC").values_list("code", "status")) == [
        ("A", "open"), ("B", "planned"), ("C", "planned")]


def test_escalation_decision_api_coordinator_is_403(studies, coordinator):
    response = client_for(coordinator).post(DECISIONS, {"action": "escalate", "level": "B", "password": PASSWORD},
                                            format="json")
    assert response.status_code == 403
    assert response.json() == {"errors": {"detail": ["Your role at this site does not allow this action."]}}
    assert EscalationDecision.objects.count() == 0


def test_escalation_decision_api_contradicting_without_rationale_is_400(studies, coordinator, investigator):
    enrol_p2(coordinator)

    response = client_for(investigator).post(DECISIONS, {"action": "stop", "password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"rationale": [
        'The proposal is "wait A": Level A has 1 of 3 places enrolled; enrol 2 more. '
        "A decision that differs from it needs a rationale."]}}
    assert EscalationDecision.objects.count() == 0


def test_escalation_decision_api_escalating_while_the_rule_says_wait_is_409_citing_the_rule(
        studies, coordinator, investigator):
    enrol_p2(coordinator)

    response = client_for(investigator).post(
        DECISIONS, {"action": "escalate", "level": "B", "rationale": "ok", "password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert response.json() == {"errors": {"action": [
        'The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be opened, and the rule '
        'does not escalate to B now. The proposal is "wait A" under rule "wait: Level A has 1 of 3 places enrolled; '
        'enrol 2 more.". A decision may differ from the proposal only towards safety (wait, expand the current '
        "level, stop, de-escalate); a level above what the rule allows is never opened."]}}
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="B").status == "planned"


def test_escalation_decision_api_bad_input_names_each_field(studies, investigator):
    response = client_for(investigator).post(DECISIONS, {"action": "open"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": {"action": ['"open" is not a valid choice.'],
                                          "password": ["This field is required."]}}


def test_escalation_decision_api_not_fitting_the_levels_is_409(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    response = client_for(investigator).post(
        DECISIONS, {"action": "escalate", "level": "C", "rationale": "Skip B", "password": PASSWORD}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"]["action"][0].startswith(
        'The 3+3 rule does not allow "escalate C": only the level the rule escalates to may be opened, and the rule '
        'does not escalate to C now. The proposal is "escalate B" under rule "0 of 3 with a DLT: escalate".')
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="C").status == "planned"


def test_escalation_api_other_sites_study_is_404(other_site_study, investigator):
    api = client_for(investigator)
    assert api.get("/api/v1/studies/XH-MSC/escalation/").status_code == 404
    response = api.post("/api/v1/studies/XH-MSC/escalation/decisions/",
                        {"action": "stop", "password": PASSWORD}, format="json")
    assert response.status_code == 404
    assert response.json() == {"errors": {"detail": ["No Study matches the given query."]}}


def test_escalation_api_study_without_escalation_is_404_saying_so(studies, investigator):
    api = client_for(investigator)
    response = api.get("/api/v1/studies/MSC-ITP-5/escalation/")
    assert response.status_code == 404
    assert response.json() == {"errors": {"detail": ["MSC-ITP-5 does not use dose escalation."]}}
    posted = api.post("/api/v1/studies/MSC-ITP-5/escalation/decisions/", {"action": "stop", "password": PASSWORD},
                      format="json")
    assert (posted.status_code, posted.json()) == (404, response.json())


def test_escalation_api_other_sites_participants_are_counted_not_shown(studies, coordinator, make_user):
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    enrol_p2(coordinator)
    enrol_p2(coordinator)
    elsewhere = make_user("coordinator", site="XH")
    with change_context(by=None, reason="Second site joins the study"):
        study.sites.add(elsewhere.memberships.get().site)

    body = client_for(elsewhere).get(URL).json()

    assert level_counts(body)[0] == ("A", "open", 2, 2, 0, 0)
    assert (body["levels"][0]["participants"], body["levels"][0]["participants_at_other_sites"]) == ([], 2)


def test_escalation_api_unauthenticated_is_401(studies):
    assert APIClient().get(URL).status_code == 401


@pytest.mark.parametrize("participants", [1, 9])
def test_escalation_api_query_count_is_constant(studies, coordinator, django_assert_max_num_queries, participants):
    study = Study.objects.get(code="HUCMSC-ITP-ESC")
    setup_update(DoseLevel.objects.filter(arm__study=study), status="open")
    for index in range(participants):
        participant = enrol_p2(coordinator, level="ABC"[index // 3])
        adverse_event(participant, onset=window_over() + timedelta(days=60), by=coordinator)
        adverse_event(participant, onset=window_over() + timedelta(days=20), by=coordinator,
                      confirmed=False, grade=4)  # a draft: prefetched in the same query
    api = client_for(coordinator)
    with django_assert_max_num_queries(7):
        response = api.get(URL)
    assert response.status_code == 200
    assert sum(lv["enrolled"] for lv in response.json()["levels"]) == participants


def test_escalation_api_offers_only_the_decisions_the_rule_allows(studies, coordinator):
    for _ in range(3):
        enrol_p2(coordinator)
    rule = '"0 of 3 with a DLT: escalate" (the 3+3 rule of the study).'

    offered = client_for(coordinator).get(URL).json()["offered_decisions"]

    # Escalate to B (the proposal) or, towards safety, expand A or stop; never C, never B otherwise;
    # never "stop A": A has 3 treated, and a recommended dose needs 6 with <= 1 DLT (section 4).
    assert offered == [
        {"action": "escalate", "level": "B", "meaning": f"I approve escalate B under rule {rule}"},
        {"action": "expand", "level": "A", "meaning": f"I approve expand A under rule {rule}"},
        {"action": "stop", "level": None, "meaning": f"I approve stop under rule {rule}"},
    ]


def test_escalation_decision_api_stop_naming_a_level_with_3_treated_is_409(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)

    response = client_for(investigator).post(
        DECISIONS, {"action": "stop", "level": "A", "rationale": "safety", "password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert response.json() == {"errors": {"action": [
        "Level A cannot be named as the recommended dose: it needs 6 treated with at most 1 DLT (the study's 3+3 "
        "rule) and has 3 DLT-evaluable (0 with a DLT, 0 whose assessment is not final). Expand A to 6 first, "
        "or stop without a recommended dose."]}}
    assert EscalationDecision.objects.count() == 0
    assert DoseLevel.objects.get(arm__study__code="HUCMSC-ITP-ESC", code="A").status == "open"


def test_escalation_decision_api_stop_without_a_level_records_no_recommended_dose(studies, coordinator,
                                                                                   investigator):
    for _ in range(3):
        enrol_p2(coordinator)

    response = client_for(investigator).post(
        DECISIONS, {"action": "stop", "rationale": "sponsor safety review", "password": PASSWORD}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["action"], response.json()["level"]) == ("stop", None)
    assert EscalationDecision.objects.get().level is None
    assert list(DoseLevel.objects.filter(arm__study__code="HUCMSC-ITP-ESC").order_by("order")
                .values_list("code", "status")) == [("A", "closed"), ("B", "planned"), ("C", "planned")]


def test_escalation_decision_api_meaning_not_matching_the_proposal_is_409(studies, coordinator, investigator):
    for _ in range(3):
        enrol_p2(coordinator)
    stale = 'I approve escalate B under rule "wait: Level A has 2 of 3 places enrolled; enrol 1 more."'

    response = client_for(investigator).post(
        DECISIONS, {"action": "escalate", "level": "B", "password": PASSWORD, "meaning": stale}, format="json")

    assert response.status_code == 409
    assert response.json() == {"errors": {"action": [
        'The proposal changed since you read it; the decision now means: "I approve escalate B under rule "0 of 3 '
        'with a DLT: escalate" (the 3+3 rule of the study)." Read the page again and sign if you agree.']}}
    assert EscalationDecision.objects.count() == 0
