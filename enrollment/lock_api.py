"""REST API of a participant's casebook lock.

`POST /participants/{id}/lock/` and `/unlock/` with `{"reason": "..."}`: 200 with the
participant's lock (`locked`, `locked_at`, `locked_by`, `lock_reason`, `lock_scope`); 404 for
another site's participant, 403 for a role that may not (lock: a data manager or an
administrator of the site; unlock: an administrator), 400 without a reason, 409 when the casebook
is not signed by an investigator, already locked (lock) or not locked (unlock).
"""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from trials.scoping import Action, require
from trials.lock_api import LockOutSerializer, LockReasonInSerializer, lock_reason

from . import selectors
from .locks import casebook_lock, casebook_unlock, lock_of, require_casebook_unlock


class ParticipantLockOutSerializer(LockOutSerializer):
    lock_scope = serializers.ChoiceField(choices=["casebook", "study"], allow_null=True,
                                         help_text="What holds the lock: the casebook itself or its study.")


def participant_lock_fields(participant) -> dict:
    """The participant's lock as the API shows it: locked by itself or by its study (the study's
    lock first); read from the rows the caller selected (`selectors.participants_visible`)."""
    lock = lock_of(participant)
    if lock is None:
        return {"locked": False, "locked_at": None, "locked_by": None, "lock_reason": "", "lock_scope": None}
    return {"locked": True, "locked_at": lock.locked_at, "locked_by": lock.locked_by, "lock_reason": lock.reason,
            "lock_scope": lock.scope}


def _participant(request, pk):
    return get_object_or_404(selectors.participants_visible(request.user), pk=pk)


class ParticipantLock(APIView):
    """Lock the participant's casebook once signed by the investigator: every change is then refused (409)."""

    @extend_schema(request=LockReasonInSerializer, responses=ParticipantLockOutSerializer)
    def post(self, request, pk):
        participant = _participant(request, pk)
        require(request.user, Action.LOCK, [participant.site_id])
        casebook_lock(participant=participant, by=request.user, reason=lock_reason(request))
        return Response(ParticipantLockOutSerializer(participant_lock_fields(participant)).data)


class ParticipantUnlock(APIView):
    """Unlock the participant's casebook (administrators only)."""

    @extend_schema(request=LockReasonInSerializer, responses=ParticipantLockOutSerializer)
    def post(self, request, pk):
        participant = _participant(request, pk)
        require_casebook_unlock(request.user, participant)
        casebook_unlock(participant=participant, by=request.user, reason=lock_reason(request))
        return Response(ParticipantLockOutSerializer(participant_lock_fields(participant)).data)
