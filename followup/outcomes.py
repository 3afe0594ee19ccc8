"""Study outcomes (CLINICAL_RULES.md section 6): responders per arm or dose level with their
confidence intervals and the duration of response, stored as the study's snapshot. Run by the
`followup.compute_outcomes` task, which `followup.services.queue_outcomes` queues on commit, and by
the periodic reconcile for every snapshot behind its study's latest change or computed with another
configuration (`outcomes_reconcile`)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from trials.models import Study

from . import outcome_reads as reads
from .models import OutcomeChange, OutcomeSnapshot
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
    covers at least that change (`OutcomeChange`), and with each participant's result, which
    `outcomes_refresh` merges with the participants changed since. Reads plain values
    (`followup.outcome_reads`): a fixed number of queries whatever the number of participants."""
    return _compute(study=study, now=now, incremental=False)


def outcomes_refresh(*, study, now: datetime | None = None):
    """The study's outcomes snapshot brought up to date: the same result as `outcomes_compute`,
    reading again only the participants changed since the stored snapshot (marked with the change
    count, `OutcomeChange.participants_changed`) or whose disease or sex differs from the one their stored
    result was computed with; in full when there is no snapshot with per-participant results, when
    the criteria sets or the response period changed since (`configuration_digest`), or when many
    participants changed. Run by the `followup.compute_outcomes` task and by the reconcile."""
    return _compute(study=study, now=now, incremental=True)


def _compute(*, study, now, incremental: bool):
    now = now or timezone.now()
    covers, marks, cleared = _change(study)
    sets = reads.study_sets(study)
    digest = reads.configuration_digest(sets)
    rows = reads.participant_rows(study)
    results = _results(study, rows, sets, digest, marks, cleared, incremental=incremental)
    groups = _groups(rows, results, reads.arms_with_levels(study))
    # Replaced without reading the stored snapshot back (its per-participant results are large).
    snapshot = OutcomeSnapshot(pk=OutcomeSnapshot.objects.filter(study=study).values_list("pk", flat=True).first(),
                               study=study, computed_at=now, groups=groups, covers_change=covers, inputs=digest,
                               participants=results)
    snapshot.save(force_update=snapshot.pk is not None)
    if len(marks) > MARKS_KEPT:
        # Forget the marks the snapshot covers, unless a change came meanwhile (then the next one will).
        OutcomeChange.objects.filter(study=study, sequence=covers).update(participants_changed="", cleared_at=covers)
    return snapshot


def _change(study) -> tuple[int, str, int]:
    """The study's change count, its marks of changed participants and the count they were cleared at."""
    return (OutcomeChange.objects.filter(study=study).values_list("sequence", "participants_changed", "cleared_at")
            .first() or (0, "", 0))


def current_results(study, rows, sets) -> dict[str, list | None]:
    """Each participant of `rows` (`outcome_reads.ParticipantRow`, any of the study's) with their
    result in its stored form (`ParticipantOutcome.stored`, None: not treated) as of now, without
    storing anything: the snapshot's stored results, those of the participants changed since
    computed again (`outcomes_refresh`). One query with an up-to-date snapshot whose results this
    process has already read (`_decoded`), two when it has not, five more when some participants
    changed since or when there is no snapshot to merge with. The results returned are shared with
    the next readers: not to be changed."""
    found = (Study.objects.filter(pk=study.pk)
             .values_list("outcome_change__sequence", "outcome_change__participants_changed",
                          "outcome_change__cleared_at", "outcome_snapshot__pk", "outcome_snapshot__computed_at",
                          "outcome_snapshot__covers_change", "outcome_snapshot__inputs").first())
    marks, cleared = (found[1] or "", found[2] or 0) if found else ("", 0)
    digest = reads.configuration_digest(sets)
    stored = None
    if found and found[3] is not None and found[6] == digest:
        version = tuple(found[3:7])
        decoded = _decoded.get(study.pk)
        if decoded is None or decoded[0] != version:
            participants = OutcomeSnapshot.objects.filter(pk=found[3]).values_list("participants", flat=True).first()
            decoded = (version, None if participants is None else
                       {pk: _frozen(result) for pk, result in participants.items()})
            if participants is not None:
                _decoded.pop(study.pk, None)
                _decoded[study.pk] = decoded
                while len(_decoded) > DECODED_KEPT:
                    _decoded.pop(next(iter(_decoded)))
        stored = None if decoded[1] is None else (decoded[1], found[5])
    return _merged(study, rows, sets, stored, marks, cleared)


