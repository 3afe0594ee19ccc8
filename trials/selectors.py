"""Reads of study configuration, scoped to the user, in a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .content import content
from .enums import Assessment, TimeUnit, VisitAnchor
from .infusion_days import InfusionRule, nominal_infusion_days
from .item_definitions import SCREENING_FORM
from .items import ItemSpec
from .models import (
    Arm,
    DoseLevel,
    EligibilityCriterion,
    InfusionDefinition,
    ItemPlacement,
    Study,
    StudyDisease,
    VisitDefinition,
    WorkerHeartbeat,
)
from .scoping import Action

_MINUTES = {TimeUnit.MINUTES: 1, TimeUnit.HOURS: 60, TimeUnit.DAYS: 24 * 60}
_ANCHOR_RANK = {VisitAnchor.ENROLMENT: 0, VisitAnchor.FIRST_INFUSION: 1, VisitAnchor.LAST_INFUSION: 2}


def form_items(study, visit_definition=None) -> list[tuple[str, ItemSpec]]:
    """The items of the screening form (no visit definition) or of a visit's form, in order, each
    with its section, as the protocol version in force has them (`trials.versions`: no query when
    the study was read with its version); a study without a version in force (a draft) reads its
    item rows (one query)."""
    if study.active_version_id:
        return study.active_version.form_items(visit_definition.code if visit_definition else SCREENING_FORM)
    rows = (ItemPlacement.objects.filter(item__study=study, visit_definition=visit_definition)
            .select_related("item").order_by("item__order", "item__code"))
    return [(content(row.item, "section"), row.item.spec) for row in rows]


def studies_for_home(user):
    return (
        Study.objects.visible_to(user)
        .annotate(
            arm_count=Count("arms", distinct=True),
            visit_count=Count("visit_definitions", distinct=True),
            criterion_count=Count("criteria", distinct=True),
        )
        .order_by("code")
    )


def study_queryset(user, action: Action = Action.VIEW):
    return Study.objects.visible_to(user, action).select_related("active_version", "locked_by").prefetch_related(
        "sites",
        Prefetch("diseases", queryset=StudyDisease.objects.select_related("response_criteria")),
        Prefetch(
            "arms",
            queryset=Arm.objects.prefetch_related(
                Prefetch("dose_levels", queryset=DoseLevel.objects.order_by("order")),
                Prefetch("infusion_definitions", queryset=InfusionDefinition.objects.order_by("number")),
            ),
        ),
        Prefetch("visit_definitions", queryset=VisitDefinition.objects.select_related("arm")),
        Prefetch("criteria", queryset=EligibilityCriterion.objects.order_by("kind", "order", "id")),
    )


def study_for_user(user, code: str) -> Study:
    """The study with its configuration prefetched; 404 when the user's sites do not run it."""
    return get_object_or_404(study_queryset(user), code=code)


@dataclass(frozen=True)
class InfusionRow:
    definition: InfusionDefinition
    nominal_day: int
    earliest_day: int
    latest_day: int
    anchor_text: str


def infusion_rows(arm: Arm) -> list[InfusionRow]:
    definitions = list(arm.infusion_definitions.all())
    nominal = {
        row.number: row
        for row in nominal_infusion_days(
            [InfusionRule(d.number, d.anchor, d.offset_days, d.window_before_days, d.window_after_days)
             for d in definitions]
        )
    }
    rows = []
    for definition in definitions:
        planned = nominal[definition.number]
        if definition.anchor == "day0":
            anchor_text = (_("day 0") if definition.offset_days == 0
                           else _("day 0 + %(days)d days") % {"days": definition.offset_days})
        else:
            anchor_text = _("infusion %(number)d as given + %(days)d days") % {
                "number": definition.number - 1, "days": definition.offset_days}
        rows.append(InfusionRow(definition, planned.day, planned.earliest_day, planned.latest_day, anchor_text))
    return rows


