"""The worklist read a page at a time in the database (`followup/worklist_reads.py`): the pages of
every kind together are the whole worklist in its order, the counts are of every item on each page,
and the statements do not grow with the rows."""
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dosing.tests.factories import InfusionFactory
from enrollment.tests.support import today
from followup import worklist, worklist_reads
from followup.models import AdverseEvent
from followup.tests.support import enrol, event, overdue_visit
from followup.tests.test_worklist_signatures import coordinator_draft, eligible
from trials.models import Study
from trials.tests.support import client_for, forget_site_roles, setup_update

TZ = timezone.get_current_timezone()
URL = "/api/v1/worklist/"


def infused(coordinator):
    """A participant whose first infusion was given three days ago: a casebook to sign."""
    day0 = today() - timedelta(days=3)
    participant = enrol(coordinator, day0=day0, enrolled_on=day0 - timedelta(days=2))
    InfusionFactory(participant=participant, number=1, started_at=datetime.combine(day0, time(9), tzinfo=TZ),
                    by=coordinator)
    return participant


@pytest.fixture
def every_kind(studies, coordinator):
    """Items of each kind an investigator sees, due and overdue, interleaved in time: a serious
    draft (its report and its draft), an overdue report, overdue visits, a casebook, a screening."""
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    first, second, third = enrol(coordinator), enrol(coordinator), infused(coordinator)
    overdue_visit(first, days_ago=5)
    overdue_visit(second, days_ago=1)
    event(first, coordinator, aware=timezone.now() - timedelta(hours=30))  # overdue report
    event(second, coordinator, aware=timezone.now() - timedelta(hours=2))  # due report
    serious_draft = event(second, coordinator, draft=True, term="Anemia")
    setup_update(AdverseEvent.objects.filter(pk=serious_draft.pk), serious=True)
    coordinator_draft(first, coordinator)
    eligible(coordinator)
    return first, second, third


def api_pages(client, size, monkeypatch, query=None):
    monkeypatch.setattr(worklist, "PAGE_SIZE", size)
    first = client.get(URL, query or {}).json()
    bodies = [first] + [client.get(URL, {**(query or {}), "page": n}).json() for n in range(2, first["pages"] + 1)]
    return bodies


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_the_pages_are_the_whole_worklist_in_order_with_the_counts_of_every_item(every_kind, investigator, size,
                                                                                monkeypatch):
    everything = worklist_reads.work_items(site_ids=None, now=timezone.now())
    expected = [item.as_api() for item in worklist.sort_items(everything)]
    assert {item["kind"] for item in expected} == set(worklist.KINDS) - {worklist.INFUSION}
    assert [item.as_api() for item in everything] == expected

    bodies = api_pages(client_for(investigator), size, monkeypatch)

    assert [item for body in bodies for item in body["items"]] == expected
    overdue = sum(item["status"] == "overdue" for item in expected)
    for body in bodies:
        assert body["counts"] == {"overdue": overdue, "due": len(expected) - overdue}
        assert (body["count"], body["pages"]) == (len(expected), -(-len(expected) // size))


def test_an_events_report_and_draft_take_their_own_places(every_kind, investigator):
    first, second, third = (participant.pk for participant in every_kind)
    listed = [(i["kind"], i["status"], i["participant"]["id"] if i["participant"] else None)
              for i in client_for(investigator).get(URL).json()["items"]]
    # The serious draft was opened now: its report is due in 24 hours, after the draft and after
    # the other report of the participant (due in 22 hours).
    assert listed == [
        ("visit", "overdue", first), ("visit", "overdue", second), ("visit", "overdue", third),
        ("sae_report", "overdue", first), ("casebook_signature", "due", third),
        ("adverse_event_draft", "due", second), ("adverse_event_draft", "due", first),
        ("eligibility_confirmation", "due", None), ("sae_report", "due", second), ("sae_report", "due", second)]
    serious_draft = AdverseEvent.objects.get(participant_id=second, status="draft")
    setup_update(AdverseEvent.objects.filter(pk=serious_draft.pk), site_aware_at=timezone.now() - timedelta(days=2))
    listed = [(i["kind"], i["status"], i["id"]) for i in client_for(investigator).get(URL).json()["items"]]
    # Its report overdue since yesterday: among the overdue, before the report overdue since 6 hours;
    # its draft keeps its place among the due items.
    report = listed.index(("sae_report", "overdue", serious_draft.pk))
    other = next(index for index, (kind, status, pk) in enumerate(listed)
                 if kind == "sae_report" and status == "overdue" and pk != serious_draft.pk)
    assert report < other < listed.index(("adverse_event_draft", "due", serious_draft.pk))
    assert [status for _kind, status, _pk in listed] == ["overdue"] * 5 + ["due"] * 5


def test_a_kind_filter_pages_and_counts_that_kind_only(every_kind, investigator, monkeypatch):
    bodies = api_pages(client_for(investigator), 1, monkeypatch, {"kind": "visit,casebook_signature"})
    listed = [(item["kind"], item["status"]) for body in bodies for item in body["items"]]
    assert listed == [("visit", "overdue")] * 3 + [("casebook_signature", "due")]
    assert bodies[-1]["counts"] == {"overdue": 3, "due": 1}


def test_beyond_the_last_page_and_below_the_first_the_last(every_kind, investigator, monkeypatch):
    monkeypatch.setattr(worklist, "PAGE_SIZE", 3)
    client = client_for(investigator)
    whole = client.get(URL, {"page": 1}).json()
    last = [client.get(URL, {"page": page}).json() for page in (whole["pages"], 99, 0, -3, 10**20)]
    assert len({str(body["items"]) for body in last}) == 1 and last[0]["page"] == whole["pages"]
    assert last[0]["items"] and len(last[0]["items"]) <= 3


def test_a_coordinator_sees_no_signing_kinds_and_counts_none(every_kind, coordinator):
    body = client_for(coordinator).get(URL).json()
    assert {item["kind"] for item in body["items"]} == {"visit", "sae_report"}
    assert body["counts"] == {"overdue": 4, "due": 2} and body["count"] == 6


def rows_of_every_kind(by, count):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=200)
    for _ in range(count):
        participant = infused(by)
        overdue_visit(participant, "BL")
        event(participant, by, aware=timezone.now() - timedelta(hours=30))
        coordinator_draft(participant, by)
        eligible(by)


@pytest.mark.parametrize("count", [1, 50])
def test_the_statements_do_not_grow_with_the_rows(studies, coordinator, investigator, client, count):
    rows_of_every_kind(coordinator, count)
    api = client_for(investigator)
    forget_site_roles(investigator)
    with CaptureQueriesContext(connection) as queries:
        body = api.get(URL).json()
    assert len(queries) == 6  # memberships, visits, infusions, adverse events, screenings, casebooks
    assert body["count"] == 5 * count and len(body["items"]) == min(5 * count, 100)
    client.force_login(investigator)
    forget_site_roles(investigator)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/worklist/")
    assert page.context["counts"]["overdue"] == 2 * count
    assert len(queries) == 13  # session, user, memberships, 5 item reads, filter choices, data queries
