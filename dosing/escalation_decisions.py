"""Which signed 3+3 decisions the rule allows given its proposal (CLINICAL_RULES.md section 4).

Pure: no ORM, no clock (the statements are worded in the active language, through gettext).
A decision may differ from the proposal only towards safety
(wait, expand the current level, stop, de-escalate); a level above what the rule allows is never
opened. :func:`decision_refusal` says why a decision is refused, :func:`allowed_decisions` lists
the allowed ones, :func:`signature_meaning` is the statement a signature approves (21 CFR 11.50).
"""

from __future__ import annotations

from typing import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .escalation import (
    CHOOSE_EXPANSION_DOSE,
    DOSE_EXCEEDED_DLTS,
    ESCALATE,
    EXPAND,
    PLANNED,
    STOP,
    WAIT,
    LevelState,
    Proposal,
)

__all__ = [
    "DECISION_ACTIONS",
    "allowed_decisions",
    "can_be_recommended",
    "decision_refusal",
    "rule_text",
    "signature_meaning",
]

# What an investigator signs (API.md "Dose escalation"). Waiting is signing nothing, so it is
# always possible and never a decision.
DECISION_ACTIONS = (ESCALATE, EXPAND, STOP, CHOOSE_EXPANSION_DOSE)
_TOWARDS_SAFETY = gettext_lazy("A decision may differ from the proposal only towards safety (wait, expand the "
                               "current level, stop, de-escalate); a level above what the rule allows is never opened.")


# The actions as a signed statement names them.
ACTION_WORDS = {
    WAIT: pgettext_lazy("escalation action", "wait"), ESCALATE: pgettext_lazy("escalation action", "escalate"),
    EXPAND: pgettext_lazy("escalation action", "expand"), STOP: pgettext_lazy("escalation action", "stop"),
    CHOOSE_EXPANSION_DOSE: pgettext_lazy("escalation action", "choose_expansion_dose"),
}


def _action_word(action: str) -> str:
    return str(ACTION_WORDS.get(action, action))


def rule_text(proposal: Proposal) -> str:
    """The rule behind a proposal: its 3+3 row, or while waiting the reason for waiting."""
    if proposal.rule:
        return str(proposal.rule.rule)
    return _("%(action)s: %(reason)s") % {"action": _action_word(proposal.action), "reason": proposal.reason}


def signature_meaning(action: str, level: str | None, rule: str) -> str:
    """What an investigator's signature of a decision means (21 CFR 11.50), ``rule`` being the
    :func:`rule_text` of the proposal, e.g. 'I approve escalate B under rule "0 of 3 with a DLT:
    escalate" (the 3+3 rule of the study).' (CLINICAL_RULES.md section 4)."""
    decided = f"{_action_word(action)} {level}" if level else _action_word(action)
    return _('I approve %(decision)s under rule "%(rule)s" (the 3+3 rule of the study).') % {
        "decision": decided, "rule": rule}


def _ceiling(levels: Sequence[LevelState], proposal: Proposal) -> LevelState | None:
    """The highest level the rule allows to treat at now: the level the proposal names, or for
    ``choose_expansion_dose`` the highest level opened; ``None`` when it allows none."""
    if proposal.level is not None:
        return next((level for level in levels if level.code == proposal.level), None)
    if proposal.action == CHOOSE_EXPANSION_DOSE:
        opened = [level for level in levels if level.status != PLANNED]
        return opened[-1] if opened else None
    return None


def can_be_recommended(level: LevelState, expansion_size: int = 6) -> bool:
    """Whether ``level`` may be named as the recommended dose of a ``stop`` (CLINICAL_RULES.md
    section 4: "the recommended dose is the level below, which needs 6 treated with <= 1 DLT"):
    ``expansion_size`` DLT-evaluable, at most one with a DLT, and nobody's assessment still open
    (inside the DLT window, or an adverse event draft to confirm)."""
    return level.evaluable >= expansion_size and level.dlts <= 1 and not level.in_dlt_window


