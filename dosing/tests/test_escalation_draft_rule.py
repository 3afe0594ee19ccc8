"""Adverse event drafts in the pure 3+3 rule (dosing/escalation.py, CLINICAL_RULES.md section 4):
a draft that could be a DLT keeps its participant's assessment open. No database, no Django."""
import pytest

from dosing.escalation import ESCALATE, EXPAND, STOP, WAIT, LevelState, could_be_dlt, propose
from dosing.escalation_decisions import allowed_decisions

DRAFT = "The adverse event draft of P-001 on 2026-10-01 must be confirmed or dismissed before the rule can decide."


def level(code, status, enrolled=0, evaluable=0, dlts=0, in_dlt_window=0, drafts=()):
    return LevelState(code=code, order="ABC".index(code) + 1, status=status, enrolled=enrolled, evaluable=evaluable,
                      dlts=dlts, in_dlt_window=in_dlt_window, drafts_to_confirm=drafts)


PLANNED_B_C = [level("B", "planned"), level("C", "planned")]


# (grade, category, related, flags) -> could it be a DLT once confirmed (section 4's definition)
@pytest.mark.parametrize(("grade", "category", "related", "flags", "expected"), [
    (4, "non_haematological", "possible", {}, True),
    (3, "infusion_reaction", "probable", {}, True),
    (2, "non_haematological", "definite", {}, False),  # grade >= 3 needed
    (4, "non_haematological", "unrelated", {}, False),  # must be treatment-related
    (4, "non_haematological", "unlikely", {}, False),
    (3, "haematological", "possible", {}, False),  # haematological: only grade 5, platelet drop, stop
    (3, "haematological", "possible", {"platelet_drop_confirmed": True}, True),
    (3, "fever", "possible", {"resolved_to_grade1_within_48h": True}, False),  # the 48 h exception
    (None, "infusion_reaction", "", {}, True),  # not graded, not attributed yet: taken at its worst
    (None, "haematological", "possible", {}, True),  # ungraded: could be grade 5
    (None, "fever", "unrelated", {}, False),  # unrelated whatever its grade
    (2, "allergic", "", {}, False),  # grade 2 whatever its attribution
    (3, "allergic", "", {}, True),
])
def test_could_be_dlt_is_is_dlt_without_the_confirmation(grade, category, related, flags, expected):
    assert could_be_dlt(grade=grade, category=category, related=related, **flags) is expected


def test_propose_draft_at_a_complete_cohort_waits_naming_the_draft():
    levels = [level("A", "open", 3, 3, 0, 1, drafts=(DRAFT,))] + PLANNED_B_C

    proposal = propose(levels)

    assert (proposal.action, proposal.level, proposal.rule) == (WAIT, "A", None)
    assert proposal.reason == (DRAFT + " Level A: 3 of 3 participants DLT-evaluable, 1 still inside the DLT window "
                                       "or not yet evaluable; wait for their DLT assessment (0 with a DLT so far).")
    assert (ESCALATE, "B") not in allowed_decisions(levels, proposal)


def test_propose_draft_at_the_level_below_an_exceeded_dose_waits_naming_it():
    levels = [level("A", "closed", 6, 6, 1, 1, drafts=(DRAFT,)), level("B", "closed", 3, 3, 2), level("C", "planned")]

    proposal = propose(levels)

    assert (proposal.action, proposal.level) == (WAIT, "A")
    assert DRAFT in proposal.reason
    assert (STOP, "A") not in allowed_decisions(levels, proposal)


def test_propose_without_drafts_escalates_as_before():
    assert (propose([level("A", "open", 3, 3, 0, 0)] + PLANNED_B_C).action) == ESCALATE


def test_propose_draft_with_one_dlt_still_waits_before_expanding():
    proposal = propose([level("A", "open", 3, 3, 1, 1, drafts=(DRAFT,))] + PLANNED_B_C)

    assert (proposal.action, proposal.level) == (WAIT, "A")
    assert proposal.reason.startswith(DRAFT)
    assert proposal.action != EXPAND


@pytest.mark.parametrize(("fields", "message"), [
    ({"in_dlt_window": 0, "drafts": (DRAFT,)}, "an adverse event draft to confirm leaves its participant's DLT "
                                               "assessment open"),
    ({"in_dlt_window": 1, "drafts": ("",)}, "drafts_to_confirm must be a tuple of sentences"),
    ({"in_dlt_window": 1, "drafts": [DRAFT]}, "drafts_to_confirm must be a tuple of sentences"),
])
def test_level_state_inconsistent_drafts_raise(fields, message):
    with pytest.raises(ValueError, match=message):
        level("A", "open", 3, 3, 0, **fields)
