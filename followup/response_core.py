"""Results and the engine shared by every response criteria set (CLINICAL_RULES.md sections 1
and 2): confirmation, best confirmed response, loss, duration, baseline and the explanations.

Pure: no ORM, no clock; the reasons and explanations are messages (`followup.response_messages`),
worded by `trials.messages` in English (``reason``, ``explanation``) or the reader's language
(``reason_shown``, ``explanation_shown``, ``as_api(render)``). The rules are described in
:mod:`followup.response`, which re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from trials.messages import Message, english, listed, message, render, word

from .response_inputs import Therapy
from .response_messages import combined_day, joined

CR = "CR"
R = "R"
PR = "PR"
NR = "NR"
NE = "NE"
_RANK = {CR: 2, R: 1, PR: 1, NR: 0}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Baseline:
    analyte: str
    value: float
    date: date


@dataclass(frozen=True)
class AssessmentResult:
    date: date
    category: str
    evaluable: bool
    reason_message: Message
    value: float | None = None

    @property
    def reason(self) -> str:
        """Which values, dates and rule gave the category, in English."""
        return english(self.reason_message)

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's (active) language."""
        return render(self.reason_message)


@dataclass(frozen=True)
class ResponseResult:
    """The shape of ``GET /api/v1/participants/{id}/response/`` (API.md) plus detail."""

    criteria_set: str
    baseline: Baseline | None
    assessments: tuple[AssessmentResult, ...]
    best_confirmed_response: str
    response_date: date | None
    time_to_response_days: int | None
    loss_of_response_date: date | None
    explanation_message: Message
    complete_response_date: date | None = None
    loss_of_complete_response_date: date | None = None
    duration_of_response_days: int | None = None
    duration_censored: bool | None = None
    time_in_response_share: float | None = None
    time_points: tuple[TimePoint, ...] = ()
    lineages: Mapping[str, ResponseResult] = field(default_factory=dict)

    @property
    def explanation(self) -> str:
        """How the best confirmed response was reached, in English."""
        return english(self.explanation_message)

    @property
    def explanation_shown(self) -> str:
        """The explanation in the reader's (active) language."""
        return render(self.explanation_message)

    def as_api(self, say: Callable[[Message], str] = english) -> dict[str, Any]:
        """The API.md JSON body (dates as ISO strings), then the detail behind it; the reasons and
        the explanation worded by ``say`` (``trials.messages.render``: in the active language)."""
        iso = lambda d: d.isoformat() if d else None  # noqa: E731
        return {**self._api_contract(iso, say),
                "complete_response_date": iso(self.complete_response_date),
                "loss_of_complete_response_date": iso(self.loss_of_complete_response_date),
                "duration_of_response_days": self.duration_of_response_days,
                "duration_censored": self.duration_censored,
                "time_in_response_share": self.time_in_response_share,
                "time_points": [
                    {"name": p.name, "target_date": iso(p.target_date), "assessment_date": iso(p.assessment_date),
                     "met": p.met, "reason": say(p.reason_message)}
                    for p in self.time_points
                ],
                "lineages": {name: lineage.as_api(say) for name, lineage in self.lineages.items()},
                "explanation": say(self.explanation_message)}

    def _api_contract(self, iso, say) -> dict[str, Any]:
        return {
            "criteria_set": self.criteria_set,
            "baseline": None
            if self.baseline is None
            else {"analyte": self.baseline.analyte, "value": self.baseline.value, "date": iso(self.baseline.date)},
            "assessments": [
                {"date": iso(a.date), "category": a.category, "evaluable": a.evaluable, "reason": say(a.reason_message),
                 "value": a.value}
                for a in self.assessments
            ],
            "best_confirmed_response": self.best_confirmed_response,
            "response_date": iso(self.response_date),
            "time_to_response_days": self.time_to_response_days,
            "loss_of_response_date": iso(self.loss_of_response_date),
        }


@dataclass(frozen=True)
class TimePoint:
    """One ITP time-point endpoint (section 1): met True/False, or None when not assessable."""

    name: str
    target_date: date
    assessment_date: date | None
    met: bool | None
    reason_message: Message

    @property
    def reason(self) -> str:
        """Why the time point was met or not, in English."""
        return english(self.reason_message)

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's (active) language."""
        return render(self.reason_message)


@dataclass(frozen=True)
class MultilineageResult:
    """Evans syndrome / several lineages (section 2): per-lineage results and the overall one."""

    criteria_set: str
    lineages: Mapping[str, ResponseResult]
    overall: ResponseResult
    best_by_lineage: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _d(x: float) -> Decimal:
    # A Decimal is its own decimal form (Decimal(str(d)) is d, exponent and all): not rebuilt.
    return x if type(x) is Decimal else Decimal(str(x))


def _fmt(x: float | Decimal) -> str:
    return format(_d(x).normalize(), "f")


