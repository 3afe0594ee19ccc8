"""An export is the data as they were at one instant (`followup.exports.one_snapshot`): on PostgreSQL
a change committed while it runs is in none of its files, and its progress is seen by others as it
moves. (SQLite, the embedded default, reads as the writer goes.)"""
import io
import zipfile

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from enrollment.models import Screening
from followup.export_csv import write_csv
from followup.export_models import Export, ExportState
from followup.export_xlsx import write_xlsx
from followup.exports import ExportWriter, export_run
from followup.models import LabResult

from .export_support import committed_elsewhere, fixture_study, read_zip

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="one snapshot for the whole export is taken on PostgreSQL")]


@pytest.fixture
def study(api, woman, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return fixture_study(api, woman, coordinator)


def _requested(study, by, fmt: str) -> Export:
    site = study.sites.get(code="PUMCH")
    return Export.objects.create(study=study, requested_by=by, requested_at=timezone.now(), format=fmt,
                                 site_ids=[site.pk], site_codes=site.code)


def _progress_seen_elsewhere(export_id: int) -> int:
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT progress FROM {Export._meta.db_table} WHERE id = %s", [export_id])
            return cursor.fetchone()[0]
    finally:
        other.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_change_committed_while_an_export_runs_is_not_in_it(study, woman, investigator, monkeypatch, fmt):
    export = _requested(study, investigator, fmt)
    writer = write_csv if fmt == "csv" else write_xlsx
    lab = LabResult.objects.get(assessment__participant=woman, analyte="PLT")
    seen = []

    def writing_while_data_change(study_, *, sites, out, locked, progress):
        # The export's first read takes its snapshot; then another user's change commits.
        assert Screening.objects.get(pk=woman.screening_id).initials != "QQ"
        committed_elsewhere([
            (f"UPDATE {Screening._meta.db_table} SET initials = 'QQ' WHERE id = %s", [woman.screening_id]),
            (f"UPDATE {LabResult._meta.db_table} SET value = 999, entered_value = 999 WHERE id = %s", [lab.pk])])
        progress(37)
        seen.append(_progress_seen_elsewhere(export.pk))
        return writer(study_, sites=sites, out=out, locked=locked, progress=progress)

    monkeypatch.setattr(ExportWriter, "load", lambda self: writing_while_data_change)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.state, export.progress, export.error) == (ExportState.DONE, 100, "")
    assert seen == [37]  # the progress, written apart, is seen while the export runs
    # The change is committed, and the export holds the data as they were before it.
    assert Screening.objects.get(pk=woman.screening_id).initials == "QQ"
    assert LabResult.objects.get(pk=lab.pk).value == 999
    with export.file.open("rb") as stored:
        data = stored.read()
    if fmt == "csv":
        files = read_zip(data)
        assert [row["initials"] for row in files["participants.csv"]] == [woman.screening.initials]
        plt = [row for row in files["labs.csv"] if row["analyte"] == "PLT" and row["form"] != "screening"]
        assert [float(row["value"]) for row in plt] == [lab.value]
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = b"".join(archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/"))
        assert b">QQ<" not in sheets and b"<v>999" not in sheets
        assert f">{woman.screening.initials}<".encode() in sheets


def test_a_failed_export_leaves_its_snapshot_and_says_why(study, investigator, monkeypatch):
    export = _requested(study, investigator, "csv")

    def failing(study_, *, sites, out, locked, progress):
        progress(10)
        raise ValueError("disk full")

    monkeypatch.setattr(ExportWriter, "load", lambda self: failing)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.state, export.error, export.file.name) == (ExportState.FAILED, "disk full", "")
    assert not connection.in_atomic_block
