"""The API docs page (sign-in first unless API_SCHEMA_PUBLIC) and the user's own token endpoint."""
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.views import APIView

from .api_tokens import token_expires_at, token_revoke


class ApiDocsView(SpectacularSwaggerSplitView):
    """The docs page; a visitor who may not read it is sent to sign in."""

    def permission_denied(self, request, message=None, code=None):
        if not request.user.is_authenticated and request.GET.get("script") is None:
            raise _SignIn(request.get_full_path())
        super().permission_denied(request, message, code)

    def handle_exception(self, exc):
        if isinstance(exc, _SignIn):
            return redirect_to_login(exc.next)
        return super().handle_exception(exc)


class _SignIn(Exception):
    def __init__(self, next_url: str):
        super().__init__(next_url)
        self.next = next_url


TOKEN_STATE = inline_serializer("ApiTokenState", {
    "created": serializers.DateTimeField(),
    "expires": serializers.DateTimeField(),
})


class ApiTokenView(APIView):
    """The signed-in user's own API token: `GET` when it was made and when it expires (404 without
    one); `DELETE` revokes it (204), after which it is refused."""

    @extend_schema(responses={200: TOKEN_STATE})
    def get(self, request):
        token = Token.objects.filter(user=request.user).first()
        if token is None:
            raise exceptions.NotFound(_("You have no API token."))
        return Response({"created": token.created, "expires": token_expires_at(token)})

    @extend_schema(responses={204: None})
    def delete(self, request):
        if not token_revoke(request.user, by=request.user):
            raise exceptions.NotFound(_("You have no API token."))
        return Response(status=status.HTTP_204_NO_CONTENT)
