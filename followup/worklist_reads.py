"""The worklist read in the database (`followup.worklist` says what is work): a page's work is
proportional to the page, whatever the number of items.

Each kind is one query ordered in the database the way the worklist sorts (overdue first, then by
due time, participant and id), cut at the end of the page asked for (``LIMIT``), reading plain
values; the same query counts the kind's items, overdue and due, by window aggregates over every
row. The kinds' first rows are merged in Python by the worklist's order (`followup.worklist.sort_key`) and only the
page's items are built. The SAE reports and the drafts are read by one query of the adverse events
ordered by each event's first item, so an investigator's worklist is six queries, a coordinator's
or a monitor's three, however many items.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta, tzinfo
from itertools import islice
from typing import NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Sum, Value, When, Window
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import PLANNED_WINDOW_START, Infusion
from enrollment.models import Participant, Screening
from trials.content import pick
from trials.scoping import Action, site_ids_for

from . import worklist as work
from .ctcae_terms import shown_term
from .models import SAE_REPORTING_HOURS, UPCOMING_WINDOW_START, AdverseEvent, Visit
from .worklist import (ADVERSE_EVENT_DRAFT, CASEBOOK_SIGNATURE, DUE, ELIGIBILITY_CONFIRMATION, INFUSION, KINDS,
                       OVERDUE, SAE_REPORT, SIGNING_KINDS, VISIT, WorkItem, sort_key)

_URL_MARK = 987654321
_PAGES_AT_MOST = 10**9
_PARTICIPANT = ("participant_id", "participant__study_number", "participant__study__code",
                "participant__site__code", "participant__site_id")


class Entry(NamedTuple):
    """One item as read: its place in the worklist's order (`sort_key`) and what builds it."""

    key: tuple
    kind: str
    row: tuple


class Read(NamedTuple):
    """What one query read: its first entries in order, and the counts of every item it stands for."""

    entries: list[Entry]
    counts: dict[str, int]


def url_template(name: str, *args) -> str:
    """The address of `name` with ``{}`` for its (last) id argument (one `reverse` for a page)."""
    url = reverse(name, args=[*args, _URL_MARK]).replace("{", "{{").replace("}", "}}")
    return url.replace(str(_URL_MARK), "{}")


def _participants(prefix: str, site_ids, site, study, *, withdrawn: bool = False) -> Q:
    q = Q() if withdrawn else ~Q(**{f"{prefix}status": "withdrawn"})
    if site_ids is not None:
        q &= Q(**{f"{prefix}site_id__in": list(site_ids)})
    if site:
        q &= Q(**{f"{prefix}site__code": site})
    if study:
        q &= Q(**{f"{prefix}study__code": study})
    return q


def _flag(q: Q) -> Case:
    return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


def _counted(rows, **flags: Q):
    """`rows` with the number of rows (``n_total``) and of the rows of each flag (``n_<flag>``),
    over every row, whatever the LIMIT."""
    return rows.annotate(n_total=Window(Count("pk")),
                         **{f"n_{name}": Window(Sum(_flag(q))) for name, q in flags.items()})


def _limited(rows, limit: int | None):
    return rows if limit is None else rows[:limit]


# --- one query per kind -------------------------------------------------------------------------

def _visits(scope: dict, now: datetime, limit: int | None) -> Read:
    """Planned visits whose window opened, neither done nor missed, not waiting for an infusion
    not given yet (`followup.models.Visit.waits_for_infusion`)."""
    late = Q(window_end__lt=now)
    # `UPCOMING_WINDOW_START` (NULL unless upcoming) is the expression of an index: read through it,
    # estimated from its own statistics.
    rows = (Visit.objects.alias(opens=UPCOMING_WINDOW_START)
            .filter(_participants("participant__", **scope), opens__lte=now)
            .exclude(provisional=True, definition__offset__gt=0))
    rows = _counted(rows, overdue=late).annotate(rank=Case(When(late, then=Value(0)), default=Value(1)))
    rows = rows.order_by("rank", "target_at", "participant__study_number", "pk").values_list(
        "n_total", "n_overdue", "pk", *_PARTICIPANT, "code", "definition__label", "definition__label_zh", "target_at",
        "window_start", "window_end", "timed")
    entries, counts = [], {OVERDUE: 0, DUE: 0}
    for row in _limited(rows, limit):
        counts = {OVERDUE: row[1], DUE: row[0] - row[1]}
        status = OVERDUE if row[13] < now else DUE
        entries.append(Entry(sort_key(VISIT, status, row[11], row[4], row[2]), VISIT, (status, *row[2:])))
    return Read(entries, counts)


