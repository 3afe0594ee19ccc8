"""A lock and a write at the same moment, on PostgreSQL with two real transactions: no write lands
in a casebook after its lock. Each write checks the lock inside its transaction and holds the
participant's and the study's rows until it commits (`enrollment.locks.hold_unlocked`), which
`casebook_lock` and `study_lock` take FOR UPDATE:

- a write that starts while a lock is being taken waits for it, then is refused (409);
- a lock taken while a write is in progress waits for the write to commit, then judges the
  casebook with the write in it (here, a correction that withdrew the signature: not locked).
"""
import threading
import time
from dataclasses import fields
from datetime import date

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment import services as enrolment_services
from enrollment.locks import casebook_lock
from enrollment.models import Participant, Screening
from enrollment.tests.factories import ConsentFactory, ScreeningFactory
from enrollment.tests.support import REFRACTORY, screened_on
from followup import services, signoff
from followup.data_queries import query_answer, query_open
from followup.models import Assessment, DataQuery
from followup.record_refs import RecordRef
from trials.errors import ConflictError, RecordLocked
from trials.locks import study_lock
from trials.models import Study
from trials.tests.support import SIGNER_PASSWORD, require_service


class Held:
    """`call()` run in a thread of its own, inside a transaction that stays open, after the call
    returned, until `release()`; what it returned or raised, and when it finished."""

    def __init__(self, call):
        self.call, self.returned, self.raised, self.finished_at = call, None, None, None
        self.called = threading.Event()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        try:
            with transaction.atomic():
                try:
                    self.returned = self.call()
                finally:
                    self.called.set()
                assert self.released.wait(timeout=30), "never released"
        except Exception as error:  # noqa: BLE001 - reported to the test
            self.raised = error
        finally:
            self.finished_at = time.monotonic()
            self.called.set()
            connections.close_all()

    def start(self) -> "Held":
        self.thread.start()
        return self

    def release(self) -> float:
        released_at = time.monotonic()
        self.released.set()
        return released_at

    def join(self) -> None:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def wait_until_one_waits_for_a_row_lock() -> None:
    """Until a session of the test database waits for a lock (the other transaction's row)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    pytest.fail("no session waited for the other one's row lock")


def _lock_call(scope: str, participant_pk: int, data_manager):
    if scope == "casebook":
        return lambda: casebook_lock(participant=Participant.objects.get(pk=participant_pk), by=data_manager,
                                     reason="Casebook clean")
    return lambda: study_lock(study=Study.objects.get(participants__pk=participant_pk), by=data_manager,
                              reason="Final analysis")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scope", ["casebook", "study"])
def test_a_write_started_while_a_lock_is_taken_waits_and_is_refused(assessment, monitor, coordinator, investigator,
                                                                     data_manager, scope):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    participant = Participant.objects.get(pk=assessment.participant_id)
    query = query_open(RecordRef("assessment", assessment.pk), "lab:PLT", "Is 42 the source's value?", monitor)
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    locking = Held(_lock_call(scope, participant.pk, data_manager)).start()
    assert locking.called.wait(timeout=20) and locking.raised is None  # locked, not committed yet
    # The answer reads the query and its casebook as they stand: not locked yet.
    answering = Held(lambda: query_answer(DataQuery.objects.select_related("participant").get(pk=query.pk),
                                          "Checked against the source", coordinator)).start()

    wait_until_one_waits_for_a_row_lock()
    assert answering.finished_at is None  # it waits for the lock's transaction
    locked_at = locking.release()
    locking.join()
    answering.release()
    answering.join()

    assert isinstance(answering.raised, RecordLocked), answering.raised
    assert answering.finished_at > locked_at
    assert DataQuery.objects.get(pk=query.pk).state == "open"  # nothing written after the lock


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_lock_taken_while_a_write_is_in_progress_waits_for_it_and_sees_it(assessment, coordinator, investigator,
                                                                            data_manager):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    participant = Participant.objects.get(pk=assessment.participant_id)
    signoff.casebook_sign(participant=participant, password=SIGNER_PASSWORD, by=investigator)
    data = services.AssessmentInput(**{f.name: services.KEEP for f in fields(services.AssessmentInput)})
    data.bleeding_grade = 0
    correcting = Held(lambda: services.assessment_update(
        assessment=Assessment.objects.get(pk=assessment.pk), data=data, reason="Grade copied from the wrong visit",
        by=coordinator, version=assessment.row_version)).start()
    assert correcting.called.wait(timeout=20) and correcting.raised is None  # corrected, not committed yet
    locking = Held(_lock_call("casebook", participant.pk, data_manager)).start()

    wait_until_one_waits_for_a_row_lock()
    assert locking.finished_at is None  # it waits for the correction's transaction
    committed_at = correcting.release()
    correcting.join()
    locking.called.wait(timeout=20)
    locking.release()
    locking.join()

    assert correcting.raised is None
    assert locking.finished_at > committed_at
    assert isinstance(locking.raised, ConflictError) and list(locking.raised.errors) == ["signature"]
    assert Participant.objects.get(pk=participant.pk).locked_at is None
    assert Assessment.objects.get(pk=assessment.pk).bleeding_grade == 0


def _not_enrolled(coordinator):
    """An eligible HUCMSC-ITP-ESC screening, not consented or confirmed yet, read as the screening
    page reads it (with its study and its participant: the lock checked before the transaction
    from that read)."""
    data = enrolment_services.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1980, 1, 1), "sex": "male", "disease": "ITP",
                "initials": "AB"}, prior_therapies=list(REFRACTORY))
    screening = ScreeningFactory(study="HUCMSC-ITP-ESC", data=data, by=coordinator)
    assert screening.eligible is True, screening.eligibility
    return Screening.objects.select_related("study__locked_by", "participant").get(pk=screening.pk)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", ["consent", "eligibility confirmation"])
def test_a_screening_step_started_while_the_study_is_locked_waits_and_is_refused(studies, coordinator, investigator,
                                                                                  data_manager, step):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    screening = _not_enrolled(coordinator)  # read before the lock: the check before the transaction passes
    if step == "consent":
        def call():
            return enrolment_services.consent_record(
                screening=screening, version="ICF v2.0", signed_at=timezone.now(), obtained_by="Dr Han",
                by=coordinator)
    else:
        ConsentFactory(screening=screening, by=coordinator)

        def call():
            return enrolment_services.screening_eligibility_confirm(
                screening=screening, password=SIGNER_PASSWORD, by=investigator)
    locking = Held(lambda: study_lock(study=Study.objects.get(pk=screening.study_id), by=data_manager,
                                      reason="Final analysis")).start()
    assert locking.called.wait(timeout=20) and locking.raised is None  # locked, not committed yet
    stepping = Held(call).start()

    wait_until_one_waits_for_a_row_lock()
    assert stepping.finished_at is None  # it waits for the lock's transaction
    locked_at = locking.release()
    locking.join()
    stepping.release()
    stepping.join()

    assert isinstance(stepping.raised, RecordLocked), stepping.raised
    assert stepping.finished_at > locked_at
    stored = Screening.objects.get(pk=screening.pk)
    assert (stored.consents.count(), stored.eligibility_confirmed_at) == (
        0 if step == "consent" else 1, None)  # nothing written after the lock


@pytest.mark.services
def test_a_write_holds_the_participant_and_study_rows_in_the_weakest_mode(assessment, monitor, coordinator):
    """FOR KEY SHARE: writes of one casebook or study never wait for one another on these rows;
    only a lock (FOR UPDATE) waits for them."""
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    query = query_open(RecordRef("assessment", assessment.pk), "lab:PLT", "Is 42 the source's value?", monitor)

    with CaptureQueriesContext(connection) as captured:
        query_answer(DataQuery.objects.select_related("participant").get(pk=query.pk), "Checked", coordinator)

    holding = [q["sql"] for q in captured.captured_queries if " FOR " in q["sql"]]
    tables = f'"{Participant._meta.db_table}", "{Study._meta.db_table}"'
    assert holding[0].endswith(f"FOR KEY SHARE OF {tables}")
    assert holding[1].endswith(f'FOR UPDATE OF "{DataQuery._meta.db_table}"')  # the query row itself
