"""Reads of follow-up: each participant's response by the criteria set of their disease."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from trials import catalogues
from trials.models import ItemPlacement, ResponseCriteriaSet, StudyDisease, StudyVersion, VersionStatus
from trials.response_thresholds import incomplete_message, with_defaults
from trials.versions import forms_of

from . import response as rules
from .models import AdverseEvent, Assessment
from .timeline import build_chart
from .visit_items import VisitForms

# Rescue therapy that makes a platelet count not evaluable (CLINICAL_RULES.md section 1).
ITP_RESCUE = ("ivig", "steroid_start", "steroid_increase", "tpo_agent", "platelet_transfusion")


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
        by_definition.setdefault(row.visit_definition_id, []).append((row.item.section, row.item.spec))
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
        raise ResponseNotAvailable("The participant's disease has no response criteria set in this study.")
    given = sorted((i for i in participant.infusions.all() if i.state == "given"), key=lambda i: i.number)
    if not given:
        raise ResponseNotAvailable("No infusion given yet: response is assessed from the first infusion.")
    facts = _Facts(participant, study_disease.study, given)
    criteria = study_disease.response_criteria
    _check_complete(criteria)
    if criteria.family == "multilineage":
        return _multilineage(facts, criteria, participant.screening.disease, _lineage_sets(study_disease))
    if criteria.family not in LINEAGE_OF_FAMILY:
        raise ResponseNotAvailable(f"Response by the {criteria.get_family_display()} set is not computed yet.")
    result = _by_family(facts, criteria)
    if criteria.family == "itp" and facts.study.response_time_points:
        result = replace(result, time_points=rules.itp_time_points(
            result, thresholds=_thresholds(criteria), window_days=facts.study.time_point_window_days,
            targets=facts.time_point_targets()))
    return result


# The analyte each single-lineage family judges, and the lineage it stands for in several lineages.
LINEAGE_OF_FAMILY = {"aiha": "HGB", "prca": "HGB", "itp": "PLT", "neutropenia": "ANC"}
# Several lineages (CLINICAL_RULES.md section 2): the family that grades each lineage.
LINEAGE_FAMILIES = (("HGB", "aiha"), ("PLT", "itp"), ("ANC", "neutropenia"))
# The lineages a disease involves by definition are the disease catalogue's (Evans syndrome, autoimmune
# haemolytic anaemia with immune thrombocytopenia: red cells and platelets); any other lineage (every
# lineage of a secondary cytopenia) is involved when its baseline value is below the set's
# `involved_<analyte>_below` threshold. The analyte that stands for each lineage:
LINEAGE_ANALYTES = {"platelets": "PLT", "red_cells": "HGB", "neutrophils": "ANC"}


def involved_by_definition(disease: str) -> tuple[str, ...]:
    """The analytes of the lineages the disease catalogue says `disease` involves."""
    entry = catalogues.current().diseases.get(disease)
    return tuple(LINEAGE_ANALYTES[lineage] for lineage in entry.lineages) if entry else ()


def _lab_order(lab):
    """A fixed order of a day's values of one analyte: the lowest first, then by range (never by entry)."""
    return (lab.value, lab.lln is None, lab.lln or 0, lab.uln is None, lab.uln or 0)


