"""REST API of source data verification: a study's plan, a participant's records with their items
verified (`followup.sdv`), and items ticked by a monitor (`followup.services.items_verify`)."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participants_visible
from trials.concurrency import StaleVersion, stale_response, version_from_request
from trials.limits import LimitedSerializer
from trials.models import Study
from trials.scoping import Action, require

from .. import services
from ..record_refs import KINDS, RecordRef
from ..sdv import latest_changes, participant_records, plan_scope, sdv_prefetch, single_record
from ..sdv_models import SdvPlan, SdvScope


class SdvPlanSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=SdvScope.choices, help_text="all | key (the default: key items only).")
    chosen = serializers.BooleanField(help_text="False while the study follows the default plan.")
    reason = serializers.CharField(allow_blank=True)
    changed_by = serializers.CharField(allow_null=True)
    changed_at = serializers.DateTimeField(allow_null=True)


class SdvPlanInSerializer(LimitedSerializer):
    scope = serializers.ChoiceField(choices=SdvScope.choices)
    reason = serializers.CharField(help_text="Why the plan changes (kept in the audit trail).")


def _plan(study) -> dict:
    plan = SdvPlan.objects.filter(study=study).select_related("changed_by").first()
    if plan is None:
        return {"scope": plan_scope(study), "chosen": False, "reason": "", "changed_by": None, "changed_at": None}
    return {"scope": plan.scope, "chosen": True, "reason": plan.reason,
            "changed_by": plan.changed_by.get_username() if plan.changed_by else None, "changed_at": plan.changed_at}


class StudySdvPlan(APIView):
    """The study's source data verification plan: all items, or the key items only (the default).
    Changed by a data manager or an administrator, with a reason."""

    @extend_schema(responses=SdvPlanSerializer)
    def get(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        return Response(SdvPlanSerializer(_plan(study)).data)

    @extend_schema(request=SdvPlanInSerializer, responses=SdvPlanSerializer)
    def put(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user), code=code)
        require(request.user, Action.MANAGE_SDV, [site.pk for site in study.sites.all()])
        serializer = SdvPlanInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.sdv_plan_set(study=study, by=request.user, **serializer.validated_data)
        return Response(SdvPlanSerializer(_plan(study)).data)


class VerifiedItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="As the verification page shows it.")
    required = serializers.BooleanField(help_text="An item of the plan.")
    verified = serializers.BooleanField(help_text="Verified at the record's current version.")
    verified_by = serializers.CharField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    withdrawn = serializers.BooleanField(help_text="Verified at an earlier version, not since: the record changed.")


class RecordVerificationSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=" | ".join(KINDS))
    id = serializers.IntegerField()
    label = serializers.CharField()
    version = serializers.IntegerField(help_text="Send it back with the items verified.")
    state = serializers.CharField(help_text="in_progress | complete | verified")
    withdrawn = serializers.BooleanField(help_text="An item of the plan was verified at an earlier version and "
                                                   "not since: the record changed after its verification.")
    changed_at = serializers.DateTimeField(allow_null=True, help_text="When withdrawn: the record's latest change.")
    changed_by = serializers.CharField(allow_null=True, help_text="When withdrawn: who made that change.")
    items = VerifiedItemSerializer(many=True)


class ParticipantVerificationSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="all | key")
    records = RecordVerificationSerializer(many=True)


class VerifyInSerializer(LimitedSerializer):
    kind = serializers.ChoiceField(choices=list(KINDS))
    record = serializers.IntegerField(help_text="The record's id.")
    items = serializers.ListField(child=serializers.CharField(max_length=150), allow_empty=False,
                                  help_text="Item codes (a field, lab:<analyte>, item:<code>).")
    version = serializers.IntegerField(required=False, allow_null=True, default=None,
                                       help_text="The record's version read (or If-Match): 409 when it changed.")


def record_data(record, changes: dict | None = None) -> dict:
    items = []
    for item, value, item_status in record.items():
        tick = item_status.current
        items.append({"code": item.code, "label": str(item.label), "value": value, "required": item_status.required,
                      "verified": tick is not None, "verified_by": tick.verified_by if tick else None,
                      "verified_at": tick.verified_at if tick else None,
                      "withdrawn": item_status.withdrawn is not None})
    changed_at, changed_by = (changes if changes is not None else latest_changes([record])).get(
        (record.kind, record.pk), (None, None))
    return RecordVerificationSerializer({"kind": record.kind, "id": record.pk, "label": record.label,
                                         "version": record.version, "state": record.state,
                                         "withdrawn": record.withdrawn, "changed_at": changed_at,
                                         "changed_by": changed_by, "items": items}).data


class ParticipantVerification(APIView):
    """The participant's case report forms with their SDV state and items (GET, every role of the
    site); items of one record verified against source by a monitor (POST, 201)."""

    @extend_schema(responses=ParticipantVerificationSerializer)
    def get(self, request, pk):
        participant = get_object_or_404(participants_visible(request.user).select_related("study__sdv_plan")
                                        .prefetch_related(*sdv_prefetch()), pk=pk)
        scope = plan_scope(participant.study)
        records = participant_records(participant, scope=scope)
        changes = latest_changes(records)
        return Response({"plan": scope, "records": [record_data(record, changes) for record in records]})

    @extend_schema(request=VerifyInSerializer, responses={201: RecordVerificationSerializer})
    def post(self, request, pk):
        participant = get_object_or_404(participants_visible(request.user), pk=pk)
        require(request.user, Action.VERIFY, [participant.site_id])
        serializer = VerifyInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        definition = KINDS[data["kind"]]
        records = definition.model_class().objects.filter(**{definition.participant_path: participant})
        record = get_object_or_404(records, pk=data["record"])
        try:
            verified = services.items_verify(record_ref=RecordRef(data["kind"], record.pk), item_codes=data["items"],
                                             by=request.user, version=version_from_request(request, data["version"]))
        except StaleVersion as stale:
            current = single_record(data["kind"], definition.model_class().objects.get(pk=record.pk), participant)
            return stale_response(stale, record_data(current))
        return Response(record_data(verified), status=status.HTTP_201_CREATED)
