"""Secrets stay secret: a Slack webhook URL entered in the UI, the SMTP password and the AWS keys are used
for real (a Slack stand-in over HTTPS, an SMTP server that asks for a login, a moto server, then a dead
AWS endpoint) and afterwards appear in no row of any table, in no log record and on no 500 page. The
webhook URL is held to https on an allowed host whatever tricks it is written with (no SSRF).

Already tested elsewhere, not repeated: delivery errors and logs (tests/dashboard/alerts/test_delivery.py),
forms never echoing the URL (tests/dashboard/test_alert_forms.py), redirects not followed
(tests/dashboard/alerts/test_transports.py)."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from collectors.inventory import collect_inventory
from dashboard.alerts.webhooks import validate_webhook_url
from dashboard.models import AwsAccount, DeliveryAttempt, NotificationChannel
from tests.collectors.test_inventory_moto import make_endpoint, sagemaker, serverless
from tests.support.slack import Reply, trusted_slack
from tests.support.smtp import SmtpServer

SLACK_PATH = "/services/T0SEC/B0SEC/XXSLACKSECRETXX"
SMTP_PASSWORD = "pw-XXSMTPSECRETXX"
AWS_KEY_ID = "AKIAXXAWSKEYIDXX4242"
AWS_SECRET = "XXAWSSECRETXX/abcdefghijklmnopqrstuvwx"
SECRETS = ["XXSLACKSECRETXX", "XXSMTPSECRETXX", "XXAWSKEYIDXX", "XXAWSSECRETXX"]
# Kept here, far from the frames whose source lines the debug page prints.
DEBUG_DB_URL = "postgresql://dash:XXDBPASSWORDXX@db.internal:5432/dashboard"
DEBUG_REDIS_URL = "redis://:XXREDISPASSWORDXX@redis.internal:6379/0"
DEBUG_SECRETS = ("XXDBPASSWORDXX", "XXREDISPASSWORDXX")  # not spelt near the frames the page shows

pytestmark = pytest.mark.django_db


def tables_containing(needle: str) -> list[str]:
    """Every table with a row whose text (all its columns, JSON included) contains `needle`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT 1 FROM {quoted} t WHERE strpos(CAST(t AS text), %s) > 0 LIMIT 1",  # noqa: S608
                [needle],  # table names from the database itself, quoted; the value is bound
            )
            if cursor.fetchone():
                found.append(table)
    return found


@pytest.fixture
def slack(settings, tmp_path):
    with trusted_slack(settings, tmp_path) as server:
        yield server


