"""The study dashboard's tables (pure arithmetic over plain rows, no database): rates as
percentages with their exact 95 % CI, the outcomes per arm or dose level with the same keys as the
outcomes snapshot (`followup.outcomes`), the adverse events by term and worst grade, the serious
adverse events and the dose-limiting toxicities per group."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from .statistics import duration_of_response_summary, proportion

RESPONDERS = ("CR", "R", "PR")
GRADES = (1, 2, 3, 4, 5)


def percent(value: float | None, digits: int = 1) -> str:
    """0.4 -> "40.0 %"; None -> "—"."""
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def percent_range(ci) -> str:
    """(0.1216, 0.7376) -> "12.2-73.8 %"; None -> "—"."""
    if not ci:
        return "—"
    return f"{100 * ci[0]:.1f}-{100 * ci[1]:.1f} %"


def percent_ci(rate: float | None, ci) -> str:
    """A rate with its confidence interval: (0.4, (0.1216, 0.7376)) -> "40.0 % (12.2-73.8 %)"."""
    if rate is None:
        return "—"
    return f"{percent(rate)} ({percent_range(ci)})" if ci else percent(rate)


@dataclass(frozen=True)
class OutcomeRow:
    """One treated participant as the outcomes count them: their group (arm or dose level), best
    confirmed response ("NE" when none can be computed) and, for a confirmed responder, the duration
    of response (days, censored) or None."""

    group: str
    best: str
    duration: tuple[int, bool] | None = None


def outcome_groups(rows: list[OutcomeRow]) -> list[dict]:
    """Treated, evaluable, responders and complete responders per group and for "all", each rate
    over the treated and over the evaluable with its exact and Wilson CIs, and the duration of
    response: the keys of an outcomes snapshot's groups, plus `rate_text` and
    `rate_evaluable_text` ("40.0 % (12.2-73.8 %)")."""
    tallies: dict[str, dict[str, int]] = {}
    durations: dict[str, list[tuple[int, bool]]] = {}
    # Counted once per group and best response (a handful of pairs), not once per participant
    for (group, best), count in Counter((row.group, row.best) for row in rows).items():
        for key in (group, "all"):
            tally = tallies.setdefault(key, {"treated": 0, "evaluable": 0, "responders": 0, "complete_responders": 0})
            tally["treated"] += count
            tally["evaluable"] += count * (best != "NE")
            tally["responders"] += count * (best in RESPONDERS)
            tally["complete_responders"] += count * (best == "CR")
    for row in rows:  # the responders' durations, in the order of the rows
        if row.duration is not None and row.best in RESPONDERS:
            durations.setdefault(row.group, []).append(row.duration)
            durations.setdefault("all", []).append(row.duration)
    groups = []
    # The duration of response summarised once per distinct list of durations: with a single group its
    # list is the one of "all" (same rows, same order), and the same list gives the same summary.
    summaries: list[tuple[list, dict | None]] = []

    def summary(of: list) -> dict | None:
        for seen, found in summaries:
            if seen == of:
                return found
        found = duration_of_response_summary(of)
        summaries.append((of, found))
        return found

    for key in sorted(k for k in tallies if k != "all") + (["all"] if tallies else []):
        tally = tallies[key]
        rate = proportion(tally["responders"], tally["treated"])
        evaluable = proportion(tally["responders"], tally["evaluable"])
        pair = lambda ci: list(ci) if ci else None  # noqa: E731
        groups.append({
            "group": key, **tally,
            "rate": rate.rate, "ci_exact": pair(rate.ci_exact), "ci_wilson": pair(rate.ci_wilson),
            "rate_evaluable": evaluable.rate, "ci_exact_evaluable": pair(evaluable.ci_exact),
            "ci_wilson_evaluable": pair(evaluable.ci_wilson),
            "duration_of_response": summary(durations.get(key, [])),
            "rate_text": percent_ci(rate.rate, rate.ci_exact),
            "rate_evaluable_text": percent_ci(evaluable.rate, evaluable.ci_exact),
        })
    return groups


class EventRow(NamedTuple):
    """A confirmed adverse event: whose, its term, confirmed CTCAE grade (None if not graded) and
    whether it is serious (a named tuple: the dashboard's kept sums hold them packed)."""

    participant: int
    term: str
    grade: int | None
    serious: bool


@dataclass(frozen=True)
class TermRow:
    term: str
    participants: int  # with the term at any grade
    by_grade: tuple[int, ...]  # participants whose worst grade of the term is 1, 2, 3, 4, 5
    ungraded: int  # participants with the term never graded
    grade3_or_worse: int


def _term_row(term: str, worst: Counter) -> TermRow:
    """`worst`: participants per worst grade of the term (None: never graded)."""
    return TermRow(term, sum(worst.values()), tuple(worst[grade] for grade in GRADES), worst[None],
                   sum(n for grade, n in worst.items() if grade is not None and grade >= 3))


def worse(current: int | None, grade: int | None) -> int | None:
    if current is None:
        return grade
    return current if grade is None else max(current, grade)


def term_rows(per_term: dict[str, Counter], overall: Counter) -> tuple[list[TermRow], TermRow | None]:
    """The rows of `adverse_events_by_term` from the participants counted per term and worst grade
    (`per_term`) and per worst grade of any term (`overall`), each count above zero."""
    rows = sorted((_term_row(term, worst) for term, worst in per_term.items()),
                  key=lambda row: (-row.participants, row.term))
    return rows, (_term_row("", overall) if overall else None)


def worst_of(events) -> tuple[dict[str, int | None], int | None]:
    """One participant's events: their worst grade of each term, and of any term (None: never graded)."""
    worst: dict[str, int | None] = {}
    overall = None
    for event in events:
        worst[event.term] = worse(worst.get(event.term), event.grade)
        overall = worse(overall, event.grade)
    return worst, overall


def adverse_events_by_term(events: list[EventRow]) -> tuple[list[TermRow], TermRow | None]:
    """Per term, the participants counted once at their worst grade of that term (most frequent term
    first, then by name), and the row of any term (each participant once, at their worst grade)."""
    own: dict[int, list[EventRow]] = {}
    for event in events:
        own.setdefault(event.participant, []).append(event)
    per_term: dict[str, Counter] = {}
    overall: Counter = Counter()
    for theirs in own.values():
        worst, any_term = worst_of(theirs)
        for term, grade in worst.items():
            per_term.setdefault(term, Counter())[grade] += 1
        overall[any_term] += 1
    return term_rows(per_term, overall)


@dataclass(frozen=True)
class SeriousSummary:
    events: int
    participants: int
    by_term: tuple[tuple[str, int], ...]  # (term, events), most frequent first


def serious_summary(events: int, participants: int, by_term: Counter) -> SeriousSummary:
    """`by_term`: the serious events per term."""
    return SeriousSummary(events, participants, tuple(sorted(by_term.items(), key=lambda kv: (-kv[1], kv[0]))))


def serious_events(events: list[EventRow]) -> SeriousSummary:
    serious = [e for e in events if e.serious]
    return serious_summary(len(serious), len({e.participant for e in serious}), Counter(e.term for e in serious))


class DltInput(NamedTuple):
    """A participant as the 3+3 counts see them (`dosing.selectors.participant_escalation`; a named
    tuple: the dashboard's kept sums count them)."""

    group: str
    counted: bool
    evaluable: bool
    had_dlt: bool
    final: bool  # the DLT assessment is final (not inside the window)


@dataclass(frozen=True)
class DltRow:
    group: str
    participants: int
    evaluable: int
    with_dlt: int
    not_final: int
    rate_text: str  # participants with a DLT over the DLT-evaluable, as a percentage with its CI


def dlt_rows(rows: list[DltInput]) -> list[DltRow]:
    """Per group (in name order): participants counted, DLT-evaluable, with a DLT, not final yet."""
    return dlt_rows_counted(Counter(rows))


def dlt_rows_counted(counted: Counter) -> list[DltRow]:
    """`dlt_rows` of the inputs counted (input -> participants): the same participants share an input."""
    found: dict[str, list[int]] = {}
    for row, n in counted.items():
        if row.counted and n:
            sums = found.setdefault(row.group, [0, 0, 0, 0])  # participants, evaluable, with a DLT, not final
            sums[0] += n
            sums[1] += n * row.evaluable
            sums[2] += n * row.had_dlt
            sums[3] += n * (not row.final)
    result = []
    for group in sorted(found):
        participants, evaluable, dlts, not_final = found[group]
        share = proportion(dlts, evaluable)
        result.append(DltRow(group, participants, evaluable, dlts, not_final, percent_ci(share.rate, share.ci_exact)))
    return result
