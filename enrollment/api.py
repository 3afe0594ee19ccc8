"""REST API of screening, consent and enrolment (API.md 'Resources' and 'Screening facts')."""
from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from trials import catalogues, hooks
from trials.all_errors import validate_all
from trials.concurrency import StaleVersion, stale_response, version_from_request, versioned
from trials.errors import ServiceError
from trials.labs import LabInput
from trials.limits import LimitedSerializer
from trials.models import Arm, DoseLevel, Site, Study
from trials.prefetch import cache_rows
from trials.scoping import Action, require, site_ids_for

from . import selectors, services
from .lock_api import participant_lock_fields
from .locks import lock_of
from .eligibility_text import criterion_shown
from .enums import Sex, TherapyOutcome, WithdrawalReason
from .models import Consent, Participant, PriorTherapy, Screening, ScreeningLab

# --- input ------------------------------------------------------------------------------------

class LabInSerializer(LimitedSerializer):
    length_model, length_fields = ScreeningLab, {"unit": "entered_unit"}

    analyte = serializers.CharField()
    value = serializers.FloatField()
    unit = serializers.CharField()
    lln = serializers.FloatField(required=False, allow_null=True)
    uln = serializers.FloatField(required=False, allow_null=True)
    date = serializers.DateField(required=False, allow_null=True)


class TherapyInSerializer(LimitedSerializer):
    length_model = PriorTherapy

    therapy = serializers.CharField(help_text="A prior-therapy code of the catalogue (configured by administrators).")
    start = serializers.DateField(required=False, allow_null=True)
    end = serializers.DateField(required=False, allow_null=True)
    dose_text = serializers.CharField(required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=TherapyOutcome.choices)


class ScreeningFactsSerializer(LimitedSerializer):
    """Every fact is optional: a missing one makes the criteria that need it 'missing'."""

    length_model, length_fields = Screening, {"site": (Site, "code")}

    site = serializers.CharField(required=False, help_text="Site code; needed only when you screen at several sites.")
    screening_date = serializers.DateField(required=False, allow_null=True)
    initials = serializers.CharField(required=False, allow_blank=True, max_length=10)
    birth_date = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(choices=Sex.choices, required=False, allow_null=True)
    weight_kg = serializers.FloatField(required=False, allow_null=True)
    height_cm = serializers.FloatField(required=False, allow_null=True)
    disease = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    diagnosis_date = serializers.DateField(required=False, allow_null=True)
    ecog = serializers.IntegerField(required=False, allow_null=True)
    labs = LabInSerializer(many=True, required=False)
    prior_therapies = TherapyInSerializer(many=True, required=False)
    items = serializers.DictField(
        child=serializers.JSONField(allow_null=True), required=False,
        help_text="Answers to the study's screening items by item code (GET /studies/{code}/definition/ lists them): "
                  "true/false, a number in the item's unit, a date YYYY-MM-DD, a choice's code, a list of codes, a "
                  "text; null clears an answer. An item code given at the top level, or a yes/no item under "
                  "`conditions`, is read the same way.")
    conditions = serializers.DictField(child=serializers.BooleanField(allow_null=True), required=False,
                                       help_text="Yes/no items by code (read as `items`).")

    def to_internal_value(self, data):
        """Keys that are not facts are answers to items given at the top level (as API.md had them):
        the service checks them against the study's items and names any unknown one."""
        extra = {key: data[key] for key in data if key not in self.fields} if isinstance(data, dict) else {}
        validated = super().to_internal_value({k: v for k, v in data.items() if k not in extra}
                                              if isinstance(data, dict) else data)
        validated["top_level_items"] = extra
        return validated

    def to_input(self) -> services.ScreeningInput:
        data = self.validated_data
        given = set(self.initial_data) if isinstance(self.initial_data, dict) else set()
        values = {key: data[key] for key in services.SCALAR_FIELDS if key in given}
        return services.ScreeningInput(
            values=values,
            labs=[LabInput(**lab) for lab in data["labs"]] if "labs" in given else None,
            prior_therapies=([services.TherapyInput(**t) for t in data["prior_therapies"]]
                             if "prior_therapies" in given else None),
            items=dict(data["items"]) if "items" in given else None,
            conditions=dict(data["conditions"]) if "conditions" in given else None,
            answers=data["top_level_items"] or None,
        )


