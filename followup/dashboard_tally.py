"""What the study dashboard's outcomes part counts of its participants (`followup.dashboard`), kept in
a form from which one participant's contribution can be taken out and put in again: the outcomes
rows counted by (group, best response, duration), the swimmer lanes in their order, and per charted
analyte the diseases seen, the values of each day kept sorted and the best changes kept sorted. No
query: `contribution` turns a participant's stored result into what they add, and `OutcomeTally`
sums them; the dashboard's figures are read from the sums (`outcome_rows`, `lanes`, `analyte_figures`),
so a tally moved by the participants changed since it was built (`followup.dashboard_base`) gives the
figures a new tally of every participant gives.

The figures depend on nothing but the sums: the outcomes rows are given in one order whatever the
order the participants were added in, and the thresholds of an analyte's chart follow the order of the
codes of the diseases counted in it, not which participant came first.

The safety part is counted the same way (`SafetyTally`): the 3+3 inputs counted, the participants per
term and worst grade and per worst grade of any term, the serious events per term; each participant
counts once per term at their worst grade, so their contribution can be taken out and put in again.
A tally kept between reads holds each participant's contribution packed (`marshal`'s form of plain
values: read back as one bytes object per participant rather than a tree of objects)."""
from __future__ import annotations

import marshal
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from datetime import date
from typing import NamedTuple

from . import dashboard_charts as charts
from . import dashboard_tables as tables
from .dashboard_tables import OutcomeRow, outcome_groups
from .selectors import CHARTED


def charted_of(study_disease) -> tuple[str, str, list[tuple[float, str]]]:
    """The analyte a disease's criteria set charts, its unit and its response thresholds as
    (value, label) (`selectors.CHARTED`)."""
    criteria = study_disease.response_criteria
    analyte, unit, lines = CHARTED.get(criteria.family, CHARTED["itp"])
    values = criteria.thresholds if isinstance(criteria.thresholds, dict) else {}
    found = [(float(values[key]), f"{label} {values[key]:g}") for key, label in lines
             if isinstance(values.get(key), int | float) and not isinstance(values.get(key), bool)]
    return analyte, unit, found


def analytes_of(sets) -> dict[str, str]:
    """Disease -> the analyte its criteria set charts (`sets`: disease -> the study's criteria set row)."""
    return {disease: charted_of(row)[0] for disease, row in sets.items()}


class Contribution(NamedTuple):
    """What one treated participant adds: their outcomes row as (group, best, duration); their
    swimmer lane's key (-days on study, study number, participant: the lanes' order); their
    disease when it has a criteria set (else None: not charted); their charted analyte's day, value
    pairs flattened (empty when their values are of another analyte) and their best change."""

    outcome: tuple
    lane: tuple
    disease: str | None
    analyte: str | None
    flat: tuple
    change: float | None


def days_on_study(status: str, withdrawn_on: date | None, facts: list, today: date, first: date) -> int:
    """The length of the participant's lane; `facts`: their `ChartFacts` in the stored form, `first`:
    its first infusion's date (`facts[0]`) read."""
    if status == "completed":
        return max(facts[2] or 0, 0)
    end = withdrawn_on if status == "withdrawn" and withdrawn_on else today
    return max(0, (end - first).days)


def best_change_of(baseline: float | None, flat) -> float | None:
    """The best change from baseline of the values after the first infusion's day (the days of the
    flattened pairs are in day order, `ChartFacts.daily`)."""
    day_of = flat[::2]
    after = bisect_right(day_of, 0)
    if after == len(day_of):
        return None
    return charts.best_change(baseline, [max(flat[1::2][after:])])


def contribution(pk: int, number: str, status: str, withdrawn_on: date | None, group: str, disease: str,
                 stored: list, today: date, first: date, analyte_of: dict[str, str | None]) -> Contribution:
    """A treated participant's contribution; `stored`: their result (`ParticipantOutcome.stored`),
    `first`: its first infusion's date read, `analyte_of`: disease -> its charted analyte (absent or
    None: the disease has no criteria set in the study)."""
    best, duration, _disease, _sex, facts = stored
    days = days_on_study(status, withdrawn_on, facts, today, first)
    analyte = analyte_of.get(disease)
    flat = tuple(facts[7]) if analyte is not None and facts[5] == analyte else ()
    return Contribution((group, best, tuple(duration) if duration else None), (-days, number, pk),
                        disease if analyte is not None else None, analyte, flat,
                        best_change_of(facts[6], flat) if flat else None)


def packed(given: Contribution) -> bytes:
    """A contribution as the tally keeps it: its plain values in `marshal`'s form (numbers, texts,
    tuples and None), which a tally read back from the cache loads as one bytes object per participant
    rather than a tree of objects (the kept sums of 10,000 participants: 1 ms rather than 30)."""
    return marshal.dumps(tuple(given))


