"""API tokens in the admin (Configuration > API tokens): an administrator sees when the tokens of
their sites' users were made and expire, and revokes one by deleting it; a superuser sees all."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from .api_tokens import token_expired, token_expires_at, token_revoke
from .scoping import Action, site_ids_for

admin.site.unregister(TokenProxy)


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
