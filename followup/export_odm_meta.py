"""The study metadata of the CDISC ODM 1.3.2 export (`followup.export_odm`): what the forms hold.

One declaration (`GROUPS`) names every item group of the casebook, the model rows it is read from
and each item's ODM data type, unit and code list; the study's own items (the data dictionary of
every protocol version, `trials.versions`) are added to the screening and visit forms. The writer
emits the metadata from it and reads the clinical data through the same declaration, so that every
value written has its definition. OIDs are prefixed by kind (SE., F., IG., IT., CL., MU.): ODM
requires them unique within a MetaDataVersion across kinds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from django.db.models import Max

from dosing.models import InfusionState
from enrollment.enums import ParticipantStatus, Sex, TherapyOutcome, WithdrawalReason
from trials import catalogues
from trials import items as item_rules
from trials.item_definitions import SCREENING_FORM
from trials.messages import english
from trials.models import DoseLevel, InfusionDefinition, ItemPlacement, VisitDefinition
from trials.versions import item_spec

from .models import (ActionTaken, AdverseEventCategory, AdverseEventStatus, BleedingGrade, Outcome, Relationship,
                     RescueTherapyKind, SteroidDrug, TransfusionKind, VisitState)

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
SIGNATURE_ELIGIBILITY, SIGNATURE_ADVERSE_EVENT = "SD.ELIGIBILITY", "SD.ADVERSE_EVENT"
# The investigators' signatures (trials/signatures.py: the password re-entered next to the meaning).
SIGNATURES = {
    SIGNATURE_ELIGIBILITY: "Eligibility confirmed by an investigator of the site",
    SIGNATURE_ADVERSE_EVENT: "Grade, seriousness and causality (or the dismissal) of the adverse event signed by an "
                             "investigator",
}


@dataclass(frozen=True)
class Field:
    """One item of a group: read from a row (`key`, or `get(row)`), written as `datatype`.

    `unit` is the unit symbol of every value; `unit_key` the row key holding a value's own unit
    (lab values: the SI unit of the analyte, or the unit as entered). `stored` names the column the
    value is worded from when it is not `key` (a message, written in English: `trials.messages`);
    the audit records follow that column."""

    key: str
    oid: str
    name: str
    datatype: str = "text"
    codelist: str | None = None
    unit: str | None = None
    unit_key: str | None = None
    get: Callable[[dict], Any] | None = None
    stored: str | None = None

    @property
    def column(self) -> str:
        return self.stored or self.key

    def value(self, row: dict):
        return self.get(row) if self.get else row.get(self.key)


@dataclass(frozen=True)
class Group:
    oid: str
    name: str
    repeating: bool
    fields: tuple[Field, ...]
    # An investigator's signature of the row: (SignatureDef OID, signer's id key, signed-at key).
    signature: tuple[str, str, str] | None = None


def _f(key, name, datatype="text", codelist=None, unit=None, *, prefix, **extra) -> Field:
    return Field(key, f"IT.{prefix}.{key.upper()}", name, datatype, codelist, unit, **extra)


def _group(oid, name, repeating, prefix, *specs, signature=None) -> Group:
    return Group(oid, name, repeating, tuple(_f(*spec[:5], prefix=prefix, **(spec[5] if len(spec) > 5 else {}))
                                             for spec in specs), signature)


def _english_of(column: str) -> dict:
    """An item worded in English from the message stored in `column` (ODM's TranslatedText is English)."""
    return {"stored": column, "get": lambda row: english(row.get(column))}


ENROLMENT = _group("IG.ENROLMENT", "Enrolment", False, "ENR",
                   ("study_number", "Study number"), ("arm", "Arm", "text", "CL.ARM"),
                   ("dose_level", "Dose level", "text", "CL.DOSE_LEVEL"), ("enrolled_on", "Enrolment date", "date"),
                   ("planned_day0", "Planned first infusion", "date"),
                   ("protocol_version", "Protocol version at enrolment"),
                   ("status", "Status", "text", "CL.PARTICIPANT_STATUS"), ("withdrawn_on", "Withdrawal date", "date"),
                   ("withdrawal_reason", "Withdrawal reason", "text", "CL.WITHDRAWAL_REASON"),
                   ("withdrawal_detail", "Withdrawal details"),
                   ("study_order", "Order of enrolment in the study", "integer"))
SCREENING = _group("IG.SCREENING", "Screening", False, "SCR",
                   ("number", "Screening number"), ("screening_date", "Screening date", "date"),
                   ("initials", "Initials"), ("birth_date", "Date of birth", "date"),
                   ("sex", "Sex", "text", "CL.SEX"), ("weight_kg", "Weight", "float", None, "kg"),
                   ("height_cm", "Height", "float", None, "cm"), ("disease", "Disease", "text", "CL.DISEASE"),
                   ("diagnosis_date", "Date of diagnosis", "date"),
                   ("ecog", "ECOG performance status", "integer", "CL.ECOG"),
                   ("prior_therapies_recorded", "Prior therapies recorded", "boolean"),
                   ("eligible", "Eligible", "boolean"), ("protocol_version", "Protocol version evaluated under"),
                   ("eligibility", "Criteria outcomes (JSON)"), ("evaluated_at", "Evaluated at", "datetime"),
                   ("eligibility_confirmed_at", "Eligibility confirmed at", "datetime"),
                   ("eligibility_confirmation_meaning", "Meaning of the eligibility signature"),
                   signature=(SIGNATURE_ELIGIBILITY, "eligibility_confirmed_by_id", "eligibility_confirmed_at"))
_LAB_FIELDS = (
    ("analyte", "Analyte", "text", "CL.ANALYTE"),
    ("value", "Value (SI)", "float", None, None, {"unit_key": "si_unit"}),
    ("entered_value", "Value as entered", "float", None, None, {"unit_key": "entered_unit"}),
    ("entered_unit", "Unit as entered"),
    ("report_lln", "Lower limit on the report (SI)", "float", None, None, {"unit_key": "si_unit"}),
    ("report_uln", "Upper limit on the report (SI)", "float", None, None, {"unit_key": "si_unit"}),
    ("lln", "Lower limit of normal used (SI)", "float", None, None, {"unit_key": "si_unit"}),
    ("uln", "Upper limit of normal used (SI)", "float", None, None, {"unit_key": "si_unit"}),
    ("range_source", "Reference range from"),
)
SCREENING_LAB = _group("IG.SCREENING_LAB", "Screening labs", True, "LB", *_LAB_FIELDS,
                       ("sampled_on", "Sample date", "date"))
PRIOR_THERAPY = _group("IG.PRIOR_THERAPY", "Prior therapies", True, "PT",
                       ("therapy", "Therapy", "text", "CL.THERAPY"), ("start", "Start", "date"),
                       ("end", "End", "date"), ("dose_text", "Dose"),
                       ("outcome", "Outcome", "text", "CL.THERAPY_OUTCOME"))
CONSENT = _group("IG.CONSENT", "Consent", False, "IC",
                 ("version", "Consent form version"), ("signed_at", "Signed at", "datetime"),
                 ("obtained_by", "Consent obtained by"), ("guardian_name", "Legal guardian"),
                 ("guardian_relationship", "Guardian's relationship"))
INFUSION = _group("IG.INFUSION", "Infusion", False, "INF",
                  ("number", "Infusion number", "integer"), ("state", "State", "text", "CL.INFUSION_STATE"),
                  ("target_date", "Target date", "date"),
                  ("anchor", "Planned from", "text", None, None, _english_of("anchor_message")),
                  ("window_start", "Window opens", "date"),
                  ("window_end", "Window closes", "date"), ("started_at", "Started at", "datetime"),
                  ("ended_at", "Ended at", "datetime"), ("weight_kg", "Weight on the day", "float", None, "kg"),
                  ("dose_level", "Dose level", "text", "CL.DOSE_LEVEL", None, {"get": lambda r: r.get("dose_level")}),
                  ("dose_per_kg", "Dose per kg", "float", None, "cells/kg"),
                  ("computed_dose", "Computed dose", "float", None, "cells"),
                  ("cells_infused", "Cells infused", "float", None, "cells"), 
                  ("dose_explanation", "Dose arithmetic", "text", None, None, _english_of("dose_message")),
                  ("dose_deviation", "Dose deviation", "boolean"),
                  ("dose_confirmation", "Reason for the dose deviation"),
                  ("deviation", "Outside the window", "boolean"), ("deviation_reason", "Deviation reason"),
                  ("missed_reason", "Reason missed"), ("product", "Cell product (JSON)"),
                  ("premedication", "Premedication"), ("vitals", "Vital signs (JSON)"),
                  ("reactions", "Immediate reactions (JSON)"))
VISIT = _group("IG.VISIT", "Visit", False, "VIS",
               ("state", "State", "text", "CL.VISIT_STATE"), ("target_at", "Target", "datetime"),
               ("window_start", "Window opens", "datetime"), ("window_end", "Window closes", "datetime"),
               ("done_at", "Done at", "datetime"), ("deviation", "Outside the window", "boolean"),
               ("deviation_reason", "Deviation reason"), ("missed_reason", "Reason missed"),
               ("provisional", "Provisional", "boolean"), ("timed", "Timed to the minute", "boolean"))
ASSESSMENT = _group("IG.ASSESSMENT", "Assessment", False, "ASM",
                    ("date", "Date", "date"), ("bleeding_grade", "WHO bleeding grade", "integer", "CL.BLEEDING_GRADE"),
                    ("steroid_mg_per_day", "Corticosteroid (prednisone equivalent)", "float", None, "mg/day"),
                    ("steroid_drug", "Corticosteroid", "text", "CL.STEROID_DRUG"),
                    ("steroid_dose_mg_per_day", "Corticosteroid dose of the drug", "float", None, "mg/day"),
                    ("concomitant_medications", "Concomitant medications (JSON)"), ("notes", "Notes"),
                    ("recorded_at", "Recorded at", "datetime"))
LAB = _group("IG.LAB", "Lab results", True, "LB", *_LAB_FIELDS)
TRANSFUSION = _group("IG.TRANSFUSION", "Transfusions", True, "TR",
                     ("kind", "Transfusion", "text", "CL.TRANSFUSION_KIND"), ("date", "Date", "date"))
RESCUE = _group("IG.RESCUE_THERAPY", "Rescue therapies", True, "RT",
                ("therapy", "Rescue therapy", "text", "CL.RESCUE_THERAPY"), ("start", "Start", "date"),
                ("end", "End", "date"))
ADVERSE_EVENT = _group("IG.ADVERSE_EVENT", "Adverse event", False, "AE",
                       ("term", "CTCAE term"), ("term_other", "Other, specify", "boolean"),
                       ("category", "Category", "text", "CL.AE_CATEGORY"), ("onset_date", "Onset", "date"),
                       ("resolution_date", "Resolved on", "date"),
                       ("status", "Status", "text", "CL.AE_STATUS"),
                       ("grade", "CTCAE grade", "integer", "CL.CTCAE_GRADE"),
                       ("serious", "Serious", "boolean"),
                       ("relationship", "Relationship to treatment", "text", "CL.RELATIONSHIP"),
                       ("infusion", "Infusion reacted to (number)", "integer", None, None,
                        {"get": lambda r: r.get("infusion")}),
                       ("seriousness", "Seriousness criteria (codes, comma-separated)", "text", None, None,
                        {"get": lambda r: ",".join(r.get("seriousness") or [])}),
                       ("action_taken", "Action taken", "text", "CL.ACTION_TAKEN"),
                       ("outcome", "Outcome", "text", "CL.AE_OUTCOME"), ("description", "Description"),
                       ("site_aware_at", "Site aware at", "datetime"),
                       ("sae_reported_at", "SAE reported at", "datetime"),
                       ("suggested_grade", "Suggested CTCAE grade", "integer", "CL.CTCAE_GRADE"),
                       ("dismissed_reason", "Reason dismissed"),
                       ("suggestion", "Grading suggestion", "text", None, None, _english_of("suggestion_message")),
                       ("resolved_to_grade1_within_48h", "Resolved to grade 1 or less within 48 h", "boolean"),
                       ("stopped_infusions", "Stopped the planned infusions", "boolean"),
                       ("platelet_drop_confirmed", "Platelets >= 50 % below baseline, confirmed twice", "boolean"),
                       ("reported_at", "Recorded at", "datetime"), ("confirmed_at", "Confirmed at", "datetime"),
                       ("confirmation_meaning", "Meaning of the confirmation signature"),
                       signature=(SIGNATURE_ADVERSE_EVENT, "confirmed_by_id", "confirmed_at"))

FORM_SCREENING, FORM_CONSENT, FORM_ENROLMENT = "F.SCREENING", "F.CONSENT", "F.ENROLMENT"
FORM_INFUSION, FORM_VISIT, FORM_AE = "F.INFUSION", "F.VISIT", "F.ADVERSE_EVENT"
SE_SCREENING, SE_UNSCHEDULED, SE_AE = "SE.SCREENING", "SE.UNSCHEDULED", "SE.ADVERSE_EVENTS"
IG_SCREENING_ITEMS, IG_VISIT_ITEMS = "IG.SCREENING_ITEMS", "IG.VISIT_ITEMS"

_CHOICES = {
    "CL.SEX": Sex, "CL.THERAPY_OUTCOME": TherapyOutcome, "CL.PARTICIPANT_STATUS": ParticipantStatus,
    "CL.WITHDRAWAL_REASON": WithdrawalReason, "CL.INFUSION_STATE": InfusionState, "CL.VISIT_STATE": VisitState,
    "CL.AE_CATEGORY": AdverseEventCategory, "CL.AE_STATUS": AdverseEventStatus, "CL.RELATIONSHIP": Relationship,
    "CL.ACTION_TAKEN": ActionTaken, "CL.AE_OUTCOME": Outcome, "CL.BLEEDING_GRADE": BleedingGrade,
    "CL.STEROID_DRUG": SteroidDrug, "CL.TRANSFUSION_KIND": TransfusionKind, "CL.RESCUE_THERAPY": RescueTherapyKind,
}
_ITEM_TYPES = {item_rules.YES_NO: "boolean", item_rules.NUMBER: "float", item_rules.DATE: "date",
               item_rules.CHOICE: "text", item_rules.MULTI_CHOICE: "text", item_rules.TEXT: "text"}


def item_value(spec: item_rules.ItemSpec, value):
    """A study-defined item's stored answer as one ODM value (a multiple choice: its codes, comma-separated)."""
    if spec.type == item_rules.MULTI_CHOICE and isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def study_item_field(spec: item_rules.ItemSpec) -> Field:
    datatype = _ITEM_TYPES.get(spec.type, "text")
    if spec.type == item_rules.NUMBER and spec.decimals == 0:
        datatype = "integer"
    codelist = f"CL.ITEM.{spec.code.upper()}" if spec.type == item_rules.CHOICE and spec.choices else None
    return Field(spec.code, f"IT.ITEM.{spec.code.upper()}", spec.label, datatype, codelist, spec.unit or None,
                 get=lambda row, spec=spec: item_value(spec, (row.get("items") or {}).get(spec.code)))


@dataclass
class StudyEvent:
    oid: str
    name: str
    repeating: bool
    type: str
    forms: tuple[str, ...]
    mandatory: bool = False


@dataclass
class Metadata:
    """Everything the metadata declares, in the order it is written."""

    study_oid: str
    version_oid: str
    version_name: str
    events: list[StudyEvent]
    forms: dict[str, tuple[str, bool, tuple[str, ...]]]  # oid -> (name, repeating, group oids)
    groups: dict[str, Group]
    codelists: dict[str, tuple[str, str, list[tuple[str, str]]]]  # oid -> (name, datatype, [(code, decode)])
    units: dict[str, str] = field(default_factory=dict)  # symbol -> MeasurementUnit OID
    si_units: dict[str, str] = field(default_factory=dict)  # analyte -> SI unit
    item_specs: dict[str, item_rules.ItemSpec] = field(default_factory=dict)

    def unit_oid(self, symbol: str) -> str:
        if symbol not in self.units:
            base = "MU." + (re.sub(r"[^A-Za-z0-9]+", "_", symbol.replace("%", "pct")).strip("_") or "UNIT")
            oid, n = base, 1
            while oid in self.units.values():
                n += 1
                oid = f"{base}_{n}"
            self.units[symbol] = oid
        return self.units[symbol]

    def items(self):
        """Every ItemDef: (field, the units it takes), each once, in the order of the groups."""
        seen: dict[str, tuple[Field, list[str]]] = {}
        for group in self.groups.values():
            for f in group.fields:
                entry = seen.setdefault(f.oid, (f, []))
                for symbol in self._field_units(f):
                    if symbol not in entry[1]:
                        entry[1].append(symbol)
        return list(seen.values())

    def _field_units(self, f: Field) -> list[str]:
        if f.unit:
            return [f.unit]
        if f.unit_key == "si_unit":
            return sorted(set(self.si_units.values()))
        if f.unit_key == "entered_unit":
            return self._entered_units
        return []

    _entered_units: list[str] = field(default_factory=list)


def study_item_specs(study) -> tuple[dict[str, item_rules.ItemSpec], set[str], set[str]]:
    """The study's items across its protocol versions (the latest definition of each code wins),
    and the codes placed on the screening form and on visit forms. A study without a version
    (a draft) reads its item rows."""
    specs: dict[str, item_rules.ItemSpec] = {}
    screening: set[str] = set()
    visits: set[str] = set()
    protocols = list(study.versions.order_by("activated_at", "id").values_list("protocol", flat=True))
    for protocol in protocols:
        for row in (protocol or {}).get("items") or []:
            specs[row["code"]] = item_spec(row)
            for form in row.get("forms") or []:
                (screening if form == SCREENING_FORM else visits).add(row["code"])
    if not protocols:
        for placement in ItemPlacement.objects.filter(item__study=study).select_related("item"):
            specs[placement.item.code] = placement.item.spec
            (visits if placement.visit_definition_id else screening).add(placement.item.code)
    return specs, screening, visits


def _codelist_items(choices) -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in choices.choices]


