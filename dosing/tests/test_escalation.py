"""Tests for dosing/escalation.py (CLINICAL_RULES.md section 4, 3+3). No database, no Django."""

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dosing.escalation import (
    CHOOSE_EXPANSION_DOSE,
    ESCALATE,
    EXPAND,
    EXPANDED_COHORT,
    FIRST_COHORT,
    PROPOSAL_ACTIONS,
    STOP,
    THREE_PLUS_THREE,
    WAIT,
    LevelState,
    Proposal,
    dlt_window,
    is_dlt,
    is_dlt_evaluable,
    propose,
    three_plus_three_rule,
)
from trials.messages import english

# The rows of the 3+3 table, by name, so that each case below cites the row it exercises.
ESCALATE_0_OF_3, EXPAND_1_OF_3, EXCEEDED_OF_3, ESCALATE_LE1_OF_6, EXCEEDED_OF_6 = THREE_PLUS_THREE

API_ACTIONS = ("wait", "escalate", "expand", "stop", "choose_expansion_dose")  # API.md, "Dose escalation"


def as_worded(proposal):
    """The proposal with its reason as its English words, to compare with a proposal worded so."""
    return Proposal(proposal.action, proposal.level, english(proposal.message), proposal.rule)


def level(code, status, enrolled=0, evaluable=0, dlts=0, in_dlt_window=0):
    return LevelState(
        code=code,
        order="ABC".index(code) + 1,
        status=status,
        enrolled=enrolled,
        evaluable=evaluable,
        dlts=dlts,
        in_dlt_window=in_dlt_window,
    )


def cohort(code, status, treated, dlts):
    """A level whose ``treated`` participants are all DLT-evaluable and out of the window."""
    return level(code, status, enrolled=treated, evaluable=treated, dlts=dlts)


# --------------------------------------------------------------------------- the table as data


def test_three_plus_three_table_is_section_4():
    assert [(row.cohort, row.min_dlts, row.max_dlts, row.verdict) for row in THREE_PLUS_THREE] == [
        (FIRST_COHORT, 0, 0, "escalate"),
        (FIRST_COHORT, 1, 1, "expand"),
        (FIRST_COHORT, 2, None, "dose_exceeded"),
        (EXPANDED_COHORT, 0, 1, "escalate"),
        (EXPANDED_COHORT, 2, None, "dose_exceeded"),
    ]


@pytest.mark.parametrize(
    "cohort_name, dlts, row",
    [
        (FIRST_COHORT, 0, ESCALATE_0_OF_3),
        (FIRST_COHORT, 1, EXPAND_1_OF_3),
        (FIRST_COHORT, 2, EXCEEDED_OF_3),
        (FIRST_COHORT, 3, EXCEEDED_OF_3),
        (EXPANDED_COHORT, 0, ESCALATE_LE1_OF_6),
        (EXPANDED_COHORT, 1, ESCALATE_LE1_OF_6),
        (EXPANDED_COHORT, 2, EXCEEDED_OF_6),
        (EXPANDED_COHORT, 6, EXCEEDED_OF_6),
    ],
)
def test_three_plus_three_rule_lookup_by_cohort_and_dlts(cohort_name, dlts, row):
    assert three_plus_three_rule(cohort_name, dlts) is row


def test_three_plus_three_rule_unknown_cohort_raises():
    with pytest.raises(ValueError, match="no 3\\+3 rule for cohort 'second'"):
        three_plus_three_rule("second", 0)


def test_proposal_actions_are_the_api_names():
    assert PROPOSAL_ACTIONS == API_ACTIONS


# --------------------------------------------------------------------------- every row at the bottom, middle, top

B_PLANNED = level("B", "planned")
C_PLANNED = level("C", "planned")
A_DONE_3 = cohort("A", "closed", 3, 0)
B_DONE_6 = cohort("B", "closed", 6, 1)

