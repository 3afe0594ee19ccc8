"""The study page and the study API show the configuration a person needs, in bounded queries."""
import pytest
import yaml
from django.urls import reverse
from rest_framework.test import APIClient

from trials.services import STUDIES_DIR, LoadReport, study_load


@pytest.fixture
def api(make_user):
    client = APIClient()
    client.force_authenticate(make_user("investigator"))
    return client


def test_study_page_shows_schedules_criteria_and_response_criteria(client, studies, make_user):
    client.force_login(make_user("coordinator"))
    response = client.get(reverse("study-detail", args=["MSC-ITP-5"]))
    html = response.content.decode()
    rows = [(r.definition.number, r.nominal_day, r.earliest_day, r.latest_day) for r in response.context["arms"][0][1]]
    assert rows == [(1, 0, 0, 0), (2, 7, 6, 8), (3, 21, 18, 24), (4, 35, 32, 38), (5, 49, 46, 52)]
    assert "infusion 2 as given + 14 days" in html
    visits = [(v.definition.code, v.timing, v.window) for v in response.context["visits"]]
    assert visits[:3] == [("BL", "at first infusion", "-14 d / +0 d"),
                          ("D14", "14 d after last infusion", "±3 d"),
                          ("M1", "30 d after last infusion", "±7 d")]
    assert "(CREAT &lt;= 1.5 x ULN or creatinine clearance &gt; 75 mL/min" in html
    assert "ITP response, IWG 2009" in html
    assert "1 x10^8 cells/kg" in html


def test_p2_study_page_orders_timed_samples_and_shows_restrictions(client, studies, make_user):
    client.force_login(make_user("investigator"))
    response = client.get(reverse("study-detail", args=["HUCMSC-ITP-ESC"]))
    visits = {v.definition.code: v for v in response.context["visits"]}
    codes = [v.definition.code for v in response.context["visits"]]
    assert codes.index("D-1") < codes.index("PK-30M") < codes.index("AB-PRE") < codes.index("PK30M") < codes.index("W1")
    assert visits["PK30M"].who == "Female participants only"
    assert visits["AB-48H"].who == "first 9 participants"
    assert visits["AB-48H"].timing == "48 h after last infusion"
    assert visits["PK-30M"].timing == "30 min before first infusion"
    html = response.content.decode()
    assert "0.5 x10^6 cells/kg" in html and "up to 3" in html


def test_api_study_detail_follows_the_contract(api, studies):
    response = api.get("/api/v1/studies/MSC-ITP-5/")
    assert response.status_code == 200
    body = response.json()
    assert {"code", "title", "registry_id", "version", "effective_date", "sites", "arms", "visits", "criteria",
            "diseases", "enrolment_target"} <= set(body)
    arm = body["arms"][0]
    assert [(i["number"], i["anchor"], i["offset_days"], i["window_before_days"], i["nominal_day"])
            for i in arm["infusions"]] == [
        (1, "day0", 0, 0, 0), (2, "previous_actual", 7, 1, 7), (3, "previous_actual", 14, 3, 21),
        (4, "previous_actual", 14, 3, 35), (5, "previous_actual", 14, 3, 49)]
    assert arm["dose_levels"][0]["dose_per_kg"] == 1e8
    assert body["diseases"] == [{"disease": "ITP", "response_criteria": {
        "code": "IWG2009-ITP", "name": "ITP response, IWG 2009", "name_zh": "ITP疗效标准，IWG 2009", "version": "2009",
        "family": "itp",
        "source": "Rodeghiero F et al. Blood 2009;113:2386-93 (International Working Group).",
        "thresholds": body["diseases"][0]["response_criteria"]["thresholds"]}}]
    d14 = next(v for v in body["visits"] if v["code"] == "D14")
    assert d14 == {"code": "D14", "label": "Day 14 after the last infusion", "label_zh": "末次输注后第14天",
                   "arm": None, "anchor": "last_infusion",
                   "offset": 14, "offset_unit": "days", "window_before": 3, "window_after": 3, "window_unit": "days",
                   "assessments": ["blood_count", "bleeding", "liver", "renal", "transfusions", "adverse_events"],
                   "sex_restriction": "any", "first_n_participants": None}
    assert body["version"] == "1" and body["sites"] == ["PUMCH"]


def test_api_study_detail_of_p2_lists_levels_in_order(api, studies):
    levels = api.get("/api/v1/studies/HUCMSC-ITP-ESC/").json()["arms"][0]["dose_levels"]
    assert [(lv["code"], lv["dose_per_kg"], lv["group_cap"], lv["status"]) for lv in levels] == [
        ("A", 5e5, 3, "open"), ("B", 1e6, 3, "planned"), ("C", 2e6, 3, "planned")]


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/studies/", "/api/v1/studies/{code}/"} <= set(paths)
    docs = api.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content and b"cdn" not in docs.content.lower()


def test_pages_send_a_strict_content_security_policy(client, make_user):
    client.force_login(make_user("monitor"))
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy


def _extra_studies(count):
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    for index in range(count):
        study_load({**data, "code": f"EXTRA-{index}"}, by=None, reason="test", report=LoadReport())


def test_home_query_count_does_not_grow_with_studies(client, studies, make_user, django_assert_max_num_queries):
    client.force_login(make_user("coordinator"))
    client.get(reverse("home"))
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("home"))
    _extra_studies(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("home"))
    assert len(response.context["studies"]) == 13


def test_api_study_list_query_count_does_not_grow_with_studies(api, studies, django_assert_max_num_queries):
    with django_assert_max_num_queries(6) as few:
        api.get("/api/v1/studies/")
    _extra_studies(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/v1/studies/").json()) == 13


def test_study_page_and_api_detail_have_a_fixed_query_budget(client, api, studies, make_user,
                                                              django_assert_max_num_queries):
    client.force_login(make_user("monitor"))
    for code in ("UCB-IRIC", "HUCMSC-ITP-ESC", "MSC-ITP-5"):
        # configuration (7 queries), the protocol versions (1), the protocol deviations (2), the
        # outcome snapshot (1), the SDV per site (the plan and the participants: 2; their records
        # 6 more once there are some, `followup/tests/test_sdv_progress.py`; the locked casebooks
        # per site counted with them), the data queries per site (1), whatever their number
        with django_assert_max_num_queries(21):
            assert client.get(reverse("study-detail", args=[code])).status_code == 200
        with django_assert_max_num_queries(12):
            assert api.get(f"/api/v1/studies/{code}/").status_code == 200
