"""Issue #9 scenario 8: alert delivery when the destinations misbehave. A budget rule fires in a real
Celery worker (its own process and Redis, the Postgres test database), which evaluates and delivers to
a real HTTPS stand-in for Slack (tests/support/slack.py) and a real SMTP server (tests/support/smtp.py):
Slack answering 429 with Retry-After, 500 and timing out, and the SMTP server refusing connections, are
retried until exactly one post / one email went out; a 404 webhook fails the message, disables the
channel and says why on the channels page. Every failed attempt is recorded with its error.

Retries are driven the way production drives them: the outbox is beat-driven (dashboard.tasks.
deliver_notifications every minute, a message being due once its next_attempt_at has passed), so the
test sends that task repeatedly, as beat would, with the retry base and cap set to seconds."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from dashboard.models import Alert, BudgetRule, DeliveryAttempt, Notification, NotificationChannel
from tests.support.budgets import overspending_endpoint
from tests.support.slack import FakeSlack, Reply
from tests.support.smtp import SmtpServer
from tests.support.waiting import wait_until
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SLACK_TIMEOUT = 1.0
# The backoff is 1 s whatever the attempt (base 1, cap 1), so a longer Retry-After is visibly obeyed.
RETRY_AFTER = 2
WORKER_ENV = {
    "ALERT_RETRY_BASE_SECONDS": "1",
    "ALERT_RETRY_MAX_SECONDS": "1",
    "ALERT_MAX_ATTEMPTS": "8",
    "SLACK_TIMEOUT_SECONDS": str(SLACK_TIMEOUT),
    "SLACK_WEBHOOK_HOSTS": "127.0.0.1",
    "SITE_URL": "https://dash.example",
}


@pytest.fixture
def slack(tmp_path):
    server = FakeSlack(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@contextmanager
def alert_worker(tmp_path, **env):
    # The worker must decrypt the webhook URL this process stored: same SECRET_KEY (ENCRYPTION_KEYS, when
    # set, is inherited from the environment), as the web and worker processes share it in production.
    with celery_worker(
        tmp_path, {**WORKER_ENV, "SECRET_KEY": settings.SECRET_KEY, **env}, "--concurrency", "1"
    ) as (client, proc):
        yield client
        assert proc.poll() is None, "the worker died"


def raise_alert(client) -> None:
    """Evaluation in the worker raises the alert and queues one message per channel (its first attempt
    is the delivery task the evaluation queues itself)."""
    answer = client.send_task("dashboard.tasks.evaluate_budgets").get(timeout=120)
    queued = NotificationChannel.objects.filter(enabled=True).count()
    assert answer["raised"] == 1 and answer["queued"] == queued, answer


def beat_until(client, predicate, *, what: str, timeout: float = 60):
    """Send the delivery task again and again, as beat does every minute, until `predicate` holds."""

    def tick():
        client.send_task("dashboard.tasks.deliver_notifications").get(timeout=60)
        return predicate()

    return wait_until(tick, timeout=timeout, what=what, interval=0.2)


def attempts_of(notification: Notification) -> list[DeliveryAttempt]:
    return list(notification.deliveries.order_by("started_at", "pk"))


def overspending_team_rule():
    BudgetRule.objects.all().delete()
    endpoint = overspending_endpoint()
    BudgetRule.objects.create(name="embed", scope="endpoint", endpoint=endpoint)
    return endpoint.team


def slack_channel(team, slack: FakeSlack) -> NotificationChannel:
    channel = NotificationChannel(name="#search-costs", kind="slack", team=team)
    channel.set_webhook_url(slack.url())  # stored encrypted, as the channel form stores it
    channel.save()
    return channel


def test_slack_rate_limits_errors_and_timeouts_are_retried_until_exactly_one_post_goes_through(
    tmp_path, slack
):
    team = overspending_team_rule()
    slack_channel(team, slack)
    slack.script(
        # Slow to answer (within the timeout): Retry-After counts from the answer, not from the request.
        Reply(429, body="rate_limited", headers={"Retry-After": str(RETRY_AFTER)}, delay=SLACK_TIMEOUT * 0.6),
        Reply(500, body="internal_error"),
        Reply(200, delay=SLACK_TIMEOUT + 2),  # answered only after the client gave up
    )
    with alert_worker(tmp_path, SLACK_CA_BUNDLE=str(slack.cert)) as client:
        raise_alert(client)
        beat_until(
            client, lambda: Notification.objects.filter(status="sent").exists(), what="the Slack post sent"
        )
        # More beats, and another evaluation, send nothing more.
        client.send_task("dashboard.tasks.deliver_notifications").get(timeout=60)
        again = client.send_task("dashboard.tasks.evaluate_budgets").get(timeout=120)
        assert again["raised"] == 0 and again["queued"] == 0, again

    assert len(slack.received) == 4, "429, 500, the timeout, then the post that went through"
    assert len(slack.delivered) == 1
    notification = Notification.objects.get()
    assert notification.alert == Alert.objects.get()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 4, "")
    first, second, third, fourth = attempts_of(notification)
    assert [(a.ok, a.permanent, a.status_code) for a in (first, second, third, fourth)] == [
        (False, False, 429), (False, False, 500), (False, False, None), (True, False, 200)
    ]  # fmt: skip
    assert "answered HTTP 429 'rate_limited' (rate limited)" in first.error
    assert "answered HTTP 500 'internal_error'" in second.error
    assert f"no answer within {SLACK_TIMEOUT:g}s" in third.error
    assert fourth.error == ""
    # Retry-After (2 s after the answer came) was obeyed, not just the 1 s backoff; each other retry
    # waited its backoff.
    assert second.started_at - first.finished_at >= timedelta(seconds=RETRY_AFTER)
    assert third.started_at - second.started_at >= timedelta(seconds=1)
    assert fourth.started_at - third.started_at >= timedelta(seconds=1)
    assert all("XXSECRETXX" not in a.error for a in (first, second, third)), "the webhook path is secret"


def test_an_smtp_server_refusing_connections_gets_the_alert_once_it_is_back(tmp_path, smtp):
    team = overspending_team_rule()
    NotificationChannel.objects.create(
        name="search mail", kind="email", team=team, email_to=["search@example.com"]
    )
    smtp.stop()  # down while the alert is raised: connecting is refused
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port), "EMAIL_TIMEOUT": "5"}
    with alert_worker(tmp_path, **env) as client:
        raise_alert(client)
        notification = Notification.objects.get()
        beat_until(
            client,
            lambda: notification.deliveries.filter(ok=False).count() >= 2,
            what="two refused attempts",
        )
        assert Notification.objects.get().status == "pending", "a refused connection is retried"
        smtp.start()  # same port
        smtp.refuse("451 4.3.0 queue full, try later")  # and the first message after it is deferred
        beat_until(client, lambda: Notification.objects.filter(status="sent").exists(), what="the email sent")
        client.send_task("dashboard.tasks.deliver_notifications").get(timeout=60)

    assert len(smtp.received) == 1
    assert [recipients for _, recipients in smtp.envelopes] == [["search@example.com"]]
    alert = Alert.objects.get()
    assert f"https://dash.example/alerts/{alert.pk}/" in smtp.received[0].get_body(("plain",)).get_content()
    notification.refresh_from_db()
    attempts = attempts_of(notification)
    refused, deferred, sent = attempts[:-2], attempts[-2], attempts[-1]
    assert len(refused) >= 2 and notification.attempts == len(attempts)
    for a in refused:
        assert not a.ok and not a.permanent
        assert a.error == f"SMTP server 127.0.0.1:{smtp.port} unreachable: Connection refused", a.error
    assert not deferred.ok and not deferred.permanent and deferred.status_code == 451
    assert deferred.error == "SMTP 451 4.3.0 queue full, try later"
    assert sent.ok and not sent.error
    assert (notification.status, notification.last_error) == ("sent", "")


def test_a_removed_slack_webhook_fails_the_message_and_disables_the_channel_saying_why(
    tmp_path, slack, django_user_model, client
):
    team = overspending_team_rule()
    channel = slack_channel(team, slack)
    member = django_user_model.objects.create_user("sam", password="correct horse battery")
    team.members.add(member)
    slack.script(Reply(404, body="no_service"))
    with alert_worker(tmp_path, SLACK_CA_BUNDLE=str(slack.cert)) as worker:
        raise_alert(worker)
        failed = Notification.objects.filter(status="failed")
        wait_until(failed.exists, timeout=60, what="the message failed")
        # Beat keeps running, and evaluation again: nothing more goes to a disabled channel.
        worker.send_task("dashboard.tasks.deliver_notifications").get(timeout=60)
        again = worker.send_task("dashboard.tasks.evaluate_budgets").get(timeout=120)
        assert again["queued"] == 0, again
        worker.send_task("dashboard.tasks.deliver_notifications").get(timeout=60)

    assert len(slack.received) == 1 and slack.delivered == []
    notification = Notification.objects.get()
    (attempt,) = attempts_of(notification)
    assert not attempt.ok and attempt.permanent and attempt.status_code == 404
    assert "answered HTTP 404 'no_service'" in attempt.error
    assert "the webhook no longer exists" in attempt.error
    assert (notification.status, notification.attempts, notification.last_error) == (
        "failed", 1, attempt.error
    )  # fmt: skip
    channel.refresh_from_db()
    assert not channel.enabled
    assert "disabled by delivery on" in channel.disabled_reason and attempt.error in channel.disabled_reason
    assert "XXSECRETXX" not in channel.disabled_reason

    client.force_login(member)
    listing = client.get(reverse("alert-channels"))
    assert listing.status_code == 200
    row = listing.content.decode().split(f'id="channel-{channel.pk}"')[1].split("</tr>")[0]
    assert "disabled" in row and escaped(channel.disabled_reason) in row
    page = client.get(reverse("alert-channel-edit", args=[channel.pk])).content.decode()
    assert 'id="disabled-reason"' in page and escaped(channel.disabled_reason) in page
    assert escaped(attempt.error) in page, "the failed attempt is listed with its error"


def escaped(text: str) -> str:
    return str(escape(text))
