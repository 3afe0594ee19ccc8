"""Bad numbers, impossible dates and wrong JSON types on the main write endpoints are refused (4xx),
never a server error: each field of each endpoint (and of its nested rows) gets each bad value, on
top of an otherwise plausible body; a hypothesis test throws arbitrary JSON at the screening facts."""
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from dosing.tests.support import day0
from enrollment.tests.support import p3_facts, today
from followup.tests.api_endpoints import ENDPOINTS
from followup.tests.world import World, build_world
from trials.definitions import study_definition
from trials.models import Study
from trials.tests.support import client_for

BAD_VALUES = [
    float("nan"), float("inf"), float("-inf"), "NaN", "Infinity", "1e400", 1e308, -1e308, -1, -60.0, 0,
    10 ** 30, "0001-01-01", "9999-12-31", "2026-02-30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
    "2026-13-01T10:00:00Z", "", " ", "x", True, None, [], {}, [1, "a"], {"a": {"b": []}}, "\x00",
]
RAW_BODIES = ['{"weight_kg": 1e400}', '{"weight_kg": NaN}', '{"weight_kg": -Infinity}', "[1, 2]", '"text"', "null",
              "{", '{"labs": {"analyte": "PLT"}}']


def base_bodies(world: World) -> dict[str, dict]:
    """A plausible body per endpoint, so that a bad value reaches the service's checks too."""
    now = timezone.localtime()
    return {
        "api-study-screenings": dict(p3_facts()),
        "api-me": {"language": "zh-hans"},
        "api-study-list": {"reason": "Copied", "definition": {
            **study_definition(Study.objects.get(code="MSC-ITP-5")), "code": "FUZZ-COPY"}},
        "api-study-activate": {"reason": "Approved by the ethics committee"},
        "api-participant-signature": {"password": "wrong password"},
        "api-participant-lock": {"reason": "Casebook signed and cleaned"},
        "api-participant-unlock": {"reason": "Query reopened"},
        "api-study-lock": {"reason": "Database lock for the final analysis"},
        "api-study-unlock": {"reason": "Late query"},
        "api-study-amendments": {"version": "2", "effective_date": today().isoformat(), "reason": "Amendment 2"},
        "api-screening-detail": {"reason": "Corrected", "weight_kg": 61,
                                 "labs": [{"analyte": "PLT", "value": 20, "unit": "10^9/L",
                                           "date": today().isoformat()}],
                                 "prior_therapies": [{"therapy": "rituximab", "start": "2024-01-01",
                                                      "outcome": "none"}]},
        "api-screening-consent": {"version": "ICF 1.0", "signed_at": now.isoformat(), "obtained_by": "Dr Han"},
        "api-screening-enrol": {"enrolled_on": today().isoformat()},
        "api-screening-eligibility-confirmation": {"password": "wrong"},
        "api-screening-reevaluation": {"reason": "Criteria amended"},
        "api-participant-withdraw": {"withdrawn_on": today().isoformat(), "reason": "adverse_event"},
        "api-participant-infusions": {
            "number": 2, "started_at": (now - timedelta(hours=2)).isoformat(), "ended_at": (now - timedelta(hours=1))
            .isoformat(), "weight_kg": 60, "cells_infused": 6e9, "deviation_reason": "Late", "dose_confirmation": "",
            "product": {"kind": "msc", "lot": "L2", "viability_pct": 94, "passage": 4},
            "vitals": {"before": {"temperature_c": 36.6}}, "reactions": []},
        "api-study-escalation-decisions": {"action": "wait", "level": "A", "rationale": "", "password": "wrong"},
        "api-participant-adverse-events": {
            "term": "Fatigue", "category": "non_haematological", "onset_date": (day0() + timedelta(days=2)).isoformat(),
            "grade": 1, "serious": False, "relationship": "unlikely", "seriousness": []},
        "api-adverse-event": {"reason": "Corrected", "grade": 3},
        "api-assessment": {"reason": "Corrected", "bleeding_grade": 1, "query": world.query.pk},
        "api-participant-queries": {"record": f"assessment/{world.assessment.pk}", "item": "lab:PLT",
                                    "question": "42 or 24?"},
        "api-query-answer": {"answer": "It is 42."},
        "api-study-sdv-plan": {"scope": "all", "reason": "Every item verified for this study"},
        "api-participant-verification": {"kind": "assessment", "record": world.assessment.pk, "items": ["date"],
                                         "version": 1},
        "api-query-close": {"note": "Checked."},
        "api-query-reopen": {"reason": "Second page."},
        "api-adverse-event-confirm": {"grade": 1, "serious": False, "relationship": "unlikely"},
        "api-adverse-event-dismiss": {"reason": "Not an event"},
        "api-adverse-event-sae-report": {"reported_at": now.isoformat()},
        "api-participant-visit-record": {"done_at": now.isoformat()},
        "api-participant-assessments": {
            "date": (today() - timedelta(days=1)).isoformat(), "bleeding_grade": 0, "steroid_mg_per_day": 5,
            "labs": [{"analyte": "PLT", "value": 40, "unit": "10^9/L", "lln": 100, "uln": 300}],
            "transfusions": [{"kind": "platelet", "date": today().isoformat()}],
            "rescue_therapies": [{"therapy": "ivig", "start": today().isoformat()}],
            "concomitant_medications": [{"name": "Prednisone", "dose": "5 mg", "start": today().isoformat()}],
            "virology": {"hbv": "negative"}, "immune_panel": {"treg": 5.0}},
    }


