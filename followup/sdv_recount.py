"""Counting again the kept SDV figures of stale participants (`followup.sdv_counts`), from their
records (`followup.sdv_progress.key_plan_figures`): apart from both, which the study page reads
the other way round (the kept rows through `sdv_progress`)."""
from __future__ import annotations

from django.db import transaction

from enrollment.models import Participant

from .casebook_changes import NEVER
from .sdv_counts import BATCH, stale_rows
from .sdv_models import SdvCount
from .sdv_progress import key_plan_figures
from .signoff_models import CasebookChange


def sdv_counts_refresh(participant_ids=None, *, study=None) -> int:
    """Count again the progress of the stale participants (no row, or stale), among
    `participant_ids` or of `study` (every study's without either); how many were counted. The
    missing rows are created first (to be counted), then each batch is locked with its casebook
    change rows while its participants are counted (see the module's docstring)."""
    participants = Participant.objects.all()
    if participant_ids is not None:
        participants = participants.filter(pk__in=list(participant_ids))
    if study is not None:
        participants = participants.filter(study=study)
    missing = list(participants.filter(sdv_count__isnull=True).values_list("pk", flat=True))
    SdvCount.objects.bulk_create([SdvCount(participant_id=pk) for pk in missing], ignore_conflicts=True,
                                 batch_size=BATCH)
    counted = 0
    while True:
        with transaction.atomic():
            rows = list(SdvCount.objects.select_for_update(of=("self",)).filter(participant__in=participants)
                        .filter(stale_rows()).order_by("pk")[:BATCH])
            if not rows:
                return counted
            ids = [row.pk for row in rows]
            changed = dict(CasebookChange.objects.select_for_update().filter(participant_id__in=ids).order_by("pk")
                           .values_list("participant_id", "changed_at"))
            where = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "study_id"))
            figures: dict[int, list[int]] = {}
            for study_id in set(where.values()):
                of_study = [pk for pk, of in where.items() if of == study_id]
                sites = Participant.objects.filter(pk__in=of_study).values("site_id").distinct()
                figures.update(key_plan_figures(study_id, sites, by="participant",
                                                only=Participant.objects.filter(pk__in=of_study)))
            for row in rows:
                row.required, row.verified = figures.get(row.pk, (0, 0))
                row.counted_at = changed.get(row.pk, NEVER)
            SdvCount.objects.bulk_update(rows, ["required", "verified", "counted_at"], batch_size=500)
            counted += len(rows)


def sdv_counts_reconcile() -> int:
    """Count again every participant without a row or with a stale one (the periodic reconcile)."""
    return sdv_counts_refresh()
