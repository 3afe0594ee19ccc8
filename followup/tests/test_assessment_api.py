"""Assessment capture through the API (API.md 'POST /api/v1/participants/{id}/assessments/'): labs in
SI with the value as entered (CLINICAL_RULES.md section 7), the range used, the visit marked done."""
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from enrollment.models import Participant
from followup import services
from followup.models import Assessment, LabResult, RescueTherapy, Transfusion, Visit


def url(participant):
    return f"/api/v1/participants/{participant.pk}/assessments/"


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def stored_counts():
    return (Assessment.objects.count(), LabResult.objects.count(), Transfusion.objects.count(),
            RescueTherapy.objects.count())


def w1_body():
    return {"date": days_ago(3), "visit": "W1",
            "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"}],
            "bleeding_grade": 0,
            "transfusions": [{"kind": "platelet", "date": days_ago(5)}],
            "rescue_therapies": [{"therapy": "ivig", "start": days_ago(6), "end": days_ago(5)}]}


def test_assessment_api_stores_the_body_of_api_md_and_marks_the_visit_done(api, woman, coordinator):
    response = api.post(url(woman), w1_body(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["visit"], body["visit_deviation"], body["date"], body["bleeding_grade"]) == (
        "W1", False, days_ago(3), 0)
    assert body["transfusions"] == [{"kind": "platelet", "date": days_ago(5)}]
    assert body["rescue_therapies"] == [{"therapy": "ivig", "start": days_ago(6), "end": days_ago(5)}]
    assert body["recorded_by"] == coordinator.username
    visit = Visit.objects.get(participant=woman, code="W1")
    assert (visit.state, timezone.localtime(visit.done_at).date().isoformat(), visit.deviation) == (
        "done", days_ago(3), False)
    assert Assessment.objects.get().history.first().history_change_reason == "Assessment recorded"


def test_assessment_api_converts_g_per_dl_and_per_ul_to_si_keeping_the_value_as_entered(api, woman):
    labs = [{"analyte": "HGB", "value": 9.6, "unit": "g/dL", "lln": 11.5, "uln": 15},
            {"analyte": "PLT", "value": 42000, "unit": "/uL"}]
    response = api.post(url(woman), {**w1_body(), "labs": labs}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["labs"] == [
        {"analyte": "HGB", "value": 96.0, "unit": "g/L", "entered_value": 9.6, "entered_unit": "g/dL",
         "lln": 115.0, "uln": 150.0, "range_source": "report", "report_lln": 115.0, "report_uln": 150.0},
        {"analyte": "PLT", "value": 42.0, "unit": "10^9/L", "entered_value": 42000.0, "entered_unit": "/uL",
         "lln": 125.0, "uln": 350.0, "range_source": "site", "report_lln": None, "report_uln": None},
    ]
    hb = LabResult.objects.get(analyte="HGB")
    assert (hb.value, hb.entered_value, hb.entered_unit) == (96.0, 9.6, "g/dL")


def test_assessment_api_uses_the_site_range_of_the_participants_sex_when_the_report_gives_none(api, woman):
    labs = [{"analyte": "HGB", "value": 120, "unit": "g/L"}, {"analyte": "ALT", "value": 30, "unit": "U/L", "uln": 45}]
    response = api.post(url(woman), {**w1_body(), "labs": labs}, format="json")

    assert response.status_code == 201, response.json()
    ranges = {lab["analyte"]: (lab["lln"], lab["uln"], lab["range_source"]) for lab in response.json()["labs"]}
    assert ranges == {"HGB": (115.0, 150.0, "site"), "ALT": (7.0, 45.0, "report+site")}


def test_assessment_api_bad_input_names_every_field_and_stores_nothing(api, woman):
    body = {"date": days_ago(3), "visit": "W1", "bleeding_grade": 5,
            "labs": [{"analyte": "XYZ", "value": 1, "unit": "g/L"},
                     {"analyte": "HGB", "value": 30, "unit": "g/dL"},
                     {"analyte": "PLT", "value": 42, "unit": "mg/dL"},
                     {"analyte": "ANC", "value": -1, "unit": "10^9/L"},
                     {"analyte": "WBC", "value": 5, "unit": "10^9/L", "lln": 10, "uln": 4}],
            "transfusions": [{"kind": "plasma", "date": days_ago(-2)}],
            "rescue_therapies": [{"therapy": "ivig", "start": days_ago(4)},
                                 {"therapy": "magic", "start": days_ago(4), "end": days_ago(6)}],
            "concomitant_medications": [{"name": "", "dose": "5 mg"}],
            "virology": {"hbv": "maybe", "hdv": "negative"},
            "immune_panel": {"treg": 120, "cd4": 30}}
    before = stored_counts()

    response = api.post(url(woman), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "bleeding_grade": ["The WHO bleeding grade is a whole number from 0 to 4."],
        "labs.0.analyte": ["Unknown analyte 'XYZ'; use one of HGB, PLT, ANC, WBC, LYM, RETIC_PCT, RETIC_ABS, ALT, "
                           "AST, LDH, TBIL, CREAT, HAPTO."],
        "labs.1.value": ["Haemoglobin 30 g/dL (300 g/L) is outside the physiological range 20-250 g/L; "
                         "check the value and unit."],
        "labs.2.unit": ["Platelets: unit 'mg/dL' is not accepted; use one of 10^9/L, /uL, 10^3/uL."],
        "labs.3.value": ["Neutrophils -1 10^9/L is negative; a measured value cannot be below 0."],
        "labs.4.uln": ["The upper limit of normal is below the lower limit."],
        "transfusions.0.kind": ["Choose the transfusion: Red cells, Platelets."],
        "transfusions.0.date": ["A date cannot be in the future."],
        "rescue_therapies.1.therapy": ["Choose the rescue therapy: IVIG, Corticosteroid started, "
                                       "Corticosteroid increased, TPO receptor agonist, G-CSF, Platelet transfusion, "
                                       "Other."],
        "rescue_therapies.1.end": ["The therapy ends before it starts."],
        "concomitant_medications.0.name": ["Give the medication's name."],
        # W1's form places no item: the virology and immune-panel items are not asked there.
        "virology.hbv": ["Unknown item; the items of this form are none."],
        "virology.hdv": ["Unknown item; the items of this form are none."],
        "immune_panel.treg": ["Unknown item; the items of this form are none."],
        "immune_panel.cd4": ["Unknown item; the items of this form are none."],
    }
    assert stored_counts() == before == (0, 0, 0, 0)
    assert Visit.objects.get(participant=woman, code="W1").state == "upcoming"


def test_assessment_api_refuses_a_date_in_the_future_or_before_enrolment(api, woman):
    future = api.post(url(woman), {**w1_body(), "date": days_ago(-1)}, format="json")
    before = api.post(url(woman), {**w1_body(), "date": days_ago(11)}, format="json")
    missing = api.post(url(woman), {**w1_body(), "date": None}, format="json")

    assert future.json() == {"errors": {"date": ["A date cannot be in the future."]}}
    assert before.json() == {"errors": {"date": [f"An assessment cannot be dated before enrolment ({days_ago(10)})."]}}
    assert missing.json() == {"errors": {"date": ["Give the date."]}}
    assert stored_counts() == (0, 0, 0, 0)


def test_assessment_api_refuses_a_visit_not_of_the_participant_timed_or_already_done(api, woman):
    unknown = api.post(url(woman), {**w1_body(), "visit": "M6"}, format="json")
    timed = api.post(url(woman), {**w1_body(), "visit": "PK30M"}, format="json")
    assert api.post(url(woman), w1_body(), format="json").status_code == 201
    again = api.post(url(woman), w1_body(), format="json")

    assert unknown.json() == {"errors": {"visit": ["M6 is not one of this participant's visits."]}}
    assert timed.json() == {"errors": {"visit": [
        "PK30M is a timed sample: record it with its time on its own page."]}}
    assert again.json() == {"errors": {"visit": ["W1 is already recorded as done."]}}
    assert Assessment.objects.count() == 1


def test_assessment_api_outside_the_window_needs_a_reason_then_marks_the_visit_done_with_a_deviation(api, woman):
    w2 = Visit.objects.get(participant=woman, code="W2")
    start, end = (timezone.localtime(d).date().isoformat() for d in (w2.window_start, w2.window_end))
    body = {**w1_body(), "visit": "W2", "date": days_ago(0)}

    refused = api.post(url(woman), body, format="json")
    accepted = api.post(url(woman), {**body, "deviation_reason": "Patient travelling"}, format="json")

    assert refused.json() == {"errors": {"deviation_reason": [
        f"W2 on {days_ago(0)} is outside its window {start} to {end}: give the reason (it is recorded as a "
        "protocol deviation)."]}}
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["visit_deviation"] is True
    w2.refresh_from_db()
    assert (w2.state, w2.deviation, w2.deviation_reason) == ("done", True, "Patient travelling")
    assert Assessment.objects.count() == 1


def test_assessment_api_records_an_unscheduled_assessment_without_touching_the_visits(api, woman):
    response = api.post(url(woman), {**w1_body(), "visit": None, "virology": {"hbv": "negative", "hiv": "not_done"},
                                     "immune_panel": {"treg": 4.5, "nk": 12},
                                     "concomitant_medications": [{"name": "Omeprazole", "dose": "20 mg qd",
                                                                  "start": days_ago(8)}],
                                     "notes": "Walk-in, gum bleeding"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["visit"], body["visit_deviation"], body["notes"]) == (None, None, "Walk-in, gum bleeding")
    # The earlier names of the virology and immune-panel items are read as items.
    assert body["items"] == {"hbv": "negative", "hiv": "not_done", "treg": 4.5, "nk": 12}
    assert body["concomitant_medications"] == [{"name": "Omeprazole", "dose": "20 mg qd", "start": days_ago(8),
                                                "end": None}]
    assert not woman.visits.filter(state="done").exists()


def test_assessment_api_lists_the_participants_assessments(api, woman):
    api.post(url(woman), w1_body(), format="json")
    api.post(url(woman), {**w1_body(), "visit": None, "date": days_ago(1)}, format="json")

    response = api.get(url(woman))

    assert response.status_code == 200
    assert [(a["visit"], a["date"], [lab["analyte"] for lab in a["labs"]]) for a in response.json()] == [
        ("W1", days_ago(3), ["PLT"]), (None, days_ago(1), ["PLT"])]


def test_assessment_api_monitor_reads_but_cannot_record(woman, make_user, api):
    api.post(url(woman), w1_body(), format="json")
    monitor = APIClient()
    monitor.force_authenticate(make_user("monitor"))

    refused = monitor.post(url(woman), {**w1_body(), "visit": None}, format="json")

    assert refused.status_code == 403
    assert Assessment.objects.count() == 1
    assert len(monitor.get(url(woman)).json()) == 1


def test_assessment_api_another_sites_participant_is_not_found(woman, make_user):
    other = APIClient()
    other.force_authenticate(make_user("coordinator", site="XH"))

    assert (other.get(url(woman)).status_code,
            other.post(url(woman), w1_body(), format="json").status_code) == (404, 404)
    assert Assessment.objects.count() == 0


def test_assessment_api_type_errors_are_named(api, woman):
    response = api.post(url(woman), {**w1_body(), "labs": [{"analyte": "PLT", "value": "lots", "unit": "10^9/L"}],
                                     "transfusions": [{"kind": "rbc", "date": "yesterday"}]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"labs.0.value", "transfusions.0.date"}
    assert stored_counts() == (0, 0, 0, 0)


def test_assessment_api_with_five_labs_stays_within_twenty_queries(api, woman, django_assert_max_num_queries):
    labs = [{"analyte": code, "value": value, "unit": unit} for code, value, unit in (
        ("PLT", 42, "10^9/L"), ("HGB", 11.2, "g/dL"), ("ANC", 2100, "/uL"), ("WBC", 4.2, "10^9/L"),
        ("ALT", 30, "U/L"))]
    api.get(url(woman))  # the user's site memberships are read once per request

    with django_assert_max_num_queries(20):  # one of them counts the change of the study's outcomes
        response = api.post(url(woman), {**w1_body(), "labs": labs}, format="json")

    assert response.status_code == 201, response.json()
    assert LabResult.objects.count() == 5


def test_assessment_record_with_five_labs_stays_within_twenty_queries(woman, coordinator,
                                                                      django_assert_max_num_queries):
    participant = Participant.objects.get(pk=woman.pk)
    labs = [{"analyte": code, "value": 10, "unit": unit} for code, unit in (
        ("PLT", "10^9/L"), ("HGB", "g/dL"), ("ANC", "10^9/L"), ("WBC", "10^9/L"), ("CREAT", "umol/L"))]

    with django_assert_max_num_queries(20):
        services.assessment_record(participant=participant, by=coordinator, data=services.AssessmentInput(
            date=date.fromisoformat(days_ago(3)), visit="W1", labs=labs, bleeding_grade=1,
            transfusions=[{"kind": "rbc", "date": days_ago(4)}]))

    assert LabResult.objects.filter(assessment__participant=woman).count() == 5


@pytest.mark.parametrize("make_row", [
    lambda a: Assessment(participant=a.participant, date=a.date, bleeding_grade=5, recorded_by=a.recorded_by),
    lambda a: LabResult(assessment=a, analyte="PLT", value=-1, entered_value=-1, entered_unit="10^9/L"),
    lambda a: RescueTherapy(assessment=a, therapy="ivig", start=a.date, end=a.date - timedelta(days=1)),
    lambda a: Transfusion(assessment=a, kind="plasma", date=a.date),
], ids=["bleeding_grade_over_4", "negative_lab_value", "rescue_end_before_start", "unknown_transfusion"])
def test_assessment_constraints_refuse_impossible_rows(api, woman, make_row):
    api.post(url(woman), {**w1_body(), "visit": None}, format="json")
    assessment = Assessment.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        make_row(assessment).save()
