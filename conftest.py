"""Shared fixtures: the built-in studies, users per role and site, required services, Chromium."""
import os
import shutil

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def require_service(available: bool, what: str) -> None:
    """Skip a test whose service is missing, except in CI (REQUIRE_SERVICES=1), where it fails."""
    if available:
        return
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available.")
    pytest.skip(f"{what} is not available here; CI runs this test with REQUIRE_SERVICES=1.")


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    """Tasks queued by the code under test run at once, in the test; the worker test opts out."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts and ends with an empty cache: wrong-password counters (sign-in and
    signatures) live there, keyed by user id, and the ids come back after each rollback."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the built-in studies once into the test database; each test rolls back on top of it."""
    from trials.services import studies_load

    with django_db_blocker.unblock():
        studies_load()


@pytest.fixture
def studies(db):
    """The three built-in studies, loaded from trials/studies/ (by code)."""
    from trials.models import Study
    from trials.services import studies_load

    if not Study.objects.filter(code__in=["UCB-IRIC", "HUCMSC-ITP-ESC", "MSC-ITP-5"]).count() == 3:
        studies_load()
    return {study.code: study for study in Study.objects.all()}


@pytest.fixture
def make_user(db):
    """make_user(role, site="PUMCH", username=None) -> a user with that role at that site."""
    from trials.accounts import user_upsert
    from trials.models import Site

    counter = iter(range(1, 10_000))

    def make(role: str, site: str = "PUMCH", username: str | None = None, password: str = "Long-enough-pass-91"):
        Site.objects.get_or_create(code=site, defaults={"name": f"Hospital {site}"})
        name = username or f"{role}{next(counter)}-{site.lower()}"
        return user_upsert(username=name, role=role, site_code=site, password=password).user

    return make


@pytest.fixture
def coordinator(make_user):
    """A coordinator at PUMCH."""
    return make_user("coordinator")


@pytest.fixture
def investigator(make_user):
    return make_user("investigator")


def client_for(user):
    """An API client signed in as `user`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


SIGNER_PASSWORD = "Long-enough-pass-91"  # make_user's default, and the site investigators' below


def site_investigator(site_code: str = "PUMCH"):
    """The investigator ``signer-<site>`` of a site (created on first use), who signs in tests:
    eligibility confirmations and adverse events, with :data:`SIGNER_PASSWORD`."""
    from django.contrib.auth import get_user_model

    from trials.accounts import user_upsert

    name = f"signer-{site_code.lower()}"
    user = get_user_model().objects.filter(username=name).first()
    return user or user_upsert(username=name, role="investigator", site_code=site_code, password=SIGNER_PASSWORD).user


def confirm_eligibility(screening, by=None):
    """The site's investigator confirms the eligible screening with their signature, as the
    enrolment of a study with `eligibility_confirmation_required` needs."""
    from enrollment.services import screening_eligibility_confirm

    return screening_eligibility_confirm(screening=screening, password=SIGNER_PASSWORD,
                                         by=by or site_investigator(screening.site.code))


def confirm_adverse_event(event, by=None):
    """The site's investigator confirms a coordinator's draft adverse event as recorded (its grade,
    seriousness and relationship), with their signature."""
    from followup.services import adverse_event_confirm

    return adverse_event_confirm(
        event=event, grade=event.grade, serious=event.serious, relationship=event.relationship,
        seriousness=event.seriousness, action_taken=event.action_taken, outcome=event.outcome,
        password=SIGNER_PASSWORD, by=by or site_investigator(event.participant.site.code))


@pytest.fixture
def api(coordinator):
    """An API client signed in as `coordinator`."""
    return client_for(coordinator)


@pytest.fixture
def other_site_study(studies, make_user):
    """A study run only at another hospital (site XH), copied from MSC-ITP-5's definition."""
    import yaml

    from trials.services import STUDIES_DIR, LoadReport, study_load

    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    data["code"] = "XH-MSC"
    data["sites"] = [{"code": "XH", "name": "Xiehe Other Hospital"}]
    return study_load(data, by=None, reason="test", report=LoadReport())


@pytest.fixture
def chromium_page(live_server):
    """A Playwright page in Debian's headless Chromium, with the live server's URL as `page.base`."""
    require_service(os.path.exists(CHROMIUM) or shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.base = live_server.url
        try:
            yield page
        finally:
            browser.close()


def forget_site_roles(user) -> None:
    """Drop the user's memberships read once per request (`trials.scoping.site_roles`), so that a
    query count measured with the same user object includes reading them."""
    user.__dict__.pop("_site_roles_cache", None)
