"""A large cohort's outcomes part kept as its sums (`followup.dashboard_tally.OutcomeTally`) between
reads, so that the first read after a new count moves the sums by the participants changed since
rather than reading and counting every participant again.

The sums are kept in Django's cache (Redis when configured, else the process's memory) under a key
of the study, its configuration's data token (arms, dose levels, criteria: `KINDS`), the sites shown
and the filter, today's date and the time zone in force with its name (the days on study). With the
sums are kept what they read of each participant shown (`shown_values`: their group, disease, sex,
status, withdrawal date and number), the data version read before any of it
(`followup.dashboard_version.of_kinds`), the change count their stored results cover
(`OutcomeSnapshot.covers_change`, from the same read as the results) and the participants whose
results were computed again rather than read as stored.

Every write of a participant, of their screening, infusions or adverse events marks the participant,
by database triggers, with the data version its commit raised (`followup.signoff_models.DashboardMark`),
whatever the write path. A read (`moved`) finds the sums and reads the participants marked after the
version they were kept at (and those this transaction marked): when one of them is shown and was not,
or was and is not, or their values moved (an enrolment, a withdrawal, a new status, disease, sex,
group, site or number), they are shown as they are now and their contributions counted again. It
reads the snapshot's row with its marks of changed results, and computes again
(`followup.outcomes.current_with_fresh`) those participants, the participants marked since the count
the sums cover and those computed again when they were kept: every other
participant's result is the one counted (the outcomes task rewrites only marked participants' results,
and those whose group, disease or sex moved, which marks them). It gives up (None: the whole part is
built again, and the sums kept anew) when the marks of changed results were cleared after that count,
when results were stored again for participants not marked since (`OutcomeSnapshot.unmarked_rewrites`:
a change that left no mark would show there), when the criteria are not those of the snapshot, when a
participant counted stopped being shown between its two reads of the participants, or when an
analyte is no longer large (its chart then draws each participant). Sums that cannot be moved as
kept (`followup.dashboard._moved_outcomes`) are forgotten and built again. The sums hold
participant-level values (their counts per day): the cache server, as the database, is reached only
by the application. The lanes of the page shown are read with their serious events at every read.

The safety part (adverse events by term and worst grade, serious events, the 3+3 counts per group) is
kept beside them as its own sums (`followup.dashboard_tally.SafetyTally`: each participant's 3+3 input
and confirmed events counted). A read that builds it moves them by the participants marked since the
kept version. The sums moved by many participants are kept again, under the count and the version
just read, so that the next reads move them by fewer."""
from __future__ import annotations

import hashlib
import logging
import marshal
import sys
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from trials.scoping import Action, site_ids_for

from . import outcome_reads as reads
from .dashboard_tally import OutcomeTally, SafetyTally, analytes_of, contribution
from .outcomes import changed_since, current_with_fresh, snapshot_row
from .signoff_models import DashboardMark

logger = logging.getLogger(__name__)

TIMEOUT = 12 * 3600  # the key holds today's date: a day's sums are of no use the next
# The kinds of data (`dashboard_version.KINDS`) whose writes make the sums be built again.
KINDS = ("configuration",)
# Sums moved by at least this many participants are kept again (`moved`).
KEEP_AGAIN = 16
# More participants marked than this (or than a quarter of those shown) are not moved: built again.
MOVED_AT_MOST = 1000
# The shape of what is kept: raised when it changes, so that older entries are not read.
FORMAT = 5


@dataclass
class Base:
    """What is kept: the sums, what they read of each participant shown (`shown_values`), the change
    count their results cover and the snapshot's count of unmarked rewrites, the participants computed
    again for them, and how many participants were shown; the safety part's sums (`safety`: of what
    `followup.dashboard._safety_contribution` gives of each participant shown); the data version
    read before any of it (`version`, `followup.dashboard_version.of_kinds`)."""

    tally: OutcomeTally
    shown: dict[int, bytes]  # participant -> their `shown_values`, `packed_shown`
    covers: int
    unmarked_rewrites: int
    fresh: frozenset[int]
    participants: int
    safety: SafetyTally | None
    version: int


def version_of(tokens: dict[str, str]) -> int:
    """The data version's number in the tokens read (`dashboard_version.of_kinds`: "<number>.<token>")."""
    return int(tokens["all"].split(".")[0])


def marked_since(study, version: int) -> set[int]:
    """The participants whose record, screening, infusions or adverse events were written by a commit
    after `version`, or by this transaction before its commit (`followup.signoff_models.DashboardMark`):
    one statement."""
    return set(DashboardMark.objects.filter(Q(version__gt=version) | Q(version__isnull=True), study_id=study.pk)
               .order_by().values_list("participant_id", flat=True).distinct())


def key(user, study, narrowed, tokens: dict[str, str], today: date) -> str:
    sites = tuple(sorted(set(narrowed.site_ids) & set(site_ids_for(user, Action.VIEW))))
    # (with Python's version: the packed values are in `marshal`'s form, which a version may change)
    parts = (FORMAT, sys.version_info[:2], study.pk, tuple(tokens[kind] for kind in KINDS), sites, narrowed,
             today.isoformat(), timezone.get_current_timezone_name())
    return f"dashboard-sums:{study.pk}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


def shown_values(shown) -> tuple:
    """What the sums read of a participant shown (`followup.dashboard.Shown`) besides their results,
    infusions and adverse events: their group, disease, sex, status, withdrawal date and number."""
    row = shown.row
    return (row.arm_id, row.dose_level_id, row.disease, row.sex, shown.status, shown.withdrawn_on,
            shown.study_number)


