"""REST API of adverse events (API.md 'POST /api/v1/participants/{id}/adverse-events/').

Each event is returned with ``dlt``: whether it is a dose-limiting toxicity by the definition of
CLINICAL_RULES.md section 4 (`dosing.escalation.is_dlt`, with its explanation), and whether its
onset falls inside the participant's DLT window; only an event that is both counts for the 3+3
proposal (`GET /api/v1/studies/{code}/escalation/`).
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dosing.selectors import AdverseEventDLT, adverse_event_dlt, participant_dlt_window
from enrollment.selectors import participants_visible
from trials.limits import LimitedSerializer
from trials.scoping import Action, require
from trials.units import ANALYTES

from . import services
from .models import (ActionTaken, AdverseEventCategory, Outcome, Relationship, RescueTherapyKind, SeriousnessCriterion,
                     TransfusionKind, VirologyResult)
from .models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from .statistics import DURATION_UNITS


class AdverseEventInSerializer(LimitedSerializer):
    """Types only; the service names every missing or implausible value."""

    length_model = AdverseEvent

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
    term_other = serializers.BooleanField(
        required=False, default=False,
        help_text="Other, specify: the term is not in the CTCAE v5.0 list (GET /api/v1/ctcae-terms/). Without it "
                  "an unlisted term is refused.")


class AdverseEventCreateInSerializer(AdverseEventInSerializer):
    password = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, write_only=True,
        help_text="An investigator's own password, re-entered as a signature: the event is confirmed at once. "
                  "Without it the event is a draft until an investigator confirms it "
                  "(POST /adverse-events/{id}/confirm/). A coordinator sends none (403).")


class SignatureSerializer(serializers.Serializer):
    signed_by = serializers.CharField(source="confirmed_by.username")
    signed_at = serializers.DateTimeField(source="confirmed_at")
    meaning = serializers.CharField(source="confirmation_meaning")


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
    term_other = serializers.BooleanField(help_text="Other, specify: the term is not in the CTCAE v5.0 list.")
    category = serializers.CharField()
    onset_date = serializers.DateField()
    resolution_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="draft (recorded by a coordinator or without the investigator's signature, "
                                             "an infusion reaction, a lab-derived suggestion) | confirmed | dismissed")
    confirmation = serializers.SerializerMethodField(
        help_text="The investigator's signature confirming grade, seriousness and relationship (for a dismissed "
                  "event: the signed dismissal, its meaning with the reason): who, when, meaning; null for a draft "
                  "(or an event confirmed or dismissed before signatures were recorded).")
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
    sae_reported_at = serializers.DateTimeField(
        allow_null=True, help_text="When the SAE was reported to the sponsor and ethics committee.")
    sae_reported_by = serializers.CharField(source="sae_reported_by.username", allow_null=True, default=None)
    sae_overdue = serializers.BooleanField(help_text="Serious, not reported, and past sae_report_due.")
    sae_reported_late = serializers.SerializerMethodField(help_text="Reported after sae_report_due.")
    suggested_grade = serializers.IntegerField(allow_null=True)
    suggestion = serializers.CharField()
    dismissed_reason = serializers.CharField()
    reported_by = serializers.CharField(source="reported_by.username")
    reported_at = serializers.DateTimeField()

    @extend_schema_field(SignatureSerializer(allow_null=True))
    def get_confirmation(self, event) -> dict | None:
        if event.confirmed_at is None:
            return None
        return SignatureSerializer(event).data

    def get_sae_reported_late(self, event) -> bool:
        due = event.sae_report_due
        return bool(due and event.sae_reported_at and event.sae_reported_at > due)


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
        events = (participant.adverse_events.select_related("reported_by", "sae_reported_by", "confirmed_by")
                  .order_by("onset_date", "id"))
        return Response([adverse_event_out(adverse_event_dlt(event, window)) for event in events])

    @extend_schema(request=AdverseEventCreateInSerializer, responses={201: AdverseEventWithDltSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = AdverseEventCreateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        password = data.pop("password")
        event = services.adverse_event_record(
            participant=participant, data=services.AdverseEventInput(**data), by=request.user, password=password)
        judged = adverse_event_dlt(event, participant_dlt_window(participant.infusions.all()))
        return Response(adverse_event_out(judged), status=status.HTTP_201_CREATED)


class AdverseEventUpdateInSerializer(AdverseEventInSerializer):
    """The fields to correct (only those given change) and the reason."""

    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why the event is corrected (kept in the audit trail); required.")
    password = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, write_only=True,
        help_text="An investigator's own password, re-entered as a signature: required when the correction changes "
                  "grade, serious, seriousness or relationship (403 when wrong or missing; nothing written). A "
                  "coordinator's change of these withdraws the signature: the event goes back to draft.")


def _given(serializer, request, names) -> dict:
    """The validated values of the fields the body gives (a PATCH changes only those)."""
    return {name: serializer.validated_data[name] for name in names if name in request.data}


class AdverseEventDetail(APIView):
    """One adverse event with its DLT assessment; PATCH corrects a confirmed one with a reason.

    Coordinators and investigators of the event's site correct it; a change of the relationship to
    treatment (causality) is the investigator's only (403 for a coordinator); monitors read (403
    on PATCH); another site's event is 404. A draft is confirmed or dismissed, a dismissed event
    is not corrected (409). A change of grade, serious, seriousness or relationship is signed again
    by an investigator (`password`) or, by a coordinator, withdraws the signature (back to draft).
    """

    @extend_schema(responses=AdverseEventWithDltSerializer)
    def get(self, request, pk):
        return Response(_judged(_adverse_event(request, pk, Action.VIEW)))

    @extend_schema(request=AdverseEventUpdateInSerializer, responses=AdverseEventWithDltSerializer)
    def patch(self, request, pk):
        event = _adverse_event(request, pk, Action.CAPTURE)
        serializer = AdverseEventUpdateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = _given(serializer, request, services.ADVERSE_EVENT_CORRECTABLE + ("term_other",))
        data = services.AdverseEventInput(**{name: given.get(name, services.KEEP)
                                             for name in services.ADVERSE_EVENT_CORRECTABLE},
                                          term_other=given.get("term_other", False))
        services.adverse_event_update(event=event, data=data, reason=serializer.validated_data["reason"],
                                      password=serializer.validated_data["password"], by=request.user)
        return Response(_judged(event))


class CtcaeTermSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The CTCAE v5.0 term, as it is spelt there.")
    soc = serializers.CharField(help_text="Its MedDRA system organ class.")


class CtcaeTermListSerializer(serializers.Serializer):
    version = serializers.CharField()
    terms = CtcaeTermSerializer(many=True)


class CtcaeTerms(APIView):
    """The CTCAE v5.0 terms an adverse event is recorded under (any signed-in user). A term not in
    the list is recorded as "other, specify" (`term_other: true`)."""

    @extend_schema(responses=CtcaeTermListSerializer)
    def get(self, request):
        from .ctcae_terms import ctcae_terms

        return Response(CtcaeTermListSerializer(ctcae_terms()).data)


class AdverseEventConfirmInSerializer(LimitedSerializer):
    length_model = AdverseEvent

    grade = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="Confirmed CTCAE grade 1-5.")
    serious = serializers.BooleanField(required=False, allow_null=True, default=None)
    relationship = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(Relationship.values))
    seriousness = serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                        help_text=" | ".join(SeriousnessCriterion.values))
    action_taken = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text=" | ".join(ActionTaken.values))
    outcome = serializers.CharField(required=False, allow_blank=True, default="", help_text=" | ".join(Outcome.values))
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     write_only=True, help_text="Your own password, re-entered as a signature "
                                                                "(403 when wrong or missing; nothing written).")


class AdverseEventDismissInSerializer(LimitedSerializer):
    length_model, length_fields = AdverseEvent, {"reason": "dismissed_reason"}

    reason = serializers.CharField(required=False, allow_blank=True, default="")
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     write_only=True, help_text="Your own password, re-entered as a signature "
                                                                "(403 when wrong or missing; nothing written).")


def _adverse_event(request, pk, action=Action.SIGN):
    from .models import AdverseEvent

    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user).select_related(
        "participant", "reported_by", "confirmed_by", "sae_reported_by"), pk=pk)
    require(request.user, action, [event.participant.site_id])
    return event


def _judged(event):
    infusions = event.participant.infusions.all()
    return adverse_event_out(adverse_event_dlt(event, participant_dlt_window(infusions)))


class AdverseEventConfirm(APIView):
    """An investigator grades and attributes a draft adverse event and signs it with their password
    (403 for another role or a wrong or missing password, nothing written; 409 when not a draft)."""

    @extend_schema(request=AdverseEventConfirmInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk)
        serializer = AdverseEventConfirmInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.adverse_event_confirm(event=event, by=request.user, **serializer.validated_data)
        return Response(_judged(event))


class AdverseEventDismiss(APIView):
    """An investigator dismisses a draft adverse event, with the reason, signed with their password
    (403 for another role or a wrong or missing password, nothing written; 409 when not a draft)."""

    @extend_schema(request=AdverseEventDismissInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk)
        serializer = AdverseEventDismissInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.adverse_event_dismiss(event=event, reason=serializer.validated_data["reason"],
                                       password=serializer.validated_data["password"], by=request.user)
        return Response(_judged(event))


class SaeReportInSerializer(LimitedSerializer):
    length_model = AdverseEvent

    reported_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text="When it was reported to the sponsor and ethics committee "
                                                      "(default: now).")


class AdverseEventSaeReport(APIView):
    """Record the report of a serious adverse event (CLINICAL_RULES.md section 3: within 24 h of the
    site learning of it); coordinators and investigators of the event's site, once per event."""

    @extend_schema(request=SaeReportInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk, Action.CAPTURE)
        serializer = SaeReportInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.adverse_event_sae_report(event=event, reported_at=serializer.validated_data["reported_at"],
                                          by=request.user)
        return Response(_judged(event))