TABLE_CASES = [
    # bottom level A; nothing below it, so a dose exceeded at A is "lowest dose too toxic"
    ("A 0/3", [cohort("A", "open", 3, 0), B_PLANNED, C_PLANNED], ESCALATE, "B", ESCALATE_0_OF_3),
    ("A 1/3", [cohort("A", "open", 3, 1), B_PLANNED, C_PLANNED], EXPAND, "A", EXPAND_1_OF_3),
    ("A 2/3", [cohort("A", "open", 3, 2), B_PLANNED, C_PLANNED], STOP, None, EXCEEDED_OF_3),
    ("A 3/3", [cohort("A", "open", 3, 3), B_PLANNED, C_PLANNED], STOP, None, EXCEEDED_OF_3),
    ("A 1/6", [cohort("A", "open", 6, 1), B_PLANNED, C_PLANNED], ESCALATE, "B", ESCALATE_LE1_OF_6),
    ("A 2/6", [cohort("A", "open", 6, 2), B_PLANNED, C_PLANNED], STOP, None, EXCEEDED_OF_6),
    ("A 3/6", [cohort("A", "open", 6, 3), B_PLANNED, C_PLANNED], STOP, None, EXCEEDED_OF_6),
    # middle level B; A below it had only 3, so a dose exceeded at B means "expand A"
    ("B 0/3", [A_DONE_3, cohort("B", "open", 3, 0), C_PLANNED], ESCALATE, "C", ESCALATE_0_OF_3),
    ("B 1/3", [A_DONE_3, cohort("B", "open", 3, 1), C_PLANNED], EXPAND, "B", EXPAND_1_OF_3),
    ("B 2/3", [A_DONE_3, cohort("B", "open", 3, 2), C_PLANNED], EXPAND, "A", EXCEEDED_OF_3),
    ("B 3/3", [A_DONE_3, cohort("B", "open", 3, 3), C_PLANNED], EXPAND, "A", EXCEEDED_OF_3),
    ("B 1/6", [A_DONE_3, cohort("B", "open", 6, 1), C_PLANNED], ESCALATE, "C", ESCALATE_LE1_OF_6),
    ("B 2/6", [A_DONE_3, cohort("B", "open", 6, 2), C_PLANNED], EXPAND, "A", EXCEEDED_OF_6),
    ("B 4/6", [A_DONE_3, cohort("B", "open", 6, 4), C_PLANNED], EXPAND, "A", EXCEEDED_OF_6),
    # top level C; B below it has 6 with 1 DLT, so a dose exceeded at C means "stop, B"
    ("C 0/3", [A_DONE_3, B_DONE_6, cohort("C", "open", 3, 0)], CHOOSE_EXPANSION_DOSE, None, ESCALATE_0_OF_3),
    ("C 1/3", [A_DONE_3, B_DONE_6, cohort("C", "open", 3, 1)], EXPAND, "C", EXPAND_1_OF_3),
    ("C 2/3", [A_DONE_3, B_DONE_6, cohort("C", "open", 3, 2)], STOP, "B", EXCEEDED_OF_3),
    ("C 3/3", [A_DONE_3, B_DONE_6, cohort("C", "open", 3, 3)], STOP, "B", EXCEEDED_OF_3),
    ("C 1/6", [A_DONE_3, B_DONE_6, cohort("C", "open", 6, 1)], CHOOSE_EXPANSION_DOSE, None, ESCALATE_LE1_OF_6),
    ("C 2/6", [A_DONE_3, B_DONE_6, cohort("C", "open", 6, 2)], STOP, "B", EXCEEDED_OF_6),
    ("C 5/6", [A_DONE_3, B_DONE_6, cohort("C", "open", 6, 5)], STOP, "B", EXCEEDED_OF_6),
]


@pytest.mark.parametrize(
    "levels, action, level_code, row",
    [case[1:] for case in TABLE_CASES],
    ids=[case[0] for case in TABLE_CASES],
)
def test_propose_three_plus_three_row_at_each_position(levels, action, level_code, row):
    proposal = propose(levels)

    assert (proposal.action, proposal.level, proposal.rule) == (action, level_code, row)


def test_propose_cases_cover_every_row_of_the_table():
    assert {case[4] for case in TABLE_CASES} == set(THREE_PLUS_THREE)