def _unit_text(value: int, unit: str) -> str:
    names = {TimeUnit.DAYS: _("d"), TimeUnit.HOURS: _("h"), TimeUnit.MINUTES: _("min")}
    return f"{value} {names[unit]}"


@dataclass(frozen=True)
class VisitRow:
    definition: VisitDefinition
    timing: str
    window: str
    assessments: list[str]
    who: str


def visit_definition_order(definition) -> tuple:
    """Where a visit definition stands in the study's schedule: by anchor, then offset, then order."""
    return (_ANCHOR_RANK[definition.anchor], definition.offset * _MINUTES[definition.offset_unit], definition.order)


def visit_rows(study: Study) -> list[VisitRow]:
    labels = dict(Assessment.choices)
    definitions = sorted(study.visit_definitions.all(), key=visit_definition_order)
    rows = []
    for v in definitions:
        anchor = v.get_anchor_display().lower()
        if v.offset == 0:
            timing = _("at %(anchor)s") % {"anchor": anchor}
        elif v.offset > 0:
            timing = _("%(offset)s after %(anchor)s") % {
                "offset": _unit_text(v.offset, v.offset_unit), "anchor": anchor}
        else:
            timing = _("%(offset)s before %(anchor)s") % {
                "offset": _unit_text(-v.offset, v.offset_unit), "anchor": anchor}
        if v.window_before == v.window_after:
            window = "±" + _unit_text(v.window_before, v.window_unit)
        else:
            window = f"-{_unit_text(v.window_before, v.window_unit)} / +{_unit_text(v.window_after, v.window_unit)}"
        who = [v.get_sex_restriction_display()] if v.sex_restriction != "any" else []
        if v.first_n_participants:
            who.append(_("first %(n)d participants") % {"n": v.first_n_participants})
        if v.arm_id:
            who.append(_("arm %(arm)s") % {"arm": v.arm.code})
        rows.append(VisitRow(v, timing, window, [str(labels.get(a, a)) for a in v.assessments],
                             "; ".join(map(str, who)) or _("all")))
    return rows


@dataclass(frozen=True)
class CriterionRow:
    """A criterion of the protocol in force; `pk` is its row's (for its audit trail), if it has one."""

    code: str
    kind: str
    text: str
    source: str
    rule_type: str
    params: dict
    pk: int | None = None
    text_zh: str = ""


def criteria_in_force(study: Study) -> list[CriterionRow]:
    """The eligibility criteria screenings are evaluated under: those of the protocol version in force
    (`trials.versions`), else, while the study has none (a draft), its criterion rows."""
    if not study.active_version_id:
        return [CriterionRow(c.code, c.kind, c.text, c.source, c.rule_type, c.params, c.pk, c.text_zh)
                for c in sorted(study.criteria.all(), key=lambda c: (c.order, c.pk))]
    return [CriterionRow(c["code"], c["kind"], c["text"], c.get("source") or "", c["rule_type"], c.get("params") or {},
                         text_zh=c.get("text_zh") or "")
            for c in study.active_version.criteria()]


def criteria_by_kind(study: Study) -> dict[str, list[CriterionRow]]:
    """The criteria in force by kind, each with its row's id where the row still exists."""
    rows = {row.code: row.pk for row in study.criteria.all()}
    grouped: dict[str, list[CriterionRow]] = {"inclusion": [], "exclusion": []}
    for criterion in criteria_in_force(study):
        grouped[criterion.kind].append(replace(criterion, pk=rows.get(criterion.code)))
    return grouped


@dataclass(frozen=True)
class WorkerStatus:
    last_seen: object | None
    stale: bool


def worker_status(now, *, stale_after_seconds: int = 300) -> WorkerStatus:
    """Whether the background worker ran its heartbeat recently (it runs every minute)."""
    beat = WorkerHeartbeat.objects.filter(name="worker").first()
    last_seen = beat.last_seen if beat else None
    stale = last_seen is None or (now - last_seen).total_seconds() > stale_after_seconds
    return WorkerStatus(last_seen=last_seen, stale=stale)
