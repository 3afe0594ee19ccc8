"""The investigator's sign-off of a participant's casebook (issue 14: investigator sign-off).

An investigator of the participant's site (`Action.SIGN`) approves the casebook's data as complete
and accurate with their own password, re-entered (`trials.signatures.check_signature`: a wrong
password is 403 and writes nothing). The signature records the signer, their printed name, the time
and the meaning they read (`trials.signatures.CASEBOOK_MEANING`); each is a row of its own
(`followup.signoff_models.CasebookSignature`), never edited, the latest superseding the earlier.

The signature holds only while the data it approved stand: any later change of the casebook -
screening (with its labs and prior therapies), consent, the participant's own record, infusions,
visits, assessments (with their labs, transfusions and rescue therapies) and adverse events -
withdraws it. The time of the latest change is that of the latest history row of those records
(django-simple-history's `history_date`: every write keeps a history row, `trials.audit`), stored
per participant by database triggers on their history tables in the statement that writes the row
(`followup.casebook_changes`), and read in the same statement that reads the signature
(`latest_change`), so no write has to remember to clear the signature.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from enrollment.locks import hold_unlocked, refuse_if_locked
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from trials.audit import audited_save
from trials.errors import ServiceError
from trials.scoping import Action, require
from trials.signatures import CASEBOOK_MEANING, check_signature, printed_name

from . import casebook_changes as changes
from .models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from .signoff_models import CasebookChange, CasebookSignature

# The casebook's records (`followup.casebook_changes`), as (model, link of their history rows to the
# participant's screening or to the participant).
_MODELS = {model.__name__: model for model in (Screening, ScreeningLab, PriorTherapy, Consent, Participant, Infusion,
                                                Visit, Assessment, LabResult, Transfusion, RescueTherapy, AdverseEvent)}
SCREENING_RECORDS = tuple((_MODELS[name], lookup) for _app, name, lookup in changes.SCREENING_RECORDS)
PARTICIPANT_RECORDS = tuple((_MODELS[name], lookup) for _app, name, lookup in changes.PARTICIPANT_RECORDS)


def latest_change(participant=None) -> Coalesce:
    """An expression: the time of the latest change of any record of the participant's casebook
    (`SCREENING_RECORDS`, `PARTICIPANT_RECORDS`), as stored with each change of them
    (`CasebookChange`, kept from their history by `followup.casebook_changes`). `participant` is the
    participant's id, as a value or as a reference to the outer query (by default, of a query of
    participants). One indexed lookup in the statement that annotates it."""
    participant = OuterRef("pk") if participant is None else participant
    stored = CasebookChange.objects.filter(participant_id=participant).values("changed_at")[:1]
    return Coalesce(Subquery(stored), Value(changes.NEVER), output_field=models.DateTimeField())


def signature_holds(signed_at: datetime, changed_at: datetime | None) -> bool:
    """A signature holds when no change of the data came after it (a change at the very time of
    signing was seen by the signer)."""
    return changed_at is None or changed_at <= signed_at


class CasebookSignoff(NamedTuple):
    """The casebook's latest signature (None: never signed), whether it holds, and, when withdrawn,
    the time of the latest change after it."""

    signature: CasebookSignature | None
    valid: bool
    changed_since: datetime | None


def _state(signature: CasebookSignature | None) -> CasebookSignoff:
    if signature is None:
        return CasebookSignoff(None, False, None)
    changed_at = signature.latest_change
    if signature_holds(signature.signed_at, changed_at):
        return CasebookSignoff(signature, True, None)
    return CasebookSignoff(signature, False, changed_at)


_READ_WITH = "signoff_signed_at"  # the annotation that says `signoff_annotations` were read
_SIGNATURE_VALUES = {"signoff_id": "id", "signoff_signed_by_id": "signed_by_id",
                     "signoff_signed_by_username": "signed_by__username", "signoff_signed_by_name": "signed_by_name",
                     _READ_WITH: "signed_at", "signoff_meaning": "meaning"}


def signoff_annotations() -> dict:
    """Annotations of a query of participants that read their casebook's latest signature and the
    time of the latest change with them (`casebook_signature_state` then costs no query: the
    participant page)."""
    latest = CasebookSignature.objects.filter(participant_id=OuterRef("pk")).order_by("-signed_at", "-id")
    return {**{name: Subquery(latest.values(field)[:1]) for name, field in _SIGNATURE_VALUES.items()},
            "signoff_latest_change": latest_change()}


CASEBOOK_SIGNED_AT, CASEBOOK_CHANGED_AT = "casebook_signed_at", "casebook_changed_at"


def signed_annotations() -> dict:
    """Annotations of a query of participants read as plain values (the participant x visit grid):
    the time of the casebook's latest signature (None: never signed) and of its latest change, all
    `signature_valid` needs."""
    latest = CasebookSignature.objects.filter(participant_id=OuterRef("pk")).order_by("-signed_at", "-id")
    return {CASEBOOK_SIGNED_AT: Subquery(latest.values("signed_at")[:1]), CASEBOOK_CHANGED_AT: latest_change()}


def signature_valid(signed_at: datetime | None, changed_at: datetime | None) -> bool:
    """`casebook_signature_state(participant).valid` from the values of `signed_annotations`."""
    return signed_at is not None and signature_holds(signed_at, changed_at)


def _annotated_signature(participant) -> CasebookSignature | None:
    if getattr(participant, "signoff_id", None) is None:
        return None
    signature = CasebookSignature(
        id=participant.signoff_id, participant_id=participant.pk, signed_by_id=participant.signoff_signed_by_id,
        signed_by_name=participant.signoff_signed_by_name, signed_at=participant.signoff_signed_at,
        meaning=participant.signoff_meaning)
    signature.signed_by = get_user_model()(pk=participant.signoff_signed_by_id,
                                           username=participant.signoff_signed_by_username)
    signature.latest_change = participant.signoff_latest_change
    return signature


def casebook_signature_state(participant, *, fresh: bool = False) -> CasebookSignoff:
    """(signature | None, valid, changed_since) of the participant's casebook, in one query: the
    latest signature, its signer and the time of the casebook's latest change; in none when the
    participant was read with `signoff_annotations` (unless `fresh`: a decision reads it anew)."""
    if hasattr(participant, _READ_WITH) and not fresh:
        return _state(_annotated_signature(participant))
    signature = (CasebookSignature.objects.filter(participant_id=participant.pk).select_related("signed_by")
                 .annotate(latest_change=latest_change(participant.pk))
                 .order_by("-signed_at", "-id").first())
    return _state(signature)


def casebook_signed(participant) -> bool:
    """True when the casebook carries an investigator's signature that no later change has
    withdrawn (the receiver of `trials.hooks.casebook_signed`, which a lock asks: read anew)."""
    return casebook_signature_state(participant, fresh=True).valid


def casebook_sign(*, participant, password: str, by, now: datetime | None = None) -> CasebookSignature:
    """The investigator of the participant's site signs the casebook (403 for another role; 409
    while the casebook or its study is locked, before the password is checked; 400 when no password
    is given; 403 when it is not the signer's own, nothing written). A new signature supersedes the
    earlier ones, which are kept as they were."""
    require(by, Action.SIGN, [participant.site_id])
    refuse_if_locked(participant)
    if not password:
        raise ServiceError({"password": [_("Re-enter your password to sign the casebook.")]})
    check_signature(by, password, refused=_("The password is not correct: the casebook was not signed."))
    signature = CasebookSignature(participant=participant, signed_by=by,
                                  signed_by_name=printed_name(by),
                                  signed_at=now or timezone.now(), meaning=str(CASEBOOK_MEANING))
    with transaction.atomic():
        hold_unlocked(participant)
        audited_save(signature, by=by, reason=_("Casebook signed by the investigator"))
    return signature
