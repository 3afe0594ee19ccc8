"""The data query pages: opening a query on a record's item, the query page's forms by role, a
correction from the assessment edit page answering its query, the participant page's open
queries, the worklist's queries to answer and to close and the study page's counts per site, the
lists each with the same number of statements for 1 and for 50 queries."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from enrollment.locks import casebook_lock
from followup import signoff
from followup.data_queries import query_answer, query_open
from followup.models import Assessment, DataQuery
from followup.record_refs import RecordRef
from followup.tests.support import assessment_form_as_posted
from trials.tests.support import SIGNER_PASSWORD, setup_update


def new_url(assessment, item="lab:PLT"):
    return (reverse("query-new", args=[assessment.participant_id])
            + f"?kind=assessment&record={assessment.pk}&item={item}")


def opened(assessment, by, n=1, item="lab:PLT"):
    return [query_open(RecordRef("assessment", assessment.pk), item, f"Question {i}?", by) for i in range(n)]


def test_a_monitor_opens_a_query_from_the_form(client, monitor, assessment):
    client.force_login(monitor)
    page = client.get(new_url(assessment))
    assert page.status_code == 200
    assert page.context["form"].initial["item"] == "lab:PLT"

    response = client.post(new_url(assessment), {"kind": "assessment", "record": assessment.pk, "item": "lab:PLT",
                                                 "question": "42 or 24?"})

    query = DataQuery.objects.get()
    assert response.status_code == 302 and response.url == reverse("query-detail", args=[query.pk])
    assert (query.item, query.question, query.opened_by) == ("lab:PLT", "42 or 24?", monitor)


def test_the_open_form_refuses_a_coordinator_and_another_site(client, coordinator, make_user, other_site_study,
                                                             assessment):
    client.force_login(coordinator)
    assert client.get(new_url(assessment)).status_code == 403
    client.force_login(make_user("monitor", site="XH"))
    assert client.get(new_url(assessment)).status_code == 404


def test_the_open_form_needs_a_question(client, monitor, assessment):
    client.force_login(monitor)
    response = client.post(new_url(assessment), {"kind": "assessment", "record": assessment.pk, "item": "lab:PLT",
                                                 "question": ""})
    assert response.status_code == 200 and "question" in response.context["form"].errors
    assert not DataQuery.objects.exists()


def test_the_query_page_offers_each_role_its_form(client, monitor, coordinator, data_manager, assessment):
    query = opened(assessment, monitor)[0]
    url = reverse("query-detail", args=[query.pk])
    client.force_login(coordinator)
    page = client.get(url)
    assert page.context["forms"]["answer"] is not None and page.context["forms"]["close"] is None
    assert page.context["correct_url"] == reverse("assessment-edit", args=[assessment.pk]) + f"?query={query.pk}"

    assert client.post(url, {"action": "answer", "answer": "It is 42."}).status_code == 302
    client.force_login(monitor)
    page = client.get(url)
    assert page.context["forms"]["answer"] is None and page.context["forms"]["close"] is not None
    client.post(url, {"action": "close", "note": "Fine."})
    assert DataQuery.objects.get().state == "closed"
    client.force_login(data_manager)
    assert client.get(url).context["forms"]["reopen"] is not None
    client.post(url, {"action": "reopen", "reason": "Second page of the report."})
    assert DataQuery.objects.get().state == "open"


def test_the_query_page_of_a_locked_casebook_offers_no_correction_and_no_answer(client, monitor, coordinator,
                                                                                  investigator, data_manager,
                                                                                  assessment):
    participant = assessment.participant
    query = opened(assessment, monitor)[0]  # raised before the lock
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    casebook_lock(participant=participant, by=data_manager, reason="Casebook clean")
    client.force_login(coordinator)

    page = client.get(reverse("query-detail", args=[query.pk]))

    assert page.context["correct_url"] is None  # the edit page would refuse it (403 naming the lock)
    assert b'data-testid="query-correct"' not in page.content
    assert page.context["forms"]["answer"] is None  # the answer would be refused too
    assert b'data-testid="casebook-lock"' in page.content and b"Casebook clean" in page.content


def test_the_query_page_refuses_a_wrong_role_and_shows_a_conflict(client, monitor, make_user, assessment):
    query = opened(assessment, monitor)[0]
    url = reverse("query-detail", args=[query.pk])
    client.force_login(monitor)
    assert client.post(url, {"action": "answer", "answer": "x"}).status_code == 403
    client.post(url, {"action": "close", "note": ""})
    response = client.post(url, {"action": "close", "note": ""}, follow=True)
    assert "This query is closed." in [str(m) for m in response.context["messages"]]


def test_a_correction_from_the_edit_page_answers_the_query(client, monitor, coordinator, assessment):
    query = opened(assessment, monitor, item="bleeding_grade")[0]
    client.force_login(coordinator)
    edit = reverse("assessment-edit", args=[assessment.pk])
    page = client.get(f"{edit}?query={query.pk}")
    assert page.context["answering"] == query
    data = assessment_form_as_posted(page)
    data.update({"bleeding_grade": "2", "reason": "Copied from the wrong report", "query": str(query.pk)})

    response = client.post(edit, data)

    assert response.status_code == 302 and response.url == reverse("query-detail", args=[query.pk])
    query.refresh_from_db()
    change = Assessment.history.filter(id=assessment.pk).latest("history_id")
    assert (query.state, query.answer, query.correction_kind, query.correction_history_id) == (
        "answered", "Copied from the wrong report", "assessment", change.history_id)
    assert Assessment.objects.get(pk=assessment.pk).bleeding_grade == 2


def test_the_participant_page_lists_open_queries_beside_the_record(client, monitor, assessment):
    opened(assessment, monitor)
    client.force_login(monitor)
    page = client.get(reverse("participant-detail", args=[assessment.participant_id]))
    assert [q.record_name for q in page.context["data_queries"]] == [
        f"Assessment of {assessment.date.isoformat()} (W1)"]
    assert page.context["queried_assessments"] == {assessment.pk}
    assert b'data-testid="assessment-queried"' in page.content


def _count(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["worklist", "study"])
def test_lists_cost_the_same_for_1_and_50_queries(client, monitor, coordinator, assessment, page):
    url = reverse("worklist") if page == "worklist" else reverse("study-detail", args=["HUCMSC-ITP-ESC"])
    first = opened(assessment, monitor)
    query_answer(first[0], "Checked.", coordinator)
    client.force_login(coordinator if page == "worklist" else monitor)
    with_one = _count(client, url)

    more = opened(assessment, monitor, 49, item="bleeding_grade")
    for query in more[:10]:
        query_answer(query, "Checked.", coordinator)
    with_fifty = _count(client, url)

    assert with_fifty == with_one
    if page == "study":
        response = client.get(url)
        assert response.context["query_counts"] == [{"site": "PUMCH", "open": 39, "answered": 11}]


def test_the_worklist_lists_queries_to_answer_and_to_close(client, monitor, coordinator, make_user, assessment):
    first, second = opened(assessment, monitor, 2)
    setup_update(DataQuery.objects.filter(pk=first.pk), opened_at=timezone.now() - timedelta(days=5))
    query_answer(second, "Checked.", coordinator)

    client.force_login(coordinator)
    page = client.get(reverse("worklist"))
    assert ([q.pk for q in page.context["queries_to_answer"]], page.context["queries_to_close"]) == ([first.pk], [])
    assert page.context["queries_to_answer"][0].age_days == 5

    client.force_login(monitor)
    page = client.get(reverse("worklist"))
    assert (page.context["queries_to_answer"], [q.pk for q in page.context["queries_to_close"]]) == ([], [second.pk])

    client.force_login(make_user("monitor"))  # not the asker, not a data manager: nothing to close
    assert client.get(reverse("worklist")).context["queries_to_close"] == []


def test_the_participant_page_still_fits_its_budget_with_queries(client, monitor, assessment,
                                                                 django_assert_max_num_queries):
    opened(assessment, monitor, 5)
    client.force_login(monitor)
    url = reverse("participant-detail", args=[assessment.participant_id])
    client.get(url)
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200
    assert Assessment.objects.count() == 1