def _days(thresholds: Mapping[str, float], key: str) -> int:
    try:
        return int(thresholds[key])
    except KeyError:
        raise ValueError(f"the criteria set has no threshold {key!r}") from None


DEFAULT_BASELINE_LOOKBACK_DAYS = 14
DEFAULT_LINEAGE_PAIRING_DAYS = 3


def _lookback(thresholds: Mapping[str, float]) -> int:
    """The set's ``baseline_lookback_days``, 14 when it has none (CLINICAL_RULES.md section 1)."""
    return int(thresholds.get("baseline_lookback_days", DEFAULT_BASELINE_LOOKBACK_DAYS))


def _find_baseline(items, *, analyte: str, date_of, value_of, first_infusion: date, lookback_days: int):
    """Last item (one per date) on or before the first infusion, within the look-back."""
    earliest = first_infusion - timedelta(days=int(lookback_days))
    candidates = [i for i in items if earliest <= date_of(i) <= first_infusion]
    if not candidates:
        return None
    last = max(candidates, key=date_of)
    return Baseline(analyte, value_of(last), date_of(last))


def _baseline_text(baseline: Baseline | None, first_infusion: date, lookback_days, several_on=None) -> Message:
    if baseline is not None:
        said = {"analyte": baseline.analyte, "value": _fmt(baseline.value), "date": str(baseline.date)}
        n = (several_on or {}).get(baseline.date)
        if n:
            return message("baseline_several", **said, several=combined_day(baseline.date, n))
        return message("baseline", **said)
    return message("baseline_missing", days=int(lookback_days), first=str(first_infusion))


def _with_several(result: AssessmentResult, several: Mapping[date, int], what: str = "counts") -> AssessmentResult:
    """The result with "2 counts on <date>, lowest used" added to its reason when its day combined several."""
    n = several.get(result.date)
    if not n:
        return result
    return AssessmentResult(result.date, result.category, result.evaluable,
                            joined([result.reason_message, combined_day(result.date, n, what)]), result.value)


def _recent(therapies: Sequence[Therapy], on: date, days: int) -> Therapy | None:
    """The latest therapy given on ``on`` or in the ``days`` days before it (ongoing counts); of
    several started the same day, the one lasting longest, then by name, never by input order."""
    hits = [t for t in therapies if t.start <= on and (t.end is None or t.end >= on - timedelta(days=days))]
    return max(hits, key=lambda t: (t.start, t.end or date.max, t.kind)) if hits else None


def _therapy_text(t: Therapy) -> Message:
    if t.end is None:
        return message("therapy_ongoing", therapy=word(t.kind), start=str(t.start))
    if t.end == t.start:
        return message("therapy_on", therapy=word(t.kind), start=str(t.start))
    return message("therapy_period", therapy=word(t.kind), start=str(t.start), end=str(t.end))


def _window_reason(on: date, assess_from: date | None, assess_until: date | None) -> Message | None:
    if (assess_from is not None and on < assess_from) or (assess_until is not None and on > assess_until):
        return message("outside_window", start=str(assess_from or "..."), end=str(assess_until or "..."))
    return None


