"""A signed adverse event is not changed under its old signature, and a draft is not dismissed
without one (`services.adverse_event_update`, `services.adverse_event_dismiss`; `PATCH
/api/v1/adverse-events/{id}/`, `POST .../dismiss/`, the correction page and the dismiss form).

A correction of grade, serious, seriousness criteria or relationship is signed again by an
investigator of the site with their password, or, made by a coordinator, withdraws the signature:
the event is a draft again, on the investigators' worklist. Other fields are corrected under the
signature. Dismissing a draft is signed with the investigator's password."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from followup import services
from followup.models import AdverseEvent
from followup.tests.support import adverse_event_form_as_posted, items
from trials.signatures import SignatureRefused
from trials.tests.support import SIGNER_PASSWORD, client_for, patch_current, site_investigator

ESCALATION = "/api/v1/studies/HUCMSC-ITP-ESC/escalation/"
MEANING = "I confirm grade, seriousness and relationship to treatment of this adverse event."
REASON = "Source document re-read at monitoring"
WRONG_CORRECTION = ("The password is not correct: grade, seriousness and relationship of a signed adverse event "
                    "change only with your signature.")
WRONG_DISMISSAL = "The password is not correct: the adverse event was not dismissed."


@pytest.fixture
def participant(studies, coordinator):
    return enrol_p2(coordinator)


@pytest.fixture
def signed_sae(participant, coordinator):
    """Grade 4, serious (life-threatening), possibly related, in the DLT window: a DLT, signed by
    the site's investigator."""
    return adverse_event(participant, onset=dlt_onset(), by=coordinator, grade=4)


@pytest.fixture
def draft(participant, coordinator):
    return adverse_event(participant, onset=dlt_onset(), by=coordinator, grade=3, confirmed=False)


def url(event) -> str:
    return f"/api/v1/adverse-events/{event.pk}/"


def dismiss_url(event) -> str:
    return f"/api/v1/adverse-events/{event.pk}/dismiss/"


def dlts(user) -> int:
    return client_for(user).get(ESCALATION).json()["levels"][0]["dlts"]


def stored(event) -> tuple:
    row = AdverseEvent.objects.get(pk=event.pk)
    return row.status, row.grade, row.serious, row.relationship, row.confirmed_by, row.confirmed_at


# --- API: a coordinator's correction of a signed judgement withdraws the signature -------------

def test_coordinator_downgrading_a_signed_sae_withdraws_the_signature(signed_sae, coordinator):
    signer = site_investigator()
    assert dlts(coordinator) == 1

    response = patch_current(client_for(coordinator), url(signed_sae), {"grade": 1, "serious": False, "seriousness": [],
                                                               "reason": REASON}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["grade"], body["serious"], body["confirmation"]) == ("draft", 1, False, None)
    assert body["dlt"]["is_dlt"] is False
    assert stored(signed_sae) == ("draft", 1, False, "possible", None, None)
    assert AdverseEvent.objects.get(pk=signed_sae.pk).confirmation_meaning == ""
    latest, withdrawn = signed_sae.history.all()[:2]
    assert (latest.history_change_reason, latest.history_user, latest.grade, latest.status) == (
        REASON, coordinator, 1, "draft")
    assert (withdrawn.grade, withdrawn.status, withdrawn.confirmed_by, withdrawn.history_user) == (
        4, "draft", None, coordinator)
    assert withdrawn.history_change_reason == (  # cut to the audit column; the reason is whole in the next row
        f"Signature withdrawn: grade, serious, seriousness changed by {coordinator.username}: {REASON}"[:99] + "…")
    assert dlts(coordinator) == 0  # a draft counts nowhere until signed again
    assert [(i["kind"], i["id"]) for i in items(client_for(signer), "?kind=adverse_event_draft")] == [
        ("adverse_event_draft", signed_sae.pk)]


