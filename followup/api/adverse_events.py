"""REST API of adverse events (API.md 'POST /api/v1/participants/{id}/adverse-events/').

Each event is returned with ``dlt``: whether it is a dose-limiting toxicity by the definition of
CLINICAL_RULES.md section 4 (`dosing.escalation.is_dlt`, with its explanation), and whether its
onset falls inside the participant's DLT window; only an event that is both counts for the 3+3
proposal (`GET /api/v1/studies/{code}/escalation/`).
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dosing.selectors import adverse_event_dlt, participant_dlt_window
from enrollment.selectors import participant_for
from trials.concurrency import StaleVersion, stale_response, version_from_request, versioned
from trials.limits import LimitedSerializer
from trials.scoping import Action, require

from .. import services
from ..ctcae_terms import ctcae_terms
from ..models import ActionTaken, AdverseEvent, AdverseEventCategory, Outcome, Relationship, SeriousnessCriterion
from .common import given_fields


class AdverseEventInSerializer(LimitedSerializer):
    """Types only; the service names every missing or implausible value."""

    length_model = AdverseEvent

    term = serializers.CharField(required=False, allow_blank=True, default="", help_text="CTCAE term.")
    category = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text=" | ".join(AdverseEventCategory.values))
    onset_date = serializers.DateField(required=False, allow_null=True, default=None)
    resolution_date = serializers.DateField(required=False, allow_null=True, default=None)
    grade = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text="Confirmed CTCAE grade 1-5.")
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
    # The window is a (start, end) pair of dates. (No docstring: it would be the schema's description.)
    start = serializers.DateField()
    end = serializers.DateField()

    def to_representation(self, window):
        start, end = window
        return super().to_representation({"start": start, "end": end})


class DltSerializer(serializers.Serializer):
    # An event's DLT assessment (`dosing.selectors.adverse_event_dlt`) against the participant's DLT
    # window, which the context gives (`dlt_window`).
    is_dlt = serializers.BooleanField(help_text="A DLT by the definition of CLINICAL_RULES.md section 4.")
    explanation = serializers.CharField()
    in_dlt_window = serializers.BooleanField(help_text="The onset falls inside the participant's DLT window.")
    dlt_window = DltWindowSerializer(allow_null=True)
    window_explanation = serializers.CharField()
    counts = serializers.BooleanField(help_text="Counts as a DLT for the 3+3 proposal (both of the above).")

    def to_representation(self, event):
        return super().to_representation(adverse_event_dlt(event, self.context["dlt_window"]))


class AdverseEventWithDltSerializer(serializers.Serializer):
    # An adverse event with its DLT assessment (`dlt`); the context gives the participant's DLT window
    # (`dlt_window`, `dosing.selectors.participant_dlt_window`): see `adverse_event_out`.
    id = serializers.IntegerField()
    participant = serializers.IntegerField(source="participant_id")
    term = serializers.CharField()
    term_other = serializers.BooleanField(help_text="Other, specify: the term is not in the CTCAE v5.0 list.")
    category = serializers.CharField()
    onset_date = serializers.DateField()
    resolution_date = serializers.DateField(allow_null=True)
    status = serializers.CharField(help_text="draft (recorded by a coordinator or without the investigator's "
                                             "signature, an infusion reaction, a lab-derived suggestion) | confirmed | "
                                             "dismissed")
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
    dlt = DltSerializer(source="*")
    version = serializers.IntegerField(source="row_version", read_only=True,
                                       help_text="Send it back with a change (PATCH `version` or `If-Match`).")

    @extend_schema_field(SignatureSerializer(allow_null=True))
    def get_confirmation(self, event) -> dict | None:
        if event.confirmed_at is None:
            return None
        return SignatureSerializer(event).data

    def get_sae_reported_late(self, event) -> bool:
        due = event.sae_report_due
        return bool(due and event.sae_reported_at and event.sae_reported_at > due)


def adverse_event_out(event, window, *, many=False):
    """The event (or, `many`, the events) of one participant as the API returns it, judged against
    the participant's DLT `window` (`dosing.selectors.participant_dlt_window`)."""
    return AdverseEventWithDltSerializer(event, many=many, context={"dlt_window": window}).data


