"""A participant's casebook lock, and the one check every write of a participant's record makes.

A data manager or an administrator of the participant's site locks the casebook (`Action.LOCK`),
once an investigator has signed it (`trials.hooks.casebook_signed`: 409 until then), with a
reason; only an administrator unlocks it (`ROLE_RULES["unlock"]`), with a reason. The lock lives
on the participant row (`trials.lock_models.LockFields`) and its history keeps each lock and
unlock with who, when and why.

A locked casebook, or any casebook of a locked study (`trials.locks`), refuses every change:
each write service of enrollment, dosing and followup calls `refuse_if_locked` (or, for a
screening, `refuse_if_screening_locked`) before anything else, which raises
`trials.errors.RecordLocked` (409 in the API, a 403 page naming the lock), and checks again
inside its transaction with `hold_unlocked` (`hold_screening_unlocked`), which holds the
participant's and the study's rows until it commits: a lock taken meanwhile waits for the write,
and a write that starts while a lock is being taken sees it (`trials.row_locks`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trials import hooks
from trials.audit import audited_save, clip_reason
from trials.errors import ConflictError, RecordLocked
from trials.locks import casebook_lock_message, lock_reason_checked, study_lock_message, when_text
from trials.models import Study
from trials.row_locks import held
from trials.scoping import Action, may_at, require

from .models import Participant, Screening

_LOCK_VALUES = ("locked_at", "locked_by__username", "lock_reason")


@dataclass(frozen=True)
class Lock:
    """A lock as shown: on the casebook itself or on its study."""

    scope: str  # "casebook" or "study"
    locked_at: datetime
    locked_by: str
    reason: str
    message: str


def _lock_from(participant_values, study_values, *, number: str, study_code: str) -> Lock | None:
    """The lock in force, the study's first (it is the wider one), from (at, by, reason) triples."""
    at, who, reason = study_values
    if at is not None:
        return Lock("study", at, who or "-", reason, study_lock_message(study_code, who, at, reason))
    at, who, reason = participant_values
    if at is not None:
        return Lock("casebook", at, who or "-", reason, casebook_lock_message(number, who, at, reason))
    return None


def _triple(row) -> tuple:
    """(locked_at, locked_by's user name, reason) of a participant or study row; the user is read
    only when the row is locked."""
    if row.locked_at is None:
        return None, "", ""
    return row.locked_at, row.locked_by.get_username() if row.locked_by_id else "", row.lock_reason


def lock_of(participant: Participant) -> Lock | None:
    """The lock of `participant` as the caller read it (with `locked_by`, `study` and
    `study__locked_by` selected, no query: `selectors.participants_visible`), or None."""
    study = participant.study
    return _lock_from(_triple(participant), _triple(study), number=participant.study_number, study_code=study.code)


def current_lock(participant: Participant) -> Lock | None:
    """The lock of `participant` as it stands in the database now (one query)."""
    row = (Participant.objects.filter(pk=participant.pk)
           .values_list("study_number", "study__code", *_LOCK_VALUES, *(f"study__{v}" for v in _LOCK_VALUES)).get())
    return _lock_from(row[2:5], row[5:8], number=row[0], study_code=row[1])


def _read_with_its_lock(participant: Participant) -> bool:
    """True when the caller read `participant` in this request with its lock and its study's
    (`selectors.participants_visible` selects `locked_by`, `study` and `study__locked_by`)."""
    cache = participant._state.fields_cache
    return "locked_by" in cache and "study" in cache and "locked_by" in cache["study"]._state.fields_cache


def refuse_if_locked(participant: Participant) -> None:
    """`RecordLocked` (409 in the API, 403 page) when the participant's casebook or study is locked.
    Every write service that changes a participant's clinical data calls it first. Read with the
    participant when the caller selected its lock in this request (no query of its own, as
    `refuse_if_screening_locked` does), else one query."""
    lock = lock_of(participant) if _read_with_its_lock(participant) else current_lock(participant)
    if lock is not None:
        raise RecordLocked(lock.message)


def refuse_if_screening_locked(screening: Screening) -> None:
    """As `refuse_if_locked`, for a screening: locked when its study is, or when its patient is
    enrolled and their casebook is locked. Read with the screening when the caller selected its
    study and participant in this request (`selectors.screenings_visible`: no query of its own, as
    `first_consent_signed_at` is), else one query."""
    cache = screening._state.fields_cache
    if "study" in cache and "participant" in cache:
        study, participant = cache["study"], cache["participant"]
        lock = _lock_from(_triple(participant) if participant else (None, "", ""), _triple(study),
                          number=participant.study_number if participant else "", study_code=study.code)
        if lock is not None:
            raise RecordLocked(lock.message)
        return
    row = (Screening.objects.filter(pk=screening.pk)
           .values_list("participant__study_number", "study__code", *(f"participant__{v}" for v in _LOCK_VALUES),
                        *(f"study__{v}" for v in _LOCK_VALUES)).get())
    lock = _lock_from(row[2:5], row[5:8], number=row[0] or "", study_code=row[1])
    if lock is not None:
        raise RecordLocked(lock.message)


def _forget_stale_joins(row, names) -> None:
    """A row held after waiting for another transaction (a lock being taken) is read again as that
    one left it, but the rows joined to it are those read before the wait (PostgreSQL's
    re-check of a locked row): a joined row its key no longer names is forgotten, read anew when
    used."""
    cache = row._state.fields_cache
    for name in names:
        if name in cache and getattr(cache[name], "pk", None) != getattr(row, f"{name}_id"):
            del cache[name]


