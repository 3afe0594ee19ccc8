"""The CDISC ODM 1.3.2 export (`followup.export_odm`): it validates against the official schema (the
XSDs shipped in odmlib, read by odmlib's validator), every stored value of the fixture participant
is an ItemDataAny (study-defined items included), another site's participants are left out, and the
audit records (ClinicalData's AuditRecords, which the values point to) carry who changed what, when
and why."""
import functools
import io
import xml.etree.ElementTree as ET
from dataclasses import fields
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment import services as enrolment
from enrollment.locks import casebook_lock
from dosing.models import Infusion
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from enrollment.tests.factories import ConsentFactory, ParticipantFactory, ScreeningFactory
from dosing.tests.factories import InfusionFactory
from enrollment.tests.support import REFRACTORY, eligible_p2_screening, screened_on
from followup import export_odm_kept, exports
from followup import export_odm_meta as meta
from followup.export_odm import write_odm
from followup.export_odm_xml import odm_value
from followup.models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from followup.services import KEEP, AssessmentInput, assessment_update
from followup.tests.export_support import SCREENING_ANSWERS, VISIT_ANSWERS, fixture_study
from followup.tests.factories import AdverseEventFactory, AssessmentFactory
from odmlib.odm_parser import ODMSchemaValidator
from trials import hooks
from trials.audit_context import change_context
from trials.locks import study_lock
from trials.models import Site, Study
from trials.tests.support import confirm_adverse_event, confirm_eligibility, setup_update, site_investigator

NS = {"odm": meta.ODM_NS}
# Each exported model, with the path from its rows to the participant or the screening never enrolled.
AUDITED = ((Participant, "pk"), (Screening, "participant"), (ScreeningLab, "screening__participant"),
           (PriorTherapy, "screening__participant"), (Consent, "screening__participant"), (Infusion, "participant"),
           (Visit, "participant"), (Assessment, "participant"), (LabResult, "assessment__participant"),
           (Transfusion, "assessment__participant"), (RescueTherapy, "assessment__participant"),
           (AdverseEvent, "participant"))
SCREENING_RECORDS = ((Screening, "pk"), (ScreeningLab, "screening"), (PriorTherapy, "screening"),
                     (Consent, "screening"))
CODE = "HUCMSC-ITP-ESC"
TZ = timezone.get_current_timezone()


@pytest.fixture(scope="module")
def schema():
    """odmlib's validator of the ODM 1.3.2 schema files it ships."""
    return ODMSchemaValidator(standard="odm", version="1.3.2")


def export(study, sites, *, locked=False, keep=True) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_odm(study, sites=sites, out=out, locked=locked, keep=keep)
    return out.getvalue(), count


def assert_valid(schema, document: bytes) -> None:
    schema.validate_file(io.BytesIO(document))  # raises, naming the first error, on an invalid document
    assert schema.validate_tree(io.BytesIO(document)) is True


