"""The audit trail of user accounts: history of the account (never its password), its events
(passwords, API tokens, locks), the account's audit page, and sessions that end when the account is
locked or its access is taken away."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from trials.accounts import ADMIN_GROUP
from trials.auth_models import AccountEvent, AccountEventKind, AppendOnly
from trials.api_tokens import token_issue, token_revoke
from trials.audit import AuditReasonRequired, audited_save, change_context
from trials.models import Site, SiteMembership
from trials.tests.support import SIGNER_PASSWORD

User = get_user_model()
HOME = "/"
WRONG = "not-the-password"


def history_of(user):
    return list(User.history.filter(id=user.pk).order_by("history_date", "history_id"))


def events_of(user):
    return list(AccountEvent.objects.filter(user=user).order_by("at", "pk").values_list("kind", "by__username",
                                                                                           "reason"))


def audit_url(user) -> str:
    return reverse("admin:auth_user_audit", args=[user.pk])


# --- history of the account -----------------------------------------------------------------------

def test_the_history_never_holds_the_password_nor_the_last_sign_in():
    fields = {field.name for field in User.history.model._meta.fields}
    assert "password" not in fields and "last_login" not in fields
    assert {"is_active", "is_staff", "is_superuser", "username"} <= fields


def test_a_change_is_recorded_with_its_user_and_reason(studies, coordinator, admin_user):
    coordinator.first_name = "Wei"
    coordinator.is_active = False
    audited_save(coordinator, by=admin_user, reason="Left the hospital")

    latest = history_of(coordinator)[-1]
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~", admin_user, "Left the hospital")
    assert (latest.first_name, latest.is_active) == ("Wei", False)


def test_a_plain_save_of_a_real_change_is_refused(studies, coordinator):
    coordinator.is_superuser = True
    with pytest.raises(AuditReasonRequired):
        coordinator.save()
    assert not User.objects.get(pk=coordinator.pk).is_superuser


def test_a_password_change_writes_no_history_row_and_is_an_event(studies, coordinator, admin_user):
    before = len(history_of(coordinator))
    coordinator.set_password("Battery-Staple-77")
    with change_context(by=admin_user, reason="Forgot it"):
        coordinator.save()

    assert len(history_of(coordinator)) == before
    assert events_of(coordinator)[-1] == (AccountEventKind.PASSWORD_CHANGED, admin_user.username, "Forgot it")
    hashed = User.objects.get(pk=coordinator.pk).password
    assert not any(hashed in str(value) for row in User.history.values() for value in row.values())


def test_a_password_set_by_other_code_needs_no_reason_and_is_the_systems_event(studies, coordinator):
    """As Django's `changepassword` command does it."""
    coordinator.set_password("Battery-Staple-77")
    coordinator.save()
    assert events_of(coordinator)[-1] == (AccountEventKind.PASSWORD_CHANGED, None, "Password changed")
    coordinator.check_password("Battery-Staple-77")  # an upgrade of the hash is no change
    assert len(events_of(coordinator)) == 1


def test_signing_in_works_and_writes_no_history_row(studies, make_user):
    user = make_user("coordinator", password="Correct-Horse-88")
    before = len(history_of(user))
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": "Correct-Horse-88"})

    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert User.objects.get(pk=user.pk).last_login is not None
    assert len(history_of(user)) == before


def test_add_user_again_with_another_role_and_password_is_recorded(studies, capsys):
    call_command("add_user", "li", "--role", "coordinator", "--site", "PUMCH", "--password", "Correct-Horse-88")
    user = User.objects.get(username="li")
    created = history_of(user)
    assert [(row.history_type, row.history_change_reason) for row in created] == [
        ("+", "Account created by add_user")]

    call_command("add_user", "li", "--role", "admin", "--site", "PUMCH", "--password", "Battery-Staple-77")
    rows = history_of(user)[len(created):]
    assert [(row.history_type, row.history_change_reason) for row in rows] == [
        ("~", "Follows the administrator role"), ("~", "Follows the administrator role")]
    assert rows[0].is_staff and not created[0].is_staff
    assert list(rows[1].groups.values_list("group__name", flat=True)) == [ADMIN_GROUP]
    assert (AccountEventKind.PASSWORD_CHANGED, None, "Password set by add_user") in events_of(user)
    membership = SiteMembership.history.filter(user_id=user.pk).latest("history_date")
    assert membership.history_change_reason == "Role changed to admin"


