"""REST API of adverse events (API.md 'POST /api/v1/participants/{id}/adverse-events/').

Each event is returned with ``dlt``: whether it is a dose-limiting toxicity by the definition of
CLINICAL_RULES.md section 4 (`dosing.escalation.is_dlt`, with its explanation), and whether its
onset falls inside the participant's DLT window; only an event that is both counts for the 3+3
proposal (`GET /api/v1/studies/{code}/escalation/`).
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dosing.selectors import AdverseEventDLT, adverse_event_dlt, participant_dlt_window
from enrollment.api import raise_for
from enrollment.selectors import participants_visible
from enrollment.services import ServiceError
from trials.scoping import Action, require

from . import services
from .models import AdverseEventCategory, Relationship


class AdverseEventInSerializer(serializers.Serializer):
    """Types only; the service names every missing or implausible value."""

    term = serializers.CharField(required=False, allow_blank=True, default="", help_text="CTCAE term.")
    category = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text=" | ".join(AdverseEventCategory.values))
    onset_date = serializers.DateField(required=False, allow_null=True, default=None)
    resolution_date = serializers.DateField(required=False, allow_null=True, default=None)
    grade = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Confirmed CTCAE grade 1-5.")
    serious = serializers.BooleanField(required=False, allow_null=True, default=None)
    relationship = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(Relationship.values))
    resolved_to_grade1_within_48h = serializers.BooleanField(required=False, default=False)
    stopped_infusions = serializers.BooleanField(required=False, default=False)
    platelet_drop_confirmed = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class DltWindowSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class DltSerializer(serializers.Serializer):
    is_dlt = serializers.BooleanField(help_text="A DLT by the definition of CLINICAL_RULES.md section 4.")
    explanation = serializers.CharField()
    in_dlt_window = serializers.BooleanField(help_text="The onset falls inside the participant's DLT window.")
    dlt_window = DltWindowSerializer(allow_null=True)
    window_explanation = serializers.CharField()
    counts = serializers.BooleanField(help_text="Counts as a DLT for the 3+3 proposal (both of the above).")


class AdverseEventOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    participant = serializers.IntegerField(source="participant_id")
    term = serializers.CharField()
    category = serializers.CharField()
    onset_date = serializers.DateField()
    resolution_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="draft (opened by an infusion reaction) | confirmed")
    grade = serializers.IntegerField(allow_null=True)
    serious = serializers.BooleanField(allow_null=True)
    relationship = serializers.CharField()
    infusion = serializers.IntegerField(source="infusion.number", allow_null=True, default=None)
    resolved_to_grade1_within_48h = serializers.BooleanField()
    stopped_infusions = serializers.BooleanField()
    platelet_drop_confirmed = serializers.BooleanField()
    description = serializers.CharField()
    reported_by = serializers.CharField(source="reported_by.username")
    reported_at = serializers.DateTimeField()


def adverse_event_out(judged: AdverseEventDLT) -> dict:
    window = judged.dlt_window
    return {
        **AdverseEventOutSerializer(judged.adverse_event).data,
        "dlt": {
            "is_dlt": judged.is_dlt,
            "explanation": judged.explanation,
            "in_dlt_window": judged.in_dlt_window,
            "dlt_window": {"start": window[0].isoformat(), "end": window[1].isoformat()} if window else None,
            "window_explanation": judged.window_explanation,
            "counts": judged.counts,
        },
    }


class AdverseEventWithDltSerializer(AdverseEventOutSerializer):
    dlt = DltSerializer()


class ParticipantAdverseEvents(APIView):
    def _participant(self, request, pk, action):
        participant = get_object_or_404(
            participants_visible(request.user).prefetch_related("infusions", "screening__consents"), pk=pk)
        if action != Action.VIEW:
            require(request.user, action, [participant.site_id])
        return participant

    @extend_schema(responses=AdverseEventWithDltSerializer(many=True))
    def get(self, request, pk):
        participant = self._participant(request, pk, Action.VIEW)
        window = participant_dlt_window(participant.infusions.all())
        events = participant.adverse_events.select_related("reported_by").order_by("onset_date", "id")
        return Response([adverse_event_out(adverse_event_dlt(event, window)) for event in events])

    @extend_schema(request=AdverseEventInSerializer, responses={201: AdverseEventWithDltSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = AdverseEventInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            event = services.adverse_event_record(
                participant=participant, data=services.AdverseEventInput(**serializer.validated_data), by=request.user)
        except ServiceError as error:
            raise_for(error)
        judged = adverse_event_dlt(event, participant_dlt_window(participant.infusions.all()))
        return Response(adverse_event_out(judged), status=status.HTTP_201_CREATED)


class VisitRecordInSerializer(serializers.Serializer):
    done_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                        help_text="When it was done (a timed sample: when it was collected).")
    deviation_reason = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text="Required when outside the window.")
    missed = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Why it was missed.")


class VisitOutSerializer(serializers.Serializer):
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
        try:
            if data["missed"]:
                services.visit_miss(visit=visit, reason=data["reason"], by=request.user)
            else:
                services.visit_record(visit=visit, done_at=data["done_at"], deviation_reason=data["deviation_reason"],
                                      by=request.user)
        except ServiceError as error:
            raise_for(error)
        return Response(VisitOutSerializer(visit).data)
