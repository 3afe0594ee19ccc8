"""Source data verification (SDV): a study's plan and the items a monitor verified. Imported by
`followup.models`.

`SdvPlan` says which items of each case report form a monitor compares with the source documents:
all of them, or the key items only (`followup.record_refs`, `key`). A study without a row follows
the key-items plan. `ItemVerification` is one item of one record ticked by a monitor, with the
version of the record it was verified at: a tick counts while the record stays at that version
(`followup.record_states`); rows are only ever added, so the trail of who verified what stays.
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from trials.scoping import ScopedQuerySet

from .record_refs import KINDS


class SdvScope(models.TextChoices):
    KEY = "key", _("Key items only")
    ALL = "all", _("All items")


DEFAULT_SDV_SCOPE = SdvScope.KEY


class SdvPlan(models.Model):
    study = models.OneToOneField("trials.Study", on_delete=models.CASCADE, related_name="sdv_plan")
    scope = models.CharField(_("items verified against source"), max_length=3, choices=SdvScope.choices,
                             default=DEFAULT_SDV_SCOPE)
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("changed by"))
    changed_at = models.DateTimeField(_("changed at"))
    history = HistoricalRecords()

    site_scope = "study__sites"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("source data verification plan")
        verbose_name_plural = _("source data verification plans")
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=SdvScope.values), name="sdv_plan_scope_known"),
        ]

    def __str__(self):
        return f"{self.study_id} {self.scope}"


class ItemVerification(models.Model):
    record_kind = models.CharField(_("case report form"), max_length=20,
                                   choices=[(kind.code, kind.label) for kind in KINDS.values()])
    record_pk = models.PositiveBigIntegerField(_("record"))
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT,
                                    related_name="item_verifications")
    item_code = models.CharField(_("item"), max_length=150)
    record_version = models.PositiveIntegerField(
        _("record version verified"),
        help_text=_("The verification holds while the record stays at this version."))
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("verified by"))
    verified_at = models.DateTimeField(_("verified at"))
    history = HistoricalRecords()

    site_scope = "participant__site"
    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["participant", "record_kind", "record_pk", "item_code", "verified_at", "id"]
        verbose_name = _("item verification")
        verbose_name_plural = _("item verifications")
        indexes = [models.Index(fields=["record_kind", "record_pk"], name="item_verification_record")]
        constraints = [
            models.UniqueConstraint(fields=["record_kind", "record_pk", "item_code", "record_version"],
                                    name="item_verified_once_per_record_version"),
            models.CheckConstraint(condition=Q(record_kind__in=list(KINDS)), name="item_verification_kind_known"),
            models.CheckConstraint(condition=~Q(item_code=""), name="item_verification_has_item"),
        ]

    def __str__(self):
        return f"{self.record_kind} {self.record_pk} {self.item_code} v{self.record_version}"


class SdvCount(models.Model):
    """A participant's SDV progress under the key-items plan as last counted (`followup.sdv_counts`):
    the plan items their complete records hold and those verified at the record's version, with
    the time of the latest change of their casebook that the count saw (`counted_at`). The figures
    are behind the data, and counted from the records when read, when there is no row, when the
    casebook changed since (`CasebookChange` later than `counted_at`) or when a tick was written
    since (a database trigger clears `counted_at`): no write runs a statement to keep them."""

    participant = models.OneToOneField("enrollment.Participant", on_delete=models.CASCADE, primary_key=True,
                                       related_name="sdv_count", verbose_name=_("participant"))
    required = models.PositiveIntegerField(_("plan items to verify"), default=0)
    verified = models.PositiveIntegerField(_("plan items verified"), default=0)
    counted_at = models.DateTimeField(_("casebook counted as changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SDV count")

    def __str__(self):
        return f"{self.participant_id}: {self.verified}/{self.required} as of {self.counted_at}"
