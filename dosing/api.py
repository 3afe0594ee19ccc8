"""REST API of infusions (API.md 'POST /api/v1/participants/{id}/infusions/')."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api import raise_for
from enrollment.selectors import participants_visible
from enrollment.services import ServiceError
from trials.scoping import Action, require

from . import services
from .models import Infusion


class InfusionInSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1)
    missed = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why it was missed.")
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    weight_kg = serializers.FloatField(required=False, allow_null=True, default=None)
    cells_infused = serializers.FloatField(required=False, allow_null=True, default=None)
    product = serializers.DictField(required=False, default=dict)
    premedication = serializers.CharField(required=False, allow_blank=True, default="")
    vitals = serializers.DictField(required=False, default=dict)
    reactions = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    deviation_reason = serializers.CharField(required=False, allow_blank=True, default="")
    dose_confirmation = serializers.CharField(required=False, allow_blank=True, default="",
                                              help_text="Reason for a dose > 10 % off the computed dose or outside the plausible range.")


class InfusionOutSerializer(serializers.ModelSerializer):
    dose_level = serializers.CharField(source="dose_level.code", allow_null=True, default=None)

    class Meta:
        model = Infusion
        fields = ["id", "number", "state", "target_date", "window_start", "window_end", "anchor", "started_at",
                  "ended_at", "weight_kg", "dose_level", "dose_per_kg", "computed_dose", "cells_infused",
                  "dose_explanation", "dose_confirmation", "deviation", "deviation_reason", "missed_reason",
                  "product", "premedication", "vitals", "reactions"]


class ParticipantInfusions(APIView):
    def _participant(self, request, pk, action):
        participant = get_object_or_404(participants_visible(request.user), pk=pk)
        if action != Action.VIEW:
            require(request.user, action, [participant.site_id])
        return participant

    @extend_schema(responses=InfusionOutSerializer(many=True))
    def get(self, request, pk):
        participant = self._participant(request, pk, Action.VIEW)
        return Response(InfusionOutSerializer(participant.infusions.select_related("dose_level"), many=True).data)

    @extend_schema(request=InfusionInSerializer, responses={201: InfusionOutSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = InfusionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        try:
            if data.pop("missed"):
                row = services.infusion_miss(participant=participant, number=data["number"], reason=data["reason"],
                                             by=request.user)
            else:
                data.pop("reason")
                row = services.infusion_record(participant=participant, data=services.InfusionInput(**data),
                                               by=request.user)
        except ServiceError as error:
            raise_for(error)
        return Response(InfusionOutSerializer(row).data, status=status.HTTP_201_CREATED)
