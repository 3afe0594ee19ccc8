"""A study's definition as one document: GET /api/v1/studies/{code}/definition/ gives it in the shape
of trials/studies/*.yaml, and `load_studies PATH` loads it back (trials/definitions.py)."""
import json
import re

import pytest
import yaml
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from trials.definitions import study_definition
from trials.models import Study
from trials.selectors import study_queryset
from trials.services import STUDIES_DIR, LoadReport, StudyDefinitionError, study_load

SHIPPED = ["MSC-ITP-5", "UCB-IRIC", "HUCMSC-ITP-ESC"]


def api_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def as_json(value):
    """The file's values as the API's JSON gives them (dates as ISO text)."""
    return json.loads(json.dumps(value, default=str))


def assert_file_in_definition(file_value, exported, path="definition"):
    """Every value the file states is the exported one; the export adds the defaults the file leaves out."""
    if isinstance(file_value, dict):
        assert isinstance(exported, dict), path
        for key, value in file_value.items():
            assert key in exported, f"{path}.{key} is not exported"
            assert_file_in_definition(value, exported[key], f"{path}.{key}")
    elif isinstance(file_value, list):
        assert isinstance(exported, list) and len(exported) == len(file_value), path
        for index, (value, out) in enumerate(zip(file_value, exported, strict=True)):
            assert_file_in_definition(value, out, f"{path}.{index}")
    elif isinstance(file_value, str) and isinstance(exported, str):
        assert " ".join(file_value.split()) == " ".join(exported.split()), path  # folded YAML text
    else:
        assert file_value == exported, path


@pytest.mark.parametrize("code", SHIPPED)
def test_the_definition_states_everything_the_shipped_file_states(code, studies, coordinator):
    file_data = as_json(yaml.safe_load((STUDIES_DIR / f"{code}.yaml").read_text()))

    response = api_for(coordinator).get(f"/api/v1/studies/{code}/definition/")

    assert response.status_code == 200
    body = response.json()
    file_data["arms"] = sorted(file_data["arms"], key=lambda arm: arm["code"])
    file_data["diseases"] = sorted(file_data["diseases"], key=lambda row: row["disease"])
    assert_file_in_definition(file_data, body)


@pytest.mark.parametrize("code", SHIPPED)
def test_a_definition_loaded_under_a_new_code_gives_the_same_definition(code, studies, coordinator):
    original = api_for(coordinator).get(f"/api/v1/studies/{code}/definition/").json()

    report = LoadReport()
    study_load({**original, "code": "COPY-1"}, by=None, reason="test copy", report=report)
    copy = api_for(coordinator).get("/api/v1/studies/COPY-1/definition/").json()

    assert report.created and not report.differs and not report.not_in_file
    assert copy == {**original, "code": "COPY-1"}


def test_load_studies_loads_a_definition_file_the_api_gave(studies, coordinator, tmp_path):
    body = api_for(coordinator).get("/api/v1/studies/UCB-IRIC/definition/").json()
    path = tmp_path / "copy.json"
    path.write_text(json.dumps({**body, "code": "UCB-COPY", "title": "A copy"}))

    call_command("load_studies", str(path), stdout=open(tmp_path / "out.txt", "w"))
    call_command("load_studies", str(path), stdout=open(tmp_path / "again.txt", "w"))

    copy = study_definition(study_queryset(coordinator).get(code="UCB-COPY"))
    assert copy == {**body, "code": "UCB-COPY", "title": "A copy"}
    assert "Studies are up to date." in (tmp_path / "again.txt").read_text()


def test_load_studies_refuses_a_file_that_is_not_a_definition_and_stores_nothing(studies, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({**yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text()), "code": "NEW-1"}))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"code": "NEW-2"}))

    with pytest.raises(CommandError, match="bad.yaml: required key 'title' is missing"):
        call_command("load_studies", str(good), str(bad))

    assert not Study.objects.filter(code__in=["NEW-1", "NEW-2"]).exists()


def test_another_sites_study_has_no_definition_for_this_user(studies, other_site_study, coordinator, client):
    assert api_for(coordinator).get("/api/v1/studies/XH-MSC/definition/").status_code == 404
    assert client.get("/api/v1/studies/MSC-ITP-5/definition/").status_code in (401, 403)


@pytest.mark.parametrize("code", SHIPPED)
def test_the_definition_is_read_in_a_fixed_number_of_queries(code, studies, coordinator,
                                                             django_assert_max_num_queries):
    api = api_for(coordinator)
    api.get("/api/v1/studies/").json()  # the user's memberships are read once per request
    # the study and its configuration, the items and their places on the forms: whatever the number of rows

    with django_assert_max_num_queries(11):
        assert api.get(f"/api/v1/studies/{code}/definition/").status_code == 200


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["visits"][0].update({"HCV": None}), "MSC-ITP-5 visit BL: unknown key(s) HCV"),
    (lambda d: d.update({"titel": "x"}), "study MSC-ITP-5: unknown key(s) titel"),
    (lambda d: d["arms"][0]["dose_levels"][0].update({"dose": 1}),
     "MSC-ITP-5 arm MSC dose level STD: unknown key(s) dose"),
    (lambda d: d["criteria"].insert(0, "age over 4"), "MSC-ITP-5 criterion 0: not a mapping"),
])
def test_a_definition_with_a_key_no_row_has_is_refused_with_its_place(studies, change, message):
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    change(data)

    before = Study.objects.get(code="MSC-ITP-5").history.count()

    with pytest.raises(StudyDefinitionError, match=re.escape(message)):
        study_load(data, by=None, reason="test", report=LoadReport(update=True))
    assert Study.objects.get(code="MSC-ITP-5").history.count() == before


