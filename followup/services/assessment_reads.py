"""What the checks of an assessment's save read of the participant, in one statement (the save's
query budget, <= 20 statements): the site's reference ranges (`_lab_ranges`), the screening
baselines and open drafts of the adverse-event suggestions (`adverse_event_suggest`), and the
facts of the participant's other assessments and given infusions the response rules read
(`followup.response_facts`, for the edit check of a count that changes the confirmed response).
Each part is read only when asked for; nothing asked, nothing is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import CharField, DateField, DecimalField, F, FloatField, IntegerField, Value
from django.db.models.functions import Cast, TruncDate

from dosing.models import Infusion, InfusionState
from enrollment.models import ScreeningLab
from trials.models import ReferenceRange

from .. import response as rules
from ..models import AdverseEvent, LabResult, RescueTherapy, Transfusion

# The lab values any response rule reads: the counts and the AIHA/PRCA markers (section 2).
RESPONSE_LABS = ("PLT", "HGB", "ANC", "LDH", "TBIL", "RETIC_ABS", "RETIC_PCT")

_COLUMNS = ("c_kind", "c_code", "c_text", "c_day", "c_end", "c_value", "c_lln", "c_uln", "c_grade", "c_steroid",
            "c_n1", "c_n2")
_TYPES = (CharField(), CharField(), CharField(), DateField(), DateField(), FloatField(), FloatField(), FloatField(),
          IntegerField(), DecimalField(max_digits=9, decimal_places=3), IntegerField(), IntegerField())


def _branch(queryset, kind: str, **columns):
    """`queryset` as rows of the twelve columns, the ones not given NULL of the column's type (PostgreSQL
    types a bare NULL in a union as text)."""
    values = {"c_kind": Value(kind, output_field=CharField())}
    for name, output in zip(_COLUMNS[1:], _TYPES[1:], strict=True):
        given = columns.get(name)
        values[name] = Cast(Value(None), output_field=output) if given is None else given
    return queryset.order_by().annotate(**values).values_list(*_COLUMNS)


@dataclass(frozen=True)
class SiteRange:
    """A site's reference range as `enrollment.selectors.site_reference_range` reads it."""

    analyte: str
    sex: str
    min_age_years: int
    max_age_years: int
    lln: float | None
    uln: float | None


@dataclass(frozen=True)
class OtherLab:
    assessment: int
    date: date
    analyte: str
    value: float
    lln: float | None
    uln: float | None
    bleeding_grade: int | None
    steroid_mg_per_day: float | None


@dataclass
class CheckReads:
    ranges: list[SiteRange] = field(default_factory=list)
    baselines: dict[str, tuple] = field(default_factory=dict)  # analyte -> (value, lln, uln)
    open_terms: set[str] = field(default_factory=set)
    labs: list[OtherLab] = field(default_factory=list)
    transfusions: list[tuple[int, rules.Transfusion]] = field(default_factory=list)
    therapies: list[tuple[int, rules.Therapy]] = field(default_factory=list)
    infusion_days: list[date] = field(default_factory=list)  # the given infusions' local days


def assessment_check_reads(participant, *, ranges: bool = False, baseline_analytes=(), draft_terms=(),
                           response: bool = False, excluding: int | None = None) -> CheckReads:
    """The parts asked for, in one statement: the site's `ranges`, the screening values of
    `baseline_analytes` and the open adverse-event drafts of `draft_terms`, and with `response`
    the lab values, transfusions and rescue therapies of the participant's assessments other than
    `excluding`, and the days of their given infusions."""
    parts = []
    if ranges:
        parts.append(_branch(ReferenceRange.objects.filter(site_id=participant.site_id), "range",
                             c_code=F("analyte"), c_text=F("sex"), c_lln=F("lln"), c_uln=F("uln"),
                             c_n1=F("min_age_years"), c_n2=F("max_age_years")))
    if baseline_analytes:
        parts.append(_branch(ScreeningLab.objects.filter(screening_id=participant.screening_id,
                                                         analyte__in=sorted(baseline_analytes)), "baseline",
                             c_code=F("analyte"), c_value=F("value"), c_lln=F("lln"), c_uln=F("uln")))
    if draft_terms:
        parts.append(_branch(AdverseEvent.objects.filter(participant_id=participant.pk, status="draft",
                                                         term__in=sorted(draft_terms)), "draft", c_code=F("term")))
    if response:
        mine = {"assessment__participant_id": participant.pk}
        others = {"assessment_id": excluding} if excluding is not None else {}
        parts += [
            _branch(LabResult.objects.filter(analyte__in=RESPONSE_LABS, **mine).exclude(**others), "lab",
                    c_code=F("analyte"), c_day=F("assessment__date"), c_value=F("value"), c_lln=F("lln"),
                    c_uln=F("uln"), c_grade=F("assessment__bleeding_grade"),
                    c_steroid=F("assessment__steroid_mg_per_day"), c_n1=F("assessment_id")),
            _branch(Transfusion.objects.filter(**mine).exclude(**others), "transfusion", c_code=F("kind"),
                    c_day=F("date"), c_n1=F("assessment_id")),
            _branch(RescueTherapy.objects.filter(**mine).exclude(**others), "rescue", c_code=F("therapy"),
                    c_day=F("start"), c_end=F("end"), c_n1=F("assessment_id")),
            _branch(Infusion.objects.filter(participant_id=participant.pk, state=InfusionState.GIVEN), "infusion",
                    c_day=TruncDate("started_at")),
        ]
    found = CheckReads()
    if not parts:
        return found
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    for kind, code, text, day, end, value, lln, uln, grade, steroid, n1, n2 in query:
        if kind == "range":
            found.ranges.append(SiteRange(code, text, n1, n2, lln, uln))
        elif kind == "baseline":
            found.baselines[code] = (value, lln, uln)
        elif kind == "draft":
            found.open_terms.add(code)
        elif kind == "lab":
            found.labs.append(OtherLab(n1, _day(day), code, value, lln, uln, grade,
                                       None if steroid is None else float(steroid)))
        elif kind == "transfusion":
            found.transfusions.append((n1, rules.Transfusion(code, _day(day))))
        elif kind == "rescue":
            found.therapies.append((n1, rules.Therapy(code, _day(day), _day(end))))
        elif kind == "infusion":
            found.infusion_days.append(_day(day))
    return found


def _day(value) -> date | None:
    """A date column of the union (SQLite may give it back as text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
