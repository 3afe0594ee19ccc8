"""SDV progress per participant and per site (hand-computed), the study page's SDV table and the
monitor's worklist of records awaiting verification, at a constant number of queries."""
from dataclasses import fields

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from followup import services
from followup.sdv import sdv_worklist, study_sdv
from followup.services import AssessmentInput

from .sdv_support import assessment, verify
from .support import enrol

# The P3 participant's screening holds 10 key items (birth date, sex, weight, disease, prior
# therapies and the labs ALT, AST, CREAT, PLT, TBIL), the consent 2 (version, signed at), the
# assessment 3 (date, PLT, HGB); planned infusions and upcoming visits are in progress: not counted.
KEY_ITEMS_OF_PARTICIPANT = 10 + 2 + 3


@pytest.fixture
def monitor(make_user):
    return make_user("monitor")


def test_progress_per_participant_and_site_is_plan_items_verified_over_plan_items(
        studies, participant, coordinator, monitor):
    recorded = assessment(participant, coordinator)
    second = enrol(coordinator)
    verify(recorded, ["date", "lab:PLT", "lab:HGB"], monitor)
    verify(participant.screening.consents.get(), ["version", "signed_at"], monitor, kind="consent", version=1)

    by_participant, sites, _records = study_sdv(studies["MSC-ITP-5"], monitor)

    mine = by_participant[participant.pk]
    assert (mine.verified, mine.required, mine.percent) == (5, KEY_ITEMS_OF_PARTICIPANT, 33.3)  # 5 / 15
    other = by_participant[second.pk]
    assert (other.verified, other.required) == (0, 12)  # screening 10 + consent 2, no assessment yet
    [site] = sites
    assert (site.site.code, site.participants, site.progress.verified, site.progress.required) == ("PUMCH", 2, 5, 27)
    assert site.progress.percent == 18.5  # 5 / 27


def test_worklist_lists_complete_records_awaiting_verification_withdrawn_first(
        studies, participant, coordinator, monitor):
    first = assessment(participant, coordinator, day=0)
    second = assessment(participant, coordinator, day=7)
    verify(first, ["date", "lab:PLT", "lab:HGB"], monitor)
    verify(second, ["date", "lab:PLT", "lab:HGB"], monitor)
    keep = {f.name: services.KEEP for f in fields(AssessmentInput)}
    second.refresh_from_db()
    services.assessment_update(assessment=second, version=second.row_version, reason="Wrong count", by=coordinator,
                               data=AssessmentInput(**{**keep, "bleeding_grade": 0}))

    awaiting = sdv_worklist(studies["MSC-ITP-5"], monitor)

    assert [(r.kind, r.pk, r.withdrawn) for r in awaiting] == [
        ("assessment", second.pk, True), ("screening", participant.screening.pk, False),
        ("consent", participant.screening.consents.get().pk, False)]


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_study_page_and_sdv_worklist_cost_the_same_for_1_and_50_participants(
        p3, participant, coordinator, monitor, client):
    assessment(participant, coordinator)
    client.force_login(monitor)
    urls = [reverse("study-detail", args=["MSC-ITP-5"]), reverse("study-sdv", args=["MSC-ITP-5"])]
    with_one = [_queries(client, url) for url in urls]

    for day in range(49):
        other = enrol(coordinator)
        if day % 10 == 0:
            assessment(other, coordinator, on=other.enrolled_on)
    with_fifty = [_queries(client, url) for url in urls]

    assert with_fifty == with_one
    page = client.get(urls[0])
    assert page.content.decode().count('data-testid="sdv-percent"') == 1  # one row: PUMCH
