"""REST API of protocol versions (`trials.amendments`): a study's versions with what each changed
and the amendment in preparation; an administrator activates the amendment."""
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .amendments import amendment_activate, pending_changes
from .limits import LimitedSerializer
from .models import Study, StudyVersion
from .scoping import Action, site_ids_for


class ChangeSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=["items", "criteria"])
    code = serializers.CharField()
    change = serializers.ChoiceField(choices=["added", "removed", "changed"])
    keys = serializers.ListField(child=serializers.CharField(),
                                 help_text="The definition keys that changed (`position` when it only moved).")


class StudyVersionSerializer(serializers.ModelSerializer):
    activated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    changes = ChangeSerializer(many=True, help_text="What changed from the version before (empty for the first).")
    protocol = serializers.JSONField(help_text="The version's items and criteria, as a study definition has them.")

    class Meta:
        model = StudyVersion
        fields = ["version", "effective_date", "status", "reason", "activated_by", "activated_at", "retired_at",
                  "changes", "protocol"]


class StudyVersionsSerializer(serializers.Serializer):
    version = serializers.CharField(help_text="The version in force.")
    pending_changes = ChangeSerializer(many=True, help_text="What the edited items and criteria change from the "
                                                            "version in force (the amendment in preparation).")
    versions = StudyVersionSerializer(many=True, help_text="Newest first.")


class AmendmentSerializer(LimitedSerializer):
    length_model = StudyVersion

    version = serializers.CharField(help_text="The amendment's protocol version number (new for the study).")
    effective_date = serializers.DateField(help_text="When it takes effect (its approval): today at the latest.")
    reason = serializers.CharField(help_text="Why the protocol is amended; kept in the audit trail.")


def _versions(study: Study) -> dict:
    return {"version": study.version, "pending_changes": [change.as_dict() for change in pending_changes(study)],
            "versions": StudyVersionSerializer(
                StudyVersion.objects.filter(study=study).select_related("activated_by")
                .order_by("-activated_at", "-id"), many=True).data}


class StudyVersions(APIView):
    """The study's protocol versions, newest first, each with its items and criteria and what it
    changed; the version in force; and what the edited items and criteria change from it (the
    amendment in preparation, put in force by `POST /studies/{code}/amendments/`)."""

    @extend_schema(responses={200: StudyVersionsSerializer})
    def get(self, request, code):
        return Response(_versions(selectors.study_for_user(request.user, code)))


class StudyAmendments(APIView):
    """An administrator of every site of the study puts the edited items and criteria in force as a
    new protocol version, with `{"version", "effective_date", "reason"}`: 201 with the study's
    versions; 403 for any other role or an administrator of only some of its sites; 400 naming the
    field (a version number the study has used, an effective date after today or before the version
    in force, no reason); 409 for a draft study or when nothing changed."""

    @extend_schema(request=AmendmentSerializer, responses={201: StudyVersionsSerializer})
    def post(self, request, code):
        study = get_object_or_404(Study.objects.visible_to(request.user).select_related("active_version"), code=code)
        if not site_ids_for(request.user, Action.CONFIGURE_STUDY):  # the role first, whatever the body
            raise PermissionDenied(_("Only an administrator of every site of the study amends its protocol."))
        body = AmendmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        amendment_activate(study=study, by=request.user, **body.validated_data)
        return Response(_versions(selectors.study_for_user(request.user, code)), status=201)
