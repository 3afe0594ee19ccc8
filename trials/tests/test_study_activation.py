"""A study's status: a study created from a definition (copy, upload, `POST /api/v1/studies/`) is a
draft that records no screening or enrolment until an administrator of every site of the study
activates it (`trials.services.study_activate`, the admin's "Activate study" page and
`POST /api/v1/studies/{code}/activate/`). The shipped studies are active."""
import io

import pytest
import yaml
from django.contrib.messages import get_messages
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from enrollment.models import Participant, Screening
from enrollment.screening_input import ScreeningInput
from enrollment.services import participant_enrol, screening_create
from enrollment.tests.support import eligible_p3_screening, form_data, new_url, p3_facts
from trials.definitions import study_definition
from trials.errors import ConflictError
from trials.models import DoseLevel, Site, Study
from trials.services import STUDIES_DIR, LoadReport, study_activate, study_create_from_definition, study_load
from trials.tests.support import client_for, setup_update

SHIPPED = ["MSC-ITP-5", "UCB-IRIC", "HUCMSC-ITP-ESC"]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def shipped_file(code: str) -> dict:
    return yaml.safe_load((STUDIES_DIR / f"{code}.yaml").read_text())


def draft_of(code: str, admin, *, new_code: str = "DRAFT-1", **changes) -> Study:
    """A draft copy of a shipped study made by `admin` through the service the admin and API use."""
    data = {**study_definition(Study.objects.get(code=code)), "code": new_code, **changes}
    return study_create_from_definition(data=data, by=admin, reason="New protocol")


def level_statuses(study: Study) -> dict[str, str]:
    return dict(DoseLevel.objects.filter(arm__study=study).values_list("code", "status"))


def with_planned_levels(code: str) -> list[dict]:
    """The study's arms with every dose level planned (as a level added in the admin can be)."""
    arms = study_definition(Study.objects.get(code=code))["arms"]
    return [{**arm, "dose_levels": [{**level, "status": "planned"} for level in arm["dose_levels"]]} for arm in arms]


@pytest.fixture
def admin(make_user):
    return make_user("admin")


# --------------------------------------------------------------------------------------------
# Which studies are drafts
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_study_that_existed_before_the_status_is_active(studies, back_to_the_latest_schema):
    executor = MigrationExecutor(connection)
    [status_migration] = [key for key in executor.loader.graph.nodes
                          if key[0] == "trials" and key[1].endswith("_study_status")]
    [before] = [node.key for node in executor.loader.graph.node_map[status_migration].parents
                if node.key[0] == "trials"]
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("trials", "Study")
    assert old.objects.count() == 3

    executor = MigrationExecutor(connection)
    executor.migrate([status_migration])
    state = executor.loader.project_state([status_migration]).apps
    assert set(state.get_model("trials", "Study").objects.values_list("status", flat=True)) == {"active"}
    assert set(state.get_model("trials", "HistoricalStudy").objects.values_list("status", flat=True)) == {"active"}


def test_the_shipped_studies_and_a_study_file_loaded_are_active(studies, other_site_study):
    assert {code: study.status for code, study in studies.items() if code in SHIPPED} == dict.fromkeys(
        SHIPPED, "active")
    assert other_site_study.status == "active"


def test_a_study_made_in_the_administration_starts_as_a_draft():
    assert Study().status == "draft"


def test_a_study_copied_in_the_admin_is_a_draft_and_the_message_says_so(admin_client):
    study = Study.objects.get(code="MSC-ITP-5")

    response = admin_client.post(reverse("admin:trials_study_copy", args=[study.pk]),
                                 {"code": "MSC-V2", "title": "", "reason": "Protocol amendment 2"}, follow=True)

    copy = Study.objects.get(code="MSC-V2")
    assert copy.status == "draft"
    assert messages_of(response) == [
        'Study MSC-V2 created as a draft: check its configuration, then activate it ("Activate study") so that it '
        "records screenings."]
    page = response.content.decode()
    assert 'data-testid="study-activate"' in page and "Draft" in page


def test_a_study_uploaded_in_the_admin_is_a_draft(admin_client):
    upload = io.BytesIO(yaml.safe_dump({**shipped_file("UCB-IRIC"), "code": "UCB-UPLOADED"}).encode())
    upload.name = "UCB-UPLOADED.yaml"

    response = admin_client.post(reverse("admin:trials_study_upload_definition"),
                                 {"definition": upload, "reason": "New protocol"})

    assert response.status_code == 302
    assert Study.objects.get(code="UCB-UPLOADED").status == "draft"
    assert "created as a draft" in messages_of(response)[0]


