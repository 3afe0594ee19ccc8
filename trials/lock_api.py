"""REST API of the data locks: a study's (here) and a casebook's (`enrollment.lock_api`).

`POST /studies/{code}/lock/` and `/unlock/` with `{"reason": "..."}`: 200 with the study's lock;
404 when the user's sites do not run the study, 403 for a role that may not (lock: a data manager
or an administrator of every site of the study; unlock: an administrator of each), 400 without a
reason, 409 when already locked (lock) or not locked (unlock).
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .limits import LimitedSerializer
from .locks import require_study_lock, require_study_unlock, study_lock, study_unlock
from .models import Study


class LockReasonInSerializer(LimitedSerializer):
    reason = serializers.CharField(help_text="Why the record is locked or unlocked (kept in the audit trail).")


class LockOutSerializer(serializers.Serializer):
    """The lock fields a study's and a participant's representations carry."""

    locked = serializers.BooleanField()
    locked_at = serializers.DateTimeField(allow_null=True)
    locked_by = serializers.CharField(allow_null=True)
    lock_reason = serializers.CharField()


def study_lock_fields(study: Study) -> dict:
    """The study's lock as the API shows it (`locked_by` selected with the study: no query)."""
    return {"locked": study.locked_at is not None, "locked_at": study.locked_at,
            "locked_by": study.locked_by.get_username() if study.locked_by_id else None,
            "lock_reason": study.lock_reason}


def _study(request, code) -> Study:
    return get_object_or_404(Study.objects.visible_to(request.user).prefetch_related("sites"), code=code)


def lock_reason(request) -> str:
    """The reason sent (400 naming `reason` when missing or too long). Called once the user's role
    was checked, so that a wrong role is told so (403) whatever the body."""
    body = LockReasonInSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return body.validated_data["reason"]


class StudyLock(APIView):
    """Lock the study's data for analysis: every record of the study refuses changes (409) until unlocked."""

    @extend_schema(request=LockReasonInSerializer, responses=LockOutSerializer)
    def post(self, request, code):
        study = _study(request, code)
        require_study_lock(request.user, study)
        study_lock(study=study, by=request.user, reason=lock_reason(request))
        return Response(LockOutSerializer(study_lock_fields(study)).data)


class StudyUnlock(APIView):
    """Unlock the study's data (administrators only)."""

    @extend_schema(request=LockReasonInSerializer, responses=LockOutSerializer)
    def post(self, request, code):
        study = _study(request, code)
        require_study_unlock(request.user, study)
        study_unlock(study=study, by=request.user, reason=lock_reason(request))
        return Response(LockOutSerializer(study_lock_fields(study)).data)