def _held_participant(lookup: dict, *related: str) -> Participant | None:
    """The participant `lookup` finds with its lock and its study's, both rows held (`held`)."""
    rows = held(Participant.objects.filter(**lookup).select_related(
        "locked_by", "study__locked_by", *related), "self", "study")
    if not rows:
        return None
    row = rows[0]
    _forget_stale_joins(row, ["locked_by"])
    _forget_stale_joins(row.study, ["locked_by", *(name[7:] for name in related if name.startswith("study__"))])
    return row


def _copy_lock(source, target) -> None:
    target.locked_at, target.locked_by, target.lock_reason = source.locked_at, source.locked_by, source.lock_reason


def hold_unlocked(participant: Participant, *related: str) -> None:
    """The lock check that counts, made inside the write's transaction (`transaction.atomic()`):
    the participant's lock and its study's read anew, both rows held until the transaction ends
    (FOR KEY SHARE on PostgreSQL, `trials.row_locks.held`: `casebook_lock` and `study_lock` wait
    for this write, a write after them sees their lock); `RecordLocked` when either is locked.

    One statement, which also reads the participant's screening and the relations named in
    `related` (such as "study__active_version"): `participant` is given them where it had not read
    them, so that the write reads them no more (its statement budget pays for the check with them).
    A lock it had read is brought up to date; one it had not stays unread (`refuse_if_locked` reads
    it anew).
    """
    row = _held_participant({"pk": participant.pk}, "screening", *related)
    cache = participant._state.fields_cache
    if "locked_by" in cache:
        _copy_lock(row, participant)
    study = cache.get("study")
    if study is None:
        participant.study = row.study
    else:
        if "locked_by" in study._state.fields_cache:
            _copy_lock(row.study, study)
        for name in related:
            if name.startswith("study__") and "__" not in name[7:]:
                setattr(study, name[7:], getattr(row.study, name[7:]))
    cache.setdefault("screening", row.screening)
    lock = lock_of(row)
    if lock is not None:
        raise RecordLocked(lock.message)


def hold_screening_unlocked(screening: Screening) -> None:
    """As `hold_unlocked`, for a screening: its participant's row and its study's when the patient
    is enrolled, else its study's; one statement when the caller read the screening with its
    participant (`selectors.screenings_visible`), else two."""
    cache = screening._state.fields_cache
    enrolled = cache["participant"] is not None if "participant" in cache else None
    participant = _held_participant({"screening_id": screening.pk}) if enrolled is not False else None
    if participant is not None:
        lock = lock_of(participant)
    else:  # the user who locked is read only when locked (a user joined to a held row may be stale)
        study = held(Study.objects.filter(pk=screening.study_id), "self")[0]
        lock = _lock_from((None, "", ""), _triple(study), number="", study_code=study.code)
    if lock is not None:
        raise RecordLocked(lock.message)


def casebook_lock(*, participant: Participant, by, reason: str, now: datetime | None = None) -> Participant:
    """Lock the participant's casebook: a data manager or administrator of the site (403), with a
    reason (400), once signed by the investigator (`hooks.casebook_signed`; 409 until then); an
    already locked casebook is 409. Found by the caller through `visible_to` (404 elsewhere)."""
    require(by, Action.LOCK, [participant.site_id])
    reason = lock_reason_checked(reason)
    now = now or timezone.now()
    with transaction.atomic():
        # FOR UPDATE (not NO KEY): it waits for the writes holding the row (`hold_unlocked`).
        row = Participant.objects.select_for_update(of=("self",)).select_related("study", "locked_by").get(
            pk=participant.pk)
        if row.locked_at is not None:
            raise ConflictError({"lock": [_("The casebook of %(number)s is already locked (by %(who)s on %(when)s).")
                                          % {"number": row.study_number,
                                             "who": row.locked_by.get_username() if row.locked_by else "-",
                                             "when": when_text(row.locked_at)}]})
        if not hooks.casebook_signed.one(participant=row):
            raise ConflictError({"signature": [_("The casebook of %(number)s is not signed by an investigator of the "
                                                 "site: it is locked once signed.") % {"number": row.study_number}]})
        row.locked_at, row.locked_by, row.lock_reason = now, by, reason
        audited_save(row, by=by, reason=clip_reason(_("Casebook locked: %(reason)s") % {"reason": reason}))
    participant.locked_at, participant.locked_by, participant.lock_reason = row.locked_at, by, row.lock_reason
    return participant


def require_casebook_unlock(user, participant: Participant) -> None:
    """403 unless an administrator of the participant's site."""
    require(user, Action.LOCK, [participant.site_id])
    if not may_at(user, "unlock", participant.site_id):
        raise PermissionDenied(_("Only an administrator unlocks a casebook."))


def casebook_unlock(*, participant: Participant, by, reason: str) -> Participant:
    """Unlock the participant's casebook: an administrator of the site (403, a data manager too),
    with a reason (400); a casebook that is not locked is 409. A casebook of a locked study stays
    closed to changes until the study is unlocked."""
    require_casebook_unlock(by, participant)
    reason = lock_reason_checked(reason)
    with transaction.atomic():
        row = Participant.objects.select_for_update(of=("self",)).get(pk=participant.pk)
        if row.locked_at is None:
            raise ConflictError({"lock": [_("The casebook of %(number)s is not locked.") % {
                "number": row.study_number}]})
        row.locked_at, row.locked_by, row.lock_reason = None, None, ""
        audited_save(row, by=by, reason=clip_reason(_("Casebook unlocked: %(reason)s") % {"reason": reason}))
    participant.locked_at, participant.locked_by, participant.lock_reason = None, None, ""
    return participant
