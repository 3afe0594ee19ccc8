"""A real Celery worker, fed through Redis, runs a task whose effect lands in PostgreSQL."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app
from trials.models import WorkerHeartbeat
from trials.tasks import worker_heartbeat
from trials.tests.support import require_service

ROOT = Path(__file__).resolve().parents[2]


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_from_redis_into_postgresql(tasks_run_in_process):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    require_service(broker.startswith("redis") and redis_answers(broker), "Redis (CELERY_BROKER_URL=redis://...)")

    db = connection.settings_dict
    queue = f"edc-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DEBUG": "1", "CELERY_BROKER_URL": broker,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1", "-Q", queue,
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    tasks_run_in_process.conf.task_always_eager = False
    try:
        worker_heartbeat.apply_async(kwargs={"name": queue}, queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(name=queue).exists():
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.25)
        beat = WorkerHeartbeat.objects.get(name=queue)
        assert beat.hostname
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_heartbeat_task_records_the_worker(db):
    worker_heartbeat.delay(name="in-process")
    assert WorkerHeartbeat.objects.filter(name="in-process").count() == 1
    worker_heartbeat.delay(name="in-process")
    assert WorkerHeartbeat.objects.filter(name="in-process").count() == 1


def test_home_warns_an_administrator_when_the_worker_is_silent(client, studies, make_user, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(make_user("admin"))
    response = client.get("/")
    assert "No background worker has reported yet" in response.content.decode()
    worker_heartbeat.delay()
    assert "No background worker" not in client.get("/").content.decode()


def test_beat_schedules_the_heartbeat_every_minute():
    assert app.conf.beat_schedule["worker-heartbeat"] == {"task": "trials.worker_heartbeat", "schedule": 60.0}


def test_every_task_is_acknowledged_late_and_given_back_when_its_worker_dies():
    """Every task of the product is idempotent (a second run changes nothing the first did not):
    a worker killed mid-task leaves it to be delivered again rather than lost."""
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in {"trials", "followup"}}
    assert set(ours) == {"trials.worker_heartbeat", "trials.submission_keys_expire", "followup.compute_outcomes",
                         "followup.send_reminders", "followup.reconcile", "followup.run_export",
                         "followup.expire_exports", "followup.keep_odm_subjects"}
    assert {name: (task.acks_late, task.reject_on_worker_lost) for name, task in ours.items()} == {
        name: (True, True) for name in ours}
    assert app.conf.task_acks_late is False  # a task that does not say it is idempotent is acknowledged on receipt


def test_a_task_is_warned_then_stopped_before_the_broker_would_deliver_it_again():
    assert (app.conf.task_soft_time_limit, app.conf.task_time_limit) == (240, 300)
    assert app.conf.broker_transport_options["visibility_timeout"] == 900