def _visit_item(row, pages) -> WorkItem:
    (status, pk, participant_id, number, study, site, site_id, code, label, label_zh, target_at, start, end,
     timed) = row
    if timed:
        url = pages["visit"].format(participant_id, code)
    else:
        url = pages["assessment"].format(participant_id) + f"?visit={code}"
    text = _("Visit %(code)s: %(label)s") % {"code": code, "label": pick(label, label_zh)}
    return WorkItem(kind=VISIT, status=status, due_at=target_at, window_start=start, window_end=end, object_id=pk,
                    participant_id=participant_id, study_number=number, study=study, site=site, site_id=site_id,
                    label=text, url=url, timed=timed)


def _infusions(scope: dict, now: datetime, limit: int | None, tz: tzinfo) -> Read:
    """Per participant the lowest-numbered planned infusion whose window opened (the ones after it
    are re-planned from when it is given, CLINICAL_RULES.md section 8)."""
    today = timezone.localdate(now, tz)
    late = Q(window_end__lt=today)
    earlier = Infusion.objects.filter(participant=OuterRef("participant"), state="planned", window_start__lte=today,
                                      number__lt=OuterRef("number"))
    # `PLANNED_WINDOW_START` (NULL unless planned) is the expression of an index: read through it,
    # estimated from its own statistics (with the whole table's, a parallel scan of every infusion).
    rows = Infusion.objects.alias(opens=PLANNED_WINDOW_START).filter(
        _participants("participant__", **scope), ~Exists(earlier), opens__lte=today)
    rows = _counted(rows, overdue=late).annotate(rank=Case(When(late, then=Value(0)), default=Value(1)))
    rows = rows.order_by("rank", "target_date", "participant__study_number", "pk").values_list(
        "n_total", "n_overdue", "pk", *_PARTICIPANT, "number", "target_date", "window_start", "window_end")
    entries, counts = [], {OVERDUE: 0, DUE: 0}
    for row in _limited(rows, limit):
        counts = {OVERDUE: row[1], DUE: row[0] - row[1]}
        status = OVERDUE if row[11] < today else DUE
        due_at = datetime.combine(row[9], time(0), tzinfo=tz)
        entries.append(Entry(sort_key(INFUSION, status, due_at, row[4], row[2]), INFUSION, (status, due_at, *row[2:])))
    return Read(entries, counts)


def _infusion_item(row, pages, tz: tzinfo) -> WorkItem:
    status, due_at, pk, participant_id, number, study, site, site_id, infusion_number, _target, first, last = row
    start, end = work.day_span(first, last, tz)
    return WorkItem(kind=INFUSION, status=status, due_at=due_at, window_start=start, window_end=end, object_id=pk,
                    participant_id=participant_id, study_number=number, study=study, site=site, site_id=site_id,
                    label=_("Infusion %(number)d") % {"number": infusion_number},
                    url=pages["infusion"].format(participant_id), timed=False)


