"""Accounts in the admin. API tokens (Configuration > API tokens): an administrator sees when the
tokens of their sites' users were made and expire, and revokes one by deleting it. Wrong-password
counts (Configuration > Wrong-password counts): an administrator sees the counts and locks of their
sites' users' accounts and unlocks one by deleting its count. A superuser sees all, and the counts
of client addresses."""
import logging

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from . import throttle
from .api_tokens import token_expired, token_expires_at, token_revoke
from .auth_models import PasswordFailureCount
from .scoping import Action, site_ids_for

logger = logging.getLogger(__name__)

admin.site.unregister(TokenProxy)


def _token_title(token) -> str:
    return gettext("API token of %(user)s") % {"user": token.user.get_username()}


# The admin's titles, messages and log name a token by its user, never by its key (a credential).
TokenProxy.__str__ = _token_title


@admin.register(TokenProxy)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("user", "created", "expires", "state")
    list_filter = ()
    fields = ("user", "created", "expires", "state")
    readonly_fields = fields

    @admin.display(description=_("expires"))
    def expires(self, obj):
        return token_expires_at(obj)

    @admin.display(description=_("state"))
    def state(self, obj):
        return _("expired") if token_expired(obj) else _("valid")

    def _sites(self, request) -> list[int]:
        return site_ids_for(request.user, Action.CONFIGURE_STUDY)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user__memberships__site_id__in=self._sites(request)).distinct()

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

    def delete_model(self, request, obj):
        token_revoke(obj.user, by=request.user)


@admin.register(PasswordFailureCount)
class PasswordFailureCountAdmin(admin.ModelAdmin):
    list_display = ("key", "count", "expires_at", "locked")
    fields = ("key", "count", "expires_at", "locked")
    readonly_fields = fields
    search_fields = ("key",)
    actions = None

    @admin.display(description=_("locked"), boolean=True)
    def locked(self, obj):
        return obj.expires_at > timezone.now() and obj.count >= throttle.limit_of(obj.key)

    def _sites(self, request) -> list[int]:
        return site_ids_for(request.user, Action.CONFIGURE_STUDY)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        names = get_user_model().objects.filter(memberships__site_id__in=self._sites(request)).values_list(
            "username", flat=True)
        return queryset.filter(key__in=[throttle.account_key(name) for name in names])

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

    def delete_model(self, request, obj):
        logger.info("Wrong-password count %s deleted (unlocked) by %s", obj.key, request.user.get_username())
        super().delete_model(request, obj)