def packed_shown(values: tuple) -> bytes:
    """`shown_values` as kept: in `marshal`'s form, the withdrawal date as its ordinal (the values of
    10,000 participants read back in under 1 ms rather than 3.5). Compared unpacked: the same values
    need not pack to the same bytes."""
    *before, withdrawn_on, number = values
    return marshal.dumps((*before, withdrawn_on.toordinal() if withdrawn_on is not None else None, number))


def unpacked_shown(kept: bytes | None) -> tuple | None:
    if kept is None:
        return None
    *before, withdrawn_on, number = marshal.loads(kept)
    return (*before, date.fromordinal(withdrawn_on) if withdrawn_on is not None else None, number)


def read(entry: str) -> Base | None:
    try:
        return cache.get(entry)
    except Exception:  # an unreachable cache server, or an entry that cannot be read: built again
        logger.warning("The dashboard's sums could not be read.", exc_info=True)
        return None


def forget(entry: str) -> None:
    try:
        cache.delete(entry)
    except Exception:
        logger.warning("The dashboard's sums could not be forgotten.", exc_info=True)


def keep(entry: str, base: Base) -> None:
    try:
        cache.set(entry, base, TIMEOUT)
    except Exception:
        logger.warning("The dashboard's sums could not be kept.", exc_info=True)


@dataclass
class Moved:
    """The sums as of now, how many participants are shown, and the results of the participants read
    again (by participant pk as text, `ParticipantOutcome.stored`; None: not treated); the safety
    part's sums as of now (None: not asked for, or not kept)."""

    tally: OutcomeTally
    participants: int
    results: dict[str, list | None]
    safety: SafetyTally | None = None


def moved(entry: str, study, sets, shown_of, group_of, first_of, today: date, version: int, *,
          safety_of=None) -> Moved | None:
    """The kept sums moved by the participants changed since (module docstring); None when there are
    none to move or they cannot be. `shown_of(pks)`: the participants shown among `pks`, as the
    dashboard reads them; `group_of(row)`: a participant's group; `first_of(text)`: a first infusion's
    date read; `version`: the data version read before any data. With `safety_of(pks)` (the safety
    contributions of the participants shown among `pks`) the safety part's sums are moved too."""
    base = read(entry)
    if base is None or version < base.version:  # versions gone back (a database restored): built again
        return None
    changed = marked_since(study, base.version)
    if len(changed) > min(MOVED_AT_MOST, max(KEEP_AGAIN, base.participants // 4)):
        return None  # many written at once (an import): built again rather than moved
    now, reshown = {}, set()
    if changed:
        now = {one.row.pk: shown_values(one) for one in shown_of(changed)}
        # enrolled, withdrawn, moved to another group, disease, sex, site, status or number: shown
        # as they are now, their contributions counted again below
        reshown = {pk for pk in changed if now.get(pk) != unpacked_shown(base.shown.get(pk))}
        for pk in reshown:
            if pk in now:
                base.shown[pk] = packed_shown(now[pk])
            else:
                del base.shown[pk]
    snapshot = snapshot_row(study)
    if (snapshot is None or snapshot[1] != reads.configuration_digest(sets)
            or (snapshot[3] or 0) > base.covers or snapshot[0] < base.covers or snapshot[4] != base.unmarked_rewrites):
        return None
    safety, version_kept = None, base.version
    if safety_of is not None and base.safety is not None:
        safety = base.safety
        if changed:
            for pk, given in safety_of(changed).items():  # every participant shown among them
                safety.put(pk, given)
            for pk in changed - now.keys():
                safety.take(pk)  # no longer shown
            version_kept = version
    marked = changed_since(snapshot[2] or "", base.covers) | base.fresh | reshown
    tally, results = base.tally, {}
    if marked:
        shown = shown_of(marked)
        current = current_with_fresh(study, [s.row for s in shown], sets)
        results = current.results
        analyte_of = analytes_of(sets)
        gone = marked - {one.row.pk for one in shown}
        if any(pk in tally.of for pk in gone - (reshown - now.keys())):
            return None  # counted, and no longer shown: the participants moved since the marks were read
        for pk in gone:
            tally.remove(pk)  # no longer shown since the sums were kept
            base.shown.pop(pk, None)
        for one in shown:
            base.shown[one.row.pk] = packed_shown(shown_values(one))  # as counted (shown since the first read too)
            tally.remove(one.row.pk)
            stored = results[str(one.row.pk)]
            if stored is not None:
                tally.add(one.row.pk, contribution(
                    one.row.pk, one.study_number, one.status, one.withdrawn_on, group_of(one.row),
                    one.row.disease, stored, today, first_of(stored[4][0]), analyte_of))
    if (len(marked) >= KEEP_AGAIN and snapshot[0] > base.covers) or (
            version_kept != base.version and len(changed) >= KEEP_AGAIN) or len(reshown) >= KEEP_AGAIN:
        # kept under the count of the marks just read (a participant marked after it is in the next
        # read's marks, whatever the results' read saw) when that count moved on, and under the data
        # version read before any data when the safety part's sums were moved by its marks (a later
        # mark is the next read's); kept with the participants shown as they are now when many moved
        # (fewer are moved again by the next reads: keeping the sums costs more than moving them)
        keep(entry, Base(tally, base.shown, snapshot[0], base.unmarked_rewrites,
                         frozenset(current.fresh) if marked else base.fresh, len(base.shown),
                         base.safety, version_kept))
    if not tally.large():
        return None
    return Moved(tally, len(base.shown), results, safety)
