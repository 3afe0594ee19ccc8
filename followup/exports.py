"""Data exports (issue 15, "Exports"): who may take a study's data out, the export's life
(queued -> running -> done | failed) and its audit trail.

An investigator, a monitor, a data manager or an administrator (`Action.EXPORT`) exports the data
of the study's sites where their role allows it, never another site's. The request is recorded
(`Export`, with its history: who, when, which format and sites) and its run queued as a task
(`followup.tasks.run_export`; without a broker it runs in-process once the request commits, and a
failure to queue never fails the request: `exports_requeue`, called by the periodic reconcile,
queues it again). The run records whether the data were locked (the study, or every exported
casebook), writes the file through the format's writer and stores it under MEDIA_ROOT. On
PostgreSQL the writer reads every file and sheet in one read-only REPEATABLE READ transaction: the
export is the data as they were at one instant, however long it runs and whatever is entered
meanwhile (a lab value never without its assessment, a count never from half a change); its
progress is written through a connection of its own, so that the page polling it sees it move. The file is
kept `EXPORT_RETENTION_DAYS` days: `exports_expire` (a periodic task) then deletes it and marks the
export expired; its download answers 410 (`ExportExpired`).
"""
from __future__ import annotations

import importlib
import logging
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from enrollment.models import Participant
from trials.audit import audited_save
from trials.errors import Errors, ServiceError
from trials.models import Site, Study
from trials.queueing import queue_after_commit
from trials.scoping import Action, site_ids_for

from .export_models import Export, ExportFormat, ExportState

logger = logging.getLogger(__name__)

# A queued export not started after this long (its task was lost: broker down) is queued again.
REQUEUE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class ExportWriter:
    module: str  # imported when an export runs (the ODM writer is optional)
    function: str
    extension: str
    content_type: str

    def load(self) -> Callable | None:
        try:
            return getattr(importlib.import_module(self.module), self.function)
        except (ImportError, AttributeError):
            return None


