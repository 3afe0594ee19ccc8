"""Writes of follow-up data, one module per resource, each validated, audited, site-scoped and in
one transaction:

- `visits`: the visit schedule (planned at enrolment, re-dated after infusions), visits done or missed;
- `assessments` and `assessment_corrections`: labs, bleeding, transfusions and rescue therapy;
- `adverse_events`: recorded, corrected and SAE-reported; `adverse_event_drafts`: suggested from
  labs or opened by an infusion reaction, then confirmed or dismissed by the investigator;
- `outcomes`: the study's outcomes snapshot (computed in `followup.outcomes`);
- `sdv`: the study's source data verification plan and the items a monitor verified.
"""
from ..outcomes import outcomes_compute, outcomes_refresh
from .adverse_event_drafts import (
                             adverse_event_confirm,
                             adverse_event_dismiss,
                             adverse_event_suggest,
)
from .adverse_events import (
                             ADVERSE_EVENT_CORRECTABLE,
                             ADVERSE_EVENT_SIGNED,
                             AdverseEventInput,
                             adverse_event_can_change_relationship,
                             adverse_event_problems,
                             adverse_event_record,
                             adverse_event_sae_report,
                             adverse_event_signed_changes,
                             adverse_event_update,
)
from .assessment_corrections import assessment_can_correct, assessment_change_problems, assessment_update
from .assessments import AssessmentInput, assessment_problems, assessment_record
from .keep import KEEP
from .outcomes import outcomes_current, queue_outcomes
from .sdv import items_verify, sdv_plan_set
from .visits import (
                             participant_anchors,
                             participant_visit_rules,
                             visit_miss,
                             visit_record,
                             visit_schedule_create,
                             visit_schedule_refresh,
)

__all__ = [
    "ADVERSE_EVENT_CORRECTABLE", "ADVERSE_EVENT_SIGNED", "KEEP", "AdverseEventInput", "AssessmentInput",
    "adverse_event_can_change_relationship", "adverse_event_confirm", "adverse_event_dismiss",
    "adverse_event_problems", "adverse_event_record", "adverse_event_sae_report", "adverse_event_signed_changes",
    "adverse_event_suggest", "adverse_event_update", "assessment_can_correct", "assessment_change_problems",
    "assessment_problems",
    "assessment_record", "assessment_update", "items_verify", "outcomes_compute", "outcomes_current",
    "outcomes_refresh", "participant_anchors", "participant_visit_rules", "queue_outcomes", "sdv_plan_set",
    "visit_miss", "visit_record", "visit_schedule_create", "visit_schedule_refresh",
]
