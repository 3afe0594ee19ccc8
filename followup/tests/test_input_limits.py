"""No text longer than its column (trials/limits.py): every API write endpoint found in the URL conf
refuses an over-long value with 400 naming the field and writes nothing; every page form is limited
the same way; the audit reason a service composes is cut to its column, never a 500."""
import pytest
from django import forms
from django.urls import reverse
from rest_framework import serializers

# Imported for their form classes, which the length-limit test finds as LimitedForm's subclasses.
import dosing.forms  # noqa: F401
import enrollment.forms  # noqa: F401
import followup.forms  # noqa: F401
import followup.views  # noqa: F401
from enrollment.models import Consent, Screening
from followup.models import AdverseEvent, Assessment, Visit
from followup.tests.api_endpoints import ENDPOINTS
from followup.tests.support import history_rows
from followup.tests.world import build_world
from trials.limits import (
    TEXT_MAX_LENGTH,
    LimitedForm,
    LimitedSerializer,
    audit_reason_max_length,
    text_max_length,
    unlimited_text_fields,
)
from trials.models import Site, Study
from trials.tests.support import client_for


def overlong(serializer) -> tuple[dict, set[str]]:
    """A body with every text field of `serializer` one character too long, and the paths expected."""
    body, paths = {}, set()
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if isinstance(field, serializers.ListSerializer):
            item, inner = overlong(field.child)
            if inner:
                body[name], paths = [item], paths | {f"{name}.0.{path}" for path in inner}
        elif isinstance(field, serializers.Serializer):
            item, inner = overlong(field)
            if inner:
                body[name], paths = item, paths | {f"{name}.{path}" for path in inner}
        elif isinstance(field, serializers.ListField) and isinstance(field.child, serializers.CharField):
            body[name], paths = ["x" * (field.child.max_length + 1)], paths | {f"{name}.0"}
        elif isinstance(field, serializers.DictField) and isinstance(field.child, serializers.CharField):
            body[name], paths = {"key": "x" * (field.child.max_length + 1)}, paths | {f"{name}.key"}
        elif isinstance(field, serializers.CharField):
            body[name], paths = "x" * (field.max_length + 1), paths | {name}
    return body, paths


def test_the_url_conf_has_the_write_endpoints_of_the_api():
    names = {(name, method) for name, method, _s in ENDPOINTS}
    assert {("api-study-screenings", "post"), ("api-screening-detail", "patch"), ("api-screening-consent", "post"),
            ("api-participant-infusions", "post"), ("api-adverse-event-dismiss", "post"),
            ("api-assessment", "patch")} <= names
    assert all(serializer is not None for _n, _m, serializer in ENDPOINTS), "each write declares its request body"


@pytest.mark.parametrize("name, method, serializer", ENDPOINTS, ids=[f"{n}-{m}" for n, m, _s in ENDPOINTS])
def test_every_text_field_of_every_write_endpoint_has_a_length_limit(name, method, serializer):
    assert issubclass(serializer, LimitedSerializer)
    assert unlimited_text_fields(serializer()) == []


def test_every_write_endpoint_has_its_url_arguments_in_the_test_world(studies, coordinator):
    kwargs = build_world(coordinator).url_kwargs()
    assert sorted(name for name, _m, _s in ENDPOINTS if name not in kwargs) == []


WITH_TEXT = [endpoint for endpoint in ENDPOINTS if overlong(endpoint[2]())[1]]


@pytest.mark.parametrize("name, method, serializer", WITH_TEXT, ids=[f"{n}-{m}" for n, m, _s in WITH_TEXT])
def test_over_long_text_is_400_naming_each_field_and_writes_nothing(studies, coordinator, investigator, make_user,
                                                                     name, method, serializer):
    world = build_world(coordinator)
    user = world.caller(name, coordinator=coordinator, investigator=investigator, make_user=make_user)
    body, paths = overlong(serializer())
    before = history_rows()
    response = getattr(client_for(user), method)(reverse(name, kwargs=world.url_kwargs()[name]), body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert paths <= set(errors), sorted(paths - set(errors))
    assert all("no more than" in errors[path][0] for path in paths), {path: errors[path] for path in paths}
    assert history_rows() == before


@pytest.mark.parametrize("name, model, expected", [
    ("reason", None, 100),  # the audit trail's reason column
    ("reason", AdverseEvent, 100),  # a TextField of the model named reason is still an audit reason
    ("version", Consent, 100),
    ("guardian_name", Consent, 200),
    ("initials", Screening, 10),
    ("description", AdverseEvent, TEXT_MAX_LENGTH),  # a TextField
    ("password", None, TEXT_MAX_LENGTH),
    ("visit", Assessment, TEXT_MAX_LENGTH),  # a foreign key: no length of its own
])
def test_text_max_length_comes_from_the_model_field(db, name, model, expected):
    assert text_max_length(name, model) == expected


def test_text_max_length_follows_a_field_stored_under_another_name(db):
    assert text_max_length("guardian", Consent, {"guardian": "guardian_name"}) == 200
    assert text_max_length("site", Screening, {"site": (Site, "code")}) == 20
    assert text_max_length("visit", Assessment, {"visit": (Visit, "code")}) == 20
    assert audit_reason_max_length() == Study.history.model._meta.get_field("history_change_reason").max_length == 100


def _project_forms():
    found, pending = [], list(forms.Form.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        if form.__module__.split(".")[0] in ("trials", "enrollment", "dosing", "followup"):
            found.append(form)
    return found


def test_every_page_form_of_the_project_is_length_limited():
    project_forms = _project_forms()
    assert len(project_forms) >= 15
    assert [form.__name__ for form in project_forms if not issubclass(form, LimitedForm)] == []