def item_data(document: bytes, *, history: bool = False) -> dict:
    """{(subject, event, event repeat, form, form repeat, group, group repeat, item): (value, element)}
    of the current values (the last ItemDataAny of each item, unless it clears the value); with
    `history`, every ItemDataAny of each item, in order."""
    found = {}
    root = ET.fromstring(document)
    for subject in root.iterfind(".//odm:SubjectData", NS):
        for event in subject.iterfind("odm:StudyEventData", NS):
            for form in event.iterfind("odm:FormData", NS):
                groups = set()
                for group in form.iterfind("odm:ItemGroupData", NS):
                    if group.get("TransactionType") == "Remove":  # a deleted row (test_export_odm_removals)
                        continue
                    where = (group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
                    assert where not in groups, where
                    groups.add(where)
                    assert group.find("odm:ItemData", NS) is None  # one form of item: ItemDataAny
                    for item in group.iterfind("odm:ItemDataAny", NS):
                        key = (subject.get("SubjectKey"), event.get("StudyEventOID"), event.get("StudyEventRepeatKey"),
                               form.get("FormOID"), form.get("FormRepeatKey"), group.get("ItemGroupOID"),
                               group.get("ItemGroupRepeatKey"), item.get("ItemOID"))
                        found.setdefault(key, []).append(item)
    for key, items in found.items():
        assert [i.get("TransactionType") for i in items] == ["Insert"] + ["Update"] * (len(items) - 1), key
    if history:
        return found
    return {key: (items[-1].text, items[-1]) for key, items in found.items()
            if items[-1].get("IsNull") != "Yes"}


def audit_of(document: bytes, item: ET.Element) -> ET.Element | None:
    """The AuditRecord an ItemDataAny points to (ClinicalData's AuditRecords), None when it has none."""
    found = item.get("AuditRecordID")
    if found is None:
        return None
    return _records(document)[found]


@functools.lru_cache(maxsize=4)
def _records(document: bytes) -> dict:
    records = {}
    for record in ET.fromstring(document).iterfind("odm:ClinicalData/odm:AuditRecords/odm:AuditRecord", NS):
        assert record.get("ID") not in records
        records[record.get("ID")] = record
    return records


@pytest.fixture
def recorded(studies, coordinator):
    """A P2 participant enrolled twelve days ago, her first infusion given ten days ago, with
    screening labs, an assessment at D-1 with labs, a transfusion, a rescue therapy and
    immune-panel items, corrected with a reason, and an adverse event."""
    day0 = timezone.localdate() - timedelta(days=10)
    screening = eligible_p2_screening(coordinator, sex="female")
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=14))
    woman = ParticipantFactory(screening=screening, dose_level_code="A", enrolled_on=day0 - timedelta(days=2),
                               first_infusion_on=day0, by=coordinator)
    InfusionFactory(participant=woman, number=1, started_at=datetime.combine(day0, time(9, 0), tzinfo=TZ),
                    ended_at=None, weight_kg=60, cells_infused=3e7,
                    product={"kind": "msc", "lot": "L1", "viability_pct": 95}, by=coordinator)
    with change_context(by=coordinator, reason="Test setup"):
        ScreeningLab.objects.create(screening=woman.screening, analyte="HGB", value=95, entered_value=9.5,
                                    entered_unit="g/dL", lln=115, uln=150, range_source="site",
                                    sampled_on=screened_on())
    day = timezone.localdate() - timedelta(days=11)
    assessment = AssessmentFactory(
        participant=woman, by=coordinator, date=day, visit="D-1", bleeding_grade=1,
        labs=[{"analyte": "PLT", "value": 21, "unit": "10^9/L"}, {"analyte": "HGB", "value": 10.2, "unit": "g/dL"}],
        transfusions=[{"kind": "platelet", "date": day}],
        rescue_therapies=[{"therapy": "ivig", "start": day, "end": day + timedelta(days=1)}],
        items={"th17": 1.5, "treg": 6.25})
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment_update(assessment=assessment, version=assessment.row_version, reason="Transcription error",
                      by=coordinator, data=AssessmentInput(**{**keep, "items": {"th17": 2.5}, "labs": [
                          {"analyte": "PLT", "value": 23, "unit": "10^9/L"},
                          {"analyte": "HGB", "value": 10.2, "unit": "g/dL"}]}))
    event = AdverseEventFactory(participant=woman, by=coordinator, term="Fever", category="fever",
                                onset_date=timezone.localdate() - timedelta(days=9), grade=1, relationship="possible")
    confirm_adverse_event(event)
    return woman


