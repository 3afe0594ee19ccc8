"""Writes of screening, consent, enrolment and withdrawal.

Each service validates everything first and names every bad field (paths such as `labs.2.value`),
then writes in one transaction with its audit reason, so that a refused call stores nothing.
The browser forms and the API call these same functions.
"""
from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Count, Max, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from trials import dates, hooks
from trials.audit import audited_delete, audited_save
from trials.audit_querysets import audited_bulk_create
from trials.concurrency import check_version
from trials.enums import StudyStatus
from trials.errors import ConflictError, Errors, ServiceError
from trials.labs import LabInput  # noqa: F401  (until every caller imports it from trials.labs)
from trials.limits import reason_length_error
from trials.locks import refuse_if_study_locked
from trials.models import Arm, Site, Study
from trials.prefetch import cache_rows
from trials.row_locks import updating_held
from trials.scoping import Action, require
from trials.selectors import criteria_in_force, form_items
from trials.signatures import ELIGIBILITY_MEANING, check_signature

from . import eligibility as rules
from . import screening_rows as rows
from .locks import hold_screening_unlocked, hold_unlocked, refuse_if_locked, refuse_if_screening_locked
from .enums import (
    ParticipantStatus,
    WithdrawalReason,
)
from .models import (
    Consent,
    Participant,
    PriorTherapy,
    Screening,
    ScreeningLab,
    holding_a_place_condition,
)
from .screening_input import SCALAR_FIELDS, ScreeningInput, TherapyInput, validate_screening
from .selectors import screening_facts, with_first_consent

# ---------------------------------------------------------------------------------------------
# Screening
# ---------------------------------------------------------------------------------------------

def _next_sequence(model, *, study: Study, site: Site) -> int:
    """Next number at the site; the caller holds the study row lock, so numbers never repeat."""
    last = model.objects.filter(study=study, site=site).aggregate(last=Max("sequence"))["last"]
    return (last or 0) + 1


def _write_labs(screening: Screening, labs: list[dict], *, by, reason: str) -> None:
    existing = {lab.analyte: lab for lab in screening.labs.all()}
    for row in labs:
        lab = existing.get(row["analyte"]) or ScreeningLab(screening=screening, analyte=row["analyte"])
        changed = lab.pk is None or any(getattr(lab, k) != v for k, v in row.items())
        if changed:
            for key, value in row.items():
                setattr(lab, key, value)
            audited_save(lab, by=by, reason=reason)


def _write_therapies(screening: Screening, therapies: list[TherapyInput], *, by, reason: str) -> None:
    current = [(t.therapy, t.start, t.end, t.dose_text, t.outcome) for t in screening.prior_therapies.all()]
    wanted = [(t.therapy, t.start, t.end, t.dose_text or "", t.outcome) for t in therapies]
    if current == wanted:
        return
    for course in screening.prior_therapies.all():
        audited_delete(course, by=by, reason=reason)
    for therapy, start, end, dose_text, outcome in wanted:
        audited_save(PriorTherapy(screening=screening, therapy=therapy, start=start, end=end, dose_text=dose_text,
                                  outcome=outcome), by=by, reason=reason)


def _lab_range(lab: ScreeningLab, screening: Screening, ranges: list, age: int | None,
               order: dict[str, int] | None) -> tuple[float | None, float | None, str]:
    """`screening_rows.lab_range`, a conflict refused on `labs.<i>.lln|uln` (`order`: each analyte's index)."""
    lln, uln, source, conflict = rows.lab_range(lab, screening, ranges, age)
    if conflict:
        raise ServiceError({f"labs.{(order or {}).get(lab.analyte, lab.analyte)}.{conflict[0]}": [conflict[1]]})
    return lln, uln, source