def _all(parts: Sequence[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, None (not assessable) if any is missing."""
    if any(p is False for p in parts):
        return False
    if any(p is None for p in parts):
        return None
    return True


def _first_confirmed_run(
    evaluable: Sequence[AssessmentResult], start: int, qualifies: Callable[[AssessmentResult], bool], min_days: int
) -> tuple[int, int] | None:
    """First (i, j): consecutive qualifying assessments i..j with date j - date i >= min_days."""
    i = start
    while i < len(evaluable):
        if not qualifies(evaluable[i]):
            i += 1
            continue
        j = i + 1
        while j < len(evaluable) and qualifies(evaluable[j]):
            if (evaluable[j].date - evaluable[i].date).days >= min_days:
                return i, j
            j += 1
        i = j  # a later start inside the same run is closer to its end: it cannot confirm
    return None


def _summarise(
    criteria_set: str,
    baseline: Baseline | None,
    assessments: Sequence[AssessmentResult],
    *,
    first_infusion: date,
    confirm_response_days: int,
    confirm_failure_days: int | None,
    response_label: str,
    preamble: Message,
    several: Mapping[date, int] | None = None,
    several_what: str = "counts",
) -> ResponseResult:
    """Confirmation, best confirmed response, loss and duration (module docstring)."""
    assessments = tuple(sorted(assessments, key=lambda a: a.date))
    ev = [a for a in assessments if a.evaluable]
    said = [preamble, message("evaluable_of", evaluable=len(ev), total=len(assessments))]
    said += [combined_day(on, n, several_what) for on, n in sorted((several or {}).items())]

    response = _first_confirmed_run(ev, 0, lambda a: _RANK[a.category] >= 1, confirm_response_days)
    complete = _first_confirmed_run(ev, 0, lambda a: _RANK[a.category] >= 2, confirm_response_days)

    response_date = complete_date = loss_date = loss_cr_date = None
    if response is not None:
        i, j = response
        response_date = ev[i].date
        said.append(message("response_confirmed", category=ev[i].category, date=str(ev[i].date), by=str(ev[j].date),
                            days=confirm_response_days))
    if complete is not None:
        i, j = complete
        complete_date = ev[i].date
        said.append(message("cr_confirmed", date=str(ev[i].date), by=str(ev[j].date), days=confirm_response_days))

    if confirm_failure_days is not None:
        if response is not None:
            loss = _first_confirmed_run(ev, response[1] + 1, lambda a: _RANK[a.category] < 1, confirm_failure_days)
            if loss is not None:
                loss_date = ev[loss[0]].date
                said.append(message("loss_confirmed", date=str(loss_date), category=ev[loss[0]].category,
                                    by=str(ev[loss[1]].date), days=confirm_failure_days))
        if complete is not None:
            loss_cr = _first_confirmed_run(ev, complete[1] + 1, lambda a: _RANK[a.category] < 2, confirm_failure_days)
            if loss_cr is not None:
                loss_cr_date = ev[loss_cr[0]].date
                said.append(message("loss_cr_confirmed", date=str(loss_cr_date), by=str(ev[loss_cr[1]].date)))
    else:
        said.append(message("no_loss_rule"))

    if complete is not None:
        best = CR
    elif response is not None:
        best = response_label
    elif ev and _nr_unconfirmed(ev, 1 if confirm_failure_days is None else int(confirm_failure_days)):
        best = NE
        nr_days = 1 if confirm_failure_days is None else int(confirm_failure_days)
        said.append(message("nr_not_confirmed", days=nr_days))
    elif ev:
        best = NR
        said.append(message("no_response_confirmed", days=confirm_response_days))
    else:
        best = NE
        said.append(message("no_evaluable"))

    duration = censored = None
    if response_date is not None:
        end = loss_date if loss_date is not None else ev[-1].date
        duration = (end - response_date).days
        censored = loss_date is None
        said.append(message("duration_censored", days=duration, date=str(end)) if censored
                    else message("duration", days=duration))

    share = _time_in_response(ev)
    if share is not None:
        said.append(message("time_in_response", days=share[0], observed=share[1]))

    return ResponseResult(
        criteria_set=criteria_set,
        baseline=baseline,
        assessments=assessments,
        best_confirmed_response=best,
        response_date=response_date,
        time_to_response_days=None if response_date is None else (response_date - first_infusion).days,
        loss_of_response_date=loss_date,
        explanation_message=message("explanation", criteria_set=criteria_set, best=best,
                                    parts=listed("list_semicolon", said)),
        complete_response_date=complete_date,
        loss_of_complete_response_date=loss_cr_date,
        duration_of_response_days=duration,
        duration_censored=censored,
        time_in_response_share=None if share is None else round(share[0] / share[1], 4),
    )


def _nr_unconfirmed(evaluable: Sequence[AssessmentResult], min_days: int) -> bool:
    """Every evaluable assessment NR, all within less than ``min_days`` of each other."""
    if any(a.category != NR for a in evaluable):
        return False
    return (evaluable[-1].date - evaluable[0].date).days < min_days


def _time_in_response(evaluable: Sequence[AssessmentResult]) -> tuple[int, int] | None:
    """(days in R/PR or CR, days observed) from the first to the last evaluable assessment, each
    category holding until the next evaluable one; None when fewer than two days are observed."""
    if len(evaluable) < 2 or evaluable[-1].date == evaluable[0].date:
        return None
    responding = sum((b.date - a.date).days for a, b in zip(evaluable, evaluable[1:]) if _RANK[a.category] >= 1)
    return responding, (evaluable[-1].date - evaluable[0].date).days


def _decide(value, cr: bool | None, partial: bool | None, label: str, reasons: list[Message], on: date):
    """CR / partial / NR from three-valued criteria; NE when a missing value could change it."""
    text = listed("list_semicolon", reasons)
    if cr is True:
        return AssessmentResult(on, CR, True, message("category_because", category=CR, reasons=text), value)
    if partial is True:
        return AssessmentResult(on, label, True, message("category_because", category=label, reasons=text), value)
    if cr is None or partial is None:
        return AssessmentResult(on, NE, False, message("not_evaluable_because", reasons=text), value)
    return AssessmentResult(on, NR, True, message("category_because", category=NR, reasons=text), value)


def _op(holds: bool, yes: str = ">=", no: str = "<") -> str:
    """The comparison a reason shows: ``yes`` when it holds, else ``no``."""
    return yes if holds else no


def _compared(value: Message | str, holds: bool, limit, yes: str = ">=", no: str = "<") -> Message:
    """"<value> >= <limit>" (or ``no``): ``limit`` a number (formatted) or a message."""
    return message("compared", value=value, op=_op(holds, yes, no),
                   limit=limit if isinstance(limit, dict) else _fmt(limit))
