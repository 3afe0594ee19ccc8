"""An export's own time limits (`EXPORT_TASK_SOFT_TIME_LIMIT`, `EXPORT_TASK_TIME_LIMIT`): the export
task runs within them, an export stopped by the soft limit is failed with the reason, and a running
export is taken for interrupted only once the export's hard limit has passed."""
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from config.celery import app
from followup import exports
from followup.export_models import Export, ExportState
from trials.tests.support import setup_update


@pytest.fixture
def study(woman, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return woman.study


def test_the_export_task_runs_within_the_exports_limits():
    task = app.tasks["followup.run_export"]
    assert (task.soft_time_limit, task.time_limit) == (settings.EXPORT_TASK_SOFT_TIME_LIMIT,
                                                       settings.EXPORT_TASK_TIME_LIMIT)
    # An ODM export of 10,000 participants takes minutes: far more room than the other tasks'.
    assert settings.EXPORT_TASK_TIME_LIMIT == 30 * 60 > settings.CELERY_TASK_TIME_LIMIT
    assert settings.EXPORT_TASK_SOFT_TIME_LIMIT == 29 * 60
    assert app.tasks["followup.reconcile"].time_limit == settings.CELERY_TASK_TIME_LIMIT  # the others: the default


def test_an_export_stopped_by_its_time_limit_says_so(study, investigator, django_capture_on_commit_callbacks,
                                                     monkeypatch):
    def too_long(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(exports.ExportWriter, "load", lambda self: too_long)
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(study=study, fmt="csv", by=investigator)
    export.refresh_from_db()
    assert export.state == ExportState.FAILED
    assert export.error.startswith("Stopped after 29 minutes, the time limit of an export (EXPORT_TASK_TIME_LIMIT)")


def test_a_running_export_is_interrupted_only_after_the_exports_limit(study, investigator):
    export = exports.export_request(study=study, fmt="csv", by=investigator)  # never committed: not run
    started = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - timedelta(minutes=5)
    setup_update(Export.objects.filter(pk=export.pk), state=ExportState.RUNNING, started_at=started)
    exports.exports_requeue(now=timezone.now())
    assert Export.objects.get(pk=export.pk).state == ExportState.RUNNING  # within the export's 30 minutes
    exports.exports_requeue(now=started + timedelta(seconds=settings.EXPORT_TASK_TIME_LIMIT) + timedelta(minutes=3))
    assert Export.objects.get(pk=export.pk).state == ExportState.FAILED
