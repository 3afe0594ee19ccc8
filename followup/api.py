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
from trials.units import ANALYTES

from . import services
from .models import (ActionTaken, AdverseEventCategory, Outcome, Relationship, RescueTherapyKind, SeriousnessCriterion,
                     TransfusionKind, VirologyResult)


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
    seriousness = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                        help_text="Seriousness criteria of a serious event: "
                                                  + " | ".join(SeriousnessCriterion.values))
    action_taken = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(ActionTaken.values))
    outcome = serializers.CharField(required=False, allow_blank=True, default="", help_text=" | ".join(Outcome.values))
    site_aware_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                              help_text="When the site learned of it (default: now).")


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
    status = serializers.CharField(help_text="draft (an infusion reaction or a lab-derived suggestion) | confirmed | dismissed")
    grade = serializers.IntegerField(allow_null=True)
    serious = serializers.BooleanField(allow_null=True)
    relationship = serializers.CharField()
    infusion = serializers.IntegerField(source="infusion.number", allow_null=True, default=None)
    resolved_to_grade1_within_48h = serializers.BooleanField()
    stopped_infusions = serializers.BooleanField()
    platelet_drop_confirmed = serializers.BooleanField()
    description = serializers.CharField()
    seriousness = serializers.ListField(child=serializers.CharField())
    action_taken = serializers.CharField()
    outcome = serializers.CharField()
    site_aware_at = serializers.DateTimeField()
    sae_report_due = serializers.DateTimeField(allow_null=True, help_text="site_aware_at + 24 h for a serious event.")
    suggested_grade = serializers.IntegerField(allow_null=True)
    suggestion = serializers.CharField()
    dismissed_reason = serializers.CharField()
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


class AdverseEventConfirmInSerializer(serializers.Serializer):
    grade = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Confirmed CTCAE grade 1-5.")
    serious = serializers.BooleanField(required=False, allow_null=True, default=None)
    relationship = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(Relationship.values))
    seriousness = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                        help_text=" | ".join(SeriousnessCriterion.values))
    action_taken = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(ActionTaken.values))
    outcome = serializers.CharField(required=False, allow_blank=True, default="", help_text=" | ".join(Outcome.values))


class AdverseEventDismissInSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


def _adverse_event(request, pk):
    from .models import AdverseEvent

    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user).select_related("participant",
                                                                                             "reported_by"), pk=pk)
    require(request.user, Action.SIGN, [event.participant.site_id])
    return event


def _judged(event):
    infusions = event.participant.infusions.all()
    return adverse_event_out(adverse_event_dlt(event, participant_dlt_window(infusions)))


class AdverseEventConfirm(APIView):
    """An investigator grades and attributes a draft adverse event."""

    @extend_schema(request=AdverseEventConfirmInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk)
        serializer = AdverseEventConfirmInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.adverse_event_confirm(event=event, by=request.user, **serializer.validated_data)
        except ServiceError as error:
            raise_for(error)
        return Response(_judged(event))


class AdverseEventDismiss(APIView):
    """An investigator dismisses a draft adverse event, with the reason."""

    @extend_schema(request=AdverseEventDismissInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk)
        serializer = AdverseEventDismissInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.adverse_event_dismiss(event=event, reason=serializer.validated_data["reason"], by=request.user)
        except ServiceError as error:
            raise_for(error)
        return Response(_judged(event))


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


# --- assessments (API.md 'POST /api/v1/participants/{id}/assessments/') ----------------------

class AssessmentLabInSerializer(serializers.Serializer):
    analyte = serializers.CharField(help_text="Analyte code (API.md 'Codes').")
    value = serializers.FloatField()
    unit = serializers.CharField(help_text="The SI unit or one of the analyte's accepted units.")
    lln = serializers.FloatField(required=False, allow_null=True, default=None,
                                 help_text="The reporting lab's lower limit, in the unit of the value.")
    uln = serializers.FloatField(required=False, allow_null=True, default=None)


class TransfusionInSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=" | ".join(TransfusionKind.values))
    date = serializers.DateField()


class RescueTherapyInSerializer(serializers.Serializer):
    therapy = serializers.CharField(help_text=" | ".join(RescueTherapyKind.values))
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, default=None)


class MedicationInSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, default="")
    dose = serializers.CharField(required=False, allow_blank=True, default="")
    start = serializers.DateField(required=False, allow_null=True, default=None)
    end = serializers.DateField(required=False, allow_null=True, default=None)


