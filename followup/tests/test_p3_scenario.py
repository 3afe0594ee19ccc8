"""A whole P3 (MSC-ITP-5) course through the API, from screening to the study's outcomes.

Screen, consent, enrol, five infusions (the fourth late and flagged), the follow-up visits D14-M12
with platelet counts; then the per-visit categories, the best confirmed response with its dates and
time points (CLINICAL_RULES.md section 1), and the outcomes snapshot with its exact and Wilson CIs
(section 6, reference values for 1/3). Day 0 lies far enough in the past for month 12 to be due.
"""
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from enrollment.tests.support import p3_facts, today
from trials.tests.support import SIGNER_PASSWORD, client_for, site_investigator


def scenario_day0():
    """The first infusion of the scenario: 420 days ago."""
    return today() - timedelta(days=420)


MSC = {"kind": "msc", "lot": "MSC-2026-014", "viability_pct": 93.5}


def on(day: int) -> str:
    return (scenario_day0() + timedelta(days=day)).isoformat()


def at(day: int, hour: int = 9) -> str:
    return timezone.make_aware(datetime.combine(scenario_day0() + timedelta(days=day), time(hour))).isoformat()


def ok(response, status=201):
    assert response.status_code == status, response.json()
    return response.json()


def enrol(api, initials: str) -> int:
    screening = ok(api.post("/api/v1/studies/MSC-ITP-5/screenings/",
                            {**p3_facts(), "initials": initials, "screening_date": on(-10)}, format="json"))
    assert screening["eligibility"]["eligible"] is True
    ok(api.post(f"/api/v1/screenings/{screening['id']}/consent/",
                {"version": "ICF 1.0", "signed_at": at(-9), "obtained_by": "Dr Han"}, format="json"))
    ok(client_for(site_investigator()).post(f"/api/v1/screenings/{screening['id']}/eligibility-confirmation/",
                                            {"password": SIGNER_PASSWORD}, format="json"))
    participant = ok(api.post(f"/api/v1/screenings/{screening['id']}/enrol/",
                              {"enrolled_on": on(-5), "first_infusion_on": on(0)}, format="json"))
    return participant["id"]


def infuse(api, pk: int, number: int, day: int, **extra):
    return api.post(f"/api/v1/participants/{pk}/infusions/",
                    {"number": number, "started_at": at(day), "ended_at": at(day, 10), "weight_kg": 58.0,
                     "cells_infused": 5.8e9, "product": MSC, **extra}, format="json")


def count(api, pk: int, day: int, platelets: float, visit: str | None = None):
    return ok(api.post(f"/api/v1/participants/{pk}/assessments/",
                       {"date": on(day), "visit": visit, "bleeding_grade": 0,
                        "labs": [{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}]}, format="json"))


def treat(api, pk: int, days=(0, 7, 21, 35, 49)):
    count(api, pk, 0, 18, visit="BL")
    for number, day in enumerate(days, start=1):
        ok(infuse(api, pk, number, day, **({"deviation_reason": "Participant had a cold"} if day == 39 else {})))


# Follow-up after the last actual infusion (day 53, the fourth having been given 4 days late):
# (visit, day after day 0, platelets, expected category against baseline 18).
FOLLOW_UP = [
    ("D14", 67, 45, "R"),    # >= 30 and >= 2 x 18
    ("M1", 83, 60, "R"),     # confirms R: 16 days after D14
    ("M2", 113, 120, "CR"),
    ("M3", 143, 130, "CR"),  # confirms CR
    ("M6", 233, 110, "CR"),
    ("M9", 323, 25, "NR"),
    ("M12", 413, 20, "NR"),  # confirms the loss found at M9
]


