"""Protocol versions (trials/versions.py, trials/amendments.py): a running study's items and
criteria are frozen in the version in force; edits to their rows prepare an amendment that takes
effect only when an administrator activates it with a version number, an effective date and a
reason (service, admin page, API); the study page and the versions page list what each changed."""
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from enrollment.services import consent_record
from enrollment.tests.support import create_screening
from trials.amendments import amendment_activate, pending_changes
from trials.audit import change_context
from trials.definitions import study_definition
from trials.enums import StudyStatus
from trials.errors import ConflictError, ServiceError
from trials.loading import LoadReport
from trials.models import EligibilityCriterion, Item, ItemPlacement, Site, Study, StudyVersion
from trials.selectors import criteria_in_force, form_items, study_queryset
from trials.services import study_load
from trials.tests.support import client_for, setup_update, study_administrator
from trials.tests.test_admin_items import MARROW, add_item
from trials.versions import Change, item_spec, protocol_changes

CRIT = {"code": "age", "kind": "inclusion", "text": "Age 4-75.", "rule_type": "age_range",
        "params": {"min_years": 4, "max_years": 75}}
ITEM = {"code": "pregnant", "label": "Pregnant", "type": "yes_no", "forms": ["screening"]}


@pytest.mark.parametrize(("before", "after", "expected"), [
    ({"items": [ITEM], "criteria": [CRIT]}, {"items": [ITEM], "criteria": [CRIT]}, []),
    ({"criteria": [CRIT]}, {"criteria": [CRIT, {**CRIT, "code": "ecog"}]}, [Change("criteria", "ecog", "added")]),
    ({"criteria": [CRIT]}, {"criteria": []}, [Change("criteria", "age", "removed")]),
    ({"criteria": [CRIT]}, {"criteria": [{**CRIT, "text": "Age 4-80.", "params": {"min_years": 4, "max_years": 80}}]},
     [Change("criteria", "age", "changed", ("params", "text"))]),
    ({"criteria": [CRIT, {**CRIT, "code": "b"}]}, {"criteria": [{**CRIT, "code": "b"}, CRIT]},
     [Change("criteria", "b", "changed", ("position",)), Change("criteria", "age", "changed", ("position",))]),
    ({"items": [ITEM]}, {"items": [{**ITEM, "forms": ["screening", "M1"]}]},
     [Change("items", "pregnant", "changed", ("forms",))]),
    ({"items": [ITEM], "criteria": [CRIT]}, {"items": [], "criteria": []},
     [Change("items", "pregnant", "removed"), Change("criteria", "age", "removed")]),
])
def test_what_an_amendment_changes(before, after, expected):
    assert protocol_changes(before, after) == expected
    assert [Change.from_dict(change.as_dict()) for change in expected] == expected


def test_an_item_document_reads_as_the_rules_item():
    spec = item_spec({"code": "x", "label": "X", "type": "number", "unit": "cm", "min": 1, "max": 9, "decimals": 1,
                      "choices": [], "required": True, "help": "h", "applies_if": None, "forms": []})
    assert (spec.unit, spec.min_value, spec.max_value, spec.decimals, spec.required, spec.help_text, spec.applies_if) \
        == ("cm", 1, 9, 1, True, "h", {})


def reword_tbil(study, multiple=0.1):
    with change_context(by=None, reason="Amendment prepared"):
        criterion = EligibilityCriterion.objects.get(study=study, code="tbil")
        criterion.params = {**criterion.params, "multiple": multiple}
        criterion.text = f"Total bilirubin <= {multiple} x ULN."
        criterion.save()


@pytest.fixture
def study(studies):
    return Study.objects.select_related("active_version").get(code="MSC-ITP-5")


def test_a_running_study_has_its_first_version_in_force(study):
    version = study.active_version
    assert (version.version, version.status, version.effective_date) == (study.version, "active", study.effective_date)
    assert version.protocol["criteria"] == study_definition(study)["criteria"]
    assert [c.code for c in criteria_in_force(study)] == [c["code"] for c in version.protocol["criteria"]]
    assert pending_changes(study) == []


def test_edited_criteria_take_effect_only_when_the_amendment_is_activated(study, coordinator):
    reword_tbil(study)
    assert pending_changes(study) == [Change("criteria", "tbil", "changed", ("params", "text"))]
    before = create_screening(coordinator)
    assert before.eligible is True and before.protocol_version == "1"  # the version in force, not the draft

    admin = study_administrator(study)
    version = amendment_activate(study=study, version="2", effective_date=date.today(), reason="Ethics approval 7",
                                 by=admin)

    study.refresh_from_db()
    assert (study.version, study.effective_date, study.active_version) == ("2", date.today(), version)
    assert version.changes == [{"part": "criteria", "code": "tbil", "change": "changed", "keys": ["params", "text"]}]
    assert StudyVersion.objects.get(study=study, version="1").status == "retired"
    assert pending_changes(study) == []
    after = create_screening(coordinator)
    assert after.eligible is False and after.protocol_version == "2" and "tbil" in after.failed_criteria
    before.refresh_from_db()
    assert before.eligible is True and before.protocol_version == "1"  # kept until evaluated again on request
    record = version.history.get()
    assert (record.history_user, record.history_change_reason) == (admin, "Ethics approval 7")
    assert study.history.first().history_change_reason == "Ethics approval 7"


