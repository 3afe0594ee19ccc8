"""The participants list reads a page by its keys (`followup.participant_list.KeyedPaginator`): the
filtered list's keys, in the list's order and counted in the same statement, then the page's rows;
page after page every participant once, in order, with the filters kept."""
import pytest

from enrollment.locks import lock_of
from enrollment.models import Participant
from followup import participant_list
from followup.participant_list import (ParticipantFilters, page_of, participant_row, participants_listed,
                                       participants_shown)
from followup.tests.support import enrol, overdue_visit
from trials.content import content
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


def test_an_empty_list_has_one_empty_page(coordinator, studies, django_assert_num_queries):
    rows = participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5"))
    with django_assert_num_queries(1):  # no key on the first page: nothing to count again, no row to read
        page = page_of(rows, 1, shown=participants_shown(coordinator))
        assert (page.paginator.count, page.number, list(page)) == (0, 1, [])
    assert (page_of(rows, 3).number, page_of(rows, "x").number) == (1, 1)


def test_a_filter_that_keeps_no_one_counts_nothing_and_beyond_the_end_shows_the_last_page(
        coordinator, five, django_assert_num_queries):
    rows = participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5", q="no such number"))
    with django_assert_num_queries(1):
        assert page_of(rows, 1).paginator.count == 0
    kept = participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5"))
    with django_assert_num_queries(4):  # beyond the end: no key, the count, then the last page's keys and rows
        last = page_of(kept, 9, shown=participants_shown(coordinator), per_page=2)
        assert (last.paginator.count, last.number, len(last)) == (5, 3, 1)


def test_the_lists_rows_read_what_a_row_shows_and_the_grids_the_locks(coordinator, five, django_assert_num_queries):
    rows = participants_listed(coordinator, ParticipantFilters(study="MSC-ITP-5"))
    with django_assert_num_queries(2):  # the keys, the rows: nothing more to show each row
        page = page_of(rows, 1, shown=participants_shown(coordinator, locks=False))
        listed = [(participant_row(p), p.get_status_display(), p.dose_level and content(p.dose_level, "label"))
                  for p in page]
    whole = {p.pk: p for p in participants_shown(coordinator)}
    assert listed == [(participant_row(whole[p.pk]), whole[p.pk].get_status_display(),
                       whole[p.pk].dose_level and content(whole[p.pk].dose_level, "label")) for p in page]
    assert [row["study_number"] for row, _status, _label in listed] == [p.study_number for p in
                                                                         sorted(five, key=lambda p: p.sequence)]
    with django_assert_num_queries(2):  # the grid's rows carry the casebook's and the study's locks
        grid = page_of(rows, 1, shown=participants_shown(coordinator))
        assert [lock_of(p) for p in grid] == [None] * 5


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
