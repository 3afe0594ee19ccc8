"""Study outcomes (CLINICAL_RULES.md section 6): responders per arm or dose level with their
confidence intervals and the duration of response, stored as the study's snapshot. Run by the
`followup.compute_outcomes` task, which `followup.services.queue_outcomes` queues on commit, and by
the periodic reconcile for every snapshot behind its study's latest change or computed with another
configuration (`outcomes_reconcile`)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

from django.db.models import BooleanField, Case, Count, F, Q, TextField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from enrollment.models import Participant
from trials.models import Study

from . import outcome_reads as reads
from .models import OutcomeChange, OutcomeResult, OutcomeSnapshot
from .outcome_reads import RESPONDERS
from .statistics import duration_of_response_summary, proportion

# ---------------------------------------------------------------------------------------------
# Study outcomes (CLINICAL_RULES.md section 6)
# ---------------------------------------------------------------------------------------------

# Above this many changed participants the incremental computation reads the whole study instead:
# one read of every row is then cheaper than lists of ids.
INCREMENTAL_LIMIT = 2000
# Beyond this length the marks of changed participants are cleared once a snapshot covers them.
MARKS_KEPT = 20000


def outcomes_compute(*, study, now: datetime | None = None):
    """Treated, evaluable, responders and complete responders per arm or dose level and for all,
    with the rate over the treated and its exact (Clopper-Pearson) and Wilson 95 % CIs, the rate
    over the evaluable set, and the Kaplan-Meier duration of response of the confirmed responders
    (`statistics.duration_of_response_summary`, null without responders). Evaluable = a best
    confirmed response other than NE: a participant with a single unconfirmed NR count (CLINICAL_RULES.md
    section 1, "NR not confirmed") is treated but not evaluable, so the rate over the treated
    counts them as non-responders and the rate over the evaluable leaves them out. Stored as the study's
    snapshot (one row, replaced), with the study's change count read before the data: the snapshot
    covers at least that change (`OutcomeChange`); each participant's result is stored as a row
    (`OutcomeResult`), which `outcomes_refresh` rewrites for the participants changed since. Reads
    plain values (`followup.outcome_reads`): a fixed number of queries whatever the number of
    participants."""
    return _compute(study=study, now=now, incremental=False)


def outcomes_refresh(*, study, now: datetime | None = None):
    """The study's outcomes snapshot brought up to date: the same result as `outcomes_compute`,
    computing again only the participants changed since the stored snapshot (marked with the change
    count, `OutcomeChange.participants_changed`) or whose disease, sex, arm or dose level differs
    from the one their stored result was computed with (found by one query in the database,
    `_moved`), and rewriting only the results that moved; in full when there is no snapshot, when
    the criteria sets or the response period changed since (`configuration_digest`), or when many
    participants changed. Run by the `followup.compute_outcomes` task and by the reconcile."""
    return _compute(study=study, now=now, incremental=True)


_RESULT_FIELDS = ("arm", "dose_level", "disease", "sex", "treated", "best", "duration_days", "censored", "chart")
_RESULT_VALUES = ("arm_id", "dose_level_id", "disease", "sex", "treated", "best", "duration_days", "censored",
                  "chart")


def _compute(*, study, now, incremental: bool):
    now = now or timezone.now()
    covers, marks, cleared = _change(study)
    sets = reads.study_sets(study)
    digest = reads.configuration_digest(sets)
    layout = reads.group_layout(study)
    grouping = reads.grouping_digest(layout)
    stored = OutcomeSnapshot.objects.filter(study=study).first()
    stale, unmarked = None, True
    if incremental and stored is not None and stored.inputs == digest and stored.covers_change >= cleared:
        # else: another configuration, or the marks after the snapshot were cleared: in full
        marked = changed_since(marks, stored.covers_change)
        moved_group = _moved(study)
        stale, unmarked = marked | moved_group, bool(moved_group - marked)
        if len(stale) > INCREMENTAL_LIMIT:
            stale, unmarked = None, True
    if stale is None:
        rows = reads.participant_rows(study)
        _store_all(study, rows, reads.participant_outcomes(study, rows, sets))
        moved = None
    elif stale:
        rows = reads.participant_rows(study, stale)
        moved = _store_changed(study, rows, reads.participant_outcomes(study, rows, sets, stale))
    else:
        moved = []
    several = reads.arms_with_levels(layout)
    if moved is None or stored is None or stored.grouping != grouping:
        # Computed in full, or the arms or dose levels changed: every group counted again.
        groups = _groups(study, several)
    else:
        groups = _groups_moved(study, stored.groups, moved, layout, several)
    if groups is None:
        # No counted value moved (a chart's values may have): the outcomes table stands as stored;
        # only what it covers is brought up.
        OutcomeSnapshot.objects.filter(pk=stored.pk).update(computed_at=now, covers_change=covers)
        stored.computed_at, stored.covers_change = now, covers
        snapshot = stored
    else:
        # Results stored again for participants not marked (all, or those whose group, disease or sex moved)
        rewrites = (stored.unmarked_rewrites if stored else 0) + unmarked
        snapshot = OutcomeSnapshot(pk=stored.pk if stored else None, study=study, computed_at=now, groups=groups,
                                   covers_change=covers, inputs=digest, grouping=grouping, unmarked_rewrites=rewrites)
        snapshot.save(force_update=snapshot.pk is not None)
    if len(marks) > MARKS_KEPT:
        # Forget the marks the snapshot covers, unless a change came meanwhile (then the next one will).
        OutcomeChange.objects.filter(study=study, sequence=covers).update(participants_changed="", cleared_at=covers)
    return snapshot


def _change(study) -> tuple[int, str, int]:
    """The study's change count, its marks of changed participants and the count they were cleared at."""
    return (OutcomeChange.objects.filter(study=study).values_list("sequence", "participants_changed", "cleared_at")
            .first() or (0, "", 0))


