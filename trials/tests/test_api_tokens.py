"""API tokens: they expire (API_TOKEN_DAYS), their user and an administrator revoke them, and a
locked account's token is refused; the API schema and docs without signing in per setting."""
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from trials.api_tokens import token_issue
from trials.models import PasswordFailureCount, Site
from trials.signatures import SignatureRefused, check_signature

STUDIES = "/api/v1/studies/"
WRONG = "not-the-password"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def errors(response) -> list[str]:
    return response.json()["errors"]["detail"]


@pytest.fixture
def coordinator_token(studies, coordinator):
    return token_issue(coordinator)


def test_a_valid_token_is_accepted(coordinator_token):
    assert with_token(coordinator_token.key).get(STUDIES).status_code == 200


def test_an_expired_token_is_refused(coordinator_token, settings):
    settings.API_TOKEN_DAYS = 90
    Token.objects.filter(pk=coordinator_token.pk).update(created=timezone.now() - timedelta(days=90, seconds=1))
    refused = with_token(coordinator_token.key).get(STUDIES)
    assert refused.status_code == 401
    assert errors(refused) == ["This API token has expired: make a new one on your API token page."]
    Token.objects.filter(pk=coordinator_token.pk).update(created=timezone.now() - timedelta(days=89))
    assert with_token(coordinator_token.key).get(STUDIES).status_code == 200


def test_add_user_replaces_an_expired_token_and_keeps_a_valid_one(studies, coordinator, capsys):
    def printed() -> str:
        call_command("add_user", coordinator.username, "--role", "coordinator", "--site", "PUMCH", "--token")
        return capsys.readouterr().out.strip().splitlines()[-1]

    first = printed()
    assert printed() == first
    Token.objects.filter(key=first).update(created=timezone.now() - timedelta(days=365))
    renewed = printed()
    assert renewed != first and Token.objects.filter(user=coordinator).get().key == renewed


