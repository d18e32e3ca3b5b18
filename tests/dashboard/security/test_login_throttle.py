"""Password guessing is throttled (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one user name
from one address, that pair is refused, right password or not, on the login page and the admin's,
until LOGIN_LOCKOUT_MINUTES after the last failure. Counted in the database, per user name and
address: the real user elsewhere is not locked out, and a success resets the count."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"  # the cast's (tests/conftest.py)
GUESS = "guess-XXGUESSXX-"

pytestmark = pytest.mark.django_db


def log_in(client: Client, password: str, username: str = "sam", path: str = "/login/"):
    return client.post(path, {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_guesses_are_locked_out_at_the_limit_even_with_the_right_password(member_search, settings, caplog):
    caplog.set_level(logging.DEBUG)
    limit, cooloff = settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME
    assert limit == 5 and cooloff.total_seconds() == 15 * 60  # the defaults
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(4):
        response = log_in(guesser, f"{GUESS}{n}")
        assert response.status_code == 200 and "didn't match" in response.content.decode()
    response = log_in(guesser, f"{GUESS}4")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()

    assert log_in(guesser, PASSWORD).status_code == 429 and not logged_in(guesser)
    assert log_in(guesser, PASSWORD, path="/admin/login/").status_code == 429  # the admin's door too
    attempt = AccessAttempt.objects.get(username="sam", ip_address="203.0.113.9")
    assert attempt.failures_since_start >= 5  # kept in the database, shared by every web process
    assert GUESS not in caplog.text and GUESS not in attempt.post_data  # guesses are never written down


def test_the_lockout_ends_after_the_cooloff(member_search):
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(5):
        log_in(guesser, f"{GUESS}{n}")
    assert log_in(guesser, PASSWORD).status_code == 429
    # 15 minutes later (the attempts' own timestamps moved back: axes reads the database's clock).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert log_in(guesser, PASSWORD).status_code == 302 and logged_in(guesser)


def test_the_real_user_elsewhere_is_not_locked_out(member_search):
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(6):
        log_in(guesser, f"{GUESS}{n}")
    user = Client(REMOTE_ADDR="198.51.100.20")
    assert log_in(user, PASSWORD).status_code == 302 and logged_in(user)


def test_a_success_resets_the_count(member_search):
    client = Client(REMOTE_ADDR="198.51.100.20")
    for n in range(4):
        log_in(client, f"typo{n}")
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    for n in range(4):
        assert log_in(client, f"typo{n}").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302


def test_behind_a_proxy_the_address_the_proxy_saw_is_counted(member_search, settings):
    """BEHIND_PROXY=1: everyone arrives from the proxy's address; the last X-Forwarded-For entry (what
    the proxy appended) is the client. The first entries are the client's own words and change nothing."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(5):
        guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")
        log_in(guesser, f"{GUESS}{n}")
    assert log_in(guesser, PASSWORD).status_code == 429
    user = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert log_in(user, PASSWORD).status_code == 302


def settings_probe(**env) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), s.AXES_HANDLER)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
    )  # fmt: skip


def test_limit_and_lockout_come_from_the_environment():
    result = settings_probe(LOGIN_FAILURE_LIMIT="10", LOGIN_LOCKOUT_MINUTES="60")
    assert result.stdout.split() == ["10", "3600", "axes.handlers.database.AxesDatabaseHandler"], (
        result.stderr
    )
    bad = settings_probe(LOGIN_FAILURE_LIMIT="many")
    assert bad.returncode != 0 and "LOGIN_FAILURE_LIMIT='many' is not an integer" in bad.stderr
    zero = settings_probe(LOGIN_LOCKOUT_MINUTES="0")
    assert zero.returncode != 0 and "LOGIN_LOCKOUT_MINUTES=0 is below the minimum 1" in zero.stderr


def test_a_successful_login_leaves_no_row_behind(member_search):
    """Only failures are kept: a log of every successful login would grow without bound, unread."""
    from axes.models import AccessLog

    client = Client(REMOTE_ADDR="203.0.113.10")
    assert log_in(client, PASSWORD).status_code == 302 and logged_in(client)
    client.post("/logout/")
    assert AccessLog.objects.count() == 0 and AccessAttempt.objects.count() == 0