def test_a_withdrawn_event_is_confirmed_again_and_counts_again(signed_sae, coordinator):
    patch_current(client_for(coordinator), url(signed_sae), {"grade": 3, "reason": REASON}, format="json")
    signer = site_investigator()

    confirmed = client_for(signer).post(f"/api/v1/adverse-events/{signed_sae.pk}/confirm/", {
        "grade": 3, "serious": True, "seriousness": ["life_threatening"], "relationship": "possible",
        "password": SIGNER_PASSWORD}, format="json")

    assert confirmed.status_code == 200, confirmed.json()
    assert (confirmed.json()["status"], confirmed.json()["confirmation"]["signed_by"]) == ("confirmed", signer.username)
    assert dlts(coordinator) == 1


def test_a_withdrawn_event_is_a_draft_and_not_patched_again(signed_sae, coordinator):
    patch_current(client_for(coordinator), url(signed_sae), {"grade": 3, "reason": REASON}, format="json")
    rows = signed_sae.history.count()

    again = patch_current(client_for(coordinator), url(signed_sae),
                          {"description": "Fixed", "reason": REASON}, format="json")

    assert (again.status_code, again.json()) == (409, {"errors": {"non_field_errors": [
        "This adverse event is a draft: an investigator confirms or dismisses it first."]}})
    assert signed_sae.history.count() == rows


def test_coordinator_making_an_event_serious_starts_its_clock_and_the_draft_is_reported(participant, coordinator):
    event = adverse_event(participant, onset=dlt_onset(), by=coordinator, grade=3)
    before = timezone.now()

    response = patch_current(client_for(coordinator), url(event), {"serious": True, "seriousness": ["hospitalisation"],
                                                          "reason": "Admitted overnight"}, format="json")

    assert response.status_code == 200, response.json()
    row = AdverseEvent.objects.get(pk=event.pk)
    assert (row.status, row.serious, row.site_aware_at >= before) == ("draft", True, True)
    assert response.json()["sae_report_due"] is not None
    reported = client_for(coordinator).post(f"/api/v1/adverse-events/{event.pk}/sae-report/", {}, format="json")
    assert reported.status_code == 200, reported.json()
    assert AdverseEvent.objects.get(pk=event.pk).sae_reported_at is not None


def test_other_fields_are_corrected_under_the_signature(signed_sae, coordinator):
    signed_at = AdverseEvent.objects.get(pk=signed_sae.pk).confirmed_at

    response = patch_current(client_for(coordinator), url(signed_sae), {
        "description": "ALT 6 x ULN", "outcome": "recovering", "seriousness": ["life_threatening"],
        "resolution_date": (dlt_onset() + timedelta(days=3)).isoformat(), "reason": REASON}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["confirmation"]["meaning"]) == ("confirmed", MEANING)
    assert stored(signed_sae) == ("confirmed", 4, True, "possible", site_investigator(), signed_at)
    assert signed_sae.history.first().history_change_reason == REASON


# --- API: an investigator signs the corrected judgement --------------------------------------

@pytest.mark.parametrize("password", ["", "Not-my-password-1"])
def test_investigator_changing_a_signed_grade_without_the_password_writes_nothing(signed_sae, password):
    rows = signed_sae.history.count()
    before = stored(signed_sae)

    response = patch_current(client_for(site_investigator()), url(signed_sae), {"grade": 3, "reason": REASON,
                                                                       "password": password}, format="json")

    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [WRONG_CORRECTION]}})
    assert (stored(signed_sae), signed_sae.history.count()) == (before, rows)