def test_an_added_item_reaches_the_screening_form_with_the_amendment(study):
    with change_context(by=None, reason="Amendment prepared"):
        item = Item.objects.create(study=study, code="bmi_note", label="BMI note", type="text", max_length=50,
                                   order=999)
        ItemPlacement.objects.create(item=item)
    assert "bmi_note" not in [spec.code for _section, spec in form_items(study)]
    amendment_activate(study=study, version="1.1", effective_date=date.today(), reason="Amendment",
                       by=study_administrator(study))
    assert form_items(study)[-1][1] == item.spec


@pytest.mark.parametrize(("values", "field"), [
    ({"version": ""}, "version"),
    ({"version": "1"}, "version"),
    ({"version": "x" * 41}, "version"),
    ({"effective_date": None}, "effective_date"),
    ({"effective_date": date.today() + timedelta(days=1)}, "effective_date"),
    ({"effective_date": date(2000, 1, 1)}, "effective_date"),
    ({"reason": " "}, "reason"),
])
def test_an_amendment_is_refused_with_the_field_named(study, values, field):
    reword_tbil(study)
    with pytest.raises(ServiceError) as refused:
        amendment_activate(study=study, by=study_administrator(study),
                           **{"version": "2", "effective_date": date.today(), "reason": "Approved", **values})
    assert field in refused.value.errors
    assert StudyVersion.objects.filter(study=study).count() == 1
    study.refresh_from_db()
    assert study.version == "1"


def test_an_amendment_that_changes_nothing_or_a_draft_is_refused(study, studies):
    admin = study_administrator(study)
    with pytest.raises(ConflictError) as nothing:
        amendment_activate(study=study, version="2", effective_date=date.today(), reason="Approved", by=admin)
    assert "non_field_errors" in nothing.value.errors
    setup_update(Study.objects.filter(pk=study.pk), status=StudyStatus.DRAFT)
    study.refresh_from_db()
    with pytest.raises(ConflictError):
        amendment_activate(study=study, version="2", effective_date=date.today(), reason="Approved", by=admin)


def test_only_an_administrator_of_every_site_amends(study, coordinator, make_user):
    reword_tbil(study)
    with pytest.raises(PermissionDenied):
        amendment_activate(study=study, version="2", effective_date=date.today(), reason="x", by=coordinator)
    with change_context(by=None, reason="A second site joins"):
        study.sites.add(Site.objects.create(code="OTHER", name="Other hospital"))
    with pytest.raises(PermissionDenied):
        amendment_activate(study=study, version="2", effective_date=date.today(), reason="x", by=make_user("admin"))
    assert StudyVersion.objects.filter(study=study).count() == 1