def _expected(participant) -> dict:
    """Every value the writer must write for `participant`, from the database rows through the
    declaration of the groups (`export_odm_meta`), keyed as `item_data` keys them."""
    participant = Participant.objects.get(pk=participant.pk)
    study = participant.study
    metadata = meta.build_metadata(study)
    key = participant.study_number
    expected = {}

    def add(event, form, group, row, *, event_repeat=None, form_repeat=None, repeat=None):
        for f in group.fields:
            value = odm_value(f.value(row), f.datatype)
            if value is not None:
                expected[(key, event, event_repeat, form, form_repeat, group.oid, repeat, f.oid)] = value

    screening = participant.screening
    add(meta.SE_SCREENING, meta.FORM_SCREENING, meta.SCREENING, screening.__dict__)
    for lab in screening.labs.all():
        add(meta.SE_SCREENING, meta.FORM_SCREENING, meta.SCREENING_LAB, lab.__dict__, repeat=lab.analyte)
    for n, therapy in enumerate(screening.prior_therapies.order_by("start", "id"), 1):
        add(meta.SE_SCREENING, meta.FORM_SCREENING, meta.PRIOR_THERAPY, therapy.__dict__, repeat=str(n))
    add(meta.SE_SCREENING, meta.FORM_SCREENING, metadata.groups[meta.IG_SCREENING_ITEMS], screening.__dict__)
    for n, consent in enumerate(screening.consents.order_by("signed_at", "id"), 1):
        add(meta.SE_SCREENING, meta.FORM_CONSENT, meta.CONSENT, consent.__dict__, form_repeat=str(n))
    enrolment_row = {**participant.__dict__, "arm": participant.arm.code,
                     "dose_level": participant.dose_level.code if participant.dose_level else None}
    add(meta.SE_SCREENING, meta.FORM_ENROLMENT, meta.ENROLMENT, enrolment_row)
    for infusion in participant.infusions.all():
        row = {**infusion.__dict__, "dose_level": infusion.dose_level.code if infusion.dose_level else None}
        add(meta.infusion_event_oid(infusion.number), meta.FORM_INFUSION, meta.INFUSION, row)
    for visit in participant.visits.all():
        event = meta.visit_event_oid(visit.code)
        add(event, meta.FORM_VISIT, meta.VISIT, visit.__dict__)
        for assessment in visit.assessments.all():
            add(event, meta.FORM_VISIT, meta.ASSESSMENT, assessment.__dict__)
            for lab in assessment.labs.all():
                add(event, meta.FORM_VISIT, meta.LAB, lab.__dict__, repeat=lab.analyte)
            for n, row in enumerate(assessment.transfusions.order_by("date", "id"), 1):
                add(event, meta.FORM_VISIT, meta.TRANSFUSION, row.__dict__, repeat=str(n))
            for n, row in enumerate(assessment.rescue_therapies.order_by("start", "id"), 1):
                add(event, meta.FORM_VISIT, meta.RESCUE, row.__dict__, repeat=str(n))
            add(event, meta.FORM_VISIT, metadata.groups[meta.IG_VISIT_ITEMS], assessment.__dict__)
    for event in participant.adverse_events.all():
        row = {**event.__dict__, "infusion": event.infusion.number if event.infusion else None}
        add(meta.SE_AE, meta.FORM_AE, meta.ADVERSE_EVENT, row, form_repeat=str(event.pk))
    return expected


def test_export_validates_and_holds_every_stored_value(schema, recorded):
    study = recorded.study
    document, count = export(study, study.sites.all())

    assert_valid(schema, document)
    written = item_data(document)
    expected = _expected(recorded)
    assert {key: value for key, (value, _) in written.items()} == expected
    assert count == len(written)


