"""Settings come from the environment and fail loudly; production passes `check --deploy`."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k7#Qv2!pX9zR4mW8tL1nB6yH3jF5dS0aG7cE2uK9iO4pZ1xV8bN3mQ6wT",
    "ALLOWED_HOSTS": "edc.hospital.example",
    "DATABASE_URL": "sqlite:////tmp/edc-deploy-check.sqlite3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args, env):
    base = {key: value for key, value in os.environ.items()
            if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL",
                            "REQUIRE_SERVICES", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_server_refuses_to_start_without_secret_key_when_debug_is_off():
    result = manage("check", env={key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_under_production_settings_prints_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = manage("check", env={**PRODUCTION, "SECURE_SSL_REDIRECT": "maybe"})
    assert result.returncode != 0
    assert "SECURE_SSL_REDIRECT='maybe' is not a boolean" in result.stderr


def test_a_bad_database_url_names_the_variable():
    result = manage("check", env={**PRODUCTION, "DATABASE_URL": "nonsense://x"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_first_run_defaults_are_sqlite_and_tasks_in_process():
    result = manage("shell", "--no-imports", "-c", "from django.conf import settings as s; "
                    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)",
                    env={"DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "True"]


def setting(name: str, env: dict) -> str:
    result = manage("shell", "--no-imports", "-c", f"from django.conf import settings; print(settings.{name})",
                    env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_api_schema_is_public_in_development_and_not_in_production_unless_said():
    assert setting("API_SCHEMA_PUBLIC", PRODUCTION) == "False"
    assert setting("API_SCHEMA_PUBLIC", {"DEBUG": "1"}) == "True"
    assert setting("API_SCHEMA_PUBLIC", {**PRODUCTION, "API_SCHEMA_PUBLIC": "1"}) == "True"


def test_trusted_proxies_are_addresses_or_networks():
    assert setting("TRUSTED_PROXIES", {**PRODUCTION, "TRUSTED_PROXIES": "10.0.0.1, 172.16.0.0/12"}) == (
        "['10.0.0.1', '172.16.0.0/12']")
    assert setting("TRUSTED_PROXIES", PRODUCTION) == "[]"
    result = manage("check", env={**PRODUCTION, "TRUSTED_PROXIES": "10.0.0.1,proxy.local"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.local' is not an IP address or network (CIDR)." in result.stderr


def test_the_address_limit_may_not_be_below_the_account_limit():
    result = manage("check", env={**PRODUCTION, "LOGIN_FAILURE_LIMIT": "5", "LOGIN_ADDRESS_FAILURE_LIMIT": "3"})
    assert result.returncode != 0
    assert "LOGIN_ADDRESS_FAILURE_LIMIT must not be below LOGIN_FAILURE_LIMIT" in result.stderr


def test_time_limits_beyond_the_visibility_timeout_are_refused():
    result = manage("check", env={**PRODUCTION, "CELERY_TASK_TIME_LIMIT": "1200"})
    assert result.returncode != 0
    assert "CELERY_TASK_TIME_LIMIT (1200) < CELERY_VISIBILITY_TIMEOUT (900) is required" in result.stderr


def test_a_reminder_claim_must_outlast_the_send():
    result = manage("check", env={**PRODUCTION, "REMINDER_CLAIM_SECONDS": "60"})
    assert result.returncode != 0
    assert "REMINDER_CLAIM_SECONDS=60 must exceed twice EMAIL_TIMEOUT" in result.stderr


def test_postgresql_connections_turn_the_jit_off_unless_asked():
    postgres = {**PRODUCTION, "DATABASE_URL": "postgres://edc@db.example:5432/edc"}

    assert setting("DATABASES['default'].get('OPTIONS', {}).get('options')", postgres) == "-c jit=off"
    assert setting("DATABASES['default'].get('OPTIONS', {}).get('options')", {**postgres, "DB_JIT": "1"}) == "None"
    assert setting("DATABASES['default'].get('OPTIONS', {}).get('options')", PRODUCTION) == "None"
