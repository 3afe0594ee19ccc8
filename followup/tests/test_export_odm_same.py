"""The ItemGroupData and ItemDataAny loop of the ODM writer (`export_odm._ClinicalWriter._group`,
each item's history worked out inline and its changes written in their order) writes the very
document the straightforward writer does (kept here as the reference: an item's history through
`export_odm_audit.item_history`, its ItemDataAny placed at the change that set it), on a study with
every kind of history: values corrected with a reason, a value cleared, a value changed outside the
history, rows deleted (removals), study-defined items, texts that need escaping, units, signatures,
and screenings never enrolled."""
import re
from dataclasses import fields

from django.db import models

from enrollment.models import Screening
from enrollment.tests.factories import ScreeningFactory
from enrollment.tests.support import REFRACTORY, screened_on
from enrollment import services as enrolment
from followup import export_odm
from followup.export_odm_xml import attribute, odm_value
from followup.export_odm_audit import item_history
from followup.models import Assessment
from followup.services import KEEP, AssessmentInput, assessment_update
from trials.models import Site
from trials.tests.support import setup_update

from .test_export_odm import CODE, assert_valid, export, item_data, recorded, schema  # noqa: F401 - fixtures


def reference_group(self, group, row, *, repeat=None, audit_pk=None) -> None:
    pk = audit_pk if audit_pk is not None else row.get("id")
    audit = self.audits.get(group.oid)
    history = (audit.rows.get(pk) or []) if audit is not None else []
    place = {row_["history_id"]: n for n, row_ in enumerate(history)}
    written = []  # (the change's place: its history row's, or after them; the item's place; the ItemDataAny)
    for order, f in enumerate(group.fields):
        value = odm_value(f.value(row), f.datatype)
        earlier, last = item_history(audit, pk, f, value)
        changes = list(earlier) + ([(last, value)] if value is not None or earlier else [])
        for n, (change, text) in enumerate(changes):
            at = place[change["history_id"]] if change is not None else len(history)
            record_id = f"{audit.prefix}{change['history_id']}" if change is not None else None
            written.append((at, order, reference_item(self, f, text, change if change is not None else row,
                                                      record_id, "Insert" if n == 0 else "Update")))
        if value is not None:
            self.count += 1
    if not written:
        return
    self.xml.start("ItemGroupData", ItemGroupOID=group.oid, ItemGroupRepeatKey=repeat)
    if group.signature and row.get(group.signature[2]):
        self._signature(*group.signature, row)
    self.xml.raw("".join(text for *_, text in sorted(written, key=lambda w: w[:2])))
    self.xml.end("ItemGroupData")


def reference_item(self, f, value, row, record_id, transaction) -> str:
    text = f'<ItemDataAny ItemOID={attribute(f.oid)} TransactionType="{transaction}"'
    if record_id is not None:
        text += f" AuditRecordID={attribute(record_id)}"
    if value is None:
        return text + ' IsNull="Yes"/>'
    symbol = f.unit or (row.get(f.unit_key) if f.unit_key else None)
    if symbol and symbol in self.meta.units:
        text += f" MeasurementUnitOID={attribute(self.meta.units[symbol])}"
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return f"{text}>{escaped}</ItemDataAny>"


def _timeless(document: bytes) -> bytes:
    """The document without its creation time (the only thing two runs may write differently)."""
    return re.sub(rb'(FileOID|CreationDateTime)="[^"]*"', rb'\1=""', document, count=2)


def test_the_document_is_the_reference_writers(schema, recorded, coordinator, monkeypatch):  # noqa: F811
    assessment = Assessment.objects.get(participant=recorded)
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment_update(assessment=assessment, version=assessment.row_version, reason="HGB was <another> \"patient's\"",
                      by=coordinator, data=AssessmentInput(**{**keep, "items": {"th17": None, "treg": 7.0},
                                                              "labs": [{"analyte": "PLT", "value": 23,
                                                                        "unit": "10^9/L"}]}))
    # Texts that need escaping, one set through the history and one outside it (no audit record).
    notes = 'a & b < c > "d"\nline\ttab 末\r\nend'
    setup_update(Assessment.objects.filter(pk=assessment.pk), notes=notes)
    models.QuerySet.update(Screening.objects.filter(pk=recorded.screening_id), initials="A&B")
    data = enrolment.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": screened_on().replace(year=1990), "sex": "male",
                "disease": "ITP", "initials": "SF"},
        prior_therapies=list(REFRACTORY))
    failure = ScreeningFactory(study=CODE, site="PUMCH", data=data, by=coordinator)
    setup_update(Screening.objects.filter(pk=failure.pk), eligible=False)
    sites = Site.objects.filter(code="PUMCH")

    document, count = export(recorded.study, sites, keep=False)
    monkeypatch.setattr(export_odm._ClinicalWriter, "_group", reference_group)
    before, before_count = export(recorded.study, sites, keep=False)

    assert_valid(schema, document)
    assert count == before_count > 0
    assert _timeless(document) == _timeless(before)
    # The fixture holds what the loop must get right.
    for piece in (b'TransactionType="Update" AuditRecordID="AR.assessment.', b'IsNull="Yes"/>',
                  b'TransactionType="Remove"', b' MeasurementUnitOID="MU.',
                  b'>a &amp; b &lt; c &gt; "d"\nline\ttab \xe6\x9c\xab&#13;\nend</ItemDataAny>',
                  b'>A&amp;B</ItemDataAny>',
                  b"&lt;another&gt;", b"IT.ITEM.TREG", b"<Signature>", failure.number.encode()):
        assert piece in document, piece
    # read back, each value is the one stored (the carriage return kept by its reference)
    visit = (recorded.study_number, "SE.VISIT.D-1", None, "F.VISIT", None, "IG.ASSESSMENT", None)
    written = item_data(document)
    assert written[(*visit, "IT.ASM.NOTES")][0] == notes
    assert written[(recorded.study_number, "SE.SCREENING", None, "F.SCREENING", None, "IG.SCREENING", None,
                    "IT.SCR.INITIALS")][0] == "A&B"