def _resolve_site_ranges(screening: Screening, *, by, reason: str, order: dict[str, int] | None = None) -> None:
    """Labs without the reporting lab's range take the site's range for the patient's sex and age
    (`_lab_range`); a conflict is refused and the caller's transaction is rolled back."""
    ranges, age = rows.site_ranges_context(screening)
    for lab in screening.labs.all():
        lln, uln, source = _lab_range(lab, screening, ranges, age, order)
        if (lab.lln, lab.uln, lab.range_source) != (lln, uln, source):
            lab.lln, lab.uln, lab.range_source = lln, uln, source
            audited_save(lab, by=by, reason=reason)


def screening_evaluate(screening: Screening, *, now: datetime | None = None, labs: list[ScreeningLab] | None = None,
                       therapies: list[PriorTherapy] | None = None) -> rules.EligibilityResult:
    """Evaluate the study's criteria on the screening's facts and keep the outcome on the row
    (`labs`/`therapies`: the rows about to be written with a new screening, else its own)."""
    in_force = criteria_in_force(screening.study)
    criteria = [rules.CriterionSpec(code=c.code, kind=c.kind, text=c.text, rule_type=c.rule_type, params=c.params)
                for c in in_force]
    result = rules.evaluate_criteria(criteria, screening_facts(screening, labs=labs, therapies=therapies))
    screening.eligible = result.eligible
    # Each criterion keeps its Chinese text beside the English (`trials.content`), as evaluated, and
    # its values and arithmetic as a message worded in the reader's language when shown.
    chinese = {c.code: c.text_zh for c in in_force}
    screening.eligibility = [{"code": c.code, "kind": c.kind, "text": c.text, "text_zh": chinese.get(c.code, ""),
                              "outcome": c.outcome, "explanation": c.message}
                             for c in result.criteria]
    screening.evaluated_at = now or timezone.now()
    screening.protocol_version = screening.study.version
    return result


def _forget_prefetched(screening: Screening) -> None:
    """Labs and therapies were (re)written: read them again rather than from a prefetch."""
    getattr(screening, "_prefetched_objects_cache", {}).clear()


def _set_facts(screening: Screening, data: ScreeningInput, items: dict | None) -> None:
    for key, value in data.values.items():
        setattr(screening, key, "" if value is None and key in ("sex", "disease", "initials") else value)
    if items is not None:
        screening.items = items
    if data.prior_therapies is not None:
        screening.prior_therapies_recorded = True


def _apply(screening: Screening, data: ScreeningInput, labs: list[dict] | None, items: dict | None, *, by,
           reason: str) -> None:
    _set_facts(screening, data, items)
    audited_save(screening, by=by, reason=reason)
    _forget_prefetched(screening)
    if labs is not None:
        _write_labs(screening, labs, by=by, reason=reason)
    if data.prior_therapies is not None:
        _write_therapies(screening, data.prior_therapies, by=by, reason=reason)
    _forget_prefetched(screening)
    order = {str(lab.analyte or "").strip().upper(): index for index, lab in enumerate(data.labs or [])}
    _resolve_site_ranges(screening, by=by, reason=reason, order=order)
    screening_evaluate(screening)
    audited_save(screening, by=by, reason=reason or _("Eligibility evaluated"))


def _create(screening: Screening, data: ScreeningInput, labs: list[dict] | None, items: dict | None, *, by,
            reason: str) -> None:
    """A new screening with its labs and courses, evaluated before it is written: the screening row,
    its labs and its courses are each inserted once, with their history rows in bulk
    (`audited_bulk_create`: one history row per record, with who and why)."""
    _set_facts(screening, data, items)
    lab_rows = sorted((ScreeningLab(screening=screening, **row) for row in labs or []), key=lambda lab: lab.analyte)
    if lab_rows:
        order = {str(lab.analyte or "").strip().upper(): index for index, lab in enumerate(data.labs or [])}
        ranges, age = rows.site_ranges_context(screening)
        for lab in lab_rows:
            lab.lln, lab.uln, lab.range_source = _lab_range(lab, screening, ranges, age, order)
    courses = rows.in_model_order([
        PriorTherapy(screening=screening, therapy=t.therapy, start=t.start, end=t.end, dose_text=t.dose_text or "",
                     outcome=t.outcome) for t in data.prior_therapies or []])
    screening_evaluate(screening, labs=lab_rows, therapies=courses)
    audited_save(screening, by=by, reason=reason)
    for model, written in ((ScreeningLab, lab_rows), (PriorTherapy, courses)):
        if written:
            audited_bulk_create(written, by=by, reason=reason)
    cache_rows(screening, "labs", lab_rows)
    cache_rows(screening, "prior_therapies", courses)


