"""Double submission (trials/idempotency.py): the screening, consent and enrolment forms posted
twice, refused tokens, a token still in progress; screening to enrolment through the API with keys."""
import hashlib
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Consent, Participant, Screening
from enrollment.tests.support import create_screening, form_data, new_url, p3_facts, today
from trials.idempotency import submission_token_new, submission_token_nonce
from trials.models import SubmissionKey
from trials.tests.submission import form_token, form_tokens, messages_of
from trials.tests.support import confirm_eligibility

ALREADY = "This form was already submitted; the record below was created then."
NOT_VERIFIED = ("This form could not be verified (it was opened by another user or altered) and was not saved; "
                "fill it in again.")


def test_screening_form_posted_twice_records_one_screening(coordinator_client, studies):
    data = {**form_data(), "submission_token": form_token(coordinator_client, new_url())}

    first = coordinator_client.post(new_url(), data)
    coordinator_client.get(first["Location"])
    second = coordinator_client.post(new_url(), data)

    screening = Screening.objects.get()
    assert first["Location"] == second["Location"] == reverse("screening-detail", args=[screening.pk])
    assert messages_of(coordinator_client, second) == [ALREADY]


def test_screening_form_rendered_twice_gives_two_tokens_for_two_screenings(coordinator_client, studies):
    for _ in range(2):
        coordinator_client.post(new_url(), {**form_data(), "submission_token": form_token(coordinator_client,
                                                                                          new_url())})

    assert Screening.objects.count() == 2


def test_consent_and_enrol_forms_posted_twice_record_once(coordinator_client, studies, coordinator):
    screening = create_screening(coordinator)
    detail = reverse("screening-detail", args=[screening.pk])
    signed = (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    consent = {"consent-version": "ICF v2.0", "consent-signed_at": signed, "consent-obtained_by": "Dr Han",
               "submission_token": form_token(coordinator_client, detail)}

    for _ in range(2):
        assert coordinator_client.post(reverse("screening-consent", args=[screening.pk]), consent)["Location"] == detail
    confirm_eligibility(screening)
    consent_token, enrol_token = form_tokens(coordinator_client, detail)
    enrol = {"enrol-enrolled_on": today().isoformat(), "submission_token": enrol_token}
    first = coordinator_client.post(reverse("screening-enrol", args=[screening.pk]), enrol)
    second = coordinator_client.post(reverse("screening-enrol", args=[screening.pk]), enrol)

    participant = Participant.objects.get()
    assert Consent.objects.filter(screening=screening).count() == 1
    assert first["Location"] == second["Location"] == reverse("participant-detail", args=[participant.pk])
    assert consent_token != enrol_token


def test_token_of_another_user_is_refused_and_saves_nothing(client, studies, coordinator, make_user):
    other = make_user("coordinator")
    client.force_login(other)

    response = client.post(new_url(), {**form_data(), "submission_token": submission_token_new(coordinator)})

    assert response["Location"] == new_url()
    assert messages_of(client, response) == [NOT_VERIFIED]
    assert Screening.objects.count() == 0


def test_altered_token_is_refused_and_saves_nothing(coordinator_client, studies):
    token = form_token(coordinator_client, new_url())

    response = coordinator_client.post(new_url(), {**form_data(), "submission_token": token[:-2] + "xx"})

    assert response["Location"] == new_url()
    assert messages_of(coordinator_client, response) == [NOT_VERIFIED]
    assert Screening.objects.count() == 0


def test_token_posted_while_the_first_post_runs_saves_nothing(coordinator_client, studies, coordinator, settings):
    """The state a second click finds while the first is still being saved (sequential here; the
    claim itself is one INSERT ... ON CONFLICT DO NOTHING, see followup/tests/test_double_submission.py)."""
    settings.SUBMISSION_WAIT_SECONDS = 0
    token = form_token(coordinator_client, new_url())
    SubmissionKey.objects.create(user=coordinator, kind="form", key=submission_token_nonce(token, coordinator),
                                 fingerprint=hashlib.sha256(new_url().encode()).hexdigest(), created_at=timezone.now())

    response = coordinator_client.post(new_url(), {**form_data(), "submission_token": token})

    assert response["Location"] == new_url()
    assert messages_of(coordinator_client, response) == [
        "This form is being submitted already; check that its record was created before submitting it again."]
    assert Screening.objects.count() == 0


def test_form_without_a_token_is_saved_as_before(coordinator_client, studies):
    coordinator_client.post(new_url(), form_data())
    coordinator_client.post(new_url(), form_data())

    assert Screening.objects.count() == 2
    assert SubmissionKey.objects.count() == 0


def _screening_to_enrolment(api, key=None) -> list:
    """Screening, consent and enrolment through the API: the queries of each POST (a key sent with each)."""
    headers = (lambda step: {"HTTP_IDEMPOTENCY_KEY": f"{key}-{step}"}) if key else (lambda step: {})
    counts = []
    with CaptureQueriesContext(connection) as queries:
        screening = api.post("/api/v1/studies/MSC-ITP-5/screenings/", p3_facts(), format="json",
                             **headers("s")).json()["id"]
    counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        consented = api.post(f"/api/v1/screenings/{screening}/consent/", {
            "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"},
            format="json", **headers("c"))
    counts.append(len(queries))
    confirm_eligibility(Screening.objects.get(pk=screening))
    with CaptureQueriesContext(connection) as queries:
        enrolled = api.post(f"/api/v1/screenings/{screening}/enrol/", {}, format="json", **headers("e"))
    counts.append(len(queries))
    assert (consented.status_code, enrolled.status_code) == (201, 201)
    return counts


def test_a_key_adds_at_most_two_queries_to_screening_consent_and_enrolment(api, studies):
    _screening_to_enrolment(api)  # caches warmed
    without = _screening_to_enrolment(api)

    with_keys = _screening_to_enrolment(api, key="flow")

    assert all(keyed - plain <= 2 for keyed, plain in zip(with_keys, without, strict=True)), (with_keys, without)
    assert Participant.objects.count() == 3


def test_enrolment_sent_again_with_its_key_replays_the_participant(api, studies, coordinator):
    screening = create_screening(coordinator)
    api.post(f"/api/v1/screenings/{screening.pk}/consent/", {
        "version": "ICF v2.0", "signed_at": timezone.now().isoformat(), "obtained_by": "Dr Han"}, format="json")
    confirm_eligibility(screening)

    first = api.post(f"/api/v1/screenings/{screening.pk}/enrol/", {}, format="json", HTTP_IDEMPOTENCY_KEY="e-1")
    again = api.post(f"/api/v1/screenings/{screening.pk}/enrol/", {}, format="json", HTTP_IDEMPOTENCY_KEY="e-1")
    without_key = api.post(f"/api/v1/screenings/{screening.pk}/enrol/", {}, format="json")

    assert (first.status_code, again.status_code, without_key.status_code) == (201, 201, 409)
    assert again.json() == first.json()
    assert Participant.objects.count() == 1
