"""A study none of the shipped files contains, configured through the admin pages (the real forms
posted as a browser posts them), then run through the API like a built-in one: a disease new to the
catalogue, screening with the study's own items and criteria (a date item and a "days since" rule, a
choice item), enrolment, two infusions a fortnight apart, visits with their own items, and the
response (issue: any protocol without code)."""
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.tests.support import p3_facts, today
from trials.models import (
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    Item,
    ItemPlacement,
    ResponseCriteriaSet,
    Site,
    Study,
    StudyDisease,
    VisitDefinition,
)
from trials.tests.admin_forms import form_errors, inline_add, inline_errors, page_data

CODE = "PTT-MSC"
DISEASE = "PTT"  # not in the shipped catalogue: the administrator adds it
CRITERIA_SET = "IWG2009-ITP"


def day0():
    return today() - timedelta(days=60)


def on(day: int) -> str:
    return (day0() + timedelta(days=day)).isoformat()


def at(day: int, hour: int = 9) -> str:
    return timezone.make_aware(datetime.combine(day0() + timedelta(days=day), time(hour))).isoformat()


def ok(response, status=201):
    assert response.status_code == status, response.json()
    return response.json()


def saved(response):
    assert response.status_code == 302, form_errors(response)
    return response


def configure(admin_client) -> Study:
    """The disease, then the study with its disease, visits, arm, dose level and infusions, items and
    criteria, in the admin; then its activation."""
    url = reverse("admin:trials_disease_add")
    saved(admin_client.post(url, page_data(admin_client.get(url)) | {
        "code": DISEASE, "name": "Thrombocytopenia after haematopoietic stem cell transplantation",
        "lineages": ["platelets"], "response_criteria": ResponseCriteriaSet.objects.get(code=CRITERIA_SET).pk}))

    url = reverse("admin:trials_study_add")
    page = admin_client.get(url)
    data = page_data(page) | {
        "code": CODE, "title": "MSC after splenectomy failure", "version": "1", "effective_date": on(-200),
        "sites": [str(Site.objects.get(code="PUMCH").pk)], "enrolment_target": "10",
        "eligibility_confirmation_required": "", "time_point_window_days": "7",
        "response_time_points": '{"initial": {"anchor": "last_infusion", "days": 14}}',
    }
    inline_add(data, page, StudyDisease, disease=DISEASE,
               response_criteria=ResponseCriteriaSet.objects.get(code=CRITERIA_SET).pk)
    inline_add(data, page, VisitDefinition, code="BL", label="Baseline", anchor="first_infusion", offset=0,
               window_before=14, window_after=0, assessments=["blood_count", "bleeding"], order=1)
    inline_add(data, page, VisitDefinition, code="W2", label="Two weeks after the last infusion",
               anchor="last_infusion", offset=14, window_before=3, window_after=3,
               assessments=["blood_count", "bleeding"], order=2)
    saved(admin_client.post(url, data))
    study = Study.objects.get(code=CODE)

    url = reverse("admin:trials_arm_add")
    page = admin_client.get(url)
    data = page_data(page) | {"study": str(study.pk), "code": "MSC", "name": "MSC x 2", "product_kind": "msc",
                              "missed_infusion_rule": "last_given"}
    inline_add(data, page, DoseLevel, code="STD", label="1 x10^6 cells/kg", order=1, dose_basis="per_kg",
               dose_per_kg=1.0e6, hard_limit_low=0.5, hard_limit_high=2.0)
    inline_add(data, page, InfusionDefinition, number=1, anchor="day0", offset_days=0)
    inline_add(data, page, InfusionDefinition, number=2, anchor="previous_actual", offset_days=14,
               window_before_days=2, window_after_days=2)
    assert admin_client.post(url, data).status_code == 302, inline_errors(admin_client.post(url, data), DoseLevel)

    items = [
        {"code": "splenectomy_date", "label": "Date of splenectomy", "type": "date", "section": "Surgery",
         "order": "1", "on_screening_form": "on"},
        {"code": "marrow", "label": "Bone marrow cellularity", "type": "choice", "section": "Marrow", "order": "2",
         "choices": "normal = Normal\nhypo = Hypocellular\nhyper = Hypercellular", "on_screening_form": "on"},
        {"code": "fatigue_score", "label": "Fatigue score", "type": "number", "unit": "points", "min_value": "0",
         "max_value": "10", "decimals": "0", "section": "Quality of life", "order": "3", "visits": ["BL", "W2"]},
    ]
    for item in items:
        visits = item.pop("visits", [])
        url = reverse("admin:trials_item_add") + f"?study__code={CODE}"
        saved(admin_client.post(url, page_data(admin_client.get(url)) | item))
        if visits:
            created = Item.objects.get(study=study, code=item["code"])
            url = reverse("admin:trials_item_change", args=[created.pk])
            page = admin_client.get(url)
            data = page_data(page) | {"change_reason": "Asked at the visits"}
            for code in visits:
                inline_add(data, page, ItemPlacement, visit_definition=study.visit_definitions.get(code=code).pk)
            saved(admin_client.post(url, data))

    url = reverse("admin:trials_study_change", args=[study.pk])
    page = admin_client.get(url)
    data = page_data(page) | {"change_reason": "Criteria of the protocol"}
    for order, (code, rule_type, params) in enumerate([
        ("age", "age_range", {"min_years": 18, "max_years": 70}),
        ("disease", "disease_in", {"diseases": [DISEASE]}),
        ("platelets", "lab_threshold", {"analyte": "PLT", "op": "<", "value": 30}),
        ("after_splenectomy", "days_since", {"field": "splenectomy_date", "unit": "months", "op": ">=",
                                             "value": 6}),
        ("marrow", "answer_in", {"field": "marrow", "values": ["normal", "hyper"]}),
    ], start=1):
        inline_add(data, page, EligibilityCriterion, code=code, kind="inclusion", order=order, text=code,
                   rule_type=rule_type, params=params)
    response = admin_client.post(url, data)
    assert response.status_code == 302, inline_errors(response, EligibilityCriterion)

    url = reverse("admin:trials_study_activate", args=[study.pk])
    saved(admin_client.post(url, {"reason": "Approved by the ethics committee"}))
    study.refresh_from_db()
    assert study.status == "active"
    return study


