"""Which signed decisions the 3+3 rule allows given its proposal (CLINICAL_RULES.md section 4):
"A decision may differ from the proposal only towards safety (wait, expand the current level,
stop, de-escalate) ... a level above what the rule allows is never opened."

Each scenario gives the proposal of `propose` (checked first) and the exact set of allowed
decisions, derived from the rule: the proposal itself; expand the current level or a lower
opened one; stop with no level, or naming as recommended dose an opened level up to the
proposal's that has 6 treated with <= 1 DLT, all assessed ("the recommended dose is the level
below, which needs 6 treated with <= 1 DLT"); choose the expansion dose only when proposed; never
a level at or above an exceeded one, never a level never opened except the one the proposal
escalates to. Waiting is signing nothing.
"""
import pytest

from dosing.escalation import CHOOSE_EXPANSION_DOSE, ESCALATE, EXPAND, STOP, WAIT, LevelState, propose
from dosing.escalation_decisions import (
    DECISION_ACTIONS,
    allowed_decisions,
    decision_refusal,
    rule_text,
    signature_meaning,
)


def lv(code, status, enrolled=0, evaluable=0, dlts=0, in_window=0):
    return LevelState(code=code, order="ABC".index(code) + 1, status=status, enrolled=enrolled, evaluable=evaluable,
                      dlts=dlts, in_dlt_window=in_window)


SCENARIOS = {
    # B enrolling (1 of 3): wait on B. Neither A nor B has 6 treated: stop names no dose.
    "wait": ([lv("A", "closed", 3, 3), lv("B", "open", 1, 0, 0, 1), lv("C", "planned")], (WAIT, "B"),
             {(EXPAND, "A"), (EXPAND, "B"), (STOP, None)}),
    # B: 0 of 3 with a DLT: escalate to C. Stop names no dose (3 treated at A and at B).
    "escalate": ([lv("A", "closed", 3, 3), lv("B", "open", 3, 3), lv("C", "planned")], (ESCALATE, "C"),
                 {(ESCALATE, "C"), (EXPAND, "A"), (EXPAND, "B"), (STOP, None)}),
    # B: 1 of 3 with a DLT: treat 3 more at B. Stop names no dose.
    "expand": ([lv("A", "closed", 3, 3), lv("B", "open", 3, 3, 1), lv("C", "planned")], (EXPAND, "B"),
               {(EXPAND, "A"), (EXPAND, "B"), (STOP, None)}),
    # B: 1 of 6 with a DLT: escalate to C; B (6 treated, 1 DLT) may be named by a stop, A (3) not.
    "escalate_after_six": ([lv("A", "closed", 3, 3), lv("B", "open", 6, 6, 1), lv("C", "planned")], (ESCALATE, "C"),
                           {(ESCALATE, "C"), (EXPAND, "A"), (EXPAND, "B"), (STOP, None), (STOP, "B")}),
    # Only 3 treated at A, 0 DLT: escalate to B; stop A is not offered (A needs 6 first).
    "escalate_from_a": ([lv("A", "open", 3, 3), lv("B", "planned"), lv("C", "planned")], (ESCALATE, "B"),
                        {(ESCALATE, "B"), (EXPAND, "A"), (STOP, None)}),
    # B exceeded the dose; A has 6 treated but one still inside the DLT window: wait, no stop A yet.
    "stop_pending": ([lv("A", "open", 6, 6, 0, 1), lv("B", "closed", 3, 3, 2), lv("C", "planned")], (WAIT, "A"),
                     {(EXPAND, "A"), (STOP, None)}),
    # B exceeded the dose; A has only its first 3: expand A to 6 (stop names no dose).
    "stop_needs_expansion": ([lv("A", "closed", 3, 3), lv("B", "open", 3, 3, 2), lv("C", "planned")], (EXPAND, "A"),
                             {(EXPAND, "A"), (STOP, None)}),
    # B exceeded the dose (2 of 3); A has 6 treated with no DLT: stop, A recommended.
    "stop": ([lv("A", "closed", 6, 6), lv("B", "open", 3, 3, 2), lv("C", "planned")], (STOP, "A"),
             {(EXPAND, "A"), (STOP, None), (STOP, "A")}),
    # A exceeded the dose at the lowest level: stop without a recommended dose.
    "stop_lowest": ([lv("A", "open", 3, 3, 2), lv("B", "planned"), lv("C", "planned")], (STOP, None),
                    {(STOP, None)}),
    # C, the top level, 0 of 3: the investigators choose the dose to expand.
    "choose": ([lv("A", "closed", 3, 3), lv("B", "closed", 3, 3), lv("C", "open", 3, 3)], (CHOOSE_EXPANSION_DOSE, None),
               {(CHOOSE_EXPANSION_DOSE, code) for code in "ABC"} | {(EXPAND, code) for code in "ABC"}
               | {(STOP, None)}),
    # No level opened yet: wait on A, which only an escalation to A opens.
    "nothing_open": ([lv("A", "planned"), lv("B", "planned"), lv("C", "planned")], (WAIT, "A"),
                     {(ESCALATE, "A"), (STOP, None)}),
}
ALL_DECISIONS = [(action, code) for action in DECISION_ACTIONS for code in "ABC"] + [(STOP, None)]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_scenario_proposal_is_what_propose_says(name):
    levels, proposal, _allowed = SCENARIOS[name]
    assert (propose(levels).action, propose(levels).level) == proposal