def test_a_locked_accounts_token_is_refused_while_it_is_locked(client, studies, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    user_a, user_b = make_user("investigator", username="user-a"), make_user("investigator", username="user-b")
    token_a, token_b = token_issue(user_a), token_issue(user_b)
    for _ in range(6):
        client.post(reverse("login"), {"username": "user-a", "password": WRONG})
    refused = with_token(token_a.key).get(STUDIES)
    assert refused.status_code == 429
    assert errors(refused)[0].startswith("Too many wrong passwords for this account: it is locked, its API token "
                                         "too, for 15 minutes.")
    assert 890 <= int(refused["Retry-After"]) <= 900
    assert with_token(token_b.key).get(STUDIES).status_code == 200
    # Once the lock has ended the token is accepted again.
    PasswordFailureCount.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert with_token(token_a.key).get(STUDIES).status_code == 200


def test_wrong_signature_passwords_lock_the_token_too(studies, investigator, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    token = token_issue(investigator)
    for _ in range(3):
        with pytest.raises(SignatureRefused):
            check_signature(investigator, WRONG)
    assert with_token(token.key).get(STUDIES).status_code == 429


# --- revocation by the user ----------------------------------------------------------------------

def test_the_user_revokes_their_token_through_the_api(coordinator_token):
    client = with_token(coordinator_token.key)
    state = client.get("/api/v1/auth/token/")
    assert state.status_code == 200
    assert state.json()["expires"] is not None
    assert client.delete("/api/v1/auth/token/").status_code == 204
    refused = client.get(STUDIES)
    assert refused.status_code == 401
    assert not Token.objects.filter(pk=coordinator_token.pk).exists()


def test_the_token_endpoint_needs_a_signed_in_user_and_a_token(studies, coordinator):
    assert APIClient().delete("/api/v1/auth/token/").status_code == 401
    client = APIClient()
    client.force_authenticate(coordinator)
    assert client.get("/api/v1/auth/token/").status_code == 404
    assert client.delete("/api/v1/auth/token/").status_code == 404


def test_the_token_page_makes_shows_and_revokes_the_users_token(client, studies, coordinator, settings):
    settings.API_TOKEN_DAYS = 30
    client.force_login(coordinator)
    page = client.get(reverse("api_token"))
    assert page.status_code == 200
    assert "You have no API token. A new token is valid for 30 days." in page.content.decode()

    made = client.post(reverse("api_token"), {"action": "create"})
    token = Token.objects.get(user=coordinator)
    assert made.status_code == 200 and token.key in made.content.decode()
    assert with_token(token.key).get(STUDIES).status_code == 200
    shown = client.get(reverse("api_token")).content.decode()
    assert token.key not in shown and "expires on" in shown

    replaced = client.post(reverse("api_token"), {"action": "create"})
    new = Token.objects.get(user=coordinator)
    assert new.key != token.key and new.key in replaced.content.decode()
    assert with_token(token.key).get(STUDIES).status_code == 401

    revoked = client.post(reverse("api_token"), {"action": "revoke"}, follow=True)
    assert "Your API token was revoked" in revoked.content.decode()
    assert not Token.objects.filter(user=coordinator).exists()
    assert with_token(new.key).get(STUDIES).status_code == 401


def test_the_token_page_needs_sign_in(client, studies):
    response = client.get(reverse("api_token"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.post(reverse("api_token"), {"action": "create"}).status_code == 302
    assert not Token.objects.exists()


# --- revocation by an administrator --------------------------------------------------------------

def admin_token_url(token, action="change") -> str:
    return reverse(f"admin:authtoken_tokenproxy_{action}", args=[token.user_id])


def test_an_administrator_revokes_a_token_of_their_site(admin_client, coordinator_token):
    listing = admin_client.get(reverse("admin:authtoken_tokenproxy_changelist"))
    assert listing.status_code == 200 and coordinator_token.user.username in listing.content.decode()
    assert coordinator_token.key not in listing.content.decode()
    confirm = admin_client.get(admin_token_url(coordinator_token, "delete"))
    assert f"API token of {coordinator_token.user.username}" in confirm.content.decode()
    assert coordinator_token.key not in confirm.content.decode()
    assert admin_client.post(admin_token_url(coordinator_token, "delete"), {"post": "yes"}).status_code == 302
    assert Token.objects.filter(pk=coordinator_token.pk).exists()  # refused without a reason
    assert admin_client.post(admin_token_url(coordinator_token, "delete"),
                             {"post": "yes", "change_reason": "Left the study team"}).status_code == 302
    assert coordinator_token.key not in str(LogEntry.objects.values_list("object_repr", flat=True).get())
    assert not Token.objects.filter(pk=coordinator_token.pk).exists()
    assert with_token(coordinator_token.key).get(STUDIES).status_code == 401


def test_an_administrator_of_another_site_neither_sees_nor_revokes_the_token(client, make_user, coordinator_token):
    Site.objects.create(code="XH", name="Other hospital")
    client.force_login(make_user("admin", site="XH"))
    listing = client.get(reverse("admin:authtoken_tokenproxy_changelist"))
    assert listing.status_code == 200 and coordinator_token.user.username not in listing.content.decode()
    client.post(admin_token_url(coordinator_token, "delete"), {"post": "yes", "change_reason": "Left the team"})
    assert Token.objects.filter(pk=coordinator_token.pk).exists()


def test_other_roles_have_no_token_administration(client, studies, make_user, coordinator_token):
    client.force_login(make_user("monitor"))
    assert client.get(reverse("admin:authtoken_tokenproxy_changelist")).status_code == 302  # admin sign-in
    client.post(admin_token_url(coordinator_token, "delete"), {"post": "yes", "change_reason": "Left the team"})
    assert Token.objects.filter(pk=coordinator_token.pk).exists()


# --- the schema and docs without signing in --------------------------------------------------------

@pytest.mark.parametrize("public", [True, False])
def test_the_schema_and_docs_without_signing_in_follow_the_setting(client, studies, settings, public):
    settings.API_SCHEMA_PUBLIC = public
    schema = client.get(reverse("api-schema"))
    docs = client.get(reverse("api-docs"))
    if public:
        assert schema.status_code == 200 and b"openapi" in schema.content
        assert docs.status_code == 200
    else:
        assert schema.status_code == 401
        assert docs.status_code == 302 and docs["Location"].startswith(reverse("login"))
        assert client.get(reverse("api-docs") + "?script=").status_code == 401


def test_a_signed_in_user_reads_the_schema_and_docs_whatever_the_setting(client, studies, coordinator_token,
                                                                        settings):
    settings.API_SCHEMA_PUBLIC = False
    assert with_token(coordinator_token.key).get(reverse("api-schema")).status_code == 200
    client.force_login(coordinator_token.user)
    assert client.get(reverse("api-docs")).status_code == 200
    assert client.get(reverse("api-schema")).status_code == 200


def test_an_admin_views_a_token_without_its_key(admin_client, coordinator_token):
    page = admin_client.get(admin_token_url(coordinator_token))
    assert page.status_code == 200
    assert coordinator_token.user.username in page.content.decode()
    assert coordinator_token.key not in page.content.decode()
