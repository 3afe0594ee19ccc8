"""Double submission (trials/idempotency.py): an assessment or adverse event form posted twice, and
an adverse event POSTed twice with one Idempotency-Key, create one record."""
import hashlib
import json
import threading

import pytest
from django.db import connection, connections
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.test import APIClient

from dosing.tests.escalation_setup import enrol_p2
from followup.models import AdverseEvent, Assessment
from followup.tests.support import ALREADY, event_body, filled, form_body, form_url
from trials.idempotency import request_fingerprint
from trials.models import SubmissionKey
from trials.tests.submission import form_token, messages_of
from trials.tests.support import client_for, require_service


@pytest.fixture
def participant(studies, coordinator):
    return enrol_p2(coordinator)


def ae_url(participant):
    return f"/api/v1/participants/{participant.pk}/adverse-events/"


# --- Pages ---------------------------------------------------------------------------------------

def test_adverse_event_form_posted_twice_records_one_event(client, participant, coordinator):
    client.force_login(coordinator)
    url = reverse("adverse-event-new", args=[participant.pk])
    data = {**form_body(), "submission_token": form_token(client, url)}

    first = client.post(url, data)
    client.get(first["Location"])  # the first page, with its own message
    second = client.post(url, data)

    assert first.status_code == 302, first.content.decode()[:2000]
    assert (second.status_code, second["Location"]) == (302, first["Location"])
    assert AdverseEvent.objects.filter(participant=participant).count() == 1
    assert messages_of(client, second) == [ALREADY]


def test_assessment_form_posted_twice_records_one_assessment(client, woman, coordinator):  # noqa: F811
    client.force_login(coordinator)
    url = form_url(woman, "W1")
    data = {**filled(), "submission_token": form_token(client, url)}

    first = client.post(url, data)
    client.get(first["Location"])  # the first page, with its own message
    second = client.post(url, data)

    assert first.status_code == 302
    assert (second.status_code, second["Location"]) == (302, reverse("participant-detail", args=[woman.pk]))
    assert Assessment.objects.filter(participant=woman).count() == 1
    assert messages_of(client, second) == [ALREADY]


def test_form_shown_again_with_its_errors_releases_the_token(client, woman, coordinator):  # noqa: F811
    client.force_login(coordinator)
    url = form_url(woman, "W1")
    token = form_token(client, url)

    refused = client.post(url, {**filled(**{"lab-HGB-value": "30"}), "submission_token": token})
    corrected = client.post(url, {**filled(), "submission_token": token})

    assert refused.status_code == 200
    assert corrected.status_code == 302
    assert Assessment.objects.filter(participant=woman).count() == 1
    assert "submission_token" in refused.content.decode()


# --- API -------------------------------------------------------------------------------------------

def test_same_idempotency_key_twice_records_one_event_and_replays_the_body(api, participant):
    first = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-0001")
    second = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-0001")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_same_body_without_a_key_records_two_events(api, participant):
    api.post(ae_url(participant), event_body(), format="json")
    api.post(ae_url(participant), event_body(), format="json")

    assert AdverseEvent.objects.filter(participant=participant).count() == 2


def test_same_key_from_two_users_records_two_events(api, participant, make_user):
    other = client_for(make_user("coordinator"))

    first = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = other.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert AdverseEvent.objects.filter(participant=participant).count() == 2