def _refuse_unless_active(study: Study) -> None:
    """A study that is not active (a draft being configured) records no screening and no enrolment
    (409, its status named); everything else hangs off a screening. Reads the row the caller has."""
    if study.status != StudyStatus.ACTIVE:
        raise ConflictError({"study": [_("Study %(study)s is not active (status: %(status)s): it records no screening "
                                         "or enrolment until an administrator activates it.") % {
            "study": study.code, "status": study.get_status_display()}]})


def _check_new(study: Study, site: Site | None, data: ScreeningInput, today: date, errors: Errors):
    """Every check of a new screening's input (`site` None: not known yet, not checked)."""
    if site is not None and site.pk not in {row.pk for row in study.sites.all()}:  # prefetched: no query
        errors.add("site", _("%(study)s does not run at site %(site)s.") % {"study": study.code, "site": site.code})
    specs = {spec.code: spec for _section, spec in form_items(study)}
    return validate_screening(data, study, today, errors, specs=specs)


def screening_problems(*, study: Study, site: Site | None, data: ScreeningInput,
                       today: date | None = None) -> Errors:
    """What `screening_create` would refuse in `data`, every problem by its path; writes nothing.
    A page or the API calls it on the part of a refused input it could read, so that the user sees
    every problem at once (`trials.all_errors`)."""
    errors = Errors()
    _check_new(study, site, data, today or timezone.localdate(), errors)
    return errors


def screening_create(*, study: Study, site: Site, data: ScreeningInput, by, today: date | None = None) -> Screening:
    """Record a screening (a draft: any fact may be missing) and evaluate eligibility. Only in an
    active study (`_refuse_unless_active`)."""
    _refuse_unless_active(study)
    refuse_if_study_locked(study)
    errors = Errors()
    labs, items = _check_new(study, site, data, today or timezone.localdate(), errors)
    errors.raise_if_any()
    with transaction.atomic():
        refuse_if_study_locked(Study.objects.select_for_update().get(pk=study.pk))  # locked meanwhile
        sequence = _next_sequence(Screening, study=study, site=site)
        screening = Screening(study=study, site=site, sequence=sequence,
                              number=f"{study.code}-{site.code}-S{sequence:03d}", created_by=by)
        _create(screening, data, labs, items, by=by, reason=_("Screening created"))
    return screening


def _check_change(screening: Screening, data: ScreeningInput, reason: str, today: date, errors: Errors):
    """Every check of a change of screening facts."""
    if not (reason or "").strip():
        errors.add("reason", _("Say why the screening facts change (kept in the audit trail)."))
    elif reason_length_error(reason):
        errors.add("reason", reason_length_error(reason))
    if hasattr(screening, "participant"):
        errors.add("non_field_errors", _("This patient is enrolled; screening facts can no longer change."))
    merged = {**{k: getattr(screening, k) for k in SCALAR_FIELDS}, **data.values}
    specs = {spec.code: spec for _section, spec in form_items(screening.study)}
    return validate_screening(
        ScreeningInput(values=merged, labs=data.labs, prior_therapies=data.prior_therapies, items=data.items,
                       conditions=data.conditions, answers=data.answers),
        screening.study, today, errors, specs=specs, current_items=screening.items)