def paths_of(serializer, body: dict) -> list[tuple[str, ...]]:
    """Each field's path, and each field of a nested row (the first row of the base body)."""
    paths = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        paths.append((name,))
        if isinstance(field, serializers.ListSerializer):
            paths += [(name, 0, inner) for inner in field.child.fields]
        elif isinstance(body.get(name), dict):
            paths += [(name, key) for key in body[name]]
    return paths


def with_value(body: dict, path: tuple, value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        if isinstance(step, int):
            if not target:
                target.append({})
        elif step not in target or not isinstance(target[step], dict | list):
            target[step] = [] if isinstance(path[path.index(step) + 1], int) else {}
        target = target[step]
    target[path[-1]] = value
    return body


def send(client, method: str, url: str, raw: str) -> int:
    """The status of one request; whatever it wrote is rolled back, so each starts from the same world."""
    with transaction.atomic():
        response = getattr(client, method)(url, raw, content_type="application/json")
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.parametrize("name, method, serializer", ENDPOINTS, ids=[f"{n}-{m}" for n, m, _s in ENDPOINTS])
def test_bad_numbers_dates_and_types_are_never_a_server_error(studies, coordinator, investigator, make_user,
                                                               name, method, serializer):
    world = build_world(coordinator)
    user = World.caller(name, coordinator=coordinator, investigator=investigator, make_user=make_user)
    client, url = client_for(user), reverse(name, kwargs=world.url_kwargs()[name])
    client.raise_request_exception = False  # a server error is counted, not raised: every one is listed
    base = base_bodies(world)[name]
    server_errors = []
    for path in paths_of(serializer(), base):
        for value in BAD_VALUES:
            raw = json.dumps(with_value(base, path, value))  # NaN and Infinity as JavaScript writes them
            status = send(client, method, url, raw)
            if status >= 500:
                server_errors.append((path, value, status))
    for raw in RAW_BODIES:
        if send(client, method, url, raw) >= 500:
            server_errors.append(("body", raw))
    assert server_errors == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)
FACT_KEYS = ["screening_date", "birth_date", "weight_kg", "height_cm", "disease", "diagnosis_date", "ecog", "sex",
             "labs", "prior_therapies", "conditions", "thrombocytopenia_months", "pregnancy_test", "initials"]


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=st.dictionaries(st.sampled_from(FACT_KEYS), JSON, max_size=5))
def test_arbitrary_json_as_screening_facts_is_never_a_server_error(studies, coordinator, facts):
    status = send(client_for(coordinator), "post", reverse("api-study-screenings", args=["MSC-ITP-5"]),
                  json.dumps(facts))
    assert status in (201, 400), facts