def test_export_writes_the_values_in_odm_formats_with_their_units(recorded):
    document, _ = export(recorded.study, recorded.study.sites.all())
    written = item_data(document)
    key = recorded.study_number
    visit = (key, "SE.VISIT.D-1", None, meta.FORM_VISIT, None)
    day = (timezone.localdate() - timedelta(days=11)).isoformat()
    # The study-defined items of the visit form, as corrected.
    assert written[(*visit, meta.IG_VISIT_ITEMS, None, "IT.ITEM.TH17")][0] == "2.5"
    assert written[(*visit, meta.IG_VISIT_ITEMS, None, "IT.ITEM.TREG")][0] == "6.25"
    # Labs in SI with the SI unit, and as entered with the unit entered.
    value, element = written[(*visit, meta.LAB.oid, "HGB", "IT.LB.VALUE")]
    assert value == "102.0"
    assert element.get("MeasurementUnitOID") == "MU.g_L"
    value, element = written[(*visit, meta.LAB.oid, "HGB", "IT.LB.ENTERED_VALUE")]
    assert value == "10.2"
    assert element.get("MeasurementUnitOID") == "MU.g_dL"
    assert written[(*visit, meta.ASSESSMENT.oid, None, "IT.ASM.DATE")][0] == day
    assert written[(*visit, meta.RESCUE.oid, "1", "IT.RT.THERAPY")][0] == "ivig"
    screening = (key, meta.SE_SCREENING, None, meta.FORM_SCREENING, None)
    assert written[(*screening, meta.SCREENING.oid, None, "IT.SCR.SEX")][0] == "female"
    assert written[(*screening, meta.SCREENING.oid, None, "IT.SCR.BIRTH_DATE")][0] == "1980-01-01"
    assert written[(*screening, meta.SCREENING_LAB.oid, "HGB", "IT.LB.VALUE")][0] == "95.0"
    infusion = (key, "SE.INFUSION.1", None, meta.FORM_INFUSION, None, meta.INFUSION.oid, None)
    assert written[(*infusion, "IT.INF.CELLS_INFUSED")][0] == "30000000.0"
    assert written[(*infusion, "IT.INF.STARTED_AT")][0] == recorded.infusions.get(number=1).started_at.isoformat()
    assert written[(*infusion, "IT.INF.WEIGHT_KG")][1].get("MeasurementUnitOID") == "MU.kg"


def test_audit_records_carry_who_when_and_the_reason(recorded, coordinator):
    document, _ = export(recorded.study, recorded.study.sites.all())
    written = item_data(document)
    visit = (recorded.study_number, "SE.VISIT.D-1", None, meta.FORM_VISIT, None, meta.IG_VISIT_ITEMS, None)

    corrected = audit_of(document, written[(*visit, "IT.ITEM.TH17")][1])
    assert corrected.find("odm:ReasonForChange", NS).text == "Transcription error"
    assert corrected.find("odm:UserRef", NS).get("UserOID") == f"USR.{coordinator.pk}"
    assert corrected.find("odm:LocationRef", NS).get("LocationOID") == "LOC.PUMCH"
    assessment = Assessment.objects.get(participant=recorded)
    change = assessment.history.order_by("-history_date", "-history_id").first()
    assert corrected.find("odm:DateTimeStamp", NS).text == change.history_date.isoformat()
    assert corrected.find("odm:SourceID", NS).text == f"followup.historicalassessment:{change.history_id}:~"
    # An item the correction left keeps the audit record of its first recording.
    kept = audit_of(document, written[(*visit, "IT.ITEM.TREG")][1])
    assert kept.find("odm:SourceID", NS).text.endswith(":+")
    # The users named in the audit records are in the admin data, with the site.
    root = ET.fromstring(document)
    user = root.find(f".//odm:AdminData/odm:User[@OID='USR.{coordinator.pk}']", NS)
    assert user.find("odm:LoginName", NS).text == coordinator.username
    assert root.find(".//odm:AdminData/odm:Location[@OID='LOC.PUMCH']", NS) is not None
    assert root.find(".//odm:SubjectData/odm:SiteRef", NS).get("LocationOID") == "LOC.PUMCH"


