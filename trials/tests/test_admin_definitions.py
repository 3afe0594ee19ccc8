"""The study administration's definition tools: download, copy, upload (trials/admin_definitions.py)."""
import io
import json

import pytest
import yaml
from django.urls import reverse

from trials.definitions import study_definition
from trials.models import Study
from trials.services import STUDIES_DIR


def definition_of(code: str) -> dict:
    return study_definition(Study.objects.get(code=code))


def test_an_administrator_downloads_the_definition_the_api_gives(admin_client):
    study = Study.objects.get(code="MSC-ITP-5")

    page = admin_client.get(reverse("admin:trials_study_change", args=[study.pk])).content.decode()
    response = admin_client.get(reverse("admin:trials_study_definition", args=[study.pk]))

    assert 'data-testid="study-download-definition"' in page and 'data-testid="study-copy"' in page
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="MSC-ITP-5.json"'
    assert json.loads(response.content) == definition_of("MSC-ITP-5")


def test_an_administrator_copies_a_study_under_a_new_code(admin_client, admin_user):
    study = Study.objects.get(code="UCB-IRIC")

    response = admin_client.post(reverse("admin:trials_study_copy", args=[study.pk]),
                                 {"code": "UCB-IRIC-V2", "title": "", "reason": "Protocol amendment 2"})

    copy = Study.objects.get(code="UCB-IRIC-V2")
    assert response.status_code == 302 and response["Location"] == reverse("admin:trials_study_change",
                                                                           args=[copy.pk])
    assert definition_of("UCB-IRIC-V2") == {**definition_of("UCB-IRIC"), "code": "UCB-IRIC-V2"}
    assert {(row.history_user, row.history_change_reason) for row in copy.history.all()} == {
        (admin_user, "Protocol amendment 2")}


def test_a_copy_under_a_code_already_taken_is_refused_on_the_code_field(admin_client):
    study = Study.objects.get(code="UCB-IRIC")
    count = Study.objects.count()

    response = admin_client.post(reverse("admin:trials_study_copy", args=[study.pk]),
                                 {"code": "MSC-ITP-5", "title": "", "reason": "Amendment"})

    assert response.status_code == 200
    assert "A study MSC-ITP-5 exists already" in " ".join(response.context["form"].errors["code"])
    assert Study.objects.count() == count


def test_an_administrator_creates_a_study_from_an_uploaded_file(admin_client):
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    upload = io.BytesIO(yaml.safe_dump({**data, "code": "MSC-UPLOADED"}).encode())
    upload.name = "MSC-UPLOADED.yaml"

    listing = admin_client.get(reverse("admin:trials_study_changelist")).content.decode()
    response = admin_client.post(reverse("admin:trials_study_upload_definition"),
                                 {"definition": upload, "reason": "New protocol"})

    assert 'data-testid="study-upload-definition"' in listing
    assert response.status_code == 302
    assert definition_of("MSC-UPLOADED") == {**definition_of("MSC-ITP-5"), "code": "MSC-UPLOADED"}


@pytest.mark.parametrize(("content", "message"), [
    (b"code: [unclosed", "The file is not YAML or JSON text."),
    (b"- a list", "The file is not a study definition"),
    (b"code: NEW-1\ntitel: typo\n", "study NEW-1: unknown key(s) titel"),
])
def test_an_upload_that_is_not_a_valid_definition_is_refused_and_creates_nothing(admin_client, content, message):
    upload = io.BytesIO(content)
    upload.name = "study.yaml"
    count = Study.objects.count()

    response = admin_client.post(reverse("admin:trials_study_upload_definition"),
                                 {"definition": upload, "reason": "New protocol"})

    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join([*form.errors.get("definition", []), *form.non_field_errors()])
    assert Study.objects.count() == count


def test_another_sites_administrator_can_neither_download_nor_copy(client, studies, make_user):
    client.force_login(make_user("admin", site="XH"))
    study = Study.objects.get(code="MSC-ITP-5")

    assert client.get(reverse("admin:trials_study_definition", args=[study.pk])).status_code == 404
    assert client.post(reverse("admin:trials_study_copy", args=[study.pk]),
                       {"code": "STOLEN", "reason": "x"}).status_code == 404
    assert not Study.objects.filter(code="STOLEN").exists()


def test_a_coordinator_has_no_study_administration(client, studies, coordinator):
    client.force_login(coordinator)
    study = Study.objects.get(code="MSC-ITP-5")

    response = client.get(reverse("admin:trials_study_definition", args=[study.pk]))

    assert response.status_code == 302 and "/admin/login/" in response["Location"]
