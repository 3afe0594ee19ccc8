"""What the outcomes computation reads (CLINICAL_RULES.md section 6), as plain values: one
`values_list()` per table, a fixed number of statements whatever the number of participants, grouped
by participant in Python. No model instance per row: at 10,000 participants building them was most
of the computation's time.

Each participant's response is computed from these values by the same rules as the response pages
(`followup.selectors.response_by_set`), and reduced to what the outcomes aggregate
(`ParticipantOutcome`), stored per participant (`followup.outcome_models.OutcomeResult`) so that a
later computation reads again only the participants changed since (`followup.outcomes.outcomes_refresh`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, timedelta

from django.utils import timezone

from dosing.models import Infusion
from enrollment.models import Participant
from trials.models import Arm, StudyDisease

from . import response as rules
from .models import Assessment, LabResult, RescueTherapy, Transfusion
from .response_facts import LabFact, ResponseFacts
from .selectors import (
    CHARTED,
    PreparedSet,
    ResponseNotAvailable,
    _lineage_sets,
    involved_by_definition,
    prepared_set,
    response_by_set,
)

RESPONDERS = ("CR", "R", "PR")
# The shape of the stored results (`followup.outcome_models.OutcomeResult`, its `chart` the
# `ChartFacts.stored` form), part of the configuration digest: results stored in another shape are
# computed again in full.
STORED_FORM = "result-rows-chart"


class ParticipantRow(NamedTuple):
    """A participant as the outcomes group and judge them (a named tuple: built for every
    participant of the study at each computation, so cheap to build)."""

    pk: int
    arm_id: int
    arm_code: str
    dose_level_id: int | None
    dose_level_code: str | None
    disease: str
    sex: str

    def group(self, several: set[int]) -> str:
        """Results are per dose level where an arm has several (`arms_with_levels`), else per arm."""
        return self.dose_level_code if self.dose_level_id and self.arm_id in several else self.arm_code


@dataclass(frozen=True)
class ParticipantOutcome:
    """What the outcomes count of one treated participant: the best confirmed response (NE when none
    can be computed) and, for a responder, the duration of response (days, censored). `disease` and
    `sex` are those it was computed with: a stored result with others is computed again. `chart`:
    what the study dashboard draws of them (`ChartFacts.stored`)."""

    best: str
    duration: tuple[int, bool] | None
    disease: str
    sex: str
    chart: ChartFacts | None = None

    def stored(self) -> list:
        return [self.best, list(self.duration) if self.duration else None, self.disease, self.sex,
                self.chart.stored() if self.chart else None]

    @classmethod
    def from_stored(cls, value) -> ParticipantOutcome:
        best, duration, disease, sex, chart = value
        return cls(best, tuple(duration) if duration else None, disease, sex,
                   ChartFacts.from_stored(chart) if chart else None)


@dataclass(frozen=True)
class ChartFacts:
    """A treated participant as the study dashboard charts them (`followup.dashboard`), in days
    since their first infusion: the given infusions, the latest assessment, the first confirmed
    response and its confirmed loss, the charted analyte of their criteria set (`CHARTED`; None
    without a set) with its baseline and its lowest value of each day (CLINICAL_RULES.md section 1)."""

    first: date
    infusions: tuple[int, ...]
    last_assessment: int | None
    response: int | None
    loss: int | None
    analyte: str | None
    baseline: float | None
    daily: tuple[tuple[int, float], ...]

    def stored(self) -> list:
        return [self.first.isoformat(), list(self.infusions), self.last_assessment, self.response, self.loss,
                self.analyte, self.baseline, [value for point in self.daily for value in point]]

    @classmethod
    def from_stored(cls, value) -> ChartFacts:
        first, infusions, last, response, loss, analyte, baseline, flat = value
        return cls(date.fromisoformat(first), tuple(infusions), last, response, loss, analyte, baseline,
                   tuple(zip(flat[::2], flat[1::2], strict=True)))


def study_sets(study) -> dict[str, StudyDisease]:
    """Disease -> the study's criteria set row for it, with the study (one query)."""
    rows = StudyDisease.objects.filter(study=study).select_related("response_criteria", "study")
    return {row.disease: row for row in rows}


