"""Study outcomes (CLINICAL_RULES.md section 6): responders per arm or dose level with their
confidence intervals and the duration of response, stored as the study's snapshot. Run by the
`followup.compute_outcomes` task, which `followup.services.queue_outcomes` queues on commit, and by
the periodic reconcile for every snapshot behind its study's latest change (`outcomes_reconcile`)."""
from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from enrollment.models import Participant
from trials.models import Study, StudyDisease

from .models import OutcomeChange, OutcomeSnapshot
from .selectors import ResponseNotAvailable, participant_response, response_prefetch
from .statistics import duration_of_response_summary, proportion

# ---------------------------------------------------------------------------------------------
# Study outcomes (CLINICAL_RULES.md section 6)
# ---------------------------------------------------------------------------------------------

RESPONDERS = ("CR", "R", "PR")


def _group_key(participant) -> str:
    """Results are per dose level where an arm has several, else per arm."""
    arm = participant.arm
    if participant.dose_level_id and len(arm.dose_levels.all()) > 1:
        return participant.dose_level.code
    return arm.code


def outcomes_compute(*, study, now: datetime | None = None):
    """Treated, evaluable, responders and complete responders per arm or dose level and for all,
    with the rate over the treated and its exact (Clopper-Pearson) and Wilson 95 % CIs, the rate
    over the evaluable set, and the Kaplan-Meier duration of response of the confirmed responders
    (`statistics.duration_of_response_summary`, null without responders). Evaluable = a best
    confirmed response other than NE: a participant with a single unconfirmed NR count (CLINICAL_RULES.md
    section 1, "NR not confirmed") is treated but not evaluable, so the rate over the treated
    counts them as non-responders and the rate over the evaluable leaves them out. Stored as the study's
    snapshot (one row, replaced), with the study's change count read before the data: the snapshot
    covers at least that change (`OutcomeChange`). A fixed number of queries whatever the number of
    participants."""

    now = now or timezone.now()
    covers = OutcomeChange.objects.filter(study=study).values_list("sequence", flat=True).first() or 0
    sets = {d.disease: d for d in StudyDisease.objects.filter(study=study).select_related("response_criteria")}
    participants = (Participant.objects.filter(study=study).select_related("screening", "arm", "dose_level")
                    .prefetch_related("arm__dose_levels", *response_prefetch()))
    tallies: dict[str, dict[str, int]] = {}
    durations: dict[str, list[tuple[int, bool]]] = {}
    for participant in participants:
        try:
            result = participant_response(participant, sets.get(participant.screening.disease))
        except ResponseNotAvailable:
            if not any(i.state == "given" for i in participant.infusions.all()):
                continue  # not treated: outside every denominator
            best, duration = "NE", None
        else:
            best = result.best_confirmed_response
            duration = (None if best not in RESPONDERS or result.duration_of_response_days is None
                        else (result.duration_of_response_days, bool(result.duration_censored)))
        for key in (_group_key(participant), "all"):
            if duration is not None:
                durations.setdefault(key, []).append(duration)
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
    snapshot, _created = OutcomeSnapshot.objects.update_or_create(
        study=study, defaults={"computed_at": now, "groups": groups, "covers_change": covers})
    return snapshot


def outcomes_stale():
    """The studies whose outcomes snapshot is missing or behind their latest change."""
    return (Study.objects.filter(outcome_change__isnull=False)
            .filter(Q(outcome_snapshot__isnull=True)
                    | Q(outcome_snapshot__covers_change__lt=F("outcome_change__sequence")))
            .order_by("code"))


def outcomes_reconcile() -> list[str]:
    """Recompute every stale outcomes snapshot (`outcomes_stale`): those whose task was never queued
    or never ran. The codes of the studies recomputed. Run by the periodic `followup.reconcile` task
    and by `manage.py reconcile`."""
    recomputed = []
    for study in outcomes_stale():
        outcomes_compute(study=study)
        recomputed.append(study.code)
    return recomputed