@pytest.mark.parametrize("closed_or_open", ["open", "closed"])
def test_propose_current_level_closed_when_none_open(closed_or_open):
    proposal = propose([cohort("A", closed_or_open, 3, 0), B_PLANNED, C_PLANNED])

    assert (proposal.action, proposal.level) == (ESCALATE, "B")


# --------------------------------------------------------------------------- reasons cite the counts


def test_propose_escalate_reason_cites_counts():
    proposal = propose([cohort("A", "open", 3, 0), B_PLANNED, C_PLANNED])

    assert proposal.reason == "0 of 3 evaluable participants at level A had a DLT: escalate to B (3+3)."


def test_propose_expand_reason_cites_counts():
    proposal = propose([cohort("A", "open", 3, 1), B_PLANNED, C_PLANNED])

    assert proposal.reason == "1 of 3 evaluable participants at level A had a DLT: treat 3 more at A (3+3)."


def test_propose_top_level_reason_is_maximum_administered_dose():
    proposal = propose([A_DONE_3, B_DONE_6, cohort("C", "open", 3, 0)])

    assert proposal.reason == (
        "0 of 3 evaluable participants at level C had a DLT, the top level: maximum administered dose "
        "reached without exceeding; the investigators choose one dose and expand it to 6 "
        "(A 0/3, B 1/6, C 0/3)."
    )


def test_propose_lowest_dose_too_toxic_reason():
    proposal = propose([cohort("A", "open", 3, 2), B_PLANNED, C_PLANNED])

    assert as_worded(proposal) == Proposal(
        STOP,
        None,
        "2 of 3 evaluable participants at level A had a DLT: dose exceeded at the lowest level: "
        "lowest dose too toxic, no recommended dose (3+3).",
        EXCEEDED_OF_3,
    )


def test_propose_stop_reason_names_recommended_dose():
    proposal = propose([A_DONE_3, B_DONE_6, cohort("C", "open", 3, 2)])

    assert proposal.reason == (
        "2 of 3 evaluable participants at level C had a DLT: dose exceeded; at the level below, "
        "1 of 6 evaluable participants at level B had a DLT: B is the recommended dose (3+3)."
    )


# --------------------------------------------------------------------------- waiting


def test_propose_waits_while_participant_inside_dlt_window():
    proposal = propose([level("A", "open", enrolled=3, evaluable=2, dlts=0, in_dlt_window=1), B_PLANNED])

    assert as_worded(proposal) == Proposal(
        WAIT,
        "A",
        "Level A: 2 of 3 participants DLT-evaluable, 1 still inside the DLT window or not yet "
        "evaluable; wait for their DLT assessment (0 with a DLT so far).",
    )


def test_propose_waits_when_evaluable_but_still_inside_window():
    # all infusions received (evaluable) but the 28 days after the last one are not over
    proposal = propose([level("A", "open", enrolled=3, evaluable=3, dlts=0, in_dlt_window=1), B_PLANNED])

    assert (proposal.action, proposal.level) == (WAIT, "A")


def test_propose_waits_with_one_dlt_before_the_cohort_is_complete():
    # 1 of 2 so far could still become 2 of 3: neither expand nor stop yet
    proposal = propose([level("A", "open", enrolled=3, evaluable=2, dlts=1, in_dlt_window=1), B_PLANNED])

    assert (proposal.action, proposal.level) == (WAIT, "A")


def test_propose_waits_inside_window_of_expanded_cohort():
    proposal = propose([level("A", "open", enrolled=6, evaluable=5, dlts=1, in_dlt_window=1), B_PLANNED])

    assert as_worded(proposal) == Proposal(
        WAIT,
        "A",
        "Level A: 5 of 6 participants DLT-evaluable, 1 still inside the DLT window or not yet "
        "evaluable; wait for their DLT assessment (1 with a DLT so far).",
    )