class VisitRecordInSerializer(LimitedSerializer):
    length_model = Visit

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
        if data["missed"]:
            services.visit_miss(visit=visit, reason=data["reason"], by=request.user)
        else:
            services.visit_record(visit=visit, done_at=data["done_at"], deviation_reason=data["deviation_reason"],
                                  by=request.user)
        return Response(VisitOutSerializer(visit).data)


# --- assessments (API.md 'POST /api/v1/participants/{id}/assessments/') ----------------------

class AssessmentLabInSerializer(LimitedSerializer):
    length_model, length_fields = LabResult, {"unit": "entered_unit"}

    analyte = serializers.CharField(help_text="Analyte code (API.md 'Codes').")
    value = serializers.FloatField()
    unit = serializers.CharField(help_text="The SI unit or one of the analyte's accepted units.")
    lln = serializers.FloatField(required=False, allow_null=True, default=None,
                                 help_text="The reporting lab's lower limit, in the unit of the value.")
    uln = serializers.FloatField(required=False, allow_null=True, default=None)


class TransfusionInSerializer(LimitedSerializer):
    length_model = Transfusion

    kind = serializers.CharField(help_text=" | ".join(TransfusionKind.values))
    date = serializers.DateField()


class RescueTherapyInSerializer(LimitedSerializer):
    length_model = RescueTherapy

    therapy = serializers.CharField(help_text=" | ".join(RescueTherapyKind.values))
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, default=None)


