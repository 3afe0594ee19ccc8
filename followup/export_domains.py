"""What a data export holds: one table per domain, each column described for the data dictionary
(name, label, type, unit, code list), read as plain values (`.values()` through `.iterator()`,
no model instance per row) so that an export of any size runs in constant memory.

Labs and study-defined items are in long format, one row per value: a lab value with the value
and unit as entered and its SI value and unit; an item's answer with its type and unit (a yes/no
as true/false, a date ISO 8601, a multiple choice as its codes joined by ";"). Times are local
ISO 8601 with their offset, booleans 1/0. The CSV and Excel writers (`followup.export_csv`) write
these rows as they are.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dosing.models import Infusion
from enrollment.models import Consent, PriorTherapy, Screening, ScreeningLab
from trials import catalogues
from trials.models import Item

from .models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit

CHUNK = 2000
MULTI_SEPARATOR = ";"


@dataclass(frozen=True)
class Column:
    name: str
    path: str = ""  # the `.values()` key; empty: computed by the domain's rows
    label: str = ""
    type: str = ""
    unit: str = ""
    codes: str = ""


@dataclass
class Domain:
    name: str  # the CSV file's name (without .csv) and the sheet's
    label: str
    model: type[models.Model]
    columns: list[Column]
    rows: Callable[[object, list[int], list[Column]], Iterator[list]] | None = None
    scope: str = "participant__site_id__in"
    order: tuple[str, ...] = ()
    described: list[Column] = field(default_factory=list)


_TYPES = {"CharField": "text", "TextField": "text", "DateField": "date", "DateTimeField": "datetime",
          "FloatField": "number", "DecimalField": "number", "BooleanField": "boolean", "JSONField": "json",
          "PositiveSmallIntegerField": "integer", "PositiveIntegerField": "integer", "IntegerField": "integer",
          "AutoField": "integer", "BigAutoField": "integer", "ForeignKey": "integer"}


def _field(model, path: str):
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])


def describe(model, column: Column) -> Column:
    """The column with its label, type and code list taken from the model field it reads, where
    it does not give them."""
    if not column.path:
        return column
    fld = _field(model, column.path)
    codes = column.codes or MULTI_SEPARATOR.join(f"{code}={label}" for code, label in (fld.choices or []))
    if fld.get_internal_type() == "BooleanField":
        codes = codes or str(_("1=yes;0=no"))
    return Column(name=column.name, path=column.path, label=column.label or str(fld.verbose_name),
                  type=column.type or _TYPES.get(fld.get_internal_type(), "text"), unit=column.unit, codes=codes)


def cell(value):
    """A stored value as the export writes it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None
    return value


def item_text(value) -> str | None:
    """An item's answer as its long-format `value` (`trials.items.clean_value` stores it typed)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(code) for code in value)
    return str(value)


def _iso(value):
    return value.isoformat() if value is not None else None


def converter(kind: str, tz) -> Callable | None:
    """How a column's stored values of the dictionary type `kind` become cells (what `cell` does,
    chosen once per column rather than per value); None: as they are."""
    if kind == "datetime":
        return lambda value: value.astimezone(tz).isoformat() if value is not None else None
    if kind == "date":
        return _iso
    if kind == "boolean":
        return lambda value: (1 if value else 0) if value is not None else None
    if kind == "number":
        return lambda value: float(value) if isinstance(value, Decimal) else value
    if kind in ("text", "integer"):
        return None
    return cell


def domain_queryset(domain: Domain, study, site_ids: list[int]) -> models.QuerySet:
    """The rows of a domain read column by column (`domain.rows` is None), in the file's order."""
    return (domain.model._default_manager.filter(**{domain.scope: site_ids})
            .filter(**{domain.scope.replace("site_id__in", "study"): study})
            .order_by(*domain.order).values_list(*[c.path for c in domain.columns]))


def _plain(domain: Domain, study, site_ids: list[int]) -> Iterator[list]:
    tz = timezone.get_current_timezone()
    converters = [(index, converter(describe(domain.model, c).type, tz)) for index, c in enumerate(domain.columns)]
    converters = [(index, convert) for index, convert in converters if convert is not None]
    for values in domain_queryset(domain, study, site_ids).iterator(chunk_size=CHUNK):
        row = list(values)
        for index, convert in converters:
            row[index] = convert(row[index])
        yield row