def screening_change_problems(*, screening: Screening, data: ScreeningInput, reason: str,
                              today: date | None = None) -> Errors:
    """What `screening_update` would refuse in `data` (as `screening_problems`); writes nothing."""
    errors = Errors()
    _check_change(screening, data, reason, today or timezone.localdate(), errors)
    return errors


def screening_update(*, screening: Screening, data: ScreeningInput, reason: str, by,
                     today: date | None = None, version: int | None = None, check: bool = True) -> Screening:
    """Change screening facts (only those given) with a reason, and re-evaluate eligibility. The
    change is made from `version` of the screening (`trials.concurrency`: 400 without it, 409 when
    the screening changed since); only a caller that read the row in its own transaction passes
    `check=False`."""
    refuse_if_screening_locked(screening)
    errors = Errors()
    labs, items = _check_change(screening, data, reason, today or timezone.localdate(), errors)
    errors.raise_if_any()
    with transaction.atomic():
        hold_screening_unlocked(screening)
        # An enrolment at the same moment locks the screening too: facts never change under it.
        current, enrolled = (Screening.objects.select_for_update(of=("self",)).filter(pk=screening.pk)
                             .values_list("row_version", "participant__id").get())
        if enrolled is not None:
            raise ConflictError({"non_field_errors": [
                _("This patient is enrolled; screening facts can no longer change.")]})
        if check:
            check_version(current, version, record=screening, label=_("Screening %(number)s") % {
                "number": screening.number})
        screening.row_version = current  # each save moves it on from the row as locked
        before = screening_facts(screening)
        _apply(screening, data, labs, items, by=by, reason=reason.strip())
        if screening.eligibility_confirmed_at is not None and screening_facts(screening) != before:
            _withdraw_eligibility_confirmation(screening, by=by, reason=reason.strip())
    return screening


def screening_reevaluate(*, screening: Screening, reason: str, by) -> Screening:
    """Evaluate a screening again under the study's current protocol version and criteria, on
    request, with a reason (a screening keeps the criteria it was evaluated under until then). An
    enrolled patient keeps the evaluation of their enrolment (409). A changed outcome withdraws the
    investigator's confirmation, as a change of the facts does."""
    require(by, Action.SCREEN, [screening.site_id])
    refuse_if_screening_locked(screening)
    errors = Errors()
    if not (reason or "").strip():
        errors.add("reason", _("Say why the screening is evaluated again (kept in the audit trail)."))
    elif reason_length_error(reason):
        errors.add("reason", reason_length_error(reason))
    errors.raise_if_any()
    with transaction.atomic():
        hold_screening_unlocked(screening)
        if Screening.objects.select_for_update(of=("self",)).filter(pk=screening.pk,
                                                                    participant__isnull=False).exists():
            raise ConflictError({"non_field_errors": [
                _("This patient is enrolled; the screening keeps the evaluation of the enrolment.")]})
        before = [(c["code"], c["outcome"]) for c in screening.eligibility]
        screening_evaluate(screening)
        audited_save(screening, by=by, reason=reason.strip())
        if screening.eligibility_confirmed_at is not None and [
                (c["code"], c["outcome"]) for c in screening.eligibility] != before:
            _withdraw_eligibility_confirmation(screening, by=by, reason=reason.strip())
    return screening


# ---------------------------------------------------------------------------------------------
# The investigator's signed eligibility confirmation
# ---------------------------------------------------------------------------------------------

def _withdraw_eligibility_confirmation(screening: Screening, *, by, reason: str) -> None:
    """The facts an investigator confirmed changed: the confirmation no longer holds (audited)."""
    signer = screening.eligibility_confirmed_by.get_username() if screening.eligibility_confirmed_by else "-"
    screening.eligibility_confirmed_by, screening.eligibility_confirmed_at = None, None
    screening.eligibility_confirmation_meaning = ""
    why = _("Eligibility confirmation by %(signer)s withdrawn: facts changed (%(reason)s)") % {
        "signer": signer, "reason": reason}
    audited_save(screening, by=by, reason=why[:100])  # the audit trail keeps 100 characters


