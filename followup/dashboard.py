"""What the study dashboard shows, read for the user's sites and narrowed by site, disease, arm or
dose level: the CONSORT flow (`enrollment.consort`), the outcomes recomputed for the participants
shown, the charts' rows and the safety tables. A fixed number of queries whatever the number of
participants: the flow's two, the study's criteria sets, the participants with their infusions,
assessments (labs, rescue therapies, transfusions) and adverse events."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch
from django.utils import timezone

from dosing.selectors import participant_escalation
from enrollment.consort import ConsortCounts, ConsortFilter, consort_counts
from enrollment.models import Participant
from trials.models import StudyDisease

from . import dashboard_charts as charts
from . import dashboard_tables as tables
from .models import AdverseEvent
from .selectors import CHARTED, ResponseNotAvailable, participant_response, response_prefetch

RESPONDERS = tables.RESPONDERS


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
    spaghetti: charts.SpaghettiChart | None
    changes: list[tuple[str, float | None, float | None, float | None]]  # label, baseline, best, change %
    waterfall: charts.WaterfallChart | None


@dataclass(frozen=True)
class Dashboard:
    consort: ConsortCounts
    participants: int
    outcomes: list[dict]
    analytes: list[AnalyteChart]
    swimmer_rows: list[charts.SwimmerInput]
    swimmer: charts.SwimmerChart | None
    adverse_events: list[tables.TermRow]
    any_adverse_event: tables.TermRow | None
    serious: tables.SeriousSummary
    dlts: list[tables.DltRow]


def group_key(participant) -> str:
    """Per dose level where an arm has several, else per arm (as the study outcomes group)."""
    if participant.dose_level_id and len(participant.arm.dose_levels.all()) > 1:
        return participant.dose_level.code
    return participant.arm.code


def _participants(user, study, narrowed: DashboardFilter):
    events = Prefetch("adverse_events", queryset=AdverseEvent.objects.exclude(status="dismissed")
                      .order_by("onset_date", "id"))
    return list(narrowed.participants(Participant.objects.visible_to(user).filter(study=study))
                .select_related("screening", "arm", "dose_level")
                .prefetch_related("arm__dose_levels", *response_prefetch(), events)
                .order_by("study_number"))


def _daily_lowest(participant, analyte: str) -> dict[date, float]:
    """One value per day, the lowest (CLINICAL_RULES.md section 1)."""
    daily: dict[date, float] = {}
    for assessment in participant.assessments.all():
        for lab in assessment.labs.all():
            if lab.analyte == analyte:
                value = float(lab.value)
                daily[assessment.date] = min(value, daily.get(assessment.date, value))
    return daily


def _thresholds(study_disease) -> tuple[str, str, list[tuple[float, str]]]:
    criteria = study_disease.response_criteria
    analyte, unit, lines = CHARTED.get(criteria.family, CHARTED["itp"])
    values = criteria.thresholds if isinstance(criteria.thresholds, dict) else {}
    found = [(float(values[key]), f"{label} {values[key]:g}") for key, label in lines
             if isinstance(values.get(key), int | float) and not isinstance(values.get(key), bool)]
    return analyte, unit, found


def dashboard(user, study, narrowed: DashboardFilter, *, today: date | None = None) -> Dashboard:
    today = today or timezone.localdate()
    sets = {d.disease: d for d in StudyDisease.objects.filter(study=study).select_related("response_criteria", "study")}
    participants = _participants(user, study, narrowed)
    outcome_rows, swimmer_rows, events, dlt_inputs = [], [], [], []
    per_analyte: dict[str, dict] = {}
    for participant in participants:
        group = group_key(participant)
        infusions = list(participant.infusions.all())
        escalation = participant_escalation(participant, infusions, list(participant.adverse_events.all()),
                                            today=today)
        dlt_inputs.append(tables.DltInput(group, escalation.counted, escalation.evaluable, escalation.had_dlt,
                                          not escalation.in_dlt_window))
        confirmed = [e for e in participant.adverse_events.all() if e.status == "confirmed"]
        events += [tables.EventRow(participant.pk, e.term, e.grade, bool(e.serious)) for e in confirmed]
        given = sorted((i for i in infusions if i.state == "given" and i.started_at), key=lambda i: i.number)
        if not given:
            continue  # not treated: outside the outcomes and the charts
        first = timezone.localtime(given[0].started_at).date()
        study_disease = sets.get(participant.screening.disease)
        try:
            result = participant_response(participant, study_disease)
        except ResponseNotAvailable:
            result = None
        best = result.best_confirmed_response if result else "NE"
        duration = (None if result is None or best not in RESPONDERS or result.duration_of_response_days is None
                    else (result.duration_of_response_days, bool(result.duration_censored)))
        outcome_rows.append(tables.OutcomeRow(group, best, duration))
        day = lambda d: None if d is None else (d - first).days  # noqa: E731
        end = participant.withdrawn_on if participant.status == "withdrawn" else today
        if participant.status == "completed":
            end = max([a.date for a in participant.assessments.all()] + [first])
        swimmer_rows.append(charts.SwimmerInput(
            participant.study_number, max(0, day(end)), participant.status not in ("withdrawn", "completed"),
            tuple(day(timezone.localtime(i.started_at).date()) for i in given),
            day(result.response_date) if result else None, day(result.loss_of_response_date) if result else None,
            tuple(day(e.onset_date) for e in confirmed if e.serious)))
        if study_disease is None:
            continue
        analyte, unit, thresholds = _thresholds(study_disease)
        entry = per_analyte.setdefault(analyte, {"unit": unit, "thresholds": [], "series": [], "changes": []})
        entry["thresholds"] += [t for t in thresholds if t not in entry["thresholds"]]
        daily = _daily_lowest(participant, analyte)
        entry["series"].append(charts.Series(participant.study_number,
                                             tuple((day(d), v) for d, v in sorted(daily.items()))))
        baseline = (result.baseline.value if result and result.baseline and result.baseline.analyte == analyte
                    else None)
        after = [v for d, v in daily.items() if d > first]
        entry["changes"].append((participant.study_number, baseline, max(after) if after else None,
                                 charts.best_change(baseline, after)))
    safety, any_event = tables.adverse_events_by_term(events)
    return Dashboard(
        consort=consort_counts(user, study, narrowed.consort()), participants=len(participants),
        outcomes=tables.outcome_groups(outcome_rows),
        analytes=[AnalyteChart(analyte, e["unit"], e["series"], e["thresholds"],
                               charts.build_spaghetti(e["series"], e["thresholds"]), e["changes"],
                               charts.build_waterfall([(label, c) for label, _b, _best, c in e["changes"]
                                                       if c is not None]))
                  for analyte, e in sorted(per_analyte.items())],
        swimmer_rows=sorted(swimmer_rows, key=lambda r: (-r.days_on_study, r.label)),
        swimmer=charts.build_swimmer(swimmer_rows),
        adverse_events=safety, any_adverse_event=any_event, serious=tables.serious_events(events),
        dlts=tables.dlt_rows(dlt_inputs),
    )
