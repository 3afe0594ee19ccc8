"""Which records the product can delete, and their removals in the ODM export.

The product deletes only rows of a form that stays (`export_odm_audit.REMOVABLE`): prior therapies
entered again before enrolment, an assessment's lab values, transfusions and rescue therapies on its
correction. Participants, screenings, consents, infusions, visits, assessments and adverse events are
never deleted (no service, view, API call or admin page deletes one, every key they hold is PROTECT
and nothing they belong to cascades into them), so the export has no removal to write for them: the
first test fails when that stops being true, so that the export learns to write the new removals.
Each removal the product makes is in the export with the audit record of its deletion, and a
site-scoped export leaves out another site's removals and the users who made them.
"""
import re
import xml.etree.ElementTree as ET
from dataclasses import fields
from datetime import date, timedelta
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.utils import timezone

from dosing.models import Infusion
from enrollment import services as enrolment
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from enrollment.tests.factories import ConsentFactory, ParticipantFactory, ScreeningFactory
from enrollment.tests.support import REFRACTORY, screened_on
from followup import export_odm_meta as meta
from followup.export_odm_audit import REMOVABLE
from followup.models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from followup.services import KEEP, AssessmentInput, assessment_update
from followup.tests.factories import AssessmentFactory
from trials.models import Site
from trials.tests.support import confirm_eligibility

from .test_export_odm import (CODE, NS, assert_valid, export, recorded, schema,  # noqa: F401 - fixtures
                              xh_opened)

# The records that are a whole subject, event or form of the export, never deleted by the product.
WHOLE_RECORDS = (Participant, Screening, Consent, Infusion, Visit, Assessment, AdverseEvent)
# Each place in the product's code that deletes rows, and what it deletes: only `REMOVABLE` rows of
# the export, or rows that are not clinical data (an export's file, derived or working tables).
DELETIONS = {
    "enrollment/services.py": ["audited_delete(course"],  # prior therapies entered again
    "followup/services/assessment_corrections.py": ["audited_delete(row"],  # labs, transfusions, rescues
    "followup/exports.py": ["export.file.delete("],  # an export's file at the end of its retention
    "followup/casebook_changes.py": ["changes.objects.all().delete("],  # a derived table emptied
    "followup/outcomes.py": ["OutcomeResult.objects.filter(study=study).delete("],  # derived, recomputed
    "followup/reminders.py": ["Reminder.objects.filter(pk=claim.pk"],  # a reminder sent
    "followup/dashboard_base.py": ["cache.delete(entry"],  # the dashboard's kept sums, in the cache
}
_DELETE = re.compile(r"delete\(")  # a deletion: `.delete(`, `audited_delete(`, `_raw_delete(`, ...


def test_the_product_deletes_only_rows_of_a_form_that_stays():
    removable = {model for model, *_ in REMOVABLE.values()}
    assert removable == {ScreeningLab, PriorTherapy, LabResult, Transfusion, RescueTherapy}
    # Nothing outside them can take a record along when deleted (a study, a site, a dose level, a visit
    # definition, a user: PROTECT); a row goes only with the whole record it belongs to (a consent or a
    # prior therapy with its screening, a lab value with its assessment), itself never deleted.
    for model in (*WHOLE_RECORDS, *removable):
        for f in model._meta.concrete_fields:
            if f.is_relation and f.remote_field.on_delete is not models.PROTECT:
                assert f.related_model in WHOLE_RECORDS, (model, f.name)
    # No admin page shows a clinical record (the admin deletes configuration only).
    clinical = set(apps.get_app_config("enrollment").get_models()) | set(apps.get_app_config("dosing").get_models()) \
        | set(apps.get_app_config("followup").get_models())
    assert not clinical & set(admin.site._registry)
    # Every deletion in the product's code (services, views, API, tasks) is one of those known.
    base = Path(settings.BASE_DIR)
    found = {}
    for app in ("enrollment", "dosing", "followup"):
        for path in sorted((base / app).rglob("*.py")):
            parts = path.relative_to(base).parts
            if "tests" in parts or "migrations" in parts:
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                code = line.split("#")[0]
                if _DELETE.search(code) and not code.lstrip().startswith("def "):
                    found.setdefault("/".join(parts), []).append(code.strip())
    assert set(found) == set(DELETIONS), found
    for module, calls in found.items():
        assert len(calls) == len(DELETIONS[module]), (module, calls)
        assert all(any(known in call for known in DELETIONS[module]) for call in calls), (module, calls)


