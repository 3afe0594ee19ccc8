"""A broker outage never fails a committed save, and what the lost tasks would have recomputed is
found stale and reconciled (issue: saves answered 500 with the row committed, the retry duplicated
it, and the outcomes recomputation was lost for good)."""
import logging
import socket
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from celery import Task
from django.core.management import call_command
from django.db import transaction

from config.celery import app
from dosing.tests.support import day0, give
from followup import outcome_reads, outcomes
from followup.models import Assessment, OutcomeChange, OutcomeResult, OutcomeSnapshot
from followup.tasks import compute_outcomes, reconcile
from followup.tests.support import assess_platelets, filled, form_url
from trials import queueing

def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


@pytest.fixture
def broker_down(tasks_queued_to, caplog):
    """Tasks are sent to a Redis that does not answer (connection refused, as with Redis stopped);
    the names of the tasks that could not be queued, as logged."""
    tasks_queued_to(f"redis://127.0.0.1:{closed_port()}/0")
    caplog.set_level(logging.ERROR, logger="trials.queueing")

    class Logged(list):
        def __init__(self):
            super().__init__()

        def refresh(self):
            self[:] = [record.args[0] for record in caplog.records if record.name == "trials.queueing"]
            return self

    return Logged()


def covered(study):
    """(the study's change count, the change its snapshot covers or None)."""
    snapshot = OutcomeSnapshot.objects.filter(study=study).first()
    return (OutcomeChange.objects.get(study=study).sequence, snapshot and snapshot.covers_change)


def body(day, platelets):
    return {"date": (day0() + timedelta(days=day)).isoformat(), "bleeding_grade": 0,
            "labs": [{"analyte": "PLT", "value": platelets, "unit": "10^9/L"}]}


# --- the helper --------------------------------------------------------------------------------

def test_a_task_not_queued_is_logged_and_the_caller_carries_on(db, broker_down, caplog):
    assert queueing.queue_now(compute_outcomes, 1) is False
    assert broker_down.refresh() == ["followup.compute_outcomes"]
    assert "Task followup.compute_outcomes was not queued (broker unavailable" in caplog.text