def _adverse_events(scope: dict, signing_scope: dict | None, now: datetime, limit: int | None,
                    kinds: set[str]) -> Read:
    """SAE reports to make (a withdrawn participant's too) and drafts to confirm (at the signing
    sites, not a withdrawn participant's), one query: each event in the place of its first item,
    so the first `limit` events hold the first `limit` items of the two kinds."""
    hours = timedelta(hours=SAE_REPORTING_HOURS)
    never = Q(pk__isnull=True)
    report = (Q(serious=True, sae_reported_at__isnull=True) & ~Q(status="dismissed")
              if SAE_REPORT in kinds else never)
    draft = (Q(status="draft") & _participants("participant__", **signing_scope)
             if ADVERSE_EVENT_DRAFT in kinds and signing_scope is not None else never)
    late = Q(site_aware_at__lt=now - hours)
    # An event's report comes before its draft when overdue, or due no later than the draft was
    # opened; `first_at` is its first item's due time less 24 hours (the same order).
    report_first = report & (late | ~draft | Q(site_aware_at__lte=F("reported_at") - hours))
    rows = AdverseEvent.objects.filter(_participants("participant__", withdrawn=True, **scope)).filter(report | draft)
    rows = _counted(rows, report=report, late=report & late, draft=draft).annotate(
        rank=Case(When(report_first & late, then=Value(0)), default=Value(1)),
        first_at=Case(When(report_first, then=F("site_aware_at")), default=F("reported_at") - hours),
        first_kind=Case(When(report_first, then=Value(work.KIND_ORDER[SAE_REPORT])),
                        default=Value(work.KIND_ORDER[ADVERSE_EVENT_DRAFT])),
        is_report=_flag(report), is_draft=_flag(draft))
    rows = rows.order_by("rank", "first_at", "first_kind", "participant__study_number", "pk").values_list(
        "n_report", "n_late", "n_draft", "pk", *_PARTICIPANT, "term", "site_aware_at", "reported_at", "is_report",
        "is_draft")
    entries, counts = [], {OVERDUE: 0, DUE: 0}
    for row in _limited(rows, limit):
        counts = {OVERDUE: row[1], DUE: row[0] - row[1] + row[2]}
        values = row[3:]
        pk, number = values[0], values[2]
        if values[9]:
            due = values[7] + hours
            status = OVERDUE if now > due else DUE
            entries.append(Entry(sort_key(SAE_REPORT, status, due, number, pk), SAE_REPORT, (status, *values)))
        if values[10]:
            entries.append(Entry(sort_key(ADVERSE_EVENT_DRAFT, DUE, values[8], number, pk), ADVERSE_EVENT_DRAFT,
                                 (DUE, *values)))
    return Read(entries, counts)


def _adverse_event_item(kind: str, row, pages) -> WorkItem:
    status, pk, participant_id, number, study, site, site_id, term, aware, reported = row[:10]
    if kind == SAE_REPORT:
        due = aware + timedelta(hours=SAE_REPORTING_HOURS)
        label = _("SAE report: %(term)s") % {"term": shown_term(term)}
        start, end = aware, due
    else:
        due, start, end = reported, reported, None
        label = _("Adverse event to confirm and sign (grade, seriousness, relationship): %(term)s") % {
            "term": shown_term(term)}
    return WorkItem(kind=kind, status=status, due_at=due, window_start=start, window_end=end, object_id=pk,
                    participant_id=participant_id, study_number=number, study=study, site=site, site_id=site_id,
                    label=label, url=pages["adverse_event"].format(pk))


def _screenings(scope: dict, limit: int | None) -> Read:
    """Eligible screenings, not enrolled, of studies that require the signed confirmation."""
    rows = Screening.objects.filter(eligible=True, eligibility_confirmed_at__isnull=True, participant__isnull=True,
                                    study__eligibility_confirmation_required=True,
                                    **_scoped_screenings(**scope))
    rows = _counted(rows).annotate(due_at=Coalesce("evaluated_at", "created_at")).order_by("due_at", "number", "pk")
    rows = rows.values_list("n_total", "pk", "number", "study__code", "site__code", "site_id", "due_at")
    entries, counts = [], {OVERDUE: 0, DUE: 0}
    for row in _limited(rows, limit):
        counts = {OVERDUE: 0, DUE: row[0]}
        entries.append(Entry(sort_key(ELIGIBILITY_CONFIRMATION, DUE, row[6], row[2], row[1]),
                             ELIGIBILITY_CONFIRMATION, row[1:]))
    return Read(entries, counts)


