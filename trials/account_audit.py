"""The audit trail of a user account, in the administration: every change of the account (its
flags, names, groups and permissions), of its site memberships (roles), and its events (password
changed, API tokens made, revoked or expired, locked, unlocked, signed out everywhere), newest
first, each with who did it and why, users and records by name.

For administrators: a site's administrator sees the accounts with a membership at one of the sites
they administer (another account: 404); a superuser sees every account; anyone else is refused (403).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.admin import site as admin_site
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .auth_models import AccountEvent
from .audit import FieldChange, audit_entries
from .scoping import Action, site_ids_for


@dataclass(frozen=True)
class AccountEntry:
    """One line of the account's trail: a history row (`action` created/changed/deleted) or an
    event (`action` "event", `label` its kind)."""

    when: object
    who: str
    action: str
    reason: str
    changes: tuple[FieldChange, ...]
    label: str = ""


def may_audit_accounts(user) -> bool:
    return bool(user.is_active and (user.is_superuser or site_ids_for(user, Action.CONFIGURE_STUDY)))


def accounts_visible_to(user):
    """The accounts whose trail `user` may read: all for a superuser, else those with a membership
    at a site they administer."""
    accounts = get_user_model()._default_manager.all()
    if user.is_superuser:
        return accounts
    return accounts.filter(memberships__site_id__in=site_ids_for(user, Action.CONFIGURE_STUDY)).distinct()


def account_entries(account) -> list[AccountEntry]:
    """The account's history rows and memberships (`audit_entries`) with its events, newest first."""
    entries = [AccountEntry(when=entry.when, who=entry.who, action=entry.action, reason=entry.reason,
                            changes=entry.changes) for entry in audit_entries(account)]
    for event in AccountEvent.objects.filter(user=account).select_related("by").order_by("-at", "-pk"):
        changes = (FieldChange(field=gettext("API token"), old=None, new=f"{event.token_prefix}…"),) \
            if event.token_prefix else ()
        entries.append(AccountEntry(when=event.at, who=event.by.get_username() if event.by else gettext("system"),
                                    action="event", reason=event.reason, changes=changes,
                                    label=event.get_kind_display()))
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries


def account_audit_view(request, object_id):
    if not may_audit_accounts(request.user):
        raise PermissionDenied
    try:
        account = accounts_visible_to(request.user).get(pk=int(object_id))
    except (ValueError, get_user_model().DoesNotExist):
        raise Http404 from None
    context = {
        **admin_site.each_context(request),
        "title": gettext("Audit trail of the account %(name)s") % {"name": account.get_username()},
        "account": account,
        "memberships": account.memberships.select_related("site").order_by("site__code"),
        "entries": account_entries(account),
    }
    return TemplateResponse(request, "admin/trials/account_audit.html", context)


def account_audit_url(user_id) -> str:
    return reverse("admin:auth_user_audit", args=[user_id])


def account_audit_link(user) -> str:
    """A link to the account's audit trail, for the administration's lists."""
    if user is None:
        return "—"
    return format_html('<a href="{}">{}</a>', account_audit_url(user.pk), _("audit trail"))