def test_every_change_of_the_exported_records_is_one_audit_record_the_values_point_to(schema, recorded):
    """ClinicalData's AuditRecords hold one record for each history row of the exported records
    (IDs unique, the schema checks that each AuditRecordID names one), and a value points to a
    change of its own row."""
    study = recorded.study
    data = enrolment.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1990, 5, 1), "sex": "male", "disease": "ITP",
                "initials": "SF"},
        prior_therapies=list(REFRACTORY))
    ScreeningFactory(study=CODE, site="PUMCH", data=data, by=recorded.enrolled_by)  # never enrolled
    document, _ = export(study, study.sites.all())
    assert_valid(schema, document)
    scopes = [(model, path, Participant.objects.filter(study=study)) for model, path in AUDITED] + [
        (model, path, Screening.objects.filter(study=study, participant__isnull=True))
        for model, path in SCREENING_RECORDS]
    expected, never_enrolled = set(), set()
    for model, path, of in scopes:
        current = model.objects.filter(**{f"{path}__in": of.values("pk")}).values("pk")
        records = {f"AR.{model._meta.model_name}.{pk}"
                   for pk in model.history.filter(id__in=current).values_list("history_id", flat=True)}
        expected |= records
        if of.model is Screening:
            never_enrolled |= records
    assert never_enrolled  # the screening never enrolled's changes are there too
    assert set(_records(document)) == expected
    lab = LabResult.objects.get(assessment__participant=recorded, analyte="PLT")
    changes = {f"AR.labresult.{pk}" for pk in lab.history.values_list("history_id", flat=True)}
    visit = (recorded.study_number, "SE.VISIT.D-1", None, meta.FORM_VISIT, None, meta.LAB.oid, "PLT")
    pointed = {item.get("AuditRecordID") for key, items in item_data(document, history=True).items()
               if key[:-1] == visit for item in items}
    assert pointed and pointed <= changes


def xh_opened(study):
    """The study opened at XH; a screening's data for an XH patient with refractory prior therapies."""
    with change_context(by=None, reason="Second site opens"):
        study.sites.add(Site.objects.get(code="XH"))
    data = enrolment.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1985, 3, 1), "sex": "male", "disease": "ITP",
                "initials": "XY"},
        prior_therapies=list(REFRACTORY))
    return data


def test_another_sites_participant_is_left_out(schema, recorded, make_user, monkeypatch):
    xh_coordinator = make_user("coordinator", site="XH")
    study = recorded.study
    data = xh_opened(study)
    screening = ScreeningFactory(study=CODE, site="XH", data=data, by=xh_coordinator)
    ConsentFactory(screening=screening, by=xh_coordinator, signed_at=timezone.now() - timedelta(days=12))
    confirm_eligibility(screening)
    day0 = timezone.localdate() - timedelta(days=10)
    other = ParticipantFactory(screening=screening, dose_level_code="A", enrolled_on=day0, first_infusion_on=day0,
                               by=xh_coordinator)

    with CaptureQueriesContext(connection) as one:
        pumch, _ = export(study, Site.objects.filter(code="PUMCH"), keep=False)
    with CaptureQueriesContext(connection) as two:
        both, _ = export(study, study.sites.all(), keep=False)

    # The participants are read a chunk at a time: as many statements for two as for one.
    assert len(two) == len(one)

    assert_valid(schema, pumch)
    subjects = {s.get("SubjectKey") for s in ET.fromstring(pumch).iterfind(".//odm:SubjectData", NS)}
    assert subjects == {recorded.study_number}
    assert other.study_number.encode() not in pumch and b"LOC.XH" not in pumch
    assert {s.get("SubjectKey") for s in ET.fromstring(both).iterfind(".//odm:SubjectData", NS)} == {
        recorded.study_number, other.study_number}
    # Read one participant at a time, the document holds the same data.
    monkeypatch.setattr(export_odm_kept, "CHUNK", 1)
    one_by_one, _ = export(study, study.sites.all(), keep=False)
    assert {k: v for k, (v, _) in item_data(one_by_one).items()} == {k: v for k, (v, _) in item_data(both).items()}


