"""What happens to accounts, recorded as `AccountEvent`s whichever path made it happen.

A password set on an account (its user's page, an administrator, `add_user`, `changepassword`) is
recorded when the account is saved. An administrator's change that takes access away ends the
account's sessions (`trials.sessions`): deactivation (which also revokes its API token), loss of
staff or superuser status or of a group, a site membership removed or its role changed. The user
and reason recorded are those of the change in progress (`trials.audit.change_context`,
`audited_save`); without one the event is the system's.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token
from simple_history.models import HistoricalRecords

from .auth_models import TOKEN_PREFIX_LENGTH, AccountEvent, AccountEventKind
from .audit_context import change_in_progress
from .models import SiteMembership

User = get_user_model()

ACCESS_FLAGS = ("is_active", "is_staff", "is_superuser")


def event_record(user, kind: str, *, by=None, reason: str = "", token: Token | None = None) -> AccountEvent:
    """Record `kind` for `user`, by `by` (None: the system) with `reason`; a token by the first
    characters of its key only."""
    limit = AccountEvent._meta.get_field("reason").max_length
    reason = (reason or "").strip()
    return AccountEvent.objects.create(
        user=user, kind=kind, by=by if getattr(by, "pk", None) else None,
        reason=reason if len(reason) <= limit else reason[: limit - 1] + "…",
        token_prefix=token.key[:TOKEN_PREFIX_LENGTH] if token is not None else "")


def _who_and_why(instance, default_reason: str) -> tuple:
    """The user and reason of the change of `instance` in progress (its own, else the context's)."""
    current = change_in_progress() or (None, "")
    by = getattr(instance, "_history_user", None) or current[0] or _requesting_user()
    reason = (getattr(instance, "_change_reason", None) or current[1] or "").strip()
    return by, reason or default_reason


def _requesting_user():
    """The signed-in user of the request in progress (simple-history's HistoryRequestMiddleware), or None."""
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


# ---------------------------------------------------------------------------------------------
# Passwords and the account's flags
# ---------------------------------------------------------------------------------------------

@receiver(pre_save, sender=User, dispatch_uid="account-access-before")
def note_access_taken(sender, instance, raw=False, update_fields=None, **kwargs):
    """Before a save of an existing account: which of its access flags it turns off."""
    instance._access_taken = ()
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(ACCESS_FLAGS):
        return
    stored = sender._base_manager.filter(pk=instance.pk).values(*ACCESS_FLAGS).first() or {}
    instance._access_taken = tuple(flag for flag in ACCESS_FLAGS if stored.get(flag) and not getattr(instance, flag))


@receiver(post_save, sender=User, dispatch_uid="account-events-after")
def record_account_changes(sender, instance, created, raw=False, **kwargs):
    if raw or created:
        return
    if instance._password is not None:  # set_password() since the account was read (Django keeps it until saved)
        by, reason = _who_and_why(instance, "Password changed")
        event_record(instance, AccountEventKind.PASSWORD_CHANGED, by=by, reason=reason)
    taken = getattr(instance, "_access_taken", ())
    if taken:
        by, reason = _who_and_why(instance, "Access removed")
        labels = {"is_active": "deactivated", "is_staff": "staff status removed",
                  "is_superuser": "superuser status removed"}
        details = ", ".join(labels[flag] for flag in taken)
        sessions_end(instance, by=by, reason=f"{reason} ({details})")
        if "is_active" in taken:
            token = Token.objects.filter(user=instance).first()
            if token is not None:
                event_record(instance, AccountEventKind.TOKEN_REVOKED, by=by, reason=f"{reason} (deactivated)",
                             token=token)
                token.delete()
    instance._access_taken = ()


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="account-groups-removed")
def record_groups_removed(sender, instance, action, reverse, pk_set, **kwargs):
    """An account taken out of a group (`user.groups.remove`, `.clear`) signs out its sessions."""
    if action in ("pre_remove", "pre_clear"):
        links = sender.objects.all()
        links = links.filter(group_id=instance.pk) if reverse else links.filter(user_id=instance.pk)
        if pk_set is not None:
            links = links.filter(**{"user_id__in" if reverse else "group_id__in": pk_set})
        instance._groups_removed = list(links.select_related("user", "group"))
        return
    if action not in ("post_remove", "post_clear"):
        return
    for link in getattr(instance, "_groups_removed", ()):
        by, reason = _who_and_why(link.group if reverse else instance, "Group removed")
        sessions_end(link.user, by=by, reason=f"{reason} (group {link.group.name} removed)")
    instance._groups_removed = []


# ---------------------------------------------------------------------------------------------
# Site memberships
# ---------------------------------------------------------------------------------------------

@receiver(pre_save, sender=SiteMembership, dispatch_uid="membership-role-before")
def note_role_before(sender, instance, raw=False, **kwargs):
    instance._role_before = None
    if not raw and instance.pk is not None:
        instance._role_before = sender._base_manager.filter(pk=instance.pk).values_list("role", flat=True).first()


@receiver(post_save, sender=SiteMembership, dispatch_uid="membership-role-after")
def end_sessions_on_role_change(sender, instance, created, raw=False, **kwargs):
    before = getattr(instance, "_role_before", None)
    if raw or created or before is None or before == instance.role:
        return
    by, reason = _who_and_why(instance, "Role changed")
    sessions_end(instance.user, by=by, reason=f"{reason} ({instance.site.code}: {before} → {instance.role})")


@receiver(post_delete, sender=SiteMembership, dispatch_uid="membership-removed")
def end_sessions_on_membership_removed(sender, instance, origin=None, **kwargs):
    deleted = origin if isinstance(origin, models.QuerySet) else [origin]
    if any(isinstance(item, User) for item in deleted):
        return  # the account itself is deleted, and its memberships with it
    by, reason = _who_and_why(instance, "Site membership removed")
    sessions_end(instance.user, by=by, reason=f"{reason} ({instance.site.code}: {instance.role} removed)")


def sessions_end(user, *, by, reason: str) -> AccountEvent:
    """Sign out every session of `user` begun before now: each one's next request finds it ended
    (`trials.sessions.SessionsEndedMiddleware`)."""
    return event_record(user, AccountEventKind.SESSIONS_ENDED, by=by, reason=reason)