WRITERS: dict[str, ExportWriter] = {
    ExportFormat.CSV: ExportWriter("followup.export_csv", "write_csv", "zip", "application/zip"),
    ExportFormat.XLSX: ExportWriter("followup.export_xlsx", "write_xlsx", "xlsx",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ExportFormat.ODM: ExportWriter("followup.export_odm", "write_odm", "xml", "application/xml"),
}


def export_sites(user, study: Study) -> list[Site]:
    """The study's sites where the user may export (its sites prefetched or read)."""
    allowed = set(site_ids_for(user, Action.EXPORT))
    return [site for site in study.sites.all() if site.pk in allowed]


def require_export(user, study: Study) -> list[Site]:
    """The sites the user exports; 403 when their role allows no export at any site of the study."""
    sites = export_sites(user, study)
    if not sites:
        raise PermissionDenied(_("Your role does not allow exporting this study's data."))
    return sites


def format_checked(fmt: str | None) -> str:
    """The format; an unknown one, or one whose writer is not installed, is a 400 on `format`."""
    errors = Errors()
    fmt = (fmt or "").strip().lower()
    if fmt not in WRITERS:
        errors.add("format", _("Choose one of %(formats)s.") % {"formats": ", ".join(ExportFormat.values)})
    elif WRITERS[fmt].load() is None:
        errors.add("format", _("The %(format)s export is not available on this server.") % {"format": fmt})
    errors.raise_if_any()
    return fmt


def export_visible(user, export: Export) -> bool:
    """Whether the user may see and download `export`: they may export at every site it holds."""
    allowed = set(site_ids_for(user, Action.EXPORT))
    return bool(export.site_ids) and set(export.site_ids) <= allowed


def study_exports(user, study: Study, *, limit: int = 50) -> list[Export]:
    """The study's latest exports the user may see, newest first."""
    rows = (Export.objects.filter(study=study).select_related("requested_by")
            .order_by("-requested_at", "-id")[: limit * 4])
    return [export for export in rows if export_visible(user, export)][:limit]


def reusable_export(user, study: Study, fmt: str, sites: list[Site]) -> Export | None:
    """The user's export of the same study, format and sites that is still running, or done within
    `EXPORT_REUSE_SECONDS` (a second request returns it instead of starting another)."""
    recent = timezone.now() - timedelta(seconds=settings.EXPORT_REUSE_SECONDS)
    site_ids = sorted(site.pk for site in sites)
    candidates = (Export.objects.filter(study=study, format=fmt, requested_by=user)
                  .filter(models.Q(state__in=[ExportState.QUEUED, ExportState.RUNNING])
                          | models.Q(state=ExportState.DONE, finished_at__gte=recent))
                  .order_by("-requested_at", "-id"))
    return next((export for export in candidates if export.site_ids == site_ids), None)


def export_request(*, study: Study, fmt: str, by, language: str | None = None, reuse: bool = True) -> Export:
    """Record the request and queue its run; the user's running or recent export of the same
    study, format and sites when there is one (`reuse`). 403 for a role that does not export,
    400 for an unknown or unavailable format."""
    sites = require_export(by, study)
    fmt = format_checked(fmt)
    if reuse:
        existing = reusable_export(by, study, fmt, sites)
        if existing is not None:
            return existing
    with transaction.atomic():
        export = Export(study=study, requested_by=by, requested_at=timezone.now(), format=fmt,
                        site_ids=sorted(site.pk for site in sites),
                        site_codes=", ".join(sorted(site.code for site in sites)))
        audited_save(export, by=by)
        queue_export(export, language)
    return export


# `followup.tasks.run_export`, found by its name in Celery's registry: the tasks module imports this one.
RUN_EXPORT = "followup.run_export"


def queue_export(export: Export, language: str | None) -> None:
    queue_after_commit(current_app.tasks[RUN_EXPORT], export.pk, language or translation.get_language())


def data_locked(study: Study, site_ids: list[int]) -> bool:
    """Whether the exported data cannot change: the study is locked, or every exported casebook is
    (a study without participants at these sites is locked only with the study)."""
    if study.locked_at is not None:
        return True
    counts = Participant.objects.filter(study=study, site_id__in=site_ids).aggregate(
        total=models.Count("pk"), locked=models.Count("pk", filter=models.Q(locked_at__isnull=False)))
    return counts["total"] > 0 and counts["total"] == counts["locked"]


def _set_progress(export_id: int, percent: int) -> None:
    # The progress is not audited (not in the history): a plain UPDATE, outside the history.
    models.QuerySet.update(Export.objects.filter(pk=export_id), progress=percent)


@contextmanager
def one_snapshot(export_id: int) -> Iterator[Callable[[int], None]]:
    """The export's reads in one snapshot of the database (module docstring); the function that
    writes its progress. On PostgreSQL, outside a transaction: a read-only REPEATABLE READ
    transaction, the progress written by a connection of its own (autocommit: each value seen at
    once by the page polling it). Elsewhere (SQLite, or already in a transaction) the reads are the
    caller's and the progress is written as it comes."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield lambda percent: _set_progress(export_id, percent)
        return
    apart = connections.create_connection(DEFAULT_DB_ALIAS)
    table = connection.ops.quote_name(Export._meta.db_table)

    def progress(percent: int) -> None:
        with apart.cursor() as cursor:  # not audited, as `_set_progress`
            cursor.execute(f"UPDATE {table} SET progress = %s WHERE id = %s", [percent, export_id])

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield progress
    finally:
        apart.close()


def _claim(export_id: int) -> Export | None:
    """The export, marked running, if it is queued (a re-delivered task runs nothing twice)."""
    with transaction.atomic():
        export = (Export.objects.select_for_update().select_related("study", "requested_by")
                  .filter(pk=export_id).first())
        if export is None or export.state != ExportState.QUEUED:
            return None
        study = Study.objects.get(pk=export.study_id)
        export.state, export.started_at = ExportState.RUNNING, timezone.now()
        export.data_locked = data_locked(study, export.site_ids)
        audited_save(export, by=export.requested_by, reason=_("Export started"))
    export.study = study
    return export


def export_run(*, export_id: int) -> Export | None:
    """Run a queued export: write its file, store it, mark it done (or failed, with the error).
    None when it is gone or not queued (already run)."""
    export = _claim(export_id)
    if export is None:
        return None
    writer = WRITERS[export.format]
    sites = list(Site.objects.filter(pk__in=export.site_ids).order_by("code"))
    try:
        write = writer.load()
        if write is None:
            raise LookupError(_("The %(format)s export is not available on this server.") % {"format": export.format})
        with tempfile.TemporaryFile() as out:
            with one_snapshot(export.pk) as progress:
                rows = write(export.study, sites=sites, out=out, locked=bool(export.data_locked), progress=progress)
            out.seek(0)
            stamp = timezone.localtime(export.started_at).strftime("%Y%m%d-%H%M%S")
            name = f"{export.study.code}-{stamp}-{export.pk}.{writer.extension}"
            with transaction.atomic():
                export.file.save(name, File(out), save=False)
                export.state, export.rows, export.progress = ExportState.DONE, rows, 100
                export.finished_at = timezone.now()
                audited_save(export, by=export.requested_by, reason=_("Export finished"))
    except Exception as error:  # noqa: BLE001 - any failure of a writer is the export's, said on its row
        logger.exception("Export %s failed.", export.pk)
        export.state, export.finished_at = ExportState.FAILED, timezone.now()
        export.error = str(error) or error.__class__.__name__
        if isinstance(error, SoftTimeLimitExceeded):
            export.error = _("Stopped after %(minutes)s minutes, the time limit of an export (EXPORT_TASK_TIME_LIMIT); "
                             "export fewer sites, or ask the administrator to raise the limit.") % {
                "minutes": settings.EXPORT_TASK_SOFT_TIME_LIMIT // 60}
        export.file = ""
        audited_save(export, by=export.requested_by, reason=_("Export failed"))
    return export


class ExportExpired(ServiceError):
    """The export's file was deleted at the end of its retention period (410 in the API)."""

    status = 410

    def __init__(self, export: Export):
        super().__init__({"state": [expired_message(export)]})


def expired_message(export: Export) -> str:
    return _("The file of this export was deleted %(days)s days after it was made; start a new export.") % {
        "days": settings.EXPORT_RETENTION_DAYS}


def exports_expire(*, now=None) -> list[int]:
    """Delete the files of the exports finished more than `EXPORT_RETENTION_DAYS` days ago and mark
    them expired (the export and its history stay). Idempotent: an expired export is not selected
    again, and a file already gone is no error (the export is then only marked)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPORT_RETENTION_DAYS)
    expired = []
    for pk in list(Export.objects.filter(state=ExportState.DONE, finished_at__lt=cutoff)
                   .order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            export = (Export.objects.select_for_update().select_related("requested_by")
                      .filter(pk=pk, state=ExportState.DONE).first())
            if export is None:  # expired meanwhile by another run
                continue
            if export.file:
                export.file.delete(save=False)  # before the mark: a failure leaves it to the next run
            export.state, export.expired_at, export.file = ExportState.EXPIRED, now, ""
            audited_save(export, by=export.requested_by, reason=_(
                "Export file deleted after the retention period (%(days)s days)") % {
                "days": settings.EXPORT_RETENTION_DAYS})
        expired.append(pk)
    return expired


def exports_requeue(*, now=None) -> list[int]:
    """Queue again the exports queued long ago and never started (their task was lost); an export
    running past the export time limit (`EXPORT_TASK_TIME_LIMIT`: its worker died) is marked
    failed, to be requested again."""
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.EXPORT_TASK_TIME_LIMIT) - REQUEUE_AFTER
    for export in Export.objects.filter(state=ExportState.RUNNING, started_at__lt=stuck).select_related(
            "requested_by"):
        export.state, export.finished_at = ExportState.FAILED, now
        export.error = _("Interrupted before it finished; request it again.")
        audited_save(export, by=export.requested_by, reason=_("Export failed"))
    lost = list(Export.objects.filter(state=ExportState.QUEUED, requested_at__lt=now - REQUEUE_AFTER)
                .values_list("pk", flat=True))
    for export in Export.objects.filter(pk__in=lost):
        queue_export(export, None)
    return lost
