"""`GET`/`POST /api/v1/participants/{id}/signature/`: the casebook's signature, whether it still
holds, and the investigator's sign-off with their password (`followup.signoff`)."""
import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from followup.models import CasebookSignature
from followup.tests.support import assess_labs
from trials.tests.support import SIGNER_PASSWORD, client_for, patch_current

MEANING = "I approve the data of this casebook as complete and accurate."
NOT_SIGNED = {"signed": False, "valid": False, "signed_by": None, "signed_by_name": None, "signed_at": None,
              "meaning": None, "changed_since": None}


def url(participant) -> str:
    return f"/api/v1/participants/{participant.pk}/signature/"


@pytest.fixture
def assessed(api, participant):
    assess_labs(api, participant, 1, ("PLT", 25, "10^9/L", None, None))
    return participant


def test_get_before_signing(api, assessed):
    response = api.get(url(assessed))
    assert response.status_code == 200 and response.json() == NOT_SIGNED


def test_investigator_signs_then_a_change_withdraws_it(api, assessed, investigator):
    before = timezone.now()
    response = client_for(investigator).post(url(assessed), {"password": SIGNER_PASSWORD}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("signed", "valid", "signed_by", "signed_by_name", "meaning", "changed_since")} == {
        "signed": True, "valid": True, "signed_by": investigator.username, "signed_by_name": investigator.username,
        "meaning": MEANING, "changed_since": None}
    assert parse_datetime(body["signed_at"]) >= before
    assert api.get(url(assessed)).json() == body  # every role of the site reads it

    assessment = assessed.assessments.get()
    patch_current(api, f"/api/v1/assessments/{assessment.pk}/", {"bleeding_grade": 2, "reason": "Re-read"},
                  format="json")
    withdrawn = api.get(url(assessed)).json()
    assert (withdrawn["signed"], withdrawn["valid"]) == (True, False)
    assert parse_datetime(withdrawn["changed_since"]) > parse_datetime(body["signed_at"])

    again = client_for(investigator).post(url(assessed), {"password": SIGNER_PASSWORD}, format="json").json()
    assert (again["valid"], again["changed_since"]) == (True, None)
    assert CasebookSignature.objects.count() == 2


def test_wrong_password_is_403_and_nothing_written(assessed, investigator):
    response = client_for(investigator).post(url(assessed), {"password": "not-mine"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"errors": {"detail": ["The password is not correct: the casebook was not signed."]}}
    assert CasebookSignature.objects.count() == 0


def test_missing_password_is_400(assessed, investigator):
    response = client_for(investigator).post(url(assessed), {}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["password"]
    assert CasebookSignature.objects.count() == 0


@pytest.mark.parametrize("role", ["coordinator", "monitor", "data_manager"])
def test_other_roles_are_403(assessed, make_user, role):
    response = client_for(make_user(role)).post(url(assessed), {"password": SIGNER_PASSWORD}, format="json")
    assert response.status_code == 403
    assert CasebookSignature.objects.count() == 0


def test_another_sites_participant_is_404(assessed, make_user):
    outsider = client_for(make_user("investigator", site="XH"))
    assert outsider.get(url(assessed)).status_code == 404
    assert outsider.post(url(assessed), {"password": SIGNER_PASSWORD}, format="json").status_code == 404
    assert CasebookSignature.objects.count() == 0
