"""What is due or overdue at a user's sites (API.md `GET /api/v1/worklist/`, the worklist page).

Four kinds of work, each with the page to act on:

* ``visit`` - a planned visit (or timed sample) whose window is open or has passed and that is
  neither done nor missed, and not planned after an infusion not given yet (provisional, with a
  positive offset); its status is the one the participant page shows
  (`followup.schedule.visit_status`);
* ``infusion`` - a participant's next planned infusion (the lowest-numbered one neither given
  nor missed) whose window is open or has passed, unless held (`dosing.windows.infusion_status`);
* ``sae_report`` - a serious adverse event not yet reported, a draft as well as a confirmed one
  (reporting does not wait for the investigator's signature; a dismissed one is not reported);
  due within 24 hours of the site learning of it, overdue after (CLINICAL_RULES.md section 3);
* ``adverse_event_draft`` - an adverse event that is a draft (recorded by a coordinator or
  without the investigator's signature, an infusion reaction, a lab-derived suggestion) waiting
  for an investigator to confirm grade, seriousness and causality with their signature; listed
  for the site's investigators only;
* ``eligibility_confirmation`` - an eligible screening, not enrolled, of a study whose enrolment
  waits for the investigator's signed eligibility confirmation; listed for the site's
  investigators only (the item's "participant" is the screening, by its number);
* ``casebook_signature`` - the casebook of a participant with at least one infusion recorded
  (given or missed), never signed or whose data changed since the investigator's last signature
  (`followup.signoff`), due since that change; a withdrawn participant's too (their casebook is
  signed off as well); listed for the site's investigators only.

Withdrawn participants are left out, except for their SAE reports: the obligation to report a
serious adverse event does not end with the participant's withdrawal (often the event is why the
participant left). Items are sorted overdue first, then by due time. The
classification (`visit_work_status`, `infusion_work_status`, `sae_report_work_status`,
`sort_items`) is pure; `work_items` reads the rows with a fixed number of queries, whatever the
number of items.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple
from datetime import date, datetime, time, tzinfo

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from dosing.windows import STATUS_OVERDUE as INFUSION_OVERDUE
from dosing.windows import STATUS_WINDOW_OPEN as INFUSION_WINDOW_OPEN
from dosing.windows import infusion_status
from enrollment.models import Participant, Screening
from trials.content import content
from trials.scoping import Action, site_ids_for, site_ids_with

from .models import AdverseEvent, Visit
from .schedule import STATUS_OVERDUE as VISIT_OVERDUE
from .schedule import STATUS_WINDOW_OPEN as VISIT_WINDOW_OPEN
from .schedule import PlannedVisit, visit_status
from .casebook_changes import NEVER
from .signoff_models import CasebookSignature

VISIT = "visit"
INFUSION = "infusion"
SAE_REPORT = "sae_report"
ADVERSE_EVENT_DRAFT = "adverse_event_draft"
ELIGIBILITY_CONFIRMATION = "eligibility_confirmation"
CASEBOOK_SIGNATURE = "casebook_signature"
KINDS = (VISIT, INFUSION, SAE_REPORT, ADVERSE_EVENT_DRAFT, ELIGIBILITY_CONFIRMATION, CASEBOOK_SIGNATURE)
# The kinds that wait for an investigator's signature: work for the site's investigators only.
SIGNING_KINDS = frozenset({ADVERSE_EVENT_DRAFT, ELIGIBILITY_CONFIRMATION, CASEBOOK_SIGNATURE})

DUE = "due"
OVERDUE = "overdue"
STATUSES = (DUE, OVERDUE)

@dataclass(frozen=True)
class WorkItem:
    """One thing to do. ``due_at`` is the target (visit, infusion), the deadline (SAE report) or
    when the draft was opened; ``window_start``/``window_end`` bound when it may be done
    (``window_end`` is None for a draft, which has no deadline). ``object_id`` is the visit's,
    infusion's, adverse event's or screening's id; an eligibility confirmation has no participant
    yet (``participant_id`` None, ``study_number`` the screening number)."""

    kind: str
    status: str
    due_at: datetime
    window_start: datetime
    window_end: datetime | None
    object_id: int
    participant_id: int | None
    study_number: str
    study: str
    site: str
    site_id: int
    label: str
    url: str
    timed: bool = True  # False: a day-based visit or an infusion, shown as dates

    @property
    def participant_url(self) -> str:
        if self.participant_id is None:
            return self.url
        return reverse("participant-detail", args=[self.participant_id])

    @property
    def overdue(self) -> bool:
        return self.status == OVERDUE

    def as_api(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "due_at": timezone.localtime(self.due_at).isoformat(),
            "window_start": timezone.localtime(self.window_start).isoformat(),
            "window_end": timezone.localtime(self.window_end).isoformat() if self.window_end else None,
            "id": self.object_id,
            "participant": ({"id": self.participant_id, "study_number": self.study_number, "study": self.study}
                            if self.participant_id is not None else None),
            "screening": ({"id": self.object_id, "number": self.study_number, "study": self.study}
                          if self.kind == ELIGIBILITY_CONFIRMATION else None),
            "site": self.site,
            "label": self.label,
            "url": self.url,
            "participant_url": self.participant_url,
        }


# --- pure classification ----------------------------------------------------------------------

def visit_work_status(planned: PlannedVisit, *, now: datetime) -> str | None:
    """``due`` while the window of a visit neither done nor missed is open, ``overdue`` once it
    has passed, None before it opens (the participant page's `visit_status`)."""
    status = visit_status(planned, done_at=None, missed=False, now=now).status
    return {VISIT_WINDOW_OPEN: DUE, VISIT_OVERDUE: OVERDUE}.get(status)


def infusion_work_status(*, window_start: date, window_end: date, today: date, held: bool = False) -> str | None:
    """``due`` while the window of an infusion neither given nor missed is open, ``overdue`` once
    it has passed, None before it opens or when held (`dosing.windows.infusion_status`)."""
    status = infusion_status(window_start=window_start, window_end=window_end, given_on=None, missed=False,
                             today=today, held=held)
    return {INFUSION_WINDOW_OPEN: DUE, INFUSION_OVERDUE: OVERDUE}.get(status)


def sae_report_work_status(*, due: datetime, now: datetime) -> str:
    """An unreported SAE is ``due`` up to its deadline (inclusive), ``overdue`` after it."""
    return OVERDUE if now > due else DUE


def day_span(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """A window of whole days as instants: 00:00 of the first day to the end of the last day
    (as `followup.schedule` does for day-based visits)."""
    return datetime.combine(first, time(0), tzinfo=tz), datetime.combine(last, time.max, tzinfo=tz)


_KIND_ORDER = {kind: index for index, kind in enumerate((SAE_REPORT, INFUSION, VISIT, ADVERSE_EVENT_DRAFT,
                                                          ELIGIBILITY_CONFIRMATION, CASEBOOK_SIGNATURE))}


def sort_items(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Overdue first, then by due time (then kind, participant and id, so the order is stable)."""
    return sorted(items, key=lambda item: (item.status != OVERDUE, item.due_at, _KIND_ORDER[item.kind],
                                           item.study_number, item.object_id))


# --- reading the rows ---------------------------------------------------------------------------

def worklist_site_ids(user) -> list[int]:
    """The sites where the user works from the list (coordinator, investigator, monitor).
    Raises PermissionDenied (403) for a user with no such role."""
    site_ids = site_ids_with(user, "worklist")
    if not site_ids:
        raise PermissionDenied(_("The worklist is for coordinators, investigators and monitors of a site."))
    return site_ids


def worklist(user, *, now: datetime | None = None, site: str | None = None, study: str | None = None,
             kinds: Iterable[str] | None = None) -> list[WorkItem]:
    """What is due or overdue for the participants of the user's sites, sorted (module docstring).
    `site` / `study` are codes; `kinds` a subset of :data:`KINDS`."""
    site_ids = worklist_site_ids(user)
    # A draft or an eligible screening waits for an investigator's signature: work for them only
    # (not even read for a user who signs nowhere).
    signing = set(site_ids_for(user, Action.SIGN))
    kinds = set(kinds or KINDS) - (set() if signing else SIGNING_KINDS)
    if not kinds:
        return []
    items = work_items(site_ids=site_ids, now=now or timezone.now(), site=site, study=study, kinds=kinds)
    return [item for item in items if item.kind not in SIGNING_KINDS or item.site_id in signing]


def _participant_filter(prefix: str, site_ids, site, study, *, withdrawn: bool = False) -> Q:
    q = Q() if withdrawn else ~Q(**{f"{prefix}status": "withdrawn"})
    if site_ids is not None:
        q &= Q(**{f"{prefix}site_id__in": list(site_ids)})
    if site:
        q &= Q(**{f"{prefix}site__code": site})
    if study:
        q &= Q(**{f"{prefix}study__code": study})
    return q


def _item(kind, status, due_at, window_start, window_end, row, participant, label, url, timed=True) -> WorkItem:
    return WorkItem(kind=kind, status=status, due_at=due_at, window_start=window_start, window_end=window_end,
                    object_id=row.pk, participant_id=participant.pk, study_number=participant.study_number,
                    study=participant.study.code, site=participant.site.code, site_id=participant.site_id,
                    label=label, url=url, timed=timed)


def visit_item(visit, *, now: datetime) -> WorkItem | None:
    """The work item of a planned visit (`visit.participant.study/site` and `visit.definition`
    loaded), or None when nothing is due."""
    participant = visit.participant
    if visit.state != "upcoming" or participant.status == "withdrawn":
        return None
    if visit.waits_for_infusion:  # the infusion is the work to do
        return None
    planned = PlannedVisit(code=visit.code, label=content(visit.definition, "label"), target=visit.target_at,
                           window_start=visit.window_start, window_end=visit.window_end,
                           provisional=visit.provisional, timed=visit.timed)
    status = visit_work_status(planned, now=now)
    if status is None:
        return None
    if visit.timed:
        url = reverse("visit-record", args=[participant.pk, visit.code])
    else:
        url = reverse("assessment-new", args=[participant.pk]) + f"?visit={visit.code}"
    label = _("Visit %(code)s: %(label)s") % {"code": visit.code, "label": content(visit.definition, "label")}
    return _item(VISIT, status, visit.target_at, visit.window_start, visit.window_end, visit, participant, label, url,
                 timed=visit.timed)


def infusion_item(infusion, *, now: datetime, tz: tzinfo) -> WorkItem | None:
    """The work item of a planned infusion (`infusion.participant.study/site` loaded), or None."""
    participant = infusion.participant
    if infusion.state != "planned":
        return None
    status = infusion_work_status(window_start=infusion.window_start, window_end=infusion.window_end,
                                  today=timezone.localdate(now, tz), held=participant.status == "withdrawn")
    if status is None:
        return None
    window_start, window_end = day_span(infusion.window_start, infusion.window_end, tz)
    label = _("Infusion %(number)d") % {"number": infusion.number}
    return _item(INFUSION, status, datetime.combine(infusion.target_date, time(0), tzinfo=tz), window_start,
                 window_end, infusion, participant, label, reverse("infusion-record", args=[participant.pk]),
                 timed=False)


def sae_report_item(event, *, now: datetime) -> WorkItem | None:
    """The SAE report to make for a serious adverse event not yet reported (a withdrawn
    participant's too; a draft's too, a dismissed event's not), or None
    (`event.participant.study/site` loaded)."""
    if event.status == "dismissed" or not event.serious or event.sae_reported_at is not None:
        return None
    due = event.sae_report_due  # 24 h after the site learned of it
    label = _("SAE report: %(term)s") % {"term": event.shown_term}
    return _item(SAE_REPORT, sae_report_work_status(due=due, now=now), due, event.site_aware_at, due, event,
                 event.participant, label, reverse("adverse-event-detail", args=[event.pk]))


def adverse_event_draft_item(event) -> WorkItem | None:
    """A draft to confirm (grade, seriousness, causality, signed), unless the participant is
    withdrawn, or None."""
    participant = event.participant
    if event.status != "draft" or participant.status == "withdrawn":
        return None
    label = _("Adverse event to confirm and sign (grade, seriousness, relationship): %(term)s") % {
        "term": event.shown_term}
    return _item(ADVERSE_EVENT_DRAFT, DUE, event.reported_at, event.reported_at, None, event, participant,
                 label, reverse("adverse-event-detail", args=[event.pk]))


def adverse_event_item(event, *, now: datetime) -> WorkItem | None:
    """The first work item of an adverse event: its SAE report to make, else its draft to confirm,
    else None (a serious draft gives both; `adverse_event_items`)."""
    return sae_report_item(event, now=now) or adverse_event_draft_item(event)


def eligibility_confirmation_item(screening) -> WorkItem:
    """An eligible screening waiting for the investigator's signed confirmation
    (`screening.study/site` loaded); due since it was evaluated eligible."""
    label = _("Eligibility to confirm and sign: %(number)s") % {"number": screening.number}
    when = screening.evaluated_at or screening.created_at
    return WorkItem(kind=ELIGIBILITY_CONFIRMATION, status=DUE, due_at=when, window_start=when, window_end=None,
                    object_id=screening.pk, participant_id=None, study_number=screening.number,
                    study=screening.study.code, site=screening.site.code, site_id=screening.site_id, label=label,
                    url=reverse("screening-detail", args=[screening.pk]) + "#eligibility-confirmation")


class CasebookRow(NamedTuple):
    """A casebook to sign as read (`_casebooks_to_sign`): plain values, no model instance."""

    pk: int
    study_number: str
    study_code: str
    site_code: str
    site_id: int
    latest_change: datetime
    last_signed_at: datetime | None


def casebook_signature_items(rows: Iterable[CasebookRow]) -> list[WorkItem]:
    """The casebooks to sign (`_casebooks_to_sign`), each due since its latest change. The labels
    and the page's address are made once for all of them (there can be one per participant)."""
    unsigned = _("Casebook to sign: not signed yet")
    changed = _("Casebook to sign again: the data changed after the last signature")
    page = _participant_url_template()
    items = []
    for row in rows:
        items.append(WorkItem(
            kind=CASEBOOK_SIGNATURE, status=DUE, due_at=row.latest_change, window_start=row.latest_change,
            window_end=None, object_id=row.pk, participant_id=row.pk, study_number=row.study_number,
            study=row.study_code, site=row.site_code, site_id=row.site_id,
            label=unsigned if row.last_signed_at is None else changed,
            url=page.format(row.pk) + "#casebook-signoff"))
    return items


_URL_MARK = 987654321


def _participant_url_template() -> str:
    """The participant page's address with ``{}`` for the participant id (one `reverse`)."""
    url = reverse("participant-detail", args=[_URL_MARK]).replace("{", "{{").replace("}", "}}")
    return url.replace(str(_URL_MARK), "{}")


def _casebooks_to_sign(*, site_ids, site, study) -> list[CasebookRow]:
    """Participants with an infusion recorded whose casebook is not signed, or changed after the
    latest signature (one query: the stored time of each casebook's latest change, joined,
    `followup.casebook_changes`)."""
    recorded = Infusion.objects.filter(participant=OuterRef("pk")).exclude(state="planned")
    signed = CasebookSignature.objects.filter(participant=OuterRef("pk")).order_by("-signed_at", "-id")
    rows = (Participant.objects.filter(_participant_filter("", site_ids, site, study, withdrawn=True), Exists(recorded))
            .annotate(latest_change=Coalesce("casebook_change__changed_at", Value(NEVER)),
                      last_signed_at=Subquery(signed.values("signed_at")[:1]))
            .filter(Q(last_signed_at__isnull=True) | Q(latest_change__gt=F("last_signed_at")))
            .order_by().values_list("pk", "study_number", "study__code", "site__code", "site_id", "latest_change",
                                    "last_signed_at"))
    return [CasebookRow(*row) for row in rows]


def _next_infusions(infusions) -> list:
    """Per participant only the lowest-numbered planned infusion: the ones after it are given after
    it and are re-planned from when it is (CLINICAL_RULES.md section 8), so they are not yet work."""
    first: dict[int, object] = {}
    for infusion in infusions:
        held = first.get(infusion.participant_id)
        if held is None or infusion.number < held.number:
            first[infusion.participant_id] = infusion
    return list(first.values())


def work_items(*, site_ids: Iterable[int] | None, now: datetime, site: str | None = None, study: str | None = None,
               kinds: Iterable[str] | None = None) -> list[WorkItem]:
    """Every item due or overdue at `now` for the participants of `site_ids` (None: every site),
    sorted. Five queries, however many items."""


    kinds = set(kinds or KINDS)
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now, tz)
    site_ids = list(site_ids) if site_ids is not None else None
    participant = "participant__"
    related = ("participant__study", "participant__site")
    items: list[WorkItem | None] = []
    if VISIT in kinds:
        visits = (Visit.objects.filter(_participant_filter(participant, site_ids, site, study),
                                       state="upcoming", window_start__lte=now)
                  .select_related(*related, "definition"))
        items += [visit_item(visit, now=now) for visit in visits]
    if INFUSION in kinds:
        infusions = (Infusion.objects.filter(_participant_filter(participant, site_ids, site, study),
                                             state="planned", window_start__lte=today)
                     .select_related(*related))
        items += [infusion_item(infusion, now=now, tz=tz) for infusion in _next_infusions(infusions)]
    wanted = Q()
    if SAE_REPORT in kinds:
        wanted |= Q(serious=True, sae_reported_at__isnull=True) & ~Q(status="dismissed")
    if ADVERSE_EVENT_DRAFT in kinds:
        wanted |= Q(status="draft") & ~Q(participant__status="withdrawn")
    if wanted:
        events = (AdverseEvent.objects.filter(_participant_filter(participant, site_ids, site, study, withdrawn=True))
                  .filter(wanted).select_related(*related))
        for event in events:
            if SAE_REPORT in kinds:
                items.append(sae_report_item(event, now=now))
            if ADVERSE_EVENT_DRAFT in kinds:
                items.append(adverse_event_draft_item(event))
    if ELIGIBILITY_CONFIRMATION in kinds:
        items += [eligibility_confirmation_item(screening)
                  for screening in _screenings_to_confirm(site_ids=site_ids, site=site, study=study)]
    if CASEBOOK_SIGNATURE in kinds:
        items += casebook_signature_items(_casebooks_to_sign(site_ids=site_ids, site=site, study=study))
    return sort_items(item for item in items if item is not None)


def _screenings_to_confirm(*, site_ids, site, study):
    """Eligible screenings, not enrolled, of studies that require the signed confirmation (one query)."""
    q = Q(eligible=True, eligibility_confirmed_at__isnull=True, participant__isnull=True,
          study__eligibility_confirmation_required=True)
    if site_ids is not None:
        q &= Q(site_id__in=site_ids)
    if site:
        q &= Q(site__code=site)
    if study:
        q &= Q(study__code=study)
    return Screening.objects.filter(q).select_related("study", "site").order_by()


# The worklist page and `GET /api/v1/worklist/` show this many items a page.
PAGE_SIZE = 100


def counts(items: Iterable[WorkItem]) -> dict[str, int]:
    """{"overdue": n, "due": m}."""
    items = list(items)
    return {OVERDUE: sum(item.overdue for item in items), DUE: sum(not item.overdue for item in items)}
