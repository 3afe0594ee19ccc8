"""What follow-up does when an enrolment or an infusion changes the plan (`trials.hooks`).

Connected in `followup.apps`: at enrolment the infusion plan and the visit schedule are created
together (the visits are dated from the infusion plan); after an infusion is given or missed the
visits are re-dated, each immediate reaction opens an adverse event draft for the investigator to
grade, and a given infusion queues the study's outcomes.
"""
from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from dosing.models import InfusionState
from dosing.services import (
    REACTION_EVENTS,
    infusion_schedule_create,
    participant_infusion_plan,
)
from trials.audit import audited_save

from ..auto_queries import auto_queries_for
from ..models import AdverseEvent
from .outcomes import queue_outcomes
from .visits import visit_schedule_create, visit_schedule_refresh


def schedule_on_enrolment(*, participant, study, by, today) -> None:
    """The participant's infusion plan, then the visits dated from it."""
    infusions = infusion_schedule_create(participant=participant, by=by, today=today)
    visit_schedule_create(participant=participant, definitions=study.visit_definitions.all(),
                          infusion_plan=participant_infusion_plan(participant, infusions, today=today), by=by)


def after_infusion_change(*, participant, infusion, infusions, infusion_plan, by, reason: str, today) -> None:
    """Re-date the visits from the infusions as given; for a given infusion, open a draft per
    immediate reaction and queue the study's outcomes; then run the edit checks that open data
    queries (`followup.auto_queries`: a weight far from the previous infusion's)."""
    visit_schedule_refresh(participant=participant, infusion_plan=infusion_plan, infusions=infusions, by=by,
                           reason=reason)
    if infusion.state == InfusionState.GIVEN:
        _open_reaction_drafts(participant, infusion, by=by)
        queue_outcomes(participant.study_id, participant.pk)
    auto_queries_for(participant, by, infusions=infusions)


def _open_reaction_drafts(participant, row, *, by) -> None:
    """Each immediate reaction opens an adverse event draft for the investigator to grade."""
    for reaction in row.reactions:
        term, category = REACTION_EVENTS[reaction]
        audited_save(AdverseEvent(
            participant=participant, infusion=row, term=term, category=category, status="draft",
            onset_date=timezone.localtime(row.started_at).date(), reported_by=by,
            description=(_("Immediate reaction to the cryoprotectant (DMSO) recorded with infusion %(n)d.")
                         if reaction == "dmso_reaction" else _("Immediate reaction recorded with infusion %(n)d.")) % {
                "n": row.number},
        ), by=by, reason=_("Opened from an infusion reaction"))
