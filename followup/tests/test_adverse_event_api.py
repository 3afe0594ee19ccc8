"""Adverse events through the API (API.md 'POST /api/v1/participants/{id}/adverse-events/'), with
the DLT assessment of CLINICAL_RULES.md section 4 in each response."""
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dosing.tests.escalation_setup import enrol_p2, today, window_over
from followup.models import AdverseEvent
from followup.tests.support import dlt_onset, event_body
from trials.tests.support import SIGNER_PASSWORD, Later, client_for, made, site_investigator


def window_end():
    return window_over() + timedelta(days=49)


@pytest.fixture
def participant(studies, coordinator):
    return enrol_p2(coordinator)


@pytest.fixture
def signer(studies):
    """An API client of the site's investigator; events it posts carry the password (signed)."""
    client = client_for(site_investigator())
    post = client.post

    def signed_post(path, data=None, **kwargs):
        return post(path, {**data, "password": SIGNER_PASSWORD} if isinstance(data, dict) else data, **kwargs)

    client.post = signed_post
    return client


def url(participant):
    return f"/api/v1/participants/{participant.pk}/adverse-events/"


def test_adverse_event_api_records_the_event_with_its_dlt_assessment(api, participant, coordinator):
    response = api.post(url(participant), event_body(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    event = AdverseEvent.objects.get()
    assert body["id"] == event.pk
    assert {key: body[key] for key in event_body()} == event_body()
    assert (body["resolution_date"], body["reported_by"], body["stopped_infusions"]) == (None, coordinator.username,
                                                                                         False)
    # A coordinator's record is a draft: it counts nowhere until the investigator signs it.
    assert (body["status"], body["confirmation"], body["dlt"]["is_dlt"], body["dlt"]["counts"]) == (
        "draft", None, False, False)
    investigator = site_investigator()
    confirmed = client_for(investigator).post(f"/api/v1/adverse-events/{event.pk}/confirm/", {
        "grade": 3, "serious": False, "relationship": "possible", "password": SIGNER_PASSWORD}, format="json")
    assert confirmed.status_code == 200, confirmed.json()
    body = confirmed.json()
    assert body["status"] == "confirmed"
    assert body["confirmation"]["signed_by"] == investigator.username
    assert body["dlt"] == {
        "is_dlt": True,
        "explanation": "DLT: grade 3 non-haematological toxicity, possibly related: grade >= 3 (section 4).",
        "in_dlt_window": True,
        "dlt_window": {"start": window_over().isoformat(), "end": window_end().isoformat()},
        "window_explanation": f"Onset {dlt_onset().isoformat()} is inside the DLT window "
                              f"{window_over().isoformat()} to {window_end().isoformat()}.",
        "counts": True,
    }
    assert [(row.history_change_reason, row.history_user) for row in event.history.order_by("history_id")] == [
        ("Adverse event recorded as a draft for the investigator to confirm", coordinator),
        ("Adverse event confirmed and signed at grade 3", investigator)]


@pytest.mark.parametrize(
    "changes, is_dlt, in_window, explanation",
    [
        ({"relationship": "unrelated"}, False, True,
         "Not a DLT: grade 3 non-haematological toxicity is unrelated to treatment; a DLT must be possibly, "
         "probably or definitely related (section 4)."),
        (Later(lambda: {"onset_date": (window_end() + timedelta(days=1)).isoformat()}), True, False,
         "DLT: grade 3 non-haematological toxicity, possibly related: grade >= 3 (section 4)."),
        ({"category": "fever", "term": "Fever", "resolved_to_grade1_within_48h": True}, False, True,
         "Not a DLT: grade 3 fever resolved to <= grade 1 within 48 h (section 4 exception)."),
        ({"category": "haematological", "term": "Platelet count decreased", "platelet_drop_confirmed": True}, True,
         True, "DLT: platelets fell >= 50 % below baseline, confirmed twice, possibly related (section 4)."),
    ],
)
def test_adverse_event_api_dlt_follows_attribution_window_and_exceptions(signer, participant, changes, is_dlt,
                                                                         in_window, explanation):
    body = signer.post(url(participant), {**event_body(), **made(changes)}, format="json").json()
    assert (body["dlt"]["is_dlt"], body["dlt"]["in_dlt_window"], body["dlt"]["explanation"]) == (
        is_dlt, in_window, explanation)
    assert body["dlt"]["counts"] is (is_dlt and in_window)


@pytest.mark.parametrize(
    "changes, errors",
    [
        ({"term": " ", "grade": 7, "relationship": "maybe"},
         {"term": ["Give the CTCAE term of the event."],
          "grade": ["The CTCAE grade is a whole number from 1 to 5."],
          "relationship": ["Give the relationship to treatment: Unrelated, Unlikely, Possible, Probable, Definite."]}),
        ({"category": "cardiac", "serious": None},
         {"category": ["Choose the category: Haematological, Non-haematological, Infusion-related reaction, "
                       "Allergic reaction, Fever."],
          "serious": ["Say whether the event is serious."]}),
        (Later(lambda: {"onset_date": (today() + timedelta(days=1)).isoformat(),
                        "resolution_date": today().isoformat()}),
         {"onset_date": ["The onset cannot be in the future."],
          "resolution_date": ["The event resolves before its onset."]}),
        (Later(lambda: {"onset_date": (window_over() - timedelta(days=10)).isoformat()}),
         Later(lambda: {"onset_date": [
             f"The onset {(window_over() - timedelta(days=10)).isoformat()} is before consent and enrolment "
             f"({(window_over() - timedelta(days=2)).isoformat()}): an event of the study starts on or after "
             f"{(window_over() - timedelta(days=2)).isoformat()}."]})),
        (Later(lambda: {"resolution_date": (dlt_onset() - timedelta(days=1)).isoformat()}),
         {"resolution_date": ["The event resolves before its onset."]}),
        ({"grade": 5, "serious": False, "resolved_to_grade1_within_48h": True},
         {"serious": ["A grade 5 event (death) is serious."],
          "outcome": ["A grade 5 event (death) has the outcome Fatal."],
          "resolved_to_grade1_within_48h": ["Only a fever is judged on resolving to grade 1 within 48 h "
                                            "(the study's DLT definition)."]}),
        ({"platelet_drop_confirmed": True},
         {"platelet_drop_confirmed": [
             "A platelet fall is a haematological event: choose the category Haematological."]}),
        ({"onset_date": None, "grade": None},
         {"onset_date": ["Give the date of onset."], "grade": ["Give the CTCAE grade (1-5)."]}),
        ({"onset_date": "10/03/2026", "grade": "three"},
         {"onset_date": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."],
          "grade": ["A valid integer is required."]}),
    ],
)
def test_adverse_event_api_bad_input_is_400_naming_each_field(api, participant, changes, errors):
    response = api.post(url(participant), {**event_body(), **made(changes)}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": made(errors)}
    assert AdverseEvent.objects.count() == 0


def test_adverse_event_api_lists_events_with_their_dlt_assessment(signer, participant):
    signer.post(url(participant), event_body(), format="json")
    signer.post(url(participant), {**event_body(), "onset_date": today().isoformat(), "term": "Headache", "grade": 1},
                format="json")

    body = signer.get(url(participant)).json()

    assert [(e["term"], e["dlt"]["is_dlt"], e["dlt"]["in_dlt_window"]) for e in body] == [
        ("Alanine aminotransferase increased", True, True), ("Headache", False, False)]


def test_adverse_event_api_before_any_infusion_has_no_window(studies, signer, coordinator):
    participant = enrol_p2(coordinator, day0=today(), infusions=0)
    body = signer.post(url(participant), {**event_body(), "onset_date": today().isoformat()}, format="json").json()
    assert body["dlt"]["dlt_window"] is None
    assert body["dlt"]["window_explanation"] == "No infusion given yet: the DLT window has not started."
    assert (body["dlt"]["is_dlt"], body["dlt"]["counts"]) == (True, False)


def test_adverse_event_api_monitor_is_403_and_other_site_is_404(participant, make_user):
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))
    assert monitor.post(url(participant), event_body(), format="json").status_code == 403
    assert monitor.get(url(participant)).status_code == 200
    elsewhere = APIClient()
    elsewhere.force_authenticate(make_user("coordinator", site="XH"))
    assert elsewhere.post(url(participant), event_body(), format="json").status_code == 404
    assert elsewhere.get(url(participant)).status_code == 404
    assert AdverseEvent.objects.count() == 0


# --- seriousness, action taken, outcome and the sae_body() reporting deadline (section 3) ------------


def sae_body():
    return {**event_body(), "serious": True, "seriousness": ["hospitalisation"], "action_taken": "dose_delayed",
            "outcome": "recovering"}


@pytest.mark.parametrize(
    "changes, errors",
    [
        ({"seriousness": []},
         {"seriousness": ["A serious adverse event needs at least one seriousness criterion: Results in death, "
                          "Life-threatening, Requires or prolongs hospitalisation, Persistent or significant "
                          "disability, Congenital anomaly, Other important medical event."]}),
        ({"seriousness": ["hospitalised"], "action_taken": "paused", "outcome": "better"},
         {"seriousness": ["Unknown seriousness criteria hospitalised; choose among: Results in death, "
                          "Life-threatening, "
                          "Requires or prolongs hospitalisation, Persistent or significant disability, "
                          "Congenital anomaly, Other important medical event."],
          "action_taken": ["Choose the action taken: None, Dose delayed, Infusion interrupted, Infusion stopped, "
                           "Treatment discontinued."],
          "outcome": ["Choose the outcome: Recovered, Recovering, Not recovered, Recovered with sequelae, Fatal, "
                      "Unknown."]}),
        ({"grade": 5, "seriousness": ["death"], "outcome": "recovering"},
         {"outcome": ["A grade 5 event (death) has the outcome Fatal."]}),
        ({"serious": False},
         {"seriousness": ["Seriousness criteria are given only for a serious event."]}),
    ],
)
def test_serious_adverse_event_validation_names_the_fields(api, participant, changes, errors):
    response = api.post(url(participant), {**sae_body(), **changes}, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": errors}
    assert AdverseEvent.objects.count() == 0


def test_serious_adverse_event_has_a_24_hour_reporting_deadline(api, participant):


    aware = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    response = api.post(url(participant), {**sae_body(), "site_aware_at": aware.isoformat()}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["seriousness"], body["action_taken"], body["outcome"]) == (["hospitalisation"], "dose_delayed",
                                                                            "recovering")
    assert datetime.fromisoformat(body["sae_report_due"]) == aware + timedelta(hours=24)
    event = AdverseEvent.objects.get()
    assert event.sae_report_due == aware + timedelta(hours=24) and not event.sae_overdue

    fatal = api.post(url(participant), {**sae_body(), "grade": 5, "seriousness": ["death"], "outcome": "fatal"},
                     format="json")
    assert fatal.status_code == 201, fatal.json()


def test_non_serious_adverse_event_has_no_deadline(api, participant):
    body = api.post(url(participant), event_body(), format="json").json()
    assert body["sae_report_due"] is None and body["seriousness"] == []
