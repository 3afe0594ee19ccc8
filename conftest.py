"""Shared fixtures: the built-in studies, users per role and site, a P3 participant, Chromium."""
import os
import shutil
import socket
import subprocess
import time
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import yaml
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.utils import timezone, translation

from config.celery import app
from dosing.tests.support import day0
from enrollment.tests.factories import ParticipantFactory
from enrollment.tests.support import eligible_p3_screening
from trials import catalogues
from trials.models import Study
from trials.services import STUDIES_DIR, LoadReport, studies_load, study_load
from trials.tests.factories import UserFactory
from trials.tests.loaded_rows import LoadedRows
from trials.tests.support import SIGNER_PASSWORD, client_for, require_service, setup_update

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(autouse=True)
def tasks_run_in_process():
    """Tasks queued by the code under test run at once, in the test; the worker test opts out."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts and ends with an empty cache: nothing a test leaves there reaches the next
    (wrong-password counters are rows of the database, rolled back with the test). The
    catalogue snapshot, read from committed rows that the rollbacks do not touch, keeps its
    generation, as a running process does: the query budgets count a process that has read it."""
    cache.clear()
    catalogues.keep_snapshot_generation()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts and ends in the default language: a request made in another (Accept-Language,
    the user's language) leaves that language active in the thread after its response."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def session_renewed_once_a_day(settings):
    """A signed-in session is renewed (a savepoint and an UPDATE) once SESSION_RENEW_SECONDS have
    passed since its last renewal: a test whose set-up takes over a minute on a loaded machine would
    count those statements in the page it measures. The renewal's own tests move the last renewal
    back by the setting."""
    settings.SESSION_RENEW_SECONDS = 24 * 3600


def _redis_database(url: str) -> int:
    return int(urlsplit(url).path.strip("/") or 0)


@pytest.fixture(scope="session", autouse=True)
def cache_of_this_worker():
    """Run in parallel (pytest-xdist: `make test` runs one worker per core), each worker keeps its
    cache in a Redis database of its own: the tests empty the cache (FLUSHDB), which must not
    empty another worker's in the middle of its test. Worker gw0 keeps the configured database,
    gwN the Nth after it, passing over the broker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    location = django_settings.CACHES["default"].get("LOCATION", "")
    if not worker.startswith("gw") or not str(location).startswith("redis"):
        yield
        return
    broker = django_settings.CELERY_BROKER_URL
    taken = {_redis_database(broker)} if broker.startswith("redis") else set()
    number = _redis_database(location)
    for _ in range(int(worker.removeprefix("gw"))):
        number = (number + 1) % 16
        while number in taken:
            number = (number + 1) % 16
    parts = urlsplit(location)
    own = urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))
    with override_settings(CACHES={"default": {**django_settings.CACHES["default"], "LOCATION": own}}):
        yield


@pytest.fixture(scope="session")
def django_db_setup(cache_of_this_worker, django_db_setup, django_db_blocker):
    """Load the built-in studies once into the test database; each test rolls back on top of it."""
    with django_db_blocker.unblock():
        studies_load()
        catalogues.current()


# The rows of the studies loaded into a database that a transactional test emptied, written back
# for the next such test instead of loading the files again (trials/tests/loaded_rows.py).
_loaded_after_flush = LoadedRows()


@pytest.fixture
def studies(db):
    """The three built-in studies, loaded from trials/studies/ (by code)."""
    if not Study.objects.filter(code__in=["UCB-IRIC", "HUCMSC-ITP-ESC", "MSC-ITP-5"]).count() == 3:
        _loaded_after_flush.load_or_restore(studies_load)
    return {study.code: study for study in Study.objects.all()}


@pytest.fixture
def make_user(db):
    """make_user(role, site="PUMCH", username=None) -> a user with that role at that site."""
    counter = iter(range(1, 10_000))

    def make(role: str, site: str = "PUMCH", username: str | None = None, password: str = SIGNER_PASSWORD):
        name = username or f"{role}{next(counter)}-{site.lower()}"
        return UserFactory(username=name, role=role, site=site, password=password)

    return make


@pytest.fixture
def coordinator(make_user):
    """A coordinator at PUMCH."""
    return make_user("coordinator")


@pytest.fixture
def investigator(make_user):
    return make_user("investigator")


@pytest.fixture
def api(coordinator):
    """An API client signed in as `coordinator`."""
    return client_for(coordinator)


@pytest.fixture
def other_site_study(studies, make_user):
    """A study run only at another hospital (site XH), copied from MSC-ITP-5's definition."""
    data = yaml.safe_load((STUDIES_DIR / "MSC-ITP-5.yaml").read_text())
    data["code"] = "XH-MSC"
    data["sites"] = [{"code": "XH", "name": "Xiehe Other Hospital"}]
    return study_load(data, by=None, reason="test", report=LoadReport())


@pytest.fixture
def participant(studies, coordinator):
    """A P3 participant (MSC-ITP-5) enrolled two days before the first infusion's planned day,
    :func:`dosing.tests.support.day0` (70 days ago); no infusion given yet."""
    screening = eligible_p3_screening(coordinator)
    setup_update(screening.consents, signed_at=timezone.now() - timedelta(days=75))
    return ParticipantFactory(screening=screening, enrolled_on=day0() - timedelta(days=2), first_infusion_on=day0(),
                              by=coordinator)


@pytest.fixture
def chromium_page(live_server):
    """A Playwright page in Debian's headless Chromium, with the live server's URL as `page.base`."""
    require_service(os.path.exists(CHROMIUM) or shutil.which("chromium") is not None, "Chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only the browser tests need Playwright)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.base = live_server.url
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def back_to_the_latest_schema():
    """For a test that migrates backwards: leave the database at the latest migrations again, as
    later tests need every column."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


class PrivateRedis:
    """A redis-server of the test's own on a free port (never the shared one), without persistence:
    stopped, it loses every message, as a broker that crashed would."""

    def __init__(self, binary: str):
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                pass
            assert self.process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer within 20 s"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture
def private_redis():
    """A private Redis, started for the test and killed after it (`PrivateRedis`); skipped where
    there is no redis-server, failed under REQUIRE_SERVICES=1."""
    binary = shutil.which("redis-server")
    require_service(binary is not None, "redis-server (the test starts a private one on a free port)")
    server = PrivateRedis(binary)
    server.start()
    yield server
    server.stop()


def _forget_broker_connections(celery_app) -> None:
    # The app keeps its broker connection pools; they are made again for the broker now configured.
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")  # made on first use
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def tasks_queued_to(tasks_run_in_process):
    """tasks_queued_to(url): tasks are sent to the broker at `url` (no worker takes them) until the
    test ends, when they run in-process again."""
    celery_app = tasks_run_in_process
    # The write and read URLs: they come before CELERY_BROKER_URL from the environment (CI sets it).
    previous = {key: celery_app.conf.get(key) for key in ("broker_write_url", "broker_read_url")}

    def point(url: str):
        celery_app.conf.update(broker_write_url=url, broker_read_url=url, task_always_eager=False)
        _forget_broker_connections(celery_app)
        return celery_app

    yield point
    celery_app.conf.update(**previous, task_always_eager=True)
    _forget_broker_connections(celery_app)
