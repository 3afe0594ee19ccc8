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
`sort_items`) is pure; `followup.worklist_reads` reads the items in the database, a page at a time,
with a fixed number of queries whatever the number of items; `visit_item`, `infusion_item` and
`sae_report_item` build one item from its record (the reminders read one again under a lock).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.windows import STATUS_OVERDUE as INFUSION_OVERDUE
from dosing.windows import STATUS_WINDOW_OPEN as INFUSION_WINDOW_OPEN
from dosing.windows import infusion_status
from trials.content import content
from trials.scoping import site_ids_with

from .schedule import STATUS_OVERDUE as VISIT_OVERDUE
from .schedule import STATUS_WINDOW_OPEN as VISIT_WINDOW_OPEN
from .schedule import PlannedVisit, visit_status

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


KIND_ORDER = {kind: index for index, kind in enumerate((SAE_REPORT, INFUSION, VISIT, ADVERSE_EVENT_DRAFT,
                                                          ELIGIBILITY_CONFIRMATION, CASEBOOK_SIGNATURE))}


def sort_key(kind: str, status: str, due_at: datetime, study_number: str, object_id: int) -> tuple:
    """Overdue first, then by due time (then kind, participant and id, so the order is stable)."""
    return (status != OVERDUE, due_at, KIND_ORDER[kind], study_number, object_id)


def sort_items(items: Iterable[WorkItem]) -> list[WorkItem]:
    """The items in the worklist's order (`sort_key`)."""
    return sorted(items, key=lambda item: sort_key(item.kind, item.status, item.due_at, item.study_number,
                                                   item.object_id))


# --- who reads it, one item from its record ---------------------------------------------------------------------------

def worklist_site_ids(user) -> list[int]:
    """The sites where the user works from the list (coordinator, investigator, monitor).
    Raises PermissionDenied (403) for a user with no such role."""
    site_ids = site_ids_with(user, "worklist")
    if not site_ids:
        raise PermissionDenied(_("The worklist is for coordinators, investigators and monitors of a site."))
    return site_ids


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


# The worklist page and `GET /api/v1/worklist/` show this many items a page.
PAGE_SIZE = 100