def test_investigator_changing_a_signed_grade_with_the_password_signs_the_new_values(signed_sae, investigator,
                                                                                     coordinator):
    before = timezone.now()

    response = patch_current(client_for(investigator), url(signed_sae), {"grade": 3, "relationship": "unlikely",
                                                                "reason": REASON, "password": SIGNER_PASSWORD},
                                              format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["grade"], body["relationship"]) == ("confirmed", 3, "unlikely")
    assert (body["confirmation"]["signed_by"], body["confirmation"]["meaning"]) == (investigator.username, MEANING)
    row = AdverseEvent.objects.get(pk=signed_sae.pk)
    assert (row.confirmed_by, row.confirmed_at >= before) == (investigator, True)
    latest = signed_sae.history.first()
    assert (latest.history_change_reason, latest.history_user, latest.confirmed_by, latest.grade) == (
        REASON, investigator, investigator, 3)
    assert dlts(coordinator) == 0  # unlikely related: not a DLT


def test_investigator_correcting_other_fields_needs_no_password(signed_sae, investigator):
    response = patch_current(client_for(investigator), url(signed_sae),
                             {"description": "ALT 6 x ULN", "reason": REASON},
                                              format="json")
    assert response.status_code == 200, response.json()
    assert stored(signed_sae)[0] == "confirmed" and stored(signed_sae)[4] == site_investigator()


# --- API: dismissing a draft is signed ---------------------------------------------------------

@pytest.mark.parametrize("password", [None, "", "Not-my-password-1"])
def test_dismissing_without_the_password_is_refused_and_writes_nothing(draft, investigator, password):
    rows = draft.history.count()
    body = {"reason": "Sample haemolysed"} | ({} if password is None else {"password": password})

    response = client_for(investigator).post(dismiss_url(draft), body, format="json")

    assert (response.status_code, response.json()) == (403, {"errors": {"detail": [WRONG_DISMISSAL]}})
    row = AdverseEvent.objects.get(pk=draft.pk)
    assert (row.status, row.dismissed_reason, row.confirmed_by, draft.history.count()) == ("draft", "", None, rows)


def test_dismissing_with_the_password_stores_the_signature(draft, investigator, coordinator):
    before = timezone.now()

    response = client_for(investigator).post(dismiss_url(draft), {"reason": "Sample haemolysed",
                                                                  "password": SIGNER_PASSWORD}, format="json")

    assert response.status_code == 200, response.json()
    signature = response.json()["confirmation"]
    assert (response.json()["status"], signature["signed_by"], signature["meaning"]) == (
        "dismissed", investigator.username, "I judge this is not an adverse event: Sample haemolysed")
    row = AdverseEvent.objects.get(pk=draft.pk)
    assert (row.status, row.confirmed_by, row.confirmed_at >= before) == ("dismissed", investigator, True)
    assert draft.history.first().history_change_reason == "Adverse event dismissed: Sample haemolysed"
    assert items(client_for(investigator), "?kind=adverse_event_draft") == []


def test_the_service_refuses_a_dismissal_without_the_password(draft, investigator):
    with pytest.raises(SignatureRefused):
        services.adverse_event_dismiss(event=draft, reason="Sample haemolysed", by=investigator)
    assert AdverseEvent.objects.get(pk=draft.pk).status == "draft"


# --- pages -------------------------------------------------------------------------------------

def edit_url(event) -> str:
    return reverse("adverse-event-edit", args=[event.pk])


def test_coordinator_page_warns_and_a_grade_change_makes_a_draft(client, signed_sae, coordinator):
    client.force_login(coordinator)
    page = client.get(edit_url(signed_sae))
    assert "password" not in page.context["form"].fields
    assert 'data-testid="ae-withdraw-notice"' in page.content.decode()

    posted = client.post(edit_url(signed_sae), {**adverse_event_form_as_posted(page.context["form"]), "grade": "3",
                                                "reason": "Grade 3 on the source"}, follow=True)

    assert posted.redirect_chain == [(reverse("adverse-event-detail", args=[signed_sae.pk]), 302)]
    assert stored(signed_sae)[:2] == ("draft", 3)
    text = posted.content.decode()
    assert "the investigator&#x27;s signature is withdrawn and the event is a draft again" in text
    assert 'data-testid="adverse-event-edit"' not in text  # a draft is confirmed, not corrected