@pytest.mark.parametrize(
    "state, reason",
    [
        (level("A", "open"), "Level A has 0 of 3 places enrolled; enrol 3 more."),
        (level("A", "open", 1, 1, 0, 0), "Level A has 1 of 3 places enrolled; enrol 2 more."),
        (
            level("A", "open", 2, 1, 0, 1),
            "Level A has 2 of 3 places enrolled; enrol 1 more (1 still inside the DLT window or not yet evaluable).",
        ),
        (level("A", "open", 4, 3, 1, 0), "Level A has 4 of 6 places enrolled; enrol 2 more."),
    ],
)
def test_propose_waits_with_places_left_to_enrol(state, reason):
    proposal = propose([state, B_PLANNED, C_PLANNED])

    assert as_worded(proposal) == Proposal(WAIT, "A", reason)


def test_propose_waits_for_replacement_of_non_evaluable_participant():
    # one participant stopped infusions without a DLT and left the window: not evaluable
    proposal = propose([level("A", "open", enrolled=3, evaluable=2, dlts=0, in_dlt_window=0), B_PLANNED])

    assert as_worded(proposal) == Proposal(
        WAIT,
        "A",
        "Level A has 3 enrolled but only 2 DLT-evaluable of the 3 needed; enrol 1 more to replace those not evaluable.",
    )


def test_propose_escalates_after_replacement_completes_first_cohort():
    proposal = propose([level("A", "open", enrolled=4, evaluable=3, dlts=0, in_dlt_window=0), B_PLANNED])

    assert (proposal.action, proposal.level, proposal.rule) == (ESCALATE, "B", ESCALATE_0_OF_3)


def test_propose_no_level_open_waits_on_lowest():
    proposal = propose([level("B", "planned"), level("A", "planned"), C_PLANNED])

    assert as_worded(proposal) == Proposal(WAIT, "A", "No dose level is open yet; open level A to start enrolment.")


def test_propose_next_level_opened_waits_for_its_enrolment():
    proposal = propose([A_DONE_3, level("B", "open"), C_PLANNED])

    assert as_worded(proposal) == Proposal(WAIT, "B", "Level B has 0 of 3 places enrolled; enrol 3 more.")


# --------------------------------------------------------------------------- two DLTs are decisive at once


@pytest.mark.parametrize(
    "levels, action, level_code, row",
    [
        ([level("A", "open", 3, 2, 2, 1), B_PLANNED], STOP, None, EXCEEDED_OF_3),
        ([level("A", "open", 2, 2, 2, 0), B_PLANNED], STOP, None, EXCEEDED_OF_3),
        ([A_DONE_3, level("B", "open", 3, 2, 2, 1), C_PLANNED], EXPAND, "A", EXCEEDED_OF_3),
        ([A_DONE_3, level("B", "open", 5, 4, 2, 1), C_PLANNED], EXPAND, "A", EXCEEDED_OF_6),
        ([A_DONE_3, B_DONE_6, level("C", "open", 3, 2, 2, 1)], STOP, "B", EXCEEDED_OF_3),
    ],
    ids=["A 2 of 2 + 1 pending", "A 2 of 2 enrolled", "B 2 of 2 + 1 pending", "B 2 of 4 + 1 pending", "C 2 of 2 + 1"],
)
def test_propose_two_dlts_stop_before_all_evaluable(levels, action, level_code, row):
    proposal = propose(levels)

    assert (proposal.action, proposal.level, proposal.rule) == (action, level_code, row)


def test_propose_two_dlts_reason_says_no_waiting():
    proposal = propose([level("A", "open", 3, 2, 2, 1), B_PLANNED])

    assert proposal.reason == (
        "2 of 2 evaluable participants at level A had a DLT (1 still inside the DLT window or not yet "
        "evaluable): dose exceeded (2 DLTs decide without waiting for the others) at the lowest level: "
        "lowest dose too toxic, no recommended dose (3+3)."
    )


# --------------------------------------------------------------------------- expansion of the level below after a stop

C_EXCEEDED = cohort("C", "closed", 3, 2)


def test_propose_after_stop_expands_closed_level_below():
    proposal = propose([A_DONE_3, cohort("B", "closed", 3, 0), C_EXCEEDED])

    assert as_worded(proposal) == Proposal(
        EXPAND,
        "B",
        "2 of 3 evaluable participants at level C had a DLT: dose exceeded; the recommended dose is the "
        "level below, B, which needs 6 treated with <= 1 DLT and has 3 treated (0 with a DLT): treat 3 "
        "more at B (3+3).",
        EXCEEDED_OF_3,
    )