def current_results(study, rows, sets, among=None) -> dict[str, list | None]:
    """`current_with_fresh`'s results alone."""
    return current_with_fresh(study, rows, sets, among)[0]


class Current(NamedTuple):
    """`current_with_fresh`: the results; the participants computed again (not read as stored); the
    change count the stored results cover with the marks read with it, and how many times results were
    stored again for participants not marked (None without a snapshot that the stored results can be
    read from)."""

    results: dict[str, list | None]
    fresh: set[int]
    covers: int | None
    unmarked_rewrites: int | None = None  # the snapshot's (`OutcomeSnapshot.unmarked_rewrites`)


def current_with_fresh(study, rows, sets, among=None) -> Current:
    """Each participant of `rows` (`outcome_reads.ParticipantRow`, any of the study's) with their
    result in its stored form (`ParticipantOutcome.stored`, None: not treated) as of now, without
    storing anything: the stored results (`OutcomeResult`), those of the participants changed since
    the snapshot (marked, or with another disease or sex than their result was computed with)
    computed again. Three queries with an up-to-date snapshot, five more when some participants
    changed since or when there is no snapshot to merge with. `among`: a query of the pks of exactly
    the participants of `rows`, read as a subquery rather than as a list of ten thousand ids (a third
    of the time of the stored results' read at 10,000 participants)."""
    digest = reads.configuration_digest(sets)
    snapshot = snapshot_row(study)
    ids = [row.pk for row in rows]
    stored: dict[int, tuple] = {}  # participant -> (disease, sex, the stored form), read as plain values
    stale = set(ids)
    covers = unmarked_rewrites = None
    if snapshot is not None and snapshot[1] == digest and snapshot[0] >= (snapshot[3] or 0):
        covers, unmarked_rewrites = snapshot[0], snapshot[4]
        values = list(OutcomeResult.objects.filter(study=study, participant_id__in=ids if among is None else among)
                      .annotate(chart_text=Cast("chart", TextField())).values_list(
                          "participant_id", "treated", "best", "duration_days", "censored", "disease", "sex",
                          "chart_text"))
        # The charts' values read as text and decoded together, in one pass (at 10,000 participants a
        # decoding per row was a tenth of the dashboard's build)
        charts = json.loads("[" + ",".join("null" if v[7] is None else v[7] for v in values) + "]")
        stored = {pk: (disease, sex, [best, [days, censored] if days is not None else None, disease, sex, chart]
                                     if treated else None)
                  for (pk, treated, best, days, censored, disease, sex, _text), chart
                  in zip(values, charts, strict=True)}
        changed = changed_since(snapshot[2] or "", snapshot[0])
        stale = {row.pk for row in rows if row.pk in changed or row.pk not in stored
                 or stored[row.pk][:2] != (row.disease, row.sex)}
    # Every participant of `among` computed again: read by the study rather than by a list of ids
    whole = among is not None and len(stale) == len(ids)
    fresh = reads.participant_outcomes(study, rows, sets, None if whole else stale) if stale else {}
    results = {str(pk): (None if fresh[pk] is None else fresh[pk].stored()) if pk in stale else stored[pk][2]
               for pk in ids}
    return Current(results, stale, covers, unmarked_rewrites)