def domain_rows(domain: Domain, study, site_ids: list[int]) -> Iterator[list]:
    if domain.rows is not None:
        return domain.rows(study, site_ids, domain.columns)
    return _plain(domain, study, site_ids)


def domain_count(domain: Domain, study, site_ids: list[int]) -> int:
    """About the number of rows (the progress bar's scale; the items count their records)."""
    queryset = domain.model._default_manager.filter(**{domain.scope: site_ids})
    count = queryset.filter(**{domain.scope.replace("site_id__in", "study"): study}).count()
    if domain.name == "labs":
        count += LabResult.objects.filter(assessment__participant__site_id__in=site_ids,
                                          assessment__participant__study=study).count()
    return count


# --- the long formats -------------------------------------------------------------------------------

def _form(visit_code) -> str:
    return visit_code or "unscheduled"


def _lab_units() -> dict[str, str]:
    """The SI unit of each analyte of the catalogue."""
    return {code: a.si_unit for code, a in catalogues.current().analytes.items()}


LAB_VALUES = ("analyte", "entered_value", "entered_unit", "value", "report_lln", "report_uln", "lln", "uln",
              "range_source")


def _lab_querysets(study, site_ids) -> tuple[models.QuerySet, models.QuerySet]:
    """The screening lab values, then the visits' (the CSV writer's COPY reads the same rows)."""
    screening = (ScreeningLab.objects.filter(screening__site_id__in=site_ids, screening__study=study)
                 .order_by("screening__site_id", "screening__sequence", "analyte")
                 .values_list("screening__participant__study_number", "screening__number", "sampled_on",
                              *LAB_VALUES))
    visits = (LabResult.objects.filter(assessment__participant__site_id__in=site_ids,
                                       assessment__participant__study=study)
              .order_by("assessment__participant_id", "assessment__date", "assessment_id", "analyte")
              .values_list("assessment__participant__study_number", "assessment__participant__screening__number",
                           "assessment__visit__code", "assessment_id", "assessment__date", *LAB_VALUES))
    return screening, visits


def _lab_rows(study, site_ids, columns) -> Iterator[list]:
    si_units = _lab_units()
    screening, visits = _lab_querysets(study, site_ids)
    # The lab values are numbers and text, written as they are; only the date is converted.
    for study_number, number, sampled_on, analyte, *rest in screening.iterator(chunk_size=CHUNK):
        yield [study_number, number, "screening", None, _iso(sampled_on), analyte, rest[0], rest[1], rest[2],
               si_units.get(analyte, ""), *rest[3:]]
    for study_number, number, visit, assessment, day, analyte, *rest in visits.iterator(chunk_size=CHUNK):
        yield [study_number, number, visit or "unscheduled", assessment, _iso(day), analyte, rest[0], rest[1],
               rest[2], si_units.get(analyte, ""), *rest[3:]]


def study_items(study) -> dict[str, Item]:
    return {item.code: item for item in Item.objects.filter(study=study).order_by("order", "code")}


def _item_rows(study, site_ids, columns) -> Iterator[list]:
    items = study_items(study)
    order = {code: index for index, code in enumerate(items)}

    def answers(values: dict):
        for code in sorted(values or {}, key=lambda c: (order.get(c, len(order)), c)):
            if values[code] is None:
                continue
            item = items.get(code)
            yield code, item.type if item else "", item_text(values[code]), item.unit if item else ""

    screenings = (Screening.objects.filter(site_id__in=site_ids, study=study).exclude(items={})
                  .order_by("site_id", "sequence")
                  .values_list("participant__study_number", "number", "screening_date", "items"))
    for study_number, number, day, values in screenings.iterator(chunk_size=CHUNK):
        for answer in answers(values):
            yield [study_number, number, "screening", None, cell(day), *answer]
    assessments = (Assessment.objects.filter(participant__site_id__in=site_ids, participant__study=study)
                   .exclude(items={}).order_by("participant_id", "date", "id")
                   .values_list("participant__study_number", "participant__screening__number", "visit__code", "id",
                                "date", "items"))
    for study_number, number, visit, assessment, day, values in assessments.iterator(chunk_size=CHUNK):
        for answer in answers(values):
            yield [study_number, number, _form(visit), assessment, cell(day), *answer]


_WHERE = [
    Column("study_number", "participant__study_number"),
    Column("screening_number", "participant__screening__number"),
]
_RECORD = [
    Column("form", label=_("form (screening, visit code or unscheduled)"), type="text"),
    Column("assessment_id", label=_("assessment"), type="integer"),
]


