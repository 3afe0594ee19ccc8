"""The study-level data lock (a freeze for analysis) and the words every lock is shown in.

A locked study locks every record of the study at once: each write service refuses a change to a
participant of the study (`enrollment.locks.refuse_if_locked`), a new screening or an enrolment
(`refuse_if_study_locked`) with `trials.errors.RecordLocked` (409 in the API, a 403 page). A data
manager or an administrator of every site of the study locks it (`Action.LOCK`); only an
administrator unlocks it (`ROLE_RULES["unlock"]`), each with a reason kept in the study's history.
"""
from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audited_save, clip_reason
from .errors import ConflictError, Errors, RecordLocked
from .limits import reason_length_error
from .models import Study
from .row_locks import held
from .scoping import PERMISSIONS, ROLE_RULES, Action, site_roles


def lock_reason_checked(reason: str | None) -> str:
    """The reason stripped; missing or longer than the audit column is a `ServiceError` (400) on `reason`."""
    errors = Errors()
    if not (reason or "").strip():
        errors.add("reason", _("Say why (kept in the audit trail)."))
    elif reason_length_error(reason):
        errors.add("reason", reason_length_error(reason))
    errors.raise_if_any()
    return reason.strip()


def when_text(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def study_lock_message(code: str, who: str, when: datetime | None, reason: str) -> str:
    return _("Study %(study)s is locked for analysis (by %(who)s on %(when)s: %(reason)s); its records cannot "
             "change until an administrator unlocks it.") % {
        "study": code, "who": who or "-", "when": when_text(when), "reason": reason}


def casebook_lock_message(number: str, who: str, when: datetime | None, reason: str) -> str:
    return _("The casebook of %(number)s is locked (by %(who)s on %(when)s: %(reason)s); it cannot change until "
             "an administrator unlocks it.") % {
        "number": number, "who": who or "-", "when": when_text(when), "reason": reason}


def refuse_if_study_locked(study: Study) -> None:
    """`RecordLocked` when `study`, as read by the caller (a row it locked or just read), is locked."""
    if study.locked_at is not None:
        who = study.locked_by.get_username() if study.locked_by_id else "-"
        raise RecordLocked(study_lock_message(study.code, who, study.locked_at, study.lock_reason))


def hold_study_unlocked(study: Study) -> None:
    """Inside a write's transaction: the study's lock read anew, its row held until the transaction
    ends (FOR KEY SHARE, `trials.row_locks`: `study_lock` waits for the write, a write after it sees
    the lock); `RecordLocked` when locked. One statement (and one for the name of who locked it:
    a user joined to a held row may be the one read before waiting for the lock)."""
    refuse_if_study_locked(held(Study.objects.filter(pk=study.pk), "self")[0])


def allowed_at_every_site(user, study: Study, allowed: frozenset[str]) -> bool:
    """A study's lock concerns all its sites: whether the user's role allows it at each (the
    study's sites prefetched: no query)."""
    roles = site_roles(user)
    sites = [site.pk for site in study.sites.all()]
    return bool(sites) and all(roles.get(site) in allowed for site in sites)


def require_study_lock(user, study: Study) -> None:
    """403 unless a data manager or an administrator at every site of the study."""
    if not allowed_at_every_site(user, study, PERMISSIONS[Action.LOCK]):
        raise PermissionDenied(_("Only a data manager or an administrator of every site of the study locks its data."))


def require_study_unlock(user, study: Study) -> None:
    """403 unless an administrator at every site of the study."""
    if not allowed_at_every_site(user, study, ROLE_RULES["unlock"]):
        raise PermissionDenied(_("Only an administrator unlocks a study's data."))


def study_lock(*, study: Study, by, reason: str, now: datetime | None = None) -> Study:
    """Lock the study's data for analysis: every record of the study refuses changes from now on.
    A data manager or an administrator at every site of the study (403); a reason (400); an
    already locked study is 409."""
    require_study_lock(by, study)
    reason = lock_reason_checked(reason)
    now = now or timezone.now()
    with transaction.atomic():
        # FOR UPDATE (not NO KEY): it waits for the writes holding the row (`enrollment.locks.hold_unlocked`).
        row = Study.objects.select_for_update(of=("self",)).select_related("locked_by").get(pk=study.pk)
        if row.locked_at is not None:
            raise ConflictError({"lock": [_("Study %(study)s is already locked (by %(who)s on %(when)s).") % {
                "study": row.code, "who": row.locked_by.get_username() if row.locked_by else "-",
                "when": when_text(row.locked_at)}]})
        row.locked_at, row.locked_by, row.lock_reason = now, by, reason
        audited_save(row, by=by, reason=clip_reason(_("Study data locked: %(reason)s") % {"reason": reason}))
    study.locked_at, study.locked_by, study.lock_reason = row.locked_at, by, row.lock_reason
    return study


def study_unlock(*, study: Study, by, reason: str) -> Study:
    """Unlock the study's data: an administrator of every site of the study (403), with a reason
    (400); a study that is not locked is 409. Casebooks locked on their own stay locked."""
    require_study_unlock(by, study)
    reason = lock_reason_checked(reason)
    with transaction.atomic():
        row = Study.objects.select_for_update().get(pk=study.pk)
        if row.locked_at is None:
            raise ConflictError({"lock": [_("Study %(study)s is not locked.") % {"study": row.code}]})
        row.locked_at, row.locked_by, row.lock_reason = None, None, ""
        audited_save(row, by=by, reason=clip_reason(_("Study data unlocked: %(reason)s") % {"reason": reason}))
    study.locked_at, study.locked_by, study.lock_reason = None, None, ""
    return study
