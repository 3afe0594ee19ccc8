"""Helpers of the source data verification tests."""
from datetime import timedelta

from dosing.tests.support import day0
from followup.record_refs import RecordRef
from followup.sdv import record_participant, single_record
from followup.services import items_verify
from followup.tests.factories import AssessmentFactory

LABS = [{"analyte": "PLT", "value": 20, "unit": "10^9/L"}, {"analyte": "HGB", "value": 120, "unit": "g/L"},
        {"analyte": "WBC", "value": 5, "unit": "10^9/L"}]


def assessment(participant, by, *, day=0, on=None):
    """An unscheduled assessment: date, bleeding grade 1, PLT, HGB and WBC. Key items: date, lab:PLT, lab:HGB."""
    return AssessmentFactory(participant=participant, by=by, date=on or day0() + timedelta(days=day), bleeding_grade=1,
                             labs=LABS)


def state_of(record, kind="assessment"):
    record = type(record).objects.get(pk=record.pk)
    return single_record(kind, record, record_participant(kind, record))


def verify(record, codes, by, kind="assessment", version=None):
    current = type(record).objects.get(pk=record.pk)
    return items_verify(record_ref=RecordRef(kind, record.pk), item_codes=codes, by=by,
                        version=current.row_version if version is None else version)