class MedicationInSerializer(LimitedSerializer):
    """Kept inside the assessment's JSON list: free text, limited to TEXT_MAX_LENGTH."""

    name = serializers.CharField(required=False, allow_blank=True, default="")
    dose = serializers.CharField(required=False, allow_blank=True, default="")
    start = serializers.DateField(required=False, allow_null=True, default=None)
    end = serializers.DateField(required=False, allow_null=True, default=None)


class AssessmentInSerializer(LimitedSerializer):
    """Types only; the service names every missing or implausible value."""

    length_model, length_fields = Assessment, {"visit": (Visit, "code")}

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
    steroid_mg_per_day = serializers.FloatField(
        required=False, allow_null=True, default=None,
        help_text="Daily corticosteroid dose at this assessment, prednisone-equivalent mg/day (0-2000); "
                  "or give steroid_drug and steroid_dose_mg_per_day instead, and it is computed.")
    steroid_drug = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, default=None,
        help_text="The corticosteroid: prednisone | prednisolone | methylprednisolone | dexamethasone.")
    steroid_dose_mg_per_day = serializers.FloatField(
        required=False, allow_null=True, default=None,
        help_text="Daily dose of steroid_drug in mg (prednisone 5 = prednisolone 5 = methylprednisolone 4 = "
                  "dexamethasone 0.75).")


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
    steroid_mg_per_day = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False,
                                                  allow_null=True, help_text="Prednisone-equivalent mg/day.")
    steroid_drug = serializers.CharField(allow_blank=True, help_text="Empty: recorded as prednisone equivalent.")
    steroid_dose_mg_per_day = serializers.DecimalField(max_digits=7, decimal_places=3, coerce_to_string=False,
                                                       allow_null=True, help_text="mg/day of steroid_drug.")
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
        assessment = services.assessment_record(
            participant=participant, by=request.user, data=services.AssessmentInput(
                **{**data, "labs": [dict(lab) for lab in data["labs"]],
                   "transfusions": [dict(t) for t in data["transfusions"]],
                   "rescue_therapies": [dict(r) for r in data["rescue_therapies"]],
                   "concomitant_medications": [dict(m) for m in data["concomitant_medications"]]}))
        return Response(AssessmentOutSerializer(assessment).data, status=status.HTTP_201_CREATED)


