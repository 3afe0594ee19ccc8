"""A participant's audit trail (`followup.participant_audit`): the history of every record of the
casebook and of its monitoring (data queries and their messages, signatures, verifications, the
casebook's locks), in time order with who, when, what and why, linked to each record's own audit
page; for the roles of the participant's site only, in the page and the API; a fixed number of
statements however many records; a page at a time."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing.tests.support import day0, give
from enrollment.locks import casebook_lock, casebook_unlock
from followup import participant_audit
from followup.data_queries import query_answer, query_close, query_open
from followup.models import AdverseEvent, LabResult
from followup.participant_audit import participant_audit_trail
from followup.record_refs import RecordRef
from followup.signoff import casebook_sign
from followup.tests.factories import AdverseEventFactory
from followup.tests.sdv_support import assessment, verify
from trials.audit import audited_delete, audited_save
from trials.locks import study_lock, study_unlock
from trials.tests.support import SIGNER_PASSWORD, client_for

READERS = ["coordinator", "investigator", "monitor", "data_manager", "admin"]


def monitored(participant, coordinator, investigator, monitor, admin, *, assessments=1):
    """The participant's casebook with infusion 1 given, `assessments` assessments (PLT, HGB, WBC),
    an adverse event, the first assessment's date and platelets verified, a data query on its date
    answered and closed, the investigator's signature, and the casebook locked and unlocked.
    Returns the first assessment and the query."""
    give(client_for(coordinator), participant, 1, 0)
    first = assessment(participant, coordinator, day=1)
    for day in range(2, assessments + 1):
        assessment(participant, coordinator, day=day)
    AdverseEventFactory(participant=participant, by=coordinator, term="Headache", grade=1,
                        onset_date=day0() + timedelta(days=3), relationship="possible")
    verify(first, ["date", "lab:PLT"], monitor)
    query = query_open(RecordRef("assessment", first.pk), "date", "Is the date the day of the sample?", monitor)
    query_answer(query, "Yes, as in the lab report", coordinator)
    query_close(query, monitor, "Confirmed against the lab report")
    casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    casebook_lock(participant=participant, by=admin, reason="Ready for the interim analysis")
    casebook_unlock(participant=participant, by=admin, reason="Late lab result to enter")
    return first, query


@pytest.fixture
def monitor(make_user):
    return make_user("monitor", username="mei")


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="chen")


@pytest.fixture
def trail(participant, coordinator, investigator, monitor, admin):
    first, query = monitored(participant, coordinator, investigator, monitor, admin)
    return participant, first, query


def _page(client, participant, **params):
    return client.get(reverse("participant-audit", args=[participant.pk]), params)


def test_the_trail_shows_every_kind_of_record_of_the_casebook_and_its_monitoring(client, trail, monitor):
    participant, _, _ = trail
    client.force_login(monitor)

    entries = _page(client, participant).context["entries"]

    assert {entry.record_type for entry in entries} == {
        "screening", "screening lab value", "prior therapy", "consent", "participant", "infusion", "visit",
        "assessment", "lab result", "adverse event", "data query", "data query message", "casebook signature",
        "item verification"}


def test_each_monitoring_step_says_who_when_what_and_why(client, trail, monitor, admin, investigator, coordinator):
    participant, first, query = trail
    client.force_login(monitor)

    entries = _page(client, participant).context["entries"]

    steps = [(e.who, e.action, e.record, e.reason) for e in entries
             if e.record_type in ("data query message", "casebook signature", "item verification")
             or e.action in ("locked", "unlocked")]
    on_date, number = f"Assessment of {first.date.isoformat()}", f"Participant {participant.study_number}"
    assert steps == [
        ("mei", "created", f"Verification of {on_date} › date", "Verified against source"),
        ("mei", "created", f"Verification of {on_date} › PLT", "Verified against source"),
        ("mei", "question", f"Data query on {on_date} › date", "Is the date the day of the sample?"),
        (coordinator.username, "answer", f"Data query on {on_date} › date", "Yes, as in the lab report"),
        ("mei", "close", f"Data query on {on_date} › date", "Confirmed against the lab report"),
        (investigator.username, "created", f"Casebook signature of {investigator.username}",
         "Casebook signed by the investigator"),
        ("chen", "locked", number, "Casebook locked: Ready for the interim analysis"),
        ("chen", "unlocked", number, "Casebook unlocked: Late lab result to enter"),
    ]
    locked = next(e for e in entries if e.action == "locked")
    assert {c.field: (c.old, c.new) for c in locked.changes}["reason for the lock"] == (
        "", "Ready for the interim analysis")
    assert {c.field: c.new for c in locked.changes}["locked by"] == "chen"
    assert all(e.when is not None for e in entries)
    query_rows = [(e.who, e.action, e.reason) for e in entries if e.record_type == "data query"]
    assert query_rows == [("mei", "created", "Query opened"), (coordinator.username, "changed", "Query answered"),
                          ("mei", "changed", "Query closed")]


def test_the_studys_data_lock_and_unlock_are_steps_of_every_casebook_of_the_study(client, trail, monitor, admin):
    participant, _, _ = trail
    study = participant.study
    study.title = "Renamed for the test"
    audited_save(study, by=admin, reason="Title corrected")  # a change of the study that is no lock
    study_lock(study=study, by=admin, reason="Interim analysis")
    study_unlock(study=study, by=admin, reason="Query resolution after the interim")
    client.force_login(monitor)

    entries = _page(client, participant).context["entries"]
    body = client_for(monitor).get(reverse("api-participant-audit", args=[participant.pk])).json()

    steps = [(e.who, e.action, e.action_label, e.record, e.reason) for e in entries if e.record_type == "study"]
    assert steps == [
        ("chen", "study_locked", "study data locked", f"Study {study.code}", "Study data locked: Interim analysis"),
        ("chen", "study_unlocked", "study data unlocked", f"Study {study.code}",
         "Study data unlocked: Query resolution after the interim")]
    locked = next(e for e in entries if e.action == "study_locked")
    assert {c.field: (c.old, c.new) for c in locked.changes} == {
        "locked by": ("", "chen"), "reason for the lock": ("", "Interim analysis")}
    assert [e.action for e in entries[-2:]] == ["study_locked", "study_unlocked"]
    assert [r["action"] for r in body["results"][-2:]] == ["study_locked", "study_unlocked"]
    assert body["results"][-1]["audit"] is None
    zh = client.get(reverse("participant-audit", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "研究数据已锁定" in zh.content.decode() and "研究数据已解锁" in zh.content.decode()


def test_the_trail_is_in_time_order(client, trail, monitor):
    participant, _, _ = trail
    client.force_login(monitor)

    entries = _page(client, participant).context["entries"]

    times = [entry.when for entry in entries]
    assert times == sorted(times)
    assert entries[0].record_type == "screening" and entries[0].action == "created"
    assert [e.action for e in entries[-2:]] == ["locked", "unlocked"]


def test_each_record_links_to_its_own_audit_page(client, trail, monitor):
    participant, first, query = trail
    client.force_login(monitor)

    response = _page(client, participant)

    html = response.content.decode()
    signature = participant.casebook_signatures.get()
    verification = participant.item_verifications.first()
    event = AdverseEvent.objects.get(participant=participant)
    lab = LabResult.objects.get(assessment=first, analyte="PLT")
    for kind, pk in (("data-query", query.pk), ("casebook-signature", signature.pk),
                     ("item-verification", verification.pk), ("assessment", first.pk), ("lab-result", lab.pk),
                     ("adverse-event", event.pk), ("participant", participant.pk),
                     ("screening", participant.screening_id)):
        url = reverse("audit-trail", args=[kind, pk])
        assert url in html, kind
        assert client.get(url).status_code == 200, kind
    messages = [e for e in response.context["entries"] if e.record_type == "data query message"]
    assert {(e.audit_kind, e.audit_pk) for e in messages} == {("data-query", query.pk)}


def test_a_deleted_record_stays_in_the_trail_without_a_link(client, trail, monitor, coordinator):
    participant, first, _ = trail
    lab = LabResult.objects.get(assessment=first, analyte="WBC")
    audited_delete(lab, by=coordinator, reason="Entered on the wrong assessment")
    client.force_login(monitor)

    entries = _page(client, participant).context["entries"]

    rows = [e for e in entries if e.record_type == "lab result" and e.record.endswith("› WBC")]
    assert [(e.action, e.audit_kind) for e in rows] == [("created", ""), ("deleted", "")]
    assert rows[-1].reason == "Entered on the wrong assessment" and rows[-1].who == coordinator.username


def test_the_participant_page_links_to_the_trail(client, participant, coordinator):
    client.force_login(coordinator)

    html = client.get(reverse("participant-detail", args=[participant.pk])).content.decode()

    assert reverse("participant-audit", args=[participant.pk]) in html


@pytest.mark.parametrize("role", READERS)
def test_every_role_of_the_site_reads_the_trail(client, participant, make_user, role):
    client.force_login(make_user(role))

    assert _page(client, participant).status_code == 200
    assert client_for(make_user(role)).get(
        reverse("api-participant-audit", args=[participant.pk])).status_code == 200


@pytest.mark.parametrize("role", READERS)
def test_another_sites_user_is_refused(client, participant, other_site_study, make_user, role):
    client.force_login(make_user(role, site="XH"))

    assert _page(client, participant).status_code == 404
    assert client_for(make_user(role, site="XH")).get(
        reverse("api-participant-audit", args=[participant.pk])).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, participant):
    from rest_framework.test import APIClient  # noqa: PLC0415

    response = _page(client, participant)

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert APIClient().get(reverse("api-participant-audit", args=[participant.pk])).status_code in (401, 403)


def test_the_api_gives_the_same_entries_as_the_page(client, trail, monitor):
    participant, _, query = trail
    client.force_login(monitor)
    page = _page(client, participant).context["entries"]

    body = client_for(monitor).get(reverse("api-participant-audit", args=[participant.pk])).json()

    assert (body["count"], body["page"], body["pages"], body["page_size"]) == (len(page), 1, 1, 200)
    assert [(r["by"], r["action"], r["record"], r["reason"]) for r in body["results"]] == [
        (e.who, e.action, e.record, e.reason) for e in page]
    locked = next(r for r in body["results"] if r["action"] == "locked")
    assert locked["audit"] == {"kind": "participant", "id": participant.pk}
    assert {"field": "reason for the lock", "old": "", "new": "Ready for the interim analysis"} in locked["changes"]
    question = next(r for r in body["results"] if r["action"] == "question")
    assert question["audit"] == {"kind": "data-query", "id": query.pk} and question["at"]


def test_the_trail_in_chinese(client, trail, monitor):
    participant, _, _ = trail
    client.force_login(monitor)

    html = client.get(reverse("participant-audit", args=[participant.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    text = html.content.decode()
    assert "病例报告表已锁定" in text and "病例报告表已解锁" in text and "稽查轨迹" in text


def test_pages_split_the_trail_in_order(trail):
    participant, _, _ = trail
    whole = participant_audit_trail(participant, page_size=10_000).entries

    pages, number = [], 1
    while True:
        shown = participant_audit_trail(participant, page=number, page_size=10)
        pages.extend(shown.entries)
        if not shown.page.has_next():
            break
        number += 1

    assert number > 2
    assert [(e.when, e.record, e.action) for e in pages] == [(e.when, e.record, e.action) for e in whole]


# One statement per model history (15), for the query messages and for the study's data locks, one
# for the study's items, one per kind of record the entries link to (8), the participant, the
# session and its user: 30 today.
BUDGET = 30


def _counts(client, api, participant) -> dict[str, int]:
    found = {}
    for name, url, caller in (("page", reverse("participant-audit", args=[participant.pk]), client),
                              ("api", reverse("api-participant-audit", args=[participant.pk]), api)):
        caller.get(url)  # warm the session and the caches
        with CaptureQueriesContext(connection) as queries:
            assert caller.get(url).status_code == 200
        found[name] = len(queries)
    return found


def test_the_trail_costs_the_same_statements_for_one_and_for_fifty_records(
        client, participant, coordinator, investigator, monitor, admin, make_user, monkeypatch,
        django_assert_max_num_queries):
    monkeypatch.setattr(participant_audit, "PAGE_SIZE", 100_000)  # every entry on one page
    monitored(participant, coordinator, investigator, monitor, admin)
    reader = make_user("data_manager")
    client.force_login(reader)
    api = client_for(reader)
    with_one = _counts(client, api, participant)

    for day in range(2, 52):
        first = assessment(participant, coordinator, day=day)
        verify(first, ["date", "lab:PLT", "lab:HGB"], monitor)
        query = query_open(RecordRef("assessment", first.pk), "lab:PLT", "Value as in the source?", monitor)
        query_answer(query, "Yes", coordinator)
    for day in (5, 9, 27):
        AdverseEventFactory(participant=participant, by=coordinator, term="Fatigue", grade=1,
                            onset_date=day0() + timedelta(days=day), relationship="unlikely")
    casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    with_fifty = _counts(client, api, participant)

    assert with_fifty == with_one, (with_one, with_fifty)
    with django_assert_max_num_queries(BUDGET):
        response = _page(client, participant)
    assert len(response.context["entries"]) > 500


def test_a_later_page_keeps_the_budget(client, participant, coordinator, investigator, monitor, admin,
                                       django_assert_max_num_queries):
    monitored(participant, coordinator, investigator, monitor, admin, assessments=60)
    client.force_login(monitor)
    _page(client, participant)

    with django_assert_max_num_queries(BUDGET):
        response = _page(client, participant, page=2)

    assert response.context["page"].number == 2 and len(response.context["entries"]) > 0
    assert "?page=1" in response.content.decode()