@pytest.fixture
def course(api, studies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        responder = enrol(api, "WL")
        count(api, responder, 0, 18, visit="BL")
        ok(infuse(api, responder, 1, 0))
        ok(infuse(api, responder, 2, 7))
        count(api, responder, 7, 25)  # week 1, before the second infusion: NR
        ok(infuse(api, responder, 3, 21))
        late = infuse(api, responder, 4, 39)
        assert late.status_code == 400 and "deviation_reason" in late.json()["errors"]
        flagged = ok(infuse(api, responder, 4, 39, deviation_reason="Participant had a cold"))
        ok(infuse(api, responder, 5, 53))
        for visit, day, platelets, _category in FOLLOW_UP:
            count(api, responder, day, platelets, visit=visit)

        non_responder = enrol(api, "ZQ")
        treat(api, non_responder)
        for visit, day, platelets in (("D14", 63, 20), ("M1", 79, 22), ("M2", 109, 19)):
            count(api, non_responder, day, platelets, visit=visit)
        third = enrol(api, "LY")
        treat(api, third, days=(0,))  # one infusion so far, then no evaluable count
    return {"responder": responder, "flagged": flagged, "non_responder": non_responder, "third": third}


def test_late_infusion_is_flagged_and_moves_the_follow_up(api, course):
    assert course["flagged"]["deviation"] is True
    body = ok(api.get(f"/api/v1/participants/{course['responder']}/"), 200)
    infusions = {i["number"]: i for i in body["schedule"]["infusions"]}
    assert [i["status"] for i in infusions.values()] == ["given", "given", "given", "given_out_of_window", "given"]
    assert (infusions[5]["window_start"], infusions[5]["window_end"]) == (on(50), on(56))  # 39 + 14 +/- 3
    visits = {v["code"]: v for v in body["schedule"]["visits"]}
    assert {code: visits[code]["target_date"] for code, *_ in FOLLOW_UP} == {
        code: on(day) for code, day, *_ in FOLLOW_UP}
    assert all(visits[code]["status"] == "done" for code, *_ in FOLLOW_UP)


def test_per_visit_categories_best_response_and_time_points(api, course):
    body = ok(api.get(f"/api/v1/participants/{course['responder']}/response/"), 200)
    assert body["criteria_set"] == "IWG2009-ITP"
    assert body["baseline"] == {"analyte": "PLT", "value": 18.0, "date": on(0)}
    assert [(a["date"], a["category"]) for a in body["assessments"]] == (
        [(on(7), "NR")] + [(on(day), category) for _visit, day, _plt, category in FOLLOW_UP])
    assert body["best_confirmed_response"] == "CR"
    assert body["response_date"] == on(67) and body["time_to_response_days"] == 67
    assert body["complete_response_date"] == on(113)
    assert body["loss_of_response_date"] == on(323)
    assert (body["duration_of_response_days"], body["duration_censored"]) == (256, False)
    points = {p["name"]: p for p in body["time_points"]}
    assert {name: (p["target_date"], p["assessment_date"], p["met"]) for name, p in points.items()} == {
        "early": (on(7), on(7), False),         # week 1 from the first infusion: 25 is NR
        "initial": (on(83), on(83), True),      # month 1 after the last infusion (day 53)
        "durable": (on(233), on(233), True),    # month 6: confirmed since day 67, not yet lost
        "remission": (on(413), on(413), False),  # month 12: 20 < 100
    }
    assert "lost on" not in points["durable"]["reason"]
    # From day 7 to day 413: R/CR held from day 67 to day 323.
    assert body["time_in_response_share"] == pytest.approx((323 - 67) / (413 - 7), abs=1e-4)


def test_outcomes_snapshot_counts_one_responder_of_three_treated(api, course):
    body = ok(api.get("/api/v1/studies/MSC-ITP-5/outcomes/"), 200)
    everyone = next(g for g in body["groups"] if g["group"] == "all")
    assert (everyone["treated"], everyone["evaluable"], everyone["responders"],
            everyone["complete_responders"]) == (3, 2, 1, 1)
    assert everyone["rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert everyone["ci_exact"] == pytest.approx([0.0084, 0.9057], abs=5e-5)  # CLINICAL_RULES.md section 6
    assert everyone["ci_wilson"] == pytest.approx([0.0615, 0.7923], abs=5e-5)
    non_responder = ok(api.get(f"/api/v1/participants/{course['non_responder']}/response/"), 200)
    assert non_responder["best_confirmed_response"] == "NR"


def test_participant_page_shows_time_points_duration_and_the_reasoning(client, api, coordinator, course):
    draft = ok(api.post(f"/api/v1/participants/{course['responder']}/adverse-events/",
                        {"term": "Headache", "category": "non_haematological", "onset_date": on(40),
                         "resolution_date": on(41), "grade": 1, "serious": False, "relationship": "possible"},
                        format="json"))
    ok(client_for(site_investigator()).post(f"/api/v1/adverse-events/{draft['id']}/confirm/", {
        "grade": 1, "serious": False, "relationship": "possible", "password": SIGNER_PASSWORD}, format="json"), 200)
    client.force_login(coordinator)
    html = client.get(reverse("participant-detail", args=[course["responder"]])).content.decode()
    assert 'data-testid="time-points"' in html
    assert f"<tr><td>remission</td><td class=\"text-nowrap\">{on(413)}</td>" in html
    assert "Duration of response 256 days." in html
    assert "Share of observed time in response: 63 %" in html
    assert "How this was computed" in html and "loss of response on " + on(323) in html
    chart = client.get(reverse("participant-detail", args=[course["responder"]])).context["chart"]
    assert [(e.label, e.grade) for e in chart.events] == [("Headache G1", 1)]  # on the counts' time axis
    assert html.count('data-testid="timeline-ae"') == 1 and chart.response.label == "CR confirmed"
    # The marker sits on the CR date (day 113), not on the first response (day 67, an R).
    cr_point = next(point for point in chart.points if point.day.isoformat() == on(113))
    assert chart.response.x == cr_point.x
    assert f"first response on {on(67)}, 67 days after the first infusion" in html and f"CR from {on(113)}" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_coordinator_records_the_m1_count_in_the_browser_and_sees_the_response(chromium_page, studies, make_user):
    user = make_user("coordinator", username="hana", password="Correct-Horse-88")
    api = APIClient()
    api.force_authenticate(user)
    pk = enrol(api, "WL")
    treat(api, pk)
    count(api, pk, 63, 45, visit="D14")  # last infusion on day 49: D14 on day 63, M1 on day 79

    page = chromium_page
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "hana")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{pk}/")
    page.locator('[data-testid=visit-plan] a[href$="?visit=M1"]').click()
    page.fill("#id_date", on(79))
    page.fill("#id_lab-PLT-value", "60")
    page.select_option("#id_bleeding_grade", "0")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    assert "M1 recorded." in page.content()
    best = page.locator("[data-testid=best-response]").inner_text()
    assert ("Best confirmed response: R" in best
            and f"first response on {on(63)}, 63 days after the first infusion" in best)
    rows = page.locator("[data-testid=response-assessments] tbody tr")
    assert rows.count() == 2 and "R" in rows.nth(1).inner_text()
    assert errors == []