class ResponseAssessmentSerializer(serializers.Serializer):
    date = serializers.DateField()
    category = serializers.CharField(help_text="CR, R (ITP) or PR, NR, NE (not evaluable).")
    evaluable = serializers.BooleanField()
    reason = serializers.CharField(help_text="Which values, dates and rule gave the category.")
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


class AssessmentUpdateInSerializer(AssessmentInSerializer):
    """The fields to correct and the reason; a field the body does not give stays as it is, a list
    given (labs, transfusions, rescue_therapies, ...) replaces the recorded one."""

    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why the assessment is corrected (kept in the audit trail); required.")


def _assessment_input(data: dict, default) -> services.AssessmentInput:
    """The service's input from validated API fields; a field not given is `default`."""
    from dataclasses import fields

    lists = ("labs", "transfusions", "rescue_therapies", "concomitant_medications")
    values = {name: [dict(item) for item in value] if name in lists else value for name, value in data.items()}
    return services.AssessmentInput(**{f.name: values.get(f.name, default) for f in fields(services.AssessmentInput)})


class AssessmentDetail(APIView):
    """One assessment; PATCH corrects it with a reason (a coordinator of the participant's site;
    investigators and monitors read: 403; another site's assessment: 404)."""

    def _assessment(self, request, pk):
        from .models import Assessment

        return get_object_or_404(
            Assessment.objects.visible_to(request.user).select_related("participant__screening", "visit", "recorded_by")
            .prefetch_related("labs", "transfusions", "rescue_therapies"), pk=pk)

    @extend_schema(responses=AssessmentOutSerializer)
    def get(self, request, pk):
        return Response(AssessmentOutSerializer(self._assessment(request, pk)).data)

    @extend_schema(request=AssessmentUpdateInSerializer, responses=AssessmentOutSerializer)
    def patch(self, request, pk):
        from rest_framework.exceptions import PermissionDenied

        assessment = self._assessment(request, pk)
        if not services.assessment_can_correct(request.user, assessment.participant):
            raise PermissionDenied("Only a coordinator of the participant's site corrects an assessment.")
        serializer = AssessmentUpdateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = _given(serializer, request, [name for name in serializer.fields if name != "reason"])
        corrected = services.assessment_update(assessment=assessment, data=_assessment_input(given, services.KEEP),
                                               reason=serializer.validated_data["reason"], by=request.user)
        return Response(AssessmentOutSerializer(corrected).data)