def copy_body(api, code="MSC-ITP-5", new_code="MSC-COPY", **changes) -> dict:
    definition = api.get(f"/api/v1/studies/{code}/definition/").json()
    return {"definition": {**definition, "code": new_code, **changes}, "reason": "Copied for the amended protocol"}


def test_an_administrator_creates_a_study_from_another_studys_definition(studies, make_user):
    admin = make_user("admin")
    api = api_for(admin)
    body = copy_body(api)

    response = api.post("/api/v1/studies/", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json() == {**body["definition"], "status": "draft"}  # a new study is a draft
    created = Study.objects.get(code="MSC-COPY")
    assert {row.history_change_reason for row in created.history.all()} == {"Copied for the amended protocol"}
    assert {row.history_user for row in created.history.all()} == {admin}
    assert api.get("/api/v1/studies/MSC-COPY/definition/").json() == body["definition"]


@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor"])
def test_only_an_administrator_creates_a_study(studies, make_user, role):
    body = copy_body(api_for(make_user("admin")))

    response = api_for(make_user(role)).post("/api/v1/studies/", body, format="json")

    assert response.status_code == 403
    assert not Study.objects.filter(code="MSC-COPY").exists()


def test_an_administrator_of_another_site_cannot_create_a_study_at_this_one(studies, other_site_study, make_user):
    body = copy_body(api_for(make_user("admin")))

    response = api_for(make_user("admin", site="XH")).post("/api/v1/studies/", body, format="json")

    assert response.status_code == 403
    assert not Study.objects.filter(code="MSC-COPY").exists()


@pytest.mark.parametrize(("changes", "status", "field", "message"), [
    ({"new_code": "MSC-ITP-5"}, 409, "code", "A study MSC-ITP-5 exists already"),
    ({"sites": [{"code": "NOWHERE", "name": "Nowhere"}]}, 400, "sites", "Unknown site(s) NOWHERE"),
    ({"titel": "typo"}, 400, "definition", "study MSC-COPY: unknown key(s) titel"),
    ({"enrolment_target": 0}, 400, "definition", "enrolment_target"),
    ({"arms": 5}, 400, "definition", "study MSC-COPY: arms must be a list"),
    ({"design": "Single\x00arm"}, 400, "definition", "definition.design: a text holds a null character"),
    ({"sites": [{"code": ["PUMCH"], "name": "A list"}]}, 400, "sites", "Unknown site(s) ['PUMCH']"),
    ({"visits": [{"code": "V1", "label": "Visit", "anchor": "first_infusion", "offset": "soon"}]}, 400,
     "visits.0.offset", "must be an integer"),
    ({"criteria": [{"code": "spleen", "kind": "inclusion", "text": "Splenectomy over 6 months ago.",
                    "rule_type": "days_since", "params": {"field": "splenectomy_date", "op": ">", "value": 180}}]},
     400, "criteria.0.params.field", "The study has no item 'splenectomy_date'"),
    ({"items": [{"code": "qol", "label": "QoL", "type": "number", "min": 10, "max": 1}]}, 400, "items.0.min",
     "The lowest plausible value is above the highest."),
    ({"items": [{"code": "qol", "label": "QoL", "type": "number", "forms": ["M99"]}]}, 400, "items.0.forms",
     "no visit M99"),
    ({"diseases": [{"disease": "ITP", "response_criteria": "NOPE"}]}, 400, "definition",
     "unknown response criteria set 'NOPE'"),
])
def test_a_refused_definition_names_the_reason_and_creates_nothing(studies, make_user, changes, status, field,
                                                                   message):
    api = api_for(make_user("admin"))
    new_code = changes.pop("new_code", "MSC-COPY")
    body = copy_body(api, new_code=new_code, **changes)
    counts = (Study.objects.count(), Study.history.count())

    response = api.post("/api/v1/studies/", body, format="json")

    assert response.status_code == status
    assert message in " ".join(response.json()["errors"][field])
    assert (Study.objects.count(), Study.history.count()) == counts


def test_a_definition_without_its_title_is_refused_by_name(studies, make_user):
    api = api_for(make_user("admin"))
    body = copy_body(api)
    del body["definition"]["title"]

    response = api.post("/api/v1/studies/", body, format="json")

    assert response.status_code == 400
    assert "'title'" in response.json()["errors"]["definition"][0]
    assert not Study.objects.filter(code="MSC-COPY").exists()


@pytest.mark.parametrize(("code", "status"), [("MSC-ITP-5", "open"), ("HUCMSC-ITP-ESC", "planned")])
def test_a_level_without_a_status_starts_open_unless_escalation_opens_it(studies, code, status):
    data = yaml.safe_load((STUDIES_DIR / f"{code}.yaml").read_text())
    data["code"] = "NEW-STUDY"
    for arm in data["arms"]:
        for level in arm["dose_levels"]:
            level.pop("status", None)

    study = study_load(data, by=None, reason="test", report=LoadReport())

    assert {level.status for arm in study.arms.all() for level in arm.dose_levels.all()} == {status}
