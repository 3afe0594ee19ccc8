"""Settings, read from the environment.

One file for every deployment: a first run uses the embedded defaults (SQLite, tasks run
in-process); production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY and ALLOWED_HOSTS.
Every variable is documented in README.md. A bad value stops the server with a message that
names the variable.
"""
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. In production set SECRET_KEY to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'); for a local first "
            "run use 'make run', which sets DEBUG=1."
        )
    SECRET_KEY = "insecure-development-key-used-only-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "trials",
    "enrollment",
    "dosing",
    "followup",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Python's cycle collector paused for the request (trials/middleware.py).
    "trials.middleware.CollectorPausedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A locked account's sessions, and those of an account whose access was taken away, end.
    "trials.sessions.SessionsEndedMiddleware",
    # Wrong signature passwords counted after the view, outside its rolled-back transaction.
    "trials.throttle.PasswordFailuresMiddleware",
    "trials.middleware.SessionIdleTimeoutMiddleware",
    # A signed-in user's chosen language overrides the browser's (trials/languages.py).
    "trials.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A locked casebook or study met by a page: 403 naming the lock (trials/middleware.py).
    "trials.middleware.RecordLockedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "trials.middleware.ContentSecurityPolicyMiddleware",
    # A form's one-time token and an API POST's Idempotency-Key: a second post creates nothing.
    "trials.idempotency.SubmissionOnceMiddleware",
]

if not DEBUG:
    # Production serves static files from STATIC_ROOT (collectstatic); runserver does it in DEBUG.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trials.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite keeps no persistent connections worth keeping.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env_bool("DB_JIT", False):
    # PostgreSQL's JIT compiles the plan of any statement above a cost threshold: 80 ms added to the
    # dashboard's and the CONSORT counts' reads at 10,000 participants, for no gain on pages that read
    # a few thousand rows. Off for the product's connections unless DB_JIT=1.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's sign-in; the user read for a session carries when its sessions last ended (trials/sessions.py).
AUTHENTICATION_BACKENDS = ["trials.sessions.AccountBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after this many seconds without a request. Activity renews the expiry, at most
# once a minute (trials.middleware.SessionIdleTimeoutMiddleware), so pages do not pay a write each.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT_SECONDS", 30 * 60)
SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Wrong-password throttling (trials/throttle.py, counters in the database): after
# LOGIN_FAILURE_LIMIT wrong passwords for one account (sign-in, signature or password change) the
# account is locked for LOGIN_LOCK_SECONDS (sign-in, signing, password change and its API token);
# after LOGIN_ADDRESS_FAILURE_LIMIT failed sign-ins from one client address, sign-in from that
# address is. The address limit is much higher: many users share one address (a hospital's NAT).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_ADDRESS_FAILURE_LIMIT = env_int("LOGIN_ADDRESS_FAILURE_LIMIT", 100)
LOGIN_LOCK_SECONDS = env_int("LOGIN_LOCK_SECONDS", 15 * 60)
for _name in ("LOGIN_FAILURE_LIMIT", "LOGIN_ADDRESS_FAILURE_LIMIT", "LOGIN_LOCK_SECONDS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more.")
if LOGIN_ADDRESS_FAILURE_LIMIT < LOGIN_FAILURE_LIMIT:
    raise ImproperlyConfigured("LOGIN_ADDRESS_FAILURE_LIMIT must not be below LOGIN_FAILURE_LIMIT: one person "
                               "could otherwise lock everyone behind the same address.")


def _networks(name: str) -> list[str]:
    """Addresses or networks (CIDR) in a comma-separated variable, checked at start-up."""
    values = env_list(name, [])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or network (CIDR).") from None
    return values


# The reverse proxies whose X-Forwarded-For names the client: only a request arriving from one of
# them is taken as coming from the address it forwards; from anywhere else the header is ignored.
# None by default: the client is the connection's address (REMOTE_ADDR).
TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")

# API tokens expire this many days after they were created; a user makes a new one on their
# API token page (or an administrator with add_user --token).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
if API_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("API_TOKEN_DAYS must be 1 or more.")
# The API schema and its docs page without signing in: on in development, off in production.
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", DEBUG)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Files the application writes (data exports, under exports/): never served as static files, each
# download goes through a view that checks the user's role and sites (followup.export_api).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# A finished export is handed out again for the same request (study, format, sites) within this time.
EXPORT_REUSE_SECONDS = env_int("EXPORT_REUSE_SECONDS", 10 * 60)
# An export's file is deleted this many days after it finished (the export and its audit are kept).
EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 30)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

def _cache_url_beside_broker(broker: str | None) -> str | None:
    """The broker's Redis server, database 1: the cache must never share the broker's queues."""
    if not broker or not broker.startswith("redis"):
        return None
    parts = urlsplit(broker)
    return urlunsplit((parts.scheme, parts.netloc, "/1", parts.query, parts.fragment))


