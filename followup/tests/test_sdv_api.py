"""API of source data verification: the study's plan and a participant's verification (API.md)."""
import pytest

from followup.sdv_models import ItemVerification, SdvPlan
from trials.tests.support import client_for

from .sdv_support import assessment, state_of, verify
from .support import enrol


@pytest.fixture
def monitor(make_user):
    return make_user("monitor")


def _url(participant):
    return f"/api/v1/participants/{participant.pk}/verification/"


def _body(record, items, version=None):
    return {"kind": "assessment", "record": record.pk, "items": items,
            "version": record.row_version if version is None else version}


def test_get_lists_each_record_with_its_state_and_items(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date"], monitor)

    response = client_for(monitor).get(_url(participant))

    assert response.status_code == 200
    data = response.json()
    assert data["plan"] == "key"
    found = next(r for r in data["records"] if r["kind"] == "assessment")
    assert (found["id"], found["state"], found["version"], found["withdrawn"]) == (
        recorded.pk, "complete", recorded.row_version, False)
    items = {item["code"]: item for item in found["items"]}
    assert (items["date"]["verified"], items["date"]["verified_by"], items["date"]["required"]) == (
        True, monitor.get_username(), True)
    assert (items["lab:PLT"]["verified"], items["lab:PLT"]["value"]) == (False, "20 10^9/L")
    assert items["lab:WBC"]["required"] is False
    assert {r["kind"]: r["state"] for r in data["records"]}["infusion"] == "in_progress"


def test_post_verifies_items_and_answers_201(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)

    response = client_for(monitor).post(_url(participant), _body(recorded, ["date", "lab:PLT", "lab:HGB"]),
                                        format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["state"] == "verified"
    assert ItemVerification.objects.filter(verified_by=monitor).count() == 3


@pytest.mark.parametrize("role", ["coordinator", "investigator", "data_manager"])
def test_post_is_refused_to_roles_other_than_monitor(participant, coordinator, make_user, role):
    recorded = assessment(participant, coordinator)
    response = client_for(make_user(role)).post(_url(participant), _body(recorded, ["date"]), format="json")
    assert response.status_code == 403
    assert not ItemVerification.objects.exists()


def test_post_for_another_sites_participant_is_404(participant, coordinator, other_site_study, make_user):
    recorded = assessment(participant, coordinator)
    elsewhere = client_for(make_user("monitor", site="XH"))
    assert elsewhere.post(_url(participant), _body(recorded, ["date"]), format="json").status_code == 404
    assert elsewhere.get(_url(participant)).status_code == 404


def test_post_of_an_unknown_item_is_400_naming_items(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    response = client_for(monitor).post(_url(participant), _body(recorded, ["date", "lab:CRP"]), format="json")
    assert response.status_code == 400
    assert "lab:CRP" in response.json()["errors"]["items"][0]
    assert not ItemVerification.objects.exists()


def test_post_from_a_stale_version_is_409_with_the_record_now(participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    response = client_for(monitor).post(_url(participant), _body(recorded, ["date"], version=recorded.row_version + 5),
                                        format="json")
    assert response.status_code == 409
    assert response.json()["current"]["version"] == recorded.row_version
    assert "version" in response.json()["errors"]
    assert not ItemVerification.objects.exists()


def test_post_of_a_record_of_another_participant_is_404(participant, coordinator, monitor):
    other = enrol(coordinator)
    recorded = assessment(participant, coordinator)
    response = client_for(monitor).post(_url(other), _body(recorded, ["date"]), format="json")
    assert response.status_code == 404
    assert state_of(recorded).verified_count == 0


# --- the plan ------------------------------------------------------------------------------------

def test_plan_get_and_put_by_a_data_manager(studies, make_user):
    url = "/api/v1/studies/MSC-ITP-5/sdv-plan/"
    manager = client_for(make_user("data_manager"))
    assert manager.get(url).json()["scope"] == "key"
    assert manager.get(url).json()["chosen"] is False

    response = manager.put(url, {"scope": "all", "reason": "Sponsor asks for full SDV"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["scope"], response.json()["chosen"], response.json()["reason"]) == (
        "all", True, "Sponsor asks for full SDV")
    assert SdvPlan.objects.get().scope == "all"


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_plan_put_is_refused_to_other_roles(studies, make_user, role):
    response = client_for(make_user(role)).put("/api/v1/studies/MSC-ITP-5/sdv-plan/",
                                               {"scope": "all", "reason": "why"}, format="json")
    assert response.status_code == 403
    assert not SdvPlan.objects.exists()


def test_plan_put_without_reason_is_400_and_another_sites_study_404(studies, other_site_study, make_user):
    manager = client_for(make_user("data_manager"))
    response = manager.put("/api/v1/studies/MSC-ITP-5/sdv-plan/", {"scope": "all"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert manager.get("/api/v1/studies/XH-MSC/sdv-plan/").status_code == 404


def test_get_after_a_correction_shows_the_verification_withdrawn_with_who_changed_it(participant, coordinator,
                                                                                      monitor):
    recorded = assessment(participant, coordinator)
    verify(recorded, ["date", "lab:PLT", "lab:HGB"], monitor)
    response = client_for(coordinator).patch(f"/api/v1/assessments/{recorded.pk}/", {
        "bleeding_grade": 2, "reason": "Wrong grade transcribed", "version": state_of(recorded).version},
        format="json")
    assert response.status_code == 200, response.json()

    data = client_for(monitor).get(_url(participant)).json()

    found = next(r for r in data["records"] if r["kind"] == "assessment")
    assert (found["state"], found["withdrawn"], found["changed_by"]) == ("complete", True,
                                                                          coordinator.get_username())
    assert found["changed_at"] is not None
    assert all(item["withdrawn"] and not item["verified"] for item in found["items"] if item["required"])
