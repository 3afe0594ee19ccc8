"""An investigator starts a CSV export on the study's Exports page, watches its progress bar reach
done (the static script polls the status JSON, under the strict Content-Security-Policy) and
downloads the file; the same for the ODM export, whose subjects are then kept for the next one."""
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest
from django.db import connection

from followup import exports
from followup import export_odm_meta
from followup.export_models import Export, KeptOdmSubject
from followup.tasks import run_export

from .export_support import fixture_study, read_zip

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@dataclass
class Signed:
    page: object
    study: object
    queued: list  # the exports queued: the broker keeps each until the worker (the test) takes it
    problems: list  # the page's console errors


@pytest.fixture
def signed_in(chromium_page, api, woman, coordinator, make_user, settings, tmp_path, monkeypatch) -> Signed:
    """An investigator of the woman's study signed in, the exports queued for the test to run."""
    settings.MEDIA_ROOT = tmp_path
    study = fixture_study(api, woman, coordinator)
    make_user("investigator", username="zhou", password="Correct-Horse-88")
    queued = []
    monkeypatch.setattr(exports, "queue_export", lambda export, language: queued.append(export.pk))
    page = chromium_page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{page.base}/accounts/login/")
    page.fill("#id_username", "zhou")
    page.fill("#id_password", "Correct-Horse-88")
    with page.expect_navigation():
        page.click("button[type=submit]")
    return Signed(page, study, queued, problems)


def test_investigator_exports_csv_and_downloads_it(signed_in, woman):
    page, study, queued = signed_in.page, signed_in.study, signed_in.queued
    page.goto(f"{page.base}/studies/{study.code}/")
    page.click("[data-testid=exports-link]")
    page.select_option("#id_format", "csv")
    page.get_by_role("button", name="Start the export").click()

    progress = page.locator("[data-testid=export-progress]")
    assert progress.get_attribute("value") == "0"
    assert page.locator("[data-export-state]").inner_text() == "Queued"
    assert page.locator("[data-testid=export-download]").is_hidden()
    assert len(queued) == 1
    run_export(queued[0], "en")  # the worker runs it; the page follows by itself

    page.locator("[data-testid=export-download]").wait_for(state="visible", timeout=10_000)
    assert page.locator("[data-export-state]").inner_text() == "Done"
    assert page.eval_on_selector("[data-testid=export-progress]", "e => e.value") == 100
    assert page.locator("[data-export-refresh]").is_hidden()
    with page.expect_download() as info:
        page.click("[data-testid=export-download]")
    download = info.value
    assert download.suggested_filename.startswith(f"{study.code}-") and download.suggested_filename.endswith(".zip")
    files = read_zip(open(download.path(), "rb").read())
    assert [row["study_number"] for row in files["participants.csv"]] == [woman.study_number]
    page.reload()
    row = page.locator(f"[data-testid=export-list] tr[data-export='{Export.objects.get().pk}']")
    assert "zhou" in row.inner_text() and "CSV" in row.inner_text()
    assert signed_in.problems == []


def test_investigator_exports_odm_and_downloads_it(signed_in, woman):
    page, study, queued = signed_in.page, signed_in.study, signed_in.queued
    page.goto(f"{page.base}/studies/{study.code}/exports/")
    page.select_option("#id_format", "odm")
    with page.expect_navigation():
        page.get_by_role("button", name="Start the export").click()
    assert page.locator("[data-export-state]").inner_text() == "Queued"
    run_export(queued[0], "en")

    page.locator("[data-testid=export-download]").wait_for(state="visible", timeout=10_000)
    assert page.eval_on_selector("[data-testid=export-progress]", "e => e.value") == 100
    with page.expect_download() as info:
        page.click("[data-testid=export-download]")
    download = info.value
    assert download.suggested_filename.endswith(".xml")
    root = ET.fromstring(open(download.path(), "rb").read())
    ns = {"odm": export_odm_meta.ODM_NS}
    assert woman.study_number in {s.get("SubjectKey") for s in root.iterfind(".//odm:SubjectData", ns)}
    # Its subjects are kept (PostgreSQL) for the next export, by a connection of the export's own.
    assert KeptOdmSubject.objects.filter(study=study).exists() == (connection.vendor == "postgresql")
    assert signed_in.problems == []
