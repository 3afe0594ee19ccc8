"""What the study dashboard shows, read for the user's sites and narrowed by site, disease, arm or
dose level: the CONSORT flow (`enrollment.consort`), the outcomes of the participants shown, the
charts' rows and the safety tables. Each participant's response and what the charts draw of them
come from the stored outcomes snapshot (`followup.outcomes.current_results`: the participants changed
since it are computed again, nothing is stored); the rest is read as plain values, the infusions as
one grouped aggregate. A fixed number of queries whatever the number of participants, and charts
of a bounded size: above `charts.INDIVIDUAL_LIMIT` participants the spaghetti becomes the median and
interquartile band per day, the waterfall a histogram, and the swimmer plot shows one page of lanes.
For such a cohort no series or row of changes is built per participant: the stored values are
gathered per day and each participant's best change read from them directly (`_analyte_chart`), the
same figures in a fraction of the time at 10,000 participants."""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
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

from . import dashboard_charts as charts
from . import dashboard_tables as tables
from .models import AdverseEvent
from .outcome_reads import ParticipantRow
from .outcomes import current_results
from .selectors import CHARTED

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


def _shown(user, study, narrowed: DashboardFilter, *, infusions: bool = True) -> list[Shown]:
    """The participants shown (one plain read) with the summary of their infusions: one aggregate
    grouped by participant, the first infusion's local date computed by the database and the last
    infusion's target date taken as the greatest "number, date" text (no subquery per participant).
    Without `infusions` (only the 3+3 counts read them) every summary is `NO_INFUSIONS`, unread."""
    shown = narrowed.participants(Participant.objects.visible_to(user).filter(study=study))
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


def _events(user, study, narrowed: DashboardFilter, *, serious_only: bool = False) -> dict[int, list[EventValues]]:
    """The events not dismissed of the participants shown; `serious_only`: the confirmed serious ones
    alone (all the swimmer lanes mark, when the safety tables are not built)."""
    shown = narrowed.participants(Participant.objects.visible_to(user).filter(study=study)).values("pk")
    events = AdverseEvent.objects.filter(participant__in=shown).exclude(status="dismissed")
    if serious_only:
        events = events.filter(status="confirmed", serious=True)
    found: dict[int, list[EventValues]] = {}
    for values in (events.order_by("onset_date", "id").values_list(*EventValues._fields)):
        event = EventValues(*values)
        found.setdefault(event.participant_id, []).append(event)
    return found


def _thresholds(study_disease) -> tuple[str, str, list[tuple[float, str]]]:
    criteria = study_disease.response_criteria
    analyte, unit, lines = CHARTED.get(criteria.family, CHARTED["itp"])
    values = criteria.thresholds if isinstance(criteria.thresholds, dict) else {}
    found = [(float(values[key]), f"{label} {values[key]:g}") for key, label in lines
             if isinstance(values.get(key), int | float) and not isinstance(values.get(key), bool)]
    return analyte, unit, found


def _days_on_study(shown: Shown, facts: list, today: date, first: date) -> int:
    """The length of the participant's lane; `facts`: their `ChartFacts` in the stored form, `first`:
    its first infusion's date (`facts[0]`) read."""
    if shown.status == "completed":
        return max(facts[2] or 0, 0)
    end = shown.withdrawn_on if shown.status == "withdrawn" and shown.withdrawn_on else today
    return max(0, (end - first).days)


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


def _analyte_chart(analyte: str, entry: dict) -> AnalyteChart:
    """A small cohort's lines and bars (every participant's values), a large one's band and histogram:
    for those the values are read straight from the stored pairs, per day and per participant's best
    change, without a series or a row built for each participant (the same figures)."""
    rows, thresholds = entry["rows"], entry["thresholds"]
    with_points = sum(1 for _label, _baseline, flat in rows if flat)
    if with_points <= charts.INDIVIDUAL_LIMIT:
        series = [charts.Series(label, tuple(zip(flat[::2], flat[1::2]))) for label, _b, flat in rows]
        changes = _changes(rows)
        moved = [(label, change) for label, _b, _best, change in changes if change is not None]
        return AnalyteChart(analyte, entry["unit"], series, thresholds, charts.build_spaghetti(series, thresholds),
                            changes, charts.build_waterfall(moved) if len(moved) <= charts.INDIVIDUAL_LIMIT else None,
                            [], histogram=None if len(moved) <= charts.INDIVIDUAL_LIMIT
                            else charts.build_histogram([c for _l, c in moved]))
    days: defaultdict[int, list[float]] = defaultdict(list)
    moved = []
    for _label, baseline, flat in rows:
        if not flat:
            continue
        day_of, value_of = flat[::2], flat[1::2]
        for day, value in zip(day_of, value_of):
            days[day].append(value)
        # the days are in day order (`ChartFacts.daily`): those after the first infusion's day end the list
        after = bisect_right(day_of, 0)
        if after < len(day_of):
            change = charts.best_change(baseline, [max(value_of[after:])])
            if change is not None:
                moved.append(change)
    spreads = charts.spreads_of_days(days)
    return AnalyteChart(analyte, entry["unit"], [], thresholds, None, [], None, spreads,
                        band=charts.build_band(spreads, thresholds), histogram=charts.build_histogram(moved),
                        counted=(with_points, len(moved)))