class AssessmentInSerializer(serializers.Serializer):
    """Types only; the service names every missing or implausible value."""

    date = serializers.DateField(required=False, allow_null=True, default=None)
    visit = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None,
                                  help_text="A visit code of the participant; null: an unscheduled assessment.")
    labs = AssessmentLabInSerializer(many=True, required=False, default=list)
    bleeding_grade = serializers.IntegerField(required=False, allow_null=True, default=None,
                                              help_text="WHO bleeding grade 0-4.")
    transfusions = TransfusionInSerializer(many=True, required=False, default=list)
    rescue_therapies = RescueTherapyInSerializer(many=True, required=False, default=list)
    concomitant_medications = MedicationInSerializer(many=True, required=False, default=list)
    virology = serializers.DictField(child=serializers.CharField(), required=False, default=dict,
                                     help_text="hbv, hcv, hiv, syphilis: " + " | ".join(VirologyResult.values))
    immune_panel = serializers.DictField(child=serializers.FloatField(), required=False, default=dict,
                                         help_text="th17, tfh, treg, breg, nk: % of lymphocytes (0-100).")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    deviation_reason = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text="Required when the visit is outside its window.")


class LabResultOutSerializer(serializers.Serializer):
    analyte = serializers.CharField()
    value = serializers.FloatField(help_text="SI value")
    unit = serializers.SerializerMethodField(help_text="SI unit")
    entered_value = serializers.FloatField()
    entered_unit = serializers.CharField()
    lln = serializers.FloatField(allow_null=True, help_text="Lower limit of normal used (SI).")
    uln = serializers.FloatField(allow_null=True, help_text="Upper limit of normal used (SI).")
    range_source = serializers.CharField(help_text="report | site | report+site | empty: no range known")
    report_lln = serializers.FloatField(allow_null=True)
    report_uln = serializers.FloatField(allow_null=True)

    def get_unit(self, lab) -> str:
        return ANALYTES[lab.analyte].si_unit


class TransfusionOutSerializer(serializers.Serializer):
    kind = serializers.CharField()
    date = serializers.DateField()


class RescueTherapyOutSerializer(serializers.Serializer):
    therapy = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField(allow_null=True)


class AssessmentOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    participant = serializers.IntegerField(source="participant_id")
    date = serializers.DateField()
    visit = serializers.CharField(source="visit.code", allow_null=True, default=None)
    visit_deviation = serializers.BooleanField(source="visit.deviation", allow_null=True, default=None)
    labs = LabResultOutSerializer(many=True)
    bleeding_grade = serializers.IntegerField(allow_null=True)
    transfusions = TransfusionOutSerializer(many=True)
    rescue_therapies = RescueTherapyOutSerializer(many=True)
    concomitant_medications = serializers.JSONField()
    virology = serializers.JSONField()
    immune_panel = serializers.JSONField()
    notes = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    recorded_at = serializers.DateTimeField()


class ParticipantAssessments(APIView):
    def _participant(self, request, pk, action):
        participant = get_object_or_404(participants_visible(request.user), pk=pk)
        if action != Action.VIEW:
            require(request.user, action, [participant.site_id])
        return participant

    @extend_schema(responses=AssessmentOutSerializer(many=True))
    def get(self, request, pk):
        participant = self._participant(request, pk, Action.VIEW)
        assessments = (participant.assessments.select_related("visit", "recorded_by")
                       .prefetch_related("labs", "transfusions", "rescue_therapies").order_by("date", "id"))
        return Response(AssessmentOutSerializer(assessments, many=True).data)

    @extend_schema(request=AssessmentInSerializer, responses={201: AssessmentOutSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = AssessmentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            assessment = services.assessment_record(
                participant=participant, by=request.user, data=services.AssessmentInput(
                    **{**data, "labs": [dict(lab) for lab in data["labs"]],
                       "transfusions": [dict(t) for t in data["transfusions"]],
                       "rescue_therapies": [dict(r) for r in data["rescue_therapies"]],
                       "concomitant_medications": [dict(m) for m in data["concomitant_medications"]]}))
        except ServiceError as error:
            raise_for(error)
        return Response(AssessmentOutSerializer(assessment).data, status=status.HTTP_201_CREATED)


class ParticipantResponse(APIView):
    """Per-assessment categories and the best confirmed response (API.md), with their reasons."""

    @extend_schema(responses=dict)
    def get(self, request, pk):
        from rest_framework.exceptions import APIException

        from .selectors import ResponseNotAvailable, participant_response, response_prefetch

        participant = get_object_or_404(
            participants_visible(request.user).prefetch_related(*response_prefetch()), pk=pk)
        try:
            result = participant_response(participant)
        except ResponseNotAvailable as reason:
            conflict = APIException(str(reason))
            conflict.status_code = status.HTTP_409_CONFLICT
            raise conflict from None
        return Response({**result.as_api(), "explanation": result.explanation})


class StudyOutcomes(APIView):
    """Remission rates per arm or dose level and for all, with exact and Wilson 95 % CIs (API.md).

    Served from the stored snapshot (recomputed in the background after each infusion or
    assessment); computed at once the first time a study is asked for.
    """

    @extend_schema(responses=dict)
    def get(self, request, code):
        from trials.models import Study

        from .models import OutcomeSnapshot

        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        snapshot = OutcomeSnapshot.objects.filter(study=study).first() or services.outcomes_compute(study=study)
        return Response({"computed_at": snapshot.computed_at, "groups": snapshot.groups})
