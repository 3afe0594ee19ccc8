"""One signature component on the four signed decisions (21 CFR 11.50): the casebook sign-off
(participant page), the eligibility confirmation (screening page), the adverse event's grade,
seriousness and causality (its page) and the escalation decision (the study's escalation page)
each show the signer's printed name and username, the local time with its time zone and the
meaning (`templates/includes/signature.html`), and each signing form shows the meaning above the
password (`templates/includes/signing_fields.html`) and refuses a wrong one beside that field."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.html import escape
from django.utils import timezone

from dosing import services as dosing_services
from dosing.tests.escalation_setup import enrol_p2
from enrollment.tests.support import consent, create_screening
from followup import services, signoff
from trials.signatures import ADVERSE_EVENT_MEANING, CASEBOOK_MEANING, ELIGIBILITY_MEANING
from trials.tests.support import SIGNER_PASSWORD, confirm_adverse_event, confirm_eligibility, setup_save

ESCALATION_MEANING = 'I approve escalate B under rule "0 of 3 with a DLT: escalate" (the 3+3 rule of the study).'


@pytest.fixture
def signer(investigator):
    """The site's investigator with a printed name different from the username."""
    investigator.first_name, investigator.last_name = "Wei", "Li"
    setup_save(investigator)
    return investigator


def _draft(participant, by):
    return services.adverse_event_record(participant=participant, by=by, data=services.AdverseEventInput(
        term="Headache", category="non_haematological", onset_date=timezone.localdate() - timedelta(days=1),
        grade=1, serious=False, relationship="possible"))


def casebook_signed(participant, signer, coordinator, studies):
    signature = signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=signer)
    return reverse("participant-detail", args=[participant.pk]), signature.signed_at, str(CASEBOOK_MEANING)


def eligibility_signed(participant, signer, coordinator, studies):
    screening = create_screening(coordinator)
    consent(screening, coordinator)
    screening = confirm_eligibility(screening, by=signer)
    return (reverse("screening-detail", args=[screening.pk]), screening.eligibility_confirmed_at,
            str(ELIGIBILITY_MEANING))


def adverse_event_signed(participant, signer, coordinator, studies):
    event = confirm_adverse_event(_draft(participant, coordinator), by=signer)
    return reverse("adverse-event-detail", args=[event.pk]), event.confirmed_at, str(ADVERSE_EVENT_MEANING)


def escalation_signed(participant, signer, coordinator, studies):
    for _ in range(3):
        enrol_p2(coordinator)
    decision = dosing_services.escalation_decide(
        study=studies["HUCMSC-ITP-ESC"], action="escalate", level_code="B", rationale="",
        password=SIGNER_PASSWORD, by=signer)
    assert decision.signature_meaning == ESCALATION_MEANING
    return reverse("study-escalation", args=["HUCMSC-ITP-ESC"]), decision.signed_at, ESCALATION_MEANING


@pytest.mark.parametrize("signed", [casebook_signed, eligibility_signed, adverse_event_signed, escalation_signed])
def test_each_signed_page_shows_name_username_local_time_with_zone_and_meaning(
        client, studies, participant, signer, coordinator, signed):
    url, signed_at, meaning = signed(participant, signer, coordinator, studies)
    client.force_login(coordinator)

    html = client.get(url).content.decode()

    shown = re.findall(r'<div class="signature" data-signature="([^"]+)" data-testid="[^"]+">(.*?)</div>\s*</div>',
                       html, re.S)
    assert [username for username, _body in shown] == [signer.username]
    body = re.sub(r"\s+", " ", shown[0][1])
    local = timezone.localtime(signed_at)
    assert f"Signed by Wei Li ({signer.username}) on {local:%Y-%m-%d %H:%M %Z %z}." in body
    assert "Meaning of the signature: “<span data-testid=" in body
    assert f">{escape(meaning)}</span>”" in body


def test_the_signature_is_shown_in_chinese(client, studies, participant, signer, coordinator):
    url, signed_at, meaning = casebook_signed(participant, signer, coordinator, studies)
    client.force_login(coordinator)

    html = client.get(url, headers={"accept-language": "zh-hans"}).content.decode()

    local = timezone.localtime(signed_at)
    assert f"由 Wei Li（{signer.username}）于 {local:%Y-%m-%d %H:%M %Z %z} 签署。" in html
    assert "签名含义：" in html


def _casebook_form(participant, studies, coordinator):
    return reverse("participant-casebook-sign", args=[participant.pk]), {}, "signoff_form", "password", (
        "The password is not correct: the casebook was not signed.")


def _eligibility_form(participant, studies, coordinator):
    screening = create_screening(coordinator)
    consent(screening, coordinator)
    return reverse("screening-eligibility-confirm", args=[screening.pk]), {}, "confirm_form", "password", (
        "The password is not correct: eligibility was not confirmed.")


def _adverse_event_form(participant, studies, coordinator):
    event = _draft(participant, coordinator)
    body = {"grade": "1", "serious": "no", "relationship": "possible"}
    return reverse("adverse-event-detail", args=[event.pk]), body, "confirm_form", "password", (
        "The password is not correct: the adverse event was not confirmed.")


def _escalation_form(participant, studies, coordinator):
    for _ in range(3):
        enrol_p2(coordinator)
    body = {"decision": "escalate:B", "rationale": "", "confirm": "on",
            "rule_seen": "0 of 3 with a DLT: escalate"}
    return reverse("study-escalation", args=["HUCMSC-ITP-ESC"]), body, "form", "password", (
        "The password is not correct: the decision was not signed.")


@pytest.mark.parametrize("signing", [_casebook_form, _eligibility_form, _adverse_event_form, _escalation_form])
def test_each_signing_form_shows_the_meaning_before_the_password_and_refuses_a_wrong_one_beside_it(
        client, studies, participant, signer, coordinator, signing):
    url, body, form_name, field, message = signing(participant, studies, coordinator)
    client.force_login(signer)

    response = client.post(url, {**body, field: "guess"})

    form = response.context[form_name]
    assert form.errors[field] == [message]
    html = response.content.decode()
    error = f'<p id="error_1_id_{field}"><strong>{message}</strong></p>'
    assert error in html
    signing_form = html[:html.index(error)]
    declared = signing_form.rfind("By signing you declare:")
    if signing is _escalation_form:  # each offered decision is its own statement, above the password
        assert escape(ESCALATION_MEANING) in signing_form[signing_form.rfind("<form"):]
    else:
        assert declared > signing_form.rfind("<form") and signing_form.rfind('name="password"') > declared
