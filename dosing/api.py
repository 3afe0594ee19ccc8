"""REST API of infusions (API.md 'POST /api/v1/participants/{id}/infusions/') and of dose
escalation (API.md "Dose escalation")."""
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.selectors import participant_for
from trials.all_errors import validate_all
from trials.concurrency import StaleVersion, stale_response, version_from_request, versioned
from trials.limits import LimitedSerializer
from trials.models import DoseLevel, Study
from trials.scoping import Action, require, site_ids_for

from . import services
from .models import EscalationAction, EscalationDecision, Infusion
from .selectors import escalation_state, infusion_deviations


class InfusionInSerializer(LimitedSerializer):
    length_model = Infusion

    number = serializers.IntegerField(min_value=1)
    version = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="The version of the planned infusion read (or If-Match): a row changed since is refused with 409.")
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
    dose_confirmation = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Reason for a dose more than 10 % off the computed dose (recorded as a dose deviation); a dose "
                  "beyond the level's hard limits (default 0.5x-2x) is refused whatever the reason.")


class InfusionDeviationSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="out_of_window | dose | missed")
    planned = serializers.CharField()
    happened = serializers.CharField()
    reason = serializers.CharField()


class InfusionOutSerializer(serializers.ModelSerializer):
    dose_level = serializers.CharField(source="dose_level.code", allow_null=True, default=None)
    cells_per_kg = serializers.SerializerMethodField(help_text="The dose given per kg of the weight on the day.")
    deviations = serializers.SerializerMethodField(help_text="The protocol deviations of this infusion.")
    version = serializers.IntegerField(source="row_version", read_only=True)
    anchor = serializers.CharField(source="anchor_text", read_only=True,
                                   help_text="Which date the target counts from, in the caller's language.")
    dose_explanation = serializers.CharField(
        source="dose_text", read_only=True,
        help_text="The dose arithmetic (computed dose, dose given per kg), in the caller's language.")

    class Meta:
        model = Infusion
        fields = ["id", "version", "number", "state", "target_date", "window_start", "window_end", "anchor",
                  "started_at", "ended_at", "weight_kg", "dose_level", "dose_per_kg", "computed_dose", "cells_infused",
                  "cells_per_kg", "dose_explanation", "dose_confirmation", "dose_deviation", "deviation",
                  "deviation_reason", "deviations", "missed_reason", "product", "premedication", "vitals", "reactions"]

    def get_cells_per_kg(self, row) -> float | None:
        return row.cells_infused / row.weight_kg if row.cells_infused is not None and row.weight_kg else None

    @extend_schema_field(InfusionDeviationSerializer(many=True))
    def get_deviations(self, row) -> list:
        return InfusionDeviationSerializer(infusion_deviations(row), many=True).data


class ParticipantInfusions(APIView):
    def _participant(self, request, pk, action):
        return participant_for(request.user, pk, action)

    @extend_schema(responses=InfusionOutSerializer(many=True))
    def get(self, request, pk):
        participant = self._participant(request, pk, Action.VIEW)
        return Response(InfusionOutSerializer(participant.infusions.select_related("dose_level"), many=True).data)

    @extend_schema(request=InfusionInSerializer, responses={201: InfusionOutSerializer})
    def post(self, request, pk):
        participant = self._participant(request, pk, Action.CAPTURE)
        serializer = InfusionInSerializer(data=request.data)
        validate_all(serializer, lambda readable: None if readable.validated_data.get("missed") else
                     services.infusion_problems(participant=participant, data=services.InfusionInput(**{
                         "number": 0, **{key: value for key, value in readable.validated_data.items()
                                         if key not in ("missed", "reason", "version")}})))
        data = dict(serializer.validated_data)
        data["version"] = version_from_request(request, data["version"])
        try:
            if data.pop("missed"):
                row = services.infusion_miss(participant=participant, number=data["number"], reason=data["reason"],
                                             by=request.user, version=data["version"])
            else:
                data.pop("reason")
                row = services.infusion_record(participant=participant, data=services.InfusionInput(**data),
                                               by=request.user)
        except StaleVersion as stale:
            current = participant.infusions.select_related("dose_level").get(pk=stale.current.pk)
            return stale_response(stale, InfusionOutSerializer(current).data)
        return versioned(Response(InfusionOutSerializer(row).data, status=status.HTTP_201_CREATED))


# ---------------------------------------------------------------------------------------------
# Dose escalation (API.md "Dose escalation")
# ---------------------------------------------------------------------------------------------

def escalation_study(request, code) -> Study:
    """The study if the user's sites run it (else 404), and only if it escalates doses (else 404
    saying so: there is no escalation resource to show)."""
    study = get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("sites"), code=code)
    if not study.uses_dose_escalation:
        raise exceptions.NotFound(_("%(study)s does not use dose escalation.") % {"study": study.code})
    return study


class DltOutSerializer(serializers.Serializer):
    adverse_event = serializers.IntegerField(source="adverse_event.pk")
    term = serializers.CharField(source="adverse_event.term")
    grade = serializers.IntegerField(source="adverse_event.grade")
    onset_date = serializers.DateField(source="adverse_event.onset_date")
    explanation = serializers.CharField()


class DraftToConfirmSerializer(serializers.Serializer):
    adverse_event = serializers.IntegerField(source="adverse_event.pk")
    term = serializers.CharField(source="adverse_event.term")
    onset_date = serializers.DateField(source="adverse_event.onset_date")
    message = serializers.CharField(source="confirmation_needed")


class EscalationParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="participant.pk")
    study_number = serializers.CharField(source="participant.study_number")
    site = serializers.CharField(source="participant.site.code")
    status = serializers.CharField(source="participant.status")
    first_infusion = serializers.DateField(allow_null=True)
    dlt_window = serializers.SerializerMethodField()
    infusions_received = serializers.IntegerField()
    infusions_planned = serializers.IntegerField()
    counted = serializers.BooleanField(help_text="False when withdrawn before any infusion.")
    evaluable = serializers.BooleanField()
    in_dlt_window = serializers.BooleanField(help_text="The DLT assessment is not final yet.")
    assessment = serializers.CharField()
    dlts = DltOutSerializer(many=True)
    drafts_to_confirm = DraftToConfirmSerializer(
        many=True, help_text="Adverse event drafts inside the DLT window that could be a DLT: the 3+3 rule waits "
                             "until an investigator confirms or dismisses them.")

    def get_dlt_window(self, row) -> dict | None:
        window = row.dlt_window
        return {"start": window[0].isoformat(), "end": window[1].isoformat()} if window else None


class EscalationLevelSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(source="level.label")
    order = serializers.IntegerField(source="level.order")
    dose_per_kg = serializers.FloatField(source="level.dose_per_kg", allow_null=True)
    status = serializers.CharField(source="level.status")
    group_cap = serializers.IntegerField(source="level.group_cap", allow_null=True)
    enrolled = serializers.IntegerField()
    evaluable = serializers.IntegerField()
    dlts = serializers.IntegerField()
    in_dlt_window = serializers.IntegerField()
    participants = serializers.SerializerMethodField()
    participants_at_other_sites = serializers.SerializerMethodField()

    @extend_schema_field(EscalationParticipantSerializer(many=True))
    def get_participants(self, row) -> list:
        return EscalationParticipantSerializer(row.visible_participants(self.context["site_ids"]), many=True).data

    def get_participants_at_other_sites(self, row) -> int:
        return len(row.participants) - len(row.visible_participants(self.context["site_ids"]))


class ProposalSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="wait | escalate | expand | stop | choose_expansion_dose")
    level = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    rule = serializers.CharField(source="rule.rule", allow_null=True, default=None,
                                 help_text="The row of the 3+3 table applied (none while waiting).")


class EscalationDecisionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    level = serializers.CharField(source="level.code", allow_null=True, default=None)
    proposal = serializers.SerializerMethodField()
    contradicts_proposal = serializers.BooleanField()
    rationale = serializers.CharField()
    signed_by = serializers.CharField(source="signed_by.username")
    signed_by_name = serializers.CharField(help_text="The signer's printed name at signing (21 CFR 11.50).")
    signed_at = serializers.DateTimeField()
    signature_meaning = serializers.CharField(
        help_text='What the signature means: "I approve <action> <level> under rule <rule>" (21 CFR 11.50).')
    level_counts = serializers.JSONField(help_text="Counts per level at signing.")

    def get_proposal(self, decision) -> dict:
        return {"action": decision.proposal_action, "level": decision.proposal_level or None,
                "reason": decision.proposal_reason}


class OfferedDecisionSerializer(serializers.Serializer):
    action = serializers.CharField()
    level = serializers.CharField(allow_null=True)
    meaning = serializers.CharField(help_text="The statement a signature of this decision approves.")


class EscalationSerializer(serializers.Serializer):
    study = serializers.CharField(source="study.code")
    computed_on = serializers.DateField(source="today")
    levels = EscalationLevelSerializer(many=True)
    proposal = ProposalSerializer()
    decisions = EscalationDecisionOutSerializer(many=True)
    offered_decisions = serializers.SerializerMethodField(
        help_text="The decisions the 3+3 rule allows now given the proposal (section 4), the proposal first.")

    @extend_schema_field(OfferedDecisionSerializer(many=True))
    def get_offered_decisions(self, state) -> list:
        return [{"action": action, "level": level, "meaning": meaning}
                for action, level, meaning in services.offered_decisions(state)]


class EscalationDecisionInSerializer(LimitedSerializer):
    length_model, length_fields = EscalationDecision, {"level": (DoseLevel, "code")}

    action = serializers.ChoiceField(choices=EscalationAction.choices)
    level = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="",
                                  help_text="The level the decision concerns; may be empty for stop.")
    rationale = serializers.CharField(required=False, allow_blank=True, default="",
                                      help_text="Required when the decision differs from the proposal.")
    password = serializers.CharField(write_only=True, trim_whitespace=False,
                                     help_text="Your own password, re-entered as a signature.")
    meaning = serializers.CharField(
        required=False, allow_null=True, default=None,
        help_text="Optional: the statement you approve, as shown in offered_decisions; 409 if the proposal changed "
                  "and the decision now means something else.")


def escalation_out(request, study) -> dict:
    state = escalation_state(study, today=timezone.localdate())
    return EscalationSerializer(state, context={"site_ids": site_ids_for(request.user)}).data


class StudyEscalation(APIView):
    @extend_schema(responses=EscalationSerializer)
    def get(self, request, code):
        return Response(escalation_out(request, escalation_study(request, code)))


class StudyEscalationDecisions(APIView):
    @extend_schema(request=EscalationDecisionInSerializer, responses={201: EscalationDecisionOutSerializer})
    def post(self, request, code):
        study = escalation_study(request, code)
        require(request.user, Action.SIGN, [site.pk for site in study.sites.all()])
        serializer = EscalationDecisionInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decision = services.escalation_decide(study=study, action=data["action"], level_code=data["level"] or "",
                                              rationale=data["rationale"], password=data["password"],
                                              by=request.user, expected_meaning=data["meaning"])
        levels = DoseLevel.objects.filter(arm__study=study).order_by("order")
        return Response({**EscalationDecisionOutSerializer(decision).data,
                         "levels": [{"code": lv.code, "status": lv.status, "group_cap": lv.group_cap}
                                    for lv in levels]},
                        status=status.HTTP_201_CREATED)
