"""A P3 participant's platelet response through the API (IWG 2009, CLINICAL_RULES.md section 1)."""
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dosing.tests.support import day0, give
from followup.api import ResponseBodySerializer
from followup.tests.support import assess_platelets


@pytest.fixture
def treated(api, participant):
    assess_platelets(api, participant, 0, 15, visit="BL")
    for number, day in ((1, 0), (2, 7), (3, 21), (4, 35), (5, 49)):
        give(api, participant, number, day)
    return participant


def test_response_before_any_infusion_is_not_available(api, participant):
    response = api.get(f"/api/v1/participants/{participant.pk}/response/")
    assert response.status_code == 409
    assert response.json() == {
        "errors": {"detail": ["No infusion given yet: response is assessed from the first infusion."]}}


def test_confirmed_complete_response_with_its_dates(api, treated):
    for day, count in ((50, 40), (57, 45), (63, 110), (70, 120)):
        assess_platelets(api, treated, day, count)
    body = api.get(f"/api/v1/participants/{treated.pk}/response/").json()
    assert body["criteria_set"] == "IWG2009-ITP"
    assert body["baseline"] == {"analyte": "PLT", "value": 15.0, "date": day0().isoformat()}
    assert [a["category"] for a in body["assessments"]] == ["R", "R", "CR", "CR"]
    assert body["best_confirmed_response"] == "CR"
    assert body["response_date"] == (day0() + timedelta(days=50)).isoformat()
    assert body["time_to_response_days"] == 50


def test_count_within_14_days_of_ivig_is_not_evaluable(api, treated):
    assess_platelets(api, treated, 56, 150,
                     rescue_therapies=[{"therapy": "ivig", "start": (day0() + timedelta(days=50)).isoformat(),
                                        "end": (day0() + timedelta(days=52)).isoformat()}])
    body = api.get(f"/api/v1/participants/{treated.pk}/response/").json()
    assert [(a["category"], a["evaluable"]) for a in body["assessments"]] == [("NE", False)]
    assert "ivig" in body["assessments"][0]["reason"].lower()


def test_bleeding_cancels_a_complete_response(api, treated):
    assess_platelets(api, treated, 56, 150, bleeding_grade=2)
    body = api.get(f"/api/v1/participants/{treated.pk}/response/").json()
    assert body["assessments"][0]["category"] == "NR"


def test_another_site_cannot_read_the_response(treated, make_user, other_site_study):
    other = APIClient()
    other.force_authenticate(make_user("investigator", site="XH"))
    assert other.get(f"/api/v1/participants/{treated.pk}/response/").status_code == 404


def test_participant_page_shows_the_response_timeline_and_adverse_event_drafts(client, api, treated, coordinator,
                                                                                 django_assert_max_num_queries):
    for day, count in ((50, 40), (57, 45)):
        assess_platelets(api, treated, day, count)
    client.force_login(coordinator)
    url = reverse("participant-detail", args=[treated.pk])
    client.get(url)
    with django_assert_max_num_queries(15):
        response = client.get(url)
    html = response.content.decode()
    assert response.context["response"].best_confirmed_response == "R"
    assert 'data-testid="timeline"' in html and "<polyline" in html and "R 30" in html and "CR 100" in html
    assert len(response.context["chart"].points) == 3 and len(response.context["chart"].infusions) == 5


def test_response_body_has_exactly_the_documented_fields(api, treated):
    assess_platelets(api, treated, 50, 40)
    body = api.get(f"/api/v1/participants/{treated.pk}/response/").json()
    assert set(body) == set(ResponseBodySerializer().fields)
    assert set(body["assessments"][0]) == {"date", "category", "evaluable", "reason", "value"}


@pytest.mark.parametrize("dose, categories, best", [
    # CLINICAL_RULES.md section 1 (Chinese 2020): counts on more than 5 mg/day prednisone
    # equivalent are corticosteroid dependence, i.e. no response; exactly 5 mg/day is not.
    (5, ["R", "R", "CR", "CR"], "CR"),
    (7.5, ["NR", "NR", "NR", "NR"], "NR"),
])
def test_corticosteroid_dose_recorded_through_the_api_decides_dependence(api, treated, dose, categories, best):
    for day, count in ((50, 40), (57, 45), (63, 110), (70, 120)):
        assess_platelets(api, treated, day, count, steroid_mg_per_day=dose)
    body = api.get(f"/api/v1/participants/{treated.pk}/response/").json()
    assert [a["category"] for a in body["assessments"]] == categories
    assert body["best_confirmed_response"] == best
    stored = api.get(f"/api/v1/participants/{treated.pk}/assessments/").json()
    doses = [row["steroid_mg_per_day"] for row in stored if row["date"] > day0().isoformat()]
    assert doses == [dose] * 4
    if best == "NR":
        assert "corticosteroid dependence" in body["assessments"][0]["reason"]
