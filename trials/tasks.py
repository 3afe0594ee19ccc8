import socket

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(name="trials.worker_heartbeat", ignore_result=True)
def worker_heartbeat(name: str = "worker") -> None:
    services.worker_heartbeat_record(name=name, hostname=socket.gethostname(), now=timezone.now())