def test_the_versions_page_lists_the_amendment_and_activates_it(study, admin_client, coordinator):
    reword_tbil(study)
    url = reverse("admin:trials_study_versions", args=[study.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert [str(c.code) for c in page.context["pending"]] == ["tbil"]
    assert 'data-testid="pending-changes"' in page.content.decode()

    refused = admin_client.post(url, {"version": "1", "effective_date": date.today().isoformat(), "reason": ""})
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"version", "reason"}

    done = admin_client.post(url, {"version": "2", "effective_date": date.today().isoformat(), "reason": "Approved"})
    assert done.status_code == 302
    page = admin_client.get(url).content.decode()
    assert 'data-testid="no-pending-changes"' in page and "Approved" in page and "tbil" in page

    coordinator_client = client_for(coordinator)
    assert coordinator_client.get(url).status_code in (302, 403)


def test_the_study_page_shows_the_versions_and_the_amendment_in_preparation(study, coordinator, client):
    reword_tbil(study)
    client.force_login(coordinator)
    page = client.get(reverse("study-detail", args=[study.code])).content.decode()
    assert 'data-testid="amendment-in-preparation"' not in page  # the administrators' business
    admin = study_administrator(study)
    client.force_login(admin)
    page = client.get(reverse("study-detail", args=[study.code])).content.decode()
    assert 'data-testid="amendment-in-preparation"' in page and "tbil" in page
    amendment_activate(study=study, version="2", effective_date=date.today(), reason="Approved 7", by=admin)
    page = client.get(reverse("study-detail", args=[study.code])).content.decode()
    assert 'data-testid="amendment-in-preparation"' not in page and "Approved 7" in page
    assert 'data-testid="version-changes"' in page


def test_the_api_lists_versions_and_activates_an_amendment(study, coordinator):
    reword_tbil(study)
    admin_api = client_for(study_administrator(study))
    listed = client_for(coordinator).get(f"/api/v1/studies/{study.code}/versions/").json()
    assert listed["version"] == "1" and listed["pending_changes"][0]["code"] == "tbil"
    assert [v["status"] for v in listed["versions"]] == ["active"]

    url = f"/api/v1/studies/{study.code}/amendments/"
    assert client_for(coordinator).post(url, {"version": "2", "effective_date": date.today().isoformat(),
                                              "reason": "x"}, format="json").status_code == 403
    bad = admin_api.post(url, {"version": "1", "effective_date": date.today().isoformat(), "reason": "x"},
                         format="json")
    assert bad.status_code == 400 and "version" in bad.json()["errors"]
    done = admin_api.post(url, {"version": "2", "effective_date": date.today().isoformat(), "reason": "Approved"},
                          format="json")
    assert done.status_code == 201
    body = done.json()
    assert body["version"] == "2" and body["pending_changes"] == []
    assert [(v["version"], v["status"]) for v in body["versions"]] == [("2", "active"), ("1", "retired")]
    again = admin_api.post(url, {"version": "3", "effective_date": date.today().isoformat(), "reason": "x"},
                           format="json")
    assert again.status_code == 409
    detail = client_for(coordinator).get(f"/api/v1/studies/{study.code}/").json()
    tbil = next(c for c in detail["criteria"] if c["code"] == "tbil")
    assert tbil["params"]["multiple"] == 0.1


def test_a_study_file_with_a_new_version_number_amends_a_running_study(study, admin_user):
    document = study_definition(study_queryset(admin_user).get(pk=study.pk))
    changed = {**document, "version": "2", "effective_date": date.today().isoformat(),
               "criteria": [c for c in document["criteria"] if c["code"] != "compliance"]}
    same_number = {**changed, "version": "1"}
    with change_context(by=None, reason="x"):
        EligibilityCriterion.objects.filter(study=study, code="compliance").delete()

    report = LoadReport(update=True)
    study_load(same_number, by=None, reason="Loaded from file", report=report)
    assert any("protocol version 1" in line for line in report.differs)
    assert StudyVersion.objects.filter(study=study).count() == 1

    report = LoadReport(update=True)
    study_load(changed, by=None, reason="Loaded from file", report=report)
    study.refresh_from_db()
    assert study.version == "2" and study.active_version.changes == [
        {"part": "criteria", "code": "compliance", "change": "removed", "keys": []}]


@pytest.mark.django_db(transaction=True)
def test_each_running_study_gets_its_rows_as_its_first_version_by_migration(studies, back_to_the_latest_schema):
    # The Chinese texts' columns come later (0020): the first versions have the English alone.
    expected = {code: [{k: v for k, v in row.items() if k != "text_zh"} for row in study_definition(study)["criteria"]]
                for code, study in studies.items()}
    items = {code: [{k: "" if k.endswith("_zh") else v for k, v in row.items()}
                    for row in study_definition(study)["items"]] for code, study in studies.items()}
    executor = MigrationExecutor(connection)
    executor.migrate([("trials", "0013_study_versions")])
    old = executor.loader.project_state([("trials", "0013_study_versions")]).apps
    old.get_model("trials", "Study").objects.update(active_version=None)
    old.get_model("trials", "StudyVersion").objects.all().delete()

    executor = MigrationExecutor(connection)
    executor.migrate([("trials", "0014_first_versions")])
    state = executor.loader.project_state([("trials", "0014_first_versions")]).apps
    for study in state.get_model("trials", "Study").objects.all():
        [version] = state.get_model("trials", "StudyVersion").objects.filter(study=study)
        assert study.active_version_id == version.pk
        assert (version.version, version.status) == (study.version, "active")
        assert version.protocol == {"items": items[study.code], "criteria": expected[study.code]}
    ids = state.get_model("trials", "StudyVersion").objects.values_list("pk", flat=True)
    history = state.get_model("trials", "HistoricalStudyVersion").objects.filter(id__in=list(ids))
    assert history.count() == len(ids) == len(studies) and {row.history_type for row in history} == {"+"}


def test_the_admin_says_an_edit_waits_for_the_amendment(study, admin_client):
    _page, response = add_item(admin_client, study, on_screening_form="on", **MARROW)
    assert response.status_code == 302
    said = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("not in force yet: version 1 is" in message for message in said)


def test_a_consent_signed_under_an_earlier_version_is_recorded_after_an_amendment(study, coordinator):
    first = study.effective_date
    screening = create_screening(coordinator)
    reword_tbil(study)
    amendment_activate(study=study, version="2", effective_date=date.today(), reason="Approved",
                       by=study_administrator(study))
    at = timezone.make_aware(datetime.combine(date.today() - timedelta(days=3), time(10)))
    assert at.date() >= first
    consent = consent_record(screening=screening, version="ICF 1.0", signed_at=at, obtained_by="Dr Li",
                             by=coordinator)
    assert consent.pk is not None
    before_first = timezone.make_aware(datetime.combine(first - timedelta(days=1), time(10)))
    with pytest.raises(ServiceError) as refused:
        consent_record(screening=screening, version="ICF 1.0", signed_at=before_first, obtained_by="Dr Li",
                       by=coordinator)
    assert "protocol version 1 took effect" in refused.value.errors["signed_at"][0]
