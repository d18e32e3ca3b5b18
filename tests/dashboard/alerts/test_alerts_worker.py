"""Budget alerts end to end through a real Celery worker (a separate process, two pool processes) on a
real Redis, the real Postgres test database and a real SMTP server: the evaluation task raises the
alert, queues its message and the delivery task sends it; delivery tasks sent three more times at once,
and evaluation run again, still leave exactly one email."""

from __future__ import annotations

import pytest

from dashboard.models import (
    Alert,
    BudgetRule,
    Notification,
    NotificationChannel,
)
from tests.support.budgets import overspending_endpoint
from tests.support.smtp import SmtpServer
from tests.support.waiting import wait_until
from tests.support.worker import celery_worker

pytestmark = pytest.mark.slow


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_the_worker_evaluates_and_delivers_one_email_however_often_delivery_runs(tmp_path, smtp):
    BudgetRule.objects.all().delete()
    endpoint = overspending_endpoint()
    BudgetRule.objects.create(name="embed", scope="endpoint", endpoint=endpoint)
    NotificationChannel.objects.create(
        name="search mail", kind="email", team=endpoint.team, email_to=["search@example.com"]
    )
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port), "SITE_URL": "https://dash.example"}
    with celery_worker(tmp_path, env, "--concurrency", "2") as (client, proc):
        answer = client.send_task("dashboard.tasks.evaluate_budgets").get(timeout=180)
        assert answer["raised"] == 1 and answer["queued"] == 1, answer
        # The evaluation queued a delivery task itself; three more race it.
        racing = [client.send_task("dashboard.tasks.deliver_notifications") for _ in range(3)]
        for result in racing:
            result.get(timeout=120)
        wait_until(
            lambda: Notification.objects.filter(status="sent").exists(), timeout=120, what="the email sent"
        )
        again = client.send_task("dashboard.tasks.evaluate_budgets").get(timeout=180)
        assert again["raised"] == 0 and again["queued"] == 0
        client.send_task("dashboard.tasks.deliver_notifications").get(timeout=120)
        assert proc.poll() is None, "worker died"

    assert len(smtp.received) == 1
    message = smtp.received[0]
    assert smtp.envelopes[0][1] == ["search@example.com"]
    alert = Alert.objects.get()
    assert f"https://dash.example/alerts/{alert.pk}/" in message.get_body(("plain",)).get_content()
    notification = Notification.objects.get()
    assert notification.deliveries.filter(ok=True).count() == 1