def test_locked_export_says_so(schema, recorded, make_user, monkeypatch):
    monkeypatch.setattr(hooks.casebook_signed, "_receivers", [lambda *, participant: True])
    admin = make_user("admin")
    casebook_lock(participant=recorded, by=admin, reason="Casebook signed")
    study = study_lock(study=recorded.study, by=admin, reason="Final analysis")

    document, _ = export(study, study.sites.all(), locked=True)

    assert_valid(schema, document)
    root = ET.fromstring(document)
    assert "locked" in root.get("Description")
    comment = root.find("odm:ClinicalData/odm:Annotations/odm:Annotation/odm:Comment", NS)
    assert comment.text == (f"Data lock: the data of this export were locked by {admin.username} at "
                            f"{study.locked_at.isoformat()}: Final analysis.")
    casebook = root.find("odm:ClinicalData/odm:SubjectData/odm:Annotation/odm:Comment", NS)
    assert casebook.text.startswith(f"Casebook locked by {admin.username} at ")
    assert casebook.text.endswith(": Casebook signed")
    unlocked, _ = export(recorded.study, recorded.study.sites.all(), locked=False)
    assert ET.fromstring(unlocked).find("odm:ClinicalData/odm:Annotations", NS) is None


def test_investigators_signatures_are_odm_signatures(recorded):
    document, _ = export(recorded.study, recorded.study.sites.all())
    root = ET.fromstring(document)
    signer = site_investigator("PUMCH")
    screening = recorded.screening
    event = recorded.adverse_events.get(term="Fever")
    for form, definition, at in (
            (f"odm:FormData[@FormOID='{meta.FORM_SCREENING}']", meta.SIGNATURE_ELIGIBILITY,
             screening.eligibility_confirmed_at),
            (f"odm:FormData[@FormRepeatKey='{event.pk}']", meta.SIGNATURE_ADVERSE_EVENT, event.confirmed_at)):
        signature = root.find(f".//odm:StudyEventData/{form}/odm:ItemGroupData[1]/odm:Signature", NS)
        assert signature.find("odm:UserRef", NS).get("UserOID") == f"USR.{signer.pk}"
        assert signature.find("odm:SignatureRef", NS).get("SignatureOID") == definition
        assert signature.find("odm:DateTimeStamp", NS).text == at.isoformat()
        assert root.find(f"odm:AdminData/odm:SignatureDef[@OID='{definition}']", NS) is not None
    assert root.find(f"odm:AdminData/odm:User[@OID='USR.{signer.pk}']/odm:LoginName", NS).text == signer.username


# What the export leaves out of each record, and where it is instead: the keys and links that the
# document's structure gives, the version counter, and the users who recorded, confirmed or locked
# (the audit records, signatures and annotations name them).
NOT_ITEMS = {"id", "row_version", "study", "site", "screening", "participant", "assessment", "visit", "definition",
             "sequence", "code", "items", "created_by", "created_at", "recorded_by", "enrolled_by", "reported_by",
             "sae_reported_by", "eligibility_confirmed_by", "confirmed_by", "locked_at", "locked_by", "lock_reason"}


def test_every_stored_field_is_an_item_of_its_group():
    groups = {"Participant": meta.ENROLMENT, "Screening": meta.SCREENING, "ScreeningLab": meta.SCREENING_LAB,
              "PriorTherapy": meta.PRIOR_THERAPY, "Consent": meta.CONSENT, "Infusion": meta.INFUSION,
              "Visit": meta.VISIT, "Assessment": meta.ASSESSMENT, "LabResult": meta.LAB,
              "Transfusion": meta.TRANSFUSION, "RescueTherapy": meta.RESCUE, "AdverseEvent": meta.ADVERSE_EVENT}
    for model, _path in AUDITED:
        declared = {f.column for f in groups[model.__name__].fields}  # the column an item is read from
        stored = {f.name for f in model._meta.concrete_fields} - NOT_ITEMS
        assert stored <= declared, (model.__name__, stored - declared)


