"""Correcting a recorded assessment with a reason (`services.assessment_update`, `GET`/`PATCH
/api/v1/assessments/{id}/`): labs, transfusions and rescue therapy changed per entry with their
history, the visit link and date under the window rules of recording (CLINICAL_RULES.md section 8),
lab-derived adverse-event suggestions, roles and sites."""
from dataclasses import fields
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followup import services
from followup.models import AdverseEvent, Assessment, LabResult, OutcomeSnapshot, RescueTherapy, Transfusion, Visit
from trials.tests.support import client_for, patch_current, require_service, setup_update

REASON = "Transcription error: value copied from the wrong report"


def days_ago(n: int) -> str:
    return (timezone.localdate() - timedelta(days=n)).isoformat()


def w1_body():
    return {"date": days_ago(3), "visit": "W1",
            "labs": [{"analyte": "PLT", "value": 42, "unit": "10^9/L"},
                     {"analyte": "HGB", "value": 9.6, "unit": "g/dL", "lln": 11.5, "uln": 15},
                     {"analyte": "ALT", "value": 30, "unit": "U/L", "uln": 40}],
            "bleeding_grade": 1, "steroid_mg_per_day": 10,
            "transfusions": [{"kind": "platelet", "date": days_ago(5)}, {"kind": "rbc", "date": days_ago(4)}],
            "rescue_therapies": [{"therapy": "ivig", "start": days_ago(6), "end": days_ago(5)}],
            "notes": "Routine visit"}


def url(assessment) -> str:
    return f"/api/v1/assessments/{assessment.pk}/"


@pytest.fixture
def recorded(api, woman):
    response = api.post(f"/api/v1/participants/{woman.pk}/assessments/", w1_body(), format="json")
    assert response.status_code == 201, response.json()
    return Assessment.objects.get(pk=response.json()["id"])


def history_counts() -> tuple[int, ...]:
    return tuple(model.history.count() for model in (Assessment, LabResult, Transfusion, RescueTherapy, Visit))


def labs_of(body) -> dict:
    return {lab["analyte"]: (lab["value"], lab["entered_value"], lab["entered_unit"]) for lab in body["labs"]}


# --- what changes, and its audit trail -----------------------------------------------------------

def test_patch_changes_adds_and_removes_labs_each_with_the_reason(api, recorded, coordinator):
    alt = LabResult.objects.get(analyte="ALT")
    body = {"reason": REASON, "labs": [{"analyte": "PLT", "value": 24, "unit": "10^9/L"},
                                       {"analyte": "HGB", "value": 9.6, "unit": "g/dL", "lln": 11.5, "uln": 15},
                                       {"analyte": "ANC", "value": 1500, "unit": "/uL"}]}

    response = patch_current(api, url(recorded), body, format="json")

    assert response.status_code == 200, response.json()
    assert labs_of(response.json()) == {"ANC": (1.5, 1500.0, "/uL"), "HGB": (96.0, 9.6, "g/dL"),
                                        "PLT": (24.0, 24.0, "10^9/L")}
    plt = LabResult.objects.get(analyte="PLT")
    assert [(row.history_type, row.value, row.history_change_reason, row.history_user)
            for row in plt.history.all()] == [
        ("~", 24.0, REASON, coordinator), ("+", 42.0, "Assessment recorded", coordinator)]
    assert LabResult.objects.get(analyte="HGB").history.count() == 1  # unchanged: no history row
    assert LabResult.objects.get(analyte="ANC").history.get().history_change_reason == REASON
    removed = LabResult.history.get(id=alt.pk, history_type="-")
    assert (removed.value, removed.history_change_reason) == (30.0, REASON)
    assert recorded.history.first().history_change_reason == REASON


def test_patch_changes_only_the_fields_given(api, recorded):
    response = patch_current(api, url(recorded), {"bleeding_grade": 2, "reason": "Gum bleeding missed at entry"},
                         format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["bleeding_grade"], body["steroid_mg_per_day"], body["notes"], body["visit"], body["date"]) == (
        2, 10.0, "Routine visit", "W1", days_ago(3))
    assert set(labs_of(body)) == {"PLT", "HGB", "ALT"}
    assert len(body["transfusions"]) == 2 and len(body["rescue_therapies"]) == 1
    assert LabResult.history.filter(history_type__in="~-").count() == 0