def test_propose_after_stop_reopened_level_below_still_expand_until_enrolment():
    proposal = propose([A_DONE_3, cohort("B", "open", 3, 0), C_EXCEEDED])

    assert (proposal.action, proposal.level) == (EXPAND, "B")


def test_propose_after_stop_waits_for_expansion_enrolment():
    proposal = propose([A_DONE_3, level("B", "open", 5, 3, 0, 2), C_EXCEEDED])

    assert as_worded(proposal) == Proposal(
        WAIT,
        "B",
        "2 of 3 evaluable participants at level C had a DLT: dose exceeded; the recommended dose is the "
        "level below, B, which needs 6 treated with <= 1 DLT. Level B has 5 of 6 places enrolled; enrol 1 "
        "more (2 still inside the DLT window or not yet evaluable).",
    )


def test_propose_after_stop_waits_for_expansion_dlt_window():
    proposal = propose([A_DONE_3, level("B", "open", 6, 5, 1, 1), C_EXCEEDED])

    assert (proposal.action, proposal.level) == (WAIT, "B")


@pytest.mark.parametrize("dlts", [0, 1])
def test_propose_after_stop_expanded_level_below_tolerated_is_recommended(dlts):
    proposal = propose([A_DONE_3, cohort("B", "open", 6, dlts), C_EXCEEDED])

    assert (proposal.action, proposal.level, proposal.rule) == (STOP, "B", EXCEEDED_OF_3)


def test_propose_after_stop_expanded_level_below_also_exceeded_moves_down():
    proposal = propose([A_DONE_3, cohort("B", "open", 6, 2), C_EXCEEDED])

    assert (proposal.action, proposal.level, proposal.rule) == (EXPAND, "A", EXCEEDED_OF_6)


def test_propose_after_two_stops_expanded_lowest_level_is_recommended():
    proposal = propose([cohort("A", "open", 6, 1), cohort("B", "closed", 6, 2), C_EXCEEDED])

    assert (proposal.action, proposal.level) == (STOP, "A")


def test_propose_after_two_stops_lowest_level_exceeded_too():
    proposal = propose([cohort("A", "open", 6, 2), cohort("B", "closed", 6, 2), C_EXCEEDED])

    assert (proposal.action, proposal.level) == (STOP, None)


def test_propose_exceeded_level_below_an_open_level_still_decides():
    # inconsistent data (B open above an exceeded A) never escalates past a toxic dose
    proposal = propose([cohort("A", "closed", 6, 2), cohort("B", "open", 3, 0), C_PLANNED])

    assert (proposal.action, proposal.level) == (STOP, None)


# --------------------------------------------------------------------------- P2's final step


def test_propose_top_done_and_lower_level_reopened_proposes_choice_not_escalation():
    proposal = propose([A_DONE_3, cohort("B", "open", 3, 0), cohort("C", "closed", 3, 0)])

    assert (proposal.action, proposal.level, proposal.rule) == (CHOOSE_EXPANSION_DOSE, None, ESCALATE_0_OF_3)


def test_propose_chosen_dose_expansion_waits_inside_window():
    proposal = propose([A_DONE_3, level("B", "open", 6, 4, 0, 2), cohort("C", "closed", 3, 0)])

    assert (proposal.action, proposal.level) == (WAIT, "B")


def test_propose_chosen_dose_expansion_complete_keeps_choice():
    proposal = propose([A_DONE_3, cohort("B", "open", 6, 1), cohort("C", "closed", 3, 0)])

    assert proposal.action == CHOOSE_EXPANSION_DOSE
    assert proposal.reason == (
        "All dose levels are done and the top level C was reached without exceeding (A 0/3, B 1/6, C 0/3); "
        "1 of 6 evaluable participants at level B had a DLT: the investigators choose one dose and expand it to 6."
    )