@pytest.mark.parametrize("code", ["UCB-IRIC", "HUCMSC-ITP-ESC", "MSC-ITP-5"])
def test_metadata_of_the_shipped_studies_validates(schema, studies, code):
    study = Study.objects.get(code=code)
    document, count = export(study, study.sites.all())

    assert_valid(schema, document)
    assert count == 0
    root = ET.fromstring(document)
    version = root.find("odm:Study/odm:MetaDataVersion", NS)
    events = {e.get("OID") for e in version.iterfind("odm:StudyEventDef", NS)}
    assert {meta.visit_event_oid(v.code) for v in study.visit_definitions.all()} <= events
    assert "SE.INFUSION.1" in events and meta.SE_SCREENING in events
    items = {i.get("OID"): i for i in version.iterfind("odm:ItemDef", NS)}
    codelists = {c.get("OID") for c in version.iterfind("odm:CodeList", NS)}
    for item in study.items.all():
        definition = items[f"IT.ITEM.{item.code.upper()}"]
        ref = definition.find("odm:CodeListRef", NS)
        assert (ref is not None) == (item.type == "choice"), item.code
        if ref is not None:
            assert ref.get("CodeListOID") in codelists
    units = {u.get("OID") for u in root.iterfind("odm:Study/odm:BasicDefinitions/odm:MeasurementUnit", NS)}
    for definition in items.values():
        for ref in definition.iterfind("odm:MeasurementUnitRef", NS):
            assert ref.get("MeasurementUnitOID") in units


