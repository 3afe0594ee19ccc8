"""REST API of the planned visits: one marked done (a timed sample collected) or missed."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participants_visible
from trials.concurrency import StaleVersion, stale_response, version_from_request, versioned
from trials.limits import LimitedSerializer
from trials.scoping import Action, require

from .. import services
from ..models import Visit


class VisitRecordInSerializer(LimitedSerializer):
    length_model = Visit

    done_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                        help_text="When it was done (a timed sample: when it was collected).")
    deviation_reason = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text="Required when outside the window.")
    missed = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why it was missed.")
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="The version of the visit read (or If-Match): a visit re-dated or recorded since is refused "
                  "with 409.")


class VisitOutSerializer(serializers.Serializer):
    version = serializers.IntegerField(source="row_version")
    code = serializers.CharField()
    state = serializers.CharField()
    target_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)
    deviation = serializers.BooleanField()
    deviation_reason = serializers.CharField()
    missed_reason = serializers.CharField()


class ParticipantVisitRecord(APIView):
    """Mark a planned visit done (a sample collected, with its actual time) or missed."""

    @extend_schema(request=VisitRecordInSerializer, responses=VisitOutSerializer)
    def post(self, request, pk, code):
        participant = get_object_or_404(participants_visible(request.user), pk=pk)
        require(request.user, Action.CAPTURE, [participant.site_id])
        visit = get_object_or_404(participant.visits.select_related("participant"), code=code)
        serializer = VisitRecordInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = version_from_request(request, data["version"])
        try:
            if data["missed"]:
                services.visit_miss(visit=visit, reason=data["reason"], by=request.user, version=version)
            else:
                services.visit_record(visit=visit, done_at=data["done_at"], deviation_reason=data["deviation_reason"],
                                      by=request.user, version=version)
        except StaleVersion as stale:
            return stale_response(stale, VisitOutSerializer(participant.visits.get(pk=visit.pk)).data)
        return versioned(Response(VisitOutSerializer(visit).data))
