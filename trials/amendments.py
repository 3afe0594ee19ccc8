"""Protocol amendments: the study's item and criterion rows are the next version's draft; an
administrator of every site of the study activates it with a version number, an effective date and
a reason, and from then on screenings are evaluated, and forms drawn, under it (`trials.versions`).

The first version is written when a study starts running (`study_activate`, or a study file
loaded as a running study); each later one retires the one before and records what changed.
`POST /api/v1/studies/{code}/amendments/` and the study administration's "Activate amendment"
page call the same service.
"""
from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audited_save
from .definitions import study_protocol
from .enums import StudyStatus
from .errors import ConflictError, Errors
from .limits import reason_length_error
from .loading import StudyDefinitionError
from .models import Study, StudyVersion, VersionStatus
from .scoping import Action, site_ids_for
from .versions import Change, protocol_changes


def require_study_administrator(study: Study, by, message: str) -> None:
    """Refuse (403) anyone who is not an administrator of every site of the study."""
    allowed = set(site_ids_for(by, Action.CONFIGURE_STUDY))
    if not allowed or any(site_id not in allowed for site_id in study.sites.values_list("pk", flat=True)):
        raise PermissionDenied(message)


def pending_changes(study: Study) -> list[Change]:
    """What the study's item and criterion rows change from the version in force (the amendment
    in preparation); [] when they are the same, or when no version is in force yet (a draft)."""
    if not study.active_version_id:
        return []
    protocol, _visits = study_protocol(study)
    return protocol_changes(study.active_version.protocol, protocol)


def version_first(*, study: Study, by, reason: str) -> StudyVersion:
    """The first version in force of a study that starts running: its rows as they are, under the
    study's version number and effective date. Called inside the caller's transaction."""
    protocol, visits = study_protocol(study)
    version = StudyVersion(study=study, version=study.version, effective_date=study.effective_date,
                           protocol=protocol, visits=visits, changes=[], reason=reason, activated_by=by,
                           activated_at=timezone.now())
    audited_save(version, by=by, reason=reason)
    study.active_version = version
    audited_save(study, by=by, reason=reason)
    return version


def _amendment_errors(study: Study, version: str, effective_date: date | None, reason: str, today: date) -> Errors:
    errors = Errors()
    current = study.active_version
    if not version:
        errors.add("version", _("Give the amendment's protocol version number."))
    elif len(version) > (longest := StudyVersion._meta.get_field("version").max_length):
        errors.add("version", _("At most %(n)d characters.") % {"n": longest})
    elif StudyVersion.objects.filter(study=study, version=version).exists():
        errors.add("version", _("Version %(version)s of %(study)s exists already: give the amendment a number of "
                                "its own.") % {"version": version, "study": study.code})
    if effective_date is None:
        errors.add("effective_date", _("Give the date the amendment takes effect (its approval date)."))
    elif effective_date > today:
        errors.add("effective_date", _("An amendment takes effect when it is activated: its effective date cannot "
                                       "be after today (%(today)s).") % {"today": today.isoformat()})
    elif current is not None and effective_date < current.effective_date:
        errors.add("effective_date", _("Version %(version)s took effect on %(date)s: an amendment cannot take effect "
                                       "before it.") % {"version": current.version,
                                                        "date": current.effective_date.isoformat()})
    if not reason:
        errors.add("reason", _("Say why the protocol is amended (kept in the audit trail)."))
    elif reason_length_error(reason):
        errors.add("reason", reason_length_error(reason))
    return errors


def amendment_activate(*, study: Study, version: str, effective_date: date | None, reason: str, by,
                       today: date | None = None) -> StudyVersion:
    """Put the study's item and criterion rows in force as a new protocol version. Refused (403) to
    anyone but an administrator of every site of the study; 400 for a missing or used version
    number, an effective date after today or before the version in force, no reason; 409 for a study
    that is not running (a draft's rows take effect when it is activated) or when the rows change
    nothing. One transaction with the study row locked: the version in force is retired, the new one
    written with what changed, and the study's version number and effective date follow it."""
    require_study_administrator(study, by, _("Only an administrator of every site of the study amends its protocol."))
    version, reason = (version or "").strip(), (reason or "").strip()
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = Study.objects.select_for_update(of=("self",)).select_related("active_version").get(pk=study.pk)
        if locked.status != StudyStatus.ACTIVE or locked.active_version is None:
            raise ConflictError({"status": [_("Study %(code)s is not running: its items and criteria take effect "
                                              "when the study is activated.") % {"code": locked.code}]})
        _amendment_errors(locked, version, effective_date, reason, today).raise_if_any()
        amended = _amend(locked, version=version, effective_date=effective_date, reason=reason, by=by)
        if amended is None:
            raise ConflictError({"non_field_errors": [
                _("The items and criteria are those of version %(version)s in force: change them first, then activate "
                  "the amendment.") % {"version": locked.active_version.version}]})
    study.active_version, study.version, study.effective_date = amended, version, effective_date
    return amended


def _amend(locked: Study, *, version: str, effective_date: date, reason: str, by) -> StudyVersion | None:
    """Retire the version in force and put the rows in force as `version` (None when they change
    nothing), in the caller's transaction, the study row locked."""
    protocol, visits = study_protocol(locked)
    changes = protocol_changes(locked.active_version.protocol, protocol)
    if not changes:
        return None
    now = timezone.now()
    previous = locked.active_version
    previous.status, previous.retired_at = VersionStatus.RETIRED, now
    audited_save(previous, by=by, reason=reason)
    amended = StudyVersion(study=locked, version=version, effective_date=effective_date, protocol=protocol,
                           visits=visits, changes=[change.as_dict() for change in changes], reason=reason,
                           activated_by=by, activated_at=now)
    audited_save(amended, by=by, reason=reason)
    locked.active_version, locked.version, locked.effective_date = amended, version, effective_date
    audited_save(locked, by=by, reason=reason)
    return amended


def version_sync(study: Study, *, version: str, effective_date: date, by, reason: str, report) -> None:
    """A running study loaded from a study file (`trials.services.study_load`): without a version
    in force it gets its first; when the file's values were applied (`report.update`) and change
    its items or criteria, the file's version number puts them in force as an amendment, with the
    file as the reason, and a file that changes them under the version number in force is
    reported: the rows then wait, as an administrator's draft does, for an amendment."""
    if not study.active_version_id:
        version_first(study=study, by=by, reason=reason)
        report.created.append(f"{study.code} protocol version {study.version}")
        return
    if not report.update or not pending_changes(study):
        return
    current = study.active_version
    if version == current.version:
        report.differs.append(f"{study.code} protocol version {version}: the file changes items or criteria of the "
                              "version in force; they take effect when an amendment with a version number of its own "
                              "is activated")
        return
    errors = _amendment_errors(study, version, effective_date, reason, timezone.localdate())
    if errors:
        raise StudyDefinitionError(_("%(study)s version: ") % {"study": study.code}
                                   + " ".join(m for ms in errors.values() for m in ms),
                                   dict(errors))
    locked = Study.objects.select_for_update(of=("self",)).select_related("active_version").get(pk=study.pk)
    _amend(locked, version=version, effective_date=effective_date, reason=reason, by=by)
    study.active_version, study.version, study.effective_date = locked.active_version, version, effective_date
    report.updated.append(f"{study.code} protocol version {version} in force")
