"""The settings module as a whole: bad values stop start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_check(**env):
    full = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 50 characters"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL must be a postgresql:// URL"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT='smtp' is not an integer"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not a logging level"),
    ],
)
def test_bad_setting_stops_startup_with_a_clear_message(env, message):
    result = run_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_secret_key_file_is_read(tmp_path):
    key = tmp_path / "key"
    key.write_text("k" * 64 + "\n")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.SECRET_KEY == 'k' * 64)"],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY_FILE": str(key), "DJANGO_SETTINGS_MODULE": "dashboard.settings"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.stdout.strip() == "True", result.stderr


def test_settings_are_utc_and_timezone_aware(settings):
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "UTC"
    assert settings.CELERY_TIMEZONE == "UTC"


def test_deploy_checks_are_clean_with_production_settings():
    env = {**os.environ, "SECRET_KEY": "p" * 30 + "Q7!x" * 10, "DEBUG": "0", "SECURE_HTTPS": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # production never sets it
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
