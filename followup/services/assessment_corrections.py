"""Correcting a recorded assessment, with the reason."""
from __future__ import annotations

import math
from dataclasses import fields
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from trials.audit import audited_delete, audited_save
from trials.audit_querysets import audited_bulk_create, audited_bulk_update
from trials.concurrency import check_version
from trials.errors import Errors
from trials.limits import reason_length_error
from trials.prefetch import cache_rows
from trials.scoping import may_at

from ..auto_queries import auto_queries_for
from ..data_queries import query_answer_by_correction, query_for_correction
from ..models import Assessment, LabResult, RescueTherapy, Transfusion, Visit
from ..record_refs import RecordRef
from .adverse_event_drafts import adverse_event_suggest, suggestion_reads
from .assessment_reads import assessment_check_reads
from .assessments import (
    LAB_FIELDS,
    AssessmentInput,
    _assessment_validate,
    _AssessmentErrors,
    _lab_fields,
    _lab_ranges,
)
from .count_checks import changed_counts, count_checks, count_rules, own_facts
from .keep import KEEP
from .outcomes import queue_outcomes
from .visits import _at_midnight, visit_record


def assessment_can_correct(user, participant) -> bool:
    """Whether `user` corrects the participant's assessments: a coordinator of the participant's
    site. Investigators and monitors read them; the site's data entry stays with the coordinator."""
    return may_at(user, "correct_assessment", participant.site_id)


def _same(old, new) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        return old is not None and new is not None and math.isclose(old, new, rel_tol=1e-9, abs_tol=1e-12)
    return old == new


def _lab_changes(assessment, current: list, wanted: list[dict]) -> tuple[list, list, list]:
    """(added, changed, removed) LabResult rows that turn `current` into `wanted` (one row per analyte)."""
    by_analyte = {lab.analyte: lab for lab in current}
    added, changed = [], []
    for row in wanted:
        fields_ = _lab_fields(row)
        lab = by_analyte.pop(row["analyte"], None)
        if lab is None:
            added.append(LabResult(assessment=assessment, **fields_))
        elif not all(_same(getattr(lab, key), value) for key, value in fields_.items()):
            for key, value in fields_.items():
                setattr(lab, key, value)
            changed.append(lab)
    return added, changed, list(by_analyte.values())


def _item_changes(current: list, wanted: list[dict]) -> tuple[list[dict], list, list]:
    """(to add, to delete, kept) turning the rows `current` into the entries `wanted`, matched on their values."""
    remaining = list(current)
    added, kept = [], []
    for entry in wanted:
        match = next((row for row in remaining if all(getattr(row, key) == value for key, value in entry.items())),
                     None)
        if match is None:
            added.append(entry)
        else:
            remaining.remove(match)
            kept.append(match)
    return added, remaining, kept


def _reason_problems(reason: str, errors) -> None:
    if not reason:
        errors.add("reason", _("Say why the assessment is corrected (kept in the audit trail)."))
    elif reason_length_error(reason):
        errors.add("reason", reason_length_error(reason))


def assessment_change_problems(*, assessment, data: AssessmentInput, reason: str,
                               now: datetime | None = None) -> Errors:
    """What `assessment_update` would refuse in `data` and `reason` (the version and the lock aside),
    every problem by its path; writes nothing. The correction page calls it on what it could read of
    a correction its form refused, so that every problem shows at once."""
    errors = _AssessmentErrors()
    _reason_problems((reason or "").strip(), errors)
    kept = _assessment_kept(data, assessment, assessment.visit.code if assessment.visit_id else None)
    _assessment_validate(assessment.participant, kept, now=now or timezone.now(), errors=errors,
                         current_visit_id=assessment.visit_id, current_items=assessment.items or {})
    return errors


def _assessment_kept(data: AssessmentInput, assessment, visit_code: str | None) -> AssessmentInput:
    """`data` with each `KEEP` replaced by the assessment's value (None for a list: left as it is)."""
    kept = {"date": assessment.date, "visit": visit_code, "bleeding_grade": assessment.bleeding_grade,
            "steroid_mg_per_day": assessment.steroid_mg_per_day, "notes": assessment.notes, "deviation_reason": "",
            "steroid_drug": assessment.steroid_drug, "steroid_dose_mg_per_day": assessment.steroid_dose_mg_per_day}
    # The dose is either the drug and its dose or the prednisone equivalent: a correction giving one
    # form replaces the other; a drug kept recomputes its equivalent.
    drug_given = data.steroid_drug is not KEEP or data.steroid_dose_mg_per_day is not KEEP
    if drug_given and data.steroid_mg_per_day is KEEP:
        kept["steroid_mg_per_day"] = None
    elif data.steroid_mg_per_day is not KEEP and not drug_given:
        kept["steroid_drug"], kept["steroid_dose_mg_per_day"] = "", None
    elif assessment.steroid_drug and data.steroid_mg_per_day is KEEP:
        kept["steroid_mg_per_day"] = None
    return AssessmentInput(**{
        f.name: kept.get(f.name) if getattr(data, f.name) is KEEP else getattr(data, f.name) for f in fields(data)})


