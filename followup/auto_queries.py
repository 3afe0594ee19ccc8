"""Edit checks that flag a value without refusing it: each finding opens a data query of the
system (`followup.data_queries.query_open_system`) for the site to answer.

- ``assessment_after_visit``: an assessment (its labs) dated after the day its visit was done;
- ``weight_change``: the weight on the day of an infusion more than 10 % away from the previous
  given infusion's (the dose per kg is computed from it: CLINICAL_RULES.md section 4, dose given
  vs computed within 10 %);
- ``outside_window``: an assessment of a visit dated outside the visit's window while the visit
  carries no deviation reason (section 8: outside its window a visit is recorded as a protocol
  deviation with a reason);
- ``response_change``: a count the response is judged on (platelets for ITP, haemoglobin for the
  anaemias, neutrophils; each lineage's for several) entered, corrected or removed so that the
  participant's best confirmed response (sections 1-2) differs from what it was before: asked on
  that lab item (`lab:<analyte>`), with the response before kept as the query's basis; a later
  change of the count that brings the confirmed response back to it closes the query
  (`followup.response_facts.count_query_action`). The save computes it (`CountCheck`) only when
  such a count changed, from the rows it read (`followup.services.assessment_reads`).

`edit_check_findings` is pure; `auto_queries_for` checks the records a write changed (one read:
their system queries), opens a query for each finding without one that is not closed (nor closed
by a person, who judged the value right), and closes the system queries whose finding is gone.
The write services call it after each change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion, InfusionState

from .data_queries import query_close_system, query_open_system
from .models import Assessment
from .query_models import DataQuery, QueryCheck, QuerySource, QueryState
from .record_refs import RecordRef
from .response_facts import CLOSE, OPEN, ResponseChange, count_query_action

WEIGHT_CHANGE_LIMIT = 0.10


@dataclass(frozen=True)
class AssessmentFacts:
    pk: int
    date: date
    visit_code: str | None = None
    visit_done_on: date | None = None
    window_start: date | None = None
    window_end: date | None = None
    deviation_reason: str = ""


@dataclass(frozen=True)
class InfusionFacts:
    pk: int
    number: int
    weight_kg: float | None


Key = tuple[str, int, str, str]  # (record kind, record id, item, check)


def _day(value) -> str:
    return value.isoformat()


def edit_check_findings(assessments: list[AssessmentFacts], infusions: list[InfusionFacts]) -> dict[Key, str]:
    """{(record kind, record id, item, check): the question to ask} for every value the checks flag."""
    found: dict[Key, str] = {}
    for a in assessments:
        if a.visit_done_on is not None and a.date > a.visit_done_on:
            found[("assessment", a.pk, "date", QueryCheck.ASSESSMENT_AFTER_VISIT)] = _(
                "The assessment is dated %(date)s, after its visit %(code)s was done on %(done)s: please check "
                "the date.") % {"date": _day(a.date), "code": a.visit_code, "done": _day(a.visit_done_on)}
        outside = a.window_start is not None and not (a.window_start <= a.date <= a.window_end)
        if outside and not a.deviation_reason.strip():
            found[("assessment", a.pk, "date", QueryCheck.OUTSIDE_WINDOW)] = _(
                "The assessment of %(date)s is outside the window of %(code)s (%(start)s to %(end)s) and the visit "
                "has no deviation reason: please give the reason or correct the date.") % {
                "date": _day(a.date), "code": a.visit_code, "start": _day(a.window_start),
                "end": _day(a.window_end)}
    previous = None
    for infusion in sorted(infusions, key=lambda i: i.number):
        if infusion.weight_kg is None:
            continue
        if previous is not None and previous.weight_kg > 0:
            change = abs(infusion.weight_kg - previous.weight_kg) / previous.weight_kg
            if change > WEIGHT_CHANGE_LIMIT:
                found[("infusion", infusion.pk, "weight_kg", QueryCheck.WEIGHT_CHANGE)] = _(
                    "The weight on the day of infusion %(n)d (%(weight)s kg) differs by %(pct)s %% from infusion "
                    "%(previous_n)d (%(previous)s kg): please check it.") % {
                    "n": infusion.number, "weight": f"{infusion.weight_kg:g}", "pct": f"{change * 100:.0f}",
                    "previous_n": previous.number, "previous": f"{previous.weight_kg:g}"}
        previous = infusion
    return found


def _assessment_facts(assessment, tz: tzinfo) -> AssessmentFacts:
    visit = assessment.visit
    if visit is None:
        return AssessmentFacts(pk=assessment.pk, date=assessment.date)
    return AssessmentFacts(
        pk=assessment.pk, date=assessment.date, visit_code=visit.code,
        visit_done_on=timezone.localtime(visit.done_at, tz).date() if visit.done_at else None,
        window_start=timezone.localtime(visit.window_start, tz).date(),
        window_end=timezone.localtime(visit.window_end, tz).date(), deviation_reason=visit.deviation_reason)


@dataclass(frozen=True)
class CountCheck:
    """A count of assessment `assessment` just entered, corrected or removed: how it changed the best
    confirmed response (None: not at all) and what that response is now."""

    assessment: int
    analyte: str
    change: ResponseChange | None
    current: str | None


def count_question(analyte: str, change: ResponseChange) -> str:
    values = {"before": change.before, "after": change.after}
    if analyte == "PLT":
        return _("This platelet count changes the confirmed response from %(before)s to %(after)s; please verify "
                 "the value against the source.") % values
    if analyte == "HGB":
        return _("This haemoglobin value changes the confirmed response from %(before)s to %(after)s; please "
                 "verify the value against the source.") % values
    return _("This %(analyte)s value changes the confirmed response from %(before)s to %(after)s; please verify "
             "the value against the source.") % {**values, "analyte": analyte}


def _count_queries(participant, by, checks, current: dict[Key, list[DataQuery]]) -> tuple[int, int]:
    opened = closed = 0
    for check in checks:
        key = ("assessment", check.assessment, f"lab:{check.analyte}", QueryCheck.RESPONSE_CHANGE)
        query = next((q for q in current.get(key, []) if q.state != QueryState.CLOSED), None)
        action = count_query_action(check.change, current=check.current,
                                    open_basis=query.check_basis if query is not None else None)
        if action == OPEN:
            current.setdefault(key, []).append(query_open_system(
                participant=participant, record_ref=RecordRef("assessment", check.assessment), item=key[2],
                check_code=key[3], question=count_question(check.analyte, check.change), by=by,
                basis=check.change.before))
            opened += 1
        elif action == CLOSE:
            query_close_system(query, by=by)
            closed += 1
    return opened, closed


def auto_queries_for(participant, by, *, assessments=None, infusions=None, created: bool = False,
                     counts: list[CountCheck] = ()) -> tuple[int, int]:
    """Run the edit checks on the participant's records, open a system query for each finding that
    has none (not closed, nor closed by a person) and close the system queries whose finding is
    gone; (opened, closed). Call it inside the write's transaction.

    A write passes the rows it holds: `assessments` (each with its `visit` loaded) checks those
    assessments only, `infusions` (all the participant's, as the infusion hook passes them) the
    weights; then the only read is the system queries on those records, none for records just
    `created` (they have no query yet). Without either, the participant's assessments and given
    infusions are read (three reads). `counts` are the counts the write changed (`CountCheck`, for
    the assessments passed): their queries are opened or closed as `count_query_action` says."""
    tz = timezone.get_current_timezone()
    if assessments is None and infusions is None:
        assessments = list(Assessment.objects.filter(participant=participant).select_related("visit").order_by())
        infusions = list(Infusion.objects.filter(participant=participant, state=InfusionState.GIVEN).order_by())
    assessments, infusions = assessments or [], infusions or []
    if not assessments and not infusions:
        return 0, 0
    given = [i for i in infusions if i.state == InfusionState.GIVEN]
    findings = edit_check_findings([_assessment_facts(a, tz) for a in assessments],
                                   [InfusionFacts(pk=i.pk, number=i.number, weight_kg=i.weight_kg) for i in given])
    checked = Q(record_kind="assessment", record_pk__in=[a.pk for a in assessments]) | Q(
        record_kind="infusion", record_pk__in=[i.pk for i in infusions])
    current: dict[Key, list[DataQuery]] = {}
    existing = [] if created else (DataQuery.objects.filter(checked, participant=participant, source=QuerySource.SYSTEM)
                                   .order_by("id"))
    for query in existing:
        current.setdefault((query.record_kind, query.record_pk, query.item, query.check_code), []).append(query)
    opened, closed = _count_queries(participant, by, counts, current)
    for key, question in findings.items():
        if any(q.state != QueryState.CLOSED or q.closed_by_id is not None for q in current.get(key, [])):
            continue
        kind, pk, item, check_code = key
        query_open_system(participant=participant, record_ref=RecordRef(kind, pk), item=item, check_code=check_code,
                          question=question, by=by)
        opened += 1
    for key, queries in current.items():
        if key in findings or key[3] == QueryCheck.RESPONSE_CHANGE:  # asked only when its count changes
            continue
        for query in queries:
            if query.state != QueryState.CLOSED:
                query_close_system(query, by=by)
                closed += 1
    return opened, closed
