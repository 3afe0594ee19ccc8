"""Duration of response in the study outcomes (CLINICAL_RULES.md sections 1 and 6), end to end:
participants recorded through the services, the snapshot computed by the task on commit, served
by `GET /api/v1/studies/{code}/outcomes/` and shown on the study page."""
import re
from datetime import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followup import services
from followup.models import OutcomeSnapshot
from followup.tests.support import (
    CHECK_VECTOR,
    NON_RESPONDER,
    RESPONSE_DAY,
    platelets,
    responder_counts,
    treated_participant,
)


@pytest.fixture
def check_vector_study(p3, coordinator):
    """Seven responders whose durations are the section 6 check vector, one non-responder and one
    participant treated without any count afterwards (not evaluable)."""
    for months, lost in CHECK_VECTOR:
        treated_participant(coordinator, responder_counts(months, lost=lost))
    treated_participant(coordinator, NON_RESPONDER)
    treated_participant(coordinator)
    return p3


def groups_of(body):
    return {group["group"]: group for group in body["groups"]}


def test_duration_of_response_reproduces_the_section6_check_vector(api, check_vector_study):
    services.outcomes_compute(study=check_vector_study)

    everyone = groups_of(api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json())["all"]

    assert (everyone["treated"], everyone["evaluable"], everyone["responders"], everyone["complete_responders"]) == (
        9, 8, 7, 7)
    block = everyone["duration_of_response"]
    assert (block["unit"], block["days_per_unit"], block["responders"], block["events"], block["censored"]) == (
        "months", 30, 7, 4, 3)
    assert [(p["time"], round(p["survival"], 4)) for p in block["at"]] == [(3.0, 0.8571), (6.0, 0.5143),
                                                                          (12.0, 0.2571)]
    six = next(p for p in block["at"] if p["time"] == 6.0)
    assert [round(limit, 3) for limit in six["ci"]] == [0.118, 0.813]
    assert (block["median"], block["median_ci"]) == (10.0, [3.0, None])
    assert [(s["time"], round(s["survival"], 4)) for s in block["steps"]] == [(3.0, 0.8571), (6.0, 0.5143),
                                                                            (10.0, 0.2571)]
    assert (block["censored_times"], block["max_time"]) == ([5.0, 8.0, 12.0], 12.0)


def test_rate_is_also_given_over_the_evaluable_set(api, check_vector_study):
    services.outcomes_compute(study=check_vector_study)

    everyone = groups_of(api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json())["all"]

    assert everyone["rate"] == pytest.approx(7 / 9)
    assert everyone["rate_evaluable"] == pytest.approx(7 / 8)
    assert [round(v, 4) for v in everyone["ci_exact_evaluable"]] == [0.4735, 0.9968]
    assert [round(v, 4) for v in everyone["ci_wilson_evaluable"]] == [0.5291, 0.9776]


def test_group_without_a_responder_has_no_duration_block(api, p3, coordinator):
    treated_participant(coordinator, NON_RESPONDER)
    services.outcomes_compute(study=p3)

    groups = groups_of(api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json())

    assert {key: g["duration_of_response"] for key, g in groups.items()} == {"MSC": None, "all": None}
    assert (groups["all"]["responders"], groups["all"]["rate_evaluable"]) == (0, 0.0)


def test_outcomes_api_keeps_the_contract_fields_and_adds_the_new_ones(api, check_vector_study):
    body = api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()

    assert set(body) == {"computed_at", "up_to_date", "groups"}
    assert set(body["groups"][0]) == {
        "group", "treated", "evaluable", "responders", "complete_responders", "rate", "ci_exact", "ci_wilson",
        "rate_evaluable", "ci_exact_evaluable", "ci_wilson_evaluable", "duration_of_response"}