def test_a_study_created_through_the_api_is_a_draft(studies, admin):
    api = client_for(admin)
    definition = api.get("/api/v1/studies/MSC-ITP-5/definition/").json()

    created = api.post("/api/v1/studies/", {"definition": {**definition, "code": "MSC-API"}, "reason": "New"},
                       format="json")

    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert api.get("/api/v1/studies/MSC-API/").json()["status"] == "draft"
    assert {row["code"]: row["status"] for row in api.get("/api/v1/studies/").json()} == {
        "HUCMSC-ITP-ESC": "active", "MSC-API": "draft", "MSC-ITP-5": "active", "UCB-IRIC": "active"}


def test_a_definition_that_names_a_status_is_refused(studies, admin):
    definition = study_definition(Study.objects.get(code="MSC-ITP-5"))

    response = client_for(admin).post("/api/v1/studies/", {
        "definition": {**definition, "code": "MSC-ACTIVE", "status": "active"}, "reason": "New"}, format="json")

    assert response.status_code == 400
    assert "study MSC-ACTIVE: unknown key(s) status" in response.json()["errors"]["definition"][0]
    assert not Study.objects.filter(code="MSC-ACTIVE").exists()


# --------------------------------------------------------------------------------------------
# A draft records nothing
# --------------------------------------------------------------------------------------------

DRAFT_REFUSAL = ("Study DRAFT-1 is not active (status: Draft): it records no screening or enrolment until an "
                 "administrator activates it.")


def test_the_screening_service_refuses_a_draft_naming_its_status(studies, admin, coordinator):
    draft = draft_of("MSC-ITP-5", admin)

    with pytest.raises(ConflictError) as refused:
        screening_create(study=draft, site=Site.objects.get(code="PUMCH"),
                         data=ScreeningInput(values={}), by=coordinator)

    assert refused.value.errors == {"study": [DRAFT_REFUSAL]}
    assert not Screening.objects.filter(study=draft).exists()


def test_the_api_refuses_a_screening_in_a_draft_with_409(studies, admin, api):
    draft_of("MSC-ITP-5", admin)

    response = api.post("/api/v1/studies/DRAFT-1/screenings/", p3_facts(), format="json")

    assert response.status_code == 409
    assert response.json() == {"errors": {"study": [DRAFT_REFUSAL]}}
    assert not Screening.objects.filter(study__code="DRAFT-1").exists()


def test_the_pages_of_a_draft_show_a_banner_and_no_new_screening(studies, admin, client, coordinator):
    draft_of("MSC-ITP-5", admin)
    client.force_login(coordinator)

    log = client.get(reverse("screening-log", args=["DRAFT-1"])).content.decode()
    study_page = client.get(reverse("study-detail", args=["DRAFT-1"])).content.decode()
    home = client.get(reverse("home")).content.decode()
    active_log = client.get(reverse("screening-log", args=["MSC-ITP-5"])).content.decode()

    assert 'data-testid="study-draft-banner"' in log and new_url("DRAFT-1") not in log
    assert 'data-testid="study-draft-banner"' in study_page and 'data-testid="study-status"' in study_page
    assert home.count('data-testid="study-status"') == 1
    assert 'data-testid="study-draft-banner"' not in active_log and new_url("MSC-ITP-5") in active_log


def test_the_screening_page_of_a_draft_refuses_and_says_why(studies, admin, client, coordinator):
    draft_of("MSC-ITP-5", admin)
    client.force_login(coordinator)

    shown = client.get(new_url("DRAFT-1"))
    posted = client.post(new_url("DRAFT-1"), form_data())

    for response in (shown, posted):
        assert response.status_code == 302 and response["Location"] == reverse("screening-log", args=["DRAFT-1"])
    assert set(messages_of(posted)) == {"Study DRAFT-1 is not active (status: Draft): it records no screening until an "
                                        "administrator activates it."}
    assert not Screening.objects.filter(study__code="DRAFT-1").exists()


def test_enrolment_is_refused_while_the_study_is_not_active(studies, coordinator):
    screening = eligible_p3_screening(coordinator)
    setup_update(Study.objects.filter(code="MSC-ITP-5"), status="draft")  # as if it had been screened before

    with pytest.raises(ConflictError) as refused:
        participant_enrol(screening=screening, by=coordinator)

    assert refused.value.errors == {"study": [DRAFT_REFUSAL.replace("DRAFT-1", "MSC-ITP-5")]}
    assert not Participant.objects.exists()


# --------------------------------------------------------------------------------------------
# Activation
# --------------------------------------------------------------------------------------------


