"""Reads of follow-up: each participant's response by the criteria set of their disease."""
from __future__ import annotations

from django.utils import timezone

from trials.models import StudyDisease

from . import response as rules

# Rescue therapy that makes a platelet count not evaluable (CLINICAL_RULES.md section 1).
ITP_RESCUE = ("ivig", "steroid_start", "steroid_increase", "tpo_agent", "platelet_transfusion")


class ResponseNotAvailable(Exception):
    """No response can be computed yet (no infusion given), or not for this criteria family yet."""


def response_prefetch() -> tuple[str, ...]:
    return ("infusions", "assessments__labs", "assessments__rescue_therapies", "assessments__transfusions")


def first_infusion_date(participant):
    given = [i for i in participant.infusions.all() if i.state == "given"]
    if not given:
        return None
    return timezone.localtime(min(given, key=lambda i: i.number).started_at).date()


def participant_response(participant, study_disease: StudyDisease | None = None) -> rules.ResponseResult:
    """The participant's per-assessment categories and best confirmed response (no query when the
    relations of `response_prefetch()` and `study_disease` are given)."""
    if study_disease is None:
        study_disease = (StudyDisease.objects.select_related("response_criteria")
                         .filter(study_id=participant.study_id, disease=participant.screening.disease).first())
    if study_disease is None:
        raise ResponseNotAvailable("The participant's disease has no response criteria set in this study.")
    criteria = study_disease.response_criteria
    first = first_infusion_date(participant)
    if first is None:
        raise ResponseNotAvailable("No infusion given yet: response is assessed from the first infusion.")
    assessments = list(participant.assessments.all())
    labs = [(a, lab) for a in assessments for lab in a.labs.all()]
    transfusions = [rules.Transfusion(t.kind, t.date) for a in assessments for t in a.transfusions.all()]
    therapies = [rules.Therapy(t.therapy, t.start, t.end) for a in assessments for t in a.rescue_therapies.all()]
    if criteria.family == "itp":
        counts = [rules.Count(a.date, lab.value, a.bleeding_grade) for a, lab in labs if lab.analyte == "PLT"]
        return rules.itp_response(counts, first_infusion=first, rescue=[t for t in therapies if t.kind in ITP_RESCUE],
                                  transfusions=transfusions, thresholds=criteria.thresholds, criteria_set=criteria.code)
    if criteria.family in ("aiha", "prca"):
        by_date = {}
        for a, lab in labs:
            by_date.setdefault(a.date, {})[lab.analyte] = lab
        hb_rows = []
        for day, found in sorted(by_date.items()):
            if "HGB" not in found:
                continue
            lab = lambda code: rules.Lab(found[code].value, found[code].lln, found[code].uln) if code in found else None  # noqa: E731
            hb_rows.append(rules.HbAssessment(date=day, hb=found["HGB"].value, ldh=lab("LDH"), tbil=lab("TBIL"),
                                              retic=lab("RETIC_ABS"),
                                              retic_pct=found["RETIC_PCT"].value if "RETIC_PCT" in found else None,
                                              hb_lln=found["HGB"].lln))
        if criteria.family == "prca":
            return rules.prca_response(hb_rows, first_infusion=first, transfusions=transfusions,
                                       sex=participant.screening.sex, thresholds=criteria.thresholds,
                                       criteria_set=criteria.code)
        return rules.aiha_response(hb_rows, first_infusion=first, transfusions=transfusions,
                                   thresholds=criteria.thresholds, criteria_set=criteria.code)
    if criteria.family == "neutropenia":
        counts = [rules.Count(a.date, lab.value) for a, lab in labs if lab.analyte == "ANC"]
        return rules.neutropenia_response(counts, first_infusion=first, gcsf=[t for t in therapies if t.kind == "gcsf"],
                                          thresholds=criteria.thresholds, criteria_set=criteria.code)
    raise ResponseNotAvailable(f"Response by the {criteria.get_family_display()} set is not computed yet.")


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
    from .timeline import build_chart

    study_disease = (StudyDisease.objects.select_related("response_criteria")
                     .filter(study_id=participant.study_id, disease=participant.screening.disease).first())
    result, why_not = None, ""
    try:
        result = participant_response(participant, study_disease)
    except ResponseNotAvailable as reason:
        why_not = str(reason)
    family = study_disease.response_criteria.family if study_disease else "itp"
    thresholds_set = study_disease.response_criteria.thresholds if study_disease else {}
    analyte, unit, lines = CHARTED[family]
    categories = {a.date: a.category for a in result.assessments} if result else {}
    values = sorted((a.date, lab.value, categories.get(a.date, "")) for a in participant.assessments.all()
                    for lab in a.labs.all() if lab.analyte == analyte)
    given = sorted((i for i in participant.infusions.all() if i.state == "given"), key=lambda i: i.number)
    chart = build_chart(values, infusions=[timezone.localtime(i.started_at).date() for i in given],
                        thresholds=[(thresholds_set[key], f"{label} {thresholds_set[key]:g}") for key, label in lines
                                    if key in thresholds_set], unit=unit)
    return result, why_not, chart, analyte
