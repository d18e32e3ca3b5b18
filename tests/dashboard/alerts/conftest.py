"""Delivery fixtures: a real SMTP server and a real HTTPS stand-in for Slack, the settings pointing at
them, channels for each, and an alert built the way evaluation writes one (figures per the docstring)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import NOW
from tests.support.slack import trusted_slack
from tests.support.smtp import SmtpServer

SITE_URL = "https://costs.example.com"
HOSTILE_NAME = "<script>alert(1)</script> & co"


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "alerts@costs.example.com"
    settings.SITE_URL = SITE_URL
    yield server
    server.stop()


@pytest.fixture
def fake_slack(settings, tmp_path):
    settings.SITE_URL = SITE_URL
    with trusted_slack(settings, tmp_path) as slack:
        yield slack


@pytest.fixture
def email_channel(db, team_search):
    from dashboard.models import NotificationChannel

    return NotificationChannel.objects.create(
        name="Search email", kind="email", team=team_search, email_to=["oncall@search.example.com"]
    )


@pytest.fixture
def slack_channel(db, team_search, fake_slack):
    from dashboard.models import NotificationChannel

    channel = NotificationChannel(name="#search-costs", kind="slack", team=team_search)
    channel.set_webhook_url(fake_slack.url())
    channel.save()
    return channel


def figures(**overrides) -> dict:
    """An evaluation's figures: 1,200 spent against 700 expected to date; 2,580 projected against a
    period forecast of 2,100; 95.5 of the spend estimated from CloudWatch usage x price."""
    contributors = [
        {
            "endpoint_id": 1, "name": HOSTILE_NAME, "account": "111122223333", "region": "eu-west-1",
            "actual": "640.0000", "expected": "200.0000", "overshoot": "440.0000", "cause": "traffic",
            "cause_detail": "invocations x3.1 over the last 3 days against usual",
        },
        {
            "endpoint_id": 2, "name": "search-rerank", "account": "111122223333", "region": "eu-west-1",
            "actual": "180.5000", "expected": "120.0000", "overshoot": "60.5000", "cause": "capacity",
            "cause_detail": "configuration changed on 2026-11-17 09:00 UTC",
        },
    ]  # fmt: skip
    return {
        "currency": "USD", "basis": "forecast",
        "basis_label": "project forecast (trailing-28d), 70.00 USD/day", "counted_from": "2026-11-01",
        "actual": "1200.0000", "expected": "700.0000", "ratio": "171.43",
        "projected": "2580.0000", "period_forecast": "2100.0000", "projected_ratio": "122.86",
        "crossed": ["actual"], "estimated": "95.5000", "estimated_from": "2026-11-19",
        "as_of": NOW.isoformat(), "contributors": contributors,
        **overrides,
    }  # fmt: skip


def alert_fields(**overrides) -> dict:
    return {
        "rule_name": "Search monthly", "scope": "team", "scope_id": 0, "scope_label": "team Search",
        "threshold": Decimal("150"), "period_start": date(2026, 11, 1), "period_end": date(2026, 12, 1),
        "state": "firing", "raised_at": NOW, "evaluated_at": NOW, "currency": "USD",
        "ratio": Decimal("171.43"), "peak_ratio": Decimal("171.43"), "figures": figures(),
        **overrides,
    }  # fmt: skip


@pytest.fixture
def alert(db, team_search):
    from dashboard.models import Alert

    return Alert.objects.create(**alert_fields(team=team_search, scope_id=team_search.pk))
