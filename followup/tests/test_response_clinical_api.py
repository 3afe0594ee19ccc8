"""Clinical corrections through the API and the pages (CLINICAL_RULES.md section 1): one value per
day, the required WHO bleeding grade, corticosteroids by drug and dose, a stable maintenance dose."""
from datetime import timedelta

import pytest
from django.urls import reverse

from dosing.tests.support import day0, give
from followup.models import Assessment
from followup.tests.support import assess_counts, assess_platelets, p1_day0, p1_participant
from trials.tests.support import patch_current

BLEEDING_MESSAGE = ("Give the WHO bleeding grade (0 to 4; 0 when there is no bleeding): the response criteria of "
                    "this participant's disease use it.")


def on(day):
    return (day0() + timedelta(days=day)).isoformat()


def infuse_all(api, participant):
    for number, day in ((1, 0), (2, 7), (3, 21), (4, 35), (5, 49)):
        assert give(api, participant, number, day).status_code == 201


def response_of(api, participant):
    return api.get(f"/api/v1/participants/{participant.pk}/response/").json()


# --------------------------------------------------------------------------- one value per day


def test_two_counts_on_one_day_use_the_lowest_whatever_the_order(api, participant):
    assess_platelets(api, participant, 0, 15, visit="BL")
    infuse_all(api, participant)
    assess_platelets(api, participant, 50, 120)
    assess_platelets(api, participant, 50, 60)  # entered second, lower: the day's value
    assess_platelets(api, participant, 57, 130)

    body = response_of(api, participant)

    assert [(a["date"], a["category"], a["value"]) for a in body["assessments"]] == [
        (on(50), "R", 60.0), (on(57), "CR", 130.0)]
    assert body["assessments"][0]["reason"].endswith(f"; 2 counts on {on(50)}, lowest used")
    assert f"2 counts on {on(50)}, lowest used" in body["explanation"]
    assert body["best_confirmed_response"] == "R"


# --------------------------------------------------------------------------- bleeding grade required


def test_an_itp_assessment_without_bleeding_grade_is_refused(api, participant):
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/",
                        {"date": on(0), "visit": None, "labs": [{"analyte": "PLT", "value": 15, "unit": "10^9/L"}]},
                        format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"bleeding_grade": [BLEEDING_MESSAGE]}}
    assert not Assessment.objects.exists()


def test_a_correction_cannot_remove_the_bleeding_grade(api, participant):
    recorded = assess_platelets(api, participant, 0, 15).json()

    response = patch_current(api, f"/api/v1/assessments/{recorded['id']}/",
                             {"bleeding_grade": None, "reason": "Re-read"},
                         format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"bleeding_grade": [BLEEDING_MESSAGE]}}
    assert Assessment.objects.get().bleeding_grade == 0


