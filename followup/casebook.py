"""The printable casebook of a participant: every case report form with every item it holds and
the item's verification, the signatures (eligibility, adverse events, the casebook's), the data
queries with their threads, and the audit trail's changes - everything a sponsor or an inspector
reads on paper, in a fixed number of statements whatever the casebook holds.

The forms and their items are those of source data verification (`followup.sdv`, with prior
therapies shown), so the casebook and the monitor's page never disagree on what a form holds.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from enrollment.selectors import participants_visible
from trials.scoping import Action
from trials.signature_record import Signature

from . import signoff
from .models import AdverseEvent, Visit
from .participant_audit import participant_audit_trail
from .query_models import DataQuery, DataQueryMessage
from .sdv import SdvRecord, participant_records, verification_prefetch

# Large enough for any casebook: the printed audit trail is never cut into pages.
AUDIT_PAGE = 1_000_000


@dataclass
class Casebook:
    participant: object
    records: list[SdvRecord]
    signatures: list[tuple[str, Signature]]  # (what was signed, the signature)
    signoff: signoff.CasebookSignoff
    queries: list[DataQuery]
    changes: list  # the audit trail's entries other than a record's creation, oldest first
    created: int  # how many records were created (their values are the forms above)


def casebook_participant(user, pk):
    """The participant with everything the casebook prints, if the user's role at its site reads
    audit trails (every role; another site's participant is a 404)."""
    return get_object_or_404(
        participants_visible(user, Action.VIEW_AUDIT)
        .select_related("study__sdv_plan", "screening__eligibility_confirmed_by")
        .annotate(**signoff.signoff_annotations())
        .prefetch_related("screening__labs", "screening__prior_therapies", "screening__consents", "infusions",
                          Prefetch("visits", Visit.objects.select_related("definition")), "assessments__labs",
                          "assessments__transfusions", "assessments__rescue_therapies",
                          Prefetch("adverse_events", AdverseEvent.objects.select_related("confirmed_by")),
                          verification_prefetch()),
        pk=pk)


def _signatures(participant) -> list[tuple[str, Signature]]:
    found = []
    if (signature := participant.screening.eligibility_signature) is not None:
        found.append((_("Eligibility confirmation"), signature))
    for event in sorted(participant.adverse_events.all(), key=lambda e: (e.onset_date, e.pk)):
        if (signature := event.confirmation_signature) is not None:
            found.append((_("Adverse event %(term)s, %(onset)s: grade, seriousness and causality") % {
                "term": event.shown_term, "onset": event.onset_date.isoformat()}, signature))
    return found


def casebook(participant) -> Casebook:
    """The casebook of `participant` (read by `casebook_participant`)."""
    records = participant_records(participant, scope="all", prior_therapies=True)
    queries = list(DataQuery.objects.filter(participant=participant).select_related("opened_by")
                   .prefetch_related(Prefetch("messages", DataQueryMessage.objects.select_related("by")
                                              .order_by("at", "id")))
                   .order_by("opened_at", "id"))
    trail = participant_audit_trail(participant, page_size=AUDIT_PAGE)
    changes = [entry for entry in trail.entries if entry.action != "created"]
    return Casebook(participant=participant, records=records, signatures=_signatures(participant),
                    signoff=signoff.casebook_signature_state(participant), queries=queries, changes=changes,
                    created=len(trail.entries) - len(changes))