@pytest.fixture
def configured(client, studies, make_user):
    client.force_login(make_user("admin"))
    study = configure(client)
    client.logout()
    return study


def screening_facts(**changes) -> dict:
    facts = {**p3_facts(), "screening_date": on(-10), "disease": DISEASE,
             "items": {"splenectomy_date": (day0() - timedelta(days=10 + 200)).isoformat(), "marrow": "normal"}}
    for key in ("conditions", "pregnancy_test", "childbearing_potential", "agrees_contraception",
                "stable_maintenance_therapy_4_weeks", "thrombocytopenia_months", "diagnosis_meets_guideline",
                "understands_and_complies"):
        facts.pop(key)
    return facts | changes


def test_a_study_configured_in_the_admin_runs_like_a_built_in_one(configured, api, client, coordinator):
    screening = ok(api.post(f"/api/v1/studies/{CODE}/screenings/", screening_facts(), format="json"))

    # Eligibility: each criterion with its arithmetic, the study's own items among them.
    details = {c["code"]: (c["outcome"], c["detail"]) for c in screening["eligibility"]["criteria"]}
    splenectomy = (day0() - timedelta(days=210)).isoformat()
    assert details == {
        "age": ("met", details["age"][1]),
        "disease": ("met", details["disease"][1]),
        "platelets": ("met", details["platelets"][1]),
        "after_splenectomy": ("met", f"splenectomy date {splenectomy} to screening {on(-10)}: 6 months; criterion "
                                     ">= 6 months"),
        "marrow": ("met", "marrow: normal; criterion one of normal, hyper"),
    }
    assert screening["items"] == {"splenectomy_date": splenectomy, "marrow": "normal"}
    assert screening["eligibility"]["eligible"] is True

    # A hypocellular marrow or a splenectomy 5 months before screening is not eligible, and says why.
    refused = ok(api.post(f"/api/v1/studies/{CODE}/screenings/", screening_facts(
        items={"splenectomy_date": (day0() - timedelta(days=10 + 160)).isoformat(), "marrow": "hypo"}),
        format="json"))
    outcomes = {c["code"]: c["outcome"] for c in refused["eligibility"]["criteria"]}
    assert (outcomes["after_splenectomy"], outcomes["marrow"], refused["eligibility"]["eligible"]) == (
        "not_met", "not_met", False)
    # An answer the item does not take is a 400 on the item, and nothing is stored.
    bad = api.post(f"/api/v1/studies/{CODE}/screenings/", screening_facts(items={"marrow": "fibrotic"}),
                   format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["items.marrow"]

    # Consent, enrolment: the schedule of two infusions a fortnight apart and the visits.
    ok(api.post(f"/api/v1/screenings/{screening['id']}/consent/",
                {"version": "ICF 1.0", "signed_at": at(-9), "obtained_by": "Dr Han"}, format="json"))
    participant = ok(api.post(f"/api/v1/screenings/{screening['id']}/enrol/",
                              {"enrolled_on": on(-5), "first_infusion_on": on(0)}, format="json"))
    pk = participant["id"]
    schedule = ok(api.get(f"/api/v1/participants/{pk}/"), 200)["schedule"]
    assert [(i["number"], i["target_date"], i["window_start"], i["window_end"]) for i in schedule["infusions"]] == [
        (1, on(0), on(0), on(0)), (2, on(14), on(12), on(16))]
    assert [v["code"] for v in schedule["visits"]] == ["BL", "W2"]

    # Baseline with the visit's own item, the two infusions, the visit two weeks after the last.
    product = {"kind": "msc", "lot": "MSC-1", "viability_pct": 95}
    baseline = ok(api.post(f"/api/v1/participants/{pk}/assessments/", {
        "date": on(0), "visit": "BL", "bleeding_grade": 0, "items": {"fatigue_score": 7},
        "labs": [{"analyte": "PLT", "value": 18, "unit": "10^9/L"}]}, format="json"))
    assert baseline["items"] == {"fatigue_score": 7}
    for number, day in ((1, 0), (2, 14)):
        ok(api.post(f"/api/v1/participants/{pk}/infusions/", {
            "number": number, "started_at": at(day), "ended_at": at(day, 10), "weight_kg": 58.0,
            "cells_infused": 5.8e7, "product": product}, format="json"))
    out_of_range = api.post(f"/api/v1/participants/{pk}/assessments/", {
        "date": on(28), "visit": "W2", "bleeding_grade": 0, "items": {"fatigue_score": 11},
        "labs": [{"analyte": "PLT", "value": 80, "unit": "10^9/L"}]}, format="json")
    assert out_of_range.status_code == 400
    assert out_of_range.json()["errors"]["items.fatigue_score"] == [
        "11 points is outside the plausible range 0-10 points."]
    w2 = ok(api.post(f"/api/v1/participants/{pk}/assessments/", {
        "date": on(28), "visit": "W2", "bleeding_grade": 0, "items": {"fatigue_score": 3},
        "labs": [{"analyte": "PLT", "value": 80, "unit": "10^9/L"}]}, format="json"))
    assert w2["items"] == {"fatigue_score": 3}

    # The response, as for a built-in ITP study: 80 >= 30 and >= 2 x 18 is R at least.
    response = ok(api.get(f"/api/v1/participants/{pk}/response/"), 200)
    assert response["baseline"]["value"] == 18
    assert [a["category"] for a in response["assessments"]][-1] == "R"

    # The pages show it as they show a built-in study.
    client.force_login(coordinator)
    assert client.get(reverse("study-detail", args=[CODE])).status_code == 200
    page = client.get(reverse("participant-detail", args=[pk]))
    assert page.status_code == 200 and "Fatigue score" in page.content.decode()