def test_patch_replaces_transfusions_and_rescue_therapy_entry_by_entry(api, recorded):
    kept = Transfusion.objects.get(kind="platelet")
    body = {"reason": "Red cells were given after the visit, not before",
            "transfusions": [{"kind": "platelet", "date": days_ago(5)}],
            "rescue_therapies": [{"therapy": "ivig", "start": days_ago(6), "end": days_ago(5)},
                                 {"therapy": "tpo_agent", "start": days_ago(4)}]}

    response = patch_current(api, url(recorded), body, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["transfusions"] == [{"kind": "platelet", "date": days_ago(5)}]
    assert [r["therapy"] for r in response.json()["rescue_therapies"]] == ["ivig", "tpo_agent"]
    assert list(Transfusion.objects.values_list("pk", flat=True)) == [kept.pk]  # matched, not re-created
    assert kept.history.count() == 1
    assert Transfusion.history.get(history_type="-").history_change_reason == body["reason"]
    assert RescueTherapy.history.filter(history_type="+").count() == 2


def test_patch_without_a_reason_is_refused_and_changes_nothing(api, recorded):
    before = history_counts()

    response = patch_current(api, url(recorded), {"bleeding_grade": 2, "reason": "  "}, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": {"reason": ["Say why the assessment is corrected (kept in the audit trail)."]}}
    assert history_counts() == before
    assert Assessment.objects.get().bleeding_grade == 1


def test_patch_validates_as_recording_does_naming_each_field_and_writes_nothing(api, recorded):
    before = history_counts()
    body = {"reason": REASON, "bleeding_grade": 7, "steroid_mg_per_day": 2500, "date": days_ago(-1),
            "labs": [{"analyte": "PLT", "value": 4200, "unit": "10^9/L"},
                     {"analyte": "HGB", "value": 9, "unit": "mg/dL"}],
            "transfusions": [{"kind": "plasma", "date": days_ago(2)}]}

    response = patch_current(api, url(recorded), body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "date": ["A date cannot be in the future."],
        "bleeding_grade": ["The WHO bleeding grade is a whole number from 0 to 4."],
        "steroid_mg_per_day": ["Give the corticosteroid dose as prednisone-equivalent mg/day, "
                               "a number from 0 to 2000."],
        "labs.0.value": ["Platelets 4200 10^9/L is outside the physiological range 0-2000 10^9/L; check the value "
                         "and unit."],
        "labs.1.unit": ["Haemoglobin: unit 'mg/dL' is not accepted; use one of g/L, g/dL."],
        "transfusions.0.kind": ["Choose the transfusion: Red cells, Platelets."],
    }
    assert history_counts() == before
    assert sorted(LabResult.objects.values_list("analyte", "value")) == [("ALT", 30.0), ("HGB", 96.0), ("PLT", 42.0)]


def test_patch_that_changes_nothing_writes_nothing(api, recorded):
    before = history_counts()
    response = patch_current(api, url(recorded), {**w1_body(), "reason": REASON}, format="json")
    assert response.status_code == 200, response.json()
    assert history_counts() == before


# --- the visit link and the date, under the window rules of recording ------------------------------

def test_patch_redates_the_visit_inside_its_window(api, recorded):
    response = patch_current(api, url(recorded),
                             {"date": days_ago(2), "reason": "Sample drawn a day later"}, format="json")

    assert response.status_code == 200, response.json()
    w1 = Visit.objects.get(participant=recorded.participant, code="W1")
    assert (w1.state, timezone.localtime(w1.done_at).date().isoformat(), w1.deviation) == ("done", days_ago(2), False)
    assert w1.history.first().history_change_reason == "Sample drawn a day later"


def test_patch_outside_the_window_needs_a_deviation_reason(api, recorded):
    w1 = Visit.objects.get(participant=recorded.participant, code="W1")
    start, end = (timezone.localtime(d).date().isoformat() for d in (w1.window_start, w1.window_end))

    refused = patch_current(api, url(recorded), {"date": days_ago(0), "reason": REASON}, format="json")
    accepted = patch_current(api, url(recorded), {"date": days_ago(0), "reason": REASON,
                                         "deviation_reason": "Patient came late"}, format="json")

    assert refused.json() == {"errors": {"deviation_reason": [
        f"W1 on {days_ago(0)} is outside its window {start} to {end}: give the reason (it is recorded as a "
        "protocol deviation)."]}}
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["visit_deviation"] is True
    w1.refresh_from_db()
    assert (w1.deviation, w1.deviation_reason, timezone.localtime(w1.done_at).date().isoformat()) == (
        True, "Patient came late", days_ago(0))


def test_patch_to_unscheduled_frees_the_visit_and_back_marks_it_done_again(api, recorded):
    unscheduled = patch_current(api, url(recorded),
                                {"visit": None, "reason": "Not the W1 visit: a walk-in"}, format="json")

    assert unscheduled.status_code == 200, unscheduled.json()
    assert unscheduled.json()["visit"] is None
    w1 = Visit.objects.get(participant=recorded.participant, code="W1")
    assert (w1.state, w1.done_at, w1.deviation) == ("upcoming", None, False)
    assert w1.history.first().history_change_reason == "Not the W1 visit: a walk-in"

    back = patch_current(api, url(recorded), {"visit": "W1", "reason": "It was W1 after all"}, format="json")

    assert back.status_code == 200, back.json()
    w1.refresh_from_db()
    assert (back.json()["visit"], w1.state) == ("W1", "done")


def test_patch_to_another_visit_applies_its_window_and_frees_the_first(api, recorded):
    body = {"visit": "D-1", "date": days_ago(10), "reason": "Entered under the wrong visit"}
    d1 = Visit.objects.get(participant=recorded.participant, code="D-1")

    refused = patch_current(api, url(recorded), body, format="json")
    accepted = patch_current(api, url(recorded), {**body, "deviation_reason": "Baseline visit on the infusion day"},
                         format="json")

    assert set(refused.json()["errors"]) == {"deviation_reason"}
    assert accepted.status_code == 200, accepted.json()
    d1.refresh_from_db()
    assert (d1.state, d1.deviation, d1.deviation_reason) == ("done", True, "Baseline visit on the infusion day")
    assert Visit.objects.get(participant=recorded.participant, code="W1").state == "upcoming"


def test_patch_to_a_visit_already_done_or_unknown_is_refused(api, woman, recorded):
    api.post(f"/api/v1/participants/{woman.pk}/assessments/",
             {"date": days_ago(10), "visit": "D-1", "deviation_reason": "On the infusion day", "bleeding_grade": 0},
             format="json")

    done = patch_current(api, url(recorded), {"visit": "D-1", "reason": REASON}, format="json")
    unknown = patch_current(api, url(recorded), {"visit": "M6", "reason": REASON}, format="json")

    assert done.json() == {"errors": {"visit": ["D-1 is already recorded as done."]}}
    assert unknown.json() == {"errors": {"visit": ["M6 is not one of this participant's visits."]}}
    assert Assessment.objects.get(pk=recorded.pk).visit.code == "W1"


# --- adverse-event suggestions and outcomes, as at recording ------------------------------------

def test_a_changed_lab_suggests_an_adverse_event_once(api, recorded):
    # ALT 130 U/L with ULN 40: > 3 x ULN, grade 2 (CLINICAL_RULES.md section 3).
    labs = [{"analyte": "PLT", "value": 42, "unit": "10^9/L"},
            {"analyte": "ALT", "value": 130, "unit": "U/L", "uln": 40}]
    first = patch_current(api, url(recorded), {"labs": labs, "reason": REASON}, format="json")
    labs[1]["value"] = 150
    again = patch_current(api, url(recorded), {"labs": labs, "reason": "Second correction"}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    draft = AdverseEvent.objects.get(term="Alanine aminotransferase increased")
    assert (draft.term, draft.status, draft.suggested_grade, draft.onset_date.isoformat()) == (
        "Alanine aminotransferase increased", "draft", 2, days_ago(3))


def test_unchanged_labs_suggest_nothing(api, woman):
    body = {**w1_body(), "labs": [{"analyte": "ALT", "value": 130, "unit": "U/L", "uln": 40}]}
    recorded = Assessment.objects.get(pk=api.post(f"/api/v1/participants/{woman.pk}/assessments/", body,
                                                  format="json").json()["id"])
    setup_update(AdverseEvent.objects, status="dismissed", dismissed_reason="Seen")  # no open draft left to match
    before = AdverseEvent.objects.count()

    patch_current(api, url(recorded), {"bleeding_grade": 0, "date": days_ago(2), "reason": REASON}, format="json")

    assert AdverseEvent.objects.count() == before == 1


def test_outcomes_are_recomputed_once_the_correction_commits(api, recorded, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = patch_current(api, url(recorded), {"bleeding_grade": 0, "reason": REASON}, format="json")

    assert response.status_code == 200
    assert len(callbacks) == 1
    assert OutcomeSnapshot.objects.filter(study=recorded.participant.study).exists()


# --- the audit page of the record ---------------------------------------------------------------

def test_the_assessment_audit_page_shows_the_reason_and_each_change(api, client, recorded, coordinator):
    patch_current(api, url(recorded), {"reason": REASON, "steroid_mg_per_day": 7.5,
                              "labs": [{"analyte": "PLT", "value": 24, "unit": "10^9/L"},
                                       {"analyte": "HGB", "value": 9.6, "unit": "g/dL", "lln": 11.5, "uln": 15}]},
              format="json")
    client.force_login(coordinator)

    response = client.get(reverse("audit-trail", args=["assessment", recorded.pk]))

    assert response.status_code == 200
    entries = response.context["entries"]
    assert {entry.reason for entry in entries if entry.action != "created"} == {REASON}
    changes = {(c.field, str(c.old), str(c.new))
               for entry in entries if entry.action == "changed" for c in entry.changes}
    assert ("corticosteroid (prednisone-equivalent mg/day)", "10.00", "7.50") in changes
    assert ("lab result PLT 24.0: value (SI)", "42.0", "24.0") in changes
    removed = [entry for entry in entries if entry.action == "deleted"]
    assert len(removed) == 1 and ("lab result ALT 30.0: analyte", "None", "ALT - ALT") in {
        (c.field, str(c.old), str(c.new)) for c in removed[0].changes}
    assert REASON in response.content.decode()


def test_another_sites_user_cannot_open_the_assessment_audit_page(client, recorded, make_user):
    client.force_login(make_user("monitor", site="XH"))
    assert client.get(reverse("audit-trail", args=["assessment", recorded.pk])).status_code == 404


# --- roles and sites ----------------------------------------------------------------------------

def test_get_returns_the_assessment_to_every_role_of_the_site(recorded, make_user):
    for role in ("coordinator", "investigator", "monitor"):
        response = client_for(make_user(role)).get(url(recorded))
        assert response.status_code == 200
        assert (response.json()["id"], response.json()["steroid_mg_per_day"]) == (recorded.pk, 10.0)


@pytest.mark.parametrize("role", ["investigator", "monitor"])
def test_investigators_and_monitors_read_but_cannot_correct(recorded, make_user, role):
    before = history_counts()
    response = patch_current(client_for(make_user(role)), url(recorded),
                             {"bleeding_grade": 2, "reason": REASON}, format="json")
    assert response.status_code == 403
    assert history_counts() == before


def test_another_sites_assessment_is_not_found_and_anonymous_is_refused(recorded, make_user):
    elsewhere = client_for(make_user("coordinator", site="XH"))
    assert elsewhere.get(url(recorded)).status_code == 404
    assert patch_current(elsewhere, url(recorded),
                         {"bleeding_grade": 2, "reason": REASON}, format="json").status_code == 404
    anonymous = APIClient()
    assert anonymous.get(url(recorded)).status_code == 401
    assert patch_current(anonymous, url(recorded),
                         {"bleeding_grade": 2, "reason": REASON}, format="json").status_code == 401
    assert Assessment.objects.get().bleeding_grade == 1


def test_the_service_refuses_a_user_who_is_not_the_sites_coordinator(recorded, make_user):
    with pytest.raises(PermissionDenied):
        services.assessment_update(assessment=recorded, version=recorded.row_version, data=services.AssessmentInput(
            **{**_keep_all(), "bleeding_grade": 2}), reason=REASON, by=make_user("investigator"))


# --- query budget and the row lock --------------------------------------------------------------

def _keep_all() -> dict:
    return {f.name: services.KEEP for f in fields(services.AssessmentInput)}


def test_an_update_with_five_labs_stays_within_twenty_queries(recorded, coordinator, django_assert_max_num_queries):
    # read as the API reads it: with the participant's lock and its study's (`enrollment.locks`)
    assessment = Assessment.objects.select_related("participant__locked_by", "participant__study__locked_by").get(
        pk=recorded.pk)
    labs = [{"analyte": code, "value": value, "unit": unit} for code, value, unit in (
        ("PLT", 40, "10^9/L"), ("HGB", 100, "g/L"), ("ANC", 2.1, "10^9/L"), ("WBC", 4.2, "10^9/L"),
        ("ALT", 31, "U/L"))]

    with django_assert_max_num_queries(20):  # the data queries the edit checks keep are read too
        services.assessment_update(assessment=assessment, reason=REASON, by=coordinator, check=False,
                                   data=services.AssessmentInput(
            **{**_keep_all(), "labs": labs, "bleeding_grade": 0, "date": date.fromisoformat(days_ago(2))}))

    assert sorted(LabResult.objects.values_list("analyte", "value")) == [
        ("ALT", 31.0), ("ANC", 2.1), ("HGB", 100.0), ("PLT", 40.0), ("WBC", 4.2)]


def test_the_update_locks_the_assessment_row(recorded, coordinator):
    # The row lock is taken on PostgreSQL; SQLite serialises writers itself.
    require_service(connection.features.has_select_for_update, "PostgreSQL (DATABASE_URL=postgres://...)")
    with CaptureQueriesContext(connection) as queries:
        services.assessment_update(assessment=recorded, reason=REASON, by=coordinator, version=recorded.row_version,
                                   data=services.AssessmentInput(**{**_keep_all(), "bleeding_grade": 0}))
    table = Assessment._meta.db_table
    assert any("FOR UPDATE" in q["sql"] and f'FROM "{table}"' in q["sql"] for q in queries.captured_queries)