def _visit_release(visit: Visit, *, by, reason: str) -> None:
    """The visit an assessment no longer belongs to is upcoming again (a planned visit not yet done)."""
    visit.state, visit.done_at, visit.deviation, visit.deviation_reason = "upcoming", None, False, ""
    audited_save(visit, by=by, reason=reason)


def assessment_update(*, assessment, data: AssessmentInput, reason: str, by, now: datetime | None = None,
                      version: int | None = None, check: bool = True, query=None):
    """Correct a recorded assessment, with the reason kept in the audit trail.

    A coordinator of the participant's site (`assessment_can_correct`). `data` is validated as
    `assessment_record` validates it (`_assessment_validate`); a field given as `KEEP` stays as
    it is, and a list given (labs, transfusions, rescue therapies, concomitant medications)
    replaces the recorded one; the answers to items given replace those of the same codes (None
    clears one), the others stay: labs are added, changed or removed per
    analyte, transfusions and rescue therapies added or removed per entry, each change with its own
    history row carrying the reason. The visit link and the date may change, with the window and
    deviation rules of recording (section 8): a visit left becomes upcoming again, a new one is
    marked done, the same visit is re-dated. New or changed labs suggest adverse events as at
    recording (no second draft of an open term). One transaction, the assessment row locked;
    outcomes are recomputed after commit. Nothing changed: nothing is written. The correction is
    made from `version` of the assessment (`trials.concurrency`: 400 without it, 409 when it changed
    since); only a caller that read the row in its own transaction passes `check=False`.
    """



    now = now or timezone.now()
    participant = assessment.participant
    if not assessment_can_correct(by, participant):
        raise PermissionDenied(_("Only a coordinator of the participant's site corrects an assessment."))
    refuse_if_locked(participant)
    reason = (reason or "").strip()
    tz = timezone.get_current_timezone()
    with transaction.atomic():
        hold_unlocked(participant, "study__active_version")
        answering = None
        if query is not None:
            answering = query_for_correction(getattr(query, "pk", query), record_ref=RecordRef(
                "assessment", assessment.pk), by=by)
        since = timezone.now()
        locked = (Assessment.objects.select_for_update()
                  .prefetch_related("labs", "transfusions", "rescue_therapies").get(pk=assessment.pk))
        if check:
            check_version(locked.row_version, version, record=locked,
                          label=_("The assessment of %(date)s") % {"date": locked.date.isoformat()})
        prefetch_related_objects([participant], "visits")  # read once, here and by `_assessment_visit`
        old_visit = next((v for v in participant.visits.all() if v.pk == locked.visit_id), None)
        data = _assessment_kept(data, locked, old_visit.code if old_visit else None)
        errors = _AssessmentErrors()
        _reason_problems(reason, errors)
        valid = _assessment_validate(participant, data, now=now, errors=errors, current_visit_id=locked.visit_id,
                                     current_items=locked.items or {})
        errors.raise_if_any()

        current_labs = list(locked.labs.all())
        before = own_facts(locked, current_labs, locked.transfusions.all(), locked.rescue_therapies.all())
        added, changed, removed = [], [], []
        wanted, found, counted = None, None, set()
        if valid.labs is not None or valid.day != locked.date:
            # A new date may change the site range that applies (the participant's age): re-resolve.
            wanted = valid.labs if valid.labs is not None else [
                {key: getattr(lab, key) for key in LAB_FIELDS[:6]} for lab in current_labs]
            found, counted = count_rules(participant, changed_counts(
                {lab.analyte: lab.value for lab in current_labs}, {lab["analyte"]: lab["value"] for lab in wanted}))
        graded, terms = suggestion_reads(wanted or [])
        reads = assessment_check_reads(participant, ranges=wanted is not None, baseline_analytes=graded,
                                       draft_terms=terms, response=bool(counted), excluding=locked.pk)
        if wanted is not None:
            _lab_ranges(participant, wanted, valid.day, ranges=reads.ranges)
            added, changed, removed = _lab_changes(locked, current_labs, wanted)
        new_transfusions, old_transfusions, kept_transfusions = _item_changes(
            list(locked.transfusions.all()), valid.transfusions if valid.transfusions is not None
            else [{"kind": t.kind, "date": t.date} for t in locked.transfusions.all()])
        new_rescues, old_rescues, kept_rescues = _item_changes(
            list(locked.rescue_therapies.all()), valid.rescue_therapies if valid.rescue_therapies is not None
            else [{"therapy": r.therapy, "start": r.start, "end": r.end} for r in locked.rescue_therapies.all()])

        scalars = {"date": valid.day, "visit_id": valid.visit.pk if valid.visit else None,
                   "bleeding_grade": valid.bleeding_grade, "steroid_mg_per_day": valid.steroid_mg_per_day,
                   "steroid_drug": valid.steroid_drug, "steroid_dose_mg_per_day": valid.steroid_dose_mg_per_day,
                   "notes": valid.notes}
        for name, value in (("concomitant_medications", valid.medications), ("items", valid.items)):
            if value is not None:
                scalars[name] = value
        new_visit = valid.visit
        redated = (new_visit is not None and old_visit is not None and new_visit.pk == old_visit.pk
                   and (new_visit.done_at != _at_midnight(valid.day, tz) or new_visit.deviation != valid.deviation
                        or (valid.deviation and new_visit.deviation_reason != valid.deviation_reason)))
        if not (any(getattr(locked, name) != value for name, value in scalars.items()) or added or changed or removed
                or new_transfusions or old_transfusions or new_rescues or old_rescues or redated):
            if answering is not None:
                query_answer_by_correction(answering, answer=reason, by=by, since=since)
            return locked

        if old_visit is not None and (new_visit is None or new_visit.pk != old_visit.pk):
            _visit_release(old_visit, by=by, reason=reason)
        for name, value in scalars.items():
            setattr(locked, name, value)
        audited_save(locked, by=by, reason=reason)
        if added:
            audited_bulk_create(added, by=by, reason=reason)
        if changed:
            audited_bulk_update(changed, [key for key in LAB_FIELDS if key != "analyte"], by=by, reason=reason)
        for row in (*removed, *old_transfusions, *old_rescues):
            audited_delete(row, by=by, reason=reason)
        transfusions = [Transfusion(assessment=locked, **entry) for entry in new_transfusions]
        rescues = [RescueTherapy(assessment=locked, **entry) for entry in new_rescues]
        for rows in (transfusions, rescues):
            if rows:
                audited_bulk_create(rows, by=by, reason=reason)
        if new_visit is not None and (old_visit is None or new_visit.pk != old_visit.pk):
            visit_record(visit=new_visit, done_at=_at_midnight(valid.day, tz), deviation_reason=valid.deviation_reason,
                         by=by, now=now, edit_checks=False, lock_checked=True)
        elif redated:
            new_visit.done_at = _at_midnight(valid.day, tz)
            new_visit.deviation, new_visit.deviation_reason = valid.deviation, valid.deviation_reason
            audited_save(new_visit, by=by, reason=reason)
        adverse_event_suggest(participant=participant, labs=[*added, *changed], onset=valid.day, by=by, now=now,
                              read=(reads.baselines, reads.open_terms))
        queue_outcomes(participant.study_id, participant.pk)
        if answering is not None:
            query_answer_by_correction(answering, answer=reason, by=by, since=since)
        locked.visit = new_visit
        counts = count_checks(found, reads, participant=participant, assessment=locked.pk, before=before,
                              after=own_facts(locked, [lab for lab in current_labs if lab not in removed] + added,
                                              [*kept_transfusions, *transfusions], [*kept_rescues, *rescues]),
                              analytes=counted)
        auto_queries_for(participant, by, assessments=[locked], counts=counts)
    locked.visit = new_visit
    kept_labs = [lab for lab in current_labs if lab not in removed]
    for relation, rows in {
        "labs": sorted([*kept_labs, *added], key=lambda lab: lab.analyte),
        "transfusions": sorted([*kept_transfusions, *transfusions], key=lambda t: (t.date, t.pk or 0)),
        "rescue_therapies": sorted([*kept_rescues, *rescues], key=lambda r: (r.start, r.pk or 0)),
    }.items():
        cache_rows(locked, relation, rows)
    return locked