def domains() -> list[Domain]:
    """The export's tables, in the order of the files and sheets."""
    in_assessment = [Column("study_number", "assessment__participant__study_number"),
                     Column("assessment_id", "assessment_id", label=str(_("assessment")), type="integer")]
    return [
        Domain("participants", _("Participants and screening"), Screening, [
            Column("screening_number", "number"), Column("site", "site__code"),
            Column("screening_date", "screening_date"), Column("initials", "initials"),
            Column("birth_date", "birth_date"), Column("sex", "sex"), Column("weight_kg", "weight_kg", unit="kg"),
            Column("height_cm", "height_cm", unit="cm"), Column("disease", "disease"),
            Column("diagnosis_date", "diagnosis_date"), Column("ecog", "ecog"),
            Column("prior_therapies_recorded", "prior_therapies_recorded"), Column("eligible", "eligible"),
            Column("evaluated_at", "evaluated_at"), Column("protocol_version", "protocol_version"),
            Column("eligibility_confirmed_by", "eligibility_confirmed_by__username"),
            Column("eligibility_confirmed_at", "eligibility_confirmed_at"),
            Column("study_number", "participant__study_number"), Column("arm", "participant__arm__code"),
            Column("dose_level", "participant__dose_level__code"),
            Column("enrolled_on", "participant__enrolled_on"),
            Column("planned_day0", "participant__planned_day0"), Column("status", "participant__status"),
            Column("withdrawn_on", "participant__withdrawn_on"),
            Column("withdrawal_reason", "participant__withdrawal_reason"),
            Column("withdrawal_detail", "participant__withdrawal_detail"),
            Column("casebook_locked_at", "participant__locked_at"),
        ], scope="site_id__in", order=("site_id", "sequence")),
        Domain("consents", _("Consents"), Consent, [
            Column("screening_number", "screening__number"), Column("version", "version"),
            Column("signed_at", "signed_at"), Column("obtained_by", "obtained_by"),
            Column("guardian_name", "guardian_name"), Column("guardian_relationship", "guardian_relationship"),
        ], scope="screening__site_id__in", order=("screening__site_id", "screening__sequence", "signed_at")),
        Domain("prior_therapies", _("Prior therapies"), PriorTherapy, [
            Column("screening_number", "screening__number"), Column("therapy", "therapy"),
            Column("start", "start"), Column("end", "end"), Column("dose_text", "dose_text"),
            Column("outcome", "outcome"),
        ], scope="screening__site_id__in", order=("screening__site_id", "screening__sequence", "id")),
        Domain("infusions", _("Infusions"), Infusion, [
            Column("study_number", "participant__study_number"), Column("number", "number"),
            Column("state", "state"), Column("target_date", "target_date"), Column("window_start", "window_start"),
            Column("window_end", "window_end"), Column("started_at", "started_at"), Column("ended_at", "ended_at"),
            Column("weight_kg", "weight_kg", unit="kg"), Column("dose_level", "dose_level__code"),
            Column("dose_per_kg", "dose_per_kg", unit="cells/kg"), Column("computed_dose", "computed_dose",
                                                                          unit="cells"),
            Column("cells_infused", "cells_infused", unit="cells"), Column("dose_deviation", "dose_deviation"),
            Column("dose_deviation_reason", "dose_confirmation"), Column("deviation", "deviation"),
            Column("deviation_reason", "deviation_reason"), Column("missed_reason", "missed_reason"),
            Column("product", "product"), Column("premedication", "premedication"), Column("vitals", "vitals"),
            Column("reactions", "reactions"),
        ], order=("participant_id", "number")),
        Domain("visits", _("Visits"), Visit, [
            Column("study_number", "participant__study_number"), Column("visit", "code"),
            Column("target_at", "target_at"), Column("window_start", "window_start"),
            Column("window_end", "window_end"), Column("state", "state"), Column("done_at", "done_at"),
            Column("deviation", "deviation"), Column("deviation_reason", "deviation_reason"),
            Column("missed_reason", "missed_reason"),
        ], order=("participant_id", "target_at", "id")),
        Domain("assessments", _("Assessments"), Assessment, [
            Column("study_number", "participant__study_number"), Column("assessment_id", "id"),
            Column("visit", "visit__code"), Column("date", "date"), Column("bleeding_grade", "bleeding_grade"),
            Column("steroid_mg_per_day", "steroid_mg_per_day", unit="mg/day"),
            Column("steroid_drug", "steroid_drug"),
            Column("steroid_dose_mg_per_day", "steroid_dose_mg_per_day", unit="mg/day"),
            Column("concomitant_medications", "concomitant_medications"), Column("notes", "notes"),
            Column("recorded_at", "recorded_at"),
        ], order=("participant_id", "date", "id")),
        Domain("labs", _("Lab values (one row per value)"), ScreeningLab, [
            *_WHERE, *_RECORD, Column("date", label=_("date"), type="date"),
            Column("analyte", "analyte"), Column("value", "entered_value"), Column("unit", "entered_unit"),
            Column("value_si", "value"), Column("unit_si", label=_("SI unit"), type="text"),
            Column("report_lln_si", "report_lln"), Column("report_uln_si", "report_uln"),
            Column("lln_si", "lln"), Column("uln_si", "uln"), Column("range_source", "range_source"),
        ], rows=_lab_rows, scope="screening__site_id__in"),
        Domain("items", _("Study-defined items (one row per answer)"), Screening, [
            *_WHERE, *_RECORD, Column("date", label=_("date"), type="date"),
            Column("item", label=_("item code"), type="text"), Column("item_type", label=_("item type"), type="text"),
            Column("value", label=_("answer"), type="text"), Column("unit", label=_("unit"), type="text"),
        ], rows=_item_rows, scope="site_id__in"),
        Domain("transfusions", _("Transfusions"), Transfusion, [
            *in_assessment, Column("kind", "kind"), Column("date", "date"),
        ], scope="assessment__participant__site_id__in", order=("assessment__participant_id", "date", "id")),
        Domain("rescue_therapies", _("Rescue therapies"), RescueTherapy, [
            *in_assessment, Column("therapy", "therapy"), Column("start", "start"), Column("end", "end"),
        ], scope="assessment__participant__site_id__in", order=("assessment__participant_id", "start", "id")),
        Domain("adverse_events", _("Adverse events"), AdverseEvent, [
            Column("study_number", "participant__study_number"), Column("adverse_event_id", "id"),
            Column("term", "term"), Column("term_other", "term_other"), Column("category", "category"),
            Column("onset_date", "onset_date"), Column("resolution_date", "resolution_date"),
            Column("status", "status"), Column("grade", "grade"), Column("serious", "serious"),
            Column("relationship", "relationship"), Column("infusion_number", "infusion__number"),
            Column("resolved_to_grade1_within_48h", "resolved_to_grade1_within_48h"),
            Column("stopped_infusions", "stopped_infusions"),
            Column("platelet_drop_confirmed", "platelet_drop_confirmed"), Column("description", "description"),
            Column("seriousness", "seriousness"), Column("action_taken", "action_taken"),
            Column("outcome", "outcome"), Column("site_aware_at", "site_aware_at"),
            Column("sae_reported_at", "sae_reported_at"), Column("suggested_grade", "suggested_grade"),
            Column("confirmed_by", "confirmed_by__username"), Column("confirmed_at", "confirmed_at"),
            Column("dismissed_reason", "dismissed_reason"), Column("reported_at", "reported_at"),
        ], order=("participant_id", "onset_date", "id")),
    ]


def described_domains() -> list[Domain]:
    """The domains with every column described (label, type, code list from the model fields)."""
    result = []
    for domain in domains():
        model = LabResult if domain.name == "labs" else domain.model
        domain.described = [describe(Assessment if domain.rows and c.path.startswith("participant__") else model, c)
                            for c in domain.columns]
        result.append(domain)
    return result


DICTIONARY_COLUMNS = ["file", "column", "label", "type", "unit", "code_list", "item_code"]


def dictionary_rows(study, domains_: Iterable[Domain], suffix: str) -> Iterator[list]:
    """The data dictionary: every column of every file, then each study-defined item (its answers
    are the `value` of the items file's rows with that `item`)."""
    for domain in domains_:
        for column in domain.described:
            yield [f"{domain.name}{suffix}", column.name, str(column.label), column.type, column.unit,
                   str(column.codes), None]
    for item in study_items(study).values():
        codes = MULTI_SEPARATOR.join(f"{c.get('code')}={c.get('label')}" for c in item.choices or [])
        if item.type == "yes_no":
            codes = "true;false"
        yield [f"items{suffix}", "value", item.label, item.type, item.unit, codes, item.code]
