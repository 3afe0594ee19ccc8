"""Assessment capture: a visit's (or an unscheduled) labs, bleeding, transfusions, rescue therapy and
the answers to the study's items placed on the visit's form."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.locks import hold_unlocked, refuse_if_locked
from enrollment.eligibility import age_in_years
from enrollment.selectors import range_source_name, site_reference_range
from trials import items as item_rules
from trials.audit import audited_save
from trials.audit_querysets import audited_bulk_create
from trials.errors import Errors
from trials.labs import LabInput, convert_labs
from trials.models import ReferenceRange
from trials.prefetch import cache_rows
from trials.scoping import Action, require
from trials.units import mixed_range_conflict, mixed_range_message

from ..assessment_checks import require_bleeding_grade, steroid_dose
from ..auto_queries import auto_queries_for
from ..models import (
    Assessment,
    LabResult,
    RescueTherapy,
    RescueTherapyKind,
    Transfusion,
    TransfusionKind,
    Visit,
)
from ..schedule import PlannedVisit, visit_status
from ..selectors import visit_form_items
from ..visit_items import VisitForms
from .adverse_event_drafts import adverse_event_suggest, suggestion_reads
from .assessment_reads import assessment_check_reads
from .count_checks import changed_counts, count_checks, count_rules, own_facts
from .outcomes import queue_outcomes
from .visits import _at_midnight, visit_record


@dataclass
class AssessmentInput:
    """An assessment as entered. `labs` are `trials.labs.LabInput`s or dicts with analyte,
    value, unit and optional lln/uln (the reporting lab's range, in the unit of the value);
    `transfusions` [{kind, date}], `rescue_therapies` [{therapy, start, end}],
    `concomitant_medications` [{name, dose, start, end}]; dates as `date` or ISO text. `items`
    answers the study's items placed on the visit's form by code (None clears an answer); the
    virology and immune-panel items may also come under their earlier names `virology` and
    `immune_panel`."""

    date: date | None = None
    visit: str | None = None
    labs: list = field(default_factory=list)
    bleeding_grade: int | None = None
    transfusions: list = field(default_factory=list)
    rescue_therapies: list = field(default_factory=list)
    concomitant_medications: list = field(default_factory=list)
    items: dict | None = None
    virology: dict | None = None
    immune_panel: dict | None = None
    notes: str = ""
    deviation_reason: str = ""
    steroid_mg_per_day: Decimal | float | str | None = None
    steroid_drug: str | None = None
    steroid_dose_mg_per_day: Decimal | float | str | None = None


LAB_FIELDS = ("analyte", "value", "entered_value", "entered_unit", "report_lln", "report_uln", "lln", "uln",
              "range_source")


def _lab_fields(lab: dict) -> dict:
    return {key: lab[key] for key in LAB_FIELDS if key in lab}


def _as_date(value):
    """A date from a `date` or ISO text; None when empty; ValueError when it is not a date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


class _AssessmentErrors(Errors):
    """`trials.errors.Errors` that also reads a date, naming the field when it is not one."""

    def day(self, path: str, value, *, required: bool, today: date):
        """The date at `path`, or None with the problem recorded."""
        try:
            day = _as_date(value)
        except (TypeError, ValueError):
            self.add(path, _("Give a date as YYYY-MM-DD."))
            return None
        if day is None:
            if required:
                self.add(path, _("Give the date."))
            return None
        if day > today:
            self.add(path, _("A date cannot be in the future."))
            return None
        return day


def _assessment_visit(participant, code, assessment_date, deviation_reason, now, errors, current_visit_id=None):
    """The participant's visit `code` if it can take this assessment, whether it is a deviation and
    the deviation reason to keep. The visit an assessment being corrected is already linked to
    (`current_visit_id`) may stay linked, done; outside its window it keeps its recorded reason
    unless a new one is given."""
    if code in (None, ""):
        return None, False, ""
    visit = next((v for v in participant.visits.all() if v.code == code), None)
    if visit is None:
        errors.add("visit", _("%(code)s is not one of this participant's visits.") % {"code": code})
        return None, False, ""
    if visit.timed:
        errors.add("visit", _("%(code)s is a timed sample: record it with its time on its own page.") % {"code": code})
        return None, False, ""
    own = current_visit_id is not None and visit.pk == current_visit_id
    if visit.state != "upcoming" and not own:
        errors.add("visit", _("%(code)s is already recorded as %(state)s.") % {
            "code": code, "state": visit.get_state_display().lower()})
        return None, False, ""
    if assessment_date is None:
        return visit, False, ""
    planned = PlannedVisit(code=visit.code, label=visit.code, target=visit.target_at, window_start=visit.window_start,
                           window_end=visit.window_end, provisional=visit.provisional, timed=False)
    done_at = _at_midnight(assessment_date, timezone.get_current_timezone())
    deviation = visit_status(planned, done_at=done_at, missed=False, now=now).deviation
    reason = (deviation_reason or "").strip() or (visit.deviation_reason if own and visit.deviation else "")
    if deviation and not reason:
        errors.add("deviation_reason", _(
            "%(code)s on %(when)s is outside its window %(start)s to %(end)s: give the reason (it is recorded as a "
            "protocol deviation).") % {
            "code": code, "when": assessment_date.isoformat(),
            "start": timezone.localtime(visit.window_start).date().isoformat(),
            "end": timezone.localtime(visit.window_end).date().isoformat()})
    return visit, deviation, reason if deviation else ""


def _assessment_labs(labs, errors) -> list[dict]:
    entries = []
    for index, lab in enumerate(labs):
        if isinstance(lab, LabInput):
            entries.append(lab)
        elif isinstance(lab, dict):
            entries.append(LabInput(analyte=lab.get("analyte"), value=lab.get("value"), unit=lab.get("unit") or "",
                                    lln=lab.get("lln"), uln=lab.get("uln")))
        else:
            errors.add(f"labs.{index}", _("Give the analyte, value and unit."))
            entries.append(LabInput(analyte=f"#{index}", value=None, unit=""))
    return [row for row in convert_labs(entries, errors) if not row["analyte"].startswith("#")]


def _assessment_items(data: AssessmentInput, today: date, errors) -> tuple[list, list]:
    transfusions, rescues = [], []
    for index, item in enumerate(data.transfusions or []):
        path = f"transfusions.{index}"
        item = item if isinstance(item, dict) else {}
        if item.get("kind") not in TransfusionKind.values:
            errors.add(f"{path}.kind", _("Choose the transfusion: %(choices)s.") % {
                "choices": ", ".join(str(label) for label in TransfusionKind.labels)})
        day = errors.day(f"{path}.date", item.get("date"), required=True, today=today)
        transfusions.append({"kind": item.get("kind"), "date": day})
    for index, item in enumerate(data.rescue_therapies or []):
        path = f"rescue_therapies.{index}"
        item = item if isinstance(item, dict) else {}
        if item.get("therapy") not in RescueTherapyKind.values:
            errors.add(f"{path}.therapy", _("Choose the rescue therapy: %(choices)s.") % {
                "choices": ", ".join(str(label) for label in RescueTherapyKind.labels)})
        start = errors.day(f"{path}.start", item.get("start"), required=True, today=today)
        end = errors.day(f"{path}.end", item.get("end"), required=False, today=today)
        if start and end and end < start:
            errors.add(f"{path}.end", _("The therapy ends before it starts."))
        rescues.append({"therapy": item.get("therapy"), "start": start, "end": end})
    return transfusions, rescues


def _assessment_medications(data: AssessmentInput, today: date, errors) -> list:
    """Concomitant medications as stored (JSON, dates as ISO text)."""
    medications = []
    for index, item in enumerate(data.concomitant_medications or []):
        path = f"concomitant_medications.{index}"
        item = item if isinstance(item, dict) else {}
        name = str(item.get("name") or "").strip()
        if not name:
            errors.add(f"{path}.name", _("Give the medication's name."))
        start = errors.day(f"{path}.start", item.get("start"), required=False, today=today)
        end = errors.day(f"{path}.end", item.get("end"), required=False, today=today)
        if start and end and end < start:
            errors.add(f"{path}.end", _("The medication ends before it starts."))
        medications.append({"name": name, "dose": str(item.get("dose") or "").strip(),
                            "start": start.isoformat() if start else None, "end": end.isoformat() if end else None})
    return medications


def _assessment_answers(participant, data: AssessmentInput, visit, day: date | None, *, today: date, errors,
                        current: dict | None = None, new: bool = True) -> dict | None:
    """The answers to the study's items to store (`trials.items`), or None when a correction gives
    none. Only items placed on the visit's form are taken (any visit form's for an unscheduled
    assessment); an answer to an item that does not apply to the participant (sex, age on the
    assessment date, another answer) is refused. On a new assessment of a visit a required item
    that applies must be answered; a correction refuses clearing one. Reads the study's visit forms
    (one query) unless a correction gives no answer."""
    sources = (("virology", data.virology), ("immune_panel", data.immune_panel), ("items", data.items))
    if not new and all(given is None for _prefix, given in sources):
        return None
    if data.visit not in (None, "") and visit is None:
        return None  # the visit is refused: which form applies is not known
    forms: VisitForms = visit_form_items(participant.study_id, study=participant._state.fields_cache.get("study"))
    specs = forms.specs(visit.definition_id if visit is not None else None)
    cleaned = {}
    for prefix, given in sources:
        # No answer to an item of another form clears it (a page's form when the visit changes): not refused.
        cleaned.update({code: None for code, value in (given or {}).items() if value is None and code not in specs})
        given = {code: value for code, value in (given or {}).items() if value is not None or code in specs}
        if given:
            cleaned.update(item_rules.clean_values(specs, given, today=today, errors=errors, prefix=prefix))
    answers = {code: value for code, value in {**(current or {}), **cleaned}.items() if value is not None}
    screening = participant.screening
    on = day or today
    age = age_in_years(screening.birth_date, on) if screening.birth_date and on >= screening.birth_date else None
    if new:  # a visit's form asks its required items; an unscheduled assessment has no form of its own
        required = set(specs) if visit is not None else set()
    else:  # a correction may not clear a required answer it gives
        required = set(cleaned)
    refused = {code for _prefix, given in sources for code in (given or {}) if code not in cleaned}
    for codes, must in ((required - refused, True), (set(specs) - required - refused, False)):
        item_rules.check_applicable({code: specs[code] for code in specs if code in codes}, answers,
                                    sex=screening.sex or None, age_years=age, errors=errors, require=must)
    return answers


def _lab_ranges(participant, labs: list[dict], on: date | None, ranges=None) -> None:
    """Each lab's range used: the report's limits, a missing one from the site's range for the
    participant's sex and age on the assessment date (as at screening). A report's limit crossing
    the site's other limit is refused (every such lab named). `ranges`: the site's, when read
    already (`assessment_reads`)."""
    errors = Errors()
    screening = participant.screening
    age = age_in_years(screening.birth_date, on) if screening.birth_date and on and on >= screening.birth_date else None
    if ranges is None:
        ranges = list(ReferenceRange.objects.filter(site_id=participant.site_id)) if labs else []
    for index, lab in enumerate(labs):
        found = site_reference_range(ranges, lab["analyte"], screening.sex or None, age)
        site_lln, site_uln = (found.lln, found.uln) if found else (None, None)
        conflict = mixed_range_conflict(lab["report_lln"], lab["report_uln"], site_lln, site_uln)
        if conflict:  # every lab is checked, and every conflict named at once
            errors.add(f"labs.{index}.{conflict}", mixed_range_message(
                lab["analyte"], conflict, lab["report_lln"], lab["report_uln"], site_lln, site_uln))
            continue
        lln = lab["report_lln"] if lab["report_lln"] is not None else site_lln
        uln = lab["report_uln"] if lab["report_uln"] is not None else site_uln
        from_report = lab["report_lln"] is not None or lab["report_uln"] is not None
        from_site = ((lab["report_lln"] is None and site_lln is not None)
                     or (lab["report_uln"] is None and site_uln is not None))
        lab["lln"], lab["uln"] = lln, uln
        lab["range_source"] = "+".join(name for name, used in (("report", from_report),
                                                               (range_source_name(found), from_site)) if used)
    errors.raise_if_any()


@dataclass
class _ValidAssessment:
    """An assessment's values once every field checked. A list left as it is by a correction is None."""

    day: date | None
    visit: Visit | None
    deviation: bool
    deviation_reason: str
    bleeding_grade: int | None
    steroid_mg_per_day: Decimal | None
    steroid_drug: str
    steroid_dose_mg_per_day: Decimal | None
    labs: list[dict] | None
    transfusions: list[dict] | None
    rescue_therapies: list[dict] | None
    medications: list | None
    items: dict | None
    notes: str


def _assessment_validate(participant, data: AssessmentInput, *, now: datetime, errors: _AssessmentErrors,
                         current_visit_id: int | None = None, current_items: dict | None = None) -> _ValidAssessment:
    """Every field of an assessment, as recorded (`assessment_record`) or corrected
    (`assessment_update`, with the answers recorded so far as `current_items`), checked with the same
    rules; each problem is added to `errors` under its path. A list given as None (a correction that
    does not give it) is not checked and stays None, as do items none of which is given."""
    today = timezone.localtime(now).date()
    day = errors.day("date", data.date, required=True, today=today)
    if day is not None and participant.enrolled_on and day < participant.enrolled_on:
        errors.add("date", _("An assessment cannot be dated before enrolment (%(day)s).") % {
            "day": participant.enrolled_on.isoformat()})
        day = None
    visit, deviation, deviation_reason = _assessment_visit(participant, data.visit, day, data.deviation_reason, now,
                                                           errors, current_visit_id=current_visit_id)
    grade = data.bleeding_grade
    if grade is not None and (isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 4):
        errors.add("bleeding_grade", _("The WHO bleeding grade is a whole number from 0 to 4."))
    else:
        require_bleeding_grade(participant, grade, errors)
    drug, drug_dose, steroid = steroid_dose(data.steroid_drug, data.steroid_dose_mg_per_day, data.steroid_mg_per_day,
                                            errors)
    labs = None if data.labs is None else _assessment_labs(data.labs, errors)
    transfusions, rescues = _assessment_items(data, today, errors)
    medications = _assessment_medications(data, today, errors)
    new = current_items is None
    answers = _assessment_answers(participant, data, visit, day, today=today, errors=errors, current=current_items,
                                  new=new)
    return _ValidAssessment(
        day=day, visit=visit, deviation=deviation, deviation_reason=deviation_reason, bleeding_grade=grade,
        steroid_mg_per_day=steroid, steroid_drug=drug, steroid_dose_mg_per_day=drug_dose, labs=labs,
        transfusions=None if data.transfusions is None else transfusions,
        rescue_therapies=None if data.rescue_therapies is None else rescues,
        medications=None if data.concomitant_medications is None else medications,
        items=answers, notes=(data.notes or "").strip())


def assessment_problems(*, participant, data: AssessmentInput, now: datetime | None = None) -> Errors:
    """What `assessment_record` would refuse in `data`, every problem by its path; writes nothing.
    The page calls it on what it could read of an assessment its form refused, so that every
    problem shows at once."""
    errors = _AssessmentErrors()
    _assessment_validate(participant, data, now=now or timezone.now(), errors=errors)
    return errors


def assessment_record(*, participant, data: AssessmentInput, by, now: datetime | None = None):
    """Record an assessment: labs in SI with the value as entered and the range used (CLINICAL_RULES.md
    section 7), WHO bleeding grade (section 1), the daily corticosteroid dose (prednisone
    equivalent, section 1: corticosteroid dependence), transfusions, rescue therapy, concomitant
    medications, the answers to the study's items placed on the visit's form (`trials.items`: typed,
    within range, among the codes; required ones answered); and mark its visit done on that date.

    Coordinators and investigators of the participant's site (`Action.CAPTURE`). Everything is
    validated first and every bad field named (`labs.2.value`, `transfusions.0.date`, ...); a
    refused assessment writes nothing. A visit done outside its window needs `deviation_reason`
    (section 8), as in `visit_record`, which marks it done in the same transaction.
    """


    now = now or timezone.now()
    require(by, Action.CAPTURE, [participant.site_id])
    refuse_if_locked(participant)
    with transaction.atomic():
        # The lock checked again, holding it; the same statement reads the protocol version in force
        # and the screening, which the validation and the lab ranges read next.
        hold_unlocked(participant, "study__active_version")
        errors = _AssessmentErrors()
        valid = _assessment_validate(participant, data, now=now, errors=errors)
        errors.raise_if_any()

        day, visit, labs = valid.day, valid.visit, valid.labs or []
        found, counted = count_rules(participant, changed_counts(None, {lab["analyte"]: lab["value"] for lab in labs}))
        graded, terms = suggestion_reads(labs)
        reads = assessment_check_reads(participant, ranges=bool(labs), baseline_analytes=graded, draft_terms=terms,
                                       response=bool(counted))
        _lab_ranges(participant, labs, day, ranges=reads.ranges)
        reason = _("Assessment recorded")
        assessment = Assessment(participant=participant, visit=visit, date=day, bleeding_grade=valid.bleeding_grade,
                                steroid_mg_per_day=valid.steroid_mg_per_day, steroid_drug=valid.steroid_drug,
                                steroid_dose_mg_per_day=valid.steroid_dose_mg_per_day,
                                concomitant_medications=valid.medications or [], items=valid.items or {},
                                notes=valid.notes, recorded_by=by)
        children = {
            "labs": [LabResult(assessment=assessment, **_lab_fields(lab)) for lab in labs],
            "transfusions": [Transfusion(assessment=assessment, **row) for row in valid.transfusions or []],
            "rescue_therapies": [RescueTherapy(assessment=assessment, **row) for row in valid.rescue_therapies or []],
        }
        audited_save(assessment, by=by, reason=reason)
        for rows in children.values():
            if rows:
                audited_bulk_create(rows, by=by, reason=reason)
        if visit is not None:
            visit_record(visit=visit, done_at=_at_midnight(day, timezone.get_current_timezone()),
                         deviation_reason=valid.deviation_reason, by=by, now=now, edit_checks=False, lock_checked=True)
        adverse_event_suggest(participant=participant, labs=children["labs"], onset=day, by=by, now=now,
                              read=(reads.baselines, reads.open_terms))
        queue_outcomes(participant.study_id, participant.pk)
        counts = count_checks(found, reads, participant=participant, assessment=assessment.pk, before=None,
                              after=own_facts(assessment, labs, children["transfusions"],
                                              children["rescue_therapies"]), analytes=counted)
        auto_queries_for(participant, by, assessments=[assessment], created=True, counts=counts)
    # Returned with its rows loaded, as `prefetch_related` would, so that showing it reads nothing more.
    for relation, rows in children.items():
        cache_rows(assessment, relation, rows)
    return assessment
