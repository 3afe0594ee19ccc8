import socket

from celery import shared_task
from django.utils import timezone

from . import services
from .idempotency import submission_keys_expired_delete
from .queueing import IDEMPOTENT


@shared_task(name="trials.worker_heartbeat", ignore_result=True, **IDEMPOTENT)
def worker_heartbeat(name: str = "worker") -> None:
    services.worker_heartbeat_record(name=name, hostname=socket.gethostname(), now=timezone.now())


@shared_task(name="trials.submission_keys_expire", ignore_result=True, **IDEMPOTENT)
def submission_keys_expire() -> int:
    """Forget form tokens and Idempotency-Keys older than 24 hours (`trials/idempotency.py`)."""
    return submission_keys_expired_delete(now=timezone.now())
