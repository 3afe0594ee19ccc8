"""Data exports (`followup.exports`, `followup.export_csv`): the CSV files read back reproduce every
stored value of a fixture study, study-defined items and lab values with their units included; the
data dictionary describes every column; the workbook holds the same rows; another site's data never
leaves; each export is audited with whether the data were locked."""
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from dosing.models import Infusion
from enrollment.models import Consent, Participant, PriorTherapy, Screening, ScreeningLab
from followup import exports
from followup.export_domains import described_domains
from followup.export_models import Export
from followup.models import AdverseEvent, Assessment, LabResult, RescueTherapy, Transfusion, Visit
from trials import catalogues
from trials.models import Item
from trials.tests.support import setup_update

from .export_support import SCREENING_ANSWERS, VISIT_ANSWERS, fixture_study, item_value, read_zip, typed

PLAIN = {"participants": (Screening, "site_id"), "consents": (Consent, "screening__site_id"),
         "prior_therapies": (PriorTherapy, "screening__site_id"), "infusions": (Infusion, "participant__site_id"),
         "visits": (Visit, "participant__site_id"), "assessments": (Assessment, "participant__site_id"),
         "transfusions": (Transfusion, "assessment__participant__site_id"),
         "rescue_therapies": (RescueTherapy, "assessment__participant__site_id"),
         "adverse_events": (AdverseEvent, "participant__site_id")}


