"""REST API of assessments (API.md 'POST /api/v1/participants/{id}/assessments/'): recorded,
read, and corrected with a reason."""
import dataclasses

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participant_for
from trials.all_errors import validate_all
from trials import catalogues
from trials.concurrency import StaleVersion, stale_response, version_from_request, versioned
from trials.limits import LimitedSerializer
from trials.scoping import Action

from .. import services
from ..models import Assessment, LabResult, RescueTherapy, RescueTherapyKind, Transfusion, TransfusionKind, Visit
from .common import given_fields


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
    items = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False, default=dict,
        help_text="Answers to the study's items placed on the visit's form, by item code (GET "
                  "/studies/{code}/definition/ lists the items and each visit's form; an unscheduled assessment "
                  "takes any item of the visit forms): true/false, a number in the item's unit, a date YYYY-MM-DD, "
                  "a choice's code, a list of codes, a text; null clears an answer. An item not on the form, a value "
                  "of the wrong type, out of range or not among the codes is a 400 on items.<code>; a required "
                  "item of the visit's form must be answered.")
    virology = serializers.DictField(child=serializers.CharField(), required=False, default=None,
                                     help_text="Earlier name of the virology items (hbv, hcv, hiv, syphilis: "
                                               "positive | negative | not_done): read as `items`.")
    immune_panel = serializers.DictField(child=serializers.FloatField(), required=False, default=None,
                                         help_text="Earlier name of the immune-panel items (th17, tfh, treg, breg, "
                                                   "nk: % of lymphocytes, 0-100): read as `items`.")
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
        return catalogues.current().analytes[lab.analyte].si_unit


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
    items = serializers.DictField(child=serializers.JSONField(), help_text=(
        "Answers to the study's items by item code, typed (trials.items): a choice's code, a number in the item's "
        "unit, a date as YYYY-MM-DD, true/false, a list of codes, a text. Unanswered items are absent."))
    notes = serializers.CharField()
    recorded_by = serializers.CharField(source="recorded_by.username")
    recorded_at = serializers.DateTimeField()
    version = serializers.IntegerField(source="row_version", read_only=True,
                                       help_text="Send it back with a change (PATCH `version` or `If-Match`).")


class ParticipantAssessments(APIView):
    def _participant(self, request, pk, action):
        return participant_for(request.user, pk, action)

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
        validate_all(serializer, lambda readable: services.assessment_problems(
            participant=participant, data=_recorded_input(readable.validated_data)))
        assessment = services.assessment_record(participant=participant, by=request.user,
                                                data=_recorded_input(serializer.validated_data))
        return Response(AssessmentOutSerializer(assessment).data, status=status.HTTP_201_CREATED)


def _recorded_input(data) -> services.AssessmentInput:
    """The service's input from the validated body (a list left out: None, not checked)."""
    lists = ("labs", "transfusions", "rescue_therapies", "concomitant_medications")
    return services.AssessmentInput(**{**data, **{key: [dict(row) for row in data[key]] for key in lists
                                                  if data.get(key) is not None}})


class AssessmentUpdateInSerializer(AssessmentInSerializer):
    """The fields to correct and the reason; a field the body does not give stays as it is, a list
    given (labs, transfusions, rescue_therapies, ...) replaces the recorded one."""

    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Why the assessment is corrected (kept in the audit trail); required.")
    version = serializers.IntegerField(required=False, help_text=(
        "The record's version as read (GET `version` or `ETag`); or send it as `If-Match`. A change made from an "
        "older version is 409 with the current record."))
    query = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1,
                                     max_value=2 ** 63 - 1, help_text=(
        "The id of an open data query on this assessment that the correction answers: the reason is its answer "
        "and the change is linked to it."))


def _assessment_input(data: dict, default) -> services.AssessmentInput:
    """The service's input from validated API fields; a field not given is `default`."""
    lists = ("labs", "transfusions", "rescue_therapies", "concomitant_medications")
    values = {name: [dict(item) for item in value] if name in lists else value for name, value in data.items()}
    return services.AssessmentInput(**{f.name: values.get(f.name, default)
                                       for f in dataclasses.fields(services.AssessmentInput)})


class AssessmentDetail(APIView):
    """One assessment; PATCH corrects it with a reason (a coordinator of the participant's site;
    investigators and monitors read: 403; another site's assessment: 404)."""

    def _assessment(self, request, pk):
        return get_object_or_404(
            Assessment.objects.visible_to(request.user)
            .select_related("participant__screening", "participant__locked_by", "participant__study__locked_by",
                            "visit", "recorded_by")
            .prefetch_related("labs", "transfusions", "rescue_therapies"), pk=pk)

    @extend_schema(responses=AssessmentOutSerializer)
    def get(self, request, pk):
        return versioned(Response(AssessmentOutSerializer(self._assessment(request, pk)).data))

    @extend_schema(request=AssessmentUpdateInSerializer,
                   responses={200: AssessmentOutSerializer, 409: OpenApiTypes.OBJECT})
    def patch(self, request, pk):
        assessment = self._assessment(request, pk)
        if not services.assessment_can_correct(request.user, assessment.participant):
            raise PermissionDenied(_("Only a coordinator of the participant's site corrects an assessment."))
        serializer = AssessmentUpdateInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = given_fields(serializer, request, [name for name in serializer.fields
                                                  if name not in ("reason", "version", "query")])
        try:
            corrected = services.assessment_update(
                assessment=assessment, data=_assessment_input(given, services.KEEP),
                reason=serializer.validated_data["reason"], by=request.user,
                version=version_from_request(request, serializer.validated_data.get("version")),
                query=serializer.validated_data.get("query"))
        except StaleVersion as stale:
            return stale_response(stale, AssessmentOutSerializer(self._assessment(request, pk)).data)
        return versioned(Response(AssessmentOutSerializer(corrected).data))
