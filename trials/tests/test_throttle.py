"""Wrong-password throttling (`trials.throttle`): per account and per client address, the address
taken from X-Forwarded-For only behind a trusted proxy; the password change page counted too;
sign-in without the cache."""
import socket
import threading

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from trials import throttle
from trials.models import PasswordFailureCount, Site
from trials.signatures import SignatureRefused, check_signature
from trials.tests.support import SIGNER_PASSWORD, require_service

PROXY = "10.0.0.1"
WRONG = "not-the-password"


@pytest.fixture
def behind_proxy(settings):
    """The documented deployment: every request arrives from the TLS proxy, which names the client."""
    settings.TRUSTED_PROXIES = [PROXY]
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_ADDRESS_FAILURE_LIMIT, settings.LOGIN_LOCK_SECONDS = 5, 100, 900


def sign_in(client, username, password, *, remote=PROXY, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


# --- the client address ------------------------------------------------------------------------

@pytest.mark.parametrize("remote, forwarded, trusted, expected", [
    ("198.51.100.7", None, [], "198.51.100.7"),
    ("198.51.100.7", "203.0.113.5", [], "198.51.100.7"),  # no trusted proxy: the header is ignored
    ("198.51.100.7", "203.0.113.5", [PROXY], "198.51.100.7"),  # not from the proxy: ignored
    (PROXY, "203.0.113.5", [PROXY], "203.0.113.5"),
    (PROXY, "1.2.3.4, 203.0.113.5", [PROXY], "203.0.113.5"),  # what the client put in front is not believed
    (PROXY, "203.0.113.5, 10.0.0.2", ["10.0.0.0/24"], "203.0.113.5"),  # through two trusted proxies
    (PROXY, "203.0.113.5, garbage", [PROXY], PROXY),  # a malformed entry: the proxy itself
    (PROXY, "", [PROXY], PROXY),
    ("2001:db8::1", "2001:db8:ffff::9", ["2001:db8::/64"], "2001:db8:ffff::9"),
])
def test_the_client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
        settings, remote, forwarded, trusted, expected):
    settings.TRUSTED_PROXIES = trusted
    extra = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})
    assert throttle.client_address(RequestFactory().post("/", **extra)) == expected


# --- sign-in -----------------------------------------------------------------------------------

