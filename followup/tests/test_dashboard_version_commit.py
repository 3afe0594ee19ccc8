"""The dashboard data version on PostgreSQL, raised at the commit (`followup.dashboard_version`),
with real transactions in threads of their own: a transaction that wrote a study's records and has
not committed makes no other write of the study wait; every commit moves the version and a rollback
leaves it; a dashboard read between a write and its commit is never kept under the version that
includes the write."""
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse

from enrollment.tests.support import create_screening
from followup import dashboard_base, dashboard_version
from followup.models import DashboardMark
from followup.outcomes import outcomes_compute
from followup.tests.dashboard_world import graded
from followup.tests.support import enrol, treated_participant
from followup.tests.test_lock_races import Held
from followup.tests.test_study_dashboard import counts
from trials.tests.support import change_context, require_service

URL = reverse("study-dashboard", args=["MSC-ITP-5"])

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def on_postgresql():
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")


def number(study) -> int:
    return int(dashboard_version.current(study.pk).split(".")[0])


def pending_rows() -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT xact, studies FROM {dashboard_version.PENDING}")
        return cursor.fetchall()


def written_without_waiting(call):
    """`call()` in a transaction of its own that waits for no lock longer than 300 ms (else it fails)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
        return call()


@pytest.mark.parametrize("long_write", ["an adverse event", "the outcomes computation"])
def test_an_uncommitted_write_makes_no_other_write_of_the_study_wait(p3, coordinator, long_write):
    """Another casebook's adverse event (and, for the outcomes, a screening) saved and committed while
    the first transaction is open: it waits for no lock."""
    one, other = enrol(coordinator), enrol(coordinator)
    if long_write == "an adverse event":
        held = Held(lambda: graded(one, coordinator, "Fever", 2))
    else:
        treated_participant(coordinator, [(30, 110), (37, 125)])
        held = Held(lambda: outcomes_compute(study=p3))
    before = number(p3)
    held.start()
    assert held.called.wait(timeout=30) and held.raised is None  # written, not committed

    writes = [lambda: graded(other, coordinator, "Headache", 1)]  # another coordinator's save
    if long_write == "the outcomes computation":
        writes.append(lambda: create_screening(coordinator))
    for write in writes:
        written_without_waiting(write)
    assert number(p3) == before + len(writes)  # their commits moved the version; the held one has not yet
    assert held.finished_at is None

    held.release()
    held.join()
    assert held.raised is None
    assert number(p3) == before + len(writes) + 1
    assert pending_rows() == []


def test_each_commit_moves_the_version_and_a_rollback_leaves_it(p3, coordinator):
    committed = dashboard_version.current(p3.pk)
    with transaction.atomic():
        create_screening(coordinator)
        create_screening(coordinator)
        assert dashboard_version.current(p3.pk) == committed  # raised at the commit only
        # this transaction's, the study and the kind written once
        screenings = -(p3.pk * dashboard_version.KIND_BASE + dashboard_version.KINDS.index("screenings") + 1)
        assert pending_rows() == [(pending_rows()[0][0], [screenings])]
    after_commit = dashboard_version.current(p3.pk)
    assert number(p3) == int(committed.split(".")[0]) + 1 and after_commit.split(".")[1] != committed.split(".")[1]
    assert pending_rows() == []

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        create_screening(coordinator)
        raise RolledBack
    assert dashboard_version.current(p3.pk) == after_commit
    assert pending_rows() == []

    create_screening(coordinator)  # autocommit: one transaction
    assert number(p3) == int(after_commit.split(".")[0]) + 1


def test_marks_get_the_version_their_commit_raised_and_a_rollback_leaves_none(p3, coordinator):
    """A participant written (an adverse event, their withdrawal) is marked with the version its commit
    raised; before the commit another connection sees no mark; a rollback leaves none."""
    one = enrol(coordinator)
    marks = DashboardMark.objects.filter(participant_id=one.pk)
    assert set(marks.values_list("version", flat=True)) == {number(p3)}  # the enrolment's commit
    held = Held(lambda: graded(one, coordinator, "Fever", 2)).start()
    enrolled = marks.count()
    assert held.called.wait(timeout=30) and held.raised is None
    assert marks.count() == enrolled and one.pk not in dashboard_base.marked_since(p3, number(p3))
    held.release()
    held.join()
    assert held.raised is None
    assert set(marks.values_list("version", flat=True)) == {number(p3) - 1, number(p3)}
    assert marks.count() > enrolled and dashboard_base.marked_since(p3, number(p3) - 1) == {one.pk}
    assert not DashboardMark.objects.filter(version__isnull=True).exists() and pending_rows() == []

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        graded(one, coordinator, "Fever", 3)
        assert marks.filter(version__isnull=True).exists()
        raise RolledBack
    assert set(marks.values_list("version", flat=True)) == {number(p3) - 1, number(p3)}
    assert not DashboardMark.objects.filter(version__isnull=True).exists()


def test_commits_of_several_studies_each_move_them_once(studies, p3, coordinator):
    """Two transactions that wrote two studies in opposite orders (configuration records) commit
    together: both commit (the version rows are locked in study order at the commit) and each moved
    both versions."""
    other = studies["HUCMSC-ITP-ESC"]
    before = (number(p3), number(other))

    def saves(*records):
        def save():
            with change_context(by=coordinator, reason="Dashboard version test"):
                for record in records:
                    record.save()
        return save

    first = Held(saves(p3.arms.first(), other.arms.first())).start()
    second = Held(saves(other.visit_definitions.first(), p3.visit_definitions.first())).start()
    assert first.called.wait(timeout=30) and second.called.wait(timeout=30)
    assert (first.raised, second.raised) == (None, None)
    first.release(), second.release()
    first.join(), second.join()
    assert (first.raised, second.raised) == (None, None)
    assert (number(p3), number(other)) == (before[0] + 2, before[1] + 2)
    assert pending_rows() == []


def _raised_not_committed(coordinator):
    """A screening written and the version raised (the deferred trigger run now, as at the commit),
    its transaction not committed yet."""
    create_screening(coordinator)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.parametrize("stage", ["written", "version raised, not committed"])
def test_a_dashboard_read_before_the_commit_is_not_kept_under_its_version(client, p3, coordinator, investigator,
                                                                          stage):
    client.force_login(investigator)
    screened = counts(client.get(URL).content.decode())["screened"]
    cache.clear()
    held = Held((lambda: create_screening(coordinator)) if stage == "written"
                else (lambda: _raised_not_committed(coordinator))).start()
    assert held.called.wait(timeout=30) and held.raised is None
    before = dashboard_version.current(p3.pk)

    between = client.get(URL)  # built without the write, kept under the version before it
    assert "data" in between.context and counts(between.content.decode())["screened"] == screened
    assert "data" not in client.get(URL).context

    held.release()
    held.join()
    assert held.raised is None and dashboard_version.current(p3.pk) != before
    after = client.get(URL)
    assert "data" in after.context and counts(after.content.decode())["screened"] == screened + 1


def test_a_commit_draws_again_the_tokens_of_the_kinds_it_wrote_alone(p3, coordinator):
    """A screening and an adverse event committed together: their kinds' tokens move, no other; a
    rollback moves none; a study recorded as before the kinds (a transaction open while the triggers
    were installed) moves every kind of it."""
    participant = enrol(coordinator)
    before = dashboard_version.of_kinds(p3.pk)
    with transaction.atomic():
        create_screening(coordinator)
        graded(participant, coordinator, "Fever", 2)
    after = dashboard_version.of_kinds(p3.pk)
    assert {kind for kind in dashboard_version.KINDS if after[kind] != before[kind]} == {"screenings",
                                                                                        "adverse_events"}

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), transaction.atomic():
        graded(participant, coordinator, "Headache", 1)
        raise RolledBack
    assert dashboard_version.of_kinds(p3.pk) == after
    assert pending_rows() == []

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {dashboard_version.PENDING} (xact, studies) "
                       "SELECT pg_current_xact_id()::text::bigint, ARRAY[%s]::bigint[]", [p3.pk])
    moved = dashboard_version.of_kinds(p3.pk)
    assert all(moved[kind] != after[kind] for kind in ("all", *dashboard_version.KINDS))
    assert pending_rows() == []
