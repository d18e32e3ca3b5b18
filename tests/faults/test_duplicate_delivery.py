"""Issue #9, scenario 7: the same task delivered twice at once (Celery delivers at least once). Each
message below is published twice with the same task id, as a redelivery would be, to a worker with two
pool processes: collection still stores one set of rows (the fault-free run's), and a budget alert is
raised once, queued once and emailed once."""

import re
import uuid

import pytest

from dashboard.models import Alert, AwsAccount, BudgetRule, Notification, NotificationChannel
from tests.faults.harness import CLOCK, KINDS, assert_same_data, fault_worker, reference, snapshot
from tests.support.budgets import overspending_endpoint
from tests.support.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def send_twice(worker, name: str, *args) -> str:
    """Publish one task twice at once, under one id; returns the id."""
    task_id = str(uuid.uuid4())
    for _ in range(2):
        worker.client.send_task(name, args=list(args), task_id=task_id)
    return task_id


def deliveries(log: str, task_id: str) -> int:
    return len(re.findall(rf"Task [\w.]+\[{task_id}\] received", log))


def test_collection_tasks_delivered_twice_at_once_store_one_set_of_rows(tmp_path):
    expected = reference(tmp_path)
    accounts = list(AwsAccount.objects.order_by("account_id"))
    with fault_worker(tmp_path / "twice", concurrency=2) as worker:
        sent = []
        for kind in KINDS:
            name = f"collectors.tasks.collect_{kind}"
            scopes = [(a.pk,) for a in accounts] if kind == "costs" else [
                (a.pk, region) for a in accounts for region in a.regions
            ]  # fmt: skip
            sent += [send_twice(worker, name, *scope) for scope in scopes]
            worker.wait_idle()  # metrics need the inventory, costs the endpoints
        log = worker.log()
    # At least twice each (the Redis transport sometimes hands one of two same-id copies out once more).
    assert min(deliveries(log, task_id) for task_id in sent) >= 2
    assert_same_data(expected, snapshot())


def test_budget_evaluation_and_delivery_delivered_twice_at_once_send_one_email(tmp_path, smtp):
    BudgetRule.objects.all().delete()
    endpoint = overspending_endpoint(CLOCK.date(), account_id="999999999999")
    BudgetRule.objects.create(name="embed", scope="endpoint", endpoint=endpoint)
    NotificationChannel.objects.create(
        name="search mail", kind="email", team=endpoint.team, email_to=["search@example.com"]
    )
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp.port), "SITE_URL": "https://dash.example"}
    with fault_worker(tmp_path / "alerts", env=env, concurrency=2) as worker:
        evaluated = send_twice(worker, "dashboard.tasks.evaluate_budgets")
        worker.wait_idle()  # both evaluations, and the delivery each queued if it raised the alert
        delivered = send_twice(worker, "dashboard.tasks.deliver_notifications")
        worker.wait_idle()
        log = worker.log()
    assert deliveries(log, evaluated) >= 2 and deliveries(log, delivered) >= 2
    assert Alert.objects.count() == 1
    notification = Notification.objects.get()
    assert notification.status == "sent" and notification.deliveries.filter(ok=True).count() == 1
    assert len(smtp.received) == 1 and smtp.envelopes[0][1] == ["search@example.com"]
