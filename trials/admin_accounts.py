"""Accounts in the admin. API tokens (Configuration > API tokens): an administrator sees when the
tokens of their sites' users were made and expire, and revokes one by deleting it, with a reason.
Wrong-password counts (Configuration > Wrong-password counts): an administrator sees the counts and
locks of their sites' users' accounts and unlocks one by deleting its count, with a reason. A
superuser sees all, and the counts of client addresses. Each list links to the account's audit
trail (`trials.account_audit`). Users (superusers): every change asks for a reason."""
import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import throttle
from .account_audit import account_audit_link, account_audit_view
from .account_events import event_record
from .admin_base import CREATED_REASON
from .api_tokens import token_expired, token_expires_at, token_revoke
from .audit import audited_delete, audited_save, change_context
from .auth_models import AccountEventKind, PasswordFailureCount
from .limits import audit_reason_max_length
from .scoping import Action, site_ids_for

logger = logging.getLogger(__name__)

admin.site.unregister(TokenProxy)


def _token_title(token) -> str:
    return gettext("API token of %(user)s") % {"user": token.user.get_username()}


# The admin's titles, messages and log name a token by its user, never by its key (a credential).
TokenProxy.__str__ = _token_title


def _reason_asked(request):
    """The reason posted with a deletion (`admin/delete_with_reason.html`), or None after telling
    the administrator to give one."""
    reason = (request.POST.get("change_reason") or "").strip()
    if not reason:
        messages.error(request, _("Give a reason (for the audit trail)."))
        return None
    return reason


class ReadAndDeleteForSiteAdministrators:
    """Administrators of some site (a superuser: all) see the rows of their sites' users and delete
    them (revoke, unlock) with a reason; nobody adds or edits them here."""

    delete_confirmation_template = "admin/delete_with_reason.html"
    actions = None  # a bulk deletion would skip the reason

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            request.audit_reason = _reason_asked(request)
            if request.audit_reason is None:
                return HttpResponseRedirect(request.get_full_path())
        return super().delete_view(request, object_id, extra_context)

    def _sites(self, request) -> list[int]:
        return site_ids_for(request.user, Action.CONFIGURE_STUDY)

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or bool(self._sites(request)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TokenProxy)
class ApiTokenAdmin(ReadAndDeleteForSiteAdministrators, TokenAdmin):
    list_display = ("user", "created", "expires", "state", "audit_trail")
    list_filter = ()
    fields = ("user", "created", "expires", "state", "audit_trail")
    readonly_fields = fields

    @admin.display(description=_("account"))
    def audit_trail(self, obj):
        return account_audit_link(obj.user)

    @admin.display(description=_("expires"))
    def expires(self, obj):
        return token_expires_at(obj)

    @admin.display(description=_("state"))
    def state(self, obj):
        return _("expired") if token_expired(obj) else _("valid")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user__memberships__site_id__in=self._sites(request)).distinct()

    def delete_model(self, request, obj):
        token_revoke(obj.user, by=request.user, reason=request.audit_reason)


@admin.register(PasswordFailureCount)
class PasswordFailureCountAdmin(ReadAndDeleteForSiteAdministrators, admin.ModelAdmin):
    list_display = ("key", "count", "expires_at", "locked", "audit_trail")
    fields = ("key", "count", "expires_at", "locked", "audit_trail")
    readonly_fields = fields
    search_fields = ("key",)

    @admin.display(description=_("account"))
    def audit_trail(self, obj):
        return account_audit_link(self._accounts(obj).first())

    def _accounts(self, obj):
        if not obj.key.startswith("account:"):
            return get_user_model()._default_manager.none()
        return get_user_model()._default_manager.filter(username__iexact=obj.key.split(":", 1)[1]).order_by("pk")

    @admin.display(description=_("locked"), boolean=True)
    def locked(self, obj):
        return obj.expires_at > timezone.now() and obj.count >= throttle.limit_of(obj.key)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        names = get_user_model().objects.filter(memberships__site_id__in=self._sites(request)).values_list(
            "username", flat=True)
        return queryset.filter(key__in=[throttle.account_key(name) for name in names])

    @transaction.atomic
    def delete_model(self, request, obj):
        logger.info("Wrong-password count %s deleted (unlocked) by %s", obj.key, request.user.get_username())
        if self.locked(obj):
            for account in self._accounts(obj):
                event_record(account, AccountEventKind.UNLOCKED, by=request.user, reason=request.audit_reason)
        super().delete_model(request, obj)


# ---------------------------------------------------------------------------------------------
# Users (superusers): Django's user pages, each change with a reason
# ---------------------------------------------------------------------------------------------

class AccountChangeForm(UserChangeForm):
    change_reason = forms.CharField(
        label=_("Reason for this change"), max_length=audit_reason_max_length(),
        help_text=_("Kept in the account's audit trail."), widget=forms.TextInput(attrs={"size": 80}))


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Django's user pages: a change, a password set for the user and a deletion each ask for a
    reason, recorded with the administrator in the account's audit trail."""

    form = AccountChangeForm
    fieldsets = (*UserAdmin.fieldsets, (_("Audit"), {"fields": ("audit_trail", "change_reason")}))
    readonly_fields = ("audit_trail",)
    list_display = (*UserAdmin.list_display, "is_active", "audit_trail")
    delete_confirmation_template = "admin/delete_with_reason.html"
    actions = None

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj):
        return account_audit_link(obj if obj and obj.pk else None)

    def get_urls(self):
        audit = path("<path:object_id>/audit/", self.admin_site.admin_view(account_audit_view),
                     name="auth_user_audit")
        return [audit, *super().get_urls()]

    def _reason(self, form) -> str:
        return (form.cleaned_data.get("change_reason") or "").strip() or CREATED_REASON

    def save_model(self, request, obj, form, change):
        audited_save(obj, by=request.user, reason=self._reason(form))

    def save_related(self, request, form, formsets, change):
        with change_context(by=request.user, reason=self._reason(form)):
            super().save_related(request, form, formsets, change)

    def user_change_password(self, request, id, form_url=""):
        # The new password is the account's "password changed" event (`trials.account_events`).
        with change_context(by=request.user, reason="Password set by an administrator"):
            return super().user_change_password(request, id, form_url)

    def delete_view(self, request, object_id, extra_context=None):
        if request.method == "POST":
            request.audit_reason = _reason_asked(request)
            if request.audit_reason is None:
                return HttpResponseRedirect(request.get_full_path())
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        with transaction.atomic():
            audited_delete(obj, by=request.user, reason=request.audit_reason)
