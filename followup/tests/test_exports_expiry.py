"""Export files are kept `EXPORT_RETENTION_DAYS` days (`followup.exports.exports_expire`, the periodic
task `followup.expire_exports`): then the file is deleted, the export stays with its history and
is marked expired, its download answers 410 and the Exports page says so; a second run changes
nothing."""
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from followup import exports, tasks
from followup.export_models import Export
from trials.tests.support import client_for, setup_update


@pytest.fixture
def done(woman, investigator, settings, tmp_path, django_capture_on_commit_callbacks):
    """A finished CSV export of the woman's study, its file under a MEDIA_ROOT of the test's own."""
    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_RETENTION_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(study=woman.study, fmt="csv", by=investigator, reuse=False)
    export.refresh_from_db()
    assert export.state == "done", export.error
    return export


def age(export, days):
    setup_update(Export.objects.filter(pk=export.pk), finished_at=timezone.now() - timedelta(days=days))


def test_a_file_past_the_retention_is_deleted_and_the_export_kept(done):
    path = done.file.path
    assert os.path.exists(path)
    age(done, 31)

    assert exports.exports_expire() == [done.pk]

    export = Export.objects.get(pk=done.pk)
    assert not os.path.exists(path)
    assert (export.state, export.file.name, export.rows) == ("expired", "", done.rows)
    assert export.expired_at is not None and export.requested_by_id == done.requested_by_id
    last = export.history.order_by("-history_date", "-history_id").first()
    assert last.state == "expired" and last.history_user_id == done.requested_by_id
    assert last.history_change_reason == "Export file deleted after the retention period (30 days)"
    states = [h.state for h in export.history.order_by("history_date", "history_id")]
    assert states[:3] == ["queued", "running", "done"] and states[-1] == "expired"


def test_a_recent_export_and_an_unfinished_one_are_kept(done, woman, investigator):
    age(done, 29)
    queued = exports.export_request(study=woman.study, fmt="xlsx", by=investigator, reuse=False)
    setup_update(Export.objects.filter(pk=queued.pk), requested_at=timezone.now() - timedelta(days=90))

    assert exports.exports_expire() == []
    assert os.path.exists(Export.objects.get(pk=done.pk).file.path)
    assert Export.objects.get(pk=queued.pk).state == "queued"


def test_the_retention_is_a_setting(done, settings):
    age(done, 8)
    settings.EXPORT_RETENTION_DAYS = 7
    assert exports.exports_expire() == [done.pk]


def test_the_task_is_idempotent(done):
    age(done, 40)
    assert tasks.expire_exports() == [done.pk]
    history = Export.history.filter(id=done.pk).count()
    # Run again (a re-delivered or a second beat): nothing changes, no history row is added.
    assert tasks.expire_exports() == []
    assert Export.history.filter(id=done.pk).count() == history
    assert Export.objects.get(pk=done.pk).state == "expired"


def test_a_file_already_gone_is_no_error(done):
    os.remove(done.file.path)
    age(done, 31)
    assert exports.exports_expire() == [done.pk]
    assert Export.objects.get(pk=done.pk).state == "expired"


def test_the_task_is_on_the_beat_schedule():
    schedule = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    assert schedule["followup.expire_exports"]["schedule"] == 60 * 60.0
    assert "followup.expire_exports" in app.tasks


def test_the_download_of_an_expired_export_is_410(done, investigator):
    age(done, 31)
    exports.exports_expire()
    client = client_for(investigator)

    response = client.get(f"/api/v1/exports/{done.pk}/download/")

    assert response.status_code == 410
    assert response.json()["errors"]["state"] == [
        "The file of this export was deleted 30 days after it was made; start a new export."]
    status = client.get(f"/api/v1/exports/{done.pk}/").json()
    assert status["state"] == "expired" and status["download_url"] is None and status["expired_at"]


def test_the_expired_download_is_still_refused_to_others(done, make_user):
    age(done, 31)
    exports.exports_expire()
    assert client_for(make_user("coordinator")).get(f"/api/v1/exports/{done.pk}/download/").status_code == 404
    assert client_for(make_user("investigator", site="XH")).get(
        f"/api/v1/exports/{done.pk}/download/").status_code == 404


def test_the_page_says_the_file_was_deleted(client, done, investigator):
    age(done, 31)
    exports.exports_expire()
    client.force_login(investigator)

    page = client.get(f"/studies/{done.study.code}/exports/?export={done.pk}").content.decode()

    assert "The file of this export was deleted 30 days after it was made; start a new export." in page
    assert f'href="/api/v1/exports/{done.pk}/download/"' not in page
    assert "data-export-expired" in page and "Expired" in page


def test_the_page_says_so_in_chinese(client, done, investigator):
    age(done, 31)
    exports.exports_expire()
    client.force_login(investigator)
    page = client.get(f"/studies/{done.study.code}/exports/?export={done.pk}",
                      HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已过期" in page and "导出文件已在生成 30 天后删除" in page