class ScreeningPatchSerializer(ScreeningFactsSerializer):
    reason = serializers.CharField(help_text="Why the facts change (audit trail).")
    version = serializers.IntegerField(required=False, help_text=(
        "The screening's version as read (GET `version` or `ETag`); or send it as `If-Match`. A change made from an "
        "older version is 409 with the current screening."))


class ConsentInSerializer(LimitedSerializer):
    length_model, length_fields = Consent, {"guardian": "guardian_name"}

    version = serializers.CharField()
    signed_at = serializers.DateTimeField()
    obtained_by = serializers.CharField()
    guardian = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="Legal guardian's name, required for a minor.")
    guardian_relationship = serializers.CharField(required=False, allow_blank=True, default="")


class EnrolInSerializer(LimitedSerializer):
    length_model, length_fields = Participant, {"arm": (Arm, "code"), "dose_level": (DoseLevel, "code")}

    dose_level = serializers.CharField(required=False, allow_blank=True, default="")
    arm = serializers.CharField(required=False, allow_blank=True, default="")
    enrolled_on = serializers.DateField(required=False, allow_null=True, default=None)
    first_infusion_on = serializers.DateField(required=False, allow_null=True, default=None,
                                              help_text="Planned day 0; default: the enrolment date.")


class EligibilityConfirmationInSerializer(LimitedSerializer):
    length_model = Screening

    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     write_only=True, help_text="Your own password, re-entered as a signature.")


class EligibilityConfirmationOutSerializer(serializers.Serializer):
    confirmed_by = serializers.CharField(source="eligibility_confirmed_by.username")
    confirmed_at = serializers.DateTimeField(source="eligibility_confirmed_at")
    meaning = serializers.CharField(source="eligibility_confirmation_meaning")


class WithdrawInSerializer(LimitedSerializer):
    length_model, length_fields = Participant, {"detail": "withdrawal_detail"}

    withdrawn_on = serializers.DateField()
    reason = serializers.ChoiceField(choices=WithdrawalReason.choices)
    detail = serializers.CharField(required=False, allow_blank=True, default="")


# --- output -----------------------------------------------------------------------------------

class LabOutSerializer(serializers.Serializer):
    analyte = serializers.CharField()
    value = serializers.FloatField(help_text="SI value")
    unit = serializers.SerializerMethodField()
    entered_value = serializers.FloatField()
    entered_unit = serializers.CharField()
    lln = serializers.FloatField(allow_null=True, help_text="Lower limit used (SI): the report's, else the site's")
    uln = serializers.FloatField(allow_null=True, help_text="Upper limit used (SI): the report's, else the site's")
    range_source = serializers.CharField(help_text="report | site | report+site | catalogue | report+catalogue | empty")
    date = serializers.DateField(source="sampled_on", allow_null=True)

    def get_unit(self, lab) -> str:
        return catalogues.current().analytes[lab.analyte].si_unit


class TherapyOutSerializer(serializers.Serializer):
    therapy = serializers.CharField()
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    dose_text = serializers.CharField()
    outcome = serializers.CharField()


class ConsentOutSerializer(serializers.Serializer):
    version = serializers.CharField()
    signed_at = serializers.DateTimeField()
    obtained_by = serializers.CharField()
    guardian = serializers.CharField(source="guardian_name")
    guardian_relationship = serializers.CharField()


class ScreeningOutSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.code")
    site = serializers.CharField(source="site.code")
    labs = LabOutSerializer(many=True)
    prior_therapies = TherapyOutSerializer(many=True)
    consents = ConsentOutSerializer(many=True)
    eligibility = serializers.SerializerMethodField()
    eligibility_confirmation = serializers.SerializerMethodField(
        help_text="The investigator's signed confirmation (who, when, meaning), or null; withdrawn when the facts "
                  "change.")
    eligibility_confirmation_required = serializers.BooleanField(
        source="study.eligibility_confirmation_required",
        help_text="Enrolment waits for the investigator's signed confirmation.")
    participant = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="row_version", read_only=True,
                                       help_text="Send it back with a change (PATCH `version` or `If-Match`).")

    class Meta:
        model = Screening
        fields = ["id", "number", "study", "site", "screening_date", "initials", "birth_date", "sex", "weight_kg",
                  "height_cm", "disease", "diagnosis_date", "ecog", "items", "labs",
                  "prior_therapies", "outcome", "protocol_version", "eligibility", "eligibility_confirmation",
                  "eligibility_confirmation_required", "consents", "participant", "version"]

    @extend_schema_field(EligibilityConfirmationOutSerializer(allow_null=True))
    def get_eligibility_confirmation(self, screening) -> dict | None:
        if screening.eligibility_confirmed_at is None:
            return None
        return EligibilityConfirmationOutSerializer(screening).data

    def get_eligibility(self, screening) -> dict:
        return {"eligible": screening.eligible, "evaluated_at": screening.evaluated_at,
                "criteria": [criterion_shown(c) for c in screening.eligibility]}

    def get_participant(self, screening) -> dict | None:
        participant = getattr(screening, "participant", None)
        return {"id": participant.pk, "study_number": participant.study_number} if participant else None


class ScheduledInfusionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    target_date = serializers.DateField()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    status = serializers.CharField(help_text="planned | window_open | overdue | waiting (for an earlier infusion not "
                                             "given yet) | given | given_out_of_window | missed | held")
    given_at = serializers.DateTimeField(allow_null=True)
    deviation = serializers.BooleanField(help_text="Given outside its window.")
    anchor = serializers.CharField(help_text="Which date the target counts from, in the caller's language.")
    cells_infused = serializers.FloatField(allow_null=True, help_text="The dose given, in cells.")
    cells_per_kg = serializers.FloatField(allow_null=True, help_text="The dose given per kg of the weight on the day.")
    weight_kg = serializers.FloatField(allow_null=True, help_text="The weight on the day of the infusion.")
    computed_dose = serializers.FloatField(allow_null=True, help_text="The level's dose for that weight, in cells.")
    dose_deviation = serializers.BooleanField(help_text="More than 10 % off the computed dose, with a reason.")


class ScheduledVisitSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    target_date = serializers.DateField()
    window_start = serializers.DateField(source="window_start_date")
    window_end = serializers.DateField(source="window_end_date")
    target_at = serializers.DateTimeField(help_text="Exact target; timed samples (minutes, hours) use it.")
    window_start_at = serializers.DateTimeField(source="window_start")
    window_end_at = serializers.DateTimeField(source="window_end")
    status = serializers.CharField(help_text="upcoming | window_open | overdue | waiting (planned after an infusion "
                                             "not given yet) | done | done_out_of_window | missed | cancelled")
    provisional = serializers.BooleanField()
    timed = serializers.BooleanField()


class ScheduleSerializer(serializers.Serializer):
    infusions = ScheduledInfusionSerializer(many=True)
    visits = ScheduledVisitSerializer(many=True)