def _scoped_screenings(site_ids, site, study) -> dict:
    scope = {"site_id__in": list(site_ids)} if site_ids is not None else {}
    if site:
        scope["site__code"] = site
    if study:
        scope["study__code"] = study
    return scope


def _screening_item(row, pages) -> WorkItem:
    pk, number, study, site, site_id, when = row
    return WorkItem(kind=ELIGIBILITY_CONFIRMATION, status=DUE, due_at=when, window_start=when, window_end=None,
                    object_id=pk, participant_id=None, study_number=number, study=study, site=site, site_id=site_id,
                    label=_("Eligibility to confirm and sign: %(number)s") % {"number": number},
                    url=pages["screening"].format(pk) + "#eligibility-confirmation")


def _casebooks(scope: dict, limit: int | None) -> Read:
    """Participants with an infusion recorded whose casebook is not signed, or changed after the
    latest signature: read from one stored row per participant (`followup.casebook_changes`: whether
    an infusion is recorded, the times of the latest change and of the latest signature)."""
    # The filter is the predicate of the index `casebook_to_sign`, which holds what is read of the
    # row: the casebooks to sign are read from it alone, not from every participant's row.
    to_sign = Q(casebook_change__recorded=True) & (Q(casebook_change__signed_at__isnull=True)
                                                   | Q(casebook_change__changed_at__gt=F("casebook_change__signed_at")))
    rows = Participant.objects.filter(_participants("", withdrawn=True, **scope), to_sign)
    rows = _counted(rows).order_by("casebook_change__changed_at", "study_number", "pk").values_list(
        "n_total", "pk", "study_number", "study__code", "site__code", "site_id", "casebook_change__changed_at",
        "casebook_change__signed_at")
    entries, counts = [], {OVERDUE: 0, DUE: 0}
    for row in _limited(rows, limit):
        counts = {OVERDUE: 0, DUE: row[0]}
        entries.append(Entry(sort_key(CASEBOOK_SIGNATURE, DUE, row[6], row[2], row[1]), CASEBOOK_SIGNATURE, row[1:]))
    return Read(entries, counts)


def _casebook_item(row, pages) -> WorkItem:
    pk, number, study, site, site_id, latest_change, last_signed_at = row
    label = (_("Casebook to sign: not signed yet") if last_signed_at is None
             else _("Casebook to sign again: the data changed after the last signature"))
    return WorkItem(kind=CASEBOOK_SIGNATURE, status=DUE, due_at=latest_change, window_start=latest_change,
                    window_end=None, object_id=pk, participant_id=pk, study_number=number, study=study, site=site,
                    site_id=site_id, label=label, url=pages["participant"].format(pk) + "#casebook-signoff")


# --- the worklist ---------------------------------------------------------------------------------

class Worklist(NamedTuple):
    """The first `limit` entries of the worklist in order, the number of every item, the counts."""

    entries: list[Entry]
    total: int
    counts: dict[str, int]
    tz: tzinfo

    def items(self, entries: Iterable[Entry] | None = None) -> list[WorkItem]:
        """The items of `entries` (by default every entry read), built from their values."""
        pages = {"participant": url_template("participant-detail"),
                 "adverse_event": url_template("adverse-event-detail"),
                 "screening": url_template("screening-detail"), "infusion": url_template("infusion-record"),
                 "assessment": url_template("assessment-new"),
                 "visit": url_template("visit-record", _URL_MARK + 1).replace(str(_URL_MARK + 1), "{}")}
        build: dict[str, Callable] = {
            VISIT: lambda row: _visit_item(row, pages), INFUSION: lambda row: _infusion_item(row, pages, self.tz),
            SAE_REPORT: lambda row: _adverse_event_item(SAE_REPORT, row, pages),
            ADVERSE_EVENT_DRAFT: lambda row: _adverse_event_item(ADVERSE_EVENT_DRAFT, row, pages),
            ELIGIBILITY_CONFIRMATION: lambda row: _screening_item(row, pages),
            CASEBOOK_SIGNATURE: lambda row: _casebook_item(row, pages)}
        return [build[entry.kind](entry.row) for entry in (self.entries if entries is None else entries)]