def unpacked(kept: bytes) -> Contribution:
    return Contribution._make(marshal.loads(kept))


class AnalyteSums:
    """One charted analyte's sums: participants per disease (the analyte's diseases and thresholds),
    participants with a value, the values of each day and the best changes, each list sorted."""

    __slots__ = ("diseases", "with_points", "days", "changes")

    def __init__(self):
        self.diseases: Counter = Counter()
        self.with_points = 0
        self.days: dict[int, list[float]] = {}
        self.changes: list[float] = []

    def __getstate__(self):
        return (self.diseases, self.with_points, self.days, self.changes)

    def __setstate__(self, state):
        self.diseases, self.with_points, self.days, self.changes = state


def _moved(counter: Counter, key, by: int) -> None:
    """The count of `key` moved by `by`, removed when it reaches zero."""
    counter[key] += by
    if not counter[key]:
        del counter[key]


def _take(ordered: list, value) -> None:
    """`value` taken out of the sorted list `ordered` (it must be there: a tally never takes out what
    it was not given)."""
    at = bisect_left(ordered, value)
    if at == len(ordered) or ordered[at] != value:
        raise ValueError(f"{value!r} is not in the tally")
    del ordered[at]


class OutcomeTally:
    """The sums of the treated participants' contributions, each kept by participant (`of`, `packed`)
    so that it can be taken out again. `add` during a build appends (the lists are sorted once by `sort`); after
    `sort`, `add` and `remove` keep every list sorted."""

    __slots__ = ("of", "outcomes", "lanes", "analytes", "sorted", "groups_of")

    def __init__(self):
        self.of: dict[int, bytes] = {}  # participant -> their contribution, `packed`
        self.outcomes: Counter = Counter()
        self.lanes: list[tuple] = []
        self.analytes: dict[str, AnalyteSums] = {}
        self.sorted = False
        # the outcomes table last read (`outcome_groups`) and the counts it was read from
        self.groups_of: tuple[dict, list[dict]] | None = None

    def __getstate__(self):
        return (self.of, self.outcomes, self.lanes, self.analytes, self.sorted, self.groups_of)

    def __setstate__(self, state):
        self.of, self.outcomes, self.lanes, self.analytes, self.sorted, self.groups_of = state

    def add(self, pk: int, given: Contribution) -> None:
        if pk in self.of:
            raise ValueError(f"participant {pk} is already in the tally")
        self.of[pk] = packed(given)
        self.outcomes[given.outcome] += 1
        place = insort if self.sorted else list.append
        place(self.lanes, given.lane)
        if given.analyte is None:
            return
        sums = self.analytes.get(given.analyte)
        if sums is None:
            sums = self.analytes[given.analyte] = AnalyteSums()
        sums.diseases[given.disease] += 1
        if given.flat:
            sums.with_points += 1
            for day, value in zip(given.flat[::2], given.flat[1::2]):
                values = sums.days.get(day)
                if values is None:
                    sums.days[day] = [value]
                else:
                    place(values, value)
        if given.change is not None:
            place(sums.changes, given.change)

    def remove(self, pk: int) -> None:
        """The participant's contribution taken out (nothing when they have none: not treated)."""
        kept = self.of.pop(pk, None)
        if kept is None:
            return
        if not self.sorted:
            raise ValueError("a tally is sorted before a contribution is taken out")
        given = unpacked(kept)
        _moved(self.outcomes, given.outcome, -1)
        _take(self.lanes, given.lane)
        if given.analyte is None:
            return
        sums = self.analytes[given.analyte]
        _moved(sums.diseases, given.disease, -1)
        if given.flat:
            sums.with_points -= 1
            for day, value in zip(given.flat[::2], given.flat[1::2]):
                _take(sums.days[day], value)
                if not sums.days[day]:
                    del sums.days[day]
        if given.change is not None:
            _take(sums.changes, given.change)
        if not sums.diseases:
            del self.analytes[given.analyte]

    def sort(self) -> None:
        self.lanes.sort()
        for sums in self.analytes.values():
            for values in sums.days.values():
                values.sort()
            sums.changes.sort()
        self.sorted = True

    def outcome_rows(self) -> list[OutcomeRow]:
        """The outcomes rows, in the order of their (group, best, duration) whatever the order they
        were added in (`dashboard_tables.outcome_groups` keeps the durations in the rows' order)."""
        ordered = sorted(self.outcomes.items(),
                         key=lambda item: (item[0][0], item[0][1], item[0][2] is not None, item[0][2] or ()))
        return [OutcomeRow(group, best, duration) for (group, best, duration), count in ordered
                for _n in range(count)]

    def outcome_groups(self) -> list[dict]:
        """`dashboard_tables.outcome_groups` of the outcomes rows, read again only when the counts moved
        since it was last read (a write that moved no participant's group, best response or duration
        - an adverse event, most new counts - reuses it: its durations' Kaplan-Meier summaries are
        the costliest part of a moved read)."""
        if self.groups_of is not None and self.groups_of[0] == self.outcomes:
            return self.groups_of[1]
        groups = outcome_groups(self.outcome_rows())
        self.groups_of = (dict(self.outcomes), groups)
        return groups

    def large(self) -> bool:
        """Whether every charted analyte has more participants with a value than the charts draw
        one by one (`charts.INDIVIDUAL_LIMIT`): its band and histogram are then read from the sums."""
        return all(sums.with_points > charts.INDIVIDUAL_LIMIT for sums in self.analytes.values())

    def analyte_figures(self, analyte: str) -> tuple[list[charts.DaySpread], list[float], tuple[int, int]]:
        """A large cohort's analyte: the spreads of its days, its best changes and its counts
        (participants with a value, participants with a change)."""
        sums = self.analytes[analyte]
        # (the values of each day are kept sorted: sorting them again is one pass)
        return charts.spreads_of_days(sums.days), sums.changes, (sums.with_points, len(sums.changes))


