"""The CONSORT flow of a study (screened, failed by criterion, consented, enrolled, treated, in
follow-up, completed, withdrawn by reason): one aggregate query over the screenings of the user's
sites, whatever their number, plus one over the failed screenings' criteria outcomes. Shared by the
screening log and the study dashboard, which narrow it by site, disease, arm or dose level."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import BooleanField, Count, ExpressionWrapper, Q

from .enums import ParticipantStatus, WithdrawalReason
from .models import Consent, Participant, Screening


@dataclass(frozen=True)
class ConsortCounts:
    screened: int
    eligible_not_enrolled: int
    pending: int
    failed: int
    failed_by_criterion: list[tuple[str, int]]
    enrolled: int
    withdrawn: int
    withdrawn_by_reason: list[tuple[str, int]]
    consented: int = 0
    treated: int = 0
    on_treatment: int = 0
    follow_up: int = 0
    completed: int = 0
    not_treated: int = 0


@dataclass(frozen=True)
class ConsortFilter:
    """What the flow is narrowed to: sites (already limited to the user's), a disease, an arm or a
    dose level (ids). With an arm or level only screenings enrolled there count: a screening belongs
    to no arm before enrolment."""

    site_ids: tuple[int, ...] | None = None
    disease: str = ""
    arm_id: int | None = None
    dose_level_id: int | None = None

    def screenings(self, queryset):
        if self.site_ids is not None:
            queryset = queryset.filter(site_id__in=self.site_ids)
        if self.disease:
            queryset = queryset.filter(disease=self.disease)
        if self.arm_id is not None:
            queryset = queryset.filter(participant__arm_id=self.arm_id)
        if self.dose_level_id is not None:
            queryset = queryset.filter(participant__dose_level_id=self.dose_level_id)
        return queryset


def _failed(criterion: dict) -> bool:
    return ((criterion.get("kind") == "inclusion" and criterion.get("outcome") == "not_met")
            or (criterion.get("kind") == "exclusion" and criterion.get("outcome") == "met"))


def _by_count(counter: Counter) -> list[tuple[str, int]]:
    return sorted(((k, n) for k, n in counter.items() if n), key=lambda kv: (-kv[1], kv[0]))


def consort_counts(user, study, narrowed: ConsortFilter | None = None) -> ConsortCounts:
    """The study's flow at the user's sites (2 queries: the screenings counted by their kind, then the
    failed screenings' criteria outcomes). A screening failing several criteria counts under each."""
    screenings = (narrowed or ConsortFilter()).screenings(Screening.objects.visible_to(user).filter(study=study))
    infusions = Participant.infusions.rel.related_model  # dosing's model, without importing dosing
    # Whether a screening has a consent, or its participant an infusion given: one read of each
    # (uncorrelated, `IN (SELECT ...)`, which the database hashes) rather than a lookup per screening.
    # Read whole, not joined to the study's screenings or participants: the ids are the screenings'
    # and participants' own, so another study's match none, and the given infusions are read from
    # their partial index alone (`dosing` migration 0016; joined to the study's participants, the
    # read took three times as long at 10,000 participants).
    given = infusions.objects.filter(state="given").values("participant_id")
    consent = Consent.objects.values("screening_id")
    # The screenings counted by what tells them apart (a few dozen kinds at most), summed below: one
    # count per kind rather than every count's condition read for every screening (at 10,000
    # participants the aggregate of one filtered count each, its reads joined to the study, took
    # 49 ms; this 34 ms).
    kinds = (screenings.order_by()
             .annotate(consented=ExpressionWrapper(Q(pk__in=consent), output_field=BooleanField()),
                       treated=ExpressionWrapper(Q(participant__in=given), output_field=BooleanField()))
             .values_list("eligible", "participant__status", "participant__withdrawal_reason", "consented",
                          "treated")
             .annotate(n=Count("pk")))
    totals, by_status, withdrawn_by = Counter(), Counter(), Counter()
    for eligible, status, reason, consented, treated, n in kinds:
        totals["screened"] += n
        totals["consented"] += n if consented else 0
        if status is None:  # not enrolled (a participant always has a status)
            totals[{False: "failed", None: "pending", True: "eligible_not_enrolled"}[eligible]] += n
            continue
        totals["enrolled"] += n
        totals["treated"] += n if treated else 0
        by_status[status] += n
        if status == ParticipantStatus.WITHDRAWN and reason in WithdrawalReason.values:
            withdrawn_by[reason] += n
    failed_by = Counter()
    for outcomes in screenings.filter(participant__isnull=True, eligible=False).values_list("eligibility", flat=True):
        failed_by.update(c["code"] for c in outcomes or () if _failed(c))
    return ConsortCounts(
        screened=totals["screened"], eligible_not_enrolled=totals["eligible_not_enrolled"],
        pending=totals["pending"], failed=totals["failed"], failed_by_criterion=_by_count(failed_by),
        enrolled=totals["enrolled"], withdrawn=by_status[ParticipantStatus.WITHDRAWN],
        withdrawn_by_reason=_by_count(withdrawn_by), consented=totals["consented"], treated=totals["treated"],
        on_treatment=by_status[ParticipantStatus.ON_TREATMENT], follow_up=by_status[ParticipantStatus.FOLLOW_UP],
        completed=by_status[ParticipantStatus.COMPLETED], not_treated=totals["enrolled"] - totals["treated"],
    )