@pytest.mark.parametrize("name, decision", [(name, decision) for name in SCENARIOS for decision in ALL_DECISIONS])
def test_decision_allowed_given_the_proposal(name, decision):
    levels, _proposal, allowed = SCENARIOS[name]
    refusal = decision_refusal(levels, propose(levels), *decision)
    if decision in allowed:
        assert refusal is None
    else:
        assert refusal is not None and refusal.startswith(
            f'The 3+3 rule does not allow "{" ".join(filter(None, decision))}"')
        assert refusal.endswith("a level above what the rule allows is never opened.")


@pytest.mark.parametrize("name", SCENARIOS)
def test_allowed_decisions_lists_exactly_the_allowed_ones_with_the_proposal_first(name):
    levels, proposal, allowed = SCENARIOS[name]
    decisions = allowed_decisions(levels, propose(levels))
    assert set(decisions) == allowed and len(decisions) == len(allowed)
    if proposal in allowed:
        assert decisions[0] == proposal


def test_escalating_while_the_rule_says_wait_is_refused_citing_the_rule():
    levels = [lv("A", "open", 3, 0, 0, 3), lv("B", "planned"), lv("C", "planned")]
    proposal = propose(levels)
    assert decision_refusal(levels, proposal, ESCALATE, "B") == (
        'The 3+3 rule does not allow "escalate B": only the level the rule escalates to may be opened, and the rule '
        'does not escalate to B now. The proposal is "wait A" under rule "wait: Level A: 0 of 3 participants '
        'DLT-evaluable, 3 still inside the DLT window or not yet evaluable; wait for their DLT assessment (0 with a '
        'DLT so far).". A decision may differ from the proposal only towards safety (wait, expand the current level, '
        'stop, de-escalate); a level above what the rule allows is never opened.')


def test_escalating_past_the_proposed_level_is_refused():
    levels, *_ = SCENARIOS["escalate"]
    assert "the rule does not escalate to A now" in decision_refusal(levels, propose(levels), ESCALATE, "A")


def test_a_level_above_an_exceeded_dose_is_never_used():
    levels, *_ = SCENARIOS["stop"]
    assert decision_refusal(levels, propose(levels), EXPAND, "B").startswith(
        'The 3+3 rule does not allow "expand B": level B exceeded the dose (2 DLTs): B may not be used.')


def test_a_decision_that_is_not_a_signed_action_is_an_error():
    levels, *_ = SCENARIOS["wait"]
    with pytest.raises(ValueError):
        decision_refusal(levels, propose(levels), WAIT, "B")


@pytest.mark.parametrize("name, action, level, meaning", [
    ("escalate", ESCALATE, "C", 'I approve escalate C under rule "0 of 3 with a DLT: escalate" '
                                "(the 3+3 rule of the study)."),
    ("stop_lowest", STOP, None, 'I approve stop under rule ">= 2 of 3 with a DLT: dose exceeded, stop" '
                                "(the 3+3 rule of the study)."),
    ("wait", EXPAND, "B", 'I approve expand B under rule "wait: Level B has 1 of 3 places enrolled; enrol 2 more '
                          '(1 still inside the DLT window or not yet evaluable)." (the 3+3 rule of the study).'),
])
def test_signature_meaning_states_the_decision_and_the_rule(name, action, level, meaning):
    levels, *_ = SCENARIOS[name]
    assert signature_meaning(action, level, rule_text(propose(levels))) == meaning


@pytest.mark.parametrize(("evaluable", "dlts", "in_window", "allowed"), [
    (6, 0, 0, True),
    (6, 1, 0, True),  # <= 1 DLT of 6
    (7, 1, 0, True),  # a replacement made the level 7 evaluable
    (5, 0, 0, False),  # fewer than 6 treated
    (3, 0, 0, False),
    (6, 0, 1, False),  # someone's assessment not final yet
])
def test_stop_names_a_recommended_dose_only_with_6_treated_and_at_most_1_dlt(evaluable, dlts, in_window, allowed):
    levels = [lv("A", "closed", evaluable, evaluable, dlts, in_window), lv("B", "open", 3, 3), lv("C", "planned")]
    refusal = decision_refusal(levels, propose(levels), STOP, "A")
    if allowed:
        assert refusal is None
    else:
        assert refusal.startswith(
            f'The 3+3 rule does not allow "stop A": the recommended dose needs 6 treated with <= 1 DLT, and level A '
            f"has {evaluable} DLT-evaluable ({dlts} with a DLT, {in_window} not final); expand A to 6 first, or stop "
            "without a recommended dose.")
    assert decision_refusal(levels, propose(levels), STOP, None) is None
