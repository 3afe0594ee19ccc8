"""The participants list reads a page by its keys (`followup.participant_list.KeyedPaginator`): the
filtered list's keys, in the list's order and counted in the same statement, then the page's rows;
page after page every participant once, in order, with the filters kept."""
import pytest

from enrollment.models import Participant
from followup import participant_list
from followup.participant_list import ParticipantFilters, page_of, participants_listed, participants_shown
from followup.tests.support import enrol, overdue_visit
from trials.models import Study
from trials.tests.support import setup_update


@pytest.fixture
def five(studies, coordinator):
    setup_update(Study.objects.filter(code="MSC-ITP-5"), enrolment_target=100)
    found = [enrol(coordinator) for _ in range(5)]
    for participant in found[1::2]:
        overdue_visit(participant)
    return found


def pages(user, filters, size):
    rows = participants_listed(user, filters)
    first = page_of(rows, 1, shown=participants_shown(user), per_page=size)
    return [list(page_of(rows, number, shown=participants_shown(user), per_page=size))
            for number in first.paginator.page_range]


def test_pages_list_every_participant_once_in_the_lists_order(coordinator, five):
    filters = ParticipantFilters(study="MSC-ITP-5")
    read = pages(coordinator, filters, 2)
    assert [len(page) for page in read] == [2, 2, 1]
    assert [p.pk for page in read for p in page] == list(
        participants_listed(coordinator, filters).values_list("pk", flat=True))
    assert [p.pk for page in read for p in page] == [p.pk for p in sorted(five, key=lambda p: p.sequence)]


def test_a_filtered_page_keeps_its_filter_and_shows_the_annotations(coordinator, five):
    read = pages(coordinator, ParticipantFilters(study="MSC-ITP-5", overdue=True), 1)
    assert [p.pk for page in read for p in page] == [five[1].pk, five[3].pk]
    assert all(p.overdue for page in read for p in page)
    assert read[0][0].screening.number and read[0][0].site.code == "PUMCH"  # the shown rows' relations


def test_a_page_is_two_statements_and_beyond_the_end_the_last(coordinator, five, django_assert_num_queries):
    rows = participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5"))
    with django_assert_num_queries(2):  # the keys with their count, the rows
        page = page_of(rows, 2, shown=participants_shown(coordinator), per_page=2)
        assert (page.paginator.count, page.number, len(page)) == (5, 2, 2)
    last = page_of(rows, 99, shown=participants_shown(coordinator), per_page=2)
    assert (last.number, [p.pk for p in last]) == (3, [max(five, key=lambda p: p.sequence).pk])
    assert page_of(rows, "x", shown=participants_shown(coordinator), per_page=2).number == 1


def test_an_empty_list_has_one_empty_page(coordinator, studies):
    page = page_of(participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5")), 1)
    assert (page.paginator.count, page.number, list(page)) == (0, 1, [])


def test_another_sites_participant_is_never_shown_by_key(coordinator, five, make_user):
    # `shown` reads by key from the user's sites only: a key of another site's list reads nothing.
    other = make_user("coordinator", site="XH")
    assert not participants_shown(other).filter(pk__in=[p.pk for p in five]).exists()
    assert Participant.objects.filter(pk__in=[p.pk for p in five]).count() == 5


def test_the_list_page_reads_by_key_with_the_same_page_size(client, coordinator, five, monkeypatch):
    monkeypatch.setattr(participant_list, "PAGE_SIZE", 2)
    client.force_login(coordinator)
    second = client.get("/studies/MSC-ITP-5/participants/", {"page": 2})
    assert [p.pk for p in second.context["page_obj"]] == [p.pk for p in sorted(five, key=lambda p: p.sequence)][2:4]
    grid = client.get("/studies/MSC-ITP-5/grid/", {"page": 3, "overdue": "1"})
    assert grid.context["page_obj"].number == 1  # two overdue: one page of 2