def group_layout(study) -> list[tuple]:
    """The study's arms with their dose levels, (arm id, arm code, level id, level code) sorted (one
    query): which group each participant is counted in (`arms_with_levels`, `grouping_digest`)."""
    return sorted(Arm.objects.filter(study=study).values_list("id", "code", "dose_levels__id", "dose_levels__code"),
                  key=lambda row: (row[0], row[2] or 0))


def grouping_digest(layout: list[tuple]) -> str:
    """A digest of the groups the results are counted in (`group_layout`): the outcomes table of a
    snapshot counted by other groups is counted again."""
    return hashlib.sha256(json.dumps(layout, default=str).encode()).hexdigest()


def arms_with_levels(layout: list[tuple]) -> set[int]:
    """The arms with several dose levels, whose participants are counted per dose level."""
    levels: dict[int, int] = {}
    for arm_id, _code, level_id, _level in layout:
        levels[arm_id] = levels.get(arm_id, 0) + (level_id is not None)
    return {arm_id for arm_id, count in levels.items() if count > 1}


def configuration_digest(sets: dict[str, StudyDisease]) -> str:
    """A digest of everything besides the participant's own data that their response depends on:
    the study's response period and time points, each disease's criteria set (and the lineages'
    sets and involved lineages for several lineages). A snapshot computed with another digest is
    computed again in full."""
    parts: list = [STORED_FORM]
    for disease, row in sorted(sets.items()):
        criteria, study = row.response_criteria, row.study
        part = [disease, criteria.code, criteria.family, criteria.thresholds, study.response_from_day,
                study.response_until_day, study.response_time_points, study.time_point_window_days]
        if criteria.family == "multilineage":
            part.append({lineage: None if s is None else [s.code, s.family, s.thresholds]
                         for lineage, s in _lineage_sets(row).items()})
            part.append(involved_by_definition(disease))
        parts.append(part)
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def participant_rows(study, ids: Collection[int] | None = None) -> list[ParticipantRow]:
    """The study's participants (those of `ids` when given), in their list order (one query)."""
    return [ParticipantRow(*values) for values in _of(Participant.objects.filter(study=study), "id", ids).order_by(
        "site", "sequence", "id").values_list("id", "arm_id", "arm__code", "dose_level_id", "dose_level__code",
                                              "screening__disease", "screening__sex")]


def _of(queryset, field: str, ids: Collection[int] | None):
    return queryset if ids is None else queryset.filter(**{f"{field}__in": list(ids)})


def participant_outcomes(study, rows: list[ParticipantRow], sets: dict[str, StudyDisease],
                         ids: Collection[int] | None = None) -> dict[int, ParticipantOutcome | None]:
    """Each participant's outcome (None: not treated, outside every denominator) for the participants
    `ids` of `rows` (all when None): five queries, whatever their number."""
    given: dict[int, list] = {}
    for participant_id, started_at in _of(
            Infusion.objects.filter(participant__study=study, state="given"), "participant_id", ids
    ).order_by("participant_id", "number").values_list("participant_id", "started_at"):
        given.setdefault(participant_id, []).append(started_at)
    assessments = _of(Assessment.objects.filter(participant__study=study), "participant_id", ids)
    by_assessment: dict[int, tuple] = {}
    of_participant: dict[int, list[int]] = {}
    for pk, participant_id, on, grade, steroid in assessments.order_by("participant_id", "date", "id").values_list(
            "id", "participant_id", "date", "bleeding_grade", "steroid_mg_per_day"):
        by_assessment[pk] = (on, grade, None if steroid is None else float(steroid))
        of_participant.setdefault(participant_id, []).append(pk)
    labs: dict[int, list] = {}
    for assessment_id, analyte, value, lln, uln in _of(
            LabResult.objects.filter(assessment__participant__study=study), "assessment__participant_id", ids
    ).order_by("assessment_id", "analyte", "id").values_list("assessment_id", "analyte", "value", "lln", "uln"):
        on, grade, steroid = by_assessment[assessment_id]
        labs.setdefault(assessment_id, []).append(LabFact(assessment_id, on, analyte, value, lln, uln, grade, steroid))
    transfusions: dict[int, list] = {}
    for assessment_id, kind, on in _of(
            Transfusion.objects.filter(assessment__participant__study=study), "assessment__participant_id", ids
    ).order_by("assessment_id", "date", "id").values_list("assessment_id", "kind", "date"):
        transfusions.setdefault(assessment_id, []).append((assessment_id, rules.Transfusion(kind, on)))
    therapies: dict[int, list] = {}
    for assessment_id, therapy, start, end in _of(
            RescueTherapy.objects.filter(assessment__participant__study=study), "assessment__participant_id", ids
    ).order_by("assessment_id", "start", "id").values_list("assessment_id", "therapy", "start", "end"):
        therapies.setdefault(assessment_id, []).append((assessment_id, rules.Therapy(therapy, start, end)))
    wanted = None if ids is None else set(ids)
    prepared = {disease: prepared_set(row.response_criteria) for disease, row in sets.items()}
    found: dict[int, ParticipantOutcome | None] = {}
    for row in rows:
        if wanted is not None and row.pk not in wanted:
            continue
        started = given.get(row.pk)
        if not started:
            found[row.pk] = None  # not treated
            continue
        # The local day of each given infusion (None: no start recorded), read once for the rules and the chart.
        days = [None if at is None else timezone.localtime(at).date() for at in started]
        own = of_participant.get(row.pk, [])
        own_labs = tuple(lab for pk in own for lab in labs.get(pk, ()))
        facts_of = lambda family, own=own, days=days, own_labs=own_labs: _facts(  # noqa: E731
            study, days, own, own_labs, transfusions, therapies, sex=row.sex if family == "prca" else "")
        outcome, result = _outcome(row, sets.get(row.disease), facts_of, prepared.get(row.disease))
        chart = _chart(sets.get(row.disease), result, days, [by_assessment[pk][0] for pk in own], own_labs)
        found[row.pk] = ParticipantOutcome(outcome.best, outcome.duration, outcome.disease, outcome.sex, chart)
    return found