def test_propose_top_level_not_done_lower_level_escalates():
    proposal = propose([A_DONE_3, cohort("B", "open", 3, 0), level("C", "planned")])

    assert (proposal.action, proposal.level) == (ESCALATE, "C")


# --------------------------------------------------------------------------- ordering, parameters, invalid input


def test_propose_input_order_does_not_matter():
    levels = [A_DONE_3, cohort("B", "open", 3, 1), C_PLANNED]

    assert propose(levels[::-1]) == propose(levels)


def test_propose_single_level_study():
    proposal = propose([cohort("A", "open", 3, 0)])

    assert (proposal.action, proposal.level) == (CHOOSE_EXPANSION_DOSE, None)


@pytest.mark.parametrize(
    "levels, kwargs, message",
    [
        ([], {}, "at least one dose level"),
        ([cohort("A", "open", 3, 0), cohort("A", "open", 3, 0)], {}, "codes must be unique"),
        (
            [cohort("A", "open", 3, 0), LevelState("B", 1, "planned", 0, 0, 0, 0)],
            {},
            "orders must be unique",
        ),
        ([cohort("A", "open", 3, 0)], {"cohort_size": 3, "expansion_size": 3}, "cohort_size < expansion_size"),
        ([cohort("A", "open", 3, 0)], {"cohort_size": 0}, "cohort_size < expansion_size"),
    ],
)
def test_propose_invalid_input_raises(levels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        propose(levels, **kwargs)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"status": "paused"}, "status must be one of"),
        ({"code": ""}, "code must be a non-empty string"),
        ({"enrolled": -1, "evaluable": 0}, "enrolled must not be negative"),
        ({"enrolled": 2, "evaluable": 3}, "3 evaluable but only 2 enrolled"),
        ({"evaluable": 1, "dlts": 2}, "2 with a DLT but only 1 evaluable"),
        ({"in_dlt_window": 4}, "4 inside the DLT window but only 3 enrolled"),
        ({"status": "planned"}, "planned \\(never opened\\) but has 3 enrolled"),
        ({"dlts": 1.0}, "dlts must be a whole number"),
    ],
)
def test_level_state_inconsistent_counts_raise(fields, message):
    values = {"code": "A", "order": 1, "status": "open", "enrolled": 3, "evaluable": 3, "dlts": 0, "in_dlt_window": 0}
    values.update(fields)

    with pytest.raises(ValueError, match=message):
        LevelState(**values)


# --------------------------------------------------------------------------- properties over any consistent state


@st.composite
def level_states(draw, code, order):
    status = draw(st.sampled_from(["planned", "open", "closed"]))
    if status == "planned":
        return LevelState(code, order, status, 0, 0, 0, 0)
    enrolled = draw(st.integers(min_value=0, max_value=8))
    evaluable = draw(st.integers(min_value=0, max_value=enrolled))
    dlts = draw(st.integers(min_value=0, max_value=evaluable))
    in_dlt_window = draw(st.integers(min_value=0, max_value=enrolled))
    return LevelState(code, order, status, enrolled, evaluable, dlts, in_dlt_window)


three_levels = st.tuples(level_states("A", 1), level_states("B", 2), level_states("C", 3))


@settings(max_examples=500, deadline=None)
@given(levels=three_levels)
def test_propose_any_state_gives_an_api_action_and_a_reason(levels):
    proposal = propose(levels)

    assert proposal.action in API_ACTIONS
    assert proposal.reason.endswith(".")
    assert proposal.level in (None, "A", "B", "C")


@settings(max_examples=500, deadline=None)
@given(levels=three_levels)
def test_propose_never_points_at_or_above_an_exceeded_dose(levels):
    exceeded = [state.order for state in levels if state.dlts >= 2]
    proposal = propose(levels)

    if exceeded:
        assert proposal.action in (STOP, EXPAND, WAIT)
        if proposal.level is not None:
            assert "ABC".index(proposal.level) + 1 < min(exceeded)