def read_worklist(*, site_ids: Iterable[int] | None, now: datetime, site: str | None = None,
                  study: str | None = None, kinds: Iterable[str] | None = None,
                  signing_site_ids: Iterable[int] | None = None, limit: int | None = None) -> Worklist:
    """The first `limit` items (None: all) due or overdue at `now` for the participants of
    `site_ids` (None: every site), in the worklist's order, with the counts of every item. The
    kinds waiting for a signature only at `signing_site_ids` (None: wherever they are)."""
    kinds = set(kinds or KINDS)
    tz = timezone.get_current_timezone()
    site_ids = list(site_ids) if site_ids is not None else None
    scope = {"site_ids": site_ids, "site": site, "study": study}
    signing = scope
    if signing_site_ids is not None:
        allowed = set(signing_site_ids)
        signing = {**scope, "site_ids": [s for s in (site_ids if site_ids is not None else allowed) if s in allowed]}
    if signing["site_ids"] is not None and not signing["site_ids"]:
        kinds -= SIGNING_KINDS
    reads = []
    if VISIT in kinds:
        reads.append(_visits(scope, now, limit))
    if INFUSION in kinds:
        reads.append(_infusions(scope, now, limit, tz))
    if kinds & {SAE_REPORT, ADVERSE_EVENT_DRAFT}:
        reads.append(_adverse_events(scope, signing if ADVERSE_EVENT_DRAFT in kinds else None, now, limit, kinds))
    if ELIGIBILITY_CONFIRMATION in kinds:
        reads.append(_screenings(signing, limit))
    if CASEBOOK_SIGNATURE in kinds:
        reads.append(_casebooks(signing, limit))
    merged = heapq.merge(*(sorted(read.entries) for read in reads))
    entries = list(merged if limit is None else islice(merged, limit))
    counts = {status: sum(read.counts[status] for read in reads) for status in (OVERDUE, DUE)}
    return Worklist(entries, counts[OVERDUE] + counts[DUE], counts, tz)


def work_items(*, site_ids: Iterable[int] | None, now: datetime, site: str | None = None, study: str | None = None,
               kinds: Iterable[str] | None = None) -> list[WorkItem]:
    """Every item due or overdue at `now` for the participants of `site_ids` (None: every site),
    sorted; one query per kind (the adverse events' two kinds one), however many items."""
    return read_worklist(site_ids=site_ids, now=now, site=site, study=study, kinds=kinds).items()


class _Read:
    """The worklist as a paginator reads it: its length, and the slices within what was read."""

    def __init__(self, worklist: Worklist):
        self.worklist = worklist

    def __len__(self) -> int:
        return self.worklist.total

    def __getitem__(self, index: slice) -> list[WorkItem]:
        return self.worklist.items(self.worklist.entries[index])


def worklist_page(user, *, now: datetime, page, page_size: int, site: str | None = None, study: str | None = None,
                  kinds: Iterable[str] | None = None) -> tuple[Page, dict[str, int]]:
    """Page `page` (as `Paginator.get_page`: 1 when no number, the last when out of range) of the
    worklist of `user` (`followup.worklist.worklist_site_ids`; the kinds waiting for a signature
    only at the sites where the user signs), and the counts of every item. Reads the rows up to
    the end of the page asked for; all of them only for a page number below 1."""
    site_ids = work.worklist_site_ids(user)
    try:
        number = int(page)
    except (TypeError, ValueError):
        number = 1
    # Beyond the end each kind has fewer rows than the limit: all read, the last page is among them.
    # Below the first page, or a number no LIMIT holds, every row is read (the last page again).
    limit = number * page_size if 1 <= number <= _PAGES_AT_MOST else None
    read = read_worklist(site_ids=site_ids, now=now, site=site, study=study, kinds=kinds,
                         signing_site_ids=site_ids_for(user, Action.SIGN), limit=limit)
    return Paginator(_Read(read), page_size).get_page(page), read.counts