def screening_eligibility_confirm(*, screening: Screening, password: str, by, now: datetime | None = None) -> Screening:
    """An investigator of the screening's site confirms its eligibility with their signature.

    Investigators only (`Action.SIGN` at the site: a coordinator is refused, 403); the password is
    the signer's own, re-entered (`trials.signatures.check_signature`: 403, nothing written). The
    criteria are evaluated again on the facts as they are; a screening that is not eligible
    (criteria not met or still missing), already enrolled or already confirmed is a
    `ConflictError` (409). Stores who signed, when, and the meaning they read
    (`trials.signatures.ELIGIBILITY_MEANING`). A later change of the facts withdraws it
    (`screening_update`). Refused in a locked study, checked again inside the transaction with the
    study's row held (`trials.row_locks.updating_held`). Enrolment in a study with
    `eligibility_confirmation_required` waits for it (`participant_enrol`).
    """

    now = now or timezone.now()
    require(by, Action.SIGN, [screening.site_id])
    refuse_if_screening_locked(screening)
    with transaction.atomic():
        # The screening row locked for its change, the study's held (its data lock checked anew).
        locked = updating_held(Screening.objects.filter(pk=screening.pk).select_related(
            "study", "site", "participant", "eligibility_confirmed_by").prefetch_related("labs", "prior_therapies"),
            update=("self",), share=("study",))[0]
        refuse_if_study_locked(locked.study)
        if getattr(locked, "participant", None) is not None:
            raise ConflictError({"non_field_errors": [_("This screening is already enrolled.")]})
        if locked.eligibility_confirmed_at is not None:
            raise ConflictError({"non_field_errors": [_("Eligibility was already confirmed by %(who)s at %(when)s.") % {
                "who": locked.eligibility_confirmed_by.get_username() if locked.eligibility_confirmed_by else "-",
                "when": timezone.localtime(locked.eligibility_confirmed_at).strftime("%Y-%m-%d %H:%M")}]})
        screening_evaluate(locked, now=now)
        if locked.eligible is not True:
            detail = (_("criteria still missing: %(codes)s") % {"codes": ", ".join(locked.missing_criteria)}
                      if locked.eligible is None else
                      _("criteria not met: %(codes)s") % {"codes": ", ".join(locked.failed_criteria)})
            raise ConflictError({"eligibility": [_("The patient is not eligible (%(detail)s): there is no eligibility "
                                                   "to confirm.") % {"detail": detail}]})
        check_signature(by, password, refused=_("The password is not correct: eligibility was not confirmed."))
        locked.eligibility_confirmed_by, locked.eligibility_confirmed_at = by, now
        locked.eligibility_confirmation_meaning = str(ELIGIBILITY_MEANING)
        audited_save(locked, by=by, reason=_("Eligibility confirmed and signed by the investigator"))
    for name in ("eligible", "eligibility", "evaluated_at", "eligibility_confirmed_by", "eligibility_confirmed_at",
                 "eligibility_confirmation_meaning"):
        setattr(screening, name, getattr(locked, name))
    for relation in ("labs", "prior_therapies"):  # the facts confirmed, as read under the lock
        cache_rows(screening, relation, locked._prefetched_objects_cache[relation])
    return screening


# ---------------------------------------------------------------------------------------------
# Consent, enrolment, withdrawal
# ---------------------------------------------------------------------------------------------

def _first_version(study) -> tuple[str, date]:
    """The study's first protocol version and its effective date (the study's own without versions)."""
    first = study.versions.order_by("effective_date", "activated_at").values_list("version", "effective_date").first()
    return first or (study.version, study.effective_date)


