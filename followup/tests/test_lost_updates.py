"""No lost update (trials/concurrency.py, API.md "Versions"): a screening, an assessment and an
adverse event carry a version, read with them (`version`, `ETag`, the edit page's hidden field) and
sent back with a change; a change made from an older read is refused (API 409 with the current
record, page: what the other user changed and the user's values kept) and nothing is written."""
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from dosing.tests.escalation_setup import adverse_event, dlt_onset, enrol_p2
from enrollment.models import Screening
from enrollment.tests.support import create_screening, form_data
from followup.models import AdverseEvent, Assessment
from followup.tests.test_assessment_update_api import w1_body
from trials.tests.support import client_for, require_service


@pytest.fixture
def records(studies, coordinator, woman):
    """A screening, a recorded assessment and a confirmed adverse event, with their API URLs and a
    change each."""
    api = client_for(coordinator)
    screening = create_screening(coordinator)
    assessment = api.post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(), format="json").json()["id"]
    event = adverse_event(enrol_p2(coordinator), onset=dlt_onset(), by=coordinator)
    return [
        (Screening, f"/api/v1/screenings/{screening.pk}/", screening.pk, {"weight_kg": 61, "reason": "Re-weighed"},
         {"weight_kg": 62, "reason": "Re-weighed again"}),
        (Assessment, f"/api/v1/assessments/{assessment}/", assessment, {"notes": "Petechiae", "reason": "Missed"},
         {"notes": "Gum bleeding", "reason": "Missed too"}),
        (AdverseEvent, f"/api/v1/adverse-events/{event.pk}/", event.pk, {"description": "First", "reason": "Typo"},
         {"description": "Second", "reason": "Other typo"}),
    ]


def test_a_change_from_an_older_read_is_409_with_the_current_record_and_writes_nothing(records, coordinator):
    api = client_for(coordinator)
    for model, url, pk, first, second in records:
        read = api.get(url)
        version = read.json()["version"]
        assert read["ETag"] == f'"{version}"'

        saved = api.patch(url, {**first, "version": version}, format="json")
        assert saved.status_code == 200, (model, saved.json())
        assert saved.json()["version"] > version and saved["ETag"] == f'"{saved.json()["version"]}"'
        rows = model.history.filter(id=pk).count()

        stale = api.patch(url, {**second, "version": version}, format="json")
        assert stale.status_code == 409, (model, stale.json())
        assert "version" in stale.json()["errors"]
        assert stale.json()["current"]["version"] == saved.json()["version"]
        assert model.history.filter(id=pk).count() == rows  # nothing written

        by_header = api.patch(url, second, format="json", HTTP_IF_MATCH=saved["ETag"])
        assert by_header.status_code == 200, (model, by_header.json())
        assert api.patch(url, second, format="json").status_code == 400  # no version: refused, named
        assert "version" in api.patch(url, second, format="json").json()["errors"]


def test_the_edit_page_shows_the_other_change_and_keeps_the_users_values(studies, coordinator, client, make_user):
    screening = create_screening(coordinator)
    client.force_login(coordinator)
    url = reverse("screening-edit", args=[screening.pk])
    read_at = client.get(url).context["entry"].facts.initial["version"]
    other = client_for(make_user("coordinator"))
    assert other.patch(f"/api/v1/screenings/{screening.pk}/", {"weight_kg": 63, "reason": "Scale recalibrated",
                                                               "version": read_at}, format="json").status_code == 200

    response = client.post(url, {**form_data(weight_kg=60), "reason": "Weighed at the visit", "version": read_at})

    assert response.status_code == 200
    conflict = response.context["conflict"]
    assert conflict.version == read_at + 2 and any(field == "weight_kg" and (old, new) == (58.0, 63.0)
                                                   for change in conflict.changes
                                                   for field, old, new in change["fields"])
    page = response.content.decode()
    assert 'data-testid="edit-conflict"' in page and "Scale recalibrated" in page
    assert Screening.objects.get(pk=screening.pk).weight_kg == 63.0  # nothing overwritten
    assert response.context["entry"].facts["weight_kg"].value() in ("60", 60)  # the user's value kept

    again = client.post(url, {**form_data(weight_kg=60), "reason": "Weighed at the visit",
                              "version": conflict.version})
    assert again.status_code == 302
    assert Screening.objects.get(pk=screening.pk).weight_kg == 60.0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["screening", "assessment", "adverse event"])
def test_racing_corrections_never_overwrite_silently(studies, make_user, woman, kind):
    """50 pairs of users correct the same record from the same read at the same moment: one of each
    pair is saved, the other gets 409, and history has the accepted save's rows only."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    coordinator = make_user("coordinator")
    api = client_for(coordinator)
    if kind == "screening":
        model, pk = Screening, create_screening(coordinator).pk
        url, change = f"/api/v1/screenings/{pk}/", lambda n, side: {"weight_kg": 50 + n % 20 + side / 10}
    elif kind == "assessment":
        pk = api.post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(), format="json").json()["id"]
        model, url, change = Assessment, f"/api/v1/assessments/{pk}/", lambda n, side: {"notes": f"Pair {n} by {side}"}
    else:
        model, pk = AdverseEvent, adverse_event(enrol_p2(coordinator), onset=dlt_onset(), by=coordinator).pk
        url, change = f"/api/v1/adverse-events/{pk}/", lambda n, side: {"description": f"Pair {n} by {side}"}
    accepted = 0
    for pair in range(50):
        version = api.get(url).json()["version"]
        rows = model.history.filter(id=pk).count()
        barrier = threading.Barrier(2)
        results = []

        def save(side, version=version, barrier=barrier, results=results, pair=pair):
            try:
                client = client_for(coordinator)
                barrier.wait(timeout=10)
                body = {**change(pair, side), "reason": f"Pair {pair}", "version": version}
                results.append(client.patch(url, body, format="json").status_code)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=save, args=(side,)) for side in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(results) == [200, 409], (kind, pair, results)
        accepted += 1
        # One accepted save: one history row (a screening's: its facts, then their evaluation).
        assert model.history.filter(id=pk).count() - rows == (2 if kind == "screening" else 1)
    assert accepted == 50