def test_investigator_page_refuses_a_grade_change_without_the_password(client, signed_sae, investigator):
    client.force_login(investigator)
    page = client.get(edit_url(signed_sae))
    assert 'data-testid="ae-resign-notice"' in page.content.decode()
    rows = signed_sae.history.count()

    for password in ("", "Not-my-password-1"):
        posted = client.post(edit_url(signed_sae), {**adverse_event_form_as_posted(page.context["form"]), "grade": "3",
                                                    "reason": REASON, "password": password})
        assert posted.status_code == 200
        assert posted.context["form"].errors == {"password": [WRONG_CORRECTION]}
    assert (stored(signed_sae)[:2], signed_sae.history.count()) == (("confirmed", 4), rows)


def test_investigator_page_signs_a_grade_change_with_the_password(client, signed_sae, investigator):
    client.force_login(investigator)
    page = client.get(edit_url(signed_sae))

    posted = client.post(edit_url(signed_sae), {**adverse_event_form_as_posted(page.context["form"]), "grade": "3",
                                                "reason": REASON, "password": SIGNER_PASSWORD})

    assert posted.status_code == 302, posted.context and posted.context["form"].errors
    assert stored(signed_sae)[:5] == ("confirmed", 3, True, "possible", investigator)
    detail = client.get(reverse("adverse-event-detail", args=[signed_sae.pk])).content.decode()
    assert f"Signed by {investigator.username}" in detail and MEANING in detail


def test_dismiss_form_refuses_a_missing_or_wrong_password(client, draft, investigator):
    client.force_login(investigator)
    detail = reverse("adverse-event-detail", args=[draft.pk])
    page = client.get(detail).content.decode()
    assert 'data-testid="adverse-event-dismiss-form"' in page and 'type="password"' in page
    rows = draft.history.count()

    missing = client.post(detail, {"dismiss": "1", "reason": "Sample haemolysed"})
    wrong = client.post(detail, {"dismiss": "1", "reason": "Sample haemolysed", "password": "Not-my-password-1"})

    assert missing.context["dismiss_form"].errors == {"password": ["This field is required."]}
    assert wrong.context["dismiss_form"].errors == {"password": [WRONG_DISMISSAL]}
    assert (AdverseEvent.objects.get(pk=draft.pk).status, draft.history.count()) == ("draft", rows)


def test_dismiss_form_with_the_password_dismisses_and_shows_the_signature(client, draft, investigator):
    client.force_login(investigator)
    detail = reverse("adverse-event-detail", args=[draft.pk])

    posted = client.post(detail, {"dismiss": "1", "reason": "Sample haemolysed", "password": SIGNER_PASSWORD})

    assert posted.status_code == 302
    row = AdverseEvent.objects.get(pk=draft.pk)
    assert (row.status, row.confirmed_by) == ("dismissed", investigator)
    page = client.get(detail).content.decode()
    assert f"Signed by {investigator.username}" in page
    assert "I judge this is not an adverse event: Sample haemolysed" in page


def test_coordinator_cannot_dismiss_from_the_page(client, draft, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("adverse-event-detail", args=[draft.pk]),
                           {"dismiss": "1", "reason": "Sample haemolysed", "password": SIGNER_PASSWORD})
    assert response.status_code == 403
    assert AdverseEvent.objects.get(pk=draft.pk).status == "draft"


def test_another_sites_investigator_gets_404_on_dismiss_and_correction(draft, signed_sae, make_user, other_site_study):
    elsewhere = client_for(make_user("investigator", site="XH"))
    assert elsewhere.post(dismiss_url(draft), {"reason": "x", "password": SIGNER_PASSWORD},
                          format="json").status_code == 404
    assert patch_current(elsewhere, url(signed_sae), {"grade": 3, "reason": REASON, "password": SIGNER_PASSWORD},
                           format="json").status_code == 404
    assert (stored(draft)[0], stored(signed_sae)[:2]) == ("draft", ("confirmed", 4))
