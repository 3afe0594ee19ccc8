"""Dose escalation: 3+3 decisions (CLINICAL_RULES.md section 4), with the DLT definition and window of `dosing.dlt`.

Pure decision logic (Le Tourneau et al., JNCI 2009): no ORM, no clock (a proposal's reason is a
message, `dosing.escalation_messages`, worded in the reader's language). The escalation
selector counts participants per dose level into :class:`LevelState` rows and calls
:func:`propose`; the result is only a **proposal** - an investigator records and signs the
decision, and the next group opens only then (section 4). P2 (``HUCMSC-ITP-ESC``) has levels A,
B, C (0.5 / 1.0 / 2.0 x10^6 cells/kg, 3 per level); after them the investigators choose one dose
and expand it to 6, which is also a signed decision.

The 3+3 table is data (:data:`THREE_PLUS_THREE`) so that tests and the escalation page can cite
the row that produced a proposal. Everything else in :func:`propose` is about *which* level the
table is applied to and *whether* it can be applied yet. Which signed decisions the rule allows
given its proposal is `dosing/escalation_decisions.py`.

Counting contract for :class:`LevelState` (the selector must follow it):

* ``enrolled`` - participants enrolled at the level (withdrawn ones included);
* ``evaluable`` - DLT-evaluable participants (section 4: received all planned infusions, or had a
  DLT);
* ``dlts`` - participants with at least one DLT (so ``dlts <= evaluable``);
* ``in_dlt_window`` - participants whose DLT assessment is not final: still inside the DLT window
  without a DLT, or not yet evaluable (still receiving infusions). A participant who received
  every infusion but is still inside the window counts in both ``evaluable`` and
  ``in_dlt_window``; a participant with a DLT is final and counts only in ``evaluable``.
  Participants who are neither (stopped infusions without a DLT, window over) are not evaluable
  and are replaced. A participant with an adverse event **draft** (not yet confirmed, not
  dismissed) whose onset is inside the DLT window and which could be a DLT by the definition
  (:func:`could_be_dlt`) is not final either: they count in ``in_dlt_window`` until an
  investigator confirms or dismisses the draft;
* ``drafts_to_confirm`` - one sentence per such draft, naming the participant and the onset
  date, put in the proposal's reason while the rule waits on them (the selector gives them as
  ``escalation_draft`` messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trials.messages import Message, is_message, message, render, text
from trials.numbers import whole_number

from . import escalation_messages  # noqa: F401 (registers the reasons' message codes)
from .dlt import (
    DLT_CATEGORIES,
    DLT_RELATEDNESS,
    could_be_dlt,
    dlt_window,
    is_dlt,
    is_dlt_evaluable,
)

__all__ = [
    "CHOOSE_EXPANSION_DOSE",
    "DLT_CATEGORIES",
    "DLT_RELATEDNESS",
    "DOSE_EXCEEDED_DLTS",
    "ESCALATE",
    "EXPAND",
    "EXPANDED_COHORT",
    "FIRST_COHORT",
    "LEVEL_STATUSES",
    "LevelState",
    "PROPOSAL_ACTIONS",
    "Proposal",
    "STOP",
    "THREE_PLUS_THREE",
    "ThreePlusThreeRule",
    "VERDICT_DOSE_EXCEEDED",
    "VERDICT_ESCALATE",
    "VERDICT_EXPAND",
    "WAIT",
    "could_be_dlt",
    "dlt_window",
    "is_dlt",
    "is_dlt_evaluable",
    "propose",
    "three_plus_three_rule",
]

# Proposal actions: exactly the names of the API contract (API.md, "Dose escalation"). There is
# deliberately no "enrol" action: a level with places left gives WAIT with "enrol N more".
WAIT = "wait"
ESCALATE = "escalate"
EXPAND = "expand"
STOP = "stop"
CHOOSE_EXPANSION_DOSE = "choose_expansion_dose"
PROPOSAL_ACTIONS = (WAIT, ESCALATE, EXPAND, STOP, CHOOSE_EXPANSION_DOSE)

PLANNED = "planned"
OPEN = "open"
CLOSED = "closed"
LEVEL_STATUSES = (PLANNED, OPEN, CLOSED)

# Section 4: ">= 2 of 3 or >= 2 of 6: dose exceeded". Two DLTs exceed the dose whatever the
# outcome of the participants still being assessed, so this needs no waiting.
DOSE_EXCEEDED_DLTS = 2


# --------------------------------------------------------------------------- the 3+3 table

FIRST_COHORT = "first_cohort"  # the first cohort_size (3) participants of a level
EXPANDED_COHORT = "expanded_cohort"  # the level expanded to expansion_size (6)

# Verdicts of the table, before the context (top level, dose exceeded above) turns them into an
# action: "escalate" at the top level becomes CHOOSE_EXPANSION_DOSE, and at the level below an
# exceeded dose it becomes STOP with that level as the recommended dose.
VERDICT_ESCALATE = "escalate"
VERDICT_EXPAND = "expand"
VERDICT_DOSE_EXCEEDED = "dose_exceeded"


@dataclass(frozen=True)
class ThreePlusThreeRule:
    """One row of the 3+3 decision table (CLINICAL_RULES.md section 4, Le Tourneau 2009)."""

    cohort: str  # FIRST_COHORT | EXPANDED_COHORT
    min_dlts: int
    max_dlts: int | None  # None: no upper bound
    verdict: str  # VERDICT_ESCALATE | VERDICT_EXPAND | VERDICT_DOSE_EXCEEDED
    rule: str  # the rule in the section's words

    def matches(self, cohort: str, dlts: int) -> bool:
        return cohort == self.cohort and self.min_dlts <= dlts and (self.max_dlts is None or dlts <= self.max_dlts)


THREE_PLUS_THREE: tuple[ThreePlusThreeRule, ...] = (
    ThreePlusThreeRule(FIRST_COHORT, 0, 0, VERDICT_ESCALATE, gettext_lazy("0 of 3 with a DLT: escalate")),
    ThreePlusThreeRule(FIRST_COHORT, 1, 1, VERDICT_EXPAND,
                       gettext_lazy("1 of 3 with a DLT: treat 3 more at the same dose")),
    ThreePlusThreeRule(FIRST_COHORT, 2, None, VERDICT_DOSE_EXCEEDED,
                       gettext_lazy(">= 2 of 3 with a DLT: dose exceeded, stop")),
    ThreePlusThreeRule(EXPANDED_COHORT, 0, 1, VERDICT_ESCALATE, gettext_lazy("<= 1 of 6 with a DLT: escalate")),
    ThreePlusThreeRule(EXPANDED_COHORT, 2, None, VERDICT_DOSE_EXCEEDED,
                       gettext_lazy(">= 2 of 6 with a DLT: dose exceeded, stop")),
)


def three_plus_three_rule(cohort: str, dlts: int) -> ThreePlusThreeRule:
    """The row of :data:`THREE_PLUS_THREE` for a completed cohort with ``dlts`` DLTs (section 4)."""
    for row in THREE_PLUS_THREE:
        if row.matches(cohort, dlts):
            return row
    raise ValueError(f"no 3+3 rule for cohort {cohort!r} with {dlts} DLTs")


# --------------------------------------------------------------------------- inputs and output


@dataclass(frozen=True)
class LevelState:
    """What the escalation rules need to know about one dose level (CLINICAL_RULES.md section 4).

    See the module docstring for how each count is taken. Inconsistent counts raise
    ``ValueError`` on construction.
    """

    code: str
    order: int
    status: str  # "planned" | "open" | "closed"
    enrolled: int
    evaluable: int
    dlts: int
    in_dlt_window: int
    drafts_to_confirm: tuple[Message | str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code:
            raise ValueError(f"level code must be a non-empty string, got {self.code!r}")
        whole_number(self.order, f"level {self.code}: order")
        if self.status not in LEVEL_STATUSES:
            raise ValueError(f"level {self.code}: status must be one of {LEVEL_STATUSES}, got {self.status!r}")
        for name in ("enrolled", "evaluable", "dlts", "in_dlt_window"):
            if whole_number(getattr(self, name), f"level {self.code}: {name}") < 0:
                raise ValueError(f"level {self.code}: {name} must not be negative, got {getattr(self, name)}")
        if self.evaluable > self.enrolled:
            raise ValueError(_("level %(level)s: %(evaluable)d evaluable but only %(enrolled)d enrolled") % {
                "level": self.code, "evaluable": self.evaluable, "enrolled": self.enrolled})
        if self.dlts > self.evaluable:
            raise ValueError(_("level %(level)s: %(dlts)d with a DLT but only %(evaluable)d evaluable (a participant "
                               "with a DLT is DLT-evaluable)") % {
                "level": self.code, "dlts": self.dlts, "evaluable": self.evaluable})
        if self.in_dlt_window > self.enrolled:
            raise ValueError(_("level %(level)s: %(open)d inside the DLT window but only %(enrolled)d enrolled") % {
                "level": self.code, "open": self.in_dlt_window, "enrolled": self.enrolled})
        if self.status == PLANNED and self.enrolled:
            raise ValueError(_("level %(level)s is planned (never opened) but has %(n)d enrolled") % {
                "level": self.code, "n": self.enrolled})
        if not isinstance(self.drafts_to_confirm, tuple) or not all(
                is_message(draft) or (isinstance(draft, str) and draft) for draft in self.drafts_to_confirm):
            raise ValueError(f"level {self.code}: drafts_to_confirm must be a tuple of sentences")
        if self.drafts_to_confirm and not self.in_dlt_window:
            raise ValueError(_("level %(level)s: an adverse event draft to confirm leaves its participant's DLT "
                               "assessment open, but nobody is counted as not final") % {"level": self.code})


@dataclass(frozen=True)
class Proposal:
    """The proposed escalation decision, for an investigator to record and sign (section 4).

    ``action`` is one of :data:`PROPOSAL_ACTIONS`. ``level``: for ``wait`` the level being waited
    on (the lowest level, to be opened, when none is open yet); ``escalate`` the
    next level to open; ``expand`` the level to treat 3 more at; ``stop`` the recommended dose, or
    ``None`` when the lowest dose is too toxic; ``choose_expansion_dose`` ``None`` (the
    investigators choose from safety and efficacy data this module does not see). ``rule`` is the
    :data:`THREE_PLUS_THREE` row applied, ``None`` while waiting.
    """

    action: str
    level: str | None
    message: Message  # the reason, as a message (`dosing.escalation_messages`); a text is kept as written
    rule: ThreePlusThreeRule | None = None

    __hash__ = None  # the message is a mapping

    def __post_init__(self) -> None:
        if not is_message(self.message):
            object.__setattr__(self, "message", text(str(self.message)))

    @property
    def reason(self) -> str:
        """The reason in the active language."""
        return render(self.message)


# --------------------------------------------------------------------------- propose


def _dlt_count_text(level: LevelState) -> Message:
    count = message("escalation_dlt_count", dlts=level.dlts, evaluable=level.evaluable, level=level.code)
    return _still_inside(count, level) if level.in_dlt_window else count


def _still_inside(text: Message, level: LevelState) -> Message:
    return message("escalation_still_open", text=text, n=level.in_dlt_window)


def _pending_reason(level: LevelState, target: int) -> Message | None:
    """Why ``level`` cannot be judged on ``target`` evaluable participants yet, or ``None``; the
    adverse event drafts to confirm come first."""
    reason = _counts_pending_reason(level, target)
    if reason:
        for draft in reversed(level.drafts_to_confirm):
            reason = message("escalation_draft_first", draft=draft, then=reason)
    return reason


def _counts_pending_reason(level: LevelState, target: int) -> Message | None:
    if level.enrolled < target:
        reason = message("escalation_enrol_more", level=level.code, enrolled=level.enrolled, target=target,
                         more=target - level.enrolled)
        if level.in_dlt_window:
            reason = _still_inside(reason, level)
        return message("escalation_sentence", sentence=reason)
    if level.in_dlt_window:
        return message("escalation_wait_window", level=level.code, evaluable=level.evaluable, target=target,
                       inside=level.in_dlt_window, dlts=level.dlts)
    if level.evaluable < target:
        return message("escalation_replace", level=level.code, enrolled=level.enrolled, evaluable=level.evaluable,
                       target=target, more=target - level.evaluable)
    return None


@dataclass(frozen=True)
class _Assessment:
    """One level judged: still ``pending`` (a wait reason), or a ``verdict`` with the table row
    that gave it (``rule`` is None when the verdict comes from the level above being exceeded)."""

    pending: Message | None = None
    verdict: str | None = None
    rule: ThreePlusThreeRule | None = None


def _assess_to_six(level: LevelState, cohort_size: int, expansion_size: int) -> _Assessment:
    """Judge a level that needs ``expansion_size`` evaluable: one DLT among its first cohort, or
    the level below an exceeded dose (section 4). Never called with >= 2 DLTs.

    While nobody beyond the first cohort is enrolled, the first cohort is judged and, once
    complete, gives "expand"; after that the expanded cohort is judged.
    """
    if level.enrolled <= cohort_size:
        pending = _pending_reason(level, cohort_size)
        if pending:
            return _Assessment(pending=pending)
        rule = three_plus_three_rule(FIRST_COHORT, level.dlts)
        return _Assessment(verdict=VERDICT_EXPAND, rule=rule if rule.verdict == VERDICT_EXPAND else None)
    pending = _pending_reason(level, expansion_size)
    if pending:
        return _Assessment(pending=pending)
    rule = three_plus_three_rule(EXPANDED_COHORT, level.dlts)
    return _Assessment(verdict=rule.verdict, rule=rule)


def _assess(level: LevelState, cohort_size: int, expansion_size: int) -> _Assessment:
    """The ordinary 3+3 judgement of a level (no dose exceeded anywhere): a level without a DLT
    is judged on its first cohort, a level with one DLT needs ``expansion_size``."""
    if level.dlts >= 1:
        return _assess_to_six(level, cohort_size, expansion_size)
    pending = _pending_reason(level, cohort_size)
    if pending:
        return _Assessment(pending=pending)
    rule = three_plus_three_rule(FIRST_COHORT, 0)
    return _Assessment(verdict=rule.verdict, rule=rule)


def _tally(levels: Sequence[LevelState]) -> str:
    return ", ".join(f"{level.code} {level.dlts}/{level.evaluable}" for level in levels if level.status != PLANNED)


def _current_level(levels: Sequence[LevelState]) -> LevelState | None:
    """The highest open level, or the highest closed one when none is open (levels escalate in
    order, so the highest closed level is the most recently closed)."""
    for status in (OPEN, CLOSED):
        candidates = [level for level in levels if level.status == status]
        if candidates:
            return candidates[-1]
    return None


def _dose_exceeded(
    levels: Sequence[LevelState], exceeded: LevelState, cohort_size: int, expansion_size: int
) -> Proposal:
    """Section 4: ">= 2 of 3 or >= 2 of 6: dose exceeded; stop; the recommended dose is the level
    below, which needs 6 treated with <= 1 DLT"."""
    expanded = exceeded.enrolled > cohort_size
    rule = three_plus_three_rule(EXPANDED_COHORT if expanded else FIRST_COHORT, exceeded.dlts)
    why = message("escalation_exceeded", count=_dlt_count_text(exceeded))
    if exceeded.in_dlt_window or exceeded.evaluable < (expansion_size if expanded else cohort_size):
        why = message("escalation_exceeded_at_once", why=why, n=DOSE_EXCEEDED_DLTS)
    below = [level for level in levels if level.order < exceeded.order]
    if not below:
        return Proposal(STOP, None, message("escalation_lowest_too_toxic", why=why), rule)
    recommended = below[-1]
    needs = message("escalation_needs_below", level=recommended.code, n=expansion_size)
    assessment = _assess_to_six(recommended, cohort_size, expansion_size)
    if assessment.verdict == VERDICT_EXPAND or (
        # a level below that is closed with only its first cohort has to be re-opened and
        # expanded, whatever state that cohort was left in
        assessment.pending and recommended.enrolled <= cohort_size and recommended.status != OPEN
    ):
        return Proposal(
            EXPAND,
            recommended.code,
            message("escalation_expand_below", why=why, needs=needs, treated=recommended.enrolled,
                    dlts=recommended.dlts, more=expansion_size - recommended.enrolled, level=recommended.code),
            rule,
        )
    if assessment.pending:
        return Proposal(WAIT, recommended.code,
                        message("escalation_wait_below", why=why, needs=needs, pending=assessment.pending))
    return Proposal(
        STOP,
        recommended.code,
        message("escalation_stop_below", why=why, count=_dlt_count_text(recommended), level=recommended.code),
        rule,
    )


