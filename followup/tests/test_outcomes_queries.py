"""Query budgets of the study outcomes: computing the snapshot, `GET /api/v1/studies/{code}/outcomes/`
and the study page run as many queries with 50 treated participants as with 1."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followup import services
from followup.tests.support import NON_RESPONDER, responder_counts, treated_participant

MANY = 50


def participants(by, start, stop):
    """Participants ``start``..``stop - 1`` of a realistic mix: responders who lose their response
    after 1-12 months, responders still in response (censored), and non-responders; each with a
    baseline, an infusion and 3 to 9 platelet counts."""
    for index in range(start, stop):
        kind, months = index % 3, 1 + index % 12
        counts = NON_RESPONDER if kind == 2 else responder_counts(months, lost=kind == 0)
        treated_participant(by, counts)


def queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


@pytest.fixture
def grow(p3, coordinator):  # noqa: F811
    """grow(n): bring the study to n treated participants and refresh its snapshot."""
    made = [0]

    def to(count):
        participants(coordinator, made[0], count)
        made[0] = count
        return services.outcomes_compute(study=p3)

    return to


def test_outcomes_compute_query_count_does_not_grow_with_participants(grow, p3):  # noqa: F811
    grow(1)
    one = queries(lambda: services.outcomes_compute(study=p3))

    snapshot = grow(MANY)
    many = queries(lambda: services.outcomes_compute(study=p3))

    everyone = {group["group"]: group for group in snapshot.groups}["all"]
    assert (everyone["treated"], everyone["duration_of_response"]["responders"]) == (MANY, 34)
    assert many == one


def test_outcomes_api_query_count_does_not_grow_with_participants(api, grow):
    url = "/api/v1/studies/MSC-ITP-5/outcomes/"
    grow(1)
    one = queries(lambda: api.get(url))

    grow(MANY)
    response = None

    def get():
        nonlocal response
        response = api.get(url)

    many = queries(get)

    assert response.json()["groups"][-1]["treated"] == MANY
    assert many == one


def test_study_page_query_count_does_not_grow_with_participants(client, coordinator, grow):
    url = reverse("study-detail", args=["MSC-ITP-5"])
    client.force_login(coordinator)
    grow(1)
    client.get(url)  # the session is read once per client
    one = queries(lambda: client.get(url))

    grow(MANY)
    html = None

    def get():
        nonlocal html
        html = client.get(url).content.decode()

    many = queries(get)

    assert 'data-testid="duration-curve-all"' in html
    assert many == one