def test_a_task_is_queued_after_commit_and_not_after_a_rollback(db, django_capture_on_commit_callbacks,
                                                                 monkeypatch):
    sent = []
    monkeypatch.setattr(Task, "apply_async", lambda self, args, kwargs: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        queueing.queue_after_commit(compute_outcomes, 7)
        assert sent == []
    assert sent == [(7,)]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            queueing.queue_after_commit(compute_outcomes, 8)
            raise RuntimeError("rolled back")
    assert sent == [(7,)]


def test_every_task_of_the_product_is_queued_through_the_helper():
    """No module queues a task itself (`.delay(` or `.apply_async(`) but `trials.queueing`."""
    root = Path(__file__).resolve().parents[2]
    found = [str(path.relative_to(root)) for app_dir in ("trials", "enrollment", "dosing", "followup", "config")
             for path in (root / app_dir).rglob("*.py")
             if "tests" not in path.parts and (".delay(" in path.read_text() or ".apply_async(" in path.read_text())]
    assert found == ["trials/queueing.py"]


# --- the request carries on ----------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_saving_an_assessment_with_the_broker_down_answers_201_and_records_it_once(api, participant, broker_down):
    assess_platelets(api, participant, 0, 15, visit="BL")
    assert give(api, participant, 1, 0).status_code == 201
    url = f"/api/v1/participants/{participant.pk}/assessments/"

    first = api.post(url, body(30, 110), format="json", HTTP_IDEMPOTENCY_KEY="w4-count")
    again = api.post(url, body(30, 110), format="json", HTTP_IDEMPOTENCY_KEY="w4-count")

    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Assessment.objects.filter(participant=participant).count() == 2  # baseline and this one
    assert broker_down.refresh().count("followup.compute_outcomes") == 3  # baseline, infusion, this save
    changes, covers = covered(participant.study)
    assert covers is None or covers < changes  # stale: no recomputation ran
    assert [s.code for s in outcomes.outcomes_stale()] == ["MSC-ITP-5"]


@pytest.mark.django_db(transaction=True)
def test_saving_an_assessment_page_with_the_broker_down_records_it_once(client, woman, coordinator, broker_down):
    client.force_login(coordinator)
    response = client.post(form_url(woman, "W1"), filled())
    assert response.status_code == 302
    assert Assessment.objects.filter(participant=woman).count() == 1


# --- staleness and the reconcile -----------------------------------------------------------------

def test_a_snapshot_covers_the_changes_up_to_its_computation(api, participant, django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    with django_capture_on_commit_callbacks(execute=True):
        give(api, participant, 1, 0)
    assert covered(participant.study) == (2, 2)
    assert list(outcomes.outcomes_stale()) == []


def test_reconcile_recomputes_only_stale_snapshots(api, participant, broker_down, django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    with django_capture_on_commit_callbacks(execute=True):
        give(api, participant, 1, 0)
    assert OutcomeSnapshot.objects.filter(study=participant.study).count() == 0  # the task was never queued

    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue() == "Outcomes recomputed (they were stale): MSC-ITP-5.\n"
    assert covered(participant.study) == (2, 2)
    treated = {g["group"]: g for g in OutcomeSnapshot.objects.get(study=participant.study).groups}["all"]["treated"]
    assert treated == 1

    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue() == "Every outcomes snapshot is up to date.\n"


def test_a_computation_that_read_an_older_count_leaves_the_snapshot_stale(api, participant):
    assess_platelets(api, participant, 0, 15, visit="BL")
    give(api, participant, 1, 0)
    outcomes.outcomes_compute(study=participant.study)
    OutcomeChange.objects.filter(study=participant.study).update(sequence=5)  # changes committed meanwhile
    assert [s.code for s in outcomes.outcomes_stale()] == ["MSC-ITP-5"]
    assert reconcile.delay().get() == ["MSC-ITP-5"]
    assert covered(participant.study) == (5, 5)


def test_reconcile_recomputes_a_snapshot_stored_in_an_older_form(api, participant, monkeypatch):
    """A snapshot stored in another form (`outcome_reads.STORED_FORM`, part of the configuration
    digest) is computed again by the periodic reconcile, not computed live at every read until the
    study's next change; an up-to-date snapshot is left as it is."""
    assess_platelets(api, participant, 0, 15, visit="BL")
    give(api, participant, 1, 0)
    with monkeypatch.context() as older:
        older.setattr(outcome_reads, "STORED_FORM", "best-duration")
        outcomes.outcomes_compute(study=participant.study)
    stored = OutcomeSnapshot.objects.get(study=participant.study)
    current = outcome_reads.configuration_digest(outcome_reads.study_sets(participant.study))
    assert stored.inputs != current and list(outcomes.outcomes_stale()) == []
    assert [s.code for s in outcomes.outcomes_outdated()] == ["MSC-ITP-5"]

    assert reconcile.delay().get() == ["MSC-ITP-5"]
    again = OutcomeSnapshot.objects.get(study=participant.study)
    assert again.inputs == current and again.computed_at > stored.computed_at
    assert again.groups == stored.groups
    assert list(OutcomeResult.objects.filter(study=participant.study).values_list("participant_id", flat=True)) == [
        participant.pk]
    assert outcomes.outcomes_outdated() == []
    assert reconcile.delay().get() == []
    assert OutcomeSnapshot.objects.get(study=participant.study).computed_at == again.computed_at


def test_the_reconcile_runs_every_ten_minutes():
    assert app.conf.beat_schedule["reconcile"] == {"task": "followup.reconcile", "schedule": 600.0}


# --- with a real Redis, stopped mid-test -----------------------------------------------------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_saves_survive_redis_stopped_mid_test_and_the_reconcile_catches_up(api, participant, private_redis,
                                                                             tasks_queued_to):
    assess_platelets(api, participant, 0, 15, visit="BL")
    give(api, participant, 1, 0)
    outcomes.outcomes_compute(study=participant.study)  # up to date before the broker is used
    tasks_queued_to(private_redis.url)
    queue = private_redis.client()

    assess_platelets(api, participant, 30, 110)  # Redis up: the recomputation is queued
    assert queue.llen("celery") == 1

    private_redis.stop()
    for day, count in ((37, 120), (44, 130)):
        response = assess_platelets(api, participant, day, count)  # asserts 201
        assert response.status_code == 201
    assert Assessment.objects.filter(participant=participant).count() == 4  # nothing duplicated
    changes, covers = covered(participant.study)
    assert (changes, covers) == (5, 2)  # two infusion/assessment changes before, three since

    private_redis.start()  # back, empty: the queued message is lost with the rest
    queue = private_redis.client()
    assert queue.llen("celery") == 0
    assess_platelets(api, participant, 51, 125)  # queueing works again
    assert queue.llen("celery") == 1

    assert outcomes.outcomes_reconcile() == ["MSC-ITP-5"]
    assert covered(participant.study) == (6, 6)
    everyone = {g["group"]: g for g in OutcomeSnapshot.objects.get(study=participant.study).groups}["all"]
    assert (everyone["treated"], everyone["responders"]) == (1, 1)


def test_the_api_and_the_study_page_say_when_the_outcomes_miss_a_change(api, client, coordinator, participant,
                                                                       django_capture_on_commit_callbacks):
    assess_platelets(api, participant, 0, 15, visit="BL")
    with django_capture_on_commit_callbacks(execute=True):
        give(api, participant, 1, 0)
    client.force_login(coordinator)
    page = "/studies/MSC-ITP-5/"
    assert api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()["up_to_date"] is True
    assert 'data-testid="outcomes-stale"' not in client.get(page).content.decode()

    assess_platelets(api, participant, 30, 110)  # committed; its recomputation never ran

    assert api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()["up_to_date"] is False
    assert "do not include the latest changes yet" in client.get(page).content.decode()
    outcomes.outcomes_reconcile()
    assert api.get("/api/v1/studies/MSC-ITP-5/outcomes/").json()["up_to_date"] is True