# The stored results of the latest snapshots read by this process, by study: (the snapshot's id,
# computation time, change covered and configuration digest), then its results. A snapshot is
# replaced in place with a new computation time, so a changed snapshot is always read again.
_decoded: dict[int, tuple[tuple, dict]] = {}
DECODED_KEPT = 4


def _frozen(value):
    """A stored result with its lists as tuples: kept for later reads, tuples of numbers and text
    are left out of the garbage collector's passes, which a study's lists would otherwise slow."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _results(study, rows, sets, digest, marks, cleared, *, incremental: bool) -> dict[str, list | None]:
    return _merged(study, rows, sets, _stored_results(study, digest) if incremental else None, marks, cleared)


def _merged(study, rows, sets, stored, marks, cleared) -> dict[str, list | None]:
    """`stored`: (participant id -> stored result, change covered) of a snapshot with the current
    configuration, or None."""
    if stored is not None and stored[1] < cleared:
        stored = None  # the marks after the snapshot were cleared: it cannot be caught up
    # Each participant's result in its stored form (`ParticipantOutcome.stored`, None: not treated):
    # the unchanged participants' are taken from the snapshot as they are, not rebuilt.
    if stored is None:
        return _stored_form(reads.participant_outcomes(study, rows, sets))
    previous, since = stored
    changed = changed_since(marks, since)
    stale = {row.pk for row in rows if row.pk in changed or _differs(previous.get(str(row.pk), False), row)}
    if len(stale) > INCREMENTAL_LIMIT:
        return _stored_form(reads.participant_outcomes(study, rows, sets))
    fresh = _stored_form(reads.participant_outcomes(study, rows, sets, stale) if stale else {})
    return {str(row.pk): fresh[str(row.pk)] if row.pk in stale else previous[str(row.pk)] for row in rows}


def changed_since(marks: str, since: int) -> set[int]:
    """The participants marked in `marks` (",<participant>:<change>" each) after change `since`."""
    found = set()
    for mark in marks.split(","):
        if mark:
            participant, change = mark.split(":")
            if int(change) > since:
                found.add(int(participant))
    return found


def _stored_results(study, digest: str):
    """(participant id -> stored result, change covered) of the study's snapshot, or None when it
    cannot be merged with (none, none per participant, another configuration)."""
    found = (OutcomeSnapshot.objects.filter(study=study)
             .values_list("participants", "covers_change", "inputs").first())
    if found is None or found[0] is None or found[2] != digest:
        return None
    return found[0], found[1]


def _differs(stored, row) -> bool:
    """Whether a participant's stored result (False: none stored) cannot stand for them now."""
    if stored is False:
        return True
    return stored is not None and (stored[2], stored[3]) != (row.disease, row.sex)


def _stored_form(results) -> dict[str, list | None]:
    return {str(pk): None if result is None else result.stored() for pk, result in results.items()}


def _groups(rows, results, several) -> list[dict]:
    """The outcomes table (see `outcomes_compute`) from each participant's stored result (by
    participant id as text), in list order."""
    tallies: dict[str, dict[str, int]] = {}
    durations: dict[str, list[tuple[int, bool]]] = {}
    for row in rows:
        result = results.get(str(row.pk))
        if result is None:
            continue  # not treated: outside every denominator
        best, duration = result[0], result[1]
        for key in (row.group(several), "all"):
            if duration:
                durations.setdefault(key, []).append((duration[0], duration[1]))
            tally = tallies.setdefault(key, {"treated": 0, "evaluable": 0, "responders": 0, "complete_responders": 0})
            tally["treated"] += 1
            tally["evaluable"] += best != "NE"
            tally["responders"] += best in RESPONDERS
            tally["complete_responders"] += best == "CR"
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
            "duration_of_response": duration_of_response_summary(durations.get(key, [])),
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