def _xh_records(study, xh_coordinator):
    """At XH: a screening never enrolled whose prior therapies were entered again, and a participant
    whose assessment's transfusion, rescue therapy and HGB value were deleted on its correction."""
    data = xh_opened(study)
    pending = ScreeningFactory(study=CODE, site="XH", data=data, by=xh_coordinator)
    enrolment.screening_update(screening=pending, data=enrolment.ScreeningInput(prior_therapies=list(REFRACTORY[1:])),
                               reason="XH: the first course was another patient's", by=xh_coordinator,
                               version=Screening.objects.get(pk=pending.pk).row_version)
    screening = ScreeningFactory(study=CODE, site="XH", data=data, by=xh_coordinator)
    ConsentFactory(screening=screening, by=xh_coordinator, signed_at=timezone.now() - timedelta(days=12))
    confirm_eligibility(screening)
    day0 = timezone.localdate() - timedelta(days=10)
    other = ParticipantFactory(screening=screening, dose_level_code="A", enrolled_on=day0 - timedelta(days=2),
                               first_infusion_on=day0, by=xh_coordinator)
    day = timezone.localdate() - timedelta(days=11)
    assessment = AssessmentFactory(
        participant=other, by=xh_coordinator, date=day, visit="D-1", bleeding_grade=1,
        labs=[{"analyte": "PLT", "value": 21, "unit": "10^9/L"}, {"analyte": "HGB", "value": 10.2, "unit": "g/dL"}],
        transfusions=[{"kind": "platelet", "date": day}],
        rescue_therapies=[{"therapy": "ivig", "start": day, "end": day + timedelta(days=1)}])
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment_update(assessment=assessment, version=assessment.row_version, reason="XH: entered in error",
                      by=xh_coordinator, data=AssessmentInput(**{
                          **keep, "labs": [{"analyte": "PLT", "value": 21, "unit": "10^9/L"}],
                          "transfusions": [], "rescue_therapies": []}))
    return pending, other


def _removed(document: bytes) -> dict:
    """{(subject, form, group, repeat key): AuditRecord} of each removal."""
    found = {}
    for subject in ET.fromstring(document).iterfind(".//odm:SubjectData", NS):
        for form in subject.iterfind(".//odm:FormData", NS):
            for group in form.iterfind("odm:ItemGroupData", NS):
                if group.get("TransactionType") == "Remove":
                    found[(subject.get("SubjectKey"), form.get("FormOID"), group.get("ItemGroupOID"),
                           group.get("ItemGroupRepeatKey"))] = group.find("odm:AuditRecord", NS)
    return found


def test_removals_through_the_services_with_their_audit_and_site_scoping(schema, recorded, coordinator,  # noqa: F811
                                                                        make_user):
    study = recorded.study
    # At PUMCH: a screening never enrolled whose prior therapies were entered again, and the
    # participant's rescue therapy deleted on a correction of her assessment.
    data = enrolment.ScreeningInput(
        values={"screening_date": screened_on(), "birth_date": date(1990, 5, 1), "sex": "female", "disease": "ITP",
                "initials": "PT"},
        prior_therapies=list(REFRACTORY))
    pending = ScreeningFactory(study=CODE, site="PUMCH", data=data, by=coordinator)
    enrolment.screening_update(screening=pending, data=enrolment.ScreeningInput(prior_therapies=list(REFRACTORY[:2])),
                               reason="Rituximab was not given", by=coordinator,
                               version=Screening.objects.get(pk=pending.pk).row_version)
    assessment = Assessment.objects.get(participant=recorded)
    keep = {f.name: KEEP for f in fields(AssessmentInput)}
    assessment_update(assessment=assessment, version=assessment.row_version, reason="No IVIG was given",
                      by=coordinator, data=AssessmentInput(**{**keep, "rescue_therapies": []}))
    xh_coordinator = make_user("coordinator", site="XH")
    xh_pending, xh_participant = _xh_records(study, xh_coordinator)

    pumch, _ = export(study, Site.objects.filter(code="PUMCH"))
    both, _ = export(study, study.sites.all())

    assert_valid(schema, pumch)
    assert_valid(schema, both)
    # Prior therapies are entered again as a whole: each earlier course is removed, then the current ones follow.
    ours = {(pending.number, meta.FORM_SCREENING, meta.PRIOR_THERAPY.oid, str(n)): ("Rituximab was not given",
                                                                                   coordinator) for n in (1, 2, 3)}
    ours[(recorded.study_number, meta.FORM_VISIT, meta.RESCUE.oid, "1")] = ("No IVIG was given", coordinator)
    theirs = {(xh_pending.number, meta.FORM_SCREENING, meta.PRIOR_THERAPY.oid, str(n)): (
        "XH: the first course was another patient's", xh_coordinator) for n in (1, 2, 3)}
    for oid, key in ((meta.LAB.oid, "HGB"), (meta.TRANSFUSION.oid, "1"), (meta.RESCUE.oid, "1")):
        theirs[(xh_participant.study_number, meta.FORM_VISIT, oid, key)] = ("XH: entered in error", xh_coordinator)

    for document, expected in ((pumch, ours), (both, ours | theirs)):
        found = _removed(document)
        assert set(found) == set(expected)
        for key, (reason, user) in expected.items():
            audit = found[key]
            assert audit.find("odm:UserRef", NS).get("UserOID") == f"USR.{user.pk}"
            assert audit.find("odm:ReasonForChange", NS).text == reason
            assert audit.find("odm:DateTimeStamp", NS).text
            assert audit.find("odm:SourceID", NS).text.endswith(":-")
        users = {u.get("OID") for u in ET.fromstring(document).iterfind(".//odm:AdminData/odm:User", NS)}
        assert {f"USR.{user.pk}" for _, user in expected.values()} <= users
    # Another site's removals, and the user who made them, are not in PUMCH's export.
    assert xh_pending.number.encode() not in pumch and xh_participant.study_number.encode() not in pumch
    users = {u.get("OID") for u in ET.fromstring(pumch).iterfind(".//odm:AdminData/odm:User", NS)}
    assert f"USR.{xh_coordinator.pk}" not in users
    # The service's deletions are what the export read: one history row "-" per removal.
    assert PriorTherapy.history.filter(screening_id=pending.pk, history_type="-").count() == 3
    assert RescueTherapy.history.filter(assessment_id=assessment.pk, history_type="-").count() == 1
