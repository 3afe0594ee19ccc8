"""Causality is the investigator's: an adverse event recorded by a coordinator (or by an investigator
without their password) is a draft until an investigator confirms grade, seriousness and
relationship with their signature; only then does it count (DLT). A serious draft's 24-hour sae_body()
clock runs from the start, and its report is recorded before the signature."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.escalation_setup import dlt_onset, enrol_p2
from followup.models import AdverseEvent
from trials.signatures import ADVERSE_EVENT_MEANING
from trials.tests.support import SIGNER_PASSWORD, client_for, confirm_adverse_event, site_investigator

MEANING = "I confirm grade, seriousness and relationship to treatment of this adverse event."
ESCALATION = "/api/v1/studies/HUCMSC-ITP-ESC/escalation/"
# Grade 3, definitely related, inside the DLT window: a DLT once confirmed.


def event_body():
    return {"term": "Alanine aminotransferase increased", "category": "non_haematological",
            "onset_date": dlt_onset().isoformat(), "grade": 3, "serious": False, "relationship": "definite"}


def sae_body():
    return {**event_body(), "serious": True, "seriousness": ["hospitalisation"], "relationship": "possible"}


WRONG = "The password is not correct: the adverse event was not confirmed."


@pytest.fixture
def participant(studies, coordinator):
    return enrol_p2(coordinator)


def url(participant) -> str:
    return f"/api/v1/participants/{participant.pk}/adverse-events/"


def confirm_url(event) -> str:
    return f"/api/v1/adverse-events/{event.pk}/confirm/"


def draft_of(api, participant, body=None) -> AdverseEvent:
    body = event_body() if body is None else body
    response = api.post(url(participant), body, format="json")
    assert response.status_code == 201, response.json()
    return AdverseEvent.objects.get(pk=response.json()["id"])


def dlts(client) -> int:
    return client.get(ESCALATION).json()["levels"][0]["dlts"]


# --- API: recording -------------------------------------------------------------------------------

def test_meaning_text_is_the_one_stored():
    assert str(ADVERSE_EVENT_MEANING) == MEANING


def test_a_coordinators_definite_event_is_a_draft_that_counts_no_dlt_until_signed(api, participant, investigator):
    response = api.post(url(participant), event_body(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["relationship"], body["confirmation"]) == ("draft", "definite", None)
    assert (body["dlt"]["is_dlt"], body["dlt"]["counts"]) == (False, False)
    assert dlts(api) == 0

    signed = client_for(investigator).post(confirm_url(AdverseEvent.objects.get()), {
        "grade": 3, "serious": False, "relationship": "definite", "password": SIGNER_PASSWORD}, format="json")

    assert signed.status_code == 200, signed.json()
    assert (signed.json()["dlt"]["counts"], dlts(api)) == (True, 1)


def test_a_coordinator_sending_a_password_is_403_and_writes_nothing(api, participant):
    response = api.post(url(participant), {**event_body(), "password": "Long-enough-pass-91"}, format="json")
    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [
        "Only an investigator of the site signs an adverse event; record it without a password, as a draft for "
        "the investigator to confirm."]}})
    assert AdverseEvent.objects.count() == 0


def test_an_investigator_with_the_password_confirms_at_once(participant, investigator):
    before = timezone.now()
    response = client_for(investigator).post(url(participant), {**event_body(), "password": SIGNER_PASSWORD},
                                             format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["reported_by"], body["dlt"]["counts"]) == ("confirmed", investigator.username, True)
    assert (body["confirmation"]["signed_by"], body["confirmation"]["meaning"]) == (investigator.username, MEANING)
    event = AdverseEvent.objects.get()
    assert (event.confirmed_by, event.confirmation_meaning) == (investigator, MEANING)
    assert before <= event.confirmed_at <= timezone.now()
    assert event.history.get().history_change_reason == (
        "Adverse event recorded and confirmed, signed by the investigator")


def test_an_investigator_with_a_wrong_password_is_403_and_writes_nothing(participant, investigator):
    response = client_for(investigator).post(url(participant), {**event_body(), "password": "guess"}, format="json")
    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [
        "The password is not correct: the adverse event was not recorded."]}})
    assert AdverseEvent.objects.count() == 0


def test_an_investigator_without_the_password_records_a_draft(participant, investigator):
    body = client_for(investigator).post(url(participant), event_body(), format="json").json()
    assert (body["status"], body["confirmation"]) == ("draft", None)


# --- API: confirming --------------------------------------------------------------------------------

@pytest.mark.parametrize("password", [None, "", "guess"])
def test_confirming_without_the_right_password_is_403_and_writes_nothing(api, participant, investigator, password):
    draft = draft_of(api, participant)
    body = {"grade": 3, "serious": False, "relationship": "definite"}
    if password is not None:
        body["password"] = password

    response = client_for(investigator).post(confirm_url(draft), body, format="json")

    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [WRONG]}})
    draft.refresh_from_db()
    assert (draft.status, draft.confirmed_by, draft.history.count()) == ("draft", None, 1)


def test_a_coordinator_cannot_confirm_even_with_a_password(api, participant):
    draft = draft_of(api, participant)
    response = api.post(confirm_url(draft), {"grade": 3, "serious": False, "relationship": "definite",
                                             "password": "Long-enough-pass-91"}, format="json")
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_the_investigator_may_change_the_coordinators_judgement_when_signing(api, participant, investigator):
    draft = draft_of(api, participant)
    response = client_for(investigator).post(confirm_url(draft), {
        "grade": 2, "serious": False, "relationship": "unlikely", "password": SIGNER_PASSWORD}, format="json")
    body = response.json()
    assert (body["status"], body["grade"], body["relationship"], body["dlt"]["is_dlt"]) == (
        "confirmed", 2, "unlikely", False)
    assert body["confirmation"]["signed_by"] == investigator.username
    assert client_for(investigator).get(f"/api/v1/adverse-events/{draft.pk}/").json()["confirmation"]["meaning"] == (
        MEANING)


def test_a_confirmed_event_is_not_confirmed_again(api, participant, investigator):
    draft = draft_of(api, participant)
    signer = client_for(investigator)
    body = {"grade": 3, "serious": False, "relationship": "definite", "password": SIGNER_PASSWORD}
    assert signer.post(confirm_url(draft), body, format="json").status_code == 200
    assert signer.post(confirm_url(draft), body, format="json").status_code == 409


# --- the sae_body() clock does not wait for the signature -------------------------------------------------

def test_a_serious_draft_starts_the_24_hour_clock_and_is_reported_before_the_signature(api, participant, coordinator,
                                                                                       investigator):
    aware = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    draft = draft_of(api, participant, {**sae_body(), "site_aware_at": aware.isoformat()})
    assert (draft.status, draft.sae_report_due) == ("draft", aware + timedelta(hours=24))
    work = api.get("/api/v1/worklist/?kind=sae_report").json()["items"]
    assert [(item["kind"], item["id"]) for item in work] == [("sae_report", draft.pk)]
    signer_work = client_for(investigator).get("/api/v1/worklist/").json()["items"]
    assert sorted(item["kind"] for item in signer_work if item["url"] == f"/adverse-events/{draft.pk}/") == [
        "adverse_event_draft", "sae_report"]

    reported = api.post(f"/api/v1/adverse-events/{draft.pk}/sae-report/", {}, format="json")

    assert reported.status_code == 200, reported.json()
    assert (reported.json()["status"], reported.json()["sae_reported_by"]) == ("draft", coordinator.username)
    assert api.get("/api/v1/worklist/?kind=sae_report").json()["items"] == []
    signed = client_for(investigator).post(confirm_url(draft), {
        "grade": 3, "serious": True, "seriousness": ["hospitalisation"], "relationship": "possible",
        "password": SIGNER_PASSWORD}, format="json")
    assert signed.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.site_aware_at, draft.sae_reported_at is not None) == ("confirmed", aware, True)


# --- pages ------------------------------------------------------------------------------------------


def form_body():
    return {"term": "Alanine aminotransferase increased", "category": "non_haematological",
            "onset_date": dlt_onset().isoformat(), "grade": "3", "serious": "no", "relationship": "definite",
            "outcome": "recovering"}


def test_the_record_page_saves_a_coordinators_event_as_a_draft(client, participant, coordinator):
    client.force_login(coordinator)
    form_page = client.get(reverse("adverse-event-new", args=[participant.pk]))
    assert "password" not in form_page.context["form"].fields
    assert 'data-testid="ae-draft-note"' in form_page.content.decode()

    response = client.post(reverse("adverse-event-new", args=[participant.pk]), form_body(), follow=True)

    event = AdverseEvent.objects.get()
    assert (event.status, event.relationship, event.confirmed_by) == ("draft", "definite", None)
    assert [str(m) for m in response.context["messages"]] == [
        "Adverse event recorded as a draft: an investigator of the site confirms grade, seriousness and "
        "relationship with their signature."]
    detail = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    assert "Not yet: a draft until an investigator of the site signs grade, seriousness and relationship." in detail


def test_the_record_page_lets_an_investigator_sign_at_once(client, participant, investigator):
    client.force_login(investigator)
    page = client.get(reverse("adverse-event-new", args=[participant.pk])).content.decode()
    assert MEANING in page and 'name="password"' in page
    wrong = client.post(reverse("adverse-event-new", args=[participant.pk]), {**form_body(), "password": "guess"})
    assert wrong.context["form"].errors["password"] == [
        "The password is not correct: the adverse event was not recorded."]
    assert AdverseEvent.objects.count() == 0

    client.post(reverse("adverse-event-new", args=[participant.pk]), {**form_body(), "password": SIGNER_PASSWORD})

    event = AdverseEvent.objects.get()
    assert (event.status, event.confirmed_by) == ("confirmed", investigator)
    detail = client.get(reverse("adverse-event-detail", args=[event.pk])).content.decode()
    when = timezone.localtime(event.confirmed_at)
    assert (f"Signed by {investigator.username} ({investigator.username}) on {when:%Y-%m-%d %H:%M %Z %z}."
            in detail)
    assert f'data-testid="ae-confirmation-meaning">{MEANING}<' in detail


def test_the_detail_page_asks_the_password_and_starts_from_the_draft(client, api, participant, investigator):
    draft = draft_of(api, participant)
    client.force_login(investigator)
    url = reverse("adverse-event-detail", args=[draft.pk])
    page = client.get(url)
    form = page.context["confirm_form"]
    assert (form["grade"].value(), form["relationship"].value(), form["serious"].value()) == (3, "definite", "no")
    assert 'name="password"' in page.content.decode() and MEANING in page.content.decode()

    wrong = client.post(url, {"grade": "3", "serious": "no", "relationship": "definite", "password": "guess"})

    assert wrong.context["confirm_form"].errors["password"] == [WRONG]
    draft.refresh_from_db()
    assert draft.status == "draft"
    signed = client.post(url, {"grade": "3", "serious": "no", "relationship": "definite",
                               "password": SIGNER_PASSWORD})
    assert signed.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.confirmed_by) == ("confirmed", investigator)


def test_the_site_investigator_helper_confirms_as_recorded(api, participant):
    event = confirm_adverse_event(draft_of(api, participant))
    assert (event.status, event.relationship, event.confirmed_by) == ("confirmed", "definite", site_investigator())