@settings(max_examples=500, deadline=None)
@given(levels=three_levels)
def test_propose_escalates_only_with_everyone_at_the_current_level_assessed(levels):
    proposal = propose(levels)

    if proposal.action == ESCALATE:
        current = levels["ABC".index(proposal.level) - 1]
        assert current.in_dlt_window == 0
        assert current.dlts <= 1
        assert current.evaluable >= (3 if current.dlts == 0 else 6)


# --------------------------------------------------------------------------- DLT definition

DLT_TABLE = [
    # grade, category, related, resolved within 48 h, stopped infusions, platelet drop confirmed, DLT?
    (3, "fever", "possible", True, False, False, False),  # the section 4 exception
    (3, "fever", "possible", False, False, False, True),
    (4, "fever", "probable", True, False, False, True),  # the exception is for grade 3 only
    (2, "fever", "definite", False, False, False, False),
    (4, "non_haematological", "unrelated", False, False, False, False),
    (4, "non_haematological", "unlikely", False, False, False, False),
    (3, "non_haematological", "possible", False, False, False, True),
    (3, "non_haematological", "possible", True, False, False, True),  # 48 h exception is for fever only
    (2, "non_haematological", "definite", False, False, False, False),
    (3, "infusion_reaction", "possible", False, False, False, True),
    (2, "infusion_reaction", "definite", False, False, False, False),
    (3, "allergic", "probable", False, False, False, True),
    (4, "allergic", "unlikely", False, False, False, False),
    (4, "haematological", "definite", False, False, False, False),  # cytopenic at baseline
    (3, "haematological", "possible", False, False, True, True),  # platelet drop confirmed twice
    (1, "haematological", "probable", False, False, True, True),
    (3, "haematological", "unrelated", False, False, True, False),
    (2, "non_haematological", "possible", False, True, False, True),  # stopped the planned infusions
    (1, "haematological", "definite", False, True, False, True),
    (2, "non_haematological", "unrelated", False, True, False, False),
    (5, "non_haematological", "unrelated", False, False, False, False),
    (5, "fever", "unlikely", False, False, False, False),
]

GRADE_5_RELATED = [
    (5, category, related, False, False, False, True)
    for category in ("haematological", "non_haematological", "infusion_reaction", "allergic", "fever")
    for related in ("possible", "probable", "definite")
]


@pytest.mark.parametrize(
    "grade, category, related, resolved, stopped, platelet_drop, expected",
    DLT_TABLE + GRADE_5_RELATED,
)
def test_is_dlt_section_4_table(grade, category, related, resolved, stopped, platelet_drop, expected):
    result, explanation = is_dlt(
        grade=grade,
        category=category,
        related=related,
        resolved_to_grade1_within_48h=resolved,
        stopped_infusions=stopped,
        platelet_drop_confirmed=platelet_drop,
    )

    assert result is expected
    assert explanation.startswith("DLT: " if expected else "Not a DLT: ")
    assert "(section 4" in explanation


@pytest.mark.parametrize(
    "kwargs, explanation",
    [
        (
            {"grade": 3, "category": "fever", "related": "possible", "resolved_to_grade1_within_48h": True},
            "Not a DLT: grade 3 fever resolved to <= grade 1 within 48 h (section 4 exception).",
        ),
        (
            {"grade": 3, "category": "fever", "related": "possible"},
            "DLT: grade 3 fever, possibly related: grade >= 3 (section 4).",
        ),
        (
            {"grade": 4, "category": "non_haematological", "related": "unrelated"},
            "Not a DLT: grade 4 non-haematological toxicity is unrelated to treatment; a DLT must be "
            "possibly, probably or definitely related (section 4).",
        ),
        (
            {"grade": 3, "category": "infusion_reaction", "related": "possible"},
            "DLT: grade 3 infusion reaction, possibly related: grade >= 3 (section 4).",
        ),
        (
            {"grade": 5, "category": "haematological", "related": "definite"},
            "DLT: grade 5 haematological toxicity, definitely related - grade 5 is always a DLT (section 4).",
        ),
        (
            {"grade": 2, "category": "haematological", "related": "probable", "platelet_drop_confirmed": True},
            "DLT: platelets fell >= 50 % below baseline, confirmed twice, probably related (section 4).",
        ),
    ],
)
def test_is_dlt_explanation_names_the_rule(kwargs, explanation):
    assert is_dlt(**kwargs)[1] == explanation


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"grade": 0, "category": "fever", "related": "possible"}, "grade must be a CTCAE grade 1-5"),
        ({"grade": 6, "category": "fever", "related": "possible"}, "grade must be a CTCAE grade 1-5"),
        ({"grade": 3, "category": "cardiac", "related": "possible"}, "category must be one of"),
        ({"grade": 3, "category": "fever", "related": "likely"}, "related must be one of"),
        (
            {"grade": 3, "category": "fever", "related": "possible", "resolved_to_grade1_within_48h": "yes"},
            "resolved_to_grade1_within_48h must be True or False",
        ),
    ],
)
def test_is_dlt_invalid_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        is_dlt(**kwargs)


