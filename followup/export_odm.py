"""CDISC ODM 1.3.2 export of a study: metadata, admin data and clinical data with audit records.

`write_odm(study, sites=..., out=..., locked=...)` streams the document into a binary file (UTF-8),
written as text pieces encoded in blocks (`_Xml`): the study's metadata (`followup.export_odm_meta`),
the users and sites (AdminData), then one SubjectData per participant of the given sites, and one
per screening of these sites never enrolled (a screen failure, or a screening in progress: keyed by its screening
number, its status in an annotation, only its screening event), read in chunks with `.values()`
(no model instances, memory bounded by the chunk). Each subject (its SubjectData and its
AuditRecords) is written from its own rows alone, and kept on PostgreSQL: the next export copies it
unless its data changed (`followup.export_odm_kept`). The audit trail (`followup.export_odm_audit`):
each item carries every value it has held: one ItemDataAny per change, in the order of the
changes, pointing (`AuditRecordID`) to the audit record of the change (who, where, when, the
reason, the history row); ClinicalData's AuditRecords hold one for each history row of every
exported record, subject by subject: a Transactional ODM file whose last ItemDataAny of each item is the current value.
A row deleted outright from a form is a removal (`export_odm_audit.Removals`).
Values are written in ODM's formats, as the element's text: dates and datetimes ISO 8601, numbers
as text, yes/no as true/false; a unit as `MeasurementUnitOID`; an empty value is not written.
ItemDataAny (ODM 1.3.2's untyped item with the attributes of the typed ones) is the one form that
both points to a shared audit record and says that a value was emptied (`IsNull`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone, translation

from dosing.models import Infusion
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from trials.models import Arm, DoseLevel, SiteMembership

from . import export_odm_meta as meta_mod
from .export_odm_audit import SYSTEM_USER, Audit, Removals, location_oid, subject_records, user_oid
from .export_odm_kept import PARTICIPANT, SCREENING_ONLY, Subjects, Written, setting_of
from .export_odm_meta import (ADVERSE_EVENT, ASSESSMENT, CONSENT, ENROLMENT, FORM_AE, FORM_CONSENT, FORM_ENROLMENT,
                              FORM_INFUSION, FORM_SCREENING, FORM_VISIT, IG_SCREENING_ITEMS, IG_VISIT_ITEMS, INFUSION,
                              LAB, ODM_NS, PRIOR_THERAPY, RESCUE, SCREENING, SCREENING_LAB, SE_AE, SE_SCREENING,
                              SE_UNSCHEDULED, TRANSFUSION, VISIT, Group, Metadata, build_metadata)
from .export_odm_xml import _CONTENT, _UNSET, _same_text, _Text, _Xml, attribute, content_escaped, odm_value
from .models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit

# The status of a screening never enrolled, by its `eligible` (None: not evaluated yet).
NOT_ENROLLED = {False: "Screen failure (not eligible); not enrolled", True: "Eligible; not enrolled"}
SOURCE_SYSTEM = "Cell-therapy trials EDC"

def write_odm(study, *, sites, out, locked: bool, keep: bool = True,
              progress: Callable[[int], None] | None = None) -> int:
    """Write the ODM 1.3.2 document of `study`, restricted to the participants of `sites`, into the
    binary file `out`; return the number of current values written (an item's earlier values and
    emptied ones are not counted). `keep`: the subjects written as kept (`followup.export_odm_kept`)
    are copied out, and those written are kept (PostgreSQL); without it, every subject is written
    and none kept. `progress` is told the share of the subjects written (0-95)."""
    with translation.override("en"):
        return _write(study, list(sites), out, locked, keep, progress)


def _write(study, sites, out, locked: bool, keep: bool, progress) -> int:
    meta = build_metadata(study)
    now = timezone.now().replace(microsecond=0)
    xml = _Xml(out)
    xml.document()
    description = f"Data of {study.code}, sites {', '.join(s.code for s in sites) or '-'}"
    if locked:
        description += "; the data were locked when exported"
    xml.start("ODM", xmlns=ODM_NS, ODMVersion="1.3.2", FileType="Transactional", Granularity="All",
              FileOID=f"ODM.{study.code}.{now.strftime('%Y%m%dT%H%M%S')}", CreationDateTime=now.isoformat(),
              Originator=SOURCE_SYSTEM, SourceSystem=SOURCE_SYSTEM, Description=description)
    _write_study(xml, study, meta)
    order, writer, setting = _subjects(study, meta, sites)
    with Subjects(study, setting, order, keep=keep) as subjects:
        subjects.write(writer.render, progress)
        _write_admin(xml, study, meta, sites, subjects.users)
        xml.start("ClinicalData", StudyOID=meta.study_oid, MetaDataVersionOID=meta.version_oid)
        xml.raw("")
        xml.flush()
        subjects.copy(out, "body")
        xml.start("AuditRecords")
        xml.raw("")
        xml.flush()
        subjects.copy(out, "records")
        xml.end("AuditRecords")
        count = subjects.values
    if locked:
        lock = f"locked by {study.locked_by.username} at {study.locked_at.isoformat()}: {study.lock_reason}" \
            if study.locked_at else "locked"
        xml.start("Annotations")
        xml.start("Annotation", SeqNum=1)
        xml.leaf("Comment", f"Data lock: the data of this export were {lock}.", SponsorOrSite="Sponsor")
        xml.end("Annotation")
        xml.end("Annotations")
    xml.end("ClinicalData")
    xml.end("ODM")
    xml.flush()
    return count


def _subjects(study, meta: Metadata, sites) -> tuple[list[tuple[str, int]], _ClinicalWriter, str]:
    """The subjects of the sites in the document's order (the participants, then the screenings
    never enrolled, each by site and number), their writer, and the setting they are kept under."""
    site_ids = [s.pk for s in sites]
    order = [(PARTICIPANT, pk) for pk in Participant.objects.filter(study=study, site__in=site_ids)
             .order_by("site__code", "sequence").values_list("pk", flat=True)]
    order += [(SCREENING_ONLY, pk) for pk in Screening.objects.filter(
        study=study, site__in=site_ids, participant__isnull=True).order_by("site__code", "sequence")
        .values_list("pk", flat=True)]
    writer = _ClinicalWriter(meta, {**dict(study.sites.values_list("pk", "code")), **{s.pk: s.code for s in sites}},
                             study)
    return order, writer, setting_of(meta, writer.codes, writer.site_codes)


def keep_subjects(study) -> int:
    """Write and keep the study's subjects (at every site) not kept as they are now, as its next ODM
    export would, without writing a document; return how many were written. The periodic task
    `followup.keep_odm_subjects` runs it, so that an export finds its subjects kept even after a
    deployment (PostgreSQL; elsewhere nothing is kept and nothing is written)."""
    if connection.vendor != "postgresql":
        return 0
    with translation.override("en"):
        meta = build_metadata(study)
        order, writer, setting = _subjects(study, meta, list(study.sites.all()))
        with Subjects(study, setting, order, keep=True, spool=False) as subjects:
            subjects.write(writer.render)
            return len(subjects.stale)


# --- metadata --------------------------------------------------------------------------------------

def _write_study(xml: _Xml, study, meta: Metadata) -> None:
    xml.start("Study", OID=meta.study_oid)
    xml.start("GlobalVariables")
    xml.leaf("StudyName", study.code)
    xml.leaf("StudyDescription", study.title)
    xml.leaf("ProtocolName", study.registry_id or study.code)
    xml.end("GlobalVariables")
    xml.start("BasicDefinitions")
    for symbol, oid in meta.units.items():
        xml.start("MeasurementUnit", OID=oid, Name=symbol)
        xml.translated("Symbol", symbol)
        xml.end("MeasurementUnit")
    xml.end("BasicDefinitions")
    xml.start("MetaDataVersion", OID=meta.version_oid, Name=meta.version_name)
    xml.start("Protocol")
    for order, event in enumerate(meta.events, 1):
        xml.leaf("StudyEventRef", StudyEventOID=event.oid, OrderNumber=order, Mandatory=_yes(event.mandatory))
    xml.end("Protocol")
    for event in meta.events:
        xml.start("StudyEventDef", OID=event.oid, Name=event.name, Repeating=_yes(event.repeating), Type=event.type)
        for order, form in enumerate(event.forms, 1):
            xml.leaf("FormRef", FormOID=form, OrderNumber=order, Mandatory="No")
        xml.end("StudyEventDef")
    for oid, (name, repeating, groups) in meta.forms.items():
        xml.start("FormDef", OID=oid, Name=name, Repeating=_yes(repeating))
        for order, group in enumerate(groups, 1):
            xml.leaf("ItemGroupRef", ItemGroupOID=group, OrderNumber=order, Mandatory="No")
        xml.end("FormDef")
    for group in meta.groups.values():
        xml.start("ItemGroupDef", OID=group.oid, Name=group.name, Repeating=_yes(group.repeating))
        for order, f in enumerate(group.fields, 1):
            key = 1 if group.repeating and order == 1 else None
            xml.leaf("ItemRef", ItemOID=f.oid, OrderNumber=order, KeySequence=key, Mandatory="No")
        xml.end("ItemGroupDef")
    for f, symbols in meta.items():
        spec = meta.item_specs.get(f.key) if f.oid.startswith("IT.ITEM.") else None
        length = None
        if f.datatype in ("text", "string") and spec is not None and spec.max_length:
            length = spec.max_length
        xml.start("ItemDef", OID=f.oid, Name=f.name, DataType=f.datatype, Length=length,
                  SignificantDigits=spec.decimals if spec is not None and f.datatype == "float" else None)
        xml.translated("Question", spec.label if spec is not None else f.name)
        for symbol in symbols:
            xml.leaf("MeasurementUnitRef", MeasurementUnitOID=meta.units[symbol])
        if spec is not None and f.datatype in ("float", "integer"):
            _range_checks(xml, spec)
        if f.codelist:
            xml.leaf("CodeListRef", CodeListOID=f.codelist)
        xml.end("ItemDef")
    for oid, (name, datatype, entries) in meta.codelists.items():
        xml.start("CodeList", OID=oid, Name=name, DataType=datatype)
        for order, (code, decode) in enumerate(entries, 1):
            xml.start("CodeListItem", CodedValue=code, OrderNumber=order)
            xml.translated("Decode", decode)
            xml.end("CodeListItem")
        xml.end("CodeList")
    xml.end("MetaDataVersion")
    xml.end("Study")


def _range_checks(xml: _Xml, spec) -> None:
    for comparator, limit in (("GE", spec.min_value), ("LE", spec.max_value)):
        if limit is not None:
            xml.start("RangeCheck", Comparator=comparator, SoftHard="Soft")
            xml.leaf("CheckValue", odm_value(float(limit), "float"))
            xml.end("RangeCheck")


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


# --- admin data ------------------------------------------------------------------------------------

def _write_admin(xml: _Xml, study, meta: Metadata, sites, user_ids: set[int]) -> None:
    """The users the clinical data name (who changed, deleted or signed a record), the sites, the
    signatures' meanings."""
    memberships = defaultdict(list)
    for user_id, site_id in SiteMembership.objects.filter(
            user_id__in=user_ids, site__in=[s.pk for s in sites]).values_list("user_id", "site_id"):
        memberships[user_id].append(site_id)
    codes = {s.pk: s.code for s in sites}
    xml.start("AdminData", StudyOID=meta.study_oid)
    xml.start("User", OID=SYSTEM_USER, UserType="Other")
    xml.leaf("LoginName", "system")
    xml.leaf("DisplayName", SOURCE_SYSTEM)
    xml.end("User")
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("pk").values(
        "pk", "username", "first_name", "last_name")
    for user in users.iterator():
        xml.start("User", OID=user_oid(user["pk"]))
        xml.leaf("LoginName", user["username"])
        full = f"{user['first_name']} {user['last_name']}".strip()
        xml.leaf("DisplayName", full or user["username"])
        if full:
            xml.leaf("FullName", full)
        for site_id in memberships.get(user["pk"], ()):
            xml.leaf("LocationRef", LocationOID=location_oid(codes[site_id]))
        xml.end("User")
    effective = (study.active_version.effective_date if study.active_version_id else study.effective_date)
    for site in sites:
        xml.start("Location", OID=location_oid(site.code), Name=site.name, LocationType="Site")
        xml.leaf("MetaDataVersionRef", StudyOID=meta.study_oid, MetaDataVersionOID=meta.version_oid,
                 EffectiveDate=effective.isoformat())
        xml.end("Location")
    for oid, meaning in meta_mod.SIGNATURES.items():
        xml.start("SignatureDef", OID=oid, Methodology="Electronic")
        xml.leaf("Meaning", meaning)
        xml.leaf("LegalReason", "Electronic signature: the signer re-entered their own password (21 CFR 11.200)")
        xml.end("SignatureDef")
    xml.end("AdminData")


