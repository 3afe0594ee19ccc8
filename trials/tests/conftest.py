"""Fixtures of the trials tests: an administrator of site PUMCH (role admin, not a superuser) and a
browser client signed in as them, for the admin pages. They replace pytest-django's fixtures of the
same names in these tests (no test here uses a superuser)."""
import pytest


@pytest.fixture
def admin_user(studies, make_user):
    return make_user("admin")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
