"""Recording infusions through the API (API.md), with windows, dose arithmetic and re-planning."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dosing.models import Infusion
from dosing.tests.support import MSC, at, day0, give
from enrollment import services as enrolment
from enrollment.models import Participant
from enrollment.tests.support import today
from followup.models import AdverseEvent
from trials.tests.support import Later, made


def test_infusion_records_the_dose_arithmetic_and_window(api, participant):
    response = give(api, participant, 1, 0)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["deviation"], body["computed_dose"], body["dose_level"]) == (
        "given", False, 6.0e9, "STD")
    assert body["dose_explanation"] == ("1 x10^8 cells/kg x 60 kg = 6 x10^9 cells; "
                                        "given 6 x10^9 cells / 60 kg = 1 x10^8 cells/kg")
    assert (body["window_start"], body["window_end"]) == (day0().isoformat(), day0().isoformat())
    participant.refresh_from_db()
    assert participant.status == "on_treatment"


def test_late_infusion_needs_a_deviation_reason_and_re_anchors_the_next(api, participant):
    give(api, participant, 1, 0)
    refused = give(api, participant, 2, 9)
    assert refused.status_code == 400
    expected_window = f"{(day0() + timedelta(days=6)).isoformat()} to {(day0() + timedelta(days=8)).isoformat()}"
    assert refused.json()["errors"]["deviation_reason"] == [
        f"Infusion 2 on {(day0() + timedelta(days=9)).isoformat()} is outside its window {expected_window}: "
        "give the reason (it is recorded as a protocol deviation)."]
    assert Infusion.objects.get(participant=participant, number=2).state == "planned"
    accepted = give(api, participant, 2, 9, deviation_reason="Patient had a fever on day 7")
    assert accepted.status_code == 201 and accepted.json()["deviation"] is True
    third = Infusion.objects.get(participant=participant, number=3)
    assert third.target_date == day0() + timedelta(days=23)
    assert third.anchor_text == f"infusion 2 given {(day0() + timedelta(days=9)).isoformat()} + 14 days"
    assert third.history.first().history_change_reason == "Re-planned after infusion 2"


def test_window_edge_is_inside(api, participant):
    give(api, participant, 1, 0)
    assert give(api, participant, 2, 8).json()["deviation"] is False


@pytest.mark.parametrize(
    "changes, fields",
    [
        (Later(lambda: {"ended_at": at(0, 8, 0)}), {"ended_at"}),
        ({"weight_kg": 0}, {"weight_kg"}),
        ({"weight_kg": 500}, {"weight_kg"}),
        ({"product": {"kind": "cord_blood", "bank": "Beijing", "unit_id": "U1", "tnc": 1e9}}, {"product.kind"}),
        ({"product": {"kind": "msc", "viability_pct": 130}}, {"product.lot", "product.viability_pct"}),
        ({"started_at": None}, {"started_at"}),
    ],
)
def test_bad_infusion_input_names_each_field_and_writes_nothing(api, participant, changes, fields):
    response = give(api, participant, 1, 0, **made(changes))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == fields
    assert Infusion.objects.get(participant=participant, number=1).state == "planned"


def test_infusion_not_in_the_plan_is_refused(api, participant):
    response = give(api, participant, 9, 0)
    assert response.json()["errors"] == {
        "number": ["The plan has no infusion 9; infusions are numbered 1, 2, 3, 4, 5."]}


def test_duplicate_infusion_number_is_refused(api, participant):
    give(api, participant, 1, 0)
    again = give(api, participant, 1, 0)
    assert again.status_code == 400
    assert again.json()["errors"] == {"number": ["Infusion 1 is already recorded as given."]}


def test_dose_more_than_ten_percent_off_needs_a_reason_and_is_a_dose_deviation(api, participant):
    refused = give(api, participant, 1, 0, cells_infused=7.5e9)
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"dose_confirmation": [
        "Give the reason for this dose: 7.5 x10^9 cells is 25 % above the computed dose 6 x10^9 cells (more than "
        "10 %). It is recorded as a dose deviation."]}}
    accepted = give(api, participant, 1, 0, cells_infused=7.5e9, dose_confirmation="Whole bag infused per pharmacy")
    assert accepted.status_code == 201
    body = accepted.json()
    assert (body["dose_confirmation"], body["dose_deviation"], body["deviation"]) == (
        "Whole bag infused per pharmacy", True, False)
    assert body["cells_per_kg"] == 1.25e8
    assert body["deviations"] == [{"kind": "dose", "planned": "6 x10^9 cells",
                                   "happened": "7.5 x10^9 cells (1.25 x10^8 cells/kg)",
                                   "reason": "Whole bag infused per pharmacy"}]


def test_missed_infusion_needs_a_reason_and_later_ones_anchor_on_the_last_given(api, participant):
    give(api, participant, 1, 0)
    give(api, participant, 2, 7)
    url = f"/api/v1/participants/{participant.pk}/infusions/"
    assert api.post(url, {"number": 3, "missed": True}, format="json").json() == {
        "errors": {"reason": ["Say why the infusion was missed."]}}
    missed = api.post(url, {"number": 3, "missed": True, "reason": "Thrombosis of the line"}, format="json")
    assert missed.status_code == 201 and missed.json()["state"] == "missed"
    fourth = Infusion.objects.get(participant=participant, number=4)
    assert fourth.target_date == day0() + timedelta(days=21)  # infusion 2 given on day 7 + 14 (P3: last given)


def test_all_infusions_move_the_participant_to_follow_up_and_date_the_visits(api, participant):
    for number, day in ((1, 0), (2, 7), (3, 21), (4, 35), (5, 49)):
        assert give(api, participant, number, day).status_code == 201
    participant.refresh_from_db()
    assert participant.status == "follow_up"
    d14 = participant.visits.get(code="D14")
    assert timezone.localtime(d14.target_at).date() == day0() + timedelta(days=63)
    assert d14.provisional is False


def test_infusion_before_enrolment_is_refused(api, participant):
    response = give(api, participant, 1, -3)
    assert response.json()["errors"] == {"started_at": ["An infusion cannot be dated before consent and enrolment."]}


def test_monitor_cannot_record_and_another_site_cannot_see(api, participant, make_user, other_site_study):
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))
    assert give(monitor, participant, 1, 0).status_code == 403
    assert monitor.get(f"/api/v1/participants/{participant.pk}/infusions/").status_code == 200
    other = APIClient()
    other.force_authenticate(make_user("coordinator", site="XH"))
    assert give(other, participant, 1, 0).status_code == 404


def test_withdrawn_participant_receives_no_infusion(api, participant, coordinator):
    enrolment.participant_withdraw(participant=participant, withdrawn_on=today(), reason="adverse_event",
                                   by=coordinator)
    response = give(api, Participant.objects.get(pk=participant.pk), 1, 0)
    assert response.status_code == 409


def test_first_infusion_given_later_than_planned_defines_day_0_and_is_no_deviation(api, participant):
    response = give(api, participant, 1, 2)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["deviation"], body["target_date"]) == (False, (day0() + timedelta(days=2)).isoformat())
    second = Infusion.objects.get(participant=participant, number=2)
    assert second.target_date == day0() + timedelta(days=9)


def test_immediate_reactions_open_adverse_event_drafts(api, participant):
    response = give(api, participant, 1, 0, reactions=["fever", "dmso_reaction"])
    assert response.status_code == 201
    drafts = list(AdverseEvent.objects.filter(participant=participant)
                  .values_list("term", "category", "status", "grade"))
    assert drafts == [("Fever", "fever", "draft", None),
                      ("Infusion related reaction", "infusion_reaction", "draft", None)]
    listed = api.get(f"/api/v1/participants/{participant.pk}/adverse-events/").json()
    assert [(e["status"], e["infusion"], e["dlt"]["is_dlt"]) for e in listed] == [
        ("draft", 1, False), ("draft", 1, False)]


@pytest.mark.parametrize(
    "vitals, path",
    [
        ({"before": {"temperature_c": 51}}, "vitals.before.temperature_c"),
        ({"during": {"heart_rate": 80}}, "vitals.during"),
        ({"after": {"mood": 3}}, "vitals.after.mood"),
    ],
)
def test_implausible_vital_signs_are_refused(api, participant, vitals, path):
    response = give(api, participant, 1, 0, vitals=vitals)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {path}


def test_product_text_with_a_null_character_is_400_on_its_field(api, participant):
    response = give(api, participant, 1, 0, product={**MSC, "lot": "MSC\x00014"})

    assert (response.status_code, response.json()) == (400, {"errors": {"product.lot": [
        "The lot number may not contain a null character."]}})
    assert not Infusion.objects.filter(participant=participant, state="given").exists()
