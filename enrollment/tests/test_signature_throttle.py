"""Wrong signature passwords are refused inside the service's transaction, which the refusal rolls
back: they still count against the signer's account (`trials.throttle`), which then locks signing,
sign-in and the account's API token alike."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from enrollment.models import Screening
from enrollment.tests.support import consent, create_screening
from trials.api_tokens import token_issue
from trials.models import PasswordFailureCount
from trials.tests.support import SIGNER_PASSWORD, client_for


@pytest.fixture
def screening(studies, coordinator):
    screening = create_screening(coordinator)
    consent(screening, coordinator)
    return screening


def test_wrong_signature_passwords_through_the_api_lock_the_account(client, screening, investigator, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    url = f"/api/v1/screenings/{screening.pk}/eligibility-confirmation/"
    api = client_for(investigator)
    for count in range(1, 4):
        refused = api.post(url, {"password": "not-the-password"}, format="json")
        assert refused.status_code == 403
        assert PasswordFailureCount.objects.get(key=f"account:{investigator.username}").count == count

    locked = api.post(url, {"password": SIGNER_PASSWORD}, format="json")
    assert locked.status_code == 403
    assert locked.json()["errors"]["detail"] == ["Too many wrong passwords: signing is locked for 15 minutes."]
    assert Screening.objects.get(pk=screening.pk).eligibility_confirmed_at is None
    assert client.post(reverse("login"), {"username": investigator.username,
                                          "password": SIGNER_PASSWORD}).status_code == 429
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(investigator).key}")
    assert token_client.get("/api/v1/studies/").status_code == 429


def test_a_right_signature_starts_the_count_again(screening, investigator, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    url = f"/api/v1/screenings/{screening.pk}/eligibility-confirmation/"
    api = client_for(investigator)
    for _ in range(2):
        assert api.post(url, {"password": "not-the-password"}, format="json").status_code == 403
    assert api.post(url, {"password": SIGNER_PASSWORD}, format="json").status_code == 201
    assert not PasswordFailureCount.objects.exists()
