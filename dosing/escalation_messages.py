"""The reasons of the 3+3 proposals (`dosing.escalation.propose`) as messages (``trials.messages``):
kept with their counts and levels, worded in the reader's language (CLINICAL_RULES.md section 4).

A proposal's reason (``Proposal.message``, stored with a signed decision as
``EscalationDecision.proposal_message``) nests them: the DLT count of a level
(``escalation_dlt_count``, ``escalation_still_open`` when some are still being assessed) inside the
sentence that proposes (``escalation_escalate``, ``escalation_expand``...), the adverse event drafts
to confirm (``escalation_draft``) before a reason to wait (``escalation_draft_first``).
"""
from __future__ import annotations

from django.utils.translation import gettext_noop

from trials.messages import register

TEMPLATES: dict[str, str] = {
    "escalation_dlt_count": gettext_noop(
        "%(dlts)s of %(evaluable)s evaluable participants at level %(level)s had a DLT"),
    "escalation_still_open": gettext_noop(
        "%(text)s (%(n)s still inside the DLT window or not yet evaluable)"),
    "escalation_sentence": gettext_noop("%(sentence)s."),
    "escalation_enrol_more": gettext_noop(
        "Level %(level)s has %(enrolled)s of %(target)s places enrolled; enrol %(more)s more"),
    "escalation_wait_window": gettext_noop(
        "Level %(level)s: %(evaluable)s of %(target)s participants DLT-evaluable, %(inside)s still inside the "
        "DLT window or not yet evaluable; wait for their DLT assessment (%(dlts)s with a DLT so far)."),
    "escalation_replace": gettext_noop(
        "Level %(level)s has %(enrolled)s enrolled but only %(evaluable)s DLT-evaluable of the %(target)s "
        "needed; enrol %(more)s more to replace those not evaluable."),
    "escalation_draft": gettext_noop(
        "The adverse event draft of %(participant)s on %(onset)s must be confirmed or dismissed before the rule "
        "can decide."),
    "escalation_draft_first": gettext_noop("%(draft)s %(then)s"),
    "escalation_exceeded": gettext_noop("%(count)s: dose exceeded"),
    "escalation_exceeded_at_once": gettext_noop("%(why)s (%(n)s DLTs decide without waiting for the others)"),
    "escalation_lowest_too_toxic": gettext_noop(
        "%(why)s at the lowest level: lowest dose too toxic, no recommended dose (3+3)."),
    "escalation_needs_below": gettext_noop(
        "the recommended dose is the level below, %(level)s, which needs %(n)s treated with <= 1 DLT"),
    "escalation_expand_below": gettext_noop(
        "%(why)s; %(needs)s and has %(treated)s treated (%(dlts)s with a DLT): treat %(more)s more at "
        "%(level)s (3+3)."),
    "escalation_wait_below": gettext_noop("%(why)s; %(needs)s. %(pending)s"),
    "escalation_stop_below": gettext_noop(
        "%(why)s; at the level below, %(count)s: %(level)s is the recommended dose (3+3)."),
    "escalation_none_open": gettext_noop("No dose level is open yet; open level %(level)s to start enrolment."),
    "escalation_expand": gettext_noop("%(count)s: treat %(more)s more at %(level)s (3+3)."),
    "escalation_choose_top": gettext_noop(
        "%(count)s, the top level: maximum administered dose reached without exceeding; the investigators "
        "choose one dose and expand it to %(n)s (%(tally)s)."),
    "escalation_choose_done": gettext_noop(
        "All dose levels are done and the top level %(level)s was reached without exceeding (%(tally)s); "
        "%(count)s: the investigators choose one dose and expand it to %(n)s."),
    "escalation_escalate": gettext_noop("%(count)s: escalate to %(level)s (3+3)."),
    "escalation_inconsistent": gettext_noop("No proposal: the dose levels are inconsistent (%(error)s)."),
}

register(TEMPLATES)
