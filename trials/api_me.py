"""The signed-in user's own account through the API: `GET /api/v1/me/` and `PATCH` of their language."""
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .limits import LimitedSerializer
from .languages import language_apply, language_choose, language_codes, language_remember, user_language

REASON = "Language changed through the API"


class MeSerializer(LimitedSerializer):
    username = serializers.CharField(read_only=True)
    language = serializers.ChoiceField(
        choices=[], allow_blank=True, allow_null=True,
        help_text=_("The language of the pages, the API and the e-mails for this user (en, zh-hans); empty or "
                    "null: the browser's language (Accept-Language)."))

    def get_fields(self):
        fields = super().get_fields()
        fields["language"].choices = language_codes()
        return fields


class MeView(APIView):
    """`GET`: the signed-in user's name and chosen language (null: none, the browser's is used).
    `PATCH {"language": "zh-hans"}`: choose it (audited); this answer and the following ones are in it."""

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        return Response(self._state(request.user))

    @extend_schema(request=MeSerializer, responses={200: MeSerializer})
    def patch(self, request):
        body = MeSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        if "language" in body.validated_data:
            language = body.validated_data["language"] or ""
            language_choose(request.user, language, by=request.user, reason=REASON)
            language_remember(request._request, request.user, language)
            if language:
                language_apply(request._request, language)
            else:
                translation.activate(translation.get_language_from_request(request._request))
        return Response(self._state(request.user))

    @staticmethod
    def _state(user) -> dict:
        return {"username": user.get_username(), "language": user_language(user) or None}