class ParticipantOutSerializer(serializers.ModelSerializer):
    study = serializers.CharField(source="study.code")
    site = serializers.CharField(source="site.code")
    arm = serializers.CharField(source="arm.code")
    dose_level = serializers.CharField(source="dose_level.code", allow_null=True, default=None)
    screening = serializers.IntegerField(source="screening_id")
    locked = serializers.SerializerMethodField(help_text="True while the casebook, or its study, is locked.")
    locked_at = serializers.SerializerMethodField()
    locked_by = serializers.SerializerMethodField()
    lock_reason = serializers.SerializerMethodField()
    lock_scope = serializers.SerializerMethodField(help_text="casebook or study: what holds the lock; null.")

    class Meta:
        model = Participant
        fields = ["id", "study_number", "study", "site", "screening", "arm", "dose_level", "enrolled_on",
                  "planned_day0", "protocol_version", "status", "withdrawn_on", "withdrawal_reason",
                  "withdrawal_detail", "locked", "locked_at", "locked_by", "lock_reason", "lock_scope"]

    def get_locked(self, participant) -> bool:
        return participant_lock_fields(participant)["locked"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_locked_at(self, participant):
        return serializers.DateTimeField().to_representation(lock.locked_at) if (
            lock := lock_of(participant)) else None

    def get_locked_by(self, participant) -> str | None:
        return participant_lock_fields(participant)["locked_by"]

    def get_lock_reason(self, participant) -> str:
        return participant_lock_fields(participant)["lock_reason"]

    def get_lock_scope(self, participant) -> str | None:
        return participant_lock_fields(participant)["lock_scope"]


class ParticipantDetailSerializer(ParticipantOutSerializer):
    schedule = serializers.SerializerMethodField()

    class Meta(ParticipantOutSerializer.Meta):
        fields = ParticipantOutSerializer.Meta.fields + ["schedule"]

    @extend_schema_field(ScheduleSerializer)
    def get_schedule(self, participant) -> dict:
        return ScheduleSerializer(hooks.participant_schedule.one(participant=participant, now=timezone.now())).data


# --- views ------------------------------------------------------------------------------------

def _screening_for(request, pk, action=Action.VIEW, queryset=None) -> Screening:
    screening = get_object_or_404(selectors.screenings_visible(request.user) if queryset is None else queryset, pk=pk)
    if action != Action.VIEW:
        require(request.user, action, [screening.site_id])
    return screening


def _screening_out(screening_id) -> dict:
    return ScreeningOutSerializer(Screening.objects.select_related("study", "site", "participant",
                                                                   "eligibility_confirmed_by")
                                  .prefetch_related("labs", "prior_therapies", "consents").get(pk=screening_id)).data


class StudyScreenings(APIView):
    @extend_schema(request=ScreeningFactsSerializer, responses={201: ScreeningOutSerializer})
    def post(self, request, code):
        # The study with the sites where the user screens for it, in one query; then its diseases and
        # criteria, read once here and used by the service.
        links = list(Study.sites.through.objects.filter(
            study__code=code, site_id__in=site_ids_for(request.user, Action.SCREEN)).select_related(
            "study__active_version", "site"))
        if not links:
            get_object_or_404(Study.objects.visible_to(request.user), code=code)  # 404 unless visible
            require(request.user, Action.SCREEN, [])
        study = links[0].study
        screen_sites = {link.site.pk: link.site for link in links}
        prefetch_related_objects([study], "diseases", "criteria")
        # Of the study's sites, the service reads only whether it runs at the site chosen among these.
        cache_rows(study, "sites", list(screen_sites.values()))
        serializer = ScreeningFactsSerializer(data=request.data)
        # The site is one of the study's (`screen_sites`): the service's checks need not know which.
        validate_all(serializer, lambda readable: services.screening_problems(study=study, site=None,
                                                                             data=readable.to_input()))
        site_code = serializer.validated_data.get("site")
        if site_code:
            site = next((site for site in screen_sites.values() if site.code == site_code), None)
            if site is None:
                raise exceptions.PermissionDenied(_("You do not screen for %(study)s at site %(site)s.") % {
                    "study": study.code, "site": site_code})
        elif len(screen_sites) == 1:
            site = next(iter(screen_sites.values()))
        else:
            raise exceptions.ValidationError({"site": ["You screen at several sites: give the site code."]})
        screening = services.screening_create(study=study, site=site, data=serializer.to_input(), by=request.user)
        # The new screening holds the labs and courses written; it has no consent or participant yet.
        cache_rows(screening, "consents", [])
        Screening.participant.related.set_cached_value(screening, None)
        return Response(ScreeningOutSerializer(screening).data, status=status.HTTP_201_CREATED)


class ScreeningDetail(APIView):
    @extend_schema(responses=ScreeningOutSerializer)
    def get(self, request, pk):
        return versioned(Response(ScreeningOutSerializer(_screening_for(request, pk)).data))

    @extend_schema(request=ScreeningPatchSerializer, responses={200: ScreeningOutSerializer, 409: OpenApiTypes.OBJECT})
    def patch(self, request, pk):
        screening = _screening_for(request, pk, Action.SCREEN)
        serializer = ScreeningPatchSerializer(data=request.data)
        validate_all(serializer, lambda readable: services.screening_change_problems(
            screening=screening, data=readable.to_input(), reason=readable.validated_data.get("reason", "")))
        try:
            services.screening_update(screening=screening, data=serializer.to_input(),
                                      reason=serializer.validated_data["reason"], by=request.user,
                                      version=version_from_request(request, serializer.validated_data.get("version")))
        except StaleVersion as stale:
            return stale_response(stale, _screening_out(screening.pk))
        return versioned(Response(_screening_out(screening.pk)))


class ScreeningConsent(APIView):
    @extend_schema(request=ConsentInSerializer, responses={201: ScreeningOutSerializer})
    def post(self, request, pk):
        screening = _screening_for(request, pk, Action.SCREEN)
        serializer = ConsentInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.consent_record(screening=screening, version=data["version"], signed_at=data["signed_at"],
                                    obtained_by=data["obtained_by"], guardian_name=data["guardian"],
                                    guardian_relationship=data["guardian_relationship"], by=request.user)
        except ServiceError as error:
            if "guardian_name" in error.errors:  # the request names the field "guardian"
                error.errors["guardian"] = error.errors.pop("guardian_name")
            raise
        # The screening read above, with the consent just recorded among its consents.
        return Response(ScreeningOutSerializer(screening).data, status=status.HTTP_201_CREATED)


class ReasonInSerializer(LimitedSerializer):
    reason = serializers.CharField(help_text="Why (kept in the audit trail).")


class ScreeningReevaluation(APIView):
    """Evaluate the screening again under the study's current criteria and protocol version, with a
    reason: 200 with the screening; 409 once the patient is enrolled."""

    @extend_schema(request=ReasonInSerializer, responses=ScreeningOutSerializer)
    def post(self, request, pk):
        screening = _screening_for(request, pk, Action.SCREEN)
        serializer = ReasonInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.screening_reevaluate(screening=screening, reason=serializer.validated_data["reason"], by=request.user)
        return Response(_screening_out(screening.pk))


class ScreeningEligibilityConfirmation(APIView):
    """An investigator of the site confirms the eligible screening with their password (a
    signature): 403 for another role or a wrong password (nothing written), 409 while the
    screening is not eligible, or when it is enrolled or already confirmed."""

    @extend_schema(request=EligibilityConfirmationInSerializer, responses={201: ScreeningOutSerializer})
    def post(self, request, pk):
        # The service reads the facts under its lock and leaves them on `screening`: only the consents here.
        screening = _screening_for(request, pk, Action.SIGN, queryset=(
            Screening.objects.visible_to(request.user).select_related("study", "site", "participant")
            .prefetch_related(Prefetch("consents", queryset=Consent.objects.order_by("signed_at")))))
        serializer = EligibilityConfirmationInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.screening_eligibility_confirm(screening=screening, password=serializer.validated_data["password"],
                                               by=request.user)
        return Response(ScreeningOutSerializer(screening).data, status=status.HTTP_201_CREATED)


class ScreeningEnrol(APIView):
    @extend_schema(request=EnrolInSerializer, responses={201: ParticipantOutSerializer})
    def post(self, request, pk):
        serializer = EnrolInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The service finds the screening among those the user sees, by the read that locks it (404 elsewhere).
        participant = services.participant_enrol(
            screening=pk, among=Screening.objects.visible_to(request.user), by=request.user,
            enrolled_on=data["enrolled_on"],
            first_infusion_on=data["first_infusion_on"], arm_code=data["arm"] or None,
            dose_level_code=data["dose_level"] or None)
        return Response(ParticipantOutSerializer(participant).data, status=status.HTTP_201_CREATED)


class ParticipantDetail(APIView):
    @extend_schema(responses=ParticipantDetailSerializer)
    def get(self, request, pk):
        participant = get_object_or_404(
            selectors.participants_visible(request.user).prefetch_related("infusions", "visits__definition"), pk=pk)
        return Response(ParticipantDetailSerializer(participant).data)


class ParticipantWithdraw(APIView):
    @extend_schema(request=WithdrawInSerializer, responses=ParticipantOutSerializer)
    def post(self, request, pk):
        participant = get_object_or_404(selectors.participants_visible(request.user), pk=pk)
        require(request.user, Action.SCREEN, [participant.site_id])
        serializer = WithdrawInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.participant_withdraw(participant=participant, withdrawn_on=data["withdrawn_on"],
                                      reason=data["reason"], detail=data["detail"], by=request.user)
        return Response(ParticipantOutSerializer(participant).data)