# --- clinical data ---------------------------------------------------------------------------------

class _ClinicalWriter:
    """Writes subjects (`render`): each one's SubjectData and AuditRecords as text."""

    def __init__(self, meta: Metadata, site_codes: dict, study):
        self.meta, self.site_codes = meta, site_codes
        self.xml = _Text()
        self.count = 0
        self.location = ""
        self.users: set[int] = set()
        self.removed = Removals()
        self._field_specs: dict[str, list[tuple]] = {}
        self._unit_attributes = {symbol: f" MeasurementUnitOID={attribute(oid)}" for symbol, oid in meta.units.items()}
        # What a history row holds by its id and the current row by its code (`export_odm_audit`).
        self.codes = {"arm": dict(Arm.objects.filter(study=study).values_list("id", "code")),
                      "dose_level": dict(DoseLevel.objects.filter(arm__study=study).values_list("id", "code"))}

    def render(self, kind: str, ids: list[int]) -> Iterator[Written]:
        """The subjects `ids` (participants, or screenings never enrolled) as written, in order."""
        return self._chunk(ids) if kind == PARTICIPANT else self._screenings_chunk(ids)

    def _written(self, kind: str, pk: int, records: list[tuple[Audit, list]], before: int) -> Written:
        """The subject just written into `self.xml`, with its AuditRecords and the users named."""
        text, users = subject_records(records, self.location)
        written = Written(kind, pk, self.xml.take(), text, self.users | users, self.count - before)
        self.users = set()
        return written

    def _lab_unit(self, row) -> None:
        row["si_unit"] = self.meta.si_units.get(row.get("analyte"))

    def _screening_data(self, screening_ids) -> tuple:
        screenings = _by(Screening.objects.filter(pk__in=screening_ids).values(), "id")
        labs = _grouped(ScreeningLab.objects.filter(screening_id__in=screening_ids).order_by("analyte").values(),
                        "screening_id")
        therapies = _grouped(PriorTherapy.objects.filter(screening_id__in=screening_ids).order_by("start", "id")
                             .values(), "screening_id")
        consents = _grouped(Consent.objects.filter(screening_id__in=screening_ids).order_by("signed_at", "id")
                            .values(), "screening_id")
        self.removed.read((SCREENING_LAB.oid, PRIOR_THERAPY.oid), screening_ids)
        self.audits = {
            SCREENING.oid: self._audit(Screening, screening_ids, SCREENING),
            IG_SCREENING_ITEMS: self._audit(Screening, screening_ids, self.meta.groups[IG_SCREENING_ITEMS]),
            SCREENING_LAB.oid: self._audit(ScreeningLab, _ids(labs), SCREENING_LAB, adapt=self._lab_unit),
            PRIOR_THERAPY.oid: self._audit(PriorTherapy, _ids(therapies), PRIOR_THERAPY),
            CONSENT.oid: self._audit(Consent, _ids(consents), CONSENT),
        }
        return screenings, labs, therapies, consents

    def _audit(self, model, ids, group, *, codes=None, adapt=None) -> Audit:
        return Audit(model, ids, group, codes=codes, adapt=adapt, text=odm_value)

    def _screenings_chunk(self, ids) -> Iterator[Written]:
        """The screenings never enrolled (screen failures, screenings in progress): a SubjectData
        keyed by the screening number, its status said in an annotation, and the screening event."""
        screenings, labs, therapies, consents = self._screening_data(ids)
        for pk in ids:
            screening = screenings[pk]
            before = self.count
            self.location = location_oid(self.site_codes[screening["site_id"]])
            self.xml.start("SubjectData", SubjectKey=screening["number"])
            self.xml.leaf("SiteRef", LocationOID=self.location)
            status = NOT_ENROLLED.get(screening["eligible"], "Screening not completed; not enrolled")
            self.xml.start("Annotation", SeqNum=1)
            self.xml.leaf("Comment", f"Status: {status}.", SponsorOrSite="Site")
            self.xml.end("Annotation")
            self.xml.start("StudyEventData", StudyEventOID=SE_SCREENING)
            self._screening_forms(screening, labs, therapies, consents)
            self.xml.end("StudyEventData")
            self.xml.end("SubjectData")
            yield self._written(SCREENING_ONLY, pk, self._screening_records(screening, labs, therapies, consents),
                                before)

    def _screening_records(self, screening, labs, therapies, consents) -> list[tuple[Audit, list]]:
        """(audit, ids) of the screening's records, in the order of their AuditRecords."""
        pk = screening["id"]
        return [(self.audits[SCREENING.oid], [pk]),
                (self.audits[SCREENING_LAB.oid], [row["id"] for row in labs.get(pk, ())]),
                (self.audits[PRIOR_THERAPY.oid], [row["id"] for row in therapies.get(pk, ())]),
                (self.audits[CONSENT.oid], [row["id"] for row in consents.get(pk, ())])]

    def _chunk(self, ids) -> Iterator[Written]:
        people = list(Participant.objects.filter(pk__in=ids).order_by("site__code", "sequence").values(
            "pk", "study_number", "site_id", "screening_id", "arm__code", "dose_level__code", "enrolled_on",
            "planned_day0", "protocol_version", "study_order", "status", "withdrawn_on", "withdrawal_reason",
            "withdrawal_detail", "locked_at", "lock_reason", "locked_by__username"))
        for row in people:
            row["arm"], row["dose_level"] = row["arm__code"], row["dose_level__code"]
        screening_ids = [p["screening_id"] for p in people]
        screenings, labs, therapies, consents = self._screening_data(screening_ids)
        infusions = _grouped(Infusion.objects.filter(participant_id__in=ids).order_by("number")
                             .values(*_fields(Infusion), "dose_level__code"), "participant_id")
        for rows in infusions.values():
            for row in rows:
                row["dose_level"] = row["dose_level__code"]
        visits = _grouped(Visit.objects.filter(participant_id__in=ids).order_by("target_at", "id").values(),
                          "participant_id")
        assessments = list(Assessment.objects.filter(participant_id__in=ids).order_by("date", "id").values())
        assessment_ids = [a["id"] for a in assessments]
        results = _grouped(LabResult.objects.filter(assessment_id__in=assessment_ids).order_by("analyte").values(),
                           "assessment_id")
        transfusions = _grouped(Transfusion.objects.filter(assessment_id__in=assessment_ids)
                                .order_by("date", "id").values(), "assessment_id")
        rescues = _grouped(RescueTherapy.objects.filter(assessment_id__in=assessment_ids)
                           .order_by("start", "id").values(), "assessment_id")
        events = _grouped(AdverseEvent.objects.filter(participant_id__in=ids).order_by("onset_date", "id")
                          .values(*_fields(AdverseEvent), "infusion__number"), "participant_id")
        for rows in events.values():
            for row in rows:
                row["infusion"] = row["infusion__number"]
        numbers = {"infusion": {row["id"]: row["number"] for rows in infusions.values() for row in rows}}
        self.removed.read((LAB.oid, TRANSFUSION.oid, RESCUE.oid), assessment_ids)
        self.audits |= {
            ENROLMENT.oid: self._audit(Participant, ids, ENROLMENT, codes=self.codes),
            INFUSION.oid: self._audit(Infusion, _ids(infusions), INFUSION, codes=self.codes),
            VISIT.oid: self._audit(Visit, _ids(visits), VISIT),
            ASSESSMENT.oid: self._audit(Assessment, assessment_ids, ASSESSMENT),
            IG_VISIT_ITEMS: self._audit(Assessment, assessment_ids, self.meta.groups[IG_VISIT_ITEMS]),
            LAB.oid: self._audit(LabResult, _ids(results), LAB, adapt=self._lab_unit),
            TRANSFUSION.oid: self._audit(Transfusion, _ids(transfusions), TRANSFUSION),
            RESCUE.oid: self._audit(RescueTherapy, _ids(rescues), RESCUE),
            ADVERSE_EVENT.oid: self._audit(AdverseEvent, _ids(events), ADVERSE_EVENT, codes=numbers),
        }
        by_visit = {a["visit_id"]: a for a in assessments if a["visit_id"]}
        unscheduled = defaultdict(list)
        for a in assessments:
            if not a["visit_id"]:
                unscheduled[a["participant_id"]].append(a)
        children = (results, transfusions, rescues)
        by_person = _grouped(assessments, "participant_id")
        for person in people:
            before, pk = self.count, person["pk"]
            screening = screenings.get(person["screening_id"])
            self._subject(person, screening, labs, therapies, consents, infusions.get(pk, ()), visits.get(pk, ()),
                          by_visit, unscheduled.get(pk, ()), children, events.get(pk, ()))
            own = [a["id"] for a in by_person.get(pk, ())]
            records = [(self.audits[ENROLMENT.oid], [pk]),
                       *(self._screening_records(screening, labs, therapies, consents) if screening else ()),
                       (self.audits[INFUSION.oid], [row["id"] for row in infusions.get(pk, ())]),
                       (self.audits[VISIT.oid], [row["id"] for row in visits.get(pk, ())]),
                       (self.audits[ASSESSMENT.oid], own),
                       *((self.audits[group.oid], [row["id"] for a in own for row in rows.get(a, ())])
                         for group, rows in ((LAB, results), (TRANSFUSION, transfusions), (RESCUE, rescues))),
                       (self.audits[ADVERSE_EVENT.oid], [row["id"] for row in events.get(pk, ())])]
            self.users.update(row["confirmed_by_id"] for row in events.get(pk, ()) if row["confirmed_by_id"])
            yield self._written(PARTICIPANT, pk, records, before)

    def _screening_forms(self, screening, labs, therapies, consents) -> None:
        xml = self.xml
        if screening["eligibility_confirmed_by_id"]:
            self.users.add(screening["eligibility_confirmed_by_id"])
        xml.start("FormData", FormOID=FORM_SCREENING)
        self._group(SCREENING, screening)
        self.users |= self.removed.write(xml, (SCREENING_LAB.oid, PRIOR_THERAPY.oid), screening["id"], self.location)
        for lab in labs.get(screening["id"], ()):
            self._lab_unit(lab)
            self._group(SCREENING_LAB, lab, repeat=lab["analyte"])
        for n, therapy in enumerate(therapies.get(screening["id"], ()), 1):
            self._group(PRIOR_THERAPY, therapy, repeat=n)
        self._group(self.meta.groups[IG_SCREENING_ITEMS], screening, audit_pk=screening["id"])
        xml.end("FormData")
        for n, consent in enumerate(consents.get(screening["id"], ()), 1):
            xml.start("FormData", FormOID=FORM_CONSENT, FormRepeatKey=n)
            self._group(CONSENT, consent)
            xml.end("FormData")

    def _subject(self, person, screening, labs, therapies, consents, infusions, visits, by_visit, unscheduled,
                 children, events) -> None:
        xml = self.xml
        code = self.site_codes[person["site_id"]]
        self.location = location_oid(code)
        xml.start("SubjectData", SubjectKey=person["study_number"])
        xml.leaf("SiteRef", LocationOID=self.location)
        if person["locked_at"]:
            xml.start("Annotation", SeqNum=1)
            xml.leaf("Comment", f"Casebook locked by {person['locked_by__username']} at "
                                f"{person['locked_at'].isoformat()}: {person['lock_reason']}", SponsorOrSite="Site")
            xml.end("Annotation")
        xml.start("StudyEventData", StudyEventOID=SE_SCREENING)
        if screening is not None:
            self._screening_forms(screening, labs, therapies, consents)
        xml.start("FormData", FormOID=FORM_ENROLMENT)
        self._group(ENROLMENT, person, audit_pk=person["pk"])
        xml.end("FormData")
        xml.end("StudyEventData")
        for infusion in infusions:
            xml.start("StudyEventData", StudyEventOID=meta_mod.infusion_event_oid(infusion["number"]))
            xml.start("FormData", FormOID=FORM_INFUSION)
            self._group(INFUSION, infusion)
            xml.end("FormData")
            xml.end("StudyEventData")
        for visit in visits:
            xml.start("StudyEventData", StudyEventOID=meta_mod.visit_event_oid(visit["code"]))
            xml.start("FormData", FormOID=FORM_VISIT)
            self._group(VISIT, visit)
            assessment = by_visit.get(visit["id"])
            if assessment is not None:
                self._assessment(assessment, children)
            xml.end("FormData")
            xml.end("StudyEventData")
        for assessment in unscheduled:
            xml.start("StudyEventData", StudyEventOID=SE_UNSCHEDULED, StudyEventRepeatKey=assessment["id"])
            xml.start("FormData", FormOID=FORM_VISIT)
            self._assessment(assessment, children)
            xml.end("FormData")
            xml.end("StudyEventData")
        if events:
            xml.start("StudyEventData", StudyEventOID=SE_AE)
            for event in events:
                xml.start("FormData", FormOID=FORM_AE, FormRepeatKey=event["id"])
                self._group(ADVERSE_EVENT, event)
                xml.end("FormData")
            xml.end("StudyEventData")
        xml.end("SubjectData")

    def _assessment(self, assessment, children) -> None:
        results, transfusions, rescues = children
        self._group(ASSESSMENT, assessment)
        self.users |= self.removed.write(self.xml, (LAB.oid, TRANSFUSION.oid, RESCUE.oid), assessment["id"],
                                         self.location)
        for lab in results.get(assessment["id"], ()):
            self._lab_unit(lab)
            self._group(LAB, lab, repeat=lab["analyte"])
        for n, row in enumerate(transfusions.get(assessment["id"], ()), 1):
            self._group(TRANSFUSION, row, repeat=n)
        for n, row in enumerate(rescues.get(assessment["id"], ()), 1):
            self._group(RESCUE, row, repeat=n)
        self._group(self.meta.groups[IG_VISIT_ITEMS], assessment, audit_pk=assessment["id"])

    def _group(self, group: Group, row: dict, *, repeat=None, audit_pk=None) -> None:
        """The row's ItemGroupData: the ItemDataAny of each change of an item's value, in the order
        of the changes (`export_odm_audit`; inline: this loop writes every ItemData of the
        document); nothing when it holds no value and never held one."""
        pk = audit_pk if audit_pk is not None else row.get("id")
        audit = self.audits.get(group.oid)
        history = audit.rows.get(pk) if audit is not None else None
        count = 0
        if history:
            # The elements: each history row, oldest first, then the current row. An item's value is
            # written at each element whose text differs from the element's before (the first: when
            # it is not empty); a value equal to the one before, of a type whose equal values have
            # the same text, is not converted again.
            prefix = audit.prefix
            ids = [prefix + str(old_row["history_id"]) for old_row in history]
            current = len(history)
            elements = [[] for _ in range(current + 1)]
            for f, get, key, datatype, start in self._fields(group):
                previous, previous_raw, written = None, _UNSET, False
                for n, old_row in enumerate(history):
                    old_raw = get(old_row) if get else old_row.get(key)
                    if not (old_raw is previous_raw or _same_text(old_raw, previous_raw)):
                        text = odm_value(old_raw, datatype)
                        if text != previous:
                            elements[n].append(self._item(f, start, text, old_row, written, ids[n]))
                            previous, written = text, True
                        previous_raw = old_raw
                raw = get(row) if get else row.get(key)
                value = previous if raw is previous_raw or _same_text(raw, previous_raw) \
                    else odm_value(raw, datatype)
                if value != previous:
                    elements[current].append(self._item(f, start, value, row, written, None))
                if value is not None:
                    count += 1
            parts = [part for element in elements for part in element]
        else:
            parts = []
            for f, get, key, datatype, start in self._fields(group):
                value = odm_value(get(row) if get else row.get(key), datatype)
                if value is not None:
                    parts.append(self._item(f, start, value, row, False, None))
                    count += 1
        if not parts:
            return
        self.count += count
        xml = self.xml
        xml.start("ItemGroupData", ItemGroupOID=group.oid, ItemGroupRepeatKey=repeat)
        if group.signature and row.get(group.signature[2]):
            self._signature(*group.signature, row)
        xml.raw("".join(parts))
        xml.end("ItemGroupData")

    def _fields(self, group: Group) -> list[tuple]:
        """(field, its getter, its key, its data type, the ItemDataAny's start) of each item of the group."""
        found = self._field_specs.get(group.oid)
        if found is None:
            found = self._field_specs[group.oid] = [
                (f, f.get, f.key, f.datatype, f"<ItemDataAny ItemOID={attribute(f.oid)} TransactionType=\"")
                for f in group.fields]
        return found

    def _item(self, f, start: str, value, row, update: bool, record_id) -> str:
        """An ItemDataAny: the value (an emptied one: IsNull), Insert for the item's first value and
        Update after, the ID of the AuditRecord of the change that set it (none when the history
        does not hold it), its unit (the unit of the row that set it)."""
        head = start + ('Update"' if update else 'Insert"')
        if record_id is not None:
            head += f' AuditRecordID="{record_id}"'
        if value is None:
            return f'{head} IsNull="Yes"/>'
        symbol = f.unit or (row.get(f.unit_key) if f.unit_key else None)
        if symbol:
            head += self._unit_attributes.get(symbol, "")
        return f"{head}>{content_escaped(value) if _CONTENT.search(value) else value}</ItemDataAny>"

    def _signature(self, definition: str, by: str, at: str, row: dict) -> None:
        xml = self.xml
        xml.start("Signature")
        xml.leaf("UserRef", UserOID=user_oid(row[by]))
        xml.leaf("LocationRef", LocationOID=self.location)
        xml.leaf("SignatureRef", SignatureOID=definition)
        xml.leaf("DateTimeStamp", odm_value(row[at], "datetime"))
        xml.end("Signature")


def _fields(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _by(rows, key) -> dict:
    return {row[key]: row for row in rows}


def _grouped(rows, key) -> dict:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _ids(grouped: dict) -> list:
    return [row["id"] for rows in grouped.values() for row in rows]
