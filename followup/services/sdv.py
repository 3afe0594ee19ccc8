"""Source data verification: a study's plan chosen by a data manager, items ticked by a monitor."""
from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked
from trials.audit import audited_save
from trials.audit_querysets import audited_bulk_create
from trials.concurrency import check_version
from trials.errors import ConflictError, Errors, ServiceError
from trials.limits import reason_length_error
from trials.locks import hold_study_unlocked, refuse_if_study_locked
from trials.scoping import Action, require

from ..record_refs import RecordRef
from ..record_states import COMPLETE
from ..sdv import record_participant, single_record
from ..sdv_models import ItemVerification, SdvPlan, SdvScope


def sdv_plan_set(*, study, scope: str, reason: str, by, now: datetime | None = None) -> SdvPlan:
    """Choose the study's SDV plan: all items, or the key items only (`followup.record_refs`).

    A data manager or an administrator at a site of the study (`Action.MANAGE_SDV`, 403), with a
    reason kept in the audit trail. The plan applies at once to every record: the progress and the
    worklists are computed from it. The same plan chosen again writes nothing. A study locked for
    analysis keeps its plan (409, `trials.locks`)."""
    require(by, Action.MANAGE_SDV, [site.pk for site in study.sites.all()])
    refuse_if_study_locked(study)
    reason = (reason or "").strip()
    errors = Errors()
    if scope not in SdvScope.values:
        errors.add("scope", _("Choose \"all\" (every item) or \"key\" (the key items only)."))
    if not reason:
        errors.add("reason", _("Give the reason for the change of the verification plan."))
    elif (too_long := reason_length_error(reason)) is not None:
        errors.add("reason", too_long)
    errors.raise_if_any()
    now = now or timezone.now()
    with transaction.atomic():
        hold_study_unlocked(study)
        plan = SdvPlan.objects.select_for_update().filter(study=study).first()
        if plan is not None and plan.scope == scope:
            return plan
        if plan is None:
            plan = SdvPlan(study=study)
        plan.scope, plan.reason, plan.changed_by, plan.changed_at = scope, reason, by, now
        audited_save(plan, by=by, reason=reason)
    return plan


def items_verify(*, record_ref: RecordRef, item_codes, by, version: int | None, now: datetime | None = None):
    """Record that `by` verified `item_codes` of the record against source, at `version` of it.

    A monitor of the participant's site (`Action.VERIFY`, 403); refused while the casebook or the
    study is locked (`enrollment.locks`, 409). The record is locked and must be
    at `version` (400 without it, 409 when changed since: the monitor compared an older read) and
    complete (409 while in progress). Every code must name an item the record holds (400 naming the
    others). An item already verified at this version is left as it is. Returns the record's
    `followup.sdv.SdvRecord` after the change."""
    definition = record_ref.definition
    model = definition.model_class()
    now = now or timezone.now()
    with transaction.atomic():
        record = model.objects.select_for_update().filter(pk=record_ref.pk).first()
        if record is None:
            raise ServiceError({"record": [_("There is no such %(form)s.") % {"form": definition.label}]})
        participant = record_participant(record_ref.kind, record)
        require(by, Action.VERIFY, [participant.site_id])
        hold_unlocked(participant)  # a locked casebook or study is frozen, its verification too
        current = single_record(record_ref.kind, record, participant)
        check_version(current.version, version, record=record, label=current.label)
        codes = list(dict.fromkeys(str(code).strip() for code in item_codes or () if str(code).strip()))
        errors = Errors()
        if not codes:
            errors.add("items", _("Choose at least one item to verify."))
        unknown = [code for code in codes if code not in current.statuses]
        if unknown:
            errors.add("items", _("%(record)s holds no item %(items)s.") % {
                "record": current.label, "items": ", ".join(unknown)})
        errors.raise_if_any()
        if current.entered != COMPLETE:
            raise ConflictError({"record": [_("%(record)s is still being entered: it is verified once it is "
                                              "complete.") % {"record": current.label}]})
        rows = [ItemVerification(record_kind=record_ref.kind, record_pk=record.pk, participant=participant,
                                 item_code=code, record_version=current.version, verified_by=by, verified_at=now)
                for code in codes if not current.statuses[code].verified]
        audited_bulk_create(rows, by=by, reason=_("Verified against source"))
    return single_record(record_ref.kind, record, participant)