@pytest.fixture
def study(api, woman, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return fixture_study(api, woman, coordinator)


def run(study, user, fmt, django_capture_on_commit_callbacks) -> Export:
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(study=study, fmt=fmt, by=user, reuse=False)
    export.refresh_from_db()
    assert export.state == "done", export.error
    return export


def test_the_csv_files_reproduce_every_stored_value(study, investigator, django_capture_on_commit_callbacks):
    export = run(study, investigator, "csv", django_capture_on_commit_callbacks)
    files = read_zip(export.file.read())
    described = {d.name: d for d in described_domains()}
    assert sorted(files) == sorted([f"{name}.csv" for name in described] + ["data_dictionary.csv"])
    pumch = [site.pk for site in study.sites.all() if site.code == "PUMCH"]
    for name, (model, site_path) in PLAIN.items():
        columns = described[name].described
        stored = [list(row) for row in model.objects.filter(**{f"{site_path}__in": pumch}).order_by(
            *described[name].order).values_list(*[c.path for c in columns])]
        read = [[typed(row[c.name], c.type) for c in columns] for row in files[f"{name}.csv"]]
        assert len(read) == len(stored) and stored, name
        for stored_row, read_row in zip(stored, read, strict=True):
            for column, value, back in zip(columns, stored_row, read_row, strict=True):
                if column.type == "number" and value is not None:
                    value = float(value)
                assert back == value or (value in ("", [], {}) and back is None), (name, column.name, value, back)
    assert export.rows == sum(len(rows) for file, rows in files.items() if file != "data_dictionary.csv")


def test_lab_values_come_back_with_their_units_and_si_values(study, investigator, django_capture_on_commit_callbacks):
    files = read_zip(run(study, investigator, "csv", django_capture_on_commit_callbacks).file.read())
    si = {code: analyte.si_unit for code, analyte in catalogues.current().analytes.items()}
    read = {(row["form"], row["analyte"]): row for row in files["labs.csv"]}
    stored = [("screening", lab) for lab in ScreeningLab.objects.filter(screening__site__code="PUMCH",
                                                                       screening__study=study)]
    stored += [(lab.assessment.visit.code, lab)
               for lab in LabResult.objects.filter(assessment__participant__study=study)]
    assert len(read) == len(files["labs.csv"]) == len(stored) == 4
    for form, lab in stored:
        row = read[(form, lab.analyte)]
        assert (float(row["value"]), row["unit"], float(row["value_si"]), row["unit_si"]) == (
            lab.entered_value, lab.entered_unit, lab.value, si[lab.analyte])
        assert typed(row["lln_si"], "number") == lab.lln and typed(row["uln_si"], "number") == lab.uln
    assert (read[("W1", "HGB")]["value"], read[("W1", "HGB")]["unit"], read[("W1", "HGB")]["value_si"]) == (
        "10.2", "g/dL", "102.0")


def test_study_defined_items_come_back_typed(study, investigator, django_capture_on_commit_callbacks):
    files = read_zip(run(study, investigator, "csv", django_capture_on_commit_callbacks).file.read())
    rows = files["items.csv"]
    stored = {}
    for screening in Screening.objects.filter(study=study, site__code="PUMCH"):
        stored.update({("screening", code): value for code, value in screening.items.items() if value is not None})
    for assessment in Assessment.objects.filter(participant__study=study):
        stored.update({(assessment.visit.code, code): value for code, value in assessment.items.items()
                       if value is not None})
    read = {(row["form"], row["item"]): item_value(row["value"], row["item_type"]) for row in rows}
    assert len(rows) == len(read) == len(stored)
    assert read == stored
    assert {code: read[("W1", code)] for code in VISIT_ANSWERS} == VISIT_ANSWERS
    assert {code: read[("screening", code)] for code in SCREENING_ANSWERS} == SCREENING_ANSWERS
    qol = next(row for row in rows if row["item"] == "qol_score" and row["form"] == "W1")
    assert (qol["item_type"], qol["unit"], qol["study_number"]) == ("number", "points", study.participants.get(
        ).study_number)


def test_the_dictionary_lists_every_column_and_every_item(study, investigator, django_capture_on_commit_callbacks):
    files = read_zip(run(study, investigator, "csv", django_capture_on_commit_callbacks).file.read())
    dictionary = files["data_dictionary.csv"]
    columns = {(row["file"], row["column"]) for row in dictionary if not row["item_code"]}
    for file, rows in files.items():
        if file != "data_dictionary.csv":
            header = list(rows[0]) if rows else None
            assert header is None or {(file, name) for name in header} <= columns, file
    assert len(columns) == sum(len(d.columns) for d in described_domains())
    assert all(row["label"] and row["type"] for row in dictionary)
    sex = next(row for row in dictionary if (row["file"], row["column"]) == ("participants.csv", "sex"))
    assert "female=" in sex["code_list"] and sex["type"] == "text"
    weight = next(row for row in dictionary if (row["file"], row["column"]) == ("participants.csv", "weight_kg"))
    assert (weight["type"], weight["unit"]) == ("number", "kg")
    items = {row["item_code"]: row for row in dictionary if row["item_code"]}
    assert set(items) == set(Item.objects.filter(study=study).values_list("code", flat=True))
    assert (items["qol_score"]["unit"], items["symptoms"]["code_list"]) == (
        "points", "fatigue=Fatigue;bruising=Bruising;fever=Fever")


def test_the_workbook_holds_the_same_rows(study, investigator, django_capture_on_commit_callbacks):
    files = read_zip(run(study, investigator, "csv", django_capture_on_commit_callbacks).file.read())
    export = run(study, investigator, "xlsx", django_capture_on_commit_callbacks)
    workbook = load_workbook(io.BytesIO(export.file.read()), read_only=True)
    assert workbook.sheetnames == [f.removesuffix(".csv") for f in files if f != "data_dictionary.csv"] + [
        "Data dictionary"]
    for name in workbook.sheetnames[:-1]:
        sheet = list(workbook[name].iter_rows(values_only=True))
        csv_rows = files[f"{name}.csv"]
        assert len(sheet) == len(csv_rows) + 1, name
        for values, row in zip(sheet[1:], csv_rows, strict=True):
            values = list(values) + [None] * (len(sheet[0]) - len(values))  # empty cells at the end are left out
            as_text = ["" if v is None else v for v in values]
            expected = [row[column] for column in sheet[0]]
            for got, want in zip(as_text, expected, strict=True):
                assert got == want or float(got) == float(want), (name, got, want)
    assert len(list(workbook["Data dictionary"].iter_rows())) == len(files["data_dictionary.csv"]) + 1


def test_another_sites_data_never_leaves(study, investigator, django_capture_on_commit_callbacks):
    export = run(study, investigator, "csv", django_capture_on_commit_callbacks)
    raw = export.file.read()
    files = read_zip(raw)
    assert [row["screening_number"] for row in files["participants.csv"]] == [
        Participant.objects.get(study=study).screening.number]
    assert "XH-SECRET-001" not in str(files) and 11.0 not in [row["value"] for row in files["items.csv"]]
    assert export.site_codes == "PUMCH" and export.site_ids == [study.sites.get(code="PUMCH").pk]


@pytest.mark.parametrize("role", ["coordinator"])
def test_a_role_that_does_not_export_is_refused(study, make_user, role):
    with pytest.raises(exports.PermissionDenied):
        exports.export_request(study=study, fmt="csv", by=make_user(role))
    assert not Export.objects.exists()


def test_each_export_is_audited_with_whether_the_data_were_locked(study, investigator, data_manager,
                                                                   django_capture_on_commit_callbacks):
    first = run(study, investigator, "csv", django_capture_on_commit_callbacks)
    setup_update(Participant.objects.filter(study=study), locked_at=first.requested_at, locked_by=data_manager,
                 lock_reason="Ready")
    second = run(study, data_manager, "csv", django_capture_on_commit_callbacks)
    assert (first.data_locked, second.data_locked) == (False, True)
    history = list(second.history.order_by("history_id").values_list(
        "history_type", "state", "history_user__username", "data_locked", "history_change_reason"))
    assert history == [("+", "queued", data_manager.username, None, ""),
                       ("~", "running", data_manager.username, True, "Export started"),
                       ("~", "done", data_manager.username, True, "Export finished")]


def test_a_study_lock_counts_as_locked_data(study, investigator, data_manager, django_capture_on_commit_callbacks):
    setup_update(type(study).objects.filter(pk=study.pk), locked_at=study.created_at if hasattr(study, "created_at")
                 else Participant.objects.get(study=study).screening.created_at, locked_by=data_manager,
                 lock_reason="Analysis")
    study.refresh_from_db()
    assert run(study, investigator, "xlsx", django_capture_on_commit_callbacks).data_locked is True


def test_a_writer_that_fails_marks_the_export_failed(study, investigator, django_capture_on_commit_callbacks,
                                                     monkeypatch):
    monkeypatch.setitem(exports.WRITERS, "csv", exports.ExportWriter("followup.export_csv", "no_such_writer",
                                                                     "zip", "application/zip"))
    monkeypatch.setattr(exports, "format_checked", lambda fmt: fmt)
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.export_request(study=study, fmt="csv", by=investigator)
    export.refresh_from_db()
    assert (export.state, export.file.name, export.error) == ("failed", "", "The csv export is not available on "
                                                                           "this server.")


def test_a_lost_queued_export_is_queued_again(study, investigator, django_capture_on_commit_callbacks):
    export = exports.export_request(study=study, fmt="csv", by=investigator)  # never committed: not run
    assert Export.objects.get(pk=export.pk).state == "queued"
    with django_capture_on_commit_callbacks(execute=True):
        assert exports.exports_requeue(now=export.requested_at + timedelta(minutes=1)) == []
        assert exports.exports_requeue(now=export.requested_at + timedelta(minutes=3)) == [export.pk]
    assert Export.objects.get(pk=export.pk).state == "done"
