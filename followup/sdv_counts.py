"""Each participant's SDV progress under the key-items plan, kept up to date for the study page
(`SdvCount`), so that the page sums a row per participant instead of counting every record.

- Marked: any write of a record the progress counts (a case report form, its labs, a tick) is
  announced with its history rows (`trials.hooks.records_written`, in the writer's transaction);
  the participants it belongs to get their row marked `stale` by one upsert, committed with the
  write or not at all. Writes that cannot move the progress are not marked: a record created in
  progress (a planned infusion, an upcoming visit, a draft adverse event) and the records of a
  screening not enrolled (a participant is counted from their records until first counted).
- Counted again: `sdv_counts_refresh`, by the periodic reconcile (a participant without a row or
  with a stale one; the page counts those from their records meanwhile). The
  rows to count are locked first, so a write that marks one of them meanwhile waits and marks it
  again after: a row is never left fresh with figures older than the records.
- Read (`kept_by_site`, `followup.sdv_progress.study_sdv_sites`): the kept figures of the fresh
  rows and, in the same statement, the participants without a row or with a stale one, whose
  figures are counted from their records then. The page never shows figures behind the data.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Aggregate, CharField, Count, Q, Sum
from django.db.models.functions import Cast

from enrollment.models import Consent, Participant, Screening, ScreeningLab

from .models import Assessment, LabResult
from .record_states import COMPLETE, entered_state
from .sdv_models import SdvCount

# Beyond this many participants waiting to be counted again, the page counts the whole study from
# its records (as many queries) rather than naming them.
NAMED_LIMIT = 2000
# Rows counted again per transaction by the refresh (each batch's rows locked while it counts).
BATCH = 2000

# The records the progress counts, by model label: the kind of form (`followup.record_refs`).
_DIRECT = {"dosing.Infusion": "infusion", "followup.Visit": "visit", "followup.Assessment": "assessment",
           "followup.AdverseEvent": "adverse_event", "followup.ItemVerification": None}


class _Ids(Aggregate):
    """Ids comma-joined (SQLite's GROUP_CONCAT, PostgreSQL's STRING_AGG), with a filter."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        clone = self.copy()
        clone.function, clone.template = "STRING_AGG", "%(function)s(%(expressions)s, ',')"
        return super(_Ids, clone).as_sql(compiler, connection, **extra)


def _screening_participant(screening) -> tuple[bool, int | None]:
    """(known, participant id) of a screening from what was read with it, without a query."""
    if screening is None or not Screening.participant.is_cached(screening):
        return False, None
    participant = Screening.participant.related.get_cached_value(screening)
    return True, participant.pk if participant is not None else None


def _participants_marked(model, rows, history_type: str) -> tuple[set[int], set[int], set[int]]:
    """(participant ids, screening ids, assessment ids) whose progress the write may have moved;
    the screenings and assessments are those whose participant is not known without a query."""
    participants: set[int] = set()
    screenings: set[int] = set()
    assessments: set[int] = set()
    label = model._meta.label
    if label in _DIRECT:
        kind = _DIRECT[label]
        for row in rows:
            if history_type == "+" and kind is not None and entered_state(kind, row) != COMPLETE:
                continue  # created in progress (or a dismissed draft): nothing to verify yet
            participants.add(row.participant_id)
    elif model is LabResult:
        for row in rows:
            if LabResult.assessment.is_cached(row):
                participants.add(row.assessment.participant_id)
            else:
                assessments.add(row.assessment_id)
    elif model in (Screening, ScreeningLab, Consent):
        for row in rows:
            if model is Screening and history_type == "+":
                continue  # a new screening is not enrolled
            screening = row if model is Screening else (row.screening if model.screening.is_cached(row) else None)
            known, participant = _screening_participant(screening)
            if not known:
                screenings.add(row.pk if model is Screening else row.screening_id)
            elif participant is not None:
                participants.add(participant)
    return participants, screenings, assessments


def mark_written(*, model, rows, history_type: str) -> None:
    """Receiver of `trials.hooks.records_written`: mark the progress of the participants whose
    records were written stale, in the writer's transaction (one statement; one more when a
    screening's or an assessment's participant was not read with it), and count it again once the
    transaction commits (the periodic reconcile)."""
    participants, screenings, assessments = _participants_marked(model, rows, history_type)
    if screenings:
        participants.update(Participant.objects.filter(screening_id__in=screenings).values_list("pk", flat=True))
    if assessments:
        participants.update(Assessment.objects.filter(pk__in=assessments).values_list("participant_id", flat=True))
    if not participants:
        return
    SdvCount.objects.bulk_create([SdvCount(participant_id=pk, stale=True) for pk in sorted(participants)],
                                 update_conflicts=True, unique_fields=["participant"], update_fields=["stale"])


def stale_participants():
    """The participants whose progress is to be counted from their records (no row, or stale)."""
    return Q(sdv_count__isnull=True) | Q(sdv_count__stale=True)


def kept_by_site(study, site_ids) -> list[dict]:
    """Per site of `site_ids`: participants, the kept figures of the fresh rows (required,
    verified), how many are stale, and their ids comma-joined (one query)."""
    fresh = Q(sdv_count__stale=False)
    return list(Participant.objects.filter(study=study, site_id__in=site_ids).values("site_id").annotate(
        participants=Count("pk"), required=Sum("sdv_count__required", filter=fresh),
        verified=Sum("sdv_count__verified", filter=fresh), stale=Count("pk", filter=stale_participants()),
        stale_ids=_Ids(Cast("pk", CharField()), filter=stale_participants())).order_by())


def sdv_counts_refresh(participant_ids=None, *, study=None) -> int:
    """Count again the progress of the participants without a row or with a stale one, among
    `participant_ids` or of `study` (every study's without either); how many were counted. The
    rows are created first (stale) and committed, then locked while their participants are counted
    (see the module's docstring)."""
    from .sdv_progress import key_plan_figures  # noqa: PLC0415 - it reads the kept rows through this module

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
            rows = list(SdvCount.objects.select_for_update().filter(participant__in=participants, stale=True)
                        .order_by("pk")[:BATCH])
            if not rows:
                return counted
            where = dict(Participant.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", "study_id"))
            figures: dict[int, list[int]] = {}
            for study_id in set(where.values()):
                ids = [pk for pk, of in where.items() if of == study_id]
                sites = Participant.objects.filter(pk__in=ids).values("site_id").distinct()
                figures.update(key_plan_figures(study_id, sites, by="participant",
                                                only=Participant.objects.filter(pk__in=ids)))
            for row in rows:
                row.required, row.verified = figures.get(row.pk, (0, 0))
            for row in rows:
                row.stale = False
            SdvCount.objects.bulk_update(rows, ["required", "verified", "stale"], batch_size=500)
            counted += len(rows)


def sdv_counts_reconcile() -> int:
    """Count again every participant without a row or with a stale one (the periodic reconcile)."""
    return sdv_counts_refresh()
