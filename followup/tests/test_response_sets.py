"""Anaemia responses through the API for UCB-IRIC participants (AIHA and PRCA sets, section 2)."""
from datetime import timedelta

from django.urls import reverse

from followup.tests.support import assess_counts, p1_day0, p1_participant
from trials.models import ResponseCriteriaSet
from trials.tests.support import setup_update


def assess(api, participant, day, hb, **extra):
    body = {"date": (p1_day0() + timedelta(days=day)).isoformat(), "visit": None,
            "labs": [{"analyte": "HGB", "value": hb, "unit": "g/L"}], **extra}
    response = api.post(f"/api/v1/participants/{participant.pk}/assessments/", body, format="json")
    assert response.status_code == 201, response.json()


def test_aiha_partial_response_by_a_rise_of_20_g_l(api, coordinator, studies):
    participant = p1_participant(coordinator, "AIHA")
    assess(api, participant, 0, 70)
    assess(api, participant, 20, 92)
    assess(api, participant, 27, 95)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert body["criteria_set"] == "AIHA-INTL"
    assert [a["category"] for a in body["assessments"]] == ["PR", "PR"]
    assert body["best_confirmed_response"] == "PR"


def test_prca_response_is_computed_by_its_set(api, coordinator, studies):
    participant = p1_participant(coordinator, "PRCA")
    assess(api, participant, 0, 70)
    assess(api, participant, 60, 95)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert body["criteria_set"] == "PRCA-STD"
    assert [a["category"] for a in body["assessments"]] == ["PR"]


def test_p1_counts_from_the_opening_of_the_m05_window_count_for_the_best_response(api, coordinator, studies):
    # CLINICAL_RULES.md section 2: from the opening of the M0.5 window (day 15 - 7 = 8) on.
    participant = p1_participant(coordinator, "AIHA")
    assess(api, participant, 0, 70)
    assess(api, participant, 7, 95)   # before the M0.5 window opens
    assess(api, participant, 9, 96)   # inside the M0.5 window, before its target day 15
    assess(api, participant, 16, 97)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert [(a["date"], a["category"], a["evaluable"]) for a in body["assessments"]] == [
        ((p1_day0() + timedelta(days=7)).isoformat(), "NE", False),
        ((p1_day0() + timedelta(days=9)).isoformat(), "PR", True),
        ((p1_day0() + timedelta(days=16)).isoformat(), "PR", True)]
    assert body["assessments"][0]["reason"].endswith(
        f"outside the evaluation window ({p1_day0() + timedelta(days=8)} to {p1_day0() + timedelta(days=734)})")
    assert body["best_confirmed_response"] == "PR"
    assert body["response_date"] == (p1_day0() + timedelta(days=9)).isoformat()


def test_evans_with_platelets_not_responding_is_no_overall_response(api, coordinator, studies):
    participant = p1_participant(coordinator, "EVANS")
    assess_counts(api, participant, 0, HGB=70, PLT=12, ANC=2.5)
    assess_counts(api, participant, 20, HGB=125, PLT=15, ANC=2.6)
    assess_counts(api, participant, 27, HGB=126, PLT=14, ANC=2.4)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert body["criteria_set"] == "MULTILINEAGE"
    assert set(body["lineages"]) == {"HGB", "PLT"}  # neutrophils normal at baseline: not involved
    assert body["lineages"]["HGB"]["best_confirmed_response"] == "PR"  # Hb >= 120 but markers not recorded
    assert body["lineages"]["PLT"]["best_confirmed_response"] == "NR"
    assert [a["category"] for a in body["assessments"]] == ["NR", "NR"]
    assert body["best_confirmed_response"] == "NR"
    assert "ANC not involved: baseline 2.5 >= 1.5" in body["explanation"]


def test_evans_responding_in_both_lineages_is_an_overall_response(api, coordinator, studies):
    participant = p1_participant(coordinator, "EVANS")
    assess_counts(api, participant, 0, HGB=70, PLT=12)
    assess_counts(api, participant, 20, HGB=105, PLT=40)
    assess_counts(api, participant, 27, HGB=108, PLT=150)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert [a["category"] for a in body["assessments"]] == ["PR", "PR"]
    assert body["lineages"]["PLT"]["assessments"][1]["category"] == "CR"
    assert body["best_confirmed_response"] == "PR"
    assert body["response_date"] == (p1_day0() + timedelta(days=20)).isoformat()


