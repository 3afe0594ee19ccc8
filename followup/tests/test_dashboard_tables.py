"""The dashboard's table arithmetic (followup/dashboard_tables.py), table-driven. No database."""
import pytest

from followup.dashboard_tables import (DltInput, EventRow, OutcomeRow, adverse_events_by_term, dlt_rows,
                                       outcome_groups, percent, percent_ci, percent_range, serious_events)


@pytest.mark.parametrize("rate, ci, text", [
    (0.4, (0.12155, 0.73762), "40.0 % (12.2-73.8 %)"),  # 4/10, exact
    (1 / 3, (0.0084, 0.9057), "33.3 % (0.8-90.6 %)"),  # section 6: 1/3
    (0.0, (0.0, 0.4593), "0.0 % (0.0-45.9 %)"),  # 0/6
    (1.0, (0.5407, 1.0), "100.0 % (54.1-100.0 %)"),  # 6/6
    (0.5, None, "50.0 %"),
    (None, None, "—"),
])
def test_percent_ci(rate, ci, text):
    assert percent_ci(rate, ci) == text


@pytest.mark.parametrize("value, text", [(0.5143, "51.4 %"), (0.0, "0.0 %"), (None, "—")])
def test_percent(value, text):
    assert percent(value) == text


@pytest.mark.parametrize("ci, text", [((0.118, 0.813), "11.8-81.3 %"), (None, "—"), ([], "—")])
def test_percent_range(ci, text):
    assert percent_range(ci) == text


def test_outcome_groups_count_and_rate_per_group_and_for_all():
    rows = [OutcomeRow("A", "CR", (60, True)), OutcomeRow("A", "NR"), OutcomeRow("A", "NE"),
            OutcomeRow("B", "R", (30, False)), OutcomeRow("B", "PR", (90, True)), OutcomeRow("B", "NR")]
    groups = {g["group"]: g for g in outcome_groups(rows)}

    assert [g["group"] for g in outcome_groups(rows)] == ["A", "B", "all"]
    table = {key: (g["treated"], g["evaluable"], g["responders"], g["complete_responders"], g["rate_text"],
                   g["rate_evaluable_text"]) for key, g in groups.items()}
    assert table == {
        "A": (3, 2, 1, 1, "33.3 % (0.8-90.6 %)", "50.0 % (1.3-98.7 %)"),
        "B": (3, 3, 2, 0, "66.7 % (9.4-99.2 %)", "66.7 % (9.4-99.2 %)"),
        "all": (6, 5, 3, 1, "50.0 % (11.8-88.2 %)", "60.0 % (14.7-94.7 %)"),
    }
    assert groups["all"]["duration_of_response"]["responders"] == 3
    assert groups["all"]["duration_of_response"]["events"] == 1
    assert groups["A"]["ci_exact"] == pytest.approx([0.0084, 0.9057], abs=1e-4)
    assert set(groups["A"]) >= {"rate", "ci_exact", "ci_wilson", "rate_evaluable", "ci_exact_evaluable",
                                "ci_wilson_evaluable", "duration_of_response"}


def test_outcome_groups_count_many_alike_in_interleaved_groups():
    """Participants with the same group and best response counted together, each responder's
    duration kept: A 3 CR (censored), 2 NE, 1 NR; B 4 NR, 1 PR (an event)."""
    rows = ([OutcomeRow("B", "NR")] * 2 + [OutcomeRow("A", "CR", (60, True))] * 3 + [OutcomeRow("A", "NE")] * 2
            + [OutcomeRow("B", "PR", (30, False)), OutcomeRow("A", "NR"), OutcomeRow("B", "NR"), OutcomeRow("B", "NR")])
    groups = {g["group"]: g for g in outcome_groups(rows)}

    assert {key: (g["treated"], g["evaluable"], g["responders"], g["complete_responders"])
            for key, g in groups.items()} == {"A": (6, 4, 3, 3), "B": (5, 5, 1, 0), "all": (11, 9, 4, 3)}
    assert {key: (g["duration_of_response"]["responders"], g["duration_of_response"]["events"])
            for key, g in groups.items()} == {"A": (3, 0), "B": (1, 1), "all": (4, 1)}
    assert groups["all"]["rate_text"] == "36.4 % (10.9-69.2 %)"


def test_outcome_groups_of_nobody():
    assert outcome_groups([]) == []


EVENTS = [
    EventRow(1, "Fever", 1, False), EventRow(1, "Fever", 2, False),  # participant 1: fever, worst 2
    EventRow(2, "Fever", 3, True), EventRow(2, "Rash", None, False),  # 2: fever 3 (serious), rash ungraded
    EventRow(3, "Rash", 1, False), EventRow(3, "Lung infection", 5, True),
]


def test_adverse_events_by_term_count_each_participant_once_at_their_worst_grade():
    rows, overall = adverse_events_by_term(EVENTS)

    assert [(r.term, r.participants, r.by_grade, r.ungraded, r.grade3_or_worse) for r in rows] == [
        ("Fever", 2, (0, 1, 1, 0, 0), 0, 1),
        ("Rash", 2, (1, 0, 0, 0, 0), 1, 0),
        ("Lung infection", 1, (0, 0, 0, 0, 1), 0, 1),
    ]
    assert (overall.participants, overall.by_grade, overall.grade3_or_worse) == (3, (0, 1, 1, 0, 1), 2)
    assert adverse_events_by_term([]) == ([], None)


def test_serious_events():
    summary = serious_events(EVENTS)
    assert (summary.events, summary.participants, summary.by_term) == (2, 2, (("Fever", 1), ("Lung infection", 1)))


@pytest.mark.parametrize("inputs, expected", [
    ([DltInput("A", True, True, False, True)] * 3, [("A", 3, 3, 0, 0, "0.0 % (0.0-70.8 %)")]),
    ([DltInput("A", True, True, True, True), DltInput("A", True, True, False, True),
      DltInput("A", True, False, False, False), DltInput("A", False, False, False, True),
      DltInput("B", True, False, False, False)],
     [("A", 3, 2, 1, 1, "50.0 % (1.3-98.7 %)"), ("B", 1, 0, 0, 1, "—")]),
    ([], []),
])
def test_dlt_rows(inputs, expected):
    assert [(r.group, r.participants, r.evaluable, r.with_dlt, r.not_final, r.rate_text)
            for r in dlt_rows(inputs)] == expected
