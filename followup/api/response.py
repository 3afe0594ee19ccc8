"""REST API of a participant's response (API.md 'GET /api/v1/participants/{id}/response/'):
the category of each assessment and the best confirmed response, with their reasons."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participants_visible
from trials.messages import render

from ..selectors import CriteriaSetIncomplete, ResponseNotAvailable, participant_response, response_prefetch


class ResponseAssessmentSerializer(serializers.Serializer):
    date = serializers.DateField()
    category = serializers.CharField(help_text="CR, R (ITP) or PR, NR, NE (not evaluable).")
    evaluable = serializers.BooleanField()
    reason = serializers.CharField(
        help_text="Which values, dates and rule gave the category, in the caller's language.")
    value = serializers.FloatField(allow_null=True, help_text="The count or haemoglobin judged, in SI units.")


class BaselineSerializer(serializers.Serializer):
    analyte = serializers.CharField()
    value = serializers.FloatField()
    date = serializers.DateField()


class TimePointSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="early, initial, durable or remission (CLINICAL_RULES.md section 1).")
    target_date = serializers.DateField()
    assessment_date = serializers.DateField(allow_null=True)
    met = serializers.BooleanField(allow_null=True, help_text="null: no evaluable count near the target.")
    reason = serializers.CharField()


class ResponseBodySerializer(serializers.Serializer):
    """`GET /participants/{id}/response/` (API.md), then the detail behind it."""

    criteria_set = serializers.CharField()
    baseline = BaselineSerializer(allow_null=True)
    assessments = ResponseAssessmentSerializer(many=True)
    best_confirmed_response = serializers.CharField()
    response_date = serializers.DateField(allow_null=True)
    time_to_response_days = serializers.IntegerField(allow_null=True)
    loss_of_response_date = serializers.DateField(allow_null=True)
    complete_response_date = serializers.DateField(allow_null=True)
    loss_of_complete_response_date = serializers.DateField(allow_null=True)
    duration_of_response_days = serializers.IntegerField(allow_null=True)
    duration_censored = serializers.BooleanField(allow_null=True, help_text="true: no confirmed loss yet.")
    time_in_response_share = serializers.FloatField(allow_null=True)
    time_points = TimePointSerializer(many=True)
    lineages = serializers.DictField(
        child=serializers.DictField(), help_text="Several lineages: each involved lineage's own result, same shape.")
    explanation = serializers.CharField()


class ParticipantResponse(APIView):
    """Per-assessment categories and the best confirmed response (API.md), with their reasons."""

    @extend_schema(responses=ResponseBodySerializer)
    def get(self, request, pk):
        participant = get_object_or_404(
            participants_visible(request.user).prefetch_related(*response_prefetch()), pk=pk)
        try:
            result = participant_response(participant)
        except CriteriaSetIncomplete as reason:
            # A configuration problem, not the participant's: 409 naming the set and its missing keys.
            conflict = APIException({"response_criteria": [str(reason)]})
            conflict.status_code = status.HTTP_409_CONFLICT
            raise conflict from None
        except ResponseNotAvailable as reason:
            conflict = APIException(str(reason))
            conflict.status_code = status.HTTP_409_CONFLICT
            raise conflict from None
        return Response(result.as_api(render))