class ParticipantResponse(APIView):
    """Per-assessment categories and the best confirmed response (API.md), with their reasons."""

    @extend_schema(responses=ResponseBodySerializer)
    def get(self, request, pk):
        from rest_framework.exceptions import APIException

        from .selectors import CriteriaSetIncomplete, ResponseNotAvailable, participant_response, response_prefetch

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
        return Response(result.as_api())


def _pair(help_text: str, **extra):
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
                                 help_text=help_text, **extra)


class SurvivalAtSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="Landmark, in the block's unit (3, 6 or 12 months).")
    survival = serializers.FloatField(help_text="Kaplan-Meier probability of still being in response.")
    ci = _pair("Log-log confidence interval [lo, hi]; null where survival is 1 (no loss yet) or 0.")


class SurvivalStepSerializer(serializers.Serializer):
    time = serializers.FloatField(help_text="A time with at least one confirmed loss of response.")
    at_risk = serializers.IntegerField()
    events = serializers.IntegerField()
    censored = serializers.IntegerField(help_text="Censored at exactly this time (still counted at risk).")
    survival = serializers.FloatField()
    std_err = serializers.FloatField(allow_null=True, help_text="Greenwood standard error; null where survival is 0.")
    ci = _pair("Log-log confidence interval [lo, hi]; null where survival is 0.")


class DurationOfResponseSerializer(serializers.Serializer):
    """Kaplan-Meier duration of response of the confirmed responders (CLINICAL_RULES.md sections 1, 6)."""

    unit = serializers.ChoiceField(choices=DURATION_UNITS, help_text="Months of `days_per_unit` (30) days.")
    days_per_unit = serializers.IntegerField()
    confidence = serializers.FloatField()
    responders = serializers.IntegerField(help_text="Confirmed responders with a duration.")
    events = serializers.IntegerField(help_text="Confirmed losses of response.")
    censored = serializers.IntegerField(help_text="Censored at their last evaluable assessment.")
    median = serializers.FloatField(allow_null=True, help_text="Median duration; null while not reached.")
    median_ci = serializers.ListField(child=serializers.FloatField(allow_null=True), min_length=2, max_length=2,
                                     help_text="[lo, hi] from the log-log band; an end not reached is null.")
    at = SurvivalAtSerializer(many=True, help_text="At 3, 6 and 12 months, where follow-up reaches them.")
    steps = SurvivalStepSerializer(many=True, help_text="The step curve, one entry per loss time.")
    censored_times = serializers.ListField(child=serializers.FloatField())
    max_time = serializers.FloatField(help_text="Longest observed duration.")


class OutcomeGroupSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="Arm or dose-level code, or `all`.")
    treated = serializers.IntegerField(help_text="Received at least one infusion.")
    evaluable = serializers.IntegerField()
    responders = serializers.IntegerField(help_text="Best confirmed response CR, R or PR.")
    complete_responders = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="Responders / treated.")
    ci_exact = _pair("Clopper-Pearson 95 % CI of `rate`.")
    ci_wilson = _pair("Wilson 95 % CI of `rate`.")
    rate_evaluable = serializers.FloatField(allow_null=True, help_text="Responders / evaluable.")
    ci_exact_evaluable = _pair("Clopper-Pearson 95 % CI of `rate_evaluable`.")
    ci_wilson_evaluable = _pair("Wilson 95 % CI of `rate_evaluable`.")
    duration_of_response = DurationOfResponseSerializer(allow_null=True, help_text="Null without a responder.")


