"""Study outcomes: remission rates with exact and Wilson CIs, computed by a task on commit (section 6)."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dosing.tests.support import give
from followup.models import OutcomeSnapshot
from followup.tasks import compute_outcomes
from followup.tests.support import assess_platelets


def test_outcomes_of_one_treated_responder(api, participant, django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        give(api, participant, 1, 0)
    assert len(callbacks) == 1  # the outcomes task is queued once the infusion is committed
    for day, count in ((30, 110), (37, 120)):
        with django_capture_on_commit_callbacks(execute=True):
            assess_platelets(api, participant, day, count)
    snapshot = OutcomeSnapshot.objects.get(study=participant.study)
    body = api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()
    assert body["computed_at"] is not None
    groups = {g["group"]: g for g in body["groups"]}
    assert set(groups) == {"MSC", "all"}  # per arm: the arm has one dose level
    everyone = groups["all"]
    assert (everyone["treated"], everyone["evaluable"], everyone["responders"],
            everyone["complete_responders"]) == (1, 1, 1, 1)
    assert everyone["rate"] == 1.0
    assert everyone["ci_exact"] == pytest.approx([0.025, 1.0], abs=1e-3)
    assert everyone["ci_wilson"] == pytest.approx([0.2065, 1.0], abs=1e-3)
    assert snapshot.groups == body["groups"]


def test_outcomes_without_treated_participants_have_no_rate(api, participant):
    body = api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()
    assert body["groups"] == []


def test_outcomes_of_another_sites_study_are_not_found(participant, make_user, other_site_study):
    other = APIClient()
    other.force_authenticate(make_user("investigator", site="XH"))
    assert other.get("/api/v1/studies/MSC-ITP-5/outcomes/").status_code == 404


def test_compute_outcomes_task_tolerates_a_deleted_study(db):
    compute_outcomes(999999)
    assert OutcomeSnapshot.objects.count() == 0


def test_study_page_shows_the_outcome_snapshot(client, api, participant, coordinator,
                                               django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    with django_capture_on_commit_callbacks(execute=True):
        give(api, participant, 1, 0)
    client.force_login(coordinator)
    html = client.get(reverse("study-detail", args=["MSC-ITP-5"])).content.decode()
    assert 'data-testid="outcomes"' in html and "0.0 % (0.0-97.5 %)" in html  # 0 of 1 responders yet


@pytest.mark.parametrize("counts, evaluable, rate_evaluable", [
    # CLINICAL_RULES.md section 1: a single NR count is "NR not confirmed" (best NE): treated, not
    # evaluable; two NR counts a day apart are a confirmed NR: evaluable, 0 of 1.
    (((30, 20),), 0, None),
    (((30, 20), (31, 18)), 1, 0.0),
])
def test_outcomes_count_an_unconfirmed_nr_as_treated_not_evaluable(api, participant, counts, evaluable,
                                                                   rate_evaluable, django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    give(api, participant, 1, 0)
    with django_capture_on_commit_callbacks(execute=True):
        for day, count in counts:
            assess_platelets(api, participant, day, count)

    everyone = {g["group"]: g for g in api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()["groups"]}["all"]

    assert (everyone["treated"], everyone["evaluable"], everyone["responders"]) == (1, evaluable, 0)
    assert (everyone["rate"], everyone["rate_evaluable"]) == (0.0, rate_evaluable)
