"""The edit check of a count that changes the confirmed response (`followup.auto_queries`,
``response_change``), as an assessment's save runs it: which counts changed, and the best confirmed
response before and after, computed from the rows the save read (`assessment_reads`) and the
assessment's own values before and after, with no statement per assessment."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .. import response as rules
from ..auto_queries import CountCheck
from ..response_facts import LabFact, ResponseFacts, confirmed_response_change
from ..selectors import response_rules_of
from .assessment_reads import RESPONSE_LABS, CheckReads

# The counts a response is judged on (`followup.response_facts.ResponseRules.analytes`).
COUNTS = frozenset({"PLT", "HGB", "ANC"})


@dataclass(frozen=True)
class OwnFacts:
    """An assessment's values the response rules read, as they were or as they are now: its date,
    WHO bleeding grade, prednisone-equivalent dose, labs {analyte: (value, lln, uln)}, transfusions
    [(kind, date)] and rescue therapies [(therapy, start, end)]."""

    date: object
    bleeding_grade: int | None
    steroid_mg_per_day: object
    labs: dict
    transfusions: tuple = ()
    therapies: tuple = ()


def own_facts(assessment, labs, transfusions, rescue_therapies) -> OwnFacts:
    """An assessment's `OwnFacts` from it and its lab rows or dicts, transfusion and rescue rows."""
    lab = lambda x, key: x[key] if isinstance(x, dict) else getattr(x, key)  # noqa: E731
    return OwnFacts(
        date=assessment.date, bleeding_grade=assessment.bleeding_grade,
        steroid_mg_per_day=assessment.steroid_mg_per_day,
        labs={lab(x, "analyte"): (lab(x, "value"), lab(x, "lln"), lab(x, "uln")) for x in labs},
        transfusions=tuple((t.kind, t.date) for t in transfusions),
        therapies=tuple((r.therapy, r.start, r.end) for r in rescue_therapies))


def changed_counts(before: dict | None, after: dict) -> set[str]:
    """The counts entered, changed or removed between two {analyte: value} of one assessment."""
    before = before or {}
    return {code for code in COUNTS & (set(before) | set(after)) if before.get(code) != after.get(code)}


def count_rules(participant, changed: set[str]):
    """The participant's response rules when a count changed (one read, two for several lineages), or
    None; and the changed counts they judge."""
    if not changed:
        return None, set()
    found = response_rules_of(participant)
    if found is None:
        return None, set()
    return found, changed & found[0].analytes


def count_checks(found, reads: CheckReads, *, participant, assessment: int, before: OwnFacts | None,
                 after: OwnFacts | None, analytes: set[str]) -> list[CountCheck]:
    """One `CountCheck` per changed count `analytes` of `assessment`: the best confirmed response with
    the assessment `before` (None: not recorded yet) and `after` (None: its values removed), over the
    participant's other assessments and given infusions in `reads`. None before a first infusion."""
    if not analytes or found is None or not reads.infusion_days:
        return []
    response, study = found
    first = min(reads.infusion_days)
    days = lambda n: None if n is None else first + timedelta(days=n)  # noqa: E731
    base = ResponseFacts(
        first=first, last=max(reads.infusion_days),
        labs=tuple(LabFact(lab.assessment, lab.date, lab.analyte, lab.value, lab.lln, lab.uln, lab.bleeding_grade,
                           lab.steroid_mg_per_day) for lab in reads.labs),
        transfusions=tuple(reads.transfusions), therapies=tuple(reads.therapies),
        sex=participant.screening.sex if response.criteria.family == "prca" else "",
        assess_from=days(study.response_from_day), assess_until=days(study.response_until_day))
    was, now = _with_own(base, assessment, before), _with_own(base, assessment, after)
    change = confirmed_response_change(was, now, response)
    current = response.best_confirmed(now)
    return [CountCheck(assessment, analyte, change, current) for analyte in sorted(analytes)]


def _with_own(base: ResponseFacts, assessment: int, own: OwnFacts | None) -> ResponseFacts:
    if own is None:
        return base
    steroid = None if own.steroid_mg_per_day is None else float(own.steroid_mg_per_day)
    return base.with_assessment(
        assessment,
        labs=[LabFact(assessment, own.date, code, value, lln, uln, own.bleeding_grade, steroid)
              for code, (value, lln, uln) in sorted(own.labs.items()) if code in RESPONSE_LABS],
        transfusions=[rules.Transfusion(kind, on) for kind, on in own.transfusions],
        therapies=[rules.Therapy(therapy, start, end) for therapy, start, end in own.therapies])
