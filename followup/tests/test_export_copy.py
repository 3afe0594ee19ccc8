"""The CSV export copied by PostgreSQL (`followup.export_copy`) is byte-for-byte the Python writer's,
for a fixture study with every domain, study-defined items and the values whose text is easy to get
wrong (quotes, commas and line breaks in text, empty texts, integral and tiny and huge floats,
decimals, times with and without microseconds, booleans, JSON lists). PostgreSQL only (skipped
elsewhere, failed in CI with REQUIRE_SERVICES=1)."""
import io
import zipfile
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from dosing.models import Infusion
from enrollment.models import Screening, ScreeningLab
from followup import export_copy, export_csv, export_xlsx
from followup.export_csv import write_csv
from followup.export_xlsx import write_xlsx
from followup.models import AdverseEvent, Assessment, LabResult
from trials.tests.support import require_service, setup_update

from .export_support import fixture_study

TZ = timezone.get_current_timezone()


@pytest.fixture
def study(api, woman, coordinator):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    study = fixture_study(api, woman, coordinator)
    screening = woman.screening
    setup_update(Screening.objects.filter(pk=screening.pk), initials="Q,\"Z\"", weight_kg=61.0, height_cm=158.25,
                 evaluated_at=datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=TZ))
    lab = ScreeningLab.objects.filter(screening=screening).first()
    setup_update(ScreeningLab.objects.filter(pk=lab.pk), entered_value=1e-05, value=1234567890123.0,
                 report_lln=0.1 + 0.2, report_uln=1.5e16, lln=-3.5, uln=-2.0, range_source="")
    setup_update(LabResult.objects.filter(assessment__participant=woman, analyte="PLT"), entered_value=42.000000001)
    assessment = Assessment.objects.get(participant=woman, visit__code="W1")
    setup_update(Assessment.objects.filter(pk=assessment.pk), notes="line one\nline two, \"quoted\"\r\nthird 第三",
                 steroid_mg_per_day=Decimal("12.500"), steroid_dose_mg_per_day=Decimal("0.125"),
                 concomitant_medications=["paracetamol \"500 mg\"", "维生素", "back\\slash\ttab"])
    event = AdverseEvent.objects.filter(participant=woman).order_by("id").first()
    setup_update(AdverseEvent.objects.filter(pk=event.pk), seriousness=["hospitalisation", "disability"],
                 serious=True, description="")
    return study


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def both(study, monkeypatch) -> tuple[dict, dict, list[str]]:
    """(the files written by Python, the files with COPY, the domains copied) and the rows of each run."""
    sites = list(study.sites.filter(code="PUMCH"))
    copied, selects = [], export_csv.copy_selects

    def spy(domain, *args):
        found = selects(domain, *args)
        if found is not None:
            copied.append(f"{domain.name}.csv")
        return found

    monkeypatch.setattr(export_csv, "copy_selects", spy)
    python, copy = io.BytesIO(), io.BytesIO()
    python_rows = write_csv(study, sites=sites, out=python, locked=False, copy=False)
    copy_rows_written = write_csv(study, sites=sites, out=copy, locked=False, copy=True)
    assert python_rows == copy_rows_written > 0
    return members(python.getvalue()), members(copy.getvalue()), copied


def test_copied_files_are_byte_for_byte_the_python_writers(study, monkeypatch):
    python, copy, copied = both(study, monkeypatch)
    assert sorted(python) == sorted(copy)
    for name in python:
        assert copy[name] == python[name], name
    # The domains SQL can write were copied; the items (one row per JSON answer) went through Python.
    assert set(copied) == {"participants.csv", "consents.csv", "prior_therapies.csv", "infusions.csv", "visits.csv",
                           "assessments.csv", "labs.csv", "transfusions.csv", "rescue_therapies.csv",
                           "adverse_events.csv"}
    # The awkward values are there, written as the Python writer writes them.
    assert b'"line one\nline two, ""quoted""\r\nthird \xe7\xac\xac\xe4\xb8\x89"' in copy["assessments.csv"]
    assert b'"[""paracetamol \\""500 mg\\"""", ' in copy["assessments.csv"]
    assert b",1e-05,g/dL,1234567890123.0," in copy["labs.csv"]
    assert b",0.30000000000000004,1.5e+16," in copy["labs.csv"]
    assert b"2026-03-01T08:30:00.123456+08:00" in copy["participants.csv"]
    assert b"12.5,,0.125" in copy["assessments.csv"]
    assert b'""kind"": ""msc""' in copy["infusions.csv"], copy["infusions.csv"].decode()
    assert copy["labs.csv"].startswith(b"\xef\xbb\xbfstudy_number,") and b"\r\n" in copy["labs.csv"]


