"""REST API of the investigator's sign-off of a participant's casebook (`followup.signoff`):
`GET /participants/{id}/signature/` reads the casebook's signature and whether it still holds;
`POST` signs it with the investigator's password."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participant_for
from trials.limits import LimitedSerializer

from .. import signoff


class CasebookSignatureInSerializer(LimitedSerializer):
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     write_only=True, help_text="Your own password, re-entered as a signature "
                                                                "(400 when missing; 403 when wrong, nothing written).")


class CasebookSignatureOutSerializer(serializers.Serializer):
    signed = serializers.BooleanField(help_text="The casebook has been signed at least once.")
    valid = serializers.BooleanField(help_text="The latest signature holds: no change of the casebook's data since.")
    signed_by = serializers.CharField(allow_null=True, help_text="The signer's user name (latest signature).")
    signed_by_name = serializers.CharField(allow_null=True, help_text="The signer's printed name at signing.")
    signed_at = serializers.DateTimeField(allow_null=True)
    meaning = serializers.CharField(allow_null=True, help_text="The statement the signer approved.")
    changed_since = serializers.DateTimeField(
        allow_null=True, help_text="When the signature no longer holds: the time of the latest change after it.")


def signoff_out(state: signoff.CasebookSignoff) -> dict:
    signature = state.signature
    return CasebookSignatureOutSerializer({
        "signed": signature is not None, "valid": state.valid,
        "signed_by": signature.signed_by.get_username() if signature else None,
        "signed_by_name": signature.signed_by_name if signature else None,
        "signed_at": signature.signed_at if signature else None,
        "meaning": signature.meaning if signature else None,
        "changed_since": state.changed_since}).data


class ParticipantSignature(APIView):
    """The investigator's signature of the participant's casebook: read it (every role of the
    site), or sign it with the investigator's password (`Action.SIGN`: 403 for another role or a
    wrong password, nothing written; 400 without a password). Another site's participant is 404."""

    @extend_schema(responses=CasebookSignatureOutSerializer)
    def get(self, request, pk):
        participant = participant_for(request.user, pk)
        return Response(signoff_out(signoff.casebook_signature_state(participant)))

    @extend_schema(request=CasebookSignatureInSerializer, responses={201: CasebookSignatureOutSerializer})
    def post(self, request, pk):
        participant = participant_for(request.user, pk)
        serializer = CasebookSignatureInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        signoff.casebook_sign(participant=participant, password=serializer.validated_data["password"],
                              by=request.user)
        return Response(signoff_out(signoff.casebook_signature_state(participant)), status=status.HTTP_201_CREATED)