class _Facts:
    """What the response rules read of one participant, gathered once from prefetched relations."""

    def __init__(self, participant, study, given):
        self.participant, self.study = participant, study
        self.first = timezone.localtime(given[0].started_at).date()
        self.last = timezone.localtime(given[-1].started_at).date()
        self.assessments = list(participant.assessments.all())
        self.labs = [(a, lab) for a in self.assessments for lab in a.labs.all()]
        self.transfusions = [rules.Transfusion(t.kind, t.date) for a in self.assessments for t in a.transfusions.all()]
        self.therapies = [rules.Therapy(t.therapy, t.start, t.end)
                          for a in self.assessments for t in a.rescue_therapies.all()]
        days = lambda n: None if n is None else self.first + timedelta(days=n)  # noqa: E731
        self.period = {"assess_from": days(study.response_from_day), "assess_until": days(study.response_until_day)}

    def counts(self, analyte: str) -> list[rules.Count]:
        return [rules.Count(a.date, lab.value, a.bleeding_grade,
                            None if a.steroid_mg_per_day is None else float(a.steroid_mg_per_day))
                for a, lab in self.labs if lab.analyte == analyte]

    def hb_rows(self) -> list[rules.HbAssessment]:
        """One row per haemoglobin value, each with its day's markers, the lowest of each analyte
        (CLINICAL_RULES.md section 1, one value per day): the engine combines the day's Hb values
        into the lowest and says so. Reticulocytes: the absolute count with its range when recorded
        that day, else the percentage with its range (section 2)."""
        by_date: dict = {}
        for a, lab in self.labs:
            by_date.setdefault(a.date, {}).setdefault(lab.analyte, []).append(lab)
        rows = []
        for day, found in sorted(by_date.items(), key=lambda item: item[0]):
            if "HGB" not in found:
                continue
            lowest = {code: min(labs, key=_lab_order) for code, labs in found.items()}
            lab = lambda code: (rules.Lab(lowest[code].value, lowest[code].lln, lowest[code].uln, code)  # noqa: E731
                                if code in lowest else None)
            retic = lab("RETIC_ABS") or lab("RETIC_PCT")
            for hgb in sorted(found["HGB"], key=_lab_order):
                rows.append(rules.HbAssessment(date=day, hb=hgb.value, ldh=lab("LDH"), tbil=lab("TBIL"), retic=retic,
                                               retic_pct=lowest["RETIC_PCT"].value if "RETIC_PCT" in lowest else None,
                                               hb_lln=hgb.lln))
        return rows

    def time_point_targets(self) -> dict:
        anchors = {"first_infusion": self.first, "last_infusion": self.last}
        return {name: anchors[point["anchor"]] + timedelta(days=point["days"])
                for name, point in self.study.response_time_points.items()}


def _by_family(facts: _Facts, criteria) -> rules.ResponseResult:
    family, t, code = criteria.family, _thresholds(criteria), criteria.code
    common = {"first_infusion": facts.first, "thresholds": t, "criteria_set": code, **facts.period}
    if family == "itp":
        return rules.itp_response(facts.counts("PLT"), rescue=[x for x in facts.therapies if x.kind in ITP_RESCUE],
                                  transfusions=facts.transfusions, **common)
    if family == "prca":
        return rules.prca_response(facts.hb_rows(), transfusions=facts.transfusions,
                                   sex=facts.participant.screening.sex, **common)
    if family == "aiha":
        return rules.aiha_response(facts.hb_rows(), transfusions=facts.transfusions, **common)
    return rules.neutropenia_response(facts.counts("ANC"), gcsf=[x for x in facts.therapies if x.kind == "gcsf"],
                                      **common)


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


def _multilineage(facts: _Facts, criteria, disease: str, sets: dict) -> rules.ResponseResult:
    """Each involved lineage by its own set, then the overall category (CLINICAL_RULES.md section 2)."""
    t = _thresholds(criteria)
    lineages, said = {}, []
    always = involved_by_definition(disease)
    for lineage, _family in LINEAGE_FAMILIES:
        lineage_set = sets.get(lineage)
        if lineage_set is None:
            continue
        _check_complete(lineage_set)
        result = _by_family(facts, lineage_set)
        if lineage in always:
            lineages[lineage] = result
            said.append(f"{lineage} involved ({disease})")
            continue
        limit = t.get(f"involved_{lineage.lower()}_below")
        if limit is None:
            continue
        if result.baseline is None:
            said.append(f"{lineage} not assessed: no baseline value")
        elif result.baseline.value < limit:
            lineages[lineage] = result
            said.append(f"{lineage} involved: baseline {result.baseline.value:g} < {limit:g}")
        else:
            said.append(f"{lineage} not involved: baseline {result.baseline.value:g} >= {limit:g}")
    if not lineages:
        raise ResponseNotAvailable("No involved lineage: no baseline haemoglobin, platelet or neutrophil value "
                                   "below the set's thresholds before the first infusion.")
    combined = rules.multilineage_response(lineages, first_infusion=facts.first, thresholds=t,
                                           criteria_set=criteria.code)
    overall = combined.overall
    return replace(overall, lineages=lineages, explanation=f"{'; '.join(said)}. {overall.explanation}")


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