# --------------------------------------------------------------------------- DLT window


@pytest.mark.parametrize(
    "first, last_planned, expected_end",
    [
        (date(2026, 3, 2), date(2026, 3, 23), date(2026, 4, 20)),  # P2: weekly x 4 from 2 March
        (date(2024, 1, 11), date(2024, 2, 1), date(2024, 2, 29)),  # leap year: ends on 29 February
        (date(2023, 1, 11), date(2023, 2, 1), date(2023, 3, 1)),  # common year: rolls into March
        (date(2024, 1, 10), date(2024, 1, 31), date(2024, 2, 28)),  # from a month end, leap year
        (date(2024, 2, 8), date(2024, 2, 29), date(2024, 3, 28)),  # last infusion on 29 February
        (date(2025, 11, 19), date(2025, 12, 10), date(2026, 1, 7)),  # across the year end
        (date(2026, 5, 1), date(2026, 5, 1), date(2026, 5, 29)),  # a single infusion (P1-like)
    ],
)
def test_dlt_window_ends_28_days_after_last_planned_infusion(first, last_planned, expected_end):
    assert dlt_window(first, last_planned) == (first, expected_end)


def test_dlt_window_days_after_is_configurable():
    assert dlt_window(date(2026, 3, 2), date(2026, 3, 23), days_after=0) == (date(2026, 3, 2), date(2026, 3, 23))


def test_dlt_window_last_before_first_raises():
    with pytest.raises(ValueError, match="last planned infusion 2026-03-01 is before the first infusion 2026-03-02"):
        dlt_window(date(2026, 3, 2), date(2026, 3, 1))


def test_dlt_window_negative_days_after_raises():
    with pytest.raises(ValueError, match="days_after must not be negative"):
        dlt_window(date(2026, 3, 2), date(2026, 3, 23), days_after=-1)


def test_dlt_window_datetime_raises():
    with pytest.raises(TypeError, match="first_infusion must be a date"):
        dlt_window(datetime(2026, 3, 2, 9, 30), date(2026, 3, 23))


# --------------------------------------------------------------------------- DLT evaluability


@pytest.mark.parametrize(
    "received, planned, had_dlt, evaluable",
    [
        (4, 4, False, True),  # all planned infusions
        (3, 4, False, False),  # stopped early without a DLT: replaced
        (1, 4, True, True),  # a DLT makes a participant evaluable
        (0, 4, True, True),
        (5, 4, False, True),  # an extra infusion is still "all received"
        (1, 1, False, True),
        (0, 1, False, False),
    ],
)
def test_is_dlt_evaluable_section_4(received, planned, had_dlt, evaluable):
    assert is_dlt_evaluable(infusions_received=received, infusions_planned=planned, had_dlt=had_dlt) is evaluable


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"infusions_received": -1, "infusions_planned": 4, "had_dlt": False},
         "infusions_received must not be negative"),
        ({"infusions_received": 0, "infusions_planned": 0, "had_dlt": False}, "infusions_planned must be at least 1"),
        ({"infusions_received": 4, "infusions_planned": 4, "had_dlt": "no"}, "had_dlt must be True or False"),
    ],
)
def test_is_dlt_evaluable_invalid_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        is_dlt_evaluable(**kwargs)