@pytest.fixture
def export_study(api, woman, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return fixture_study(api, woman, coordinator)


def test_odm_export_through_the_export_framework(schema, export_study, woman, investigator,
                                                 django_capture_on_commit_callbacks):
    """Requested as the API does it: the task writes the document of the investigator's site, which
    validates and holds every answer to the study-defined items of every type."""
    with django_capture_on_commit_callbacks(execute=True):
        requested = exports.export_request(study=export_study, fmt="odm", by=investigator, reuse=False)
    requested.refresh_from_db()
    assert requested.state == "done", requested.error
    document = requested.file.read()

    assert_valid(schema, document)
    written = item_data(document)
    assert requested.rows == len(written)
    key = woman.study_number
    screening = (key, meta.SE_SCREENING, None, meta.FORM_SCREENING, None, meta.IG_SCREENING_ITEMS, None)
    visit = (key, "SE.VISIT.W1", None, meta.FORM_VISIT, None, meta.IG_VISIT_ITEMS, None)
    expected = {(*screening, f"IT.ITEM.{code.upper()}"): answer for code, answer in SCREENING_ANSWERS.items()}
    expected |= {(*visit, f"IT.ITEM.{code.upper()}"): answer for code, answer in VISIT_ANSWERS.items()}
    for item, answer in expected.items():
        text = ",".join(answer) if isinstance(answer, list) else odm_value(answer, "")
        assert written[item][0] == text, item
    assert b"XH-SECRET" not in document and b"LOC.XH" not in document


def test_each_items_earlier_values_are_exported_with_their_audit_records(schema, recorded, coordinator):
    """A corrected value keeps its first value: an ItemDataAny "Insert" pointing to the audit record
    of its recording, then an "Update" pointing to the correction's (who, when, the reason); the
    document is a Transactional file and still validates."""
    document, count = export(recorded.study, recorded.study.sites.all())
    assert_valid(schema, document)
    assert ET.fromstring(document).get("FileType") == "Transactional"
    every = item_data(document, history=True)
    visit = (recorded.study_number, "SE.VISIT.D-1", None, meta.FORM_VISIT, None)

    for key, values in (((*visit, meta.IG_VISIT_ITEMS, None, "IT.ITEM.TH17"), ["1.5", "2.5"]),
                        ((*visit, meta.LAB.oid, "PLT", "IT.LB.VALUE"), ["21.0", "23.0"])):
        first, second = every[key]
        assert [first.text, second.text] == values
        assert [first.get("TransactionType"), second.get("TransactionType")] == ["Insert", "Update"]
        recorded_at, corrected = (audit_of(document, i) for i in (first, second))
        assert recorded_at.find("odm:SourceID", NS).text.endswith(":+")
        assert corrected.find("odm:SourceID", NS).text.endswith(":~")
        assert corrected.find("odm:ReasonForChange", NS).text == "Transcription error"
        assert corrected.find("odm:UserRef", NS).get("UserOID") == f"USR.{coordinator.pk}"
        assert recorded_at.find("odm:DateTimeStamp", NS).text <= corrected.find("odm:DateTimeStamp", NS).text
        assert first.get("MeasurementUnitOID") is not None or key[-1] == "IT.ITEM.TH17"
    # A value never changed is written once; the count is of the current values.
    assert len(every[(*visit, meta.IG_VISIT_ITEMS, None, "IT.ITEM.TREG")]) == 1
    assert count == len(item_data(document))


def test_a_cleared_value_is_an_update_to_null(schema, recorded):
    assessment = Assessment.objects.get(participant=recorded)
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment.refresh_from_db()
    assessment_update(assessment=assessment, version=assessment.row_version, reason="Entered in error",
                      by=recorded.enrolled_by, data=AssessmentInput(**{**keep, "items": {"th17": None}}))

    document, _ = export(recorded.study, recorded.study.sites.all())

    assert_valid(schema, document)
    key = (recorded.study_number, "SE.VISIT.D-1", None, meta.FORM_VISIT, None, meta.IG_VISIT_ITEMS, None,
           "IT.ITEM.TH17")
    values = [(i.text, i.get("IsNull")) for i in item_data(document, history=True)[key]]
    assert values == [("1.5", None), ("2.5", None), (None, "Yes")]
    cleared = audit_of(document, item_data(document, history=True)[key][-1])
    assert cleared.find("odm:ReasonForChange", NS).text == "Entered in error"
    assert key not in item_data(document)


def test_screenings_never_enrolled_are_subjects_with_their_status(schema, recorded, coordinator):
    """A screen failure and a screening in progress are exported (keyed by the screening number, their
    status said), with their screening data and its audit; another site's are not."""
    data = enrolment.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1990, 5, 1), "sex": "male", "disease": "ITP",
                "initials": "SF"},
        prior_therapies=list(REFRACTORY))
    failure = ScreeningFactory(study=CODE, site="PUMCH", data=data, by=coordinator)
    setup_update(type(failure).objects.filter(pk=failure.pk), eligible=False)
    pending = ScreeningFactory(study=CODE, site="PUMCH", data=data, by=coordinator)
    setup_update(type(pending).objects.filter(pk=pending.pk), eligible=None)

    document, _ = export(recorded.study, Site.objects.filter(code="PUMCH"))

    assert_valid(schema, document)
    root = ET.fromstring(document)
    subjects = {s.get("SubjectKey"): s for s in root.iterfind(".//odm:SubjectData", NS)}
    assert set(subjects) == {recorded.study_number, failure.number, pending.number}
    failed = subjects[failure.number]
    assert failed.find("odm:Annotation/odm:Comment", NS).text == "Status: Screen failure (not eligible); not enrolled."
    assert subjects[pending.number].find("odm:Annotation/odm:Comment", NS).text == (
        "Status: Screening not completed; not enrolled.")
    assert [e.get("StudyEventOID") for e in failed.iterfind("odm:StudyEventData", NS)] == [meta.SE_SCREENING]
    written = item_data(document)
    screening = (failure.number, meta.SE_SCREENING, None, meta.FORM_SCREENING, None, meta.SCREENING.oid, None)
    assert written[(*screening, "IT.SCR.INITIALS")][0] == "SF"
    assert written[(*screening, "IT.SCR.ELIGIBLE")][0] == "false"
    assert audit_of(document, written[(*screening, "IT.SCR.SEX")][1]).find("odm:UserRef", NS).get(
        "UserOID") == f"USR.{coordinator.pk}"
    assert failed.find("odm:SiteRef", NS).get("LocationOID") == "LOC.PUMCH"
    assert root.find(f".//odm:AdminData/odm:User[@OID='USR.{coordinator.pk}']", NS) is not None