def test_add_user_unchanged_writes_nothing(studies, capsys):
    call_command("add_user", "zhao", "--role", "monitor", "--site", "PUMCH", "--password", "Correct-Horse-88")
    user = User.objects.get(username="zhao")
    rows, events = len(history_of(user)), len(events_of(user))
    call_command("add_user", "zhao", "--role", "monitor", "--site", "PUMCH")
    assert (len(history_of(user)), len(events_of(user))) == (rows, events)


# --- API tokens: events with the key's first characters only ----------------------------------------

def test_tokens_made_and_revoked_are_events_without_their_key(studies, coordinator, admin_user):
    first = token_issue(coordinator, by=coordinator, reason="For the lab script")
    first_key = first.key
    second = token_issue(coordinator, by=coordinator)
    token_revoke(coordinator, by=admin_user, reason="Script retired")

    rows = list(AccountEvent.objects.filter(user=coordinator).order_by("at", "pk").values_list(
        "kind", "by__username", "token_prefix"))
    assert rows == [
        (AccountEventKind.TOKEN_CREATED, coordinator.username, first_key[:6]),
        (AccountEventKind.TOKEN_REVOKED, coordinator.username, first_key[:6]),
        (AccountEventKind.TOKEN_CREATED, coordinator.username, second.key[:6]),
        (AccountEventKind.TOKEN_REVOKED, admin_user.username, second.key[:6]),
    ]
    stored = [str(value) for row in AccountEvent.objects.values() for value in row.values()]
    assert not any(key in value for key in (first_key, second.key) for value in stored)


def test_an_expired_token_replaced_by_add_user_is_recorded_as_expired(studies, coordinator, capsys):
    old = token_issue(coordinator, by=coordinator)
    old_key = old.key
    Token.objects.filter(pk=old_key).update(created=old.created - timedelta(days=365))
    call_command("add_user", coordinator.username, "--role", "coordinator", "--site", "PUMCH", "--token")
    new_key = capsys.readouterr().out.strip().splitlines()[-1]

    rows = list(AccountEvent.objects.filter(user=coordinator).order_by("at", "pk").values_list(
        "kind", "by", "reason", "token_prefix"))
    assert rows[-2:] == [(AccountEventKind.TOKEN_EXPIRED, None, "Replaced once expired", old_key[:6]),
                         (AccountEventKind.TOKEN_CREATED, None, "Made by add_user", new_key[:6])]


def test_an_account_event_is_never_changed_or_deleted(studies, coordinator):
    event = token_issue(coordinator, by=coordinator) and AccountEvent.objects.get(user=coordinator)
    event.reason = "rewritten"
    with pytest.raises(AppendOnly):
        event.save()
    with pytest.raises(AppendOnly):
        event.delete()
    with pytest.raises(AppendOnly):
        AccountEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(AppendOnly):
        AccountEvent.objects.filter(pk=event.pk).delete()


# --- the account's audit page ---------------------------------------------------------------------

def test_the_audit_page_shows_names_reasons_and_events_but_no_key(admin_client, admin_user, coordinator):
    token = token_issue(coordinator, by=coordinator, reason="For the lab script")
    coordinator.first_name = "Wei"
    audited_save(coordinator, by=admin_user, reason="Name corrected")
    with change_context(by=admin_user, reason="Joins the study team"):
        User.objects.get(pk=coordinator.pk).groups.add(Group.objects.get(name=ADMIN_GROUP))

    page = admin_client.get(audit_url(coordinator))
    text = page.content.decode()
    assert page.status_code == 200
    for shown in ("Name corrected", admin_user.username, "API token made", "For the lab script", token.key[:6],
                  ADMIN_GROUP, "Joins the study team", "User added to the site", "Coordinator at PUMCH"):
        assert shown in text, shown
    assert token.key not in text
    assert User.objects.get(pk=coordinator.pk).password not in text


