"""How the API authenticates: expiring tokens, refused while their account is locked; and who may
read the API schema and its docs page. (Imported by DRF's settings: no views here.)"""
from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import TokenAuthentication

from . import throttle
from .api_tokens import token_expired
from .languages import language_apply, user_language


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`: refused (401) once the token has expired (API_TOKEN_DAYS) or
    was revoked, and (429) while its account is locked by wrong passwords (`trials.throttle`).
    The answer is in the user's chosen language, if they chose one (a token request has no session).
    """

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is not None:
            language_apply(request._request, user_language(authenticated[0]))
        return authenticated

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed(_(
                "This API token has expired: make a new one on your API token page."))
        lock = throttle.account_lock(user)
        if lock is not None:
            raise exceptions.Throttled(wait=lock.seconds, detail=_(
                "Too many wrong passwords for this account: it is locked, its API token too, for %(minutes)d "
                "minutes.") % {"minutes": lock.minutes})
        return user, token


class SchemaAccess(permissions.BasePermission):
    """The API schema and docs: signed-in users, and anyone when API_SCHEMA_PUBLIC is on."""

    def has_permission(self, request, view):
        return settings.API_SCHEMA_PUBLIC or bool(request.user and request.user.is_authenticated)