def snapshot_row(study) -> tuple | None:
    """The study's snapshot as the readers of stored results check it, with its marks (one query):
    (covers_change, inputs, the marks of changed participants, the count they were cleared at,
    unmarked_rewrites); None without a snapshot."""
    return OutcomeSnapshot.objects.filter(study=study).values_list(
        "covers_change", "inputs", "study__outcome_change__participants_changed",
        "study__outcome_change__cleared_at", "unmarked_rewrites").first()


def changed_since(marks: str, since: int) -> set[int]:
    """The participants marked in `marks` (",<participant>:<change>" each) after change `since`."""
    found = set()
    for mark in marks.split(","):
        if mark:
            participant, change = mark.split(":")
            if int(change) > since:
                found.add(int(participant))
    return found


def _moved(study) -> set[int]:
    """The study's participants without a stored result, or whose disease, sex, arm or dose level is
    not the one their result was computed with (one query; compared in the database, so that a
    change that left no mark is caught without reading every participant)."""
    same_level = (Q(outcome_result__dose_level__isnull=True, dose_level__isnull=True)
                  | Q(outcome_result__dose_level=F("dose_level")))
    same = (Q(outcome_result__disease=F("screening__disease")) & Q(outcome_result__sex=F("screening__sex"))
            & Q(outcome_result__arm=F("arm")) & same_level)
    return set(Participant.objects.filter(study=study).alias(
        same=Case(When(same, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .filter(same=False).order_by().values_list("pk", flat=True))


def _result(study, row, outcome) -> OutcomeResult:
    duration = outcome.duration if outcome is not None else None
    return OutcomeResult(participant_id=row.pk, study_id=study.pk, arm_id=row.arm_id, dose_level_id=row.dose_level_id,
                         disease=row.disease, sex=row.sex, treated=outcome is not None,
                         best=outcome.best if outcome is not None else "",
                         duration_days=duration[0] if duration else None, censored=duration[1] if duration else None,
                         chart=outcome.chart.stored() if outcome is not None and outcome.chart else None)


def _store_all(study, rows, outcomes) -> None:
    OutcomeResult.objects.filter(study=study).delete()
    OutcomeResult.objects.bulk_create([_result(study, row, outcomes[row.pk]) for row in rows], batch_size=2000)


# What a result counts in the outcomes table (`_groups`): its group, whether treated, the best
# response, the duration of response.
_COUNTED = ("arm_id", "dose_level_id", "treated", "best", "duration_days", "censored")


def _store_changed(study, rows, outcomes) -> list[tuple[tuple | None, tuple]]:
    """The results of `rows` written where they differ from the stored ones (new ones added): for
    each result that moved, what it counted before (`_COUNTED`; None when new) and what it counts now."""
    fresh = {row.pk: _result(study, row, outcomes[row.pk]) for row in rows}
    stored = {values[0]: values[1:] for values in OutcomeResult.objects.filter(participant_id__in=list(fresh))
              .values_list("participant_id", *_RESULT_VALUES)}
    counted = [_RESULT_VALUES.index(name) for name in _COUNTED]
    moved, counts = [], []
    for pk, result in fresh.items():
        values = tuple(getattr(result, name) for name in _RESULT_VALUES)
        before = stored.get(pk)
        if before != values:
            moved.append(result)
            counts.append((None if before is None else tuple(before[i] for i in counted),
                           tuple(values[i] for i in counted)))
    changed = [result for result in moved if result.pk in stored]
    if changed:
        OutcomeResult.objects.bulk_update(changed, _RESULT_FIELDS)
    added = [result for result in moved if result.pk not in stored]
    if added:
        OutcomeResult.objects.bulk_create(added)
    return counts


_TALLIES = ("treated", "evaluable", "responders", "complete_responders")


def _tally_of(best: str) -> tuple[int, int, int, int]:
    """What one treated result adds to its group's tallies (`_TALLIES`)."""
    return 1, int(best != "NE"), int(best in RESPONDERS), int(best == "CR")


def _groups_moved(study, stored: list[dict], moved: list[tuple[tuple | None, tuple]], layout: list[tuple],
                  several: set[int]) -> list[dict] | None:
    """The outcomes table after the results `moved` (`_store_changed`) changed, from the stored table
    `stored` (counted by the same groups): each group's tallies moved by what the moved results
    counted before and count now, without counting every result again; the durations of response
    read again only when one of them moved. None when nothing counted moved (only a chart did).
    Counted again in full (`_groups`) when a group appears or empties."""
    arm_codes = {arm_id: code for arm_id, code, _level, _level_code in layout}
    level_codes = {level: code for _arm, _code, level, code in layout if level is not None}

    def group_of(arm_id, level_id):
        if arm_id not in arm_codes or (level_id is not None and level_id not in level_codes):
            return None
        return level_codes[level_id] if level_id and arm_id in several else arm_codes[arm_id]

    deltas: dict[str, list[int]] = {}
    durations_moved = False
    for before, after in moved:
        sides = []
        for sign, counted in ((-1, before), (1, after)):
            if counted is None or not counted[2]:  # none before, or not treated: counted nowhere
                sides.append(None)
                continue
            arm_id, level_id, _treated, best, days, censored = counted
            name = group_of(arm_id, level_id)
            if name is None:
                return _groups(study, several)
            for key in (name, "all"):
                delta = deltas.setdefault(key, [0, 0, 0, 0])
                for index, value in enumerate(_tally_of(best)):
                    delta[index] += sign * value
            sides.append(None if days is None else (name, days, bool(censored)))
        durations_moved = durations_moved or sides[0] != sides[1]
    deltas = {key: delta for key, delta in deltas.items() if any(delta)}
    if not deltas and not durations_moved:
        return None
    if any(set(_TALLIES) - set(group) or "duration_of_response" not in group for group in stored):
        return _groups(study, several)
    tallies = {group["group"]: {name: group[name] for name in _TALLIES} for group in stored}
    for key, delta in deltas.items():
        if key not in tallies:
            return _groups(study, several)  # a group appears
        for name, value in zip(_TALLIES, delta, strict=True):
            tallies[key][name] += value
        if tallies[key]["treated"] <= 0 or min(tallies[key].values()) < 0:
            return _groups(study, several)  # a group empties
    summaries = None if durations_moved else {group["group"]: group["duration_of_response"] for group in stored}
    return _groups(study, several, tallies=tallies, summaries=summaries)


def _groups(study, several: set[int], *, tallies: dict[str, dict[str, int]] | None = None,
            summaries: dict[str, dict | None] | None = None) -> list[dict]:
    """The outcomes table (see `outcomes_compute`) from the stored results, counted per arm and dose
    level in the database (one query) with the responders' durations (one query), in list order.
    With `tallies` (each group's counts, `_TALLIES`) they are not counted again; with `summaries`
    (each group's duration of response, when none moved since) the durations are not read again
    (the same durations give the same summary)."""
    treated = OutcomeResult.objects.filter(study=study, treated=True).order_by()

    def group_of(arm_id, level_id, arm_code, level_code):
        return level_code if level_id and arm_id in several else arm_code

    if tallies is None:
        tallies = {}
        counted = treated.values("arm_id", "dose_level_id", "arm__code", "dose_level__code").annotate(
            n_treated=Count("pk"), n_evaluable=Count("pk", filter=~Q(best="NE")),
            n_responders=Count("pk", filter=Q(best__in=RESPONDERS)), n_complete=Count("pk", filter=Q(best="CR")))
        for row in counted:
            for name in (group_of(row["arm_id"], row["dose_level_id"], row["arm__code"], row["dose_level__code"]),
                         "all"):
                tally = tallies.setdefault(name, dict.fromkeys(_TALLIES, 0))
                tally["treated"] += row["n_treated"]
                tally["evaluable"] += row["n_evaluable"]
                tally["responders"] += row["n_responders"]
                tally["complete_responders"] += row["n_complete"]
    durations: dict[str, list[tuple[int, bool]]] = {}
    responders = () if summaries is not None else treated.filter(duration_days__isnull=False).order_by(
        "participant_id").values_list("arm_id", "dose_level_id", "arm__code", "dose_level__code", "duration_days",
                                      "censored")
    for arm_id, level_id, arm_code, level_code, days, censored in responders:
        for name in (group_of(arm_id, level_id, arm_code, level_code), "all"):
            durations.setdefault(name, []).append((days, bool(censored)))
    groups = []
    for key in sorted(k for k in tallies if k != "all") + (["all"] if "all" in tallies else []):
        tally = tallies[key]
        rate = proportion(tally["responders"], tally["treated"])
        evaluable_rate = proportion(tally["responders"], tally["evaluable"])
        groups.append({
            "group": key, **tally,
            "rate": rate.rate, "ci_exact": list(rate.ci_exact) if rate.ci_exact else None,
            "ci_wilson": list(rate.ci_wilson) if rate.ci_wilson else None,
            "rate_evaluable": evaluable_rate.rate,
            "ci_exact_evaluable": list(evaluable_rate.ci_exact) if evaluable_rate.ci_exact else None,
            "ci_wilson_evaluable": list(evaluable_rate.ci_wilson) if evaluable_rate.ci_wilson else None,
            "duration_of_response": (summaries[key] if summaries is not None and key in summaries
                                     else duration_of_response_summary(durations.get(key, []))),
        })
    return groups


def outcomes_stale():
    """The studies whose outcomes snapshot is missing or behind their latest change."""
    return (Study.objects.filter(outcome_change__isnull=False)
            .filter(Q(outcome_snapshot__isnull=True)
                    | Q(outcome_snapshot__covers_change__lt=F("outcome_change__sequence")))
            .order_by("code"))


def outcomes_outdated():
    """The studies whose outcomes snapshot was computed with another configuration than the current
    one (`outcome_reads.configuration_digest`: the criteria sets, the response period, the stored
    form `outcome_reads.STORED_FORM`): until it is computed again every read computes their
    responses live. One query, then one per study with a snapshot."""
    found = []
    for study in (Study.objects.filter(outcome_snapshot__isnull=False)
                  .annotate(stored_inputs=F("outcome_snapshot__inputs")).order_by("code")):
        if study.stored_inputs != reads.configuration_digest(reads.study_sets(study)):
            found.append(study)
    return found


def outcomes_reconcile() -> list[str]:
    """Recompute every stale outcomes snapshot (`outcomes_stale`: those whose task was never queued
    or never ran) and every snapshot of another configuration (`outcomes_outdated`). The codes of
    the studies recomputed. Run by the periodic `followup.reconcile` task and by `manage.py reconcile`."""
    recomputed = []
    for study in outcomes_stale():
        outcomes_refresh(study=study)
        recomputed.append(study.code)
    for study in outcomes_outdated():
        if study.code not in recomputed:
            outcomes_refresh(study=study)
            recomputed.append(study.code)
    return recomputed