def test_an_aiha_assessment_does_not_need_a_bleeding_grade(api, coordinator, studies):

    aiha = p1_participant(coordinator, "AIHA")

    response = api.post(f"/api/v1/participants/{aiha.pk}/assessments/",
                        {"date": aiha.enrolled_on.isoformat(), "visit": None,
                         "labs": [{"analyte": "HGB", "value": 70, "unit": "g/L"}]}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["bleeding_grade"] is None


def test_the_form_shows_the_missing_bleeding_grade_on_its_field(client, participant, coordinator):
    client.force_login(coordinator)
    url = reverse("assessment-new", args=[participant.pk])

    response = client.post(url, {"date": on(0), "bleeding_grade": "", "lab-PLT-value": "15", "lab-PLT-unit": "10^9/L",
                                 "lab-HGB-unit": "g/L", "lab-ANC-unit": "10^9/L", "lab-WBC-unit": "10^9/L"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"bleeding_grade": [BLEEDING_MESSAGE]}
    html = response.content.decode()
    field = html.split('id="div_id_bleeding_grade"')[1].split('id="div_id_')[0]
    assert "is-invalid" in field and "the response criteria of this participant&#x27;s disease use it." in field
    assert not Assessment.objects.exists()


# --------------------------------------------------------------------------- corticosteroids by drug and dose

CONVERSIONS = [
    # (drug, mg/day of it, prednisone-equivalent mg/day): CLINICAL_RULES.md section 1
    ("prednisone", 10, 10.0),
    ("prednisolone", 7.5, 7.5),
    ("methylprednisolone", 8, 10.0),
    ("dexamethasone", 0.75, 5.0),
    ("dexamethasone", 2, 13.33),
]


@pytest.mark.parametrize("drug, dose, equivalent", CONVERSIONS)
def test_the_api_converts_the_corticosteroid_to_prednisone_equivalent(api, participant, drug, dose, equivalent):
    body = assess_platelets(api, participant, 0, 15, steroid_drug=drug, steroid_dose_mg_per_day=dose).json()

    assert (body["steroid_drug"], body["steroid_dose_mg_per_day"], body["steroid_mg_per_day"]) == (
        drug, dose, equivalent)


@pytest.mark.parametrize("extra, field, message", [
    ({"steroid_drug": "hydrocortisone", "steroid_dose_mg_per_day": 20}, "steroid_drug",
     "Use one of prednisone, prednisolone, methylprednisolone, dexamethasone."),
    ({"steroid_dose_mg_per_day": 20}, "steroid_drug",
     "Name the corticosteroid of this dose (one of prednisone, prednisolone, methylprednisolone, dexamethasone)."),
    ({"steroid_drug": "prednisone"}, "steroid_dose_mg_per_day",
     "Give the daily dose of prednisone in mg, a number from 0."),
    ({"steroid_drug": "prednisone", "steroid_dose_mg_per_day": 10, "steroid_mg_per_day": 10}, "steroid_mg_per_day",
     "Give either the corticosteroid and its dose or the prednisone-equivalent dose, not both: the equivalent is "
     "computed from the drug."),
    ({"steroid_drug": "dexamethasone", "steroid_dose_mg_per_day": 301}, "steroid_dose_mg_per_day",
     "301 mg/day of dexamethasone is 2006.67 mg/day prednisone equivalent, above 2000: check the dose."),
    ({"steroid_drug": "dexamethasone", "steroid_dose_mg_per_day": 1e30}, "steroid_dose_mg_per_day",
     "1000000000000000000000000000000 mg/day of dexamethasone is above 2000 mg/day prednisone equivalent: check the "
     "dose."),
])
def test_the_api_refuses_a_bad_corticosteroid_naming_the_field(api, participant, extra, field, message):
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/",
                        {"date": on(0), "visit": None, "bleeding_grade": 0, **extra}, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {field: [message]}}
    assert not Assessment.objects.exists()


def test_a_correction_by_drug_replaces_the_recorded_equivalent(api, participant):
    recorded = assess_platelets(api, participant, 0, 15, steroid_mg_per_day=20).json()

    body = patch_current(api, f"/api/v1/assessments/{recorded['id']}/",
                     {"steroid_drug": "methylprednisolone", "steroid_dose_mg_per_day": 16, "reason": "Chart re-read"},
                     format="json").json()

    assert (body["steroid_drug"], body["steroid_dose_mg_per_day"], body["steroid_mg_per_day"]) == (
        "methylprednisolone", 16.0, 20.0)


# --------------------------------------------------------------------------- stable maintenance dose vs dependence


@pytest.mark.parametrize("after, best, categories, said", [
    # baseline prednisone 10 mg/day (stable, allowed by P3); after the first infusion:
    ({"steroid_drug": "prednisone", "steroid_dose_mg_per_day": 10}, "CR", ["CR", "CR"],
     "stable maintenance corticosteroid dose"),
    ({"steroid_drug": "dexamethasone", "steroid_dose_mg_per_day": 1.5}, "CR", ["CR", "CR"],  # = 10 mg prednisone
     "stable maintenance corticosteroid dose"),
    ({"steroid_drug": "prednisone", "steroid_dose_mg_per_day": 15}, "NR", ["NR", "NR"], "corticosteroid dependence"),
])
def test_stable_maintenance_dose_is_not_dependence(api, participant, after, best, categories, said):
    assess_platelets(api, participant, 0, 15, visit="BL", steroid_drug="prednisone", steroid_dose_mg_per_day=10)
    infuse_all(api, participant)
    assess_platelets(api, participant, 50, 110, **after)
    assess_platelets(api, participant, 57, 120, **after)

    body = response_of(api, participant)

    assert [a["category"] for a in body["assessments"]] == categories
    assert body["best_confirmed_response"] == best
    assert all(said in a["reason"] for a in body["assessments"])
    assert "stable corticosteroid dose at baseline 10 mg/day prednisone equivalent" in body["explanation"]
    if best == "NR":
        assert body["assessments"][0]["reason"] == (
            "NR: corticosteroid dependence (platelets 110 on prednisone-equivalent 15 mg/day > 5, "
            "> stable dose at baseline 10 mg/day)")


# --------------------------------------------------------------------------- anaemia sets through the API


def test_evans_lineages_measured_a_day_apart_are_paired(api, coordinator, studies):

    evans = p1_participant(coordinator, "EVANS")
    assess_counts(api, evans, 0, HGB=70, PLT=12)
    assess_counts(api, evans, 20, HGB=105)
    assess_counts(api, evans, 21, PLT=40)
    assess_counts(api, evans, 27, HGB=108)
    assess_counts(api, evans, 28, PLT=150)

    body = response_of(api, evans)

    day = lambda n: (p1_day0() + timedelta(days=n)).isoformat()  # noqa: E731
    assert [(a["date"], a["category"]) for a in body["assessments"]] == [
        (day(20), "NE"), (day(21), "PR"), (day(27), "NE"), (day(28), "PR")]
    assert body["assessments"][1]["reason"] == (
        f"HGB PR, PLT R (paired within 3 days: HGB on {day(20)}, PLT on {day(21)})")
    assert body["best_confirmed_response"] == "PR"
    assert body["response_date"] == day(21)


def test_aiha_reticulocyte_percentage_with_its_range_when_no_absolute_count(api, coordinator, studies):

    aiha = p1_participant(coordinator, "AIHA")
    for day, hb in ((0, 70), (20, 125), (27, 126)):
        labs = [{"analyte": "HGB", "value": hb, "unit": "g/L"}]
        if day:
            labs += [{"analyte": "LDH", "value": 200, "unit": "U/L", "uln": 250},
                     {"analyte": "TBIL", "value": 15, "unit": "umol/L", "uln": 21},
                     {"analyte": "RETIC_PCT", "value": 1.5, "unit": "%", "lln": 0.5, "uln": 2.5}]
        response = api.post(f"/api/v1/participants/{aiha.pk}/assessments/",
                            {"date": (p1_day0() + timedelta(days=day)).isoformat(), "visit": None, "labs": labs},
                            format="json")
        assert response.status_code == 201, response.json()

    body = response_of(api, aiha)

    assert [a["category"] for a in body["assessments"]] == ["CR", "CR"]
    assert "reticulocytes 1.5 (percentage, no absolute count), range 0.5-2.5" in body["assessments"][0]["reason"]
    assert body["best_confirmed_response"] == "CR"


def test_the_form_records_the_corticosteroid_by_drug_and_the_page_lists_it(client, participant, coordinator):
    client.force_login(coordinator)
    form = {"date": on(0), "bleeding_grade": "0", "lab-PLT-value": "15", "lab-PLT-unit": "10^9/L",
            "lab-HGB-unit": "g/L", "lab-ANC-unit": "10^9/L", "lab-WBC-unit": "10^9/L"}

    refused = client.post(reverse("assessment-new", args=[participant.pk]), {**form, "steroid_dose_mg_per_day": "1.5"})
    accepted = client.post(reverse("assessment-new", args=[participant.pk]),
                           {**form, "steroid_drug": "dexamethasone", "steroid_dose_mg_per_day": "1.5"})
    page = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()

    assert refused.context["form"].errors == {"steroid_drug": [
        "Name the corticosteroid of this dose (one of prednisone, prednisolone, methylprednisolone, dexamethasone)."]}
    assert accepted.status_code == 302
    stored = Assessment.objects.get()
    assert (stored.steroid_drug, str(stored.steroid_dose_mg_per_day), str(stored.steroid_mg_per_day)) == (
        "dexamethasone", "1.500", "10.00")
    row = page.split('data-testid="assessments"')[1].split("</table>")[0]
    assert "10 <span" in row and "(Dexamethasone 1.5 mg)" in row


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browser_shows_the_missing_bleeding_grade_on_its_field(chromium_page, participant, make_user):
    make_user("coordinator", username="lin", password="Correct-Horse-88")
    page = chromium_page
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "lin")
    page.fill("#id_password", "Correct-Horse-88")
    page.click("button[type=submit]")
    page.goto(f"{page.base}/participants/{participant.pk}/assessments/new/")
    page.fill("#id_date", on(0))
    page.fill("#id_lab-PLT-value", "15")
    with page.expect_navigation():
        page.get_by_role("button", name="Record the assessment").click()

    field = page.locator("#div_id_bleeding_grade")
    assert "is-invalid" in page.locator("#id_bleeding_grade").get_attribute("class")
    assert "Give the WHO bleeding grade (0 to 4; 0 when there is no bleeding)" in field.inner_text()
    assert Assessment.objects.count() == 0
