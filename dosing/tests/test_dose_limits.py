"""Hard dose limits through the API, the infusion page and the lists of deviations
(CLINICAL_RULES.md section 4, "Dose given vs computed"). P3 (MSC-ITP-5): 1 x10^8 cells/kg, a
60 kg participant, computed dose 6 x10^9 cells; default hard limits 0.5x-2x."""
from django.urls import reverse

from dosing.models import Infusion
from dosing.tests.support import form_data, give
from trials.models import DoseLevel
from trials.tests.support import setup_update

ABOVE = ("6 x10^15 cells is 1 x10^6x the computed dose: it exceeds the hard limit of 2x the computed dose "
         "(1.2 x10^10 cells). Refused whatever the reason (the dose is outside the level's hard limits): check "
         "the number of cells and the weight.")


def test_api_refuses_a_dose_beyond_the_hard_limit_whatever_the_reason(api, participant):
    response = give(api, participant, 1, 0, cells_infused=6e15, dose_confirmation="ok")

    assert response.status_code == 400
    assert response.json() == {"errors": {"cells_infused": [ABOVE]}}
    row = Infusion.objects.get(participant=participant, number=1)
    assert (row.state, row.cells_infused, row.dose_deviation) == ("planned", None, False)
    assert row.history.count() == 1  # planned at enrolment, nothing since


def test_api_refuses_a_dose_below_the_low_hard_limit(api, participant):
    response = give(api, participant, 1, 0, cells_infused=2.9e9, dose_confirmation="half a bag")
    assert response.status_code == 400
    assert response.json() == {"errors": {"cells_infused": [
        "2.9 x10^9 cells is 0.483x the computed dose: it is below the hard limit of 0.5x the computed dose "
        "(3 x10^9 cells). Refused whatever the reason (the dose is outside the level's hard limits): check the "
        "number of cells and the weight."]}}


def test_api_accepts_exactly_twice_the_computed_dose_as_a_dose_deviation(api, participant):
    response = give(api, participant, 1, 0, cells_infused=1.2e10, dose_confirmation="Second bag thawed by mistake")
    assert response.status_code == 201
    assert (response.json()["dose_deviation"], response.json()["dose_confirmation"]) == (
        True, "Second bag thawed by mistake")


def test_api_within_ten_percent_is_no_deviation_and_keeps_no_reason(api, participant):
    response = give(api, participant, 1, 0, cells_infused=6.6e9, dose_confirmation="not needed")
    assert response.status_code == 201
    assert (response.json()["dose_deviation"], response.json()["dose_confirmation"], response.json()["deviations"]) == (
        False, "", [])


def test_hard_limits_of_the_level_are_used(api, participant):
    setup_update(DoseLevel.objects.filter(arm__study__code="MSC-ITP-5"), hard_limit_high=1.2)
    response = give(api, participant, 1, 0, cells_infused=7.5e9, dose_confirmation="whole bag")
    assert response.status_code == 400
    assert response.json()["errors"]["cells_infused"][0].startswith(
        "7.5 x10^9 cells is 1.25x the computed dose: it exceeds the hard limit of 1.2x the computed dose "
        "(7.2 x10^9 cells).")


def test_infusion_page_shows_the_hard_limit_refusal_on_the_cells_field(client, participant, coordinator):
    client.force_login(coordinator)
    response = client.post(reverse("infusion-record", args=[participant.pk]),
                           form_data(0, cells_infused="6e15", dose_confirmation="ok"))
    assert response.status_code == 200
    assert response.context["form"].errors == {"cells_infused": [ABOVE]}
    assert "exceeds the hard limit of 2x the computed dose" in response.content.decode()
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"


def test_infusion_page_states_the_dose_limits(client, participant, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("infusion-record", args=[participant.pk])).content.decode()
    assert ("A dose more than 10 % off the computed dose needs a reason and is a dose deviation; below 0.5x or "
            "above 2x the computed dose it is refused.") in html


def test_dose_deviation_is_listed_with_the_other_deviations_and_the_plan_shows_the_dose(
        client, api, participant, coordinator, make_user):
    give(api, participant, 1, 0, cells_infused=7.5e9, dose_confirmation="Whole bag infused per pharmacy")
    give(api, participant, 2, 10, deviation_reason="Patient travelled")
    client.force_login(make_user("monitor"))

    study_page = client.get(reverse("study-detail", args=["MSC-ITP-5"]))
    rows = [(d.what, d.kind, d.planned, d.happened, d.reason) for d in study_page.context["deviations"]]
    assert rows[0] == ("Infusion 1", "dose", "6 x10^9 cells", "7.5 x10^9 cells (1.25 x10^8 cells/kg)",
                       "Whole bag infused per pharmacy")
    assert [(what, kind) for what, kind, *_ in rows] == [("Infusion 1", "dose"), ("Infusion 2", "out_of_window")]
    assert 'data-kind="dose"' in study_page.content.decode()

    page = client.get(reverse("participant-detail", args=[participant.pk]))
    assert [(d.what, d.kind) for d in page.context["deviations"]] == [("Infusion 1", "dose"),
                                                                     ("Infusion 2", "out_of_window")]
    first, second = page.context["schedule"]["infusions"][:2]
    assert (first.cells_infused, first.cells_per_kg, first.dose_deviation) == (7.5e9, 1.25e8, True)
    assert (second.cells_infused, second.cells_per_kg, second.dose_deviation) == (6e9, 1e8, False)
    html = page.content.decode()
    assert "7.5 x10^9 cells (1.25 x10^8 cells/kg)" in html and "dose deviation" in html


def test_participant_api_schedule_item_shows_the_dose_given(api, participant):
    give(api, participant, 1, 0, cells_infused=7.5e9, dose_confirmation="Whole bag infused per pharmacy")
    item = api.get(f"/api/v1/participants/{participant.pk}/").json()["schedule"]["infusions"][0]
    assert {key: item[key] for key in ("cells_infused", "cells_per_kg", "weight_kg", "computed_dose",
                                       "dose_deviation", "deviation")} == {
        "cells_infused": 7.5e9, "cells_per_kg": 1.25e8, "weight_kg": 60.0, "computed_dose": 6e9,
        "dose_deviation": True, "deviation": False}
    second = api.get(f"/api/v1/participants/{participant.pk}/").json()["schedule"]["infusions"][1]
    assert (second["cells_infused"], second["cells_per_kg"], second["dose_deviation"]) == (None, None, False)