class ParticipantAdverseEvents(APIView):
    def _participant(self, request, pk, action):
        return participant_for(request.user, pk, action, "infusions", "screening__consents")

    @extend_schema(responses=AdverseEventWithDltSerializer(many=True))
    def get(self, request, pk):
        participant = self._participant(request, pk, Action.VIEW)
        window = participant_dlt_window(participant.infusions.all())
        events = (participant.adverse_events.select_related("reported_by", "sae_reported_by", "confirmed_by")
                  .order_by("onset_date", "id"))
        return Response(adverse_event_out(events, window, many=True))

    @extend_schema(request=AdverseEventCreateInSerializer, responses={201: AdverseEventWithDltSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = AdverseEventCreateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        password = data.pop("password")
        event = services.adverse_event_record(
            participant=participant, data=services.AdverseEventInput(**data), by=request.user, password=password)
        return Response(adverse_event_out(event, participant_dlt_window(participant.infusions.all())),
                        status=status.HTTP_201_CREATED)


class AdverseEventUpdateInSerializer(AdverseEventInSerializer):
    """The fields to correct (only those given change) and the reason."""

    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why the event is corrected (kept in the audit trail); required.")
    password = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, write_only=True,
        help_text="An investigator's own password, re-entered as a signature: required when the correction changes "
                  "grade, serious, seriousness or relationship (403 when wrong or missing; nothing written). A "
                  "coordinator's change of these withdraws the signature: the event goes back to draft.")
    version = serializers.IntegerField(required=False, help_text=(
        "The record's version as read (GET `version` or `ETag`); or send it as `If-Match`. A change made from an "
        "older version is 409 with the current record."))
    query = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                     max_value=2 ** 63 - 1, help_text=(
        "The id of an open data query on this adverse event that the correction answers: the reason is its answer "
        "and the change is linked to it (400 on `query` for a query of another record, 409 when it is no longer "
        "open; nothing is written)."))


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
        return versioned(Response(_event_out(_adverse_event(request, pk, Action.VIEW))))

    @extend_schema(request=AdverseEventUpdateInSerializer,
                   responses={200: AdverseEventWithDltSerializer, 409: OpenApiTypes.OBJECT})
    def patch(self, request, pk):
        event = _adverse_event(request, pk, Action.CAPTURE)
        serializer = AdverseEventUpdateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = given_fields(serializer, request, services.ADVERSE_EVENT_CORRECTABLE + ("term_other",))
        data = services.AdverseEventInput(**{name: given.get(name, services.KEEP)
                                             for name in services.ADVERSE_EVENT_CORRECTABLE},
                                          term_other=given.get("term_other", False))
        try:
            services.adverse_event_update(
                event=event, data=data, reason=serializer.validated_data["reason"],
                password=serializer.validated_data["password"], by=request.user,
                version=version_from_request(request, serializer.validated_data.get("version")),
                query=serializer.validated_data.get("query"))
        except StaleVersion as stale:
            return stale_response(stale, _event_out(_adverse_event(request, pk, Action.VIEW)))
        return versioned(Response(_event_out(event)))


class CtcaeTermSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The CTCAE v5.0 term, as it is spelt there.")
    soc = serializers.CharField(help_text="Its MedDRA system organ class.")
    term_zh = serializers.CharField(help_text="Its Chinese name, as shown to Chinese readers (the term recorded "
                                              "and returned stays `term`).")
    soc_zh = serializers.CharField(help_text="The Chinese name of its system organ class.")


class CtcaeTermListSerializer(serializers.Serializer):
    version = serializers.CharField()
    terms = CtcaeTermSerializer(many=True)


class CtcaeTerms(APIView):
    """The CTCAE v5.0 terms an adverse event is recorded under (any signed-in user). A term not in
    the list is recorded as "other, specify" (`term_other: true`)."""

    @extend_schema(responses=CtcaeTermListSerializer)
    def get(self, request):
        return Response(CtcaeTermListSerializer(ctcae_terms()).data)


class AdverseEventConfirmInSerializer(LimitedSerializer):
    length_model = AdverseEvent

    grade = serializers.IntegerField(required=False, allow_null=True, default=None,
                                     help_text="Confirmed CTCAE grade 1-5.")
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
    event = get_object_or_404(AdverseEvent.objects.visible_to(request.user).select_related(
        "participant", "reported_by", "confirmed_by", "sae_reported_by"), pk=pk)
    require(request.user, action, [event.participant.site_id])
    return event


def _event_out(event):
    return adverse_event_out(event, participant_dlt_window(event.participant.infusions.all()))


class AdverseEventConfirm(APIView):
    """An investigator grades and attributes a draft adverse event and signs it with their password
    (403 for another role or a wrong or missing password, nothing written; 409 when not a draft)."""

    @extend_schema(request=AdverseEventConfirmInSerializer, responses=AdverseEventWithDltSerializer)
    def post(self, request, pk):
        event = _adverse_event(request, pk)
        serializer = AdverseEventConfirmInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.adverse_event_confirm(event=event, by=request.user, **serializer.validated_data)
        return Response(_event_out(event))


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
        return Response(_event_out(event))


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
        return Response(_event_out(event))