@pytest.fixture
def smtp(settings):
    server = SmtpServer(auth=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "alerts", SMTP_PASSWORD
    yield server
    server.stop()


@pytest.fixture
def aws_keys(monkeypatch, settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    settings.AWS_SIMULATOR = ""  # the ambient credentials, as in production
    settings.AWS_MAX_ATTEMPTS = 1


def use_every_secret(client, slack, smtp, moto_env, monkeypatch, team_search):
    """A member adds a Slack and an email channel in the UI and presses "Send test message" on each
    (Slack answers with an error echoing the request, the SMTP server refuses the login); inventory is
    collected with the AWS keys from moto, then from an AWS endpoint that does not answer."""
    slack.script(Reply(500, f"upstream error for POST {SLACK_PATH}"))
    for data in (
        {"kind": "slack", "name": "#search-costs", "webhook_url": slack.url(SLACK_PATH)},
        {"kind": "email", "name": "Search email", "email_to": "oncall@search.example.com"},
    ):
        response = client.post("/alerts/channels/new/", {"team": team_search.pk, "enabled": "on", **data})
        assert response.status_code == 302, response.content.decode()
        channel = NotificationChannel.objects.get(name=data["name"])
        assert client.post(f"/alerts/channels/{channel.pk}/test/").status_code == 302
    assert slack.paths == [SLACK_PATH] and smtp.logins and smtp.logins[0][1] == SMTP_PASSWORD  # used

    make_endpoint(sagemaker(moto_env), "search-ranker", [serverless()], tags=[("team", "search")])
    account = AwsAccount.objects.create(
        account_id="123456789012", label="prod", regions=["us-east-1"],
        role_arn="arn:aws:iam::123456789012:role/SageMakerDashboardReadOnly",
    )  # fmt: skip
    assert collect_inventory(account, "us-east-1").status == "ok"
    assert account.endpoints.count() == 1  # AWS answered to those keys
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # AWS unreachable: the error is recorded
    assert collect_inventory(account, "us-east-1").status == "failed"


def test_secrets_are_in_no_table_and_no_log_record(
    client, member_search, team_search, slack, smtp, aws_keys, moto_env, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    client.force_login(member_search)
    use_every_secret(client, slack, smtp, moto_env, monkeypatch, team_search)
    assert DeliveryAttempt.objects.filter(ok=False).count() == 2  # both failures were written down
    assert len(caplog.records) > 5
    assert "dashboard_notificationchannel" in tables_containing("#search-costs")  # the scan reads rows
    for secret in SECRETS:
        assert tables_containing(secret) == [], secret
        assert secret not in caplog.text, secret
    # The stored webhook really is the URL, encrypted (not merely missing).
    assert NotificationChannel.objects.get(kind="slack").webhook_url == slack.url(SLACK_PATH)


def boom(request):
    """A view that fails while every secret is at hand (in its locals and the settings)."""
    from django.conf import settings

    channel = NotificationChannel.objects.get(kind="slack")
    webhook, password = channel.webhook_url, settings.EMAIL_HOST_PASSWORD  # noqa: F841
    raise RuntimeError("the view failed")


urlpatterns = []  # this module is the URL conf of the 500 test: the project's URLs plus boom


def test_a_500_page_shows_no_secret(settings, member_search, team_search, slack, smtp, aws_keys, caplog):
    from django.urls import include, path

    urlpatterns[:] = [path("boom/", boom), path("", include("dashboard.urls"))]
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    channel = NotificationChannel(name="#search-costs", kind="slack", team=team_search)
    channel.set_webhook_url(slack.url(SLACK_PATH))
    channel.save()
    client = Client(raise_request_exception=False)
    client.force_login(member_search)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Traceback" not in body and "RuntimeError" not in body and "EMAIL_HOST" not in body
    for secret in SECRETS:
        assert secret not in body and secret not in caplog.text
    assert "Internal Server Error: /boom/" in caplog.text  # the failure is logged, without them


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com.evil.example/services/T0/B0/x",
        "https://evil.example#@hooks.slack.com/services/T0/B0/x",
        "https://evil.example\\@hooks.slack.com/services/T0/B0/x",
        "https://hooks.slack.com@169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/services/T0/B0/x",
        "https://[::1]/services/T0/B0/x",
        "https://hooks.slack.com:8443/services/T0/B0/x",
        "http://hooks.slack.com/services/T0/B0/x",
        "file:///etc/passwd",
        "//hooks.slack.com/services/T0/B0/x",
    ],
)
def test_a_webhook_url_that_could_reach_another_host_is_refused(url, settings):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    with pytest.raises(ValidationError):
        validate_webhook_url(url)


def _failing_view():
    raise RuntimeError("the view failed")


def test_the_debug_page_hides_credentials_held_in_urls(settings, rf):
    """DEBUG=1 is for a developer's machine, but its error page must still not print the database,
    Redis or broker password (Django's own filter only hides names like PASSWORD or SECRET)."""
    import sys

    from django.views.debug import technical_500_response

    settings.DEBUG = True
    settings.DATABASE_URL = DEBUG_DB_URL
    settings.REDIS_URL = settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = DEBUG_REDIS_URL
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": DEBUG_REDIS_URL}}
    try:
        _failing_view()
    except RuntimeError:
        body = technical_500_response(rf.get("/boom/"), *sys.exc_info()).content.decode()
    assert "RuntimeError" in body and "DATABASE_URL" in body  # it is the debug page, listing settings
    assert [secret for secret in DEBUG_SECRETS if secret in body] == []