def build_metadata(study) -> Metadata:
    """The metadata of `study` (a handful of queries: versions, schedules, arms, the catalogue)."""
    catalogue = catalogues.current()
    version = study.active_version.version if study.active_version_id else study.version
    specs, on_screening, on_visits = study_item_specs(study)
    screening_items = Group(IG_SCREENING_ITEMS, "Study-defined items (screening)", False,
                            tuple(study_item_field(specs[c]) for c in specs if c in on_screening))
    visit_items = Group(IG_VISIT_ITEMS, "Study-defined items (visits)", False,
                        tuple(study_item_field(specs[c]) for c in specs if c in on_visits))
    groups = {g.oid: g for g in (ENROLMENT, SCREENING, SCREENING_LAB, PRIOR_THERAPY, screening_items, CONSENT,
                                 INFUSION, VISIT, ASSESSMENT, LAB, TRANSFUSION, RESCUE, visit_items, ADVERSE_EVENT)}
    forms = {
        FORM_SCREENING: ("Screening", False, (SCREENING.oid, SCREENING_LAB.oid, PRIOR_THERAPY.oid, IG_SCREENING_ITEMS)),
        FORM_CONSENT: ("Consent", True, (CONSENT.oid,)),
        FORM_ENROLMENT: ("Enrolment", False, (ENROLMENT.oid,)),
        FORM_INFUSION: ("Infusion", False, (INFUSION.oid,)),
        FORM_VISIT: ("Visit assessment", False, (VISIT.oid, ASSESSMENT.oid, LAB.oid, TRANSFUSION.oid, RESCUE.oid,
                                                 IG_VISIT_ITEMS)),
        FORM_AE: ("Adverse event", True, (ADVERSE_EVENT.oid,)),
    }
    events = [StudyEvent(SE_SCREENING, "Screening and enrolment", False, "Scheduled",
                         (FORM_SCREENING, FORM_CONSENT, FORM_ENROLMENT), True)]
    infusions = InfusionDefinition.objects.filter(arm__study=study).aggregate(n=Max("number"))["n"] or 0
    events += [StudyEvent(f"SE.INFUSION.{n}", f"Infusion {n}", False, "Scheduled", (FORM_INFUSION,))
               for n in range(1, infusions + 1)]
    for code, label in VisitDefinition.objects.filter(study=study).order_by("order", "id").values_list("code", "label"):
        events.append(StudyEvent(visit_event_oid(code), f"{code} - {label}", False, "Scheduled", (FORM_VISIT,)))
    events += [StudyEvent(SE_UNSCHEDULED, "Unscheduled assessment", True, "Unscheduled", (FORM_VISIT,)),
               StudyEvent(SE_AE, "Adverse events", False, "Common", (FORM_AE,))]

    codelists: dict[str, tuple[str, str, list[tuple[str, str]]]] = {}
    for oid, choices in _CHOICES.items():
        datatype = "integer" if oid == "CL.BLEEDING_GRADE" else "text"
        codelists[oid] = (oid[3:].replace("_", " ").capitalize(), datatype, _codelist_items(choices))
    codelists["CL.ECOG"] = ("ECOG performance status", "integer", [(str(n), f"ECOG {n}") for n in range(6)])
    codelists["CL.CTCAE_GRADE"] = ("CTCAE grade", "integer", [(str(n), f"Grade {n}") for n in range(1, 6)])
    codelists["CL.DISEASE"] = ("Disease", "text", [(c, d.name) for c, d in catalogue.diseases.items()])
    codelists["CL.THERAPY"] = ("Prior therapy", "text", [(c, t.name) for c, t in catalogue.therapies.items()])
    codelists["CL.ANALYTE"] = ("Analyte", "text", [(c, a.label) for c, a in catalogue.analytes.items()])
    arms = list(study.arms.order_by("code").values_list("code", "name"))
    codelists["CL.ARM"] = ("Arm", "text", arms or [("-", "none")])
    levels = list(DoseLevel.objects.filter(arm__study=study).order_by("arm__code", "order")
                  .values_list("code", "label"))
    levels = list(dict((code, label or code) for code, label in levels).items())
    codelists["CL.DOSE_LEVEL"] = ("Dose level", "text", levels or [("-", "none")])
    for spec in specs.values():
        if spec.type == item_rules.CHOICE and spec.choices:
            codelists[f"CL.ITEM.{spec.code.upper()}"] = (spec.label, "text", list(spec.choices))

    meta = Metadata(study_oid=f"ST.{study.code}", version_oid=f"MDV.{version}",
                    version_name=f"{study.code} protocol version {version}", events=events, forms=forms,
                    groups=groups, codelists=codelists, item_specs=specs,
                    si_units={code: a.si_unit for code, a in catalogue.analytes.items()})
    meta._entered_units = sorted({unit for a in catalogue.analytes.values() for unit in a.units})
    for f, symbols in meta.items():
        for symbol in symbols:
            meta.unit_oid(symbol)
    return meta


def visit_event_oid(code: str) -> str:
    return f"SE.VISIT.{code}"


def infusion_event_oid(number: int) -> str:
    return f"SE.INFUSION.{number}"