def test_key_sent_again_with_another_body_is_422_and_records_nothing(api, participant):
    api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-0002")

    reused = api.post(ae_url(participant), {**event_body(), "grade": 2}, format="json", HTTP_IDEMPOTENCY_KEY="ae-0002")

    assert reused.status_code == 422
    assert reused.json() == {"errors": {"Idempotency-Key": [
        "This key was sent with another request in the last 24 hours; send a new key for a new request."]}}
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_key_sent_again_with_the_same_json_differently_spaced_is_replayed(api, participant):
    api.post(ae_url(participant), json.dumps(event_body()), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k3")
    again = api.post(ae_url(participant), json.dumps(event_body(), indent=2, sort_keys=True),
                     content_type="application/json", HTTP_IDEMPOTENCY_KEY="k3")

    assert again.status_code == 201
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_key_of_a_refused_request_may_be_sent_again(api, participant):
    refused = api.post(ae_url(participant), {**event_body(), "grade": 9}, format="json", HTTP_IDEMPOTENCY_KEY="ae-0003")
    accepted = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-0003")

    assert (refused.status_code, accepted.status_code) == (400, 201)
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_key_in_progress_is_409_and_records_nothing(api, participant, coordinator):
    """The state a concurrent second request finds: the first claimed the key and still runs."""
    probe = RequestFactory().post(ae_url(participant), event_body(), content_type="application/json")
    SubmissionKey.objects.create(user=coordinator, kind="api", key="ae-0004", fingerprint=request_fingerprint(probe),
                                 created_at=timezone.now())

    busy = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-0004")

    assert busy.status_code == 409
    assert busy.json() == {"errors": {"Idempotency-Key": [
        "A request with this key is in progress; send it again when it has finished."]}}
    assert AdverseEvent.objects.filter(participant=participant).count() == 0


def test_fingerprint_covers_method_path_and_body():
    factory = RequestFactory()
    one = request_fingerprint(factory.post("/api/v1/x/", b'{"a": 1, "b": 2}', content_type="application/json"))
    same = request_fingerprint(factory.post("/api/v1/x/", b'{"b":2,"a":1}', content_type="application/json"))
    other_path = request_fingerprint(factory.post("/api/v1/y/", b'{"a": 1, "b": 2}', content_type="application/json"))

    assert one == same != other_path
    assert one != hashlib.sha256(b'POST /api/v1/x/\n{"a":1,"b":2}').hexdigest()  # keyed: no bare hash of a body
    assert one == salted_hmac("trials.idempotency.request", b'POST /api/v1/x/\n{"a":1,"b":2}',
                              algorithm="sha256").hexdigest()


def test_fingerprint_of_a_signing_body_depends_on_the_secret_key(settings):
    signing = RequestFactory().post("/api/v1/screenings/1/eligibility-confirmation/",
                                    b'{"password": "Long-enough-pass-91"}', content_type="application/json")
    first = request_fingerprint(signing)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert request_fingerprint(signing) != first


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "line\nbreak"])
def test_malformed_key_is_400_and_records_nothing(api, participant, key):
    response = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert response.json() == {"errors": {"Idempotency-Key": ["Send 1 to 255 printable characters."]}}
    assert AdverseEvent.objects.count() == 0


def test_key_of_an_unauthenticated_request_claims_nothing(participant):
    response = APIClient().post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="anon")

    assert response.status_code == 401
    assert SubmissionKey.objects.count() == 0


def test_key_of_a_request_refused_for_its_role_is_released(participant, make_user):
    monitor = client_for(make_user("monitor"))

    response = monitor.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="m-1")

    assert response.status_code == 403
    assert SubmissionKey.objects.count() == 0


def test_a_key_adds_at_most_three_queries(api, participant, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as without_key:
        api.post(ae_url(participant), event_body(), format="json")
    with django_assert_max_num_queries(len(without_key.captured_queries) + 3):
        response = api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-q")
    assert response.status_code == 201
    with django_assert_max_num_queries(3):  # the claim found, its replay
        api.post(ae_url(participant), event_body(), format="json", HTTP_IDEMPOTENCY_KEY="ae-q")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_record_one_event(studies, make_user):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator = make_user("coordinator")
    participant = enrol_p2(coordinator)
    barrier = threading.Barrier(8)
    statuses = []

    def post():
        try:
            client = client_for(coordinator)
            barrier.wait(timeout=10)
            statuses.append(client.post(ae_url(participant), event_body(), format="json",
                                        HTTP_IDEMPOTENCY_KEY="burst").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(statuses) == 8 and statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert AdverseEvent.objects.filter(participant=participant).count() == 1


def test_schema_documents_the_key_on_every_post(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    posts = {path: ops["post"] for path, ops in schema["paths"].items() if "post" in ops}
    assert "/api/v1/participants/{id}/adverse-events/" in posts
    assert all([p["name"] for p in post["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
               for post in posts.values())


def test_form_encoded_post_with_a_key_through_the_session_is_recorded_once(participant, coordinator):
    """The session's CSRF check reads the form body; the key's fingerprint has read it first."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    client.get(reverse("adverse-event-new", args=[participant.pk]))  # sets the CSRF cookie
    body = {**event_body(), "serious": "false", "csrfmiddlewaretoken": client.cookies["csrftoken"].value}

    first = client.post(ae_url(participant), body, HTTP_IDEMPOTENCY_KEY="session-1")
    second = client.post(ae_url(participant), body, HTTP_IDEMPOTENCY_KEY="session-1")

    assert (first.status_code, second.status_code) == (201, 201), first.content
    assert second.json() == first.json()
    assert AdverseEvent.objects.filter(participant=participant).count() == 1
