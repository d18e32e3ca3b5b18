"""Issue #9, scenario 5: a worker killed with SIGKILL in the middle of a bulk write. No partial batch is
visible, and the task, handed back to the broker (acks_late + reject_on_worker_lost), completes the
window.

The kill lands inside the write transaction for certain: the test holds a lock on the table the metrics
store writes last in its transaction (the endpoint summaries, after the points and rollups), waits until
the worker's backend is blocked on it, and kills the pool process there."""

import threading

import pytest
from django.db.models import Count

from dashboard.models import AwsAccount, CollectionRun, Endpoint
from tests.faults.harness import assert_same_data, fault_worker, reference, snapshot
from tests.faults.services import (
    backend_gone,
    connect,
    pool_processes,
    sigkill,
    waiting_for_lock,
    waits_for_lock,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STORED = """SELECT (SELECT count(*) FROM dashboard_metricpoint),
                   (SELECT count(*) FROM dashboard_metricrollup),
                   (SELECT count(*) FROM dashboard_endpointsummary)"""


def busiest_scope() -> tuple[AwsAccount, str]:
    scopes = Endpoint.objects.values("account", "region").annotate(n=Count("pk"))
    top = scopes.order_by("-n", "account", "region").first()
    return AwsAccount.objects.get(pk=top["account"]), top["region"]


def look_behind(conn, seen: dict) -> None:
    """Queue for the points table behind the killed transaction; once it is gone (and before the
    redelivered task can write), count what it left."""
    with conn.transaction():
        conn.execute("LOCK TABLE dashboard_metricpoint IN SHARE MODE")
        seen["points"], seen["rollups"], seen["summaries"] = conn.execute(STORED).fetchone()


def test_a_worker_killed_inside_a_metrics_write_leaves_no_partial_batch_and_the_redelivery_fills_it(tmp_path):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "killed") as worker:
        worker.fan_out("inventory")
        account, region = busiest_scope()
        [pool] = pool_processes(worker)
        seen: dict = {}
        with connect() as blocker, connect() as looker, connect(autocommit=True) as observer:
            blocker.execute("LOCK TABLE dashboard_endpointsummary IN SHARE MODE")
            task = worker.client.send_task("collectors.tasks.collect_metrics", args=[account.pk, region])
            # Points upserted and rolled up: the first batch's transaction waits at its last statement.
            [writer] = wait_until(
                lambda: waiting_for_lock(observer, "dashboard_endpointsummary"),
                timeout=120,
                what="the metrics store to block on the summaries",
            )
            [killed] = CollectionRun.objects.filter(kind="metrics", task_id=task.id)
            thread = threading.Thread(target=look_behind, args=(looker, seen))
            thread.start()
            looker_pid = looker.info.backend_pid
            wait_until(lambda: waits_for_lock(observer, looker_pid), timeout=30, what="the look to queue")
            sigkill(pool)
            blocker.commit()  # the killed transaction gets its lock, cannot answer its client, and dies
            wait_until(lambda: backend_gone(observer, writer), timeout=60, what="the killed backend to end")
            thread.join(timeout=60)
        assert seen == {"points": 0, "rollups": 0, "summaries": 0}, seen  # all or nothing, per batch

        answer = task.get(timeout=300)  # the message came back to the queue and ran again
        assert answer["status"] == "ok" and answer["stats"]["points"] > 0, answer
        assert "exited with 'signal 9 (SIGKILL)'" in worker.log()
        killed.refresh_from_db()
        assert killed.status == "failed" and "interrupted" in killed.errors[0], (killed.status, killed.errors)
        assert CollectionRun.objects.filter(kind="metrics", task_id=task.id).count() == 2

        worker.fan_out("metrics")  # the other accounts and regions
        worker.fan_out("costs")
        worker.wait_idle()
    assert_same_data(expected, snapshot())
