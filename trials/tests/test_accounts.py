"""Users: add_user, sign-in, throttling, session expiry, password change."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from trials.accounts import ADMIN_GROUP, user_upsert
from trials.models import PasswordFailureCount, Site, SiteMembership

User = get_user_model()


def test_add_user_creates_a_user_with_role_at_site_and_prints_the_token_last(studies, capsys):
    call_command("add_user", "wang", "--role", "coordinator", "--site", "PUMCH", "--password", "Correct-Horse-88",
                 "--token")
    lines = capsys.readouterr().out.strip().splitlines()
    user = User.objects.get(username="wang")
    assert lines[-1] == Token.objects.get(user=user).key
    assert lines[0] == "Created wang: coordinator at PUMCH."
    assert list(SiteMembership.objects.filter(user=user).values_list("site__code", "role")) == [
        ("PUMCH", "coordinator")]
    assert user.check_password("Correct-Horse-88")
    assert not user.is_staff


def test_add_user_again_updates_the_role_and_keeps_the_token(studies, capsys):
    call_command("add_user", "li", "--role", "coordinator", "--site", "PUMCH", "--password", "Correct-Horse-88",
                 "--token")
    first_token = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("add_user", "li", "--role", "admin", "--site", "PUMCH", "--token")
    out = capsys.readouterr().out.strip().splitlines()
    user = User.objects.get(username="li")
    assert out[0] == "Updated li: admin at PUMCH."
    assert out[-1] == first_token
    assert SiteMembership.objects.get(user=user).role == "admin"
    assert user.is_staff and user.groups.filter(name=ADMIN_GROUP).exists()
    assert user.check_password("Correct-Horse-88")


def test_add_user_without_password_prints_a_generated_one(studies, capsys):
    call_command("add_user", "zhao", "--role", "monitor", "--site", "PUMCH")
    out = capsys.readouterr().out
    password = out.split("Password: ")[1].split()[0]
    assert User.objects.get(username="zhao").check_password(password)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--site", "NOWHERE", "--role", "monitor"], "Unknown site 'NOWHERE' (known sites: PUMCH)."),
        (["--site", "PUMCH", "--role", "monitor", "--password", "short"],
         "Password refused: This password is too short."),
    ],
)
def test_add_user_refuses_bad_input_with_a_clear_message(studies, args, message):
    with pytest.raises(CommandError) as caught:
        call_command("add_user", "bad", *args)
    assert str(caught.value).startswith(message)
    assert not User.objects.filter(username="bad").exists()


def test_seed_demo_is_refused_with_debug_off(studies, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refused with DEBUG off"):
        call_command("seed_demo")


def test_seed_demo_creates_one_account_per_role(studies, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    roles = dict(SiteMembership.objects.filter(site__code="PUMCH").values_list("user__username", "role"))
    assert roles == {"coordinator": "coordinator", "investigator": "investigator", "monitor": "monitor",
                     "datamanager": "data_manager", "admin": "admin"}
    assert "password: Harbour-Lantern-58" in capsys.readouterr().out


def test_sign_in_and_out(client, make_user):
    make_user("coordinator", username="chen", password="Correct-Horse-88")
    response = client.post(reverse("login"), {"username": "chen", "password": "Correct-Horse-88"})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_failed_sign_ins_lock_the_account_even_with_the_right_password(client, make_user, settings):
    make_user("coordinator", username="sun", password="Correct-Horse-88")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert client.post(reverse("login"), {"username": "sun", "password": "wrong"}).status_code == 200
    response = client.post(reverse("login"), {"username": "sun", "password": "Correct-Horse-88"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_below_the_failure_limit_succeeds_and_resets_the_count(client, make_user, settings):
    make_user("coordinator", username="zhou", password="Correct-Horse-88")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": "zhou", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "zhou", "password": "Correct-Horse-88"})
    assert response.status_code == 302
    assert not PasswordFailureCount.objects.filter(key="account:zhou").exists()


def test_session_expires_after_inactivity(client, make_user, settings):
    client.force_login(make_user("monitor"))
    assert client.get(reverse("home")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_activity_pushes_the_expiry_back_at_most_once_a_minute(client, make_user, settings):
    client.force_login(make_user("monitor"))
    Session.objects.update(expire_date=timezone.now() + timedelta(seconds=60))
    client.get(reverse("home"))
    renewed = Session.objects.get().expire_date
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    client.get(reverse("home"))
    assert Session.objects.get().expire_date == renewed


def test_activity_after_the_renewal_interval_renews_again(client, make_user, settings):
    client.force_login(make_user("monitor"))
    client.get(reverse("home"))
    session = client.session
    session["_last_renewal"] -= settings.SESSION_RENEW_SECONDS
    session.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(seconds=60))
    client.get(reverse("home"))
    assert Session.objects.get().expire_date > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_password_change(client, make_user):
    user = make_user("investigator", password="Correct-Horse-88")
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": "Correct-Horse-88", "new_password1": "Battery-Staple-77", "new_password2": "Battery-Staple-77"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Battery-Staple-77")


def test_password_change_refuses_a_wrong_old_password(client, make_user):
    user = make_user("investigator", password="Correct-Horse-88")
    client.force_login(user)
    response = client.post(reverse("password_change"), {
        "old_password": "nope", "new_password1": "Battery-Staple-77", "new_password2": "Battery-Staple-77"})
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors


def test_a_role_at_another_site_keeps_administration_rights(studies):
    Site.objects.create(code="XH", name="Other hospital")
    user_upsert(username="ma", role="admin", site_code="PUMCH", password="Correct-Horse-88")
    user = user_upsert(username="ma", role="coordinator", site_code="XH").user
    assert user.is_staff and user.groups.filter(name=ADMIN_GROUP).exists()
    roles = dict(SiteMembership.objects.filter(user=user).values_list("site__code", "role"))
    assert roles == {"PUMCH": "admin", "XH": "coordinator"}
