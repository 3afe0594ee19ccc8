"""`GET /healthz`: database, broker and worker states for a load balancer; 200 unless the database
is down (503), no sign-in, no data."""
import socket
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from trials import health
from trials.models import WorkerHeartbeat
from trials.services import worker_heartbeat_record


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def beat(seconds_ago: int) -> None:
    worker_heartbeat_record(name="worker", hostname="worker-1.internal",
                            now=timezone.now() - timedelta(seconds=seconds_ago))


def test_without_a_broker_everything_runs_in_process_and_is_healthy(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "worker": "ok",
                               "tasks": "in-process", "worker_last_seen_seconds": None}
    assert "sessionid" not in response.cookies


def test_broker_down_is_reported_and_the_server_stays_in_rotation(client, db, tasks_queued_to):
    tasks_queued_to(f"redis://127.0.0.1:{closed_port()}/0")
    beat(seconds_ago=30)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert 30 <= body.pop("worker_last_seen_seconds") < 300
    assert body == {"status": "degraded", "database": "ok", "broker": "down", "worker": "ok", "tasks": "broker"}


def test_a_silent_worker_is_reported(client, db, tasks_queued_to, monkeypatch):
    tasks_queued_to(f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(health, "broker_state", lambda: {"ok": True, "mode": "broker"})
    body = client.get("/healthz").json()
    assert (body["worker"], body["worker_last_seen_seconds"]) == ("unknown", None)
    beat(seconds_ago=301)
    body = client.get("/healthz").json()
    assert (body["status"], body["worker"], body["worker_last_seen_seconds"] >= 301) == ("degraded", "unknown", True)
    beat(seconds_ago=0)
    assert client.get("/healthz").json()["status"] == "ok"


def test_database_down_answers_503(client, db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "down", "broker": "ok", "worker": "ok",
                               "tasks": "in-process", "worker_last_seen_seconds": None}


def test_the_answer_holds_no_data_nor_host_names(client, db, studies, tasks_queued_to):
    tasks_queued_to(f"redis://user:s3cret@127.0.0.1:{closed_port()}/0")
    beat(seconds_ago=5)
    text = client.get("/healthz").content.decode()
    for secret in ("s3cret", "127.0.0.1", "worker-1.internal", "MSC-ITP-5"):
        assert secret not in text
    assert WorkerHeartbeat.objects.count() == 1


def test_only_get_is_answered(client, db):
    assert client.post("/healthz").status_code == 405


def test_the_probe_over_plain_http_is_not_redirected(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 301


@pytest.mark.services
def test_a_real_broker_stopped_and_started_again(client, db, private_redis, tasks_queued_to):
    tasks_queued_to(private_redis.url)
    beat(seconds_ago=10)
    assert client.get("/healthz").json()["status"] == "ok"
    private_redis.stop()
    response = client.get("/healthz")
    assert (response.status_code, response.json()["broker"]) == (200, "down")
    private_redis.start()
    assert client.get("/healthz").json()["broker"] == "ok"
