import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone, translation

from trials.models import Study
from trials.queueing import IDEMPOTENT

from .export_odm import keep_subjects
from .exports import export_run, exports_expire, exports_requeue, one_snapshot
from .outcomes import outcomes_reconcile, outcomes_refresh
from .reminders import reminders_send
from .sdv_recount import sdv_counts_reconcile

logger = logging.getLogger(__name__)


@shared_task(name="followup.compute_outcomes", ignore_result=True, **IDEMPOTENT)
def compute_outcomes(study_id: int) -> None:
    study = Study.objects.filter(pk=study_id).first()
    if study is None:  # deleted meanwhile
        return
    outcomes_refresh(study=study)


@shared_task(name="followup.send_reminders", ignore_result=True, **IDEMPOTENT)
def send_reminders() -> int:
    """The reminder sweep (every 15 minutes, config/celery.py): each reminder is claimed by a
    database row before it is sent, so a re-delivery or a second worker sends nothing twice, and a
    claim left by a sweep stopped before its send expires and is taken by the next sweep."""
    return reminders_send(now=timezone.now())


@shared_task(name="followup.reconcile", ignore_result=True, **IDEMPOTENT)
def reconcile() -> list[str]:
    """Recompute the derived data that is behind the data it derives from (every 10 minutes,
    config/celery.py): outcome snapshots whose recomputation was never queued or never ran, and the
    SDV progress of participants not counted since their records were written."""
    recomputed = outcomes_reconcile()
    sdv_counts_reconcile()
    if recomputed:
        logger.warning("Outcomes were stale and are recomputed: %s.", ", ".join(recomputed))
    requeued = exports_requeue()
    if requeued:
        logger.warning("Exports were never started and are queued again: %s.", requeued)
    return recomputed


@shared_task(name="followup.run_export", ignore_result=True, soft_time_limit=settings.EXPORT_TASK_SOFT_TIME_LIMIT,
             time_limit=settings.EXPORT_TASK_TIME_LIMIT, **IDEMPOTENT)
def run_export(export_id: int, language: str | None = None) -> None:
    """Write a requested data export (`followup.exports.export_run`): run once (a re-delivery
    finds it no longer queued), its labels in the requester's language, within the export's own
    time limits (`EXPORT_TASK_SOFT_TIME_LIMIT`, `EXPORT_TASK_TIME_LIMIT`)."""
    with translation.override(language):
        export_run(export_id=export_id)


@shared_task(name="followup.expire_exports", ignore_result=True, **IDEMPOTENT)
def expire_exports() -> list[int]:
    """Delete the export files past `EXPORT_RETENTION_DAYS` (every hour, config/celery.py); the
    exports stay, marked expired. Run twice, the second run finds nothing to do."""
    return exports_expire(now=timezone.now())


@shared_task(name="followup.keep_odm_subjects", ignore_result=True, **IDEMPOTENT)
def keep_odm_subjects() -> dict[str, int]:
    """Keep every study's ODM subjects as they are now (every 15 minutes, config/celery.py;
    `followup.export_odm.keep_subjects`, each study in a snapshot of its own): the subjects whose
    data changed, and all of them after a deployment, are written here rather than by the next
    export. {study code: subjects written}; run twice, the second run writes nothing. A run
    stopped by the task's time limit has kept the subjects written until then (50 at a time,
    committed): the next run goes on from there."""
    written = {}
    for study in Study.objects.order_by("code"):
        with one_snapshot(0):
            count = keep_subjects(study)
        if count:
            written[study.code] = count
    return written