def test_outcomes_schema_describes_the_duration_block(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/studies/{code}/outcomes/"]["get"]
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = schema["components"]["schemas"]
    outcomes = components[reference.rsplit("/", 1)[-1]]
    group = components[outcomes["properties"]["groups"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert {"rate_evaluable", "ci_exact_evaluable", "duration_of_response"} <= set(group["properties"])
    block = components["DurationOfResponse"]
    assert {"unit", "responders", "events", "censored", "median", "median_ci", "at", "steps"} <= set(
        block["properties"])
    assert components["DurationUnitEnum"]["enum"] == ["months"]


def test_snapshot_is_recomputed_by_the_task_when_an_assessment_is_committed(
        api, p3, coordinator, django_capture_on_commit_callbacks):
    participant = treated_participant(coordinator, responder_counts(3, lost=False)[:-1])
    stale = datetime(2025, 1, 1, tzinfo=timezone.get_current_timezone())
    OutcomeSnapshot.objects.update_or_create(study=p3, defaults={"computed_at": stale, "groups": []})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        platelets(participant, coordinator, RESPONSE_DAY + 90, 121)

    assert len(callbacks) == 1  # followup.compute_outcomes, queued on commit
    snapshot = OutcomeSnapshot.objects.get(study=p3)
    assert snapshot.computed_at > stale
    block = groups_of({"groups": snapshot.groups})["all"]["duration_of_response"]
    assert (block["responders"], block["events"], block["censored"], block["max_time"]) == (1, 0, 1, 3.0)


def test_snapshot_stored_without_the_duration_block_is_recomputed_when_read(api, check_vector_study):
    stale = datetime(2025, 1, 1, tzinfo=timezone.get_current_timezone())
    OutcomeSnapshot.objects.update_or_create(study=check_vector_study, defaults={"computed_at": stale, "groups": [
        {"group": "all", "treated": 9, "evaluable": 8, "responders": 7, "complete_responders": 7, "rate": 7 / 9,
         "ci_exact": [0.3999, 0.9719], "ci_wilson": [0.4526, 0.9368]}]})

    body = api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()

    assert groups_of(body)["all"]["duration_of_response"]["median"] == 10.0
    assert OutcomeSnapshot.objects.get(study=check_vector_study).computed_at > stale


def test_study_page_shows_the_duration_of_response(client, coordinator, check_vector_study):
    snapshot = services.outcomes_compute(study=check_vector_study)
    client.force_login(coordinator)

    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    when = timezone.localtime(snapshot.computed_at).strftime("%Y-%m-%d %H:%M")
    assert f"Computed {when}." in html
    table = html.split('data-testid="duration-of-response"', 1)[1].split("</table>", 1)[0]
    rows = [[" ".join(cell.split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in table.split("<tr>")[2:]]
    assert rows == [["MSC", "7", "4", "3", "10.0 (3.0 – NR)", "51.4 % (11.8-81.3 %)"],
                    ["all", "7", "4", "3", "10.0 (3.0 – NR)", "51.4 % (11.8-81.3 %)"]]
    assert 'data-testid="duration-curve-all"' in html and '<path class="curve" d="M' in html


def test_study_page_duration_section_has_no_inline_script_or_style(client, coordinator, check_vector_study):
    services.outcomes_compute(study=check_vector_study)
    client.force_login(coordinator)

    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    section = html.split("Duration of response", 1)[1].split("</section>", 1)[0]
    assert "<svg" in section
    assert "style=" not in section and "<script" not in section and "<style" not in section


def test_study_page_before_any_responder_says_so(client, coordinator, p3):
    treated_participant(coordinator, NON_RESPONDER)
    services.outcomes_compute(study=p3)
    client.force_login(coordinator)

    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    assert "No confirmed responder yet." in html and 'data-testid="duration-of-response"' not in html


def test_duration_of_another_sites_study_is_not_shown(check_vector_study, make_user, other_site_study, client):
    services.outcomes_compute(study=check_vector_study)
    outsider = make_user("investigator", site="XH")
    other = APIClient()
    other.force_authenticate(outsider)
    client.force_login(outsider)

    assert other.get("/api/v1/studies/MSC-ITP-5/outcomes/").status_code == 404
    assert client.get(reverse("study-detail", args=["MSC-ITP-5"])).status_code == 404


def test_study_page_shows_an_older_snapshot_recomputed_with_the_duration(client, coordinator, check_vector_study):
    stale = datetime(2025, 1, 1, tzinfo=timezone.get_current_timezone())
    OutcomeSnapshot.objects.update_or_create(study=check_vector_study, defaults={"computed_at": stale, "groups": [
        {"group": "all", "treated": 9, "evaluable": 8, "responders": 7, "complete_responders": 7, "rate": 7 / 9,
         "ci_exact": [0.3999, 0.9719], "ci_wilson": [0.4526, 0.9368]}]})
    client.force_login(coordinator)

    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    assert 'data-testid="duration-curve-all"' in html and "Computed 2025-01-01" not in html


def test_study_page_without_a_snapshot_computes_nothing(client, coordinator, p3):
    client.force_login(coordinator)

    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()

    assert "No participant treated yet." in html
    assert not OutcomeSnapshot.objects.filter(study=p3).exists()