def test_the_token_list_links_to_the_audit_page(admin_client, coordinator):
    token_issue(coordinator, by=coordinator)
    assert audit_url(coordinator) in admin_client.get(reverse("admin:authtoken_tokenproxy_changelist")).content.decode()


def test_the_user_and_membership_lists_link_to_the_audit_page(superuser_client, coordinator):
    _root, client = superuser_client
    for listing in ("admin:auth_user_changelist", "admin:trials_sitemembership_changelist"):
        assert audit_url(coordinator) in client.get(reverse(listing)).content.decode()
    assert client.get(audit_url(coordinator)).status_code == 200


def test_the_audit_page_refuses_other_sites_administrators_and_other_roles(client, make_user, coordinator):
    Site.objects.create(code="XH", name="Other hospital")
    client.force_login(make_user("admin", site="XH"))
    assert client.get(audit_url(coordinator)).status_code == 404

    client.force_login(make_user("monitor"))
    refused = client.get(audit_url(coordinator))
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("admin:login"))

    staff_monitor = make_user("monitor")
    staff_monitor.is_staff = True
    with change_context(by=None, reason="Test: staff without the administrator role"):
        staff_monitor.save()
    client.force_login(staff_monitor)
    assert client.get(audit_url(coordinator)).status_code == 403


# --- sessions end --------------------------------------------------------------------------------

@pytest.fixture
def signed_in(studies, make_user):
    user = make_user("coordinator", password="Correct-Horse-88")
    client = Client()
    assert client.post(reverse("login"), {"username": user.username, "password": "Correct-Horse-88"}).status_code == 302
    assert client.get(HOME).status_code == 200
    return user, client


def test_a_locked_accounts_session_is_signed_out_on_its_next_request(signed_in, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    user, client = signed_in
    for _ in range(5):
        Client().post(reverse("login"), {"username": user.username, "password": WRONG})

    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session
    assert events_of(user)[-1] == (AccountEventKind.LOCKED, None, "Too many wrong passwords")
    assert [kind for kind, _by, _reason in events_of(user)].count(AccountEventKind.LOCKED) == 1


def test_a_deactivated_account_is_signed_out_and_stays_so_once_reactivated(signed_in, admin_user):
    user, client = signed_in
    token = token_issue(user, by=user)
    user.is_active = False
    audited_save(user, by=admin_user, reason="Left the hospital")
    assert client.get(HOME).status_code == 302
    assert not Token.objects.filter(pk=token.pk).exists()

    user.is_active = True
    audited_save(user, by=admin_user, reason="Came back")
    response = client.get(HOME)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    kinds = [kind for kind, _by, _reason in events_of(user)]
    assert kinds[-2:] == [AccountEventKind.SESSIONS_ENDED, AccountEventKind.TOKEN_REVOKED]


def test_a_role_changed_or_removed_by_an_administrator_signs_the_session_out(signed_in, superuser_client):
    user, client = signed_in
    root, admin_client = superuser_client
    membership = SiteMembership.objects.get(user=user)
    change = reverse("admin:trials_sitemembership_change", args=[membership.pk])
    page = admin_client.get(change)
    data = {"user": user.pk, "site": membership.site_id, "role": "monitor", "change_reason": "Now monitors",
            "read_at": page.context["adminform"].form.initial["read_at"]}
    assert admin_client.post(change, data).status_code == 302
    assert client.get(HOME).status_code == 302
    assert events_of(user)[-1] == (AccountEventKind.SESSIONS_ENDED, root.username,
                                   "Now monitors (PUMCH: coordinator → monitor)")

    assert client.post(reverse("login"), {"username": user.username, "password": "Correct-Horse-88"}).status_code == 302
    assert client.get(HOME).status_code == 200
    delete = reverse("admin:trials_sitemembership_delete", args=[membership.pk])
    assert admin_client.post(delete, {"post": "yes", "change_reason": "Left the team"}).status_code == 302
    assert client.get(HOME).status_code == 302


def test_a_new_session_after_the_end_is_not_signed_out(signed_in, admin_user):
    user, _client = signed_in
    user.is_staff = True
    with change_context(by=admin_user, reason="Test"):
        user.save()
    user.is_staff = False
    with change_context(by=admin_user, reason="No administration for coordinators"):
        user.save()
    client = Client()
    assert client.post(reverse("login"), {"username": user.username, "password": "Correct-Horse-88"}).status_code == 302
    assert client.get(HOME).status_code == 200


# --- Django's user pages (superusers) ---------------------------------------------------------------

@pytest.fixture
def superuser_client(studies):
    root = User.objects.create_superuser("root", password=SIGNER_PASSWORD)
    client = Client()
    client.force_login(root)
    return root, client


def test_a_superuser_changes_an_account_with_a_reason(superuser_client, coordinator):
    root, client = superuser_client
    change = reverse("admin:auth_user_change", args=[coordinator.pk])
    form = client.get(change).context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name not in ("groups", "user_permissions", "password", "last_login",
                                                  "date_joined")}
    data.update({"username": coordinator.username, "is_active": "", "date_joined_0": "2026-01-01",
                 "date_joined_1": "08:00:00", "first_name": "Wei"})
    refused = client.post(change, data)
    assert refused.status_code == 200 and "change_reason" in refused.context["adminform"].form.errors

    data["change_reason"] = "Left the hospital"
    assert client.post(change, data).status_code == 302
    latest = history_of(coordinator)[-1]
    assert (latest.history_user, latest.history_change_reason, latest.is_active, latest.first_name) == (
        root, "Left the hospital", False, "Wei")