def test_an_administrator_activates_a_draft_on_its_admin_page(studies, admin_client, admin_user):
    draft = draft_of("MSC-ITP-5", admin_user, arms=with_planned_levels("MSC-ITP-5"))
    url = reverse("admin:trials_study_activate", args=[draft.pk])

    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"reason": "Ethics approval received"}, follow=True)

    assert 'data-testid="activation-form"' in page and "Its planned dose levels open" in page
    assert 'data-testid="study-activation-gaps"' not in page
    assert response.redirect_chain == [(reverse("admin:trials_study_change", args=[draft.pk]), 302)]
    assert messages_of(response) == ["Study DRAFT-1 is active: screenings and enrolments can be recorded."]
    assert 'data-testid="study-activate"' not in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "active"
    latest = draft.history.latest("history_date")
    assert (latest.history_type, latest.status, latest.history_user, latest.history_change_reason) == (
        "~", "active", admin_user, "Ethics approval received")
    assert level_statuses(draft) == {"STD": "open"}
    level = DoseLevel.objects.get(arm__study=draft)
    assert level.history.latest("history_date").history_change_reason == "Ethics approval received"


def test_an_activated_study_records_a_screening(studies, admin, api):
    draft_of("MSC-ITP-5", admin)
    client_for(admin).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "Approved"}, format="json")

    response = api.post("/api/v1/studies/DRAFT-1/screenings/", p3_facts(), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["eligibility"]["eligible"] is True


def test_an_administrator_activates_a_draft_through_the_api(studies, admin):
    draft = draft_of("UCB-IRIC", admin)

    response = client_for(admin).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "Approved"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["code"], response.json()["status"]) == ("DRAFT-1", "active")
    draft.refresh_from_db()
    assert draft.status == "active"


def test_the_planned_levels_of_a_study_without_escalation_open_on_activation(studies, admin):
    draft = draft_of("MSC-ITP-5", admin, arms=with_planned_levels("MSC-ITP-5"))
    assert level_statuses(draft) == {"STD": "planned"}

    response = client_for(admin).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "Approved"}, format="json")

    assert [level["status"] for level in response.json()["arms"][0]["dose_levels"]] == ["open"]
    assert level_statuses(draft) == {"STD": "open"}


def test_the_levels_of_an_escalation_study_stay_as_they_are_on_activation(studies, admin):
    draft = draft_of("HUCMSC-ITP-ESC", admin)
    before = level_statuses(draft)
    assert before == {"A": "open", "B": "planned", "C": "planned"}

    study_activate(study=draft, by=admin, reason="Approved")

    assert level_statuses(draft) == before
    assert Study.objects.get(code="DRAFT-1").status == "active"


@pytest.mark.parametrize("code", SHIPPED)
def test_a_copy_of_each_shipped_study_is_complete_enough_to_activate(studies, admin, code):
    draft = draft_of(code, admin)

    study_activate(study=draft, by=admin, reason="Approved")

    assert Study.objects.get(code="DRAFT-1").status == "active"


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_only_an_administrator_activates_a_study(studies, admin, make_user, role):
    draft_of("MSC-ITP-5", admin)

    user = make_user(role)

    response = client_for(user).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "x"}, format="json")
    without_reason = client_for(user).post("/api/v1/studies/DRAFT-1/activate/", {}, format="json")

    assert (response.status_code, without_reason.status_code) == (403, 403)
    assert Study.objects.get(code="DRAFT-1").status == "draft"


def test_an_administrator_of_another_site_does_not_see_the_draft(studies, admin, make_user):
    draft_of("MSC-ITP-5", admin)

    response = client_for(make_user("admin", site="XH")).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "x"},
                                                              format="json")

    assert response.status_code == 404
    assert Study.objects.get(code="DRAFT-1").status == "draft"


@pytest.fixture
def two_site_draft(studies, make_user):
    """DRAFT-2, run at PUMCH and XH, created by an administrator of both sites."""
    boss = make_user("admin", site="XH")
    boss.memberships.create(site=Site.objects.get(code="PUMCH"), role="admin")
    boss.__dict__.pop("_site_roles_cache", None)
    return draft_of("MSC-ITP-5", boss, new_code="DRAFT-2", sites=[
        {"code": "PUMCH", "name": Site.objects.get(code="PUMCH").name},
        {"code": "XH", "name": Site.objects.get(code="XH").name}])


def test_an_administrator_of_only_some_of_its_sites_cannot_activate_it(two_site_draft, admin, admin_client):
    api_response = client_for(admin).post("/api/v1/studies/DRAFT-2/activate/", {"reason": "x"}, format="json")
    page_response = admin_client.post(reverse("admin:trials_study_activate", args=[two_site_draft.pk]),
                                      {"reason": "x"})

    assert api_response.status_code == 403
    assert api_response.json() == {"errors": {"detail": [
        "Only an administrator of every site of the study activates it."]}}
    assert page_response.status_code == 403
    assert Study.objects.get(code="DRAFT-2").status == "draft"


