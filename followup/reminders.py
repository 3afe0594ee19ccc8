"""Reminders e-mailed to a site's coordinators and investigators, each sent once.

CLINICAL_RULES.md section 3: a serious adverse event is reported within 24 hours of the site
learning of it; the deadline is tracked and reminded. Reminded, from the worklist
(`followup.worklist`):

* an SAE report due within :data:`SAE_WARNING` (``sae_report_due``), and once its deadline has
  passed (``sae_report_overdue``); an event first seen past its deadline gets only the latter;
* a visit or an infusion whose window has passed without it being recorded (``visit_overdue``,
  ``infusion_overdue``).

A reminder is sent once per kind, record and due time: a visit or infusion re-planned to a new
target (a late infusion moves what follows; a corrected assessment frees its visit) is reminded
again when it is overdue at its new target.

`reminders_due` and `reminder_message` are pure (pass `now` in). `reminders_send` is the sweep the
periodic task runs: it finds the items set-wise, then for each reminder not yet sent, in one short
transaction, re-reads the record under a row lock (skipping a record another sweep holds), checks
it still needs the reminder and claims it by inserting its `Reminder` row (unique per kind, record
and due time); the e-mail goes out after that commit, so no clinical row stays locked while the
mail server answers. A second sweep, a re-delivered task or a concurrent worker finds the row, or
the lock, and sends nothing; a failed e-mail deletes the claim, so the next sweep tries again.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import Infusion
from trials.models import SiteMembership
from trials.scoping import ROLE_RULES

from . import worklist as work
from .models import AdverseEvent, Reminder, ReminderKind, Visit

logger = logging.getLogger(__name__)

SAE_WARNING = timedelta(hours=6)


@dataclass(frozen=True)
class ReminderDue:
    kind: str  # a ReminderKind value
    item: work.WorkItem

    @property
    def key(self) -> tuple[str, str, int, datetime]:
        """(reminder kind, work kind, record id, due time): what the unique constraints allow once."""
        return self.kind, self.item.kind, self.item.object_id, self.item.due_at


# --- pure --------------------------------------------------------------------------------------

def reminder_kind(item: work.WorkItem, *, now: datetime) -> str | None:
    """The reminder an item needs at `now`, or None (module docstring)."""
    if item.kind == work.SAE_REPORT:
        if now > item.due_at:
            return ReminderKind.SAE_REPORT_OVERDUE
        if item.due_at - now <= SAE_WARNING:
            return ReminderKind.SAE_REPORT_DUE
        return None
    if item.status == work.OVERDUE:
        return {work.VISIT: ReminderKind.VISIT_OVERDUE, work.INFUSION: ReminderKind.INFUSION_OVERDUE}.get(item.kind)
    return None


def reminders_due(items: Iterable[work.WorkItem], *, now: datetime) -> list[ReminderDue]:
    """The reminders the items need at `now`, in the items' order (overdue first)."""
    due = []
    for item in items:
        kind = reminder_kind(item, now=now)
        if kind is not None:
            due.append(ReminderDue(kind=str(kind), item=item))
    return due


def reminder_message(reminder: ReminderDue, *, base_url: str = "") -> tuple[str, str]:
    """(subject, body) of the e-mail."""
    item = reminder.item
    shown = "%Y-%m-%d %H:%M" if item.timed else "%Y-%m-%d"
    due = timezone.localtime(item.due_at).strftime(shown)
    headline = {
        ReminderKind.SAE_REPORT_DUE: _("SAE report due by %(due)s"),
        ReminderKind.SAE_REPORT_OVERDUE: _("SAE report overdue since %(due)s"),
        ReminderKind.VISIT_OVERDUE: _("Visit overdue (target %(due)s)"),
        ReminderKind.INFUSION_OVERDUE: _("Infusion overdue (target %(due)s)"),
    }[reminder.kind] % {"due": due}
    subject = f"[EDC] {headline}: {item.study_number}"
    lines = [
        headline,
        "",
        item.label,
        _("Participant: %(number)s (study %(study)s, site %(site)s)") % {
            "number": item.study_number, "study": item.study, "site": item.site},
    ]
    if item.window_end is not None:
        lines.append(_("Window: %(start)s to %(end)s") % {
            "start": timezone.localtime(item.window_start).strftime(shown),
            "end": timezone.localtime(item.window_end).strftime(shown)})
    if reminder.kind in (ReminderKind.SAE_REPORT_DUE, ReminderKind.SAE_REPORT_OVERDUE):
        lines.append(_("A serious adverse event is reported within 24 hours of the site learning of it "
                       "(site aware %(aware)s).") % {"aware": timezone.localtime(item.window_start).strftime(shown)})
    lines += ["", _("Record it here: %(url)s") % {"url": f"{base_url}{item.url}"}]
    return subject, "\n".join(lines) + "\n"


