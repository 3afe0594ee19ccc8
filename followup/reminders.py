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
periodic task runs: it finds the items set-wise, then for each reminder neither sent nor claimed, in
one short transaction, re-reads the record under a row lock (skipping a record another sweep holds),
checks it still needs the reminder and claims it: its `Reminder` row (unique per kind, record and
due time) in state `claimed` until `claim_expires_at` (`REMINDER_CLAIM_SECONDS`). The e-mail goes
out after that commit, so no clinical row stays locked while the mail server answers, and the row
is then marked `sent`. A second sweep, a re-delivered task or a concurrent worker finds the claim,
or the lock, and sends nothing: at most one e-mail per reminder. A failed e-mail deletes the claim,
so the next sweep tries again; a sweep stopped between its claim and the send (its worker killed)
leaves a claim that expires, and the first sweep after that takes it again and sends: at least one
e-mail per reminder.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dosing.models import Infusion
from trials.languages import language_of_recipients
from trials.models import SiteMembership
from trials.scoping import ROLE_RULES

from . import worklist as work
from .worklist_reads import work_items
from .models import AdverseEvent, Reminder, ReminderKind, ReminderState, Visit

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

def _recipients_by_site(site_ids) -> dict[int, dict[str, list[str]]]:
    """Active coordinators and investigators with an e-mail address, per site and language (each
    user's chosen one, else LANGUAGE_CODE): {site id: {language: addresses}} (one query)."""
    rows = (SiteMembership.objects.filter(site_id__in=site_ids, role__in=ROLE_RULES["reminded"], user__is_active=True)
            .exclude(user__email="").values_list("site_id", "user__email", "user__account_settings__language"))
    found: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for site_id, email, language in rows:
        found[site_id].append((email.strip(), language))
    return {site_id: language_of_recipients(addresses) for site_id, addresses in found.items()}


def _live(now: datetime) -> Q:
    """Reminder rows that stand in a sweep's way at `now`: sent, or claimed by a sweep not yet expired."""
    return Q(state=ReminderState.SENT) | Q(state=ReminderState.CLAIMED, claim_expires_at__gt=now)


def _already_taken(due: list[ReminderDue], *, now: datetime) -> set[tuple[str, str, int, datetime]]:
    """The keys of the reminders sent or claimed (claim not expired at `now`), among `due`."""
    ids = defaultdict(set)
    for reminder in due:
        ids[reminder.item.kind].add(reminder.item.object_id)
    rows = Reminder.objects.filter(Q(visit_id__in=ids[work.VISIT]) | Q(infusion_id__in=ids[work.INFUSION])
                                   | Q(adverse_event_id__in=ids[work.SAE_REPORT])).filter(_live(now))
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


def _relocked_item(item: work.WorkItem, *, now: datetime) -> Callable[[], work.WorkItem | None] | None:
    """The item re-read from its record under a row lock, or None when another sweep holds the
    lock or the record is gone: a function building it (None when nothing is due any more, recorded
    meanwhile), to be called in each recipient's language, the item's label being text."""
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
    return (lambda: build(row, now=now)) if row is not None else None


def _claim(reminder: ReminderDue, recipients: list[str], *, now: datetime, base_url: str):
    """Claim the reminder, in the caller's transaction: (claim row, a function building the reminder
    in the active language), or None when the record is locked by another sweep, needs the reminder
    no more, or its reminder is sent or claimed by a sweep whose claim has not expired. The claim
    records the subject in the product's default language (LANGUAGE_CODE)."""
    build = _relocked_item(reminder.item, now=now)
    item = build() if build is not None else None
    if item is None or reminder_kind(item, now=now) != reminder.kind:
        return None

    def current() -> ReminderDue:
        return ReminderDue(kind=reminder.kind, item=build())

    with translation.override(settings.LANGUAGE_CODE):
        subject, _body = reminder_message(current(), base_url=base_url)
    about = {"visit_id": item.object_id if item.kind == work.VISIT else None,
             "infusion_id": item.object_id if item.kind == work.INFUSION else None,
             "adverse_event_id": item.object_id if item.kind == work.SAE_REPORT else None}
    claimed_at = timezone.now()
    claim = {"state": ReminderState.CLAIMED, "claimed_at": claimed_at, "sent_at": None,
             "claim_expires_at": claimed_at + timedelta(seconds=settings.REMINDER_CLAIM_SECONDS),
             "recipients": "\n".join(recipients), "subject": subject[:300]}
    earlier = (Reminder.objects.select_for_update()
               .filter(kind=reminder.kind, due_at=item.due_at, **{k: v for k, v in about.items() if v}).first())
    if earlier is None:
        row = Reminder.objects.create(kind=reminder.kind, participant_id=item.participant_id, site_id=item.site_id,
                                      due_at=item.due_at, **about, **claim)
        return row, current
    if earlier.state == ReminderState.SENT or earlier.claim_expires_at > now:
        return None
    # Claimed by a sweep that stopped before its send was recorded: taken again, sent at least once.
    logger.warning("Reminder %s about %s %s was claimed at %s and never marked sent; sending it now.",
                   reminder.kind, item.kind, item.object_id, earlier.claimed_at)
    for field, value in claim.items():
        setattr(earlier, field, value)
    earlier.save(update_fields=list(claim))
    return earlier, current


def _send_one(reminder: ReminderDue, recipients: dict[str, list[str]], *, now: datetime) -> bool:
    """Claim and send the reminder: one e-mail per language, to the recipients who read it."""
    base_url = (getattr(settings, "EMAIL_BASE_URL", "") or "").rstrip("/")
    try:
        with transaction.atomic():
            claimed = _claim(reminder, sorted(address for to in recipients.values() for address in to), now=now,
                             base_url=base_url)
    except IntegrityError:
        return False  # another sweep claimed it first
    if claimed is None:
        return False
    claim, current = claimed
    try:
        messages = []
        for language, to in recipients.items():
            with translation.override(language):
                subject, body = reminder_message(current(), base_url=base_url)
            messages.append((subject[:300], body, to))
        # A failure after one language's e-mail went out sends them all again: at least once.
        for subject, body, to in messages:
            send_mail(subject, body, None, to)
    except Exception:  # any failure (mail server down, a bad address): the next sweep tries again
        logger.exception("Reminder %s about %s %s not sent; the next sweep tries again.", reminder.kind,
                         reminder.item.kind, reminder.item.object_id)
        Reminder.objects.filter(pk=claim.pk, state=ReminderState.CLAIMED, claimed_at=claim.claimed_at).delete()
        return False
    # Still claimed by this sweep (the claim's time tells): sent. Should this write fail, the claim
    # expires and the reminder is sent again, rather than never.
    Reminder.objects.filter(pk=claim.pk, claimed_at=claim.claimed_at).update(state=ReminderState.SENT, sent_at=now)
    return True


def reminders_send(*, now: datetime | None = None) -> int:
    """Send every reminder due at `now` not sent yet (module docstring); returns how many were sent.

    A reminder for a site with no coordinator or investigator who has an e-mail address is not
    claimed: it goes out once someone can receive it.
    """
    now = now or timezone.now()
    items = work_items(site_ids=None, now=now, kinds=(work.VISIT, work.INFUSION, work.SAE_REPORT))
    due = reminders_due(items, now=now)
    if not due:
        return 0
    taken = _already_taken(due, now=now)
    todo = [reminder for reminder in due if reminder.key not in taken]
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
