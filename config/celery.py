"""Celery application.

Without CELERY_BROKER_URL tasks run in-process (see settings), so a first run needs no Redis.
The periodic schedule lives here, in code, not in the database.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("edc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Shows on the home page that the worker and beat are alive.
    "worker-heartbeat": {"task": "trials.worker_heartbeat", "schedule": 60.0},
    # SAE reports due within 6 hours or overdue, visits and infusions overdue: each e-mailed once.
    "send-reminders": {"task": "followup.send_reminders", "schedule": 15 * 60.0},
    # Outcome snapshots behind their study's latest change (a recomputation lost while the broker
    # or the worker was down) are recomputed.
    "reconcile": {"task": "followup.reconcile", "schedule": 10 * 60.0},
    # Export files older than EXPORT_RETENTION_DAYS are deleted (the exports stay, marked expired).
    "expire-exports": {"task": "followup.expire_exports", "schedule": 60 * 60.0},
    # The ODM export's subjects kept as they are now, so that an export copies them (after a
    # deployment too: the first run writes them all).
    "keep-odm-subjects": {"task": "followup.keep_odm_subjects", "schedule": 15 * 60.0},
    # Form tokens and Idempotency-Keys are kept 24 hours.
    "expire-submission-keys": {"task": "trials.submission_keys_expire", "schedule": 60 * 60.0},
}