def consent_record(*, screening: Screening, version: str, signed_at: datetime, obtained_by: str,
                   guardian_name: str = "", guardian_relationship: str = "", by,
                   now: datetime | None = None) -> Consent:
    """Record signed informed consent; a minor's needs the legal guardian who signed. Refused in a
    locked study or on a locked casebook (`locks.refuse_if_screening_locked` first, then
    `locks.hold_screening_unlocked` inside the transaction that writes it)."""
    refuse_if_screening_locked(screening)
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    effective = screening.study.effective_date
    errors = Errors()
    if not (version or "").strip():
        errors.add("version", _("Give the version of the consent form signed."))
    if not (obtained_by or "").strip():
        errors.add("obtained_by", _("Name the person who obtained consent."))
    if signed_at is None:
        errors.add("signed_at", _("Give the date and time of signature."))
    elif signed_at > now:
        errors.add("signed_at", _("Consent cannot be signed in the future."))
    elif screening.birth_date and dates.before(signed_at, screening.birth_date, tz):
        errors.add("signed_at", _("The signature date is before the date of birth."))
    elif effective and dates.before(signed_at, effective, tz) and (
            first := _first_version(screening.study)) and dates.before(signed_at, first[1], tz):
        # Before the version in force is fine under an earlier one; before the first, the study did not run.
        errors.add("signed_at", _("The signature date is before protocol version %(version)s took effect (%(date)s).")
                   % {"version": first[0], "date": first[1].isoformat()})
    if (signed_at and screening.birth_date and "signed_at" not in errors
            and rules.age_in_years(screening.birth_date, timezone.localtime(signed_at).date()) < 18):
        if not (guardian_name or "").strip():
            errors.add("guardian_name", _("The patient is a minor: name the legal guardian who signed."))
        if not (guardian_relationship or "").strip():
            errors.add("guardian_relationship", _("Give the guardian's relationship to the patient."))
    elif signed_at and not screening.birth_date:
        errors.add("signed_at", _("Record the date of birth first, to know whether a guardian must sign."))
    errors.raise_if_any()
    consent = Consent(screening=screening, version=version.strip(), signed_at=signed_at,
                      obtained_by=obtained_by.strip(), guardian_name=(guardian_name or "").strip(),
                      guardian_relationship=(guardian_relationship or "").strip(), recorded_by=by)
    with transaction.atomic():
        hold_screening_unlocked(screening)
        audited_save(consent, by=by, reason=_("Consent recorded"))
    prefetched = getattr(screening, "_prefetched_objects_cache", {})
    if "consents" in prefetched:  # the screening's consents read before stay current
        cache_rows(screening, "consents", sorted([*prefetched["consents"], consent], key=lambda c: c.signed_at))
    return consent