def test_a_superuser_sets_a_password_as_an_event(superuser_client, coordinator):
    root, client = superuser_client
    before = len(history_of(coordinator))
    url = reverse("admin:auth_user_password_change", args=[coordinator.pk])
    response = client.post(url, {"password1": "Battery-Staple-77", "password2": "Battery-Staple-77",
                                 "usable_password": "true"})
    assert response.status_code == 302
    assert User.objects.get(pk=coordinator.pk).check_password("Battery-Staple-77")
    assert len(history_of(coordinator)) == before
    assert events_of(coordinator)[-1] == (AccountEventKind.PASSWORD_CHANGED, root.username,
                                          "Password set by an administrator")


def test_the_user_changes_their_own_password_as_an_event(signed_in):
    user, client = signed_in
    response = client.post(reverse("password_change"), {
        "old_password": "Correct-Horse-88", "new_password1": "Battery-Staple-77", "new_password2": "Battery-Staple-77"})
    assert response.status_code == 302
    assert events_of(user)[-1] == (AccountEventKind.PASSWORD_CHANGED, user.username, "Changed by its user")
    assert client.get(HOME).status_code == 200  # their own session goes on


# --- accounts that existed before their history ----------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_every_account_that_existed_before_gets_the_first_row_of_its_history(studies, make_user,
                                                                             back_to_the_latest_schema):
    administrator = make_user("admin")
    executor = MigrationExecutor(connection)
    [history_migration] = [key for key in executor.loader.graph.nodes
                           if key[0] == "trials" and key[1].endswith("_account_history_and_events")]
    [before] = [node.key for node in executor.loader.graph.node_map[history_migration].parents
                if node.key[0] == "trials"]
    executor.migrate([before])

    executor = MigrationExecutor(connection)
    executor.migrate([history_migration])
    state = executor.loader.project_state([history_migration]).apps
    rows = state.get_model("trials", "HistoricalUser").objects.filter(id=administrator.pk)
    [row] = rows
    assert (row.history_type, row.history_change_reason, row.username, row.is_staff) == (
        "+", "Account history begins", administrator.username, True)
    groups = state.get_model("trials", "HistoricalUser_groups").objects.filter(history_id=row.history_id)
    assert list(groups.values_list("group__name", flat=True)) == [ADMIN_GROUP]
