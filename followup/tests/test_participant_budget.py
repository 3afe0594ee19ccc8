"""The participant page, the participant API and the response API cost the same number of queries
with 1 and with 50 assessments (and their labs, therapies and adverse events)."""
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing.tests.support import day0, give
from followup import services

PAGES = ("page", "participant api", "response api")


def record(participant, user, day, platelets, *, therapy=False):
    services.assessment_record(participant=participant, by=user, data=services.AssessmentInput(
        date=day0() + timedelta(days=day), visit=None, bleeding_grade=0,
        labs=[{"analyte": "PLT", "value": platelets, "unit": "10^9/L"},
              {"analyte": "HGB", "value": 120, "unit": "g/L"}],
        rescue_therapies=[{"therapy": "ivig", "start": day0() + timedelta(days=day - 1)}] if therapy else []))


def counts(client, api, participant) -> dict[str, int]:
    urls = {"page": reverse("participant-detail", args=[participant.pk]),
            "participant api": f"/api/v1/participants/{participant.pk}/",
            "response api": f"/api/v1/participants/{participant.pk}/response/"}
    found = {}
    for name, url in urls.items():
        (client if name == "page" else api).get(url)  # warm the session and caches
        with CaptureQueriesContext(connection) as queries:
            response = (client if name == "page" else api).get(url)
        assert response.status_code == 200, (name, response.status_code)
        found[name] = len(queries)
    return found


def test_participant_reads_do_not_grow_with_assessments(client, api, participant, coordinator):
    record(participant, coordinator, 0, 15)
    give(api, participant, 1, 0)
    record(participant, coordinator, 1, 20)
    client.force_login(coordinator)
    with_one = counts(client, api, participant)

    for day in range(2, 51):
        record(participant, coordinator, day, 20 + day, therapy=day % 10 == 0)
    for day in (3, 9, 27):
        api.post(f"/api/v1/participants/{participant.pk}/adverse-events/",
                 {"term": "Headache", "category": "non_haematological",
                  "onset_date": (day0() + timedelta(days=day)).isoformat(), "grade": 1, "serious": False,
                  "relationship": "possible"}, format="json")
    assert (participant.assessments.count(), participant.adverse_events.count()) == (51, 3)
    with_fifty = counts(client, api, participant)

    assert with_fifty == with_one
    # 13, one for the casebook's sign-off (`followup.signoff`) and one for the SDV states (the
    # verifications, `followup/_sdv_states.html`)
    assert with_one["page"] <= 15
