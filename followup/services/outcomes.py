"""Study outcomes (CLINICAL_RULES.md section 6): the stored snapshot, recomputed by a task after each
change that can move it (`followup.outcomes.outcomes_compute`), and by the periodic reconcile when
that task was never queued or never ran (the broker or the worker was down)."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import CharField, F, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from trials.queueing import queue_after_commit

from ..models import OutcomeChange, OutcomeSnapshot
from ..outcomes import outcomes_compute
from ..tasks import compute_outcomes


def outcomes_current(*, study, compute_missing: bool = True):
    """The study's stored outcomes snapshot, recomputed and stored now when it was stored before the
    duration of response was part of it (so no reader sees a partial shape): a write on the way to
    a read, which is why this is a service and not a selector. Without any snapshot it is
    computed now, or with `compute_missing=False` None is returned (the task stores one when the
    first infusion is committed, so none means nobody treated yet). Read with the study's latest
    change, so that `snapshot.up_to_date` tells whether a change is still to be included."""
    latest = OutcomeChange.objects.filter(study=OuterRef("study")).values("sequence")[:1]
    snapshot = OutcomeSnapshot.objects.filter(study=study).annotate(latest_change=Subquery(latest)).first()
    if snapshot is None and not compute_missing:
        return None
    if snapshot is None or any("duration_of_response" not in group for group in snapshot.groups):
        snapshot = outcomes_compute(study=study)
    return snapshot


def outcomes_changed(study_id: int, participant_id: int | None = None) -> None:
    """Count a change of the study's outcomes in the current transaction (`OutcomeChange`): committed
    with the change or not at all. Concurrent changes of one study take their turn on the count's
    row until they commit, so a computation that reads count N sees every change up to N. The
    participant whose data changed is marked with the new count in the same UPDATE
    (`OutcomeChange.participants_changed`), so the incremental recomputation reads only the
    participants changed since its snapshot."""
    now = timezone.now()
    values = {"sequence": F("sequence") + 1, "changed_at": now}
    if participant_id is not None:  # the mark goes with the count, in the same statement
        values["participants_changed"] = Concat(F("participants_changed"), Value(f",{int(participant_id)}:"),
                                                Cast(F("sequence") + 1, CharField()))
    counted = OutcomeChange.objects.filter(study_id=study_id).update(**values)
    if counted:
        return
    first = "" if participant_id is None else f",{int(participant_id)}:1"
    try:
        with transaction.atomic():
            OutcomeChange.objects.create(study_id=study_id, sequence=1, changed_at=now, participants_changed=first)
    except IntegrityError:  # another transaction counted the study's first change meanwhile
        OutcomeChange.objects.filter(study_id=study_id).update(**values)


def queue_outcomes(study_id: int, participant_id: int | None = None) -> None:
    """Mark the study's outcomes changed (by a change of `participant_id`'s data when given) and
    recompute them once the current transaction commits.
    The recomputation is queued to the worker; if it cannot be (broker down), the request carries on
    and the reconcile recomputes the stale snapshot later (`followup.outcomes.outcomes_reconcile`)."""
    outcomes_changed(study_id, participant_id)
    queue_after_commit(compute_outcomes, study_id)
