"""A study's whole configuration as one document, in the shape of `trials/studies/*.yaml`.

`study_definition` is the inverse of `trials.services.study_load`: loading what it returns under a
new code creates a study configured exactly alike, and exporting that study gives the same
document again (`trials/tests/test_definitions.py`). It reads a study fetched with
`trials.selectors.study_queryset` (its configuration prefetched: no further query) and returns
JSON-ready values (dates as ISO text).

The study's status (draft or active) is not part of the document, and a document that names one
is refused (`trials.services.DEFINITION_KEYS`): the status is the state of one study, not of its
configuration. A study created from a document (a copy, an upload, `POST /api/v1/studies/`) is
always a draft that an administrator activates; a study file loaded by `load_studies` runs at once.
"""
from __future__ import annotations

from .item_definitions import SCREENING_FORM, item_document
from .models import ItemPlacement, Study


def study_definition(study: Study) -> dict:
    visits = schedule_order(study)
    return {
        "code": study.code,
        "title": study.title,
        "title_zh": study.title_zh,
        "registry_id": study.registry_id,
        "version": study.version,
        "effective_date": study.effective_date.isoformat(),
        "design": study.design,
        "design_zh": study.design_zh,
        "intervention": study.intervention,
        "intervention_zh": study.intervention_zh,
        "primary_endpoint": study.primary_endpoint,
        "primary_endpoint_zh": study.primary_endpoint_zh,
        "enrolment_target": study.enrolment_target,
        "uses_dose_escalation": study.uses_dose_escalation,
        "eligibility_confirmation_required": study.eligibility_confirmation_required,
        "response_from_day": study.response_from_day,
        "response_until_day": study.response_until_day,
        "response_time_points": study.response_time_points or {},
        "time_point_window_days": study.time_point_window_days,
        "sites": [{"code": site.code, "name": site.name, "name_zh": site.name_zh}
                  for site in sorted(study.sites.all(), key=lambda s: s.code)],
        "diseases": [{"disease": row.disease, "response_criteria": row.response_criteria.code}
                     for row in sorted(study.diseases.all(), key=lambda d: d.disease)],
        "arms": [_arm(arm) for arm in sorted(study.arms.all(), key=lambda a: a.code)],
        "items": protocol_items(study, visits),
        "visits": [_visit(visit) for visit in visits],
        "criteria": protocol_criteria(study),
    }


def schedule_order(study: Study) -> list:
    return sorted(study.visit_definitions.all(), key=lambda v: (v.order, v.pk))


def protocol_items(study: Study, visits: list) -> list[dict]:
    """The study's items as a definition lists them, each with the forms it stands on (the
    screening form, then visits in schedule order)."""
    rank = {visit.pk: index for index, visit in enumerate(visits, start=1)}
    forms: dict[int, list] = {}
    for row in ItemPlacement.objects.filter(item__study=study).select_related("visit_definition"):
        forms.setdefault(row.item_id, []).append(row)
    return [item_document(item, [row.visit_definition.code if row.visit_definition_id else SCREENING_FORM
                                 for row in sorted(forms.get(item.pk, []),
                                                   key=lambda p: rank.get(p.visit_definition_id, 0))])
            for item in study.items.all()]


def protocol_criteria(study: Study) -> list[dict]:
    return [{"code": row.code, "kind": row.kind, "text": row.text, "text_zh": row.text_zh, "source": row.source,
             "rule_type": row.rule_type, "params": row.params}
            for row in sorted(study.criteria.all(), key=lambda c: (c.order, c.pk))]


def study_protocol(study: Study) -> tuple[dict, list]:
    """The study's items and criteria as its rows stand now (`trials.versions.protocol_of`: the next
    version's draft), and its visits as [code, id] pairs in schedule order."""
    visits = schedule_order(study)
    return ({"items": protocol_items(study, visits), "criteria": protocol_criteria(study)},
            [[visit.code, visit.pk] for visit in visits])


def _arm(arm) -> dict:
    return {
        "code": arm.code,
        "name": arm.name,
        "name_zh": arm.name_zh,
        "description": arm.description,
        "description_zh": arm.description_zh,
        "product_kind": arm.product_kind,
        "missed_infusion_rule": arm.missed_infusion_rule,
        "dose_levels": [
            {"code": level.code, "label": level.label, "label_zh": level.label_zh, "order": level.order,
             "dose_basis": level.dose_basis,
             "dose_per_kg": level.dose_per_kg, "flat_dose": level.flat_dose, "hard_limit_low": level.hard_limit_low,
             "hard_limit_high": level.hard_limit_high, "group_cap": level.group_cap, "status": level.status}
            for level in sorted(arm.dose_levels.all(), key=lambda d: (d.order, d.code))],
        "infusions": [
            {"number": row.number, "anchor": row.anchor, "offset_days": row.offset_days,
             "window_before_days": row.window_before_days, "window_after_days": row.window_after_days}
            for row in sorted(arm.infusion_definitions.all(), key=lambda i: i.number)],
    }


def _visit(visit) -> dict:
    return {
        "code": visit.code,
        "label": visit.label,
        "label_zh": visit.label_zh,
        "arm": visit.arm.code if visit.arm_id else None,
        "anchor": visit.anchor,
        "offset": visit.offset,
        "offset_unit": visit.offset_unit,
        "window_before": visit.window_before,
        "window_after": visit.window_after,
        "window_unit": visit.window_unit,
        "assessments": list(visit.assessments),
        "sex_restriction": visit.sex_restriction,
        "first_n_participants": visit.first_n_participants,
    }

