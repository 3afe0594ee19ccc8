"""The export endpoints and the Exports page (`followup.api.exports`, `followup.export_views`):
202 with a status URL, then done, then the download; refusals by role, sign-in and site."""
import pytest
from rest_framework.test import APIClient

from followup.export_models import Export
from trials.tests.support import client_for

from .export_support import fixture_study, read_zip


@pytest.fixture
def study(api, woman, coordinator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return fixture_study(api, woman, coordinator)


def start(client, study, fmt="csv", **params):
    return client.get(f"/api/v1/studies/{study.code}/export/", {"format": fmt, **params})


@pytest.mark.django_db(transaction=True)
def test_an_export_answers_202_then_done_then_downloads(study, investigator):
    client = client_for(investigator)
    response = start(client, study)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status_url"].endswith(f"/api/v1/exports/{body['id']}/")
    status = client.get(body["status_url"]).json()
    assert (status["state"], status["progress"], status["data_locked"], status["sites"]) == ("done", 100, False,
                                                                                            "PUMCH")
    assert status["rows"] > 0 and status["requested_by"] == investigator.username
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith("attachment; filename=\"HUCMSC-ITP-ESC-")
    files = read_zip(b"".join(download.streaming_content))
    assert len(files["participants.csv"]) == 1
    # The same request again hands out the finished file; `fresh=1` starts another export.
    again = start(client, study)
    assert again.status_code == 200 and again["Content-Type"] == "application/zip"
    assert start(client, study, fresh="1").status_code == 202
    assert Export.objects.filter(study=study).count() == 2


def test_a_coordinator_is_refused(study, coordinator):
    client = client_for(coordinator)
    response = start(client, study)
    assert response.status_code == 403
    assert not Export.objects.exists()


def test_signing_in_is_required(study):
    assert start(APIClient(), study).status_code == 401


@pytest.mark.parametrize("role", ["monitor", "data_manager", "admin"])
def test_the_roles_that_export(study, make_user, role, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client_for(make_user(role)), study, "xlsx")
    assert response.status_code == 202
    assert Export.objects.get().state == "done"


def test_an_unknown_format_is_400(study, investigator):
    response = start(client_for(investigator), study, "pdf")
    assert response.status_code == 400
    assert response.json()["errors"]["format"] == ["Choose one of csv, xlsx, odm."]


def test_another_sites_study_and_export_are_404(study, other_site_study, make_user, investigator,
                                                django_capture_on_commit_callbacks):
    client = client_for(investigator)
    assert start(client, other_site_study).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        export_id = start(client, study).json()["id"]
    stranger = client_for(make_user("investigator", site="XH"))
    assert stranger.get(f"/api/v1/exports/{export_id}/").status_code == 404
    assert stranger.get(f"/api/v1/exports/{export_id}/download/").status_code == 404
    assert client_for(make_user("coordinator")).get(f"/api/v1/exports/{export_id}/").status_code == 404


def test_a_download_before_the_end_is_409(study, investigator):
    response = start(client_for(investigator), study)  # queued: the commit never comes in this test
    download = client_for(investigator).get(f"/api/v1/exports/{response.json()['id']}/download/")
    assert download.status_code == 409
    assert download.json()["errors"]["state"] == ["The export is not finished (Queued)."]


def test_the_page_starts_an_export_and_lists_it(client, study, investigator, django_capture_on_commit_callbacks):
    client.force_login(investigator)
    assert 'data-testid="exports-link"' in client.get(f"/studies/{study.code}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/studies/{study.code}/exports/", {"format": "csv"})
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?export={export.pk}")
    page = client.get(response["Location"]).content.decode()
    assert f'data-export-status-url="/api/v1/exports/{export.pk}/"' in page
    assert 'value="100"' in page and f'href="/api/v1/exports/{export.pk}/download/"' in page
    assert f'data-export="{export.pk}"' in page and investigator.username in page
    assert "<script>" not in page and "js/export-progress.js" in page


def test_the_page_is_refused_to_a_coordinator(client, study, coordinator):
    client.force_login(coordinator)
    assert 'data-testid="exports-link"' not in client.get(f"/studies/{study.code}/").content.decode()
    assert client.get(f"/studies/{study.code}/exports/").status_code == 403
    assert client.post(f"/studies/{study.code}/exports/", {"format": "csv"}).status_code == 403
    assert not Export.objects.exists()
