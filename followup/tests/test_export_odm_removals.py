"""Rows deleted outright (their history ends with a "-" row) are in the ODM export as removals: an
ItemGroupData with TransactionType "Remove" and the audit record of the deletion (who, when, why),
before the form's current groups; the document still validates against the ODM 1.3.2 schema."""
import xml.etree.ElementTree as ET
from dataclasses import fields
from datetime import timedelta

from followup import export_odm_meta as meta
from followup.models import Assessment
from followup.services import KEEP, AssessmentInput, assessment_update

from .test_export_odm import NS, assert_valid, export, recorded, schema  # noqa: F401 - fixtures


def removals(document: bytes) -> list[tuple[str, str, str, ET.Element]]:
    """(form, group, repeat key, element) of each removal, in the document's order."""
    found = []
    for form in ET.fromstring(document).iterfind(".//odm:FormData", NS):
        for group in form.iterfind("odm:ItemGroupData", NS):
            if group.get("TransactionType") == "Remove":
                found.append((form.get("FormOID"), group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"), group))
    return found


def test_a_dropped_lab_value_and_replaced_transfusions_are_removals(schema, recorded, coordinator):  # noqa: F811
    assessment = Assessment.objects.get(participant=recorded)
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment_update(assessment=assessment, version=assessment.row_version, reason="HGB was another patient's",
                      by=coordinator, data=AssessmentInput(**{**keep, "labs": [
                          {"analyte": "PLT", "value": 23, "unit": "10^9/L"}],
                          "transfusions": [{"kind": "rbc", "date": assessment.date + timedelta(days=1)}]}))
    document, _ = export(recorded.study, recorded.study.sites.all())
    assert_valid(schema, document)
    found = removals(document)
    assert [(form, group, key) for form, group, key, _ in found] == [
        (meta.FORM_VISIT, meta.LAB.oid, "HGB"), (meta.FORM_VISIT, meta.TRANSFUSION.oid, "1")]
    for *_, group in found:
        audit = group.find("odm:AuditRecord", NS)
        assert audit.find("odm:ReasonForChange", NS).text == "HGB was another patient's"
        assert audit.find("odm:UserRef", NS).get("UserOID") == f"USR.{coordinator.pk}"
        assert audit.find("odm:SourceID", NS).text.endswith(":-")
        assert group.find("odm:ItemData", NS) is None and group.find("odm:ItemDataAny", NS) is None
    # The removal comes before the form's current groups: the new transfusion is key 1 again.
    form = next(f for f in ET.fromstring(document).iterfind(".//odm:FormData", NS)
                if f.find(f"odm:ItemGroupData[@ItemGroupOID='{meta.TRANSFUSION.oid}']", NS) is not None)
    keys = [(g.get("ItemGroupOID"), g.get("ItemGroupRepeatKey"), g.get("TransactionType"))
            for g in form.iterfind("odm:ItemGroupData", NS) if g.get("ItemGroupOID") == meta.TRANSFUSION.oid]
    assert keys == [(meta.TRANSFUSION.oid, "1", "Remove"), (meta.TRANSFUSION.oid, "1", None)]
    users = {u.get("OID") for u in ET.fromstring(document).iterfind(".//odm:AdminData/odm:User", NS)}
    assert f"USR.{coordinator.pk}" in users


def test_without_deletions_there_is_no_removal(schema, recorded):  # noqa: F811
    document, _ = export(recorded.study, recorded.study.sites.all())
    assert removals(document) == []