def test_a_json_column_holding_objects_is_written_by_python(study, monkeypatch):
    setup_update(Assessment.objects.filter(participant__study=study), concomitant_medications=[{"drug": "x", "a": 1}])
    python, copy, copied = both(study, monkeypatch)
    assert "assessments.csv" not in copied and "labs.csv" in copied
    assert copy == python


def test_json_objects_are_copied_with_their_keys_sorted(study, monkeypatch):
    setup_update(Infusion.objects.all(), product={"zeta": "末", "b": True, "a": None, "ä": 0.5, "lot": "L\"1"},
                 vitals={}, reactions=["rash"])
    python, copy, copied = both(study, monkeypatch)
    assert "infusions.csv" in copied
    assert copy == python
    assert b'"[""rash""]"' in copy["infusions.csv"]


@pytest.mark.parametrize("product", [{"viability_pct": 1e-05}, {"kind": {"nested": 1}}, {"cells": 2e16}])
def test_json_that_sql_would_write_otherwise_goes_through_python(study, monkeypatch, product):
    setup_update(Infusion.objects.all(), product=product)
    python, copy, copied = both(study, monkeypatch)
    assert "infusions.csv" not in copied and "labs.csv" in copied
    assert copy == python


def test_times_around_midnight_and_the_offset(study, monkeypatch):
    utc = timezone.get_fixed_timezone(0)
    setup_update(Screening.objects.filter(study=study),
                 evaluated_at=datetime(2026, 12, 31, 20, 0, 0, tzinfo=utc),
                 eligibility_confirmed_at=timezone.now().replace(microsecond=0) - timedelta(days=400))
    python, copy, _ = both(study, monkeypatch)
    assert copy == python
    assert b"2027-01-01T04:00:00+08:00" in copy["participants.csv"]


def test_copied_worksheets_are_byte_for_byte_the_python_writers(study, monkeypatch):
    setup_update(Assessment.objects.filter(participant__study=study), notes="bell\x07 & <tag> 末\nnext")
    sites = list(study.sites.filter(code="PUMCH"))
    copied, selects = [], export_csv.copy_selects

    def spy(domain, *args):
        found = selects(domain, *args)
        if found is not None:
            copied.append(domain.name)
        return found

    monkeypatch.setattr(export_xlsx, "copy_selects", spy)
    python, copy = io.BytesIO(), io.BytesIO()
    assert write_xlsx(study, sites=sites, out=python, locked=False, copy=False) == write_xlsx(
        study, sites=sites, out=copy, locked=False, copy=True) > 0
    assert "labs" in copied and "assessments" in copied and "items" not in copied
    python, copy = members(python.getvalue()), members(copy.getvalue())
    assert sorted(python) == sorted(copy)
    for name in python:
        assert copy[name] == python[name], name
    assert b"bell &amp; &lt;tag&gt; \xe6\x9c\xab\nnext" in b"".join(copy.values())


def test_worksheet_numbers_not_finite_or_empty_and_the_session_kept(study):
    # A number that is not finite is a text cell, an empty one no cell at all, whoever writes the rows;
    # the copy's time zone and sort memory are the session's again afterwards.
    setup_update(LabResult.objects.filter(assessment__participant__study=study, analyte="PLT"),
                 lln=float("nan"), uln=None, report_uln=float("inf"))
    sites = list(study.sites.filter(code="PUMCH"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('work_mem'), current_setting('jit')")
        session = cursor.fetchone()
        python, copy = io.BytesIO(), io.BytesIO()
        write_xlsx(study, sites=sites, out=python, locked=False, copy=False)
        write_xlsx(study, sites=sites, out=copy, locked=False, copy=True)
        cursor.execute("SELECT current_setting('TimeZone'), current_setting('work_mem'), current_setting('jit')")
        assert cursor.fetchone() == session
    python, copy = members(python.getvalue()), members(copy.getvalue())
    assert copy == python
    sheets = b"".join(copy.values())
    assert b'<is><t xml:space="preserve">nan</t></is>' in sheets
    assert b'<is><t xml:space="preserve">inf</t></is>' in sheets


def test_the_copy_runs_without_jit_compilation_and_gives_back_the_session(study):
    # The rows' long expressions are not compiled (it cost more than running them); the session's
    # own setting is back afterwards.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', 'on', false)")
    rows = export_copy.Select(type(study).objects.filter(pk=study.pk).values_list("code"),
                              [("text", "{0}"), ("text", "current_setting('jit')")])
    out = io.BytesIO()
    assert export_copy.copy_rows([rows], out, None) == 1
    assert out.getvalue() == f"{study.code},off\r\n".encode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone() == ("on",)