def _packed_safety(given: tuple) -> bytes:
    dlt_input, events = given
    return marshal.dumps((tuple(dlt_input), tuple(map(tuple, events))))


class SafetyTally:
    """The safety part's sums (`followup.dashboard._safety_contribution` of each participant shown:
    their 3+3 input and their confirmed events' rows): the 3+3 inputs counted, the participants per
    term and worst grade and per worst grade of any term, the serious events per term, the serious
    events and the participants with one. Each participant's contribution is kept packed (`of`), so
    that it can be taken out again; the tables are read from the sums (`fields`), the same tables as
    from every participant's events (`dashboard_tables.adverse_events_by_term`, `serious_events`,
    `dlt_rows`), since each participant counts once per term at their worst grade."""

    __slots__ = ("of", "inputs", "terms", "overall", "serious_terms", "serious")

    def __init__(self):
        self.of: dict[int, bytes] = {}
        self.inputs: Counter = Counter()
        self.terms: dict[str, Counter] = {}
        self.overall: Counter = Counter()
        self.serious_terms: Counter = Counter()
        self.serious = (0, 0)  # serious events, participants with one

    def __getstate__(self):
        return (self.of, self.inputs, self.terms, self.overall, self.serious_terms, self.serious)

    def __setstate__(self, state):
        self.of, self.inputs, self.terms, self.overall, self.serious_terms, self.serious = state

    @classmethod
    def of_contributions(cls, contributions: dict[int, tuple], *, movable: bool = True) -> SafetyTally:
        """The sums of every participant's contribution; `movable`: each kept packed too, so that it can
        be taken out (a tally only read needs none: the inputs are counted in one pass, and only the
        participants with events are gone through)."""
        tally = cls()
        tally.inputs = Counter(dlt_input for dlt_input, _events in contributions.values())
        for _input, events in contributions.values():
            if events:
                tally._move_events(events, 1)
        if movable:
            tally.of = {pk: _packed_safety(given) for pk, given in contributions.items()}
        return tally

    def _move(self, dlt_input: tables.DltInput, events: tuple, by: int) -> None:
        _moved(self.inputs, dlt_input, by)
        if events:
            self._move_events(events, by)

    def _move_events(self, events: tuple, by: int) -> None:
        worst, overall = tables.worst_of(events)
        for term, grade in worst.items():
            counter = self.terms.setdefault(term, Counter())
            _moved(counter, grade, by)
            if not counter:
                del self.terms[term]
        _moved(self.overall, overall, by)
        serious = [event.term for event in events if event.serious]
        for term in serious:
            _moved(self.serious_terms, term, by)
        self.serious = (self.serious[0] + by * len(serious), self.serious[1] + by * bool(serious))

    def put(self, pk: int, given: tuple) -> None:
        """The participant's contribution (their 3+3 input, their confirmed events' rows) counted in
        place of the one counted before."""
        self.take(pk)
        self.of[pk] = _packed_safety(given)
        self._move(*given, 1)

    def take(self, pk: int) -> None:
        """The participant's contribution taken out (nothing when none is counted)."""
        kept = self.of.pop(pk, None)
        if kept is not None:
            dlt_input, events = marshal.loads(kept)
            self._move(tables.DltInput._make(dlt_input), tuple(map(tables.EventRow._make, events)), -1)

    def fields(self) -> dict:
        """The safety part's fields: the adverse events by term and worst grade, the serious events,
        the 3+3 counts per group."""
        rows, any_event = tables.term_rows(self.terms, self.overall)
        return {"adverse_events": rows, "any_adverse_event": any_event,
                "serious": tables.serious_summary(*self.serious, self.serious_terms),
                "dlts": tables.dlt_rows_counted(self.inputs)}
