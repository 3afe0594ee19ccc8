"""Study outcomes (CLINICAL_RULES.md section 6): the stored snapshot, recomputed by a task after each
change that can move it (`followup.outcomes.outcomes_compute`)."""
from __future__ import annotations

from django.db import transaction

from ..models import OutcomeSnapshot
from ..outcomes import outcomes_compute
from ..tasks import compute_outcomes


def outcomes_current(*, study, compute_missing: bool = True):
    """The study's stored outcomes snapshot, recomputed and stored now when it was stored before the
    duration of response was part of it (so no reader sees a partial shape): a write on the way to
    a read, which is why this is a service and not a selector. Without any snapshot it is
    computed now, or with `compute_missing=False` None is returned (the task stores one when the
    first infusion is committed, so none means nobody treated yet)."""
    snapshot = OutcomeSnapshot.objects.filter(study=study).first()
    if snapshot is None and not compute_missing:
        return None
    if snapshot is None or any("duration_of_response" not in group for group in snapshot.groups):
        snapshot = outcomes_compute(study=study)
    return snapshot


def queue_outcomes(study_id: int) -> None:
    """Recompute the study's outcomes once the current transaction commits."""
    transaction.on_commit(lambda: compute_outcomes.delay(study_id))