def test_secondary_cytopenia_involves_the_lineages_low_at_baseline(api, coordinator, studies):
    participant = p1_participant(coordinator, "SECONDARY_CYTOPENIA")
    assess_counts(api, participant, 0, HGB=130, PLT=20, ANC=0.4)
    assess_counts(api, participant, 20, HGB=131, PLT=120, ANC=1.6)
    assess_counts(api, participant, 28, HGB=129, PLT=130, ANC=1.8)
    body = api.get(f"/api/v1/participants/{participant.pk}/response/").json()
    assert set(body["lineages"]) == {"PLT", "ANC"}
    assert "HGB not involved: baseline 130 >= 120" in body["explanation"]
    assert body["best_confirmed_response"] == "CR"


def test_evans_participant_page_shows_each_lineage_within_the_query_budget(client, api, coordinator, studies,
                                                                           django_assert_max_num_queries):
    participant = p1_participant(coordinator, "EVANS")
    assess_counts(api, participant, 0, HGB=70, PLT=12)
    assess_counts(api, participant, 20, HGB=105, PLT=40)
    assess_counts(api, participant, 27, HGB=108, PLT=150)
    client.force_login(coordinator)
    url = reverse("participant-detail", args=[participant.pk])
    client.get(url)
    with django_assert_max_num_queries(15):
        response = client.get(url)
    html = response.content.decode()
    assert 'data-testid="lineages"' in html
    lineages = response.context["response"].lineages
    assert {name: r.best_confirmed_response for name, r in lineages.items()} == {"HGB": "PR", "PLT": "R"}


# A criteria set stored incomplete (written straight to the database, past the admin's and the
# loader's validation): the page and the API say which set lacks what instead of failing.

def corrupt(code, thresholds):
    setup_update(ResponseCriteriaSet.objects.filter(code=code), thresholds=thresholds)


IWG_INCOMPLETE = ("Response criteria set IWG2009-ITP is incomplete: missing r_fold_baseline, "
                  "bleeding_grade_counts_from, confirm_response_days, confirm_failure_days, rescue_exclusion_days. "
                  "An administrator completes it under Configuration.")


def test_response_api_answers_409_naming_the_missing_thresholds_of_an_incomplete_set(api, coordinator, studies):
    participant = p1_participant(coordinator, "AIHA")
    assess(api, participant, 0, 70)
    assess(api, participant, 20, 92)
    corrupt("AIHA-INTL", {"cr_hb": 120})

    response = api.get(f"/api/v1/participants/{participant.pk}/response/")

    assert response.status_code == 409
    assert response.json() == {"errors": {"response_criteria": [
        "Response criteria set AIHA-INTL is incomplete: missing pr_hb, pr_hb_rise, transfusion_exclusion_days, "
        "confirm_response_days. An administrator completes it under Configuration."]}}


def test_response_api_answers_409_for_an_incomplete_set_grading_one_lineage(api, coordinator, studies):
    participant = p1_participant(coordinator, "EVANS")
    assess_counts(api, participant, 0, HGB=70, PLT=12)
    assess_counts(api, participant, 20, HGB=105, PLT=40)
    corrupt("IWG2009-ITP", {"cr_platelets": 100, "r_platelets": 30})

    response = api.get(f"/api/v1/participants/{participant.pk}/response/")

    assert (response.status_code, response.json()) == (409, {"errors": {"response_criteria": [IWG_INCOMPLETE]}})


def test_participant_page_renders_with_the_message_of_an_incomplete_set(client, api, coordinator, studies):
    participant = p1_participant(coordinator, "EVANS")
    assess_counts(api, participant, 0, HGB=70, PLT=12)
    assess_counts(api, participant, 20, HGB=105, PLT=40)
    corrupt("IWG2009-ITP", {"cr_platelets": 100, "r_platelets": 30})
    client.force_login(coordinator)

    response = client.get(reverse("participant-detail", args=[participant.pk]))

    assert response.status_code == 200
    assert response.context["response"] is None
    assert response.context["response_unavailable"] == IWG_INCOMPLETE
    assert IWG_INCOMPLETE in response.content.decode()


def test_participant_page_renders_with_a_non_numeric_threshold(client, api, coordinator, studies):
    participant = p1_participant(coordinator, "AIHA")
    assess(api, participant, 0, 70)
    corrupt("AIHA-INTL", {"cr_hb": "high", "pr_hb": 100, "pr_hb_rise": 20, "transfusion_exclusion_days": 7,
                          "confirm_response_days": 7})
    client.force_login(coordinator)

    response = client.get(reverse("participant-detail", args=[participant.pk]))

    assert response.status_code == 200
    assert response.context["response_unavailable"] == (
        "Response criteria set AIHA-INTL is not valid: cr_hb: 'high' is not a number of 0 or more. An administrator "
        "corrects it under Configuration.")