def dashboard(user, study, narrowed: DashboardFilter, *, today: date | None = None,
              swimmer_page: int = 1, parts: tuple[str, ...] = PARTS) -> Dashboard:
    """The `parts` of the dashboard (`PARTS`); the others' fields None, unread."""
    today = today or timezone.localdate()
    with_outcomes, with_safety = OUTCOMES in parts, SAFETY in parts
    participants, results, events_of = [], {}, {}
    if with_outcomes or with_safety:
        participants = _shown(user, study, narrowed, infusions=with_safety)
        events_of = _events(user, study, narrowed, serious_only=not with_safety)
    # disease -> the study's criteria set row (`outcome_reads.study_sets`): the page prefetches them
    sets = {row.disease: row for row in study.diseases.all()}
    # per dose level where an arm has several (`ParticipantRow.group`); the page prefetches them
    several = {arm.pk for arm in study.arms.all() if len(arm.dose_levels.all()) > 1}
    if with_outcomes:
        shown_pks = narrowed.participants(Participant.objects.visible_to(user).filter(study=study)).values("pk")
        results = current_results(study, [p.row for p in participants], sets, among=shown_pks)
    outcome_rows, swimmer_rows, events, dlt_inputs = [], [], [], []
    per_analyte: dict[str, dict] = {}
    charted: dict[str, tuple] = {}  # disease -> its charted analyte, unit and thresholds
    counted_as: dict[tuple, tuple] = {}  # (status, infusions) -> the 3+3 counts of a participant without events
    # One pass over the participants; what many of them share is built once and reused: their
    # group, their 3+3 input (a participant's group and counts) and the date of a first infusion.
    group_of: dict[tuple, str] = {}  # (arm, dose level) -> the group counted in
    dlt_input_of: dict[tables.DltInput, tables.DltInput] = {}
    first_of: dict[str, date] = {}
    no_events: list[EventValues] = []
    for shown in participants:
        row = shown.row
        group = group_of.get((row.arm_id, row.dose_level_id))
        if group is None:
            group = group_of[(row.arm_id, row.dose_level_id)] = row.group(several)
        own_events = events_of.get(row.pk, no_events)
        if with_safety:
            _count_safety(shown, group, own_events, today, counted_as, dlt_input_of, dlt_inputs, events)
        if not with_outcomes:
            continue
        stored = results.get(str(row.pk))
        if stored is None:
            continue  # not treated: outside the outcomes and the charts
        best, duration, _disease, _sex, facts = stored  # `ParticipantOutcome.stored`, read as stored
        outcome_rows.append(tables.OutcomeRow(group, best, tuple(duration) if duration else None))
        first = first_of.get(facts[0])
        if first is None:
            first = first_of[facts[0]] = date.fromisoformat(facts[0])
        # ordered by the tuple itself, longest first (the study numbers differ: never compared further)
        swimmer_rows.append((-_days_on_study(shown, facts, today, first), shown.study_number, shown, facts,
                             own_events))
        study_disease = sets.get(row.disease)
        if study_disease is None:
            continue
        if row.disease not in charted:
            charted[row.disease] = _thresholds(study_disease)
        analyte, unit, thresholds = charted[row.disease]
        entry = per_analyte.get(analyte)
        if entry is None:
            entry = per_analyte[analyte] = {"unit": unit, "thresholds": [], "rows": []}
        if not entry["rows"] or thresholds is not entry.get("last"):
            entry["thresholds"] += [t for t in thresholds if t not in entry["thresholds"]]
            entry["last"] = thresholds
        # label, baseline, the (day, value) pairs flattened: series and changes are built from them
        # for a small cohort only (`_analyte_chart`)
        entry["rows"].append((shown.study_number, facts[6], facts[7]) if facts[5] == analyte
                             else (shown.study_number, None, ()))
    found = dict.fromkeys(Dashboard.__dataclass_fields__)
    found["built"] = tuple(part for part in PARTS if part in parts)
    if FLOW in parts:
        found["consort"] = consort_counts(user, study, narrowed.consort())
    if with_outcomes or with_safety:
        found["participants"] = len(participants)
    if with_outcomes:
        ordered = sorted(swimmer_rows)
        pages = max(1, -(-len(ordered) // charts.SWIMMER_PAGE))
        page = min(max(1, swimmer_page), pages)
        lanes = [_swimmer_row(shown, -days, facts, own_events) for days, _number, shown, facts, own_events
                 in ordered[(page - 1) * charts.SWIMMER_PAGE:page * charts.SWIMMER_PAGE]]
        found.update(outcomes=tables.outcome_groups(outcome_rows),
                     analytes=[_analyte_chart(analyte, e) for analyte, e in sorted(per_analyte.items())],
                     swimmer_rows=lanes, swimmer=charts.build_swimmer(lanes), swimmer_total=len(ordered),
                     swimmer_page=page, swimmer_pages=pages)
    if with_safety:
        safety, any_event = tables.adverse_events_by_term(events)
        found.update(adverse_events=safety, any_adverse_event=any_event, serious=tables.serious_events(events),
                     dlts=tables.dlt_rows(dlt_inputs))
    return Dashboard(**found)


def _count_safety(shown: Shown, group: str, own_events: list[EventValues], today: date, counted_as: dict,
                  dlt_input_of: dict, dlt_inputs: list, events: list) -> None:
    """The participant's 3+3 input and confirmed events added to `dlt_inputs` and `events`.
    Participants without adverse events and with the same status and infusions count alike
    (`counted_as`), and every participant of the same group and counts shares one input."""
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
    dlt_inputs.append(dlt_input)
    if own_events:
        events += [tables.EventRow(shown.row.pk, e.term, e.grade, bool(e.serious)) for e in own_events
                   if e.status == "confirmed"]
