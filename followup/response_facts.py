"""What the response rules read of one participant, as plain values, and the response by the
criteria family of their disease (CLINICAL_RULES.md sections 1 and 2).

Pure: no ORM, no clock. `followup.selectors` builds `ResponseFacts` from the
participant's rows and computes the response pages' result with `response_of_family` /
`response_of_lineages`; the edit check of a count that changes the confirmed response
(`followup.auto_queries`) builds them from the rows a save read and compares the best confirmed
response before and after the change (`confirmed_response_change`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from trials.messages import listed, message

from . import response as rules

# Rescue therapy that makes a platelet count not evaluable (CLINICAL_RULES.md section 1).
ITP_RESCUE = ("ivig", "steroid_start", "steroid_increase", "tpo_agent", "platelet_transfusion")
# The analyte each single-lineage family judges, and the lineage it stands for in several lineages.
LINEAGE_OF_FAMILY = {"aiha": "HGB", "prca": "HGB", "itp": "PLT", "neutropenia": "ANC"}
# Several lineages (CLINICAL_RULES.md section 2): the family that grades each lineage.
LINEAGE_FAMILIES = (("HGB", "aiha"), ("PLT", "itp"), ("ANC", "neutropenia"))


class NoInvolvedLineage(ValueError):
    """Several lineages, none of them involved (no baseline below the set's thresholds)."""


@dataclass(frozen=True)
class LabFact:
    """One lab value of an assessment with what the rules read of its assessment."""

    assessment: int
    date: date
    analyte: str
    value: float
    lln: float | None = None
    uln: float | None = None
    bleeding_grade: int | None = None
    steroid_mg_per_day: float | None = None


@dataclass(frozen=True)
class ResponseFacts:
    """A participant's first and last given infusion, their assessments' lab values, transfusions
    and rescue therapies (each as (assessment id, value)), sex, and the study's response period."""

    first: date
    last: date
    labs: tuple[LabFact, ...] = ()
    transfusions: tuple[tuple[int, rules.Transfusion], ...] = ()
    therapies: tuple[tuple[int, rules.Therapy], ...] = ()
    sex: str = ""
    assess_from: date | None = None
    assess_until: date | None = None

    def counts(self, analyte: str) -> list[rules.Count]:
        return [rules.Count(lab.date, lab.value, lab.bleeding_grade, lab.steroid_mg_per_day)
                for lab in self.labs if lab.analyte == analyte]

    def hb_rows(self) -> list[rules.HbAssessment]:
        """One row per haemoglobin value, each with its day's markers, the lowest of each analyte
        (CLINICAL_RULES.md section 1, one value per day): the engine combines the day's Hb values
        into the lowest and says so. Reticulocytes: the absolute count with its range when recorded
        that day, else the percentage with its range (section 2)."""
        by_date: dict = {}
        for lab in self.labs:
            by_date.setdefault(lab.date, {}).setdefault(lab.analyte, []).append(lab)
        rows = []
        for day, found in sorted(by_date.items(), key=lambda item: item[0]):
            if "HGB" not in found:
                continue
            lowest = {code: min(labs, key=_lab_order) for code, labs in found.items()}
            lab = lambda code: (rules.Lab(lowest[code].value, lowest[code].lln, lowest[code].uln, code)  # noqa: E731
                                if code in lowest else None)
            retic = lab("RETIC_ABS") or lab("RETIC_PCT")
            for hgb in sorted(found["HGB"], key=_lab_order):
                rows.append(rules.HbAssessment(date=day, hb=hgb.value, ldh=lab("LDH"), tbil=lab("TBIL"), retic=retic,
                                               retic_pct=lowest["RETIC_PCT"].value if "RETIC_PCT" in lowest else None,
                                               hb_lln=hgb.lln))
        return rows

    def with_assessment(self, assessment: int, *, labs: Sequence[LabFact] = (),
                        transfusions: Sequence[rules.Transfusion] = (),
                        therapies: Sequence[rules.Therapy] = ()) -> ResponseFacts:
        """These facts with assessment `assessment`'s own replaced by the ones given (none: as if it
        had no value)."""
        return replace(
            self,
            labs=tuple(x for x in self.labs if x.assessment != assessment) + tuple(labs),
            transfusions=tuple(x for x in self.transfusions if x[0] != assessment)
            + tuple((assessment, t) for t in transfusions),
            therapies=tuple(x for x in self.therapies if x[0] != assessment)
            + tuple((assessment, t) for t in therapies))


def _lab_order(lab):
    """A fixed order of a day's values of one analyte: the lowest first, then by range (never by entry)."""
    return (lab.value, lab.lln is None, lab.lln or 0, lab.uln is None, lab.uln or 0)


@dataclass(frozen=True)
class CriteriaSet:
    """A response criteria set as the rules read it: thresholds with their defaults."""

    code: str
    family: str
    thresholds: Mapping[str, float]


def response_of_family(facts: ResponseFacts, criteria: CriteriaSet) -> rules.ResponseResult:
    """The response by one single-lineage criteria set (ITP, AIHA, PRCA, neutropenia)."""
    t, family = criteria.thresholds, criteria.family
    common = {"first_infusion": facts.first, "thresholds": t, "criteria_set": criteria.code,
              "assess_from": facts.assess_from, "assess_until": facts.assess_until}
    therapies = [t for _a, t in facts.therapies]
    transfusions = [t for _a, t in facts.transfusions]
    if family == "itp":
        return rules.itp_response(facts.counts("PLT"), rescue=[x for x in therapies if x.kind in ITP_RESCUE],
                                  transfusions=transfusions, **common)
    if family == "prca":
        return rules.prca_response(facts.hb_rows(), transfusions=transfusions, sex=facts.sex, **common)
    if family == "aiha":
        return rules.aiha_response(facts.hb_rows(), transfusions=transfusions, **common)
    if family == "neutropenia":
        return rules.neutropenia_response(facts.counts("ANC"), gcsf=[x for x in therapies if x.kind == "gcsf"],
                                          **common)
    raise ValueError(f"no single-lineage response rule for the {family!r} family")


def response_of_lineages(facts: ResponseFacts, criteria: CriteriaSet, *, lineage_sets: Mapping[str, CriteriaSet],
                         involved: Sequence[str], disease: str) -> rules.ResponseResult:
    """Several lineages (CLINICAL_RULES.md section 2): each lineage by its own set (`lineage_sets`,
    analyte -> set), involved when the disease involves it by definition (`involved`) or when its
    baseline is below the set's `involved_<analyte>_below`; then the overall category. Raises
    `NoInvolvedLineage` when no lineage is involved."""
    t = criteria.thresholds
    lineages, said = {}, []
    for lineage, _family in LINEAGE_FAMILIES:
        lineage_set = lineage_sets.get(lineage)
        if lineage_set is None:
            continue
        result = response_of_family(facts, lineage_set)
        if lineage in involved:
            lineages[lineage] = result
            said.append(message("lineage_involved", lineage=lineage, disease=disease))
            continue
        limit = t.get(f"involved_{lineage.lower()}_below")
        if limit is None:
            continue
        if result.baseline is None:
            said.append(message("lineage_no_baseline", lineage=lineage))
        elif result.baseline.value < limit:
            lineages[lineage] = result
            said.append(message("lineage_below", lineage=lineage, value=f"{result.baseline.value:g}",
                                limit=f"{limit:g}"))
        else:
            said.append(message("lineage_not_below", lineage=lineage, value=f"{result.baseline.value:g}",
                                limit=f"{limit:g}"))
    if not lineages:
        raise NoInvolvedLineage("No involved lineage: no baseline haemoglobin, platelet or neutrophil value "
                                "below the set's thresholds before the first infusion.")
    combined = rules.multilineage_response(lineages, first_infusion=facts.first, thresholds=t,
                                           criteria_set=criteria.code)
    overall = combined.overall
    return replace(overall, lineages=lineages, explanation_message=message(
        "lineages_then", lineages=listed("list_semicolon", said), overall=overall.explanation_message))


# --- the edit check: a count that changes the confirmed response --------------------------------

@dataclass(frozen=True)
class ResponseRules:
    """What computes a participant's best confirmed response: their disease's criteria set and, for
    several lineages, each lineage's set and the lineages the disease involves by definition."""

    criteria: CriteriaSet
    lineage_sets: Mapping[str, CriteriaSet] | None = None
    involved: tuple[str, ...] = ()
    disease: str = ""

    @property
    def analytes(self) -> frozenset[str]:
        """The counts whose value the response categories are judged on."""
        if self.criteria.family == "multilineage":
            return frozenset(lineage for lineage, _f in LINEAGE_FAMILIES if (self.lineage_sets or {}).get(lineage))
        analyte = LINEAGE_OF_FAMILY.get(self.criteria.family)
        return frozenset({analyte} if analyte else ())

    def best_confirmed(self, facts: ResponseFacts) -> str | None:
        """The best confirmed response (CR, R/PR, NR or NE); None when none can be computed."""
        try:
            if self.criteria.family == "multilineage":
                result = response_of_lineages(facts, self.criteria, lineage_sets=self.lineage_sets or {},
                                              involved=self.involved, disease=self.disease)
            else:
                result = response_of_family(facts, self.criteria)
        except ValueError:
            return None
        return result.best_confirmed_response


@dataclass(frozen=True)
class ResponseChange:
    """The best confirmed response before and after a change of a count."""

    before: str
    after: str


def confirmed_response_change(before: ResponseFacts, after: ResponseFacts, response: ResponseRules
                              ) -> ResponseChange | None:
    """The change of the participant's best confirmed response (CLINICAL_RULES.md sections 1-2:
    confirmation, best confirmed response) that turning the facts `before` into `after` makes; None
    when it stays the same, cannot be computed on either side, or was not a confirmed category
    before (NE: the first evaluable counts, a baseline entered late, give a response, they do not
    change one)."""
    was, now = response.best_confirmed(before), response.best_confirmed(after)
    if was is None or now is None or was == now or was == rules.NE:
        return None
    return ResponseChange(was, now)


OPEN, KEEP, CLOSE = "open", "keep", "close"


def count_query_action(change: ResponseChange | None, *, current: str | None, open_basis: str | None) -> str | None:
    """What the edit check does about the query on a count that was just entered or corrected.

    With no query of the check open on the count (`open_basis` None): `OPEN` when the change moved
    the best confirmed response (`change`), else nothing (None). With one open, asked about a change
    away from `open_basis` (the confirmed response before the value it asked about): `CLOSE` once
    the confirmed response is that again (`current`: the value was corrected back, or to one that
    does not change it), else `KEEP`.
    """
    if open_basis is None:
        return OPEN if change is not None else None
    return CLOSE if current == open_basis else KEEP