REDIS_URL = env_str("REDIS_URL") or _cache_url_beside_broker(env_str("CELERY_BROKER_URL"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no broker configured, tasks run in-process at once (first run, no Redis needed).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")
# Delivery (README, "Background tasks"): a task is acknowledged on receipt unless it declares itself
# idempotent (`trials.queueing.IDEMPOTENT`: late acknowledgement, given back when its worker dies;
# every task today). A task still unacknowledged after the visibility timeout (its worker was killed
# with -9) is delivered again; the timeout must exceed the hard time limit, or a task still running
# would be delivered a second time.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 4 * 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 5 * 60)
visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 15 * 60)
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < visibility_timeout:
    raise ImproperlyConfigured(
        f"CELERY_TASK_SOFT_TIME_LIMIT ({CELERY_TASK_SOFT_TIME_LIMIT}) < CELERY_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT}) < CELERY_VISIBILITY_TIMEOUT ({visibility_timeout}) is required: a "
        "task is warned, then stopped, well before the broker would deliver it again.")
# A data export (`followup.run_export`) has its own limits: an ODM export of 10,000 participants
# takes minutes. A second delivery of a running export (past the visibility timeout) finds it
# running and does nothing; an export stopped by its limit is marked failed with the reason.
EXPORT_TASK_TIME_LIMIT = env_int("EXPORT_TASK_TIME_LIMIT", 30 * 60)
EXPORT_TASK_SOFT_TIME_LIMIT = env_int("EXPORT_TASK_SOFT_TIME_LIMIT", EXPORT_TASK_TIME_LIMIT - 60)
if not 0 < EXPORT_TASK_SOFT_TIME_LIMIT < EXPORT_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"EXPORT_TASK_SOFT_TIME_LIMIT ({EXPORT_TASK_SOFT_TIME_LIMIT}) < EXPORT_TASK_TIME_LIMIT "
        f"({EXPORT_TASK_TIME_LIMIT}) is required: an export is asked to stop before it is killed.")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": visibility_timeout}
# Queueing a task while the broker is down gives up after about a second (the request carries on,
# `trials.queueing`), rather than holding the user's save.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2,
                                    "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://"

# E-mail (reminders of SAE reports and overdue visits and infusions). With DEBUG, messages are
# printed to the console unless EMAIL_BACKEND says otherwise; in production, SMTP.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                        else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on: choose one.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
# A reminder is claimed before its e-mail is sent; a claim not marked sent after this long (the sweep
# was stopped between claim and send) is taken again by the next sweep. Longer than one send can take.
REMINDER_CLAIM_SECONDS = env_int("REMINDER_CLAIM_SECONDS", 10 * 60)
if REMINDER_CLAIM_SECONDS <= 2 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured(f"REMINDER_CLAIM_SECONDS={REMINDER_CLAIM_SECONDS} must exceed twice EMAIL_TIMEOUT "
                               f"({EMAIL_TIMEOUT}): a claim must outlast the send it guards.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "edc@localhost")
# The address links in e-mails start with, e.g. https://edc.hospital.cn (empty: paths only).
EMAIL_BASE_URL = (env_str("EMAIL_BASE_URL", "") or "").rstrip("/")
if EMAIL_BASE_URL and not EMAIL_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"EMAIL_BASE_URL={EMAIL_BASE_URL!r} is not an http(s) address.")

# Tests that need PostgreSQL, Redis or a Celery worker fail instead of skipping when this is on.
REQUIRE_SERVICES = env_bool("REQUIRE_SERVICES", False)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trials.api_auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "trials.api_errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cell-therapy trials EDC API",
    "DESCRIPTION": "Capture and computed results of cell-therapy trials in immune cytopenias.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Signed-in users only, unless API_SCHEMA_PUBLIC.
    "SERVE_PERMISSIONS": ["trials.api_auth.SchemaAccess"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "trials.idempotency.schema_with_idempotency_key"],
    "ENUM_NAME_OVERRIDES": {
        "TimeUnitEnum": "trials.enums.TimeUnit",
        "WithdrawalReasonEnum": "enrollment.enums.WithdrawalReason",
        "ParticipantStatusEnum": "enrollment.enums.ParticipantStatus",
        "DoseLevelStatusEnum": "trials.enums.DoseLevelStatus",
        "StudyStatusEnum": "trials.enums.StudyStatus",
        "DurationUnitEnum": "followup.statistics.DURATION_UNITS",
    },
    # The docs page loads Swagger UI from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Production hardening: on unless DEBUG, each can be switched off behind a proxy that does it.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer probes the health check over plain HTTP, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