def participant_enrol(*, screening: Screening | int, by, enrolled_on: date | None = None, arm_code: str | None = None,
                      dose_level_code: str | None = None, first_infusion_on: date | None = None,
                      today: date | None = None, among=None) -> Participant:
    """Enrol an eligible, consented screening: study number, arm and, where the study has levels, a dose level.

    Safe when two coordinators enrol at once: everything that decides the enrolment (eligibility,
    the consent, the enrolment target, the dose level's status and cap, the next study number) is
    read while the study row and the screening row are locked, so the second enrolment sees the
    first one's participant. Changes of a dose level's status lock the study row too.

    `screening` is the screening or its id; `among`, when given, the screenings the caller may see
    (`Screening.objects.visible_to(user)`): the screening is looked up there by the same locked read
    (`Http404` when it is not among them), so that the API reads it once. A coordinator of the
    screening's site only (`Action.SCREEN`, 403).
    """
    today = today or timezone.localdate()
    enrolled_on = enrolled_on or today
    first_infusion_on = first_infusion_on or enrolled_on
    with transaction.atomic():
        # One statement locks the study row and the screening row (nothing locks them the other way round).
        found = with_first_consent((Screening.objects if among is None else among)
                                   .select_for_update(of=("self", "study"))
                                   .select_related("study__active_version", "site", "participant")
                                   .filter(pk=getattr(screening, "pk", screening))).first()
        if found is None:
            raise Http404(_("No such screening."))
        screening, study = found, found.study
        require(by, Action.SCREEN, [screening.site_id])
        errors = Errors()
        if enrolled_on > today:
            errors.add("enrolled_on", _("The enrolment date cannot be in the future."))
        elif screening.screening_date and enrolled_on < screening.screening_date:
            errors.add("enrolled_on", _("The enrolment date is before the screening date (%(date)s).") % {
                "date": screening.screening_date.isoformat()})
        if first_infusion_on < enrolled_on:
            errors.add("first_infusion_on", _("The first infusion cannot be planned before enrolment."))
        first_consent = screening.first_consent_signed_at
        if first_consent is None:
            errors.add("consent", _("Record the patient's informed consent before enrolment."))
        elif timezone.localtime(first_consent).date() > enrolled_on:
            errors.add("enrolled_on", _("The enrolment date is before the consent was signed."))
        errors.raise_if_any()
        _refuse_unless_active(study)
        refuse_if_study_locked(study)
        if getattr(screening, "participant", None) is not None:
            raise ConflictError({"non_field_errors": [_("This screening is already enrolled.")]})
        arm, level = _arm_and_level(study, arm_code, dose_level_code)
        screening_evaluate(screening)
        if screening.eligible is not True:
            detail = (_("criteria still missing: %(codes)s") % {"codes": ", ".join(screening.missing_criteria)}
                      if screening.eligible is None else
                      _("criteria not met: %(codes)s") % {"codes": ", ".join(screening.failed_criteria)})
            raise ServiceError({"eligibility": [_("The patient is not eligible (%(detail)s).") % {"detail": detail}]})
        if study.eligibility_confirmation_required and screening.eligibility_confirmed_at is None:
            raise ConflictError({"eligibility": [_("Eligibility not confirmed by an investigator: an investigator of "
                                                   "the site confirms it with their signature on the screening page "
                                                   "before enrolment.")]})
        # One aggregate: the study's total, the site's last number and the places taken in the level.
        places = {"in_level": Count("id", filter=Q(dose_level=level) & holding_a_place_condition())} if (
            level is not None and level.group_cap) else {}
        counts = Participant.objects.filter(study=study).aggregate(
            total=Count("id"), last_sequence=Max("sequence", filter=Q(site=screening.site)), **places)
        if counts["total"] >= study.enrolment_target:
            raise ConflictError({"study": [_("%(study)s has reached its enrolment target of %(n)d.") % {
                "study": study.code, "n": study.enrolment_target}]})
        if level is not None:
            if study.uses_dose_escalation and level.status != "open":
                raise ConflictError({"dose_level": [_("Dose level %(code)s is %(status)s, not open for enrolment.") % {
                    "code": level.code, "status": level.get_status_display().lower()}]})
            in_level = counts["in_level"] if level.group_cap else 0
            if level.group_cap is not None and in_level >= level.group_cap:
                raise ConflictError({"dose_level": [_("Dose level %(code)s is full (%(n)d of %(cap)d places taken).")
                                                    % {"code": level.code, "n": in_level, "cap": level.group_cap}]})
        sequence = (counts["last_sequence"] or 0) + 1
        participant = Participant(
            study=study, site=screening.site, screening=screening, sequence=sequence,
            study_number=f"{study.code}-{screening.site.code}-{sequence:03d}", arm=arm, dose_level=level,
            enrolled_on=enrolled_on, planned_day0=first_infusion_on, study_order=counts["total"] + 1, enrolled_by=by,
            protocol_version=study.version,
        )
        audited_save(participant, by=by, reason=_("Enrolled"))
        hooks.participant_enrolled(participant=participant, study=study, by=by, today=today)
    return participant