def test_six_wrong_passwords_for_one_user_leave_another_signing_in_from_the_same_proxy(
        client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    make_user("coordinator", username="user-b", password="Battery-Staple-77")
    for _ in range(6):
        sign_in(client, "user-a", WRONG, forwarded="203.0.113.5")

    # User A is locked, wherever they come from, even with the right password.
    locked = sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.99")
    assert locked.status_code == 429 and not signed_in(locked)
    assert "Too many failed sign-ins. Sign-in is locked for 15 minutes" in locked.content.decode()
    assert 890 <= int(locked["Retry-After"]) <= 900
    # User B signs in through the same proxy, from another client and from the very same one.
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.20"))
    client.logout()
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.5"))


def test_without_a_trusted_proxy_one_address_still_does_not_lock_everyone(client, make_user, settings):
    settings.TRUSTED_PROXIES = []
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    make_user("coordinator", username="user-b", password="Battery-Staple-77")
    for _ in range(6):
        sign_in(client, "user-a", WRONG, remote="192.0.2.1")
    assert sign_in(client, "user-a", "Correct-Horse-88", remote="192.0.2.1").status_code == 429
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", remote="192.0.2.1"))


def test_the_user_name_is_counted_whatever_its_case_and_spaces(client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    for name in ["user-a", "USER-A", " User-A ", "user-a", "user-A"]:
        sign_in(client, name, WRONG, forwarded="203.0.113.5")
    assert sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.5").status_code == 429


def test_one_address_guessing_many_accounts_is_locked_at_the_address_limit(client, make_user, behind_proxy, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    make_user("coordinator", username="user-b", password="Battery-Staple-77")
    for number in range(8):  # never more than 4 per account: no account is locked
        sign_in(client, f"guess-{number % 2}", WRONG, forwarded="203.0.113.66")
    refused = sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.66")
    assert refused.status_code == 429 and not signed_in(refused)
    assert "Too many failed sign-ins from your network address" in refused.content.decode()
    # Everybody else behind the proxy signs in.
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.67"))


def test_a_spoofed_x_forwarded_for_from_an_untrusted_address_is_ignored(client, make_user, behind_proxy, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    make_user("coordinator", username="user-b", password="Battery-Staple-77")
    for number in range(8):  # a new forged address each time: all are counted against the real one
        sign_in(client, f"guess-{number % 2}", WRONG, remote="198.51.100.7", forwarded=f"203.0.113.{number}")
    assert PasswordFailureCount.objects.get(key="address:198.51.100.7").count == 8
    assert not PasswordFailureCount.objects.filter(key__startswith="address:203.").exists()
    assert sign_in(client, "user-b", "Battery-Staple-77", remote="198.51.100.7",
                   forwarded="203.0.113.200").status_code == 429
    # Nor can a forged header lock someone else's address.
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.3"))


def test_the_lock_ends_after_the_lock_period(client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    for _ in range(5):
        sign_in(client, "user-a", WRONG, forwarded="203.0.113.5")
    assert sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.5").status_code == 429
    PasswordFailureCount.objects.update(expires_at=PasswordFailureCount.objects.get(
        key="account:user-a").expires_at.replace(year=2000))
    assert signed_in(sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.5"))


def test_a_right_password_starts_the_account_count_again(client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    for _ in range(4):
        sign_in(client, "user-a", WRONG, forwarded="203.0.113.5")
    assert signed_in(sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.5"))
    assert not PasswordFailureCount.objects.filter(key="account:user-a").exists()
    assert PasswordFailureCount.objects.get(key="address:203.0.113.5").count == 4


def test_the_admin_sign_in_is_throttled_alike(client, make_user, behind_proxy):
    make_user("admin", username="boss", password="Correct-Horse-88")
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "boss", "password": WRONG}, REMOTE_ADDR=PROXY)
    response = client.post(reverse("admin:login"), {"username": "boss", "password": "Correct-Horse-88"},
                           REMOTE_ADDR=PROXY)
    assert response.status_code == 429 and "_auth_user_id" not in client.session


# --- one count per account: sign-in, signatures, password change --------------------------------

def test_wrong_signature_passwords_lock_sign_in_too(client, investigator, behind_proxy):
    for _ in range(5):
        with pytest.raises(SignatureRefused):
            check_signature(investigator, WRONG)
    assert sign_in(client, investigator.username, SIGNER_PASSWORD, forwarded="203.0.113.5").status_code == 429


def test_wrong_sign_ins_lock_signing_too(client, investigator, behind_proxy):
    for _ in range(5):
        sign_in(client, investigator.username, WRONG, forwarded="203.0.113.5")
    with pytest.raises(SignatureRefused, match="signing is locked for 15 minutes"):
        check_signature(investigator, SIGNER_PASSWORD)


def change_password(client, old, new="Battery-Staple-77"):
    return client.post(reverse("password_change"), {"old_password": old, "new_password1": new, "new_password2": new})


def test_the_password_change_is_locked_after_wrong_current_passwords(client, make_user, behind_proxy):
    user = make_user("investigator", password="Correct-Horse-88")
    client.force_login(user)
    for _ in range(5):
        assert change_password(client, WRONG).status_code == 200
    # The lock signs the session out (`trials.sessions`): its next request goes to sign-in.
    ended = change_password(client, "Correct-Horse-88")
    assert ended.status_code == 302 and ended["Location"].startswith(reverse("login"))
    client.force_login(user)  # a session begun after the lock (signing in with the password is refused)
    refused = change_password(client, "Correct-Horse-88")
    assert refused.status_code == 429
    assert "changing the password is locked for 15 minutes" in refused.content.decode()
    user.refresh_from_db()
    assert user.check_password("Correct-Horse-88")
    # The same count locks signing: the password is the signature.
    with pytest.raises(SignatureRefused, match="signing is locked"):
        check_signature(user, "Correct-Horse-88")


def test_a_refused_new_password_does_not_count(client, make_user, behind_proxy):
    user = make_user("investigator", password="Correct-Horse-88")
    client.force_login(user)
    for _ in range(6):
        assert change_password(client, "Correct-Horse-88", new="short").status_code == 200
    assert change_password(client, "Correct-Horse-88").status_code == 302


def test_the_admin_password_change_is_throttled_alike(admin_client, admin_user, behind_proxy):
    url = reverse("admin:password_change")
    for _ in range(5):
        admin_client.post(url, {"old_password": WRONG, "new_password1": "Battery-Staple-77",
                                "new_password2": "Battery-Staple-77"})
    ended = admin_client.post(url, {"old_password": SIGNER_PASSWORD, "new_password1": "Battery-Staple-77",
                                    "new_password2": "Battery-Staple-77"})
    assert ended.status_code == 302 and ended["Location"].startswith(reverse("admin:login"))
    admin_client.force_login(admin_user)  # a session begun after the lock
    refused = admin_client.post(url, {"old_password": SIGNER_PASSWORD, "new_password1": "Battery-Staple-77",
                                      "new_password2": "Battery-Staple-77"})
    assert refused.status_code == 429
    assert admin_client.post(url, {}).status_code == 429
    admin_user.refresh_from_db()
    assert admin_user.check_password(SIGNER_PASSWORD)


# --- without the cache ---------------------------------------------------------------------------

@pytest.fixture
def cache_unreachable():
    """The cache is a Redis server that does not answer (nothing listens on its port); the
    cache of the settings is back before the test's cache is cleared."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                               "LOCATION": f"redis://127.0.0.1:{port}/1"}}):
        with pytest.raises(RedisConnectionError):
            cache.get("anything")
        yield


def test_sign_in_works_and_is_throttled_without_the_cache(client, make_user, behind_proxy, cache_unreachable):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    make_user("coordinator", username="user-b", password="Battery-Staple-77")
    assert client.get(reverse("login")).status_code == 200
    for _ in range(5):
        assert sign_in(client, "user-a", WRONG, forwarded="203.0.113.5").status_code == 200
    assert sign_in(client, "user-a", "Correct-Horse-88", forwarded="203.0.113.5").status_code == 429
    assert signed_in(sign_in(client, "user-b", "Battery-Staple-77", forwarded="203.0.113.5"))


# --- an administrator unlocks an account ----------------------------------------------------------

def lock_out(username):
    for _ in range(5):
        sign_in(Client(), username, WRONG, forwarded="203.0.113.5")


def test_an_administrator_unlocks_an_account_of_their_site(admin_client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    lock_out("user-a")
    count = PasswordFailureCount.objects.get(key="account:user-a")
    listing = admin_client.get(reverse("admin:trials_passwordfailurecount_changelist"))
    assert listing.status_code == 200 and "account:user-a" in listing.content.decode()
    assert "address:203.0.113.5" not in listing.content.decode()  # superusers only
    delete = reverse("admin:trials_passwordfailurecount_delete", args=[count.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302  # no reason: nothing deleted
    assert PasswordFailureCount.objects.filter(pk=count.pk).exists()
    assert admin_client.post(delete, {"post": "yes", "change_reason": "Called the ward"}).status_code == 302
    assert signed_in(sign_in(Client(), "user-a", "Correct-Horse-88", forwarded="203.0.113.5"))


def test_an_administrator_of_another_site_cannot_unlock(client, make_user, behind_proxy):
    make_user("coordinator", username="user-a", password="Correct-Horse-88")
    lock_out("user-a")
    count = PasswordFailureCount.objects.get(key="account:user-a")
    Site.objects.create(code="XH", name="Other hospital")
    client.force_login(make_user("admin", site="XH"))
    listing = client.get(reverse("admin:trials_passwordfailurecount_changelist"))
    assert listing.status_code == 200 and "account:user-a" not in listing.content.decode()
    client.post(reverse("admin:trials_passwordfailurecount_delete", args=[count.pk]),
                {"post": "yes", "change_reason": "Called the ward"})
    assert PasswordFailureCount.objects.filter(pk=count.pk).exists()
    client.force_login(make_user("monitor"))
    assert client.get(reverse("admin:trials_passwordfailurecount_changelist")).status_code == 302


# --- concurrent failures --------------------------------------------------------------------------

@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_passwords_are_all_counted(settings):
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://...)")
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_ADDRESS_FAILURE_LIMIT = 50, 100
    contenders = 8
    barrier = threading.Barrier(contenders)

    def fail():
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                throttle.failed("account:raced", "address:203.0.113.9")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fail) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    counts = dict(PasswordFailureCount.objects.values_list("key", "count"))
    assert counts == {"account:raced": 40, "address:203.0.113.9": 40}