class StudyOutcomesSerializer(serializers.Serializer):
    computed_at = serializers.DateTimeField()
    groups = OutcomeGroupSerializer(many=True)


class StudyOutcomes(APIView):
    """Remission rates per arm or dose level and for all, with exact and Wilson 95 % CIs (API.md),
    also over the evaluable set, and the Kaplan-Meier duration of response of the confirmed
    responders (months of 30 days; `OutcomeGroupSerializer`).

    Served from the stored snapshot (recomputed in the background after each infusion or
    assessment); computed at once the first time a study is asked for.
    """

    @extend_schema(responses=StudyOutcomesSerializer)
    def get(self, request, code):
        from trials.models import Study

        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        snapshot = services.outcomes_current(study=study)
        return Response(StudyOutcomesSerializer(snapshot).data)


# --- worklist (API.md 'GET /api/v1/worklist/') --------------------------------------------------

class WorkItemParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    study_number = serializers.CharField()
    study = serializers.CharField(help_text="Study code.")


class WorkItemScreeningSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="Screening number.")
    study = serializers.CharField(help_text="Study code.")


class WorkItemSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="visit | infusion | sae_report | adverse_event_draft | "
                                           "eligibility_confirmation")
    status = serializers.CharField(help_text="due (window open, deadline not passed) | overdue")
    due_at = serializers.DateTimeField(help_text="Target (visit, infusion), deadline (SAE report) or when a "
                                                 "draft was opened.")
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField(allow_null=True, help_text="Null for a draft (no deadline).")
    id = serializers.IntegerField(help_text="The visit's, infusion's, adverse event's or screening's id.")
    participant = WorkItemParticipantSerializer(allow_null=True, help_text="Null for an eligibility confirmation.")
    screening = WorkItemScreeningSerializer(allow_null=True,
                                            help_text="The screening of an eligibility confirmation, else null.")
    site = serializers.CharField(help_text="Site code.")
    label = serializers.CharField()
    url = serializers.CharField(help_text="The page to act on.")
    participant_url = serializers.CharField()


class WorklistSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="{'overdue': n, 'due': m}")
    items = WorkItemSerializer(many=True)


def worklist_filters(params) -> dict:
    """`site`, `study` and `kind` (repeated or comma-separated) from the query string; an unknown
    kind is a 400 naming it."""
    from django.utils.translation import gettext as _
    from rest_framework.exceptions import ValidationError

    from .worklist import KINDS

    kinds = [kind.strip() for value in params.getlist("kind") for kind in value.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise ValidationError({"kind": [_("Unknown kind %(bad)s; use %(kinds)s.") % {
            "bad": ", ".join(unknown), "kinds": ", ".join(KINDS)}]})
    return {"site": params.get("site") or None, "study": params.get("study") or None, "kinds": kinds or None}


class Worklist(APIView):
    """What is due or overdue for the user's sites: visits and infusions whose window is open or
    passed, SAE reports to make (overdue 24 h after the site learned of the event), and for
    investigators adverse event drafts and eligible screenings to confirm with their signature;
    overdue first, then by due time. Coordinators, investigators and
    monitors."""

    @extend_schema(
        parameters=[
            OpenApiParameter("site", str, description="Site code."),
            OpenApiParameter("study", str, description="Study code."),
            OpenApiParameter("kind", str, many=True, description="visit | infusion | sae_report | "
                                                                  "adverse_event_draft | eligibility_confirmation "
                                                                  "(repeat or comma-separate)."),
        ],
        responses=WorklistSerializer)
    def get(self, request):
        from django.utils import timezone

        from .worklist import counts, worklist

        now = timezone.now()
        items = worklist(request.user, now=now, **worklist_filters(request.query_params))
        return Response({"as_of": now.isoformat(), "counts": counts(items), "items": [item.as_api() for item in items]})