def test_the_admin_activation_page_is_not_for_other_sites_or_other_roles(studies, admin, client, make_user):
    draft = draft_of("MSC-ITP-5", admin)
    url = reverse("admin:trials_study_activate", args=[draft.pk])

    client.force_login(make_user("admin", site="XH"))
    other_site = client.post(url, {"reason": "x"})
    client.force_login(make_user("coordinator"))
    coordinator = client.post(url, {"reason": "x"})

    assert other_site.status_code == 404
    assert coordinator.status_code == 302 and "/admin/login/" in coordinator["Location"]
    assert Study.objects.get(code="DRAFT-1").status == "draft"


def test_an_active_study_is_not_activated_again(studies, admin, admin_client):
    before = Study.objects.get(code="MSC-ITP-5").history.count()

    response = client_for(admin).post("/api/v1/studies/MSC-ITP-5/activate/", {"reason": "Again"}, format="json")
    page = admin_client.get(reverse("admin:trials_study_activate", args=[studies["MSC-ITP-5"].pk])).content.decode()
    change_page = admin_client.get(reverse("admin:trials_study_change", args=[studies["MSC-ITP-5"].pk]))

    assert response.status_code == 409
    assert response.json() == {"errors": {"status": [
        "Study MSC-ITP-5 is active already: only a draft is activated."]}}
    assert 'data-testid="study-activation-not-draft"' in page and 'data-testid="activation-form"' not in page
    assert 'data-testid="study-activate"' not in change_page.content.decode()
    assert Study.objects.get(code="MSC-ITP-5").history.count() == before


def test_an_activation_without_a_reason_is_refused(studies, admin):
    draft_of("MSC-ITP-5", admin)

    response = client_for(admin).post("/api/v1/studies/DRAFT-1/activate/", {"reason": " "}, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert Study.objects.get(code="DRAFT-1").status == "draft"


def incomplete_draft(admin) -> Study:
    """A draft with no disease, criterion or visit, and an arm without infusions or dose levels."""
    arm = {**study_definition(Study.objects.get(code="MSC-ITP-5"))["arms"][0], "dose_levels": [], "infusions": []}
    return draft_of("MSC-ITP-5", admin, diseases=[], criteria=[], visits=[], response_from_day=None,
                    response_until_day=None, arms=[arm])


def test_an_incomplete_study_is_refused_naming_what_is_missing(studies, admin):
    draft = incomplete_draft(admin)

    response = client_for(admin).post("/api/v1/studies/DRAFT-1/activate/", {"reason": "Approved"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"errors": {
        "diseases": ["No disease is admitted: add at least one disease with its response criteria set."],
        "arms": ["Arm MSC has no infusion: add its infusion schedule.",
                 "Arm MSC has no dose level: add at least one."],
        "criteria": ["The study has no eligibility criterion: add at least one."],
        "visits": ["The study has no visit: add its visit schedule."],
    }}
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_a_study_without_an_arm_is_refused(studies, admin):
    draft = draft_of("UCB-IRIC", admin, arms=[], visits=[v for v in study_definition(
        Study.objects.get(code="UCB-IRIC"))["visits"] if not v["arm"]])

    with pytest.raises(ConflictError) as refused:
        study_activate(study=draft, by=admin, reason="Approved")

    assert refused.value.errors == {
        "arms": ["The study has no arm: add at least one arm with its dose levels and infusions."]}


def test_the_admin_page_lists_what_an_incomplete_study_lacks(studies, admin_client, admin_user):
    draft = incomplete_draft(admin_user)
    url = reverse("admin:trials_study_activate", args=[draft.pk])

    page = admin_client.get(url).content.decode()
    response = admin_client.post(url, {"reason": "Approved"})

    assert 'data-testid="study-activation-gaps"' in page
    assert "The study has no visit: add its visit schedule." in page
    assert response.status_code == 200
    assert "Arm MSC has no infusion: add its infusion schedule." in response.context["form"].non_field_errors()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_a_study_file_loaded_again_keeps_the_status_the_study_has(studies, admin):
    draft = draft_of("MSC-ITP-5", admin)

    study_load({**shipped_file("MSC-ITP-5"), "code": "DRAFT-1"}, by=None, reason="again",
               report=LoadReport(update=True))

    draft.refresh_from_db()
    assert draft.status == "draft"
