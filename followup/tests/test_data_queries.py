"""Data queries through the API: opened on a record's item, answered, closed, re-opened; every
transition refused for a wrong role (403), another site (404), bad input (400 naming the field)
and a wrong state (409); a correction of an assessment answering a query, linked to its change."""
import pytest

from followup.models import Assessment, DataQuery, LabResult
from trials.tests.support import client_for, patch_current

REASON = "Value copied from the wrong report"


def open_query(user, assessment, item="lab:PLT", question="PLT 42 or 24 on the source report?"):
    return client_for(user).post(f"/api/v1/participants/{assessment.participant_id}/queries/",
                                 {"record": f"assessment/{assessment.pk}", "item": item, "question": question},
                                 format="json")


@pytest.fixture
def query(monitor, assessment):
    response = open_query(monitor, assessment)
    assert response.status_code == 201, response.json()
    return DataQuery.objects.get(pk=response.json()["id"])


def post(user, query, action, body):
    return client_for(user).post(f"/api/v1/queries/{query.pk}/{action}/", body, format="json")


# --- opening -----------------------------------------------------------------------------------

def test_a_monitor_opens_a_query_on_a_lab_value(monitor, assessment):
    response = open_query(monitor, assessment)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["source"], body["record"], body["item"], body["opened_by"]) == (
        "open", "manual", f"assessment/{assessment.pk}", "lab:PLT", monitor.username)
    assert [(m["kind"], m["text"]) for m in body["messages"]] == [("question", "PLT 42 or 24 on the source report?")]
    assert DataQuery.history.filter(id=body["id"]).count() == 1