def propose(levels: Sequence[LevelState], *, cohort_size: int = 3, expansion_size: int = 6) -> Proposal:
    """Propose the next escalation decision from the recorded DLTs (CLINICAL_RULES.md section 4).

    The rules, in order:

    1. **Dose exceeded**: the lowest level with >= 2 DLTs decides at once, even while others at
       that level are still being assessed (two DLTs exceed the dose whatever they show). The
       recommended dose is the level below, which needs ``expansion_size`` treated with <= 1 DLT:
       ``stop`` with that level when it has them; ``expand`` at it when it has only its first
       cohort; ``wait`` on it while its expansion enrols or is inside the DLT window; ``stop``
       with level ``None`` when there is no level below ("lowest dose too toxic").
    2. No level opened yet: ``wait`` on the lowest level ("open level A").
    3. The **current level** is the highest open level, or the highest closed one if none is
       open. It is judged with :data:`THREE_PLUS_THREE`: a level without a DLT on its first
       cohort (3), a level with one DLT on ``expansion_size`` (6).
    4. ``wait`` while the current level has places left ("level A has 1 of 3 places enrolled;
       enrol 2 more" - this module's mapping of "enrol", which is not an API action), anyone
       inside the DLT window, or too few evaluable (replacements needed).
    5. Then ``expand`` (1 of 3), or "escalate" (0 of 3, <= 1 of 6): ``escalate`` to the next
       level, or ``choose_expansion_dose`` at the top level ("maximum administered dose reached
       without exceeding") - and also once the top level is done and the investigators have
       re-opened a lower level as the dose to expand (P2's final decision; there is nothing left
       to escalate to).

    The proposal is computed from counts only: ``expand`` remains the proposal after the
    investigator has signed it until the first participant of the expansion is enrolled, and once
    the top level is done ``choose_expansion_dose`` remains the proposal for the rest of the study
    (apart from ``wait`` while the chosen dose's expansion is enrolled and assessed); the
    escalation service shows the signed decision next to it. Raises ``ValueError`` for no levels,
    duplicate codes or orders, or bad cohort sizes.
    """
    cohort_size = whole_number(cohort_size, "cohort_size")
    expansion_size = whole_number(expansion_size, "expansion_size")
    if cohort_size < 1 or expansion_size <= cohort_size:
        raise ValueError(
            f"need 1 <= cohort_size < expansion_size, got cohort_size={cohort_size}, expansion_size={expansion_size}"
        )
    levels = sorted(levels, key=lambda level: level.order)
    if not levels:
        raise ValueError(_("propose needs at least one dose level"))
    if len({level.code for level in levels}) != len(levels):
        raise ValueError(_("dose level codes must be unique"))
    if len({level.order for level in levels}) != len(levels):
        raise ValueError(_("dose level orders must be unique"))

    exceeded = next((level for level in levels if level.dlts >= DOSE_EXCEEDED_DLTS), None)
    if exceeded is not None:
        return _dose_exceeded(levels, exceeded, cohort_size, expansion_size)

    current = _current_level(levels)
    if current is None:
        first = levels[0]
        return Proposal(WAIT, first.code, message("escalation_none_open", level=first.code))

    assessment = _assess(current, cohort_size, expansion_size)
    if assessment.pending:
        return Proposal(WAIT, current.code, assessment.pending)
    if assessment.verdict == VERDICT_EXPAND:
        return Proposal(
            EXPAND,
            current.code,
            message("escalation_expand", count=_dlt_count_text(current), more=expansion_size - current.enrolled,
                    level=current.code),
            assessment.rule,
        )

    top = levels[-1]
    if current is top:
        return Proposal(
            CHOOSE_EXPANSION_DOSE,
            None,
            message("escalation_choose_top", count=_dlt_count_text(current), n=expansion_size, tally=_tally(levels)),
            assessment.rule,
        )
    top_assessment = _assess(top, cohort_size, expansion_size)
    if top.status != PLANNED and top_assessment.verdict == VERDICT_ESCALATE:
        return Proposal(
            CHOOSE_EXPANSION_DOSE,
            None,
            message("escalation_choose_done", level=top.code, tally=_tally(levels), count=_dlt_count_text(current),
                    n=expansion_size),
            assessment.rule,
        )
    next_level = levels[levels.index(current) + 1]
    return Proposal(
        ESCALATE,
        next_level.code,
        message("escalation_escalate", count=_dlt_count_text(current), level=next_level.code),
        assessment.rule,
    )
