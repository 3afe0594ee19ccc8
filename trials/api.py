"""REST API for study configuration (API.md 'Resources': /studies/)."""
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .definitions import study_definition
from .limits import LimitedSerializer
from .models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ResponseCriteriaSet,
    Study,
    StudyDisease,
    VisitDefinition,
)
from .scoping import Action, site_ids_for
from .services import study_activate, study_create_from_definition


class ResponseCriteriaSetSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResponseCriteriaSet
        fields = ["code", "name", "name_zh", "version", "family", "source", "thresholds"]


class StudyDiseaseSerializer(serializers.ModelSerializer):
    response_criteria = ResponseCriteriaSetSerializer()

    class Meta:
        model = StudyDisease
        fields = ["disease", "response_criteria"]


class DoseLevelSerializer(serializers.ModelSerializer):
    dose_unit = serializers.CharField(read_only=True)

    class Meta:
        model = DoseLevel
        fields = ["code", "label", "label_zh", "order", "dose_basis", "dose_per_kg", "flat_dose", "dose_unit",
                  "hard_limit_low", "hard_limit_high", "group_cap", "status"]


class InfusionDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = InfusionDefinition
        fields = ["number", "anchor", "offset_days", "window_before_days", "window_after_days"]


class InfusionRowSerializer(serializers.Serializer):
    """An infusion definition with its nominal day (every infusion given on its target day)."""

    definition = InfusionDefinitionSerializer()
    nominal_day = serializers.IntegerField()
    earliest_day = serializers.IntegerField()
    latest_day = serializers.IntegerField()

    def to_representation(self, row):
        data = super().to_representation(row)
        return {**data.pop("definition"), **data}


class ArmSerializer(serializers.ModelSerializer):
    dose_levels = DoseLevelSerializer(many=True)
    infusions = serializers.SerializerMethodField()

    class Meta:
        model = Arm
        fields = ["code", "name", "name_zh", "description", "description_zh", "product_kind", "missed_infusion_rule",
                  "dose_levels", "infusions"]

    @extend_schema_field(InfusionRowSerializer(many=True))
    def get_infusions(self, arm):
        return InfusionRowSerializer(selectors.infusion_rows(arm), many=True).data


class VisitDefinitionSerializer(serializers.ModelSerializer):
    arm = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = VisitDefinition
        fields = ["code", "label", "label_zh", "arm", "anchor", "offset", "offset_unit", "window_before",
                  "window_after", "window_unit", "assessments", "sex_restriction", "first_n_participants"]


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = EligibilityCriterion
        fields = ["code", "kind", "text", "text_zh", "source", "rule_type", "params"]


class StudyListSerializer(serializers.ModelSerializer):
    sites = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    locked = serializers.BooleanField(read_only=True, help_text="True while the study's data are locked for analysis.")
    locked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Study
        fields = ["code", "title", "title_zh", "status", "registry_id", "version", "effective_date", "enrolment_target",
                  "uses_dose_escalation", "eligibility_confirmation_required", "sites", "locked", "locked_at",
                  "locked_by", "lock_reason"]


class StudyDetailSerializer(StudyListSerializer):
    diseases = StudyDiseaseSerializer(many=True)
    arms = ArmSerializer(many=True)
    visits = VisitDefinitionSerializer(many=True, source="visit_definitions")
    criteria = serializers.SerializerMethodField(help_text="The eligibility criteria of the protocol version in force.")

    class Meta(StudyListSerializer.Meta):
        fields = StudyListSerializer.Meta.fields + ["design", "design_zh", "intervention", "intervention_zh",
                                                    "primary_endpoint", "primary_endpoint_zh", "diseases", "arms",
                                                    "visits", "criteria", "response_from_day", "response_until_day",
                                                    "response_time_points", "time_point_window_days"]


    @extend_schema_field(CriterionSerializer(many=True))
    def get_criteria(self, study):
        return CriterionSerializer(selectors.criteria_in_force(study), many=True).data


class StudyCreateSerializer(LimitedSerializer):
    length_model = Study

    definition = serializers.DictField(help_text="A study definition, as GET /studies/{code}/definition/ gives it.")
    reason = serializers.CharField(required=False, default="Created from a study definition",
                                   help_text="Kept in the audit trail.")


class StudyActivateSerializer(LimitedSerializer):
    length_model = Study

    reason = serializers.CharField(help_text="Why the study is activated; kept in the audit trail.")


class StudyList(generics.ListAPIView):
    """Studies run at the user's sites, each with its `status` (`draft` or `active`). POST: an
    administrator creates a study from a definition document (`GET /studies/{code}/definition/` of
    another study with a new code, or a file), sent as `{"definition": {...}, "reason": "..."}`:
    201 with the new study's definition and `"status": "draft"` (a new study records no screening
    until `POST /studies/{code}/activate/`; a definition carries no status); 403 unless an
    administrator at every site it names; 409 when the code is taken; 400 naming what is wrong."""

    serializer_class = StudyListSerializer
    pagination_class = None

    def get_queryset(self):
        return (Study.objects.visible_to(self.request.user).select_related("locked_by").prefetch_related("sites")
                .order_by("code"))

    @extend_schema(request=StudyCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        if not site_ids_for(request.user, Action.CONFIGURE_STUDY):
            raise PermissionDenied(_("Only an administrator creates a study."))
        body = StudyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        study = study_create_from_definition(data=body.validated_data["definition"], by=request.user,
                                             reason=body.validated_data["reason"])
        created = selectors.study_for_user(request.user, study.code)
        return Response({**study_definition(created), "status": created.status}, status=201)


class StudyDetail(generics.RetrieveAPIView):
    """A study's arms, dose levels, infusion and visit definitions, criteria, diseases and version."""

    serializer_class = StudyDetailSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.study_queryset(self.request.user)


class StudyActivate(APIView):
    """An administrator of every site of the study activates the draft with `{"reason": "..."}`:
    200 with the study (`"status": "active"`; without dose escalation its planned dose levels are
    open); 403 for any other role or an administrator of only some of its sites; 409 when the
    study is active already or lacks part of its configuration (each gap named under `sites`,
    `diseases`, `arms`, `criteria` or `visits`); 400 without a reason."""

    @extend_schema(request=StudyActivateSerializer, responses={200: StudyDetailSerializer})
    def post(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        if not site_ids_for(request.user, Action.CONFIGURE_STUDY):  # the role first, whatever the body
            raise PermissionDenied(_("Only an administrator of every site of the study activates it."))
        body = StudyActivateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        study_activate(study=study, by=request.user, reason=body.validated_data["reason"])
        return Response(StudyDetailSerializer(selectors.study_for_user(request.user, code)).data)


class StudyDefinition(APIView):
    """The study's whole configuration as one document in the shape of `trials/studies/*.yaml`
    (sites, diseases, arms with dose levels and infusions, visits, criteria, response settings):
    `load_studies PATH` loads it, under its own code or another."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, code):
        return Response(study_definition(selectors.study_for_user(request.user, code)))
