"""`GET /healthz`: the state of the database, the broker and the worker, for a load balancer and for
monitoring. No sign-in, and nothing in the answer but those states (no data, no host names, no
error text, which could carry a connection URL).

The answer follows API.md: `"database": "ok|down"`, `"broker": "ok|down"`, `"worker": "ok|unknown"`,
with `"status"`, `"tasks"` ("in-process" or "broker") and the seconds since the worker's last
heartbeat beside them.
200 while the database answers, even with the broker or the worker down (`"status": "degraded"`):
saves still work then - a task that cannot be queued is logged and its result reconciled later
(`trials.queueing`) - so a load balancer keeps routing to the server and monitoring raises the
alarm. 503 (`"status": "down"`) when the database does not answer: nothing works without it.
"""
from __future__ import annotations

import logging

from celery import current_app as app
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .queueing import BROKER_ERRORS
from .selectors import worker_status

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2
# The worker's heartbeat runs every minute (config/celery.py); silent for longer than this, it is down.
WORKER_SILENT_SECONDS = 300


def database_state() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - whatever the failure, the database is not answering
        logger.warning("Health check: the database does not answer.", exc_info=True)
        return {"ok": False}
    return {"ok": True}


def broker_state() -> dict:
    """Whether the broker accepts a connection now; without a broker (tasks run in-process) it is
    reported as such, and fine."""
    if app.conf.task_always_eager:
        return {"ok": True, "mode": "in-process"}
    try:
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS)
    except BROKER_ERRORS as error:  # reported in the answer; logged briefly, as probes come every few seconds
        logger.info("Health check: the broker does not answer (%s).", type(error).__name__)
        return {"ok": False, "mode": "broker"}
    return {"ok": True, "mode": "broker"}


def worker_state(*, database_ok: bool) -> dict:
    """When the worker's heartbeat last ran (read from the database; unknown without it)."""
    if app.conf.task_always_eager:
        return {"ok": True, "mode": "in-process"}
    if not database_ok:
        return {"ok": None, "last_seen_seconds": None}
    now = timezone.now()
    status = worker_status(now, stale_after_seconds=WORKER_SILENT_SECONDS)
    seen = None if status.last_seen is None else max(0, int((now - status.last_seen).total_seconds()))
    return {"ok": not status.stale, "last_seen_seconds": seen}


@never_cache
@require_GET
def healthz(request):
    database = database_state()
    broker = broker_state()
    worker = worker_state(database_ok=database["ok"])
    if not database["ok"]:
        status = "down"
    elif broker["ok"] and worker["ok"]:
        status = "ok"
    else:
        status = "degraded"
    # API.md "Versions, idempotency, health": database "ok", broker "ok|down", worker "ok|unknown" (a
    # worker whose heartbeat is not recent cannot be told apart from a stopped one); then the details.
    return JsonResponse({
        "status": status,
        "database": "ok" if database["ok"] else "down",
        "broker": "ok" if broker["ok"] else "down",
        "worker": "ok" if worker["ok"] else "unknown",
        "tasks": broker["mode"],
        "worker_last_seen_seconds": worker.get("last_seen_seconds"),
    }, status=503 if status == "down" else 200)
