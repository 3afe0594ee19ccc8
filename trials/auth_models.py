"""The accounts' records: wrong-password counters (`trials.throttle`), kept in the database so that
every web process counts together and sign-in does not depend on the cache; and the audit trail of
user accounts.

A user account keeps history like every configuration record (`HistoricalUser`): its names, e-mail,
active/staff/superuser flags and its groups and permissions, each change with who made it and why.
Two fields are left out: the password (a hash is never copied into history) and the last sign-in
(written by every sign-in). A save that touches only those needs no reason and writes no history
row (`trials.audit`, `AccountHistory`).

What happens to an account outside those fields is an `AccountEvent`, one row per event, never
changed or deleted: a password changed, an API token made, revoked or found expired (named by the
first characters of its key only: the key is the secret itself), the account locked by wrong
passwords or unlocked, its sessions ended. The account's audit page shows both, newest first.
"""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords

from .history_fields import saves_only_unrecorded
from .account_settings_models import AccountSettings  # noqa: F401 (a model of this app, loaded with the account models)


class PasswordFailureCount(models.Model):
    """Wrong passwords for one account (`account:<user name>`) or from one client address
    (`address:<ip>`) since the count started; forgotten at `expires_at`."""

    key = models.CharField(_("counted for"), max_length=200, unique=True)
    count = models.PositiveIntegerField(_("wrong passwords"), default=0)
    expires_at = models.DateTimeField(_("counted until"), db_index=True)

    class Meta:
        verbose_name = _("wrong-password count")
        verbose_name_plural = _("wrong-password counts")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


# The history of an account leaves these out (see the module's docstring).
UNRECORDED_USER_FIELDS = ("password", "last_login")
TOKEN_PREFIX_LENGTH = 6  # characters of a token's key kept to tell tokens apart; the rest is secret


class AccountHistory(HistoricalRecords):
    """History that writes no row for a save of left-out fields only (a sign-in's `last_login`, a
    password change: recorded as an `AccountEvent` instead)."""

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        models.signals.pre_save.connect(self.note_unrecorded, sender=sender, weak=False,
                                        dispatch_uid=f"unrecorded-{sender._meta.label}")

    def note_unrecorded(self, instance, raw=False, update_fields=None, **kwargs):
        instance._saves_only_unrecorded = (not raw and not instance._state.adding
                                           and saves_only_unrecorded(instance, update_fields))

    def post_save(self, instance, created, using=None, **kwargs):
        if not created and getattr(instance, "_saves_only_unrecorded", False):
            return
        super().post_save(instance, created, using=using, **kwargs)


register(get_user_model(), app="trials", records_class=AccountHistory, excluded_fields=list(UNRECORDED_USER_FIELDS),
         m2m_fields=["groups", "user_permissions"])


class AccountEventKind(models.TextChoices):
    PASSWORD_CHANGED = "password_changed", _("password changed")
    TOKEN_CREATED = "token_created", _("API token made")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    TOKEN_EXPIRED = "token_expired", _("expired API token replaced")
    LOCKED = "locked", _("locked by wrong passwords")
    UNLOCKED = "unlocked", _("unlocked")
    SESSIONS_ENDED = "sessions_ended", _("signed out everywhere")


# Events after which the account's sessions begun before them are signed out (`trials.sessions`).
ENDS_SESSIONS = (AccountEventKind.LOCKED, AccountEventKind.SESSIONS_ENDED)


class AppendOnly(Exception):
    """An account event was to be changed or deleted: they are kept as they were written."""


class AccountEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Account events are never changed.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnly("Account events are never changed.")

    def delete(self):
        raise AppendOnly("Account events are never deleted.")


class AccountEvent(models.Model):
    """Something that happened to an account, by whom (none: the system), when and why. Written
    once, never changed or deleted; an account with events is deactivated, not deleted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_events",
                             verbose_name=_("account"))
    kind = models.CharField(_("event"), max_length=30, choices=AccountEventKind.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+", verbose_name=_("by"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    token_prefix = models.CharField(_("API token"), max_length=TOKEN_PREFIX_LENGTH, blank=True,
                                    help_text=_("The first characters of the token's key only."))

    objects = AccountEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        indexes = [models.Index(fields=["user", "kind", "at"], name="account_event_user_kind_at")]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Account events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Account events are never deleted.")