def _arm_and_level(study: Study, arm_code: str | None, dose_level_code: str | None):
    """The arm and dose level chosen (or the only one there is); read under the study lock."""
    errors = Errors()
    arms = {arm.code: arm
            for arm in Arm.objects.filter(study=study).prefetch_related("dose_levels", "infusion_definitions")}
    arm = arms.get(arm_code) if arm_code else (next(iter(arms.values())) if len(arms) == 1 else None)
    if arm is None:
        errors.add("arm", _("Choose the arm: %(codes)s.") % {"codes": ", ".join(arms)}
                   if arms else _("The study has no arm."))
    level = None
    if arm is not None:
        levels = {lv.code: lv for lv in arm.dose_levels.all()}
        if dose_level_code:
            level = levels.get(dose_level_code)
            if level is None:
                errors.add("dose_level", _("Unknown dose level; this arm has %(codes)s.") % {
                    "codes": ", ".join(levels) or "none"})
        elif len(levels) == 1:
            level = next(iter(levels.values()))
        elif levels:
            errors.add("dose_level", _("Choose the dose level: %(codes)s.") % {"codes": ", ".join(levels)})
    errors.raise_if_any()
    return arm, level


def participant_withdraw(*, participant: Participant, withdrawn_on: date, reason: str, detail: str = "", by,
                         today: date | None = None) -> Participant:
    """Withdraw: stops future scheduling, keeps every record already captured. Refused on a locked
    casebook (`locks.refuse_if_locked`)."""
    refuse_if_locked(participant)
    today = today or timezone.localdate()
    errors = Errors()
    if participant.status == ParticipantStatus.WITHDRAWN:
        raise ConflictError({"non_field_errors": [_("The participant is already withdrawn.")]})
    if reason not in WithdrawalReason.values:
        errors.add("reason", _("Use one of %(codes)s.") % {"codes": ", ".join(WithdrawalReason.values)})
    if reason == WithdrawalReason.OTHER and not (detail or "").strip():
        errors.add("detail", _("Say what the other reason is."))
    if withdrawn_on is None:
        errors.add("withdrawn_on", _("Give the withdrawal date."))
    elif withdrawn_on > today:
        errors.add("withdrawn_on", _("The withdrawal date cannot be in the future."))
    elif withdrawn_on < participant.enrolled_on:
        errors.add("withdrawn_on", _("The withdrawal date is before enrolment."))
    else:
        last_given = participant.infusions.filter(state="given").aggregate(last=Max("started_at"))["last"]
        if last_given and withdrawn_on < timezone.localtime(last_given).date():
            errors.add("withdrawn_on", _("The withdrawal date is before the last infusion given (%(date)s).") % {
                "date": timezone.localtime(last_given).date().isoformat()})
    errors.raise_if_any()
    with transaction.atomic():
        hold_unlocked(participant)
        locked = Participant.objects.select_for_update(no_key=True).get(pk=participant.pk)
        if locked.status == ParticipantStatus.WITHDRAWN:
            raise ConflictError({"non_field_errors": [_("The participant is already withdrawn.")]})
        _withdraw(locked, withdrawn_on=withdrawn_on, reason=reason, detail=detail, by=by)
    for name in ("status", "withdrawn_on", "withdrawal_reason", "withdrawal_detail"):
        setattr(participant, name, getattr(locked, name))
    return participant


def _withdraw(participant: Participant, *, withdrawn_on: date, reason: str, detail: str, by) -> None:
    participant.status = ParticipantStatus.WITHDRAWN
    participant.withdrawn_on = withdrawn_on
    participant.withdrawal_reason = reason
    participant.withdrawal_detail = (detail or "").strip()
    audited_save(participant, by=by, reason=_("Withdrawn: %(reason)s") % {"reason": WithdrawalReason(reason).label})
