"""The safety part's sums (`followup.dashboard_tally.SafetyTally`) give the tables read from every
participant's events (`dashboard_tables.adverse_events_by_term`, `serious_events`, `dlt_rows`), however
the participants were put in, replaced and taken out, and whatever their order."""
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from followup.dashboard_tables import DltInput, EventRow, adverse_events_by_term, dlt_rows, serious_events
from followup.dashboard_tally import SafetyTally

TERMS = ("Fever", "Headache", "Infusion related reaction", "Rash")


def _reference(contributions: dict[int, tuple]) -> dict:
    events = [event for _input, own in contributions.values() for event in own]
    rows, any_event = adverse_events_by_term(events)
    return {"adverse_events": rows, "any_adverse_event": any_event, "serious": serious_events(events),
            "dlts": dlt_rows([dlt_input for dlt_input, _own in contributions.values()])}


@st.composite
def contribution(draw, pk: int):
    counted, evaluable, had_dlt, final = draw(st.tuples(*[st.booleans()] * 4))
    dlt_input = DltInput(draw(st.sampled_from(["A", "B", "MSC"])), counted, evaluable, had_dlt and evaluable, final)
    events = draw(st.lists(st.builds(EventRow, st.just(pk), st.sampled_from(TERMS),
                                     st.one_of(st.none(), st.integers(1, 5)), st.booleans()), max_size=4))
    return dlt_input, tuple(events)


@st.composite
def moves(draw):
    """Participants put in (a contribution) or taken out (None), in turn."""
    steps = []
    for _ in range(draw(st.integers(0, 25))):
        pk = draw(st.integers(1, 8))
        steps.append((pk, None if draw(st.booleans()) else draw(contribution(pk))))
    return steps


@settings(max_examples=150, deadline=None)
@given(moves())
def test_the_sums_give_the_tables_of_every_participants_events(steps):
    tally, counted = SafetyTally(), {}
    for pk, one in steps:
        if one is None:
            tally.take(pk)
            counted.pop(pk, None)
        else:
            tally.put(pk, one)
            counted[pk] = one
    assert tally.fields() == _reference(counted)
    again = pickle.loads(pickle.dumps(tally))  # as kept in the cache
    assert again.fields() == _reference(counted)
    assert SafetyTally.of_contributions(dict(reversed(counted.items()))).fields() == _reference(counted)
    for pk in list(counted):
        again.take(pk)
    assert again.fields() == _reference({}) and not again.of and not again.inputs and not again.terms
    assert not again.overall and not again.serious_terms and again.serious == (0, 0)
    read_only = SafetyTally.of_contributions(counted, movable=False)
    assert read_only.fields() == _reference(counted) and not read_only.of


def test_a_participant_counts_once_per_term_at_their_worst_grade():
    tally = SafetyTally.of_contributions({
        1: (DltInput("A", True, True, False, True), (EventRow(1, "Fever", 1, False), EventRow(1, "Fever", 3, True),
                                                     EventRow(1, "Rash", None, False))),
        2: (DltInput("A", True, True, True, True), (EventRow(2, "Fever", None, True),)),
        3: (DltInput("A", True, False, False, False), ()),
    })
    fields = tally.fields()
    fever = next(row for row in fields["adverse_events"] if row.term == "Fever")
    assert (fever.participants, fever.by_grade, fever.ungraded, fever.grade3_or_worse) == (2, (0, 0, 1, 0, 0), 1, 1)
    assert [row.term for row in fields["adverse_events"]] == ["Fever", "Rash"]
    assert fields["any_adverse_event"].participants == 2 and fields["any_adverse_event"].by_grade == (0, 0, 1, 0, 0)
    serious = fields["serious"]
    assert (serious.events, serious.participants, serious.by_term) == (2, 2, (("Fever", 2),))
    dlt = fields["dlts"][0]
    assert (dlt.group, dlt.participants, dlt.evaluable, dlt.with_dlt, dlt.not_final) == ("A", 3, 2, 1, 1)
    tally.take(2)
    assert tally.fields()["serious"].by_term == (("Fever", 1),) and tally.fields()["dlts"][0].with_dlt == 0
