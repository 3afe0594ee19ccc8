"""Data locks: who locked a record, when and why (ICH E6(R3) 'data lock'; README "Locks").

A participant's casebook (`enrollment.Participant`) and a study (`trials.Study`, the data lock for
analysis, which locks every record of the study at once) carry the same three fields. A record is
locked while `locked_at` is set; unlocking clears them, and the history (django-simple-history)
keeps every lock and unlock with its user and reason. Writes go through `trials.locks` (a study)
and `enrollment.locks` (a casebook).
"""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

LOCK_REASON_MAX_LENGTH = 100  # the audit column's length: the reason is kept in both


class LockFields(models.Model):
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("locked by"))
    lock_reason = models.CharField(_("reason for the lock"), max_length=LOCK_REASON_MAX_LENGTH, blank=True)

    class Meta:
        abstract = True

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


def lock_constraint(name: str) -> models.CheckConstraint:
    """A lock names who, when and why, all three; an unlocked record none of them."""
    return models.CheckConstraint(
        condition=(Q(locked_at__isnull=True, locked_by__isnull=True, lock_reason="")
                   | (Q(locked_at__isnull=False, locked_by__isnull=False) & ~Q(lock_reason=""))),
        name=name,
    )