def decision_refusal(levels: Sequence[LevelState], proposal: Proposal, action: str, level: str | None, *,
                     expansion_size: int = 6, check_recommended: bool = True) -> str | None:
    """Why the 3+3 rule refuses the decision ``action`` at ``level`` given ``proposal``, or ``None``
    when it is allowed (CLINICAL_RULES.md section 4).

    Allowed: the proposal itself; ``expand`` of a level already opened up to the one the proposal
    names (expand the current level, or de-escalate to a lower one); ``stop`` without a level, or
    naming as the recommended dose an opened level up to that one which :func:`can_be_recommended`
    (``expansion_size`` treated and final, <= 1 DLT) - a level with fewer must be expanded first,
    so ``stop`` then records no recommended dose; ``choose_expansion_dose`` of an
    opened level, only when it is the proposal. Never a level at or above one that exceeded the
    dose (>= 2 DLTs). ``escalate`` opens only the level the proposal escalates to (or, while no
    level was ever opened, the lowest level the proposal waits on): nothing else opens a level
    that was never opened. ``check_recommended=False`` leaves out the :func:`can_be_recommended`
    check, for a caller that words that refusal itself. Raises ``ValueError`` for an action that is
    not a decision.
    """
    if action not in DECISION_ACTIONS:
        raise ValueError(f"action must be one of {DECISION_ACTIONS}, got {action!r}")
    levels = sorted(levels, key=lambda row: row.order)
    target = next((row for row in levels if row.code == level), None) if level else None
    if level and target is None:
        raise ValueError(f"unknown level {level!r}")
    ceiling = _ceiling(levels, proposal)
    exceeded = next((row for row in levels if row.dlts >= DOSE_EXCEEDED_DLTS), None)
    nothing_opened = all(row.status == PLANNED for row in levels)
    why = None
    if target is None and action != STOP:
        why = _("%(action)s needs a dose level") % {"action": _action_word(action)}
    elif target is not None and exceeded is not None and target.order >= exceeded.order:
        why = _("level %(exceeded)s exceeded the dose (%(dlts)d DLTs): %(level)s may not be used") % {
            "exceeded": exceeded.code, "dlts": exceeded.dlts, "level": level}
    elif action == ESCALATE:
        proposed = proposal.action == ESCALATE or (proposal.action == WAIT and nothing_opened)
        if not (proposed and level == proposal.level):
            why = _("only the level the rule escalates to may be opened, and the rule does not escalate to "
                    "%(level)s now") % {"level": level}
    elif target is not None:
        if target.status == PLANNED:
            why = _("level %(level)s was never opened: only an escalation the rule proposes opens it") % {
                "level": level}
        elif ceiling is None or target.order > ceiling.order:
            if ceiling:
                why = _("level %(level)s is above what the rule allows now (level %(highest)s is the highest)") % {
                    "level": level, "highest": ceiling.code}
            else:
                why = _("level %(level)s is above what the rule allows now (no level is)") % {"level": level}
        elif action == CHOOSE_EXPANSION_DOSE and proposal.action != CHOOSE_EXPANSION_DOSE:
            why = _("choosing the dose to expand is the final step, once the top level is done; expand the "
                    "current level or a lower one instead")
        elif action == STOP and check_recommended and not can_be_recommended(target, expansion_size):
            why = _("the recommended dose needs %(n)d treated with <= 1 DLT, and level %(level)s has %(evaluable)d "
                    "DLT-evaluable (%(dlts)d with a DLT, %(open)d not final); expand %(level)s to %(n)d first, or "
                    "stop without a recommended dose") % {
                "n": expansion_size, "level": level, "evaluable": target.evaluable, "dlts": target.dlts,
                "open": target.in_dlt_window}
    if why is None:
        return None
    return _('The 3+3 rule does not allow "%(decided)s": %(why)s. The proposal is "%(proposed)s" under rule '
             '"%(rule)s". %(towards_safety)s') % {
        "decided": _decision_words(action, level), "why": why,
        "proposed": _decision_words(proposal.action, proposal.level), "rule": rule_text(proposal),
        "towards_safety": _TOWARDS_SAFETY}


def _decision_words(action: str, level: str | None) -> str:
    """A decision as a refusal quotes it: the action's word, then its level if any ("escalate B")."""
    return f"{_action_word(action)} {level}" if level else _action_word(action)


def allowed_decisions(levels: Sequence[LevelState], proposal: Proposal, *,
                      expansion_size: int = 6) -> tuple[tuple[str, str | None], ...]:
    """Every ``(action, level)`` decision :func:`decision_refusal` allows, the proposal first."""
    levels = sorted(levels, key=lambda row: row.order)
    candidates = [(action, row.code) for action in DECISION_ACTIONS for row in levels] + [(STOP, None)]
    allowed = [pair for pair in candidates
               if decision_refusal(levels, proposal, *pair, expansion_size=expansion_size) is None]
    return tuple(sorted(allowed, key=lambda pair: pair != (proposal.action, proposal.level)))