def _chart(study_disease: StudyDisease | None, result, started: list[date | None], dates: list[date],
           labs: tuple[LabFact, ...]) -> ChartFacts:
    """What the dashboard charts of a treated participant (`ChartFacts`), from the values read for
    their outcome and their response `result` (None when none could be computed); `started`: the
    local day of each given infusion."""
    first = started[0]
    day = lambda d: None if d is None else (d - first).days  # noqa: E731
    analyte = CHARTED.get(study_disease.response_criteria.family, CHARTED["itp"])[0] if study_disease else None
    daily: dict[date, float] = {}
    for lab in labs:
        if lab.analyte == analyte:
            value = float(lab.value)
            daily[lab.date] = min(value, daily.get(lab.date, value))
    baseline = result.baseline if result is not None else None
    return ChartFacts(
        first, tuple(day(on) for on in started if on), day(max(dates, default=None)),
        day(result.response_date) if result else None, day(result.loss_of_response_date) if result else None,
        analyte, float(baseline.value) if baseline is not None and baseline.analyte == analyte else None,
        tuple((day(d), v) for d, v in sorted(daily.items())))


def _facts(study, started: list[date | None], own, labs: tuple[LabFact, ...], transfusions, therapies, *,
           sex) -> ResponseFacts:
    first = started[0]
    days = lambda n: None if n is None else first + timedelta(days=n)  # noqa: E731
    return ResponseFacts(
        first=first, last=started[-1],
        labs=labs,
        transfusions=tuple(t for pk in own for t in transfusions.get(pk, ())),
        therapies=tuple(t for pk in own for t in therapies.get(pk, ())),
        sex=sex, assess_from=days(study.response_from_day), assess_until=days(study.response_until_day))


def _outcome(row: ParticipantRow, study_disease: StudyDisease | None, facts_of, prepared: PreparedSet | None = None):
    """A treated participant's outcome, as `followup.outcomes.outcomes_compute` always counted it:
    NE when no response can be computed (no criteria set for the disease, a set that cannot judge),
    with the response it was taken from (None then)."""
    if study_disease is None:
        return ParticipantOutcome("NE", None, row.disease, row.sex), None
    try:
        # The time points are not counted in the outcomes: not computed.
        result = response_by_set(facts_of(study_disease.response_criteria.family), study_disease, row.disease,
                                 time_points=False, prepared=prepared)
    except ResponseNotAvailable:
        return ParticipantOutcome("NE", None, row.disease, row.sex), None
    best = result.best_confirmed_response
    duration = (None if best not in RESPONDERS or result.duration_of_response_days is None
                else (result.duration_of_response_days, bool(result.duration_censored)))
    return ParticipantOutcome(best, duration, row.disease, row.sex), result