def test_kind_and_record_may_be_given_apart(data_manager, assessment):
    response = client_for(data_manager).post(
        f"/api/v1/participants/{assessment.participant_id}/queries/",
        {"kind": "assessment", "record": str(assessment.pk), "item": "bleeding_grade", "question": "Grade 1?"},
        format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_roles_that_do_not_ask_are_refused_opening(make_user, assessment, role):
    assert open_query(make_user(role), assessment).status_code == 403
    assert not DataQuery.objects.exists()


def test_another_sites_monitor_gets_404(make_user, other_site_study, assessment):
    assert open_query(make_user("monitor", site="XH"), assessment).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"item": "lab:PLT", "question": ""}, "question"),
    ({"item": "colour", "question": "?"}, "item"),
    ({"item": "", "question": "?"}, "item"),
])
def test_bad_input_names_the_field(monitor, assessment, body, field):
    response = client_for(monitor).post(f"/api/v1/participants/{assessment.participant_id}/queries/",
                                        {"record": f"assessment/{assessment.pk}", **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_record_of_another_participant_is_refused(monitor, assessment, participant):
    response = client_for(monitor).post(f"/api/v1/participants/{participant.pk}/queries/",
                                        {"record": f"assessment/{assessment.pk}", "item": "date", "question": "?"},
                                        format="json")
    assert response.status_code == 400
    assert "record" in response.json()["errors"]


def test_list_filters_by_state(monitor, query, assessment):
    url = f"/api/v1/participants/{assessment.participant_id}/queries/"
    assert [q["id"] for q in client_for(monitor).get(url + "?state=open").json()] == [query.pk]
    assert client_for(monitor).get(url + "?state=closed").json() == []
    assert client_for(monitor).get(url + "?state=lost").status_code == 400


# --- answering, closing, re-opening -------------------------------------------------------------

def test_the_whole_cycle(monitor, coordinator, query):
    answered = post(coordinator, query, "answer", {"answer": "The source says 42."})
    assert answered.status_code == 200, answered.json()
    assert (answered.json()["state"], answered.json()["answered_by"], answered.json()["correction"]) == (
        "answered", coordinator.username, None)

    closed = post(monitor, query, "close", {"note": "Checked against the source."})
    assert closed.status_code == 200, closed.json()
    assert (closed.json()["state"], closed.json()["close_note"]) == ("closed", "Checked against the source.")

    reopened = post(monitor, query, "reopen", {"reason": "The source has a second page."})
    assert reopened.status_code == 200, reopened.json()
    body = reopened.json()
    assert (body["state"], body["answer"], body["closed_at"]) == ("open", "", None)
    assert [m["kind"] for m in body["messages"]] == ["question", "answer", "close", "reopen"]
    assert DataQuery.history.filter(id=query.pk).count() == 4


def test_answering_needs_the_sites_data_entry(monitor, data_manager, investigator, query):
    assert post(monitor, query, "answer", {"answer": "x"}).status_code == 403
    assert post(data_manager, query, "answer", {"answer": "x"}).status_code == 403
    assert post(investigator, query, "answer", {"answer": "Confirmed."}).status_code == 200


def test_answering_refusals(coordinator, make_user, other_site_study, query):
    assert post(make_user("coordinator", site="XH"), query, "answer", {"answer": "x"}).status_code == 404
    blank = post(coordinator, query, "answer", {"answer": "  "})
    assert blank.status_code == 400 and "answer" in blank.json()["errors"]
    missing = post(coordinator, query, "answer", {})
    assert missing.status_code == 400 and "answer" in missing.json()["errors"]
    assert post(coordinator, query, "answer", {"answer": "42."}).status_code == 200
    again = post(coordinator, query, "answer", {"answer": "Still 42."})
    assert again.status_code == 409 and "state" in again.json()["errors"]


def test_only_the_asker_or_a_data_manager_closes(make_user, coordinator, data_manager, query):
    other_monitor = make_user("monitor")
    post(coordinator, query, "answer", {"answer": "42."})
    assert post(coordinator, query, "close", {}).status_code == 403
    assert post(other_monitor, query, "close", {}).status_code == 403
    assert post(make_user("monitor", site="XH"), query, "close", {}).status_code == 404
    assert post(data_manager, query, "close", {"note": ""}).status_code == 200
    assert DataQuery.objects.get(pk=query.pk).closed_by == data_manager


def test_closing_a_closed_query_and_reopening_an_open_one_are_conflicts(monitor, query):
    assert post(monitor, query, "reopen", {"reason": "why"}).status_code == 409
    assert post(monitor, query, "close", {}).status_code == 200  # the asker withdraws the question
    conflict = post(monitor, query, "close", {})
    assert conflict.status_code == 409 and "state" in conflict.json()["errors"]
    blank = post(monitor, query, "reopen", {"reason": ""})
    assert blank.status_code == 400 and "reason" in blank.json()["errors"]


def test_reading_a_query(monitor, make_user, other_site_study, query):
    assert client_for(monitor).get(f"/api/v1/queries/{query.pk}/").json()["question"] == query.question
    assert client_for(make_user("monitor", site="XH")).get(f"/api/v1/queries/{query.pk}/").status_code == 404


# --- a correction answering a query -------------------------------------------------------------

def test_a_correction_answers_the_query_and_links_the_change(api, query, assessment):
    response = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {
        "labs": [{"analyte": "PLT", "value": 24, "unit": "10^9/L"}], "reason": REASON, "query": query.pk},
        format="json")

    assert response.status_code == 200, response.json()
    query.refresh_from_db()
    lab = LabResult.objects.get(assessment=assessment, analyte="PLT")
    change = LabResult.history.filter(id=lab.pk).latest("history_id")
    assert (query.state, query.answer, query.correction_kind, query.correction_pk, query.correction_history_id) == (
        "answered", REASON, "lab-result", lab.pk, change.history_id)
    assert change.history_change_reason == REASON and lab.value == 24


def test_a_correction_with_a_query_of_another_record_writes_nothing(api, monitor, query, assessment, woman):
    other = Assessment.objects.create(participant=woman, date=assessment.date, recorded_by=monitor)
    response = patch_current(api, f"/api/v1/assessments/{other.pk}/", {
        "bleeding_grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 400 and "query" in response.json()["errors"]
    assert Assessment.objects.get(pk=other.pk).bleeding_grade is None


def test_a_correction_answering_a_closed_query_is_a_conflict(api, monitor, query, assessment):
    post(monitor, query, "close", {})
    response = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {
        "bleeding_grade": 2, "reason": REASON, "query": query.pk}, format="json")

    assert response.status_code == 409 and "query" in response.json()["errors"]
    assert Assessment.objects.get(pk=assessment.pk).bleeding_grade == 1


def test_a_correction_without_a_query_still_works(api, assessment):
    response = patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {"bleeding_grade": 2, "reason": REASON},
                             format="json")
    assert response.status_code == 200, response.json()
