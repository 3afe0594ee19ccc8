from celery import shared_task
from django.utils import timezone

from trials.models import Study

from .outcomes import outcomes_compute
from .reminders import reminders_send


@shared_task(name="followup.compute_outcomes", ignore_result=True)
def compute_outcomes(study_id: int) -> None:
    study = Study.objects.filter(pk=study_id).first()
    if study is None:  # deleted meanwhile
        return
    outcomes_compute(study=study)


@shared_task(name="followup.send_reminders", ignore_result=True)
def send_reminders() -> int:
    """The reminder sweep (every 15 minutes, config/celery.py): each reminder is claimed by a
    database row before it is sent, so a re-delivery or a second worker sends nothing twice."""
    return reminders_send(now=timezone.now())
