"""Queueing background tasks: the one way the application hands work to the Celery worker.

A task is queued once the transaction that needs it commits (`queue_after_commit`), and a failure
to queue it never fails the request: the data is committed by then, so answering 500 would only
make the user send it again and record it twice. The failure is logged and the request carries
on; whatever the task would have brought up to date is found stale later and recomputed by the
periodic reconcile (`followup.tasks.reconcile`, `manage.py reconcile`).
"""
from __future__ import annotations

import logging

from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a broker that is down, unreachable or refusing raises when a message is published.
BROKER_ERRORS = (KombuError, RedisError, OSError)

# The options of a task that may run twice with the same effect as once (every task today): it is
# acknowledged when it has finished, not when received, and given back to the broker when its
# worker process dies, so a worker killed mid-task loses nothing. A task that must never run twice
# leaves these out and is acknowledged on receipt (README, "Background tasks").
IDEMPOTENT = {"acks_late": True, "reject_on_worker_lost": True}


def queue_now(task, *args, **kwargs) -> bool:
    """Send `task` with these arguments to the broker now; False (logged) when it could not be
    queued. Without a broker (tasks run in-process) the task runs here, and an error of the task
    is logged the same way: the caller's data is committed either way."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except BROKER_ERRORS as error:
        logger.error("Task %s was not queued (broker unavailable: %s); the periodic reconcile brings its "
                     "result up to date.", task.name, error)
        return False
    except Exception:  # noqa: BLE001 - a task run in-process failed after the commit; never fail the request
        logger.exception("Task %s failed; the periodic reconcile brings its result up to date.", task.name)
        return False
    return True


def queue_after_commit(task, *args, using: str | None = None, **kwargs) -> None:
    """Queue `task` once the current transaction commits (at once outside a transaction); nothing is
    queued if it rolls back. Never raises on the broker's account (`queue_now`)."""
    transaction.on_commit(lambda: queue_now(task, *args, **kwargs), using=using)
