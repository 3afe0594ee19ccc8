"""Protocol versions of a study (`trials.versions` holds what belongs to one). Imported by
`trials.models`.

A version is written once, when an administrator activates it with a reason
(`trials.amendments`), and holds the study's items and criteria as they were then. The study
points at the version in force; the one before it is retired. Nothing edits a version's protocol
afterwards.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import versions as rules
from .scoping import ScopedQuerySet


class VersionStatus(models.TextChoices):
    ACTIVE = "active", _("in force")
    RETIRED = "retired", _("retired")


class StudyVersion(models.Model):
    study = models.ForeignKey("trials.Study", on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(_("protocol version"), max_length=40)
    effective_date = models.DateField(_("effective date"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.ACTIVE)
    protocol = models.JSONField(_("items and criteria"), default=dict,
                                help_text=_("The study's items and eligibility criteria in this version, as in a "
                                            "study definition."))
    visits = models.JSONField(_("visit forms"), default=list, blank=True,
                              help_text=_("The study's visits as [code, id] pairs, in schedule order, when the version "
                                          "was activated (the items' forms name visit codes)."))
    changes = models.JSONField(_("changes from the previous version"), default=list, blank=True)
    reason = models.TextField(_("reason"))
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("activated by"))
    activated_at = models.DateTimeField(_("activated at"))
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["study", "activated_at", "id"]
        verbose_name = _("protocol version")
        verbose_name_plural = _("protocol versions")
        constraints = [
            models.UniqueConstraint(fields=["study", "version"], name="protocol_version_once_per_study"),
            models.UniqueConstraint(fields=["study"], condition=Q(status="active"),
                                    name="one_protocol_version_in_force"),
        ]

    def __str__(self):
        return f"{self.study_id} {self.version}"

    @property
    def change_rows(self) -> list[rules.Change]:
        return [rules.Change.from_dict(row) for row in self.changes or []]

    def criteria(self) -> list[dict]:
        return list(self.protocol.get("criteria") or [])

    def form_items(self, form: str) -> list:
        return rules.form_items(self.protocol, form)
