"""The outbox consumer against real peers (aiosmtpd, the HTTPS stand-in for Slack) and the real
Postgres: retries with backoff driven by passing `now` (never sleeping), permanent failures, claims that
make two workers send once, leases, disabled channels, and secrets kept out of errors and logs."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection

from dashboard.alerts.delivery import deliver_due, deliver_one, send_test
from dashboard.models import DeliveryAttempt, Notification, NotificationChannel
from tests.conftest import NOW
from tests.dashboard.alerts.conftest import SITE_URL
from tests.support.slack import Reply, assert_block_kit
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db

SECONDS = timedelta(seconds=1)


def queue(alert, channel, event="raised", at=NOW) -> Notification:
    return Notification.objects.create(
        alert=alert, channel=channel, event=event, next_attempt_at=at, created_at=at
    )


def attempts(row: Notification) -> list[DeliveryAttempt]:
    return list(row.deliveries.order_by("started_at", "pk"))


def fresh(row):
    row.refresh_from_db()
    return row


# --- delivered ---------------------------------------------------------------------------------------
def test_it_emails_a_raised_alert_with_html_and_text_parts(smtp_server, email_channel, alert):
    row = queue(alert, email_channel)
    assert deliver_due(now=NOW) == {"requeued": 0, "sent": 1, "retrying": 0, "failed": 0, "skipped": 0}
    [email] = smtp_server.received
    assert email["To"] == "oncall@search.example.com"
    text, html = email.get_body(("plain",)).get_content(), email.get_body(("html",)).get_content()
    for part in (text, html):
        assert "1,200.00 USD" in part and "171.4%" in part and "2,580.00 USD" in part
        assert f"{SITE_URL}/alerts/{alert.pk}/" in part
    row = fresh(row)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == ("sent", NOW, 1, "")
    [attempt] = attempts(row)
    assert attempt.ok and attempt.started_at == NOW and attempt.error == ""


def test_it_posts_a_raised_alert_to_slack_as_block_kit(fake_slack, slack_channel, alert):
    row = queue(alert, slack_channel)
    deliver_due(now=NOW)
    [payload] = fake_slack.delivered
    assert_block_kit(payload)
    assert payload["blocks"][-1]["elements"][0]["url"] == f"{SITE_URL}/alerts/{alert.pk}/"
    row = fresh(row)
    assert row.status == "sent" and attempts(row)[0].status_code == 200


def test_a_delivered_message_is_not_sent_again(fake_slack, slack_channel, alert):
    row = queue(alert, slack_channel)
    deliver_due(now=NOW)
    assert deliver_due(now=NOW + 3600 * SECONDS)["sent"] == 0
    assert deliver_one(row.pk, now=NOW + 7200 * SECONDS) == "skipped"
    assert len(fake_slack.received) == 1


# --- retried -------------------------------------------------------------------------------------------
def test_it_retries_a_429_after_retry_after(fake_slack, slack_channel, alert):
    fake_slack.script(Reply(429, "rate_limited", {"Retry-After": "900"}))
    row = queue(alert, slack_channel)
    assert deliver_due(now=NOW)["retrying"] == 1
    row = fresh(row)
    # The server asked for longer than the first backoff step (60 s): its wait wins, counted from its
    # answer (the attempt's end), not from when the request was sent.
    answered = attempts(row)[0].finished_at
    assert answered > NOW
    assert (row.status, row.next_attempt_at, row.claim) == ("pending", answered + 900 * SECONDS, None)
    assert "HTTP 429" in row.last_error
    assert deliver_due(now=NOW + 900 * SECONDS)["sent"] == 0
    assert deliver_due(now=answered + 900 * SECONDS)["sent"] == 1
    assert len(fake_slack.delivered) == 1 and len(fake_slack.received) == 2
    row = fresh(row)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert [(a.ok, a.status_code) for a in attempts(row)] == [(False, 429), (True, 200)]


def test_it_retries_a_500_with_doubling_backoff(fake_slack, slack_channel, alert):
    fake_slack.script(Reply(500, "internal_error"), Reply(503, "busy"))
    row = queue(alert, slack_channel)
    deliver_due(now=NOW)
    assert fresh(row).next_attempt_at == NOW + 60 * SECONDS
    deliver_due(now=NOW + 60 * SECONDS)
    assert fresh(row).next_attempt_at == NOW + (60 + 120) * SECONDS
    deliver_due(now=NOW + 180 * SECONDS)
    row = fresh(row)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, NOW + 180 * SECONDS)
    assert len(fake_slack.delivered) == 1
    assert [a.status_code for a in attempts(row)] == [500, 503, 200]


def test_it_retries_a_timeout(fake_slack, slack_channel, alert, settings):
    settings.SLACK_TIMEOUT_SECONDS = 0.5
    fake_slack.script(Reply(200, "ok", delay=5))
    row = queue(alert, slack_channel)
    deliver_due(now=NOW)
    row = fresh(row)
    assert row.status == "pending" and "no answer within 0.5s" in row.last_error
    deliver_due(now=NOW + 60 * SECONDS)
    assert fresh(row).status == "sent"
    assert len(fake_slack.delivered) == 1


def test_it_retries_while_smtp_refuses_connections_then_delivers(smtp_server, email_channel, alert):
    smtp_server.stop()
    row = queue(alert, email_channel)
    deliver_due(now=NOW)
    deliver_due(now=NOW + 60 * SECONDS)
    row = fresh(row)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 2, NOW + 180 * SECONDS)
    assert "Connection refused" in row.last_error
    smtp_server.start()
    deliver_due(now=NOW + 180 * SECONDS)
    assert fresh(row).status == "sent"
    assert len(smtp_server.received) == 1


def test_it_retries_a_451_from_smtp(smtp_server, email_channel, alert):
    smtp_server.refuse("451 4.3.0 Mailbox busy, try later")
    row = queue(alert, email_channel)
    deliver_due(now=NOW)
    assert fresh(row).status == "pending" and attempts(row)[0].status_code == 451
    deliver_due(now=NOW + 60 * SECONDS)
    assert fresh(row).status == "sent" and len(smtp_server.received) == 1


def test_after_max_attempts_of_transient_failures_the_row_is_failed(
    fake_slack, slack_channel, alert, settings
):
    settings.ALERT_MAX_ATTEMPTS = 3
    fake_slack.script(*[Reply(500, "internal_error")] * 3)
    row = queue(alert, slack_channel)
    for _ in range(5):
        deliver_due(now=fresh(row).next_attempt_at)
    row = fresh(row)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error.startswith("gave up after 3 attempts: ") and "HTTP 500" in row.last_error
    assert len(fake_slack.received) == 3 and fake_slack.delivered == []
    assert fresh(slack_channel).enabled  # a server having a bad day says nothing about the channel


# --- permanent -----------------------------------------------------------------------------------------
def test_a_404_webhook_fails_the_row_disables_the_channel_and_says_why(fake_slack, slack_channel, alert):
    fake_slack.script(Reply(404, "no_service"))
    row = queue(alert, slack_channel)
    recovered = queue(alert, slack_channel, event="recovered", at=NOW + 60 * SECONDS)
    assert deliver_due(now=NOW)["failed"] == 1
    row, channel = fresh(row), fresh(slack_channel)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "HTTP 404 'no_service'" in row.last_error and "no longer exists" in row.last_error
    [attempt] = attempts(row)
    assert attempt.permanent and not attempt.ok and attempt.status_code == 404
    assert not channel.enabled
    assert channel.disabled_reason.startswith("disabled by delivery on 2026-11-20 10:17 UTC: ")
    assert "no_service" in channel.disabled_reason
    # The channel's other messages wait for someone to fix it, instead of failing one by one.
    deliver_due(now=NOW + 3600 * SECONDS)
    assert fresh(recovered).status == "pending" and len(fake_slack.received) == 1


def test_a_smtp_550_fails_the_row_but_keeps_the_channel(smtp_server, email_channel, alert):
    smtp_server.refuse("550 5.1.1 No such user", at="RCPT")
    row = queue(alert, email_channel)
    deliver_due(now=NOW)
    row = fresh(row)
    assert row.status == "failed" and "550 5.1.1 No such user" in row.last_error
    assert attempts(row)[0].permanent and fresh(email_channel).enabled


def test_a_stored_url_that_became_invalid_disables_the_channel_without_a_request(
    fake_slack, slack_channel, alert, settings
):
    settings.SLACK_WEBHOOK_HOSTS = ["hooks.slack.com"]
    row = queue(alert, slack_channel)
    deliver_due(now=NOW)
    assert fresh(row).status == "failed" and "not allowed" in fresh(row).last_error
    assert not fresh(slack_channel).enabled and fake_slack.received == []


# --- disabled channels -----------------------------------------------------------------------------------
def test_a_disabled_channels_rows_stay_pending_and_go_out_once_it_is_enabled(
    fake_slack, slack_channel, smtp_server, email_channel, alert
):
    NotificationChannel.objects.filter(pk=slack_channel.pk).update(enabled=False, disabled_reason="paused")
    waiting, other = queue(alert, slack_channel), queue(alert, email_channel)
    assert deliver_due(now=NOW)["sent"] == 1
    assert fresh(other).status == "sent"
    waiting = fresh(waiting)
    assert (waiting.status, waiting.attempts, attempts(waiting)) == ("pending", 0, [])
    assert deliver_one(waiting.pk, now=NOW) == "skipped" and fake_slack.received == []
    NotificationChannel.objects.filter(pk=slack_channel.pk).update(enabled=True, disabled_reason="")
    assert deliver_due(now=NOW + 60 * SECONDS)["sent"] == 1
    assert fresh(waiting).status == "sent" and len(fake_slack.delivered) == 1


# --- leases ----------------------------------------------------------------------------------------------
def test_a_stale_sending_claim_is_requeued_after_the_lease(fake_slack, slack_channel, alert, settings):
    settings.ALERT_CLAIM_LEASE_SECONDS = 600
    row = queue(alert, slack_channel)
    # A worker claimed it and died before recording anything.
    Notification.objects.filter(pk=row.pk).update(
        status="sending", claim=uuid.uuid4(), claimed_at=NOW, attempts=1
    )
    assert deliver_due(now=NOW + 599 * SECONDS)["requeued"] == 0
    assert fresh(row).status == "sending" and fake_slack.received == []
    stats = deliver_due(now=NOW + 601 * SECONDS)
    assert (stats["requeued"], stats["sent"]) == (1, 1)
    row = fresh(row)
    assert (row.status, row.attempts) == ("sent", 2)
    interrupted, sent = attempts(row)
    assert (
        not interrupted.ok and interrupted.error.startswith("interrupted") and interrupted.started_at == NOW
    )
    assert sent.ok and len(fake_slack.delivered) == 1


def test_a_stale_claim_out_of_attempts_is_failed(fake_slack, slack_channel, alert, settings):
    settings.ALERT_MAX_ATTEMPTS = 2
    row = queue(alert, slack_channel)
    Notification.objects.filter(pk=row.pk).update(
        status="sending", claim=uuid.uuid4(), claimed_at=NOW, attempts=2
    )
    deliver_due(now=NOW + 3600 * SECONDS)
    row = fresh(row)
    assert row.status == "failed" and row.last_error.startswith("gave up after 2 attempts: interrupted")
    assert fake_slack.received == []


# --- concurrency (real threads, each with its own Postgres connection) ------------------------------------
def in_threads(*calls):
    """Run the calls at the same moment in threads; return their results (re-raising their errors)."""
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", ["deliver_due", "deliver_one"])
def test_two_workers_racing_on_one_row_send_it_once(fake_slack, smtp_server, team_search, worker):
    from dashboard.models import Alert
    from tests.dashboard.alerts.conftest import alert_fields

    alert = Alert.objects.create(**alert_fields(team=team_search, scope_id=team_search.pk))
    email = NotificationChannel.objects.create(name="mail", kind="email", email_to=["a@example.com"])
    slack = NotificationChannel(name="#costs", kind="slack")
    slack.set_webhook_url(fake_slack.url())
    slack.save()
    rows = [queue(alert, email), queue(alert, slack)]

    def work():
        if worker == "deliver_due":
            return deliver_due(now=NOW)["sent"]
        return sum(deliver_one(r.pk, now=NOW) == "sent" for r in rows)

    assert sorted(in_threads(work, work)) in ([0, 2], [1, 1])
    assert len(smtp_server.received) == 1 and len(fake_slack.received) == 1
    for row in rows:
        assert fresh(row).status == "sent"
        assert [a.ok for a in attempts(row)] == [True]


@pytest.mark.django_db(transaction=True)
def test_a_late_worker_does_not_overwrite_a_row_requeued_after_its_lease(fake_slack, team_search, settings):
    from dashboard.models import Alert
    from tests.dashboard.alerts.conftest import alert_fields

    settings.SLACK_TIMEOUT_SECONDS = 10.0
    alert = Alert.objects.create(**alert_fields(team=team_search, scope_id=team_search.pk))
    slack = NotificationChannel(name="#costs", kind="slack")
    slack.set_webhook_url(fake_slack.url())
    slack.save()
    row = queue(alert, slack)
    # The first worker's send hangs, then fails; meanwhile its lease runs out and another worker sends.
    fake_slack.script(Reply(500, "internal_error", delay=2), Reply(200, "ok"))
    later = NOW + (settings.ALERT_CLAIM_LEASE_SECONDS + 1) * SECONDS

    def slow_worker():
        return deliver_one(row.pk, now=NOW)

    def second_worker():
        wait_until(lambda: fake_slack.received, timeout=10, what="the first worker's request", interval=0.05)
        return deliver_due(now=later)

    slow, second = in_threads(slow_worker, second_worker)
    assert slow == "skipped" and (second["requeued"], second["sent"]) == (1, 1)
    row = fresh(row)
    assert (row.status, row.sent_at, row.last_error) == ("sent", later, "")
    # Every attempt is on record: the interruption, the late worker's 500, the second worker's send.
    outcomes = sorted((a.ok, a.status_code or 0) for a in attempts(row))
    assert outcomes == [(False, 0), (False, 500), (True, 200)]


# --- test messages -----------------------------------------------------------------------------------------
def test_send_test_delivers_inline_and_says_who_asked(fake_slack, slack_channel, member_search):
    row = send_test(slack_channel, user=member_search, now=NOW)
    assert (row.status, row.event, row.alert, row.requested_by) == ("sent", "test", None, member_search)
    [payload] = fake_slack.delivered
    assert_block_kit(payload)
    assert payload["blocks"][0]["text"]["text"] == "Test message from the SageMaker cost dashboard"
    assert "requested by sam at 2026-11-20 10:17 UTC" in payload["blocks"][2]["elements"][0]["text"]


def test_send_test_reports_a_transient_failure_and_the_outbox_retries_it(smtp_server, email_channel):
    smtp_server.stop()
    row = send_test(email_channel, now=NOW)
    assert row.status == "pending" and "Connection refused" in row.last_error
    smtp_server.start()
    deliver_due(now=NOW + 60 * SECONDS)
    [email] = smtp_server.received
    assert email["Subject"] == "Test message from the SageMaker cost dashboard"


def test_send_test_reaches_a_disabled_channel_so_a_fix_can_be_checked(fake_slack, slack_channel):
    NotificationChannel.objects.filter(pk=slack_channel.pk).update(enabled=False, disabled_reason="404")
    assert send_test(fresh(slack_channel), now=NOW).status == "sent"
    assert len(fake_slack.delivered) == 1 and not fresh(slack_channel).enabled


# --- secrets ---------------------------------------------------------------------------------------------
def test_secrets_never_appear_in_errors_last_error_or_logs(
    fake_slack, slack_channel, smtp_server, email_channel, alert, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.SLACK_TIMEOUT_SECONDS = 0.5
    secret_path = "/services/T0000/B0000/XXSECRETXXsecretpath"
    # A proxy echoing the request path in its error page, a timeout, a 429, and finally a removed webhook.
    fake_slack.script(
        Reply(502, f"bad gateway for POST {secret_path}"),
        Reply(delay=5),
        Reply(429, "slow"),
        Reply(404, "no_service"),
    )
    slack_row = queue(alert, slack_channel)
    for _ in range(4):
        deliver_due(now=fresh(slack_row).next_attempt_at)
    assert fresh(slack_row).status == "failed" and len(fake_slack.received) == 4
    assert fake_slack.paths == [secret_path] * 4  # the secret really was in use

    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "alerts", "pw-XXSMTPSECRETXX"
    smtp_server.stop()
    smtp_server.auth = True
    smtp_server.start()
    email_row = queue(alert, email_channel)
    deliver_due(now=NOW)
    assert fresh(email_row).status == "failed" and "535" in fresh(email_row).last_error
    assert set(smtp_server.logins) == {("alerts", "pw-XXSMTPSECRETXX")}  # PLAIN, then LOGIN

    shown = [a.error for a in DeliveryAttempt.objects.all()]
    shown += [r.last_error for r in Notification.objects.all()]
    shown += [fresh(slack_channel).disabled_reason, caplog.text]
    assert len(caplog.records) >= 5
    for text in shown:
        assert "XXSECRETXX" not in text and "XXSMTPSECRETXX" not in text
    assert "127.0.0.1/…path" in fresh(slack_channel).disabled_reason