# --- the sweep ---------------------------------------------------------------------------------

def _recipients_by_site(site_ids) -> dict[int, list[str]]:
    """Active coordinators and investigators with an e-mail address, per site (one query)."""
    rows = (SiteMembership.objects.filter(site_id__in=site_ids, role__in=ROLE_RULES["reminded"], user__is_active=True)
            .exclude(user__email="").values_list("site_id", "user__email"))
    found: dict[int, set[str]] = defaultdict(set)
    for site_id, email in rows:
        found[site_id].add(email.strip())
    return {site_id: sorted(emails) for site_id, emails in found.items()}


def _already_sent(due: list[ReminderDue]) -> set[tuple[str, str, int, datetime]]:
    ids = defaultdict(set)
    for reminder in due:
        ids[reminder.item.kind].add(reminder.item.object_id)
    rows = Reminder.objects.filter(Q(visit_id__in=ids[work.VISIT]) | Q(infusion_id__in=ids[work.INFUSION])
                                   | Q(adverse_event_id__in=ids[work.SAE_REPORT]))
    sent = set()
    for kind, visit, infusion, event, due_at in rows.values_list("kind", "visit_id", "infusion_id", "adverse_event_id",
                                                                 "due_at"):
        if visit:
            sent.add((kind, work.VISIT, visit, due_at))
        if infusion:
            sent.add((kind, work.INFUSION, infusion, due_at))
        if event:
            sent.add((kind, work.SAE_REPORT, event, due_at))
    return sent


def _relocked_item(item: work.WorkItem, *, now: datetime) -> work.WorkItem | None:
    """The item re-read from its record under a row lock, or None when another sweep holds the
    lock, the record is gone or nothing is due any more (recorded meanwhile)."""


    related = ("participant__study", "participant__site")
    if item.kind == work.VISIT:
        rows, build = Visit.objects.select_related(*related, "definition"), work.visit_item
    elif item.kind == work.INFUSION:
        rows = Infusion.objects.select_related(*related)

        def build(row, now):
            return work.infusion_item(row, now=now, tz=timezone.get_current_timezone())
    else:
        rows, build = AdverseEvent.objects.select_related(*related), work.sae_report_item
    row = rows.select_for_update(skip_locked=True, of=("self",)).filter(pk=item.object_id).first()
    return build(row, now=now) if row is not None else None


def _send_one(reminder: ReminderDue, recipients: list[str], *, now: datetime) -> bool:
    base_url = (getattr(settings, "EMAIL_BASE_URL", "") or "").rstrip("/")
    try:
        with transaction.atomic():
            item = _relocked_item(reminder.item, now=now)
            if item is None or reminder_kind(item, now=now) != reminder.kind:
                return False
            current = ReminderDue(kind=reminder.kind, item=item)
            subject, body = reminder_message(current, base_url=base_url)
            subject = subject[:300]
            claim = Reminder.objects.create(
                kind=reminder.kind, participant_id=item.participant_id, site_id=item.site_id, due_at=item.due_at,
                sent_at=now, recipients="\n".join(recipients), subject=subject,
                visit_id=item.object_id if item.kind == work.VISIT else None,
                infusion_id=item.object_id if item.kind == work.INFUSION else None,
                adverse_event_id=item.object_id if item.kind == work.SAE_REPORT else None)
    except IntegrityError:
        return False  # another sweep claimed it first
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # any failure (mail server down, a bad address): the next sweep tries again
        logger.exception("Reminder %s about %s %s not sent; the next sweep tries again.", reminder.kind,
                         reminder.item.kind, reminder.item.object_id)
        claim.delete()
        return False
    return True


def reminders_send(*, now: datetime | None = None) -> int:
    """Send every reminder due at `now` not sent yet (module docstring); returns how many were sent.

    A reminder for a site with no coordinator or investigator who has an e-mail address is not
    claimed: it goes out once someone can receive it.
    """
    now = now or timezone.now()
    items = work.work_items(site_ids=None, now=now, kinds=(work.VISIT, work.INFUSION, work.SAE_REPORT))
    due = reminders_due(items, now=now)
    if not due:
        return 0
    sent = _already_sent(due)
    todo = [reminder for reminder in due if reminder.key not in sent]
    recipients = _recipients_by_site({reminder.item.site_id for reminder in todo})
    count = 0
    for reminder in todo:
        to = recipients.get(reminder.item.site_id)
        if not to:
            logger.warning("No coordinator or investigator of site %s has an e-mail address: reminder %s about "
                           "%s %s not sent.", reminder.item.site, reminder.kind, reminder.item.kind,
                           reminder.item.object_id)
            continue
        count += _send_one(reminder, to, now=now)
    return count
