"""What the study dashboard shows, read for the user's sites and narrowed by site, disease, arm or
dose level: the CONSORT flow (`enrollment.consort`), the outcomes of the participants shown, the
charts' rows and the safety tables. Each participant's response and what the charts draw of them
come from the stored outcomes snapshot (`followup.outcomes.current_with_fresh`: the participants changed
since it are computed again, nothing is stored); the rest is read as plain values, the infusions as
one grouped aggregate. A fixed number of queries whatever the number of participants, and charts
of a bounded size: above `charts.INDIVIDUAL_LIMIT` participants the spaghetti becomes the median and
interquartile band per day, the waterfall a histogram, and the swimmer plot shows one page of lanes.
For such a cohort no series or row of changes is built per participant: each participant's values
are summed per day and their best change read from them directly (`followup.dashboard_tally`), the
same figures in a fraction of the time at 10,000 participants. Those sums are kept between reads
(`followup.dashboard_base`): after a new count, the outcomes part of a large cohort is moved by the
participants changed since rather than counted again from every participant."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from django.db.models import CharField, Count, Max, Min, Q, Value
from django.db.models.functions import Cast, Concat, LPad, TruncDate
from django.utils import timezone

from dosing.models import Infusion
from dosing.selectors import InfusionSummary, escalation_counts
from enrollment.consort import ConsortCounts, ConsortFilter, consort_counts
from enrollment.models import Participant

from . import dashboard_base
from . import dashboard_charts as charts
from . import dashboard_tables as tables
from .dashboard_tally import OutcomeTally, SafetyTally, analytes_of, charted_of, contribution
from .models import AdverseEvent, OutcomeResult
from .outcome_reads import ParticipantRow
from .outcomes import current_with_fresh

logger = logging.getLogger(__name__)

RESPONDERS = tables.RESPONDERS
NO_INFUSIONS = InfusionSummary(0, 0, False, None, None)


@dataclass(frozen=True)
class DashboardFilter:
    """`site_ids`: the sites shown (always within the user's); the rest narrows the participants."""

    site_ids: tuple[int, ...]
    disease: str = ""
    arm_id: int | None = None
    dose_level_id: int | None = None

    def consort(self) -> ConsortFilter:
        return ConsortFilter(site_ids=self.site_ids, disease=self.disease, arm_id=self.arm_id,
                             dose_level_id=self.dose_level_id)

    def participants(self, queryset):
        queryset = queryset.filter(site_id__in=self.site_ids)
        if self.disease:
            queryset = queryset.filter(screening__disease=self.disease)
        if self.arm_id is not None:
            queryset = queryset.filter(arm_id=self.arm_id)
        if self.dose_level_id is not None:
            queryset = queryset.filter(dose_level_id=self.dose_level_id)
        return queryset


@dataclass(frozen=True)
class AnalyteChart:
    """The spaghetti and waterfall of one charted analyte (platelets for ITP, Hb for the anaemias)."""

    analyte: str
    unit: str
    series: list[charts.Series]
    thresholds: list[tuple[float, str]]
    spaghetti: charts.SpaghettiChart | None  # one line per participant, for a small cohort
    changes: list[tuple[str, float | None, float | None, float | None]]  # label, baseline, best, change %
    waterfall: charts.WaterfallChart | None  # one bar per participant, for a small cohort
    spreads: list[charts.DaySpread]  # per day, for a large cohort
    band: charts.BandChart | None = None
    histogram: charts.HistogramChart | None = None
    # A large cohort's counts, its `series` and `changes` left empty (only their summaries are shown)
    counted: tuple[int, int] | None = None  # participants charted, participants with a change

    @property
    def charted(self) -> int:
        """The participants with at least one value."""
        if self.counted is not None:
            return self.counted[0]
        return sum(1 for s in self.series if s.points)

    @property
    def with_change(self) -> int:
        if self.counted is not None:
            return self.counted[1]
        return sum(1 for *_rest, change in self.changes if change is not None)


# The dashboard's parts, each built and cached on its own (`followup.dashboard_cache`): the CONSORT
# flow; the outcomes, their charts and the swimmer plot; the safety tables and the 3+3 counts.
FLOW, OUTCOMES, SAFETY = "flow", "outcomes", "safety"
PARTS = (FLOW, OUTCOMES, SAFETY)


@dataclass(frozen=True)
class Dashboard:
    """The parts built (`built`); a part not built leaves its fields None."""

    consort: ConsortCounts | None
    participants: int | None
    outcomes: list[dict] | None
    analytes: list[AnalyteChart] | None
    swimmer_rows: list[charts.SwimmerInput] | None  # the page of lanes shown (all for a small cohort)
    swimmer: charts.SwimmerChart | None
    swimmer_total: int | None  # treated participants, each a lane
    swimmer_page: int | None
    swimmer_pages: int | None
    adverse_events: list[tables.TermRow] | None
    any_adverse_event: tables.TermRow | None
    serious: tables.SeriousSummary | None
    dlts: list[tables.DltRow] | None
    built: tuple[str, ...] = PARTS


class EventValues(NamedTuple):
    """An adverse event, not dismissed, as the safety tables and the 3+3 counts read it
    (`dosing.selectors.adverse_event_dlt`)."""

    participant_id: int
    term: str
    grade: int | None
    serious: bool
    status: str
    onset_date: date
    category: str
    relationship: str
    resolved_to_grade1_within_48h: bool | None
    stopped_infusions: bool | None
    platelet_drop_confirmed: bool | None


class Shown(NamedTuple):
    """A participant shown, with the summary of their infusions (one grouped query for all)."""

    row: ParticipantRow
    study_number: str
    status: str
    withdrawn_on: date | None
    infusions: InfusionSummary


def _participants(user, study, narrowed: DashboardFilter, among=None):
    shown = narrowed.participants(Participant.objects.visible_to(user).filter(study=study))
    return shown if among is None else shown.filter(pk__in=among)


def _shown(user, study, narrowed: DashboardFilter, *, infusions: bool = True, among=None) -> list[Shown]:
    """The participants shown (one plain read; `among`: those of these pks alone) with the summary of
    their infusions: one aggregate grouped by participant, the first infusion's local date computed by
    the database and the last infusion's target date taken as the greatest "number, date" text (no
    subquery per participant). Without `infusions` (only the 3+3 counts read them) every summary is
    `NO_INFUSIONS`, unread."""
    shown = _participants(user, study, narrowed, among)
    values = shown.order_by("study_number").values_list(
        "id", "arm_id", "arm__code", "dose_level_id", "dose_level__code", "screening__disease", "screening__sex",
        "study_number", "status", "withdrawn_on")
    if not infusions:
        return [Shown(ParticipantRow(*v[:7]), v[7], v[8], v[9], NO_INFUSIONS) for v in values]
    given = Q(state="given")
    last = Concat(LPad(Cast("number", CharField()), 10, Value("0")), Cast("target_date", CharField()),
                  output_field=CharField())
    summaries = {
        pk: InfusionSummary(planned, received, bool(waiting), first, date.fromisoformat(last[10:]) if last else None)
        for pk, planned, received, waiting, first, last in (
            Infusion.objects.filter(participant__in=shown.values("pk")).order_by().values("participant_id")
            .annotate(planned=Count("pk"), received=Count("pk", filter=given),
                      waiting=Count("pk", filter=Q(state="planned")),
                      first=Min(TruncDate("started_at", tzinfo=timezone.get_current_timezone()), filter=given),
                      last=Max(last))
            .values_list("participant_id", "planned", "received", "waiting", "first", "last"))}
    return [Shown(ParticipantRow(*v[:7]), v[7], v[8], v[9], summaries.get(v[0], NO_INFUSIONS)) for v in values]


def _events(user, study, narrowed: DashboardFilter, *, serious_only: bool = False,
            among=None) -> dict[int, list[EventValues]]:
    """The events not dismissed of the participants shown (`among`: of these pks alone);
    `serious_only`: the confirmed serious ones alone (all the swimmer lanes mark, when the safety
    tables are not built)."""
    shown = _participants(user, study, narrowed, among).values("pk")
    events = AdverseEvent.objects.filter(participant__in=shown).exclude(status="dismissed")
    if serious_only:
        events = events.filter(status="confirmed", serious=True)
    found: dict[int, list[EventValues]] = {}
    for values in (events.order_by("onset_date", "id").values_list(*EventValues._fields)):
        event = EventValues(*values)
        found.setdefault(event.participant_id, []).append(event)
    return found


def _swimmer_row(shown: Shown, days: int, facts: list, events: list[EventValues]) -> charts.SwimmerInput:
    """A lane of the page shown (built for the page only; every lane's length is needed to order them)."""
    first, infusions, _last_assessment, response, loss = facts[:5]
    first = date.fromisoformat(first)
    return charts.SwimmerInput(
        shown.study_number, days, shown.status not in ("withdrawn", "completed"), tuple(infusions),
        response, loss, tuple((e.onset_date - first).days for e in events if e.status == "confirmed" and e.serious))


def _changes(charted: list[tuple[str, float | None, list]]) -> list[tuple]:
    """Label, baseline, best value after the first infusion and best change of each participant
    (`charted`: label, baseline and the day, value pairs flattened)."""
    changes = []
    for label, baseline, flat in charted:
        after = [v for d, v in zip(flat[::2], flat[1::2]) if d > 0]
        changes.append((label, baseline, max(after) if after else None, charts.best_change(baseline, after)))
    return changes


def _analyte_chart(analyte: str, tally: OutcomeTally, sets, rows: list | None) -> AnalyteChart:
    """A small cohort's lines and bars (every participant's values, `rows`: label, baseline and the
    day, value pairs flattened, in the participants' order), a large one's band and histogram, read
    from the tally's sums (the same figures). Its unit and thresholds: those of the diseases counted
    in it, in the order of their codes."""
    unit, thresholds = "", []
    for disease in sorted(tally.analytes[analyte].diseases):
        _analyte, disease_unit, lines = charted_of(sets[disease])
        unit = unit or disease_unit
        thresholds += [line for line in lines if line not in thresholds]
    if tally.analytes[analyte].with_points <= charts.INDIVIDUAL_LIMIT:
        series = [charts.Series(label, tuple(zip(flat[::2], flat[1::2]))) for label, _b, flat in rows]
        changes = _changes(rows)
        moved = [(label, change) for label, _b, _best, change in changes if change is not None]
        return AnalyteChart(analyte, unit, series, thresholds, charts.build_spaghetti(series, thresholds),
                            changes, charts.build_waterfall(moved) if len(moved) <= charts.INDIVIDUAL_LIMIT else None,
                            [], histogram=None if len(moved) <= charts.INDIVIDUAL_LIMIT
                            else charts.build_histogram([c for _l, c in moved]))
    spreads, moved, counted = tally.analyte_figures(analyte)
    return AnalyteChart(analyte, unit, [], thresholds, None, [], None, spreads,
                        band=charts.build_band(spreads, thresholds), histogram=charts.build_histogram(moved),
                        counted=counted)


def _outcome_fields(tally: OutcomeTally, sets, rows_of: dict[str, list] | None, swimmer_page: int,
                    lanes_of) -> dict:
    """The outcomes part's fields from the tally; `lanes_of(keys)`: the swimmer lanes of the page's
    lane keys (`Contribution.lane`), in their order."""
    pages = max(1, -(-len(tally.lanes) // charts.SWIMMER_PAGE))
    page = min(max(1, swimmer_page), pages)
    lanes = lanes_of(tally.lanes[(page - 1) * charts.SWIMMER_PAGE:page * charts.SWIMMER_PAGE])
    return {"outcomes": tally.outcome_groups(),
            "analytes": [_analyte_chart(analyte, tally, sets, rows_of.get(analyte) if rows_of is not None else None)
                         for analyte in sorted(tally.analytes)],
            "swimmer_rows": lanes, "swimmer": charts.build_swimmer(lanes), "swimmer_total": len(tally.lanes),
            "swimmer_page": page, "swimmer_pages": pages}


def _safety_of(user, study, narrowed: DashboardFilter, pks, grouped, today: date) -> dict[int, tuple]:
    """The safety contributions of the participants shown among `pks` (None: of every participant
    shown; three statements)."""
    events_of = _events(user, study, narrowed, among=pks)
    counted_as, dlt_input_of = {}, {}
    return {shown.row.pk: _safety_contribution(shown, grouped(shown.row), events_of.get(shown.row.pk, []), today,
                                               counted_as, dlt_input_of)
            for shown in _shown(user, study, narrowed, among=pks)}


def _moved_outcomes(user, study, narrowed: DashboardFilter, entry: str, sets, several, today: date,
                    swimmer_page: int, version: int, with_safety: bool) -> dict | None:
    """The outcomes part's fields from the kept sums moved by the participants changed since
    (`followup.dashboard_base`; `version`: the data version read before any data), the page's lanes
    read with their serious events; `with_safety`: the safety part's fields too, when its sums were
    kept. None when there are no sums to move."""
    group_of: dict[tuple, str] = {}

    def grouped(row: ParticipantRow) -> str:
        key = (row.arm_id, row.dose_level_id)
        if key not in group_of:
            group_of[key] = row.group(several)
        return group_of[key]

    def lanes_of(keys: list[tuple]) -> list[charts.SwimmerInput]:
        pks = [pk for _days, _number, pk in keys]
        shown = {one.row.pk: one for one in _shown(user, study, narrowed, infusions=False, among=pks)}
        # the stored values of the lanes' participants not computed again (theirs are the results counted)
        kept = [pk for pk in pks if str(pk) not in found.results]
        stored = dict(OutcomeResult.objects.filter(participant_id__in=kept).values_list("participant_id", "chart"))
        events = _events(user, study, narrowed, serious_only=True, among=pks)
        # a participant no longer shown, or a result being stored again meanwhile: KeyError, built again
        return [_swimmer_row(shown[pk], -days, found.results[str(pk)][4] if str(pk) in found.results else stored[pk],
                             events.get(pk, [])) for days, _number, pk in keys]

    try:
        found = dashboard_base.moved(
            entry, study, sets, lambda pks: _shown(user, study, narrowed, infusions=False, among=pks), grouped,
            date.fromisoformat, today, version, safety_of=(lambda pks: _safety_of(user, study, narrowed, pks, grouped,
                                                                                   today)) if with_safety else None)
        if found is None:
            return None
        return {"participants": found.participants, **_outcome_fields(found.tally, sets, None, swimmer_page, lanes_of),
                **(found.safety.fields() if found.safety is not None else {})}
    except (ValueError, KeyError, TypeError, IndexError, EOFError, OverflowError):
        # sums that cannot be read as kept: never a failed page, and never read again
        logger.warning("The dashboard's kept sums could not be moved; built again.", exc_info=True)
        dashboard_base.forget(entry)
        return None


def dashboard(user, study, narrowed: DashboardFilter, *, today: date | None = None,
              swimmer_page: int = 1, parts: tuple[str, ...] = PARTS, tokens: dict[str, str] | None = None) -> Dashboard:
    """The `parts` of the dashboard (`PARTS`); the others' fields None, unread. With the data's
    `tokens` (`followup.dashboard_cache.tokens_of`, read before the study's configuration was), a
    large cohort's outcomes are moved from their kept sums (`followup.dashboard_base`), and kept when
    built from every participant."""
    today = today or timezone.localdate()
    with_outcomes, with_safety = OUTCOMES in parts, SAFETY in parts
    # disease -> the study's criteria set row (`outcome_reads.study_sets`): the page prefetches them
    sets = {row.disease: row for row in study.diseases.all()}
    # per dose level where an arm has several (`ParticipantRow.group`); the page prefetches them
    several = {arm.pk for arm in study.arms.all() if len(arm.dose_levels.all()) > 1}
    found = dict.fromkeys(Dashboard.__dataclass_fields__)
    found["built"] = tuple(part for part in PARTS if part in parts)
    if FLOW in parts:
        found["consort"] = consort_counts(user, study, narrowed.consort())
    entry = dashboard_base.key(user, study, narrowed, tokens, today) if tokens is not None and with_outcomes else None
    if entry is not None:
        moved = _moved_outcomes(user, study, narrowed, entry, sets, several, today, swimmer_page,
                                dashboard_base.version_of(tokens), with_safety)
        if moved is not None:
            found.update(moved)
            with_outcomes, entry = False, None
            with_safety = with_safety and moved.get("dlts") is None  # not kept: built below
    participants, current, events_of = [], None, {}
    if with_outcomes or with_safety:
        participants = _shown(user, study, narrowed, infusions=with_safety)
        events_of = _events(user, study, narrowed, serious_only=not with_safety)
    if with_outcomes:
        shown_pks = narrowed.participants(Participant.objects.visible_to(user).filter(study=study)).values("pk")
        current = current_with_fresh(study, [p.row for p in participants], sets, among=shown_pks)
    results = current.results if current is not None else {}
    analyte_of = analytes_of(sets)
    tally = OutcomeTally()
    rows_of: dict[str, list] = {}  # analyte -> label, baseline, flat pairs: a small cohort's lines
    lanes: dict[int, tuple] = {}  # participant -> what their lane is drawn from
    safety_of: dict[int, tuple] = {}  # participant -> their safety contribution (`_safety_contribution`)
    counted_as: dict[tuple, tuple] = {}  # (status, infusions) -> the 3+3 counts of a participant without events
    # One pass over the participants; what many of them share is built once and reused: their
    # group, their 3+3 input (a participant's group and counts) and the date of a first infusion.
    group_of: dict[tuple, str] = {}  # (arm, dose level) -> the group counted in
    dlt_input_of: dict[tables.DltInput, tables.DltInput] = {}
    first_of: dict[str, date] = {}
    no_events: list[EventValues] = []
    safety: SafetyTally | None = None  # the safety part's sums, when built to be kept
    for shown in participants:
        row = shown.row
        group = group_of.get((row.arm_id, row.dose_level_id))
        if group is None:
            group = group_of[(row.arm_id, row.dose_level_id)] = row.group(several)
        own_events = events_of.get(row.pk, no_events)
        if with_safety:
            safety_of[row.pk] = _safety_contribution(shown, group, own_events, today, counted_as, dlt_input_of)
        if not with_outcomes:
            continue
        stored = results.get(str(row.pk))
        if stored is None:
            continue  # not treated: outside the outcomes and the charts
        facts = stored[4]  # `ParticipantOutcome.stored`, read as stored
        first = first_of.get(facts[0])
        if first is None:
            first = first_of[facts[0]] = date.fromisoformat(facts[0])
        given = contribution(row.pk, shown.study_number, shown.status, shown.withdrawn_on, group, row.disease,
                             stored, today, first, analyte_of)
        tally.add(row.pk, given)
        lanes[row.pk] = (shown, facts, own_events)
        if given.analyte is not None:
            rows_of.setdefault(given.analyte, []).append(
                (shown.study_number, facts[6] if facts[5] == given.analyte else None, given.flat))
    if with_outcomes or with_safety:
        found["participants"] = len(participants)  # the same count when the outcomes were moved
    if with_outcomes:
        tally.sort()
        found.update(_outcome_fields(tally, sets, rows_of, swimmer_page, lambda keys: [
            _swimmer_row(lanes[pk][0], -days, lanes[pk][1], lanes[pk][2]) for days, _number, pk in keys]))
        if entry is not None and current.covers is not None and tally.analytes and tally.large():
            if not with_safety:  # the safety part's sums are kept with the outcomes', asked for or not
                # (read after the rest: a participant written since is marked after the version kept)
                safety_of = _safety_of(user, study, narrowed, None, lambda row: row.group(several), today)
            safety = SafetyTally.of_contributions(safety_of)
            dashboard_base.keep(entry, dashboard_base.Base(
                tally, {s.row.pk: dashboard_base.packed_shown(dashboard_base.shown_values(s)) for s in participants},
                current.covers, current.unmarked_rewrites, frozenset(current.fresh), len(participants), safety,
                dashboard_base.version_of(tokens)))
    if with_safety:
        found.update((safety if safety is not None else SafetyTally.of_contributions(safety_of, movable=False))
                     .fields())
    return Dashboard(**found)


def _safety_contribution(shown: Shown, group: str, own_events: list[EventValues], today: date, counted_as: dict,
                         dlt_input_of: dict) -> tuple[tables.DltInput, tuple[tables.EventRow, ...]]:
    """The participant's 3+3 input and their confirmed events' rows. Participants without adverse
    events and with the same status and infusions count alike (`counted_as`), and every participant
    of the same group and counts shares one input."""
    key = None if own_events else (shown.status, shown.infusions)
    counts = counted_as.get(key) if key is not None else None
    if counts is None:
        counts = escalation_counts(shown.status, shown.infusions, own_events, today=today)
        if key is not None:
            counted_as[key] = counts
    dlt_key = (group, *counts)
    dlt_input = dlt_input_of.get(dlt_key)
    if dlt_input is None:
        dlt_input = dlt_input_of[dlt_key] = tables.DltInput(*dlt_key)
    return dlt_input, tuple(tables.EventRow(shown.row.pk, e.term, e.grade, bool(e.serious)) for e in own_events
                            if e.status == "confirmed")
