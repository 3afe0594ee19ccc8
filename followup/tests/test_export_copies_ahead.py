"""The copies of an export run ahead on connections of their own reading the export's snapshot
(`followup.export_copy.copies_ahead`): the files are the same as copied one after the other, the
copies read the snapshot and not what is committed since, and a copy that fails fails the export."""
import io
import threading
import zipfile

import pytest
from django.db import connection

from followup import export_copy
from followup.export_csv import copy_selects, prepared, write_csv
from followup.export_xlsx import write_xlsx
from followup.exports import one_snapshot
from followup.models import LabResult

from .export_support import committed_elsewhere, fixture_study

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="the copies are PostgreSQL's, run ahead within the export's snapshot")]


@pytest.fixture
def study(api, woman, coordinator):
    return fixture_study(api, woman, coordinator)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("write", [write_csv, write_xlsx])
def test_copied_ahead_the_files_are_those_copied_one_after_the_other(study, monkeypatch, write):
    sites = list(study.sites.filter(code="PUMCH"))
    one_by_one = io.BytesIO()
    write(study, sites=sites, out=one_by_one, locked=False, copy=True)
    started = []
    real = export_copy.copies_ahead

    def watched(jobs):
        started.append(sorted(jobs))
        return real(jobs)

    monkeypatch.setattr(export_copy, "copies_ahead", watched)
    ahead = io.BytesIO()
    with one_snapshot(0):  # the export's snapshot, as the task reads
        write(study, sites=sites, out=ahead, locked=False, copy=True)
    assert "labs" in started[0] and "participants" in started[0]
    assert _members(ahead.getvalue()) == _members(one_by_one.getvalue())


def test_the_copies_read_the_snapshot_on_threads_of_their_own(study, woman):
    lab = LabResult.objects.get(assessment__participant=woman, analyte="PLT")
    seen = []

    def job(raw):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT value FROM {LabResult._meta.db_table} WHERE id = %s", [lab.pk])
            value = cursor.fetchone()[0]
        seen.append(threading.current_thread().name)
        raw.write(f"{value:g}".encode())
        return 1

    with one_snapshot(0):
        assert LabResult.objects.get(pk=lab.pk).value == lab.value  # the snapshot is taken
        committed_elsewhere([(f"UPDATE {LabResult._meta.db_table} SET value = 999 WHERE id = %s", [lab.pk])])
        with export_copy.copies_ahead({"a": job, "b": job}) as ahead:
            files = {key: future.result() for key, future in ahead.items()}
            assert {key: (out.read(), rows) for key, (out, rows) in files.items()} == {
                "a": (f"{lab.value:g}".encode(), 1), "b": (f"{lab.value:g}".encode(), 1)}
    assert all(out.closed for out, _rows in files.values())
    assert len(seen) == 2 and all(name.startswith("export-copy") for name in seen)
    assert LabResult.objects.get(pk=lab.pk).value == 999


def test_outside_a_snapshot_nothing_runs_ahead(study):
    with export_copy.copies_ahead({"a": lambda raw: 0}) as ahead:
        assert ahead is None


def test_a_copy_that_fails_fails_the_writer(study):
    def broken(raw):
        raise ValueError("the database went away")

    with one_snapshot(0), export_copy.copies_ahead({"a": broken}) as ahead, \
            pytest.raises(ValueError, match="went away"):
        export_copy.copied(ahead["a"], io.BytesIO(), None)


def test_sheets_keep_their_places_whatever_order_their_copies_end(study, monkeypatch):
    sites = list(study.sites.filter(code="PUMCH"))
    one_by_one = io.BytesIO()
    write_xlsx(study, sites=sites, out=one_by_one, locked=False, copy=True)
    ended = []
    real = export_copy.as_copied

    def backwards(futures):  # the last domain's copy taken first, and so on
        found = sorted(real(futures), key=lambda pair: list(futures).index(pair[0]))
        ended.extend(name for name, _future in reversed(found))
        return reversed(found)

    monkeypatch.setattr(export_copy, "as_copied", backwards)
    ahead = io.BytesIO()
    with one_snapshot(0):
        write_xlsx(study, sites=sites, out=ahead, locked=False, copy=True)
    assert len(ended) > 3
    members = _members(ahead.getvalue())
    assert members == _members(one_by_one.getvalue())
    with zipfile.ZipFile(io.BytesIO(ahead.getvalue())) as archive:
        written = [name for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert written != sorted(written, key=lambda name: int(name[len("xl/worksheets/sheet"):-4]))  # not in order
    assert b'<sheet name="participants" sheetId="1" r:id="rId1"/>' in members["xl/workbook.xml"]


def test_the_largest_copies_start_first(study):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    site_ids, domains, _counter = prepared(study, list(study.sites.all()), None)
    selects = {domain.name: copy_selects(domain, study, site_ids) for domain in domains}
    jobs = {name: (lambda raw: 0) for name, found in selects.items() if found is not None}
    ordered = list(export_copy.largest_first(jobs, selects))
    assert sorted(ordered) == sorted(jobs)
    assert ordered.index("labs") < ordered.index("consents")
