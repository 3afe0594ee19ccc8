"""Reads of follow-up: each participant's response by the criteria set of their disease."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trials import catalogues
from trials.content import content
from trials.models import ItemPlacement, ResponseCriteriaSet, StudyDisease, StudyVersion, VersionStatus
from trials.response_thresholds import incomplete_message, with_defaults
from trials.versions import forms_of

from . import response as rules
from .models import AdverseEvent, Assessment
from .response_facts import (
    LINEAGE_FAMILIES,
    LINEAGE_OF_FAMILY,
    CriteriaSet,
    LabFact,
    NoInvolvedLineage,
    ResponseFacts,
    ResponseRules,
    response_of_family,
    response_of_lineages,
)
from .timeline import build_chart
from .visit_items import VisitForms

def visit_form_items(study_id: int, *, study=None) -> VisitForms:
    """The study's items on each visit definition's form (`followup.visit_items`), as the protocol
    version in force has them (`trials.versions`), in one query, none when `study` is given read
    with its `active_version` (the version in force: `trials.amendments` keeps it so); a study
    without a version in force (a draft) reads its placements."""
    if study is not None and "active_version" in study._state.fields_cache:
        version = study.active_version
    else:
        version = StudyVersion.objects.filter(study_id=study_id, status=VersionStatus.ACTIVE).first()
    if version is not None:
        forms = forms_of(version.protocol)
        return VisitForms({definition: tuple(forms[code]) for code, definition in version.visits or []
                           if code in forms})
    rows = (ItemPlacement.objects.filter(item__study_id=study_id, visit_definition__isnull=False)
            .select_related("item").order_by("visit_definition__order", "visit_definition_id", "item__order",
                                             "item__code"))
    by_definition: dict[int, list] = {}
    for row in rows:
        by_definition.setdefault(row.visit_definition_id, []).append((content(row.item, "section"), row.item.spec))
    return VisitForms({definition: tuple(placed) for definition, placed in by_definition.items()})


class ResponseNotAvailable(Exception):
    """No response can be computed yet (no infusion given), or not for this criteria family yet."""


class CriteriaSetIncomplete(ResponseNotAvailable):
    """The criteria set lacks a threshold its rules read (stored without the admin's validation):
    a configuration problem the pages and the API report instead of computing."""


def _check_complete(criteria) -> None:
    problem = incomplete_message(criteria.code, criteria.family, criteria.thresholds)
    if problem:
        raise CriteriaSetIncomplete(problem)


def _thresholds(criteria) -> dict:
    """The set's thresholds with the defaults of the optional ones (trials.response_thresholds)."""
    return with_defaults(criteria.family, criteria.thresholds)


def response_prefetch() -> tuple[str, ...]:
    return ("infusions", "assessments__labs", "assessments__rescue_therapies", "assessments__transfusions")


def participant_response(participant, study_disease: StudyDisease | None = None) -> rules.ResponseResult:
    """The participant's per-assessment categories and best confirmed response, by the criteria set
    of their disease in the study, over the study's response period, with its time points and, for
    several lineages, the per-lineage results. No query when the relations of `response_prefetch()`
    and `study_disease` (with its study) are given; a multi-lineage set reads the lineages' sets once
    per `study_disease` instance."""
    if study_disease is None:
        study_disease = (StudyDisease.objects.select_related("response_criteria", "study")
                         .filter(study_id=participant.study_id, disease=participant.screening.disease).first())
    if study_disease is None:
        raise ResponseNotAvailable(_("The participant's disease has no response criteria set in this study."))
    given = sorted((i for i in participant.infusions.all() if i.state == "given"), key=lambda i: i.number)
    if not given:
        raise ResponseNotAvailable(_(NOT_TREATED))
    family = study_disease.response_criteria.family
    facts = response_facts(participant, study_disease.study, given,
                           sex=participant.screening.sex if family == "prca" else "")
    return response_by_set(facts, study_disease, participant.screening.disease)


NOT_TREATED = gettext_noop("No infusion given yet: response is assessed from the first infusion.")


def response_by_set(facts: ResponseFacts, study_disease: StudyDisease, disease: str, *, time_points: bool = True,
                    prepared: PreparedSet | None = None) -> rules.ResponseResult:
    """The response of a participant with `disease` whose facts are `facts`, by the criteria set of
    `study_disease` (with its study), with the study's time points for ITP (`time_points`); read from
    rows by `participant_response` and from plain values by the outcomes computation
    (`followup.outcome_reads`, which judges many participants by one set: `prepared`, the set as
    `prepared_set` read it once)."""
    criteria = study_disease.response_criteria
    if prepared is None:
        _check_complete(criteria)
    elif prepared.problem:
        raise CriteriaSetIncomplete(prepared.problem)
    if criteria.family == "multilineage":
        return _multilineage(facts, criteria, disease, _lineage_sets(study_disease))
    if criteria.family not in LINEAGE_OF_FAMILY:
        raise ResponseNotAvailable(_("Response by the %(family)s set is not computed yet.") % {
            "family": criteria.get_family_display()})
    result = response_of_family(facts, criteria_set(criteria) if prepared is None else prepared.criteria)
    study = study_disease.study
    if time_points and criteria.family == "itp" and study.response_time_points:
        anchors = {"first_infusion": facts.first, "last_infusion": facts.last}
        targets = {name: anchors[point["anchor"]] + timedelta(days=point["days"])
                   for name, point in study.response_time_points.items()}
        result = replace(result, time_points=rules.itp_time_points(
            result, thresholds=_thresholds(criteria), window_days=study.time_point_window_days, targets=targets))
    return result


class PreparedSet(NamedTuple):
    """A criteria set row checked and read once for many participants (`response_by_set`): why it
    cannot judge (None: it can) and, for a single-lineage family, the set as the rules read it."""

    problem: str | None
    criteria: CriteriaSet | None


def prepared_set(criteria) -> PreparedSet:
    problem = incomplete_message(criteria.code, criteria.family, criteria.thresholds)
    return PreparedSet(problem, criteria_set(criteria) if not problem and criteria.family in LINEAGE_OF_FAMILY
                       else None)


def criteria_set(criteria) -> CriteriaSet:
    """A criteria set row as the response rules read it (`followup.response_facts`)."""
    return CriteriaSet(code=criteria.code, family=criteria.family, thresholds=_thresholds(criteria))


# The lineages a disease involves by definition are the disease catalogue's (Evans syndrome, autoimmune
# haemolytic anaemia with immune thrombocytopenia: red cells and platelets); any other lineage (every
# lineage of a secondary cytopenia) is involved when its baseline value is below the set's
# `involved_<analyte>_below` threshold. The analyte that stands for each lineage:
LINEAGE_ANALYTES = {"platelets": "PLT", "red_cells": "HGB", "neutrophils": "ANC"}


def involved_by_definition(disease: str) -> tuple[str, ...]:
    """The analytes of the lineages the disease catalogue says `disease` involves."""
    entry = catalogues.current().diseases.get(disease)
    return tuple(LINEAGE_ANALYTES[lineage] for lineage in entry.lineages) if entry else ()


def response_facts(participant, study, given, *, sex: str = "") -> ResponseFacts:
    """The facts the response rules read (`followup.response_facts`) from the participant's given
    infusions (`given`, in order) and prefetched assessments with their labs, transfusions and
    rescue therapies; `study` gives the response period, `sex` the participant's (PRCA reads it)."""
    first = timezone.localtime(given[0].started_at).date()
    days = lambda n: None if n is None else first + timedelta(days=n)  # noqa: E731
    assessments = list(participant.assessments.all())
    return ResponseFacts(
        first=first, last=timezone.localtime(given[-1].started_at).date(),
        labs=tuple(LabFact(a.pk, a.date, lab.analyte, lab.value, lab.lln, lab.uln, a.bleeding_grade,
                           None if a.steroid_mg_per_day is None else float(a.steroid_mg_per_day))
                   for a in assessments for lab in a.labs.all()),
        transfusions=tuple((a.pk, rules.Transfusion(t.kind, t.date))
                           for a in assessments for t in a.transfusions.all()),
        therapies=tuple((a.pk, rules.Therapy(t.therapy, t.start, t.end))
                        for a in assessments for t in a.rescue_therapies.all()),
        sex=sex, assess_from=days(study.response_from_day),
        assess_until=days(study.response_until_day))


def _lineage_sets(study_disease: StudyDisease) -> dict:
    """Lineage -> criteria set grading it: the study's own set of that family when it has one (P1's
    AIHA set), else the first shipped set of the family; read once per `study_disease` instance."""
    cached = getattr(study_disease, "_lineage_sets", None)
    if cached is None:
        in_study = StudyDisease.objects.filter(study_id=study_disease.study_id, response_criteria=OuterRef("pk"))
        found: dict = {}
        for c in (ResponseCriteriaSet.objects.filter(family__in=[f for _, f in LINEAGE_FAMILIES])
                  .annotate(in_study=Exists(in_study)).order_by("-in_study", "code")):
            found.setdefault(c.family, c)
        cached = {lineage: found.get(family) for lineage, family in LINEAGE_FAMILIES}
        study_disease._lineage_sets = cached
    return cached


def lineage_criteria(sets: dict) -> dict[str, CriteriaSet]:
    """Lineage -> the criteria set grading it, from `_lineage_sets`, each checked complete."""
    found = {}
    for lineage, row in sets.items():
        if row is not None:
            _check_complete(row)
            found[lineage] = criteria_set(row)
    return found


def _multilineage(facts: ResponseFacts, criteria, disease: str, sets: dict) -> rules.ResponseResult:
    """Each involved lineage by its own set, then the overall category (CLINICAL_RULES.md section 2)."""
    try:
        return response_of_lineages(facts, criteria_set(criteria), lineage_sets=lineage_criteria(sets),
                                    involved=involved_by_definition(disease), disease=disease)
    except NoInvolvedLineage as reason:
        raise ResponseNotAvailable(str(reason)) from None


def response_rules_of(participant) -> tuple[ResponseRules, object] | None:
    """(What computes the participant's best confirmed response, their study) for the edit check of
    a count (`followup.auto_queries`): one read (the disease's criteria set and the study), a second
    for several lineages (the lineages' sets); None when the disease has no set in the study or the
    set cannot judge (incomplete, or a family not computed)."""
    study_disease = (StudyDisease.objects.select_related("response_criteria", "study")
                     .filter(study_id=participant.study_id, disease=participant.screening.disease).first())
    if study_disease is None:
        return None
    criteria = study_disease.response_criteria
    try:
        _check_complete(criteria)
        if criteria.family == "multilineage":
            disease = participant.screening.disease
            found = ResponseRules(criteria_set(criteria), lineage_sets=lineage_criteria(_lineage_sets(study_disease)),
                                  involved=involved_by_definition(disease), disease=disease)
        elif criteria.family in LINEAGE_OF_FAMILY:
            found = ResponseRules(criteria_set(criteria))
        else:
            return None
    except CriteriaSetIncomplete:
        return None
    return found, study_disease.study


CHARTED = {  # family -> (analyte, unit, thresholds as (key, label))
    "itp": ("PLT", "10^9/L", (("r_platelets", "R"), ("cr_platelets", "CR"))),
    "aiha": ("HGB", "g/L", (("pr_hb", "PR"), ("cr_hb", "CR"))),
    "neutropenia": ("ANC", "10^9/L", (("pr_anc", "PR"), ("cr_anc", "CR"))),
    "prca": ("HGB", "g/L", ()),
    "multilineage": ("HGB", "g/L", ()),
}


def participant_timeline(participant):
    """(response result or None, why not, chart) for the participant page; no query beyond the
    study's criteria set when `response_prefetch()` relations are prefetched."""
    study_disease = (StudyDisease.objects.select_related("response_criteria", "study")
                     .filter(study_id=participant.study_id, disease=participant.screening.disease).first())
    result, why_not = None, ""
    try:
        result = participant_response(participant, study_disease)
    except ResponseNotAvailable as reason:
        why_not = str(reason)
    family = study_disease.response_criteria.family if study_disease else "itp"
    thresholds_set = study_disease.response_criteria.thresholds if study_disease else {}
    if not isinstance(thresholds_set, dict):
        thresholds_set = {}  # a corrupted set: why_not says so, the chart draws no threshold
    analyte, unit, lines = CHARTED[family]
    categories = {a.date: a.category for a in result.assessments} if result else {}
    values = sorted((a.date, lab.value, categories.get(a.date, "")) for a in participant.assessments.all()
                    for lab in a.labs.all() if lab.analyte == analyte)
    given = sorted((i for i in participant.infusions.all() if i.state == "given"), key=lambda i: i.number)
    events = sorted((e.onset_date, e.resolution_date, e.term + (f" G{e.grade}" if e.grade else ""), e.grade)
                    for e in participant.adverse_events.all() if e.status == "confirmed")
    # The best confirmed response from when it holds: a CR from its own date, which may follow an
    # earlier R/PR (the response date).
    marked = (result.complete_response_date if result and result.best_confirmed_response == "CR"
              and result.complete_response_date else result.response_date if result else None)
    confirmed = (marked, f"{result.best_confirmed_response} confirmed") if marked else None
    chart = build_chart(values, infusions=[timezone.localtime(i.started_at).date() for i in given],
                        thresholds=[(thresholds_set[key], f"{label} {thresholds_set[key]:g}") for key, label in lines
                                    if isinstance(thresholds_set.get(key), int | float)
                                    and not isinstance(thresholds_set[key], bool)],
                        unit=unit, events=events, response=confirmed)
    return result, why_not, chart, analyte


def escalation_events_prefetch() -> Prefetch:
    """The participants' adverse events the 3+3 counts read (`trials.hooks.escalation_events`):
    confirmed events and drafts in one query, dismissed drafts left out."""
    return Prefetch("adverse_events",
                    queryset=AdverseEvent.objects.exclude(status="dismissed").order_by("onset_date", "id"))


def assessment_item_answers(*, study, code: str) -> int:
    """`trials.hooks.item_answers`: the study's assessments holding an answer to item `code`."""
    return Assessment.objects.filter(participant__study=study, items__has_key=code).count()
