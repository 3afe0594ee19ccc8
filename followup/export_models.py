"""A data export: who took which study's data out, when, in which format, for which sites, and
whether the data were locked at the time (issue 15, "Exports"; `followup.exports` runs it).

Imported by `followup.models`. Its history (django-simple-history) is the audit trail of the
exports: the request, the start, the end (done or failed), each with who and when, and the
deletion of its file after `EXPORT_RETENTION_DAYS` (expired: the row and its history are kept).
The progress is not kept in the history (it changes every few thousand rows).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.audit_querysets import AuditedQuerySet


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV files (zip)")
    XLSX = "xlsx", _("Excel workbook")
    ODM = "odm", _("CDISC ODM 1.3.2 XML")


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")


def export_path(export, filename: str) -> str:
    return f"exports/{export.study.code}/{filename}"


class Export(models.Model):
    study = models.ForeignKey("trials.Study", on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"))
    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    site_ids = models.JSONField(_("sites (ids)"), default=list,
                                help_text=_("The sites whose data the export holds: those of the study where the "
                                            "requester may export."))
    site_codes = models.CharField(_("sites"), max_length=300)
    state = models.CharField(_("state"), max_length=10, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, max_length=300, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    expired_at = models.DateTimeField(_("file deleted at"), null=True, blank=True,
                                      help_text=_("When the file was deleted at the end of its retention period."))
    data_locked = models.BooleanField(
        _("data locked"), null=True, blank=True,
        help_text=_("Whether the study, or every exported casebook, was locked when the export ran."))
    history = HistoricalRecords(excluded_fields=["progress"])

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        constraints = [
            models.CheckConstraint(condition=Q(format__in=ExportFormat.values), name="export_format_known"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_0_to_100"),
            models.CheckConstraint(condition=~Q(state="done") | (Q(finished_at__isnull=False) & ~Q(file="")),
                                   name="done_export_has_file_and_time"),
            models.CheckConstraint(condition=~Q(state="failed") | ~Q(error=""), name="failed_export_says_why"),
            models.CheckConstraint(condition=~Q(state="expired") | (Q(expired_at__isnull=False) & Q(file="")),
                                   name="expired_export_has_no_file"),
        ]

    def __str__(self):
        return f"{self.study_id} {self.format} {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def finished(self) -> bool:
        return self.state in (ExportState.DONE, ExportState.FAILED, ExportState.EXPIRED)

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""


class KeptOdmSubject(models.Model):
    """One subject of a study's ODM export as last written (`followup.export_odm_kept`): its
    SubjectData and its AuditRecords as text, the users they name and the number of current values,
    with the fingerprint of the rows they were written from (their versions and their history's)
    and the setting (the study's metadata and the product's code). An export writes a subject kept
    under the same fingerprint and setting as it is, and writes the others again; nobody edits
    these rows (derived data, not audited: the exported rows and their history are)."""

    study = models.ForeignKey("trials.Study", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=1)  # P: a participant, S: a screening never enrolled
    subject = models.BigIntegerField()  # the participant's or the screening's id
    setting = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    current_values = models.PositiveIntegerField()
    users = models.JSONField(default=list)
    body = models.TextField()
    records = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "kind", "subject"], name="one_kept_odm_subject")]
