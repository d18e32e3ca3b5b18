"""Issue #9, scenario 6: Redis restarted and Postgres restarted during a collection. Tasks resume or are
delivered again, and nothing is lost: the data ends equal to the fault-free run's.

Redis is the worker's own server, really restarted (SHUTDOWN SAVE, then started again on the same socket
and rdb file). Postgres is the test session's own embedded server, really stopped (fast shutdown), left
down for a few seconds (connections refused) and started again; with DATABASE_URL pointing at another
server, which a test must not restart, that test is skipped and the connections-cut test (every
connection the worker holds ended with pg_terminate_backend) still covers what a restart does to clients."""

import time

import pytest

from dashboard.models import CollectionRun
from tests.faults.harness import assert_same_data, fault_worker, reference, snapshot
from tests.faults.services import (
    embedded_postgres_server,
    restart_postgres,
    restart_redis,
    results_client,
    terminate_other_backends,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The first GetMetricData call waits, so the restart lands while a metrics task is in the middle of its
# run and the others are still queued.
SLOW = {"name": "slow", "service": "cloudwatch", "operation": "GetMetricData", "delay": 3, "times": 1}


def start_metrics(worker) -> list[str]:
    ids = worker.client.send_task("collectors.tasks.collect_all_metrics").get(timeout=60)
    wait_until(lambda: worker.plan.fired("slow") >= 1, timeout=60, what="a metrics task to reach AWS")
    return ids


def test_a_redis_restart_in_the_middle_of_a_collection_loses_no_task(tmp_path):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "redis", rules=[SLOW]) as worker:
        worker.fan_out("inventory")
        ids = start_metrics(worker)
        started = time.monotonic()
        restart_redis(worker)
        assert time.monotonic() - started < SLOW["delay"], "Redis was down longer than the task waited"
        client = results_client(worker)
        answers = [client.AsyncResult(i).get(timeout=300) for i in ids]
        assert [a["status"] for a in answers] == ["ok"] * len(ids), answers
        assert "Connection to broker lost" in worker.log()
        worker.fan_out("costs")
        worker.wait_idle()
    assert_same_data(expected, snapshot())


def test_postgres_connections_cut_in_the_middle_of_a_collection_are_retried_and_lose_nothing(tmp_path):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "postgres", rules=[SLOW]) as worker:
        worker.fan_out("inventory")
        ids = start_metrics(worker)
        assert terminate_other_backends(), "the worker had no connection to end"
        answers = [worker.client.AsyncResult(i).get(timeout=300) for i in ids]
        assert [a["status"] for a in answers] == ["ok"] * len(ids), answers
        # The task in the middle of its run failed on its next statement, and its retry completed it.
        [cut] = CollectionRun.objects.filter(kind="metrics", status="failed")
        assert "terminating connection" in cut.errors[0], cut.errors
        assert CollectionRun.objects.filter(task_id=cut.task_id, status="ok").count() == 1
        worker.fan_out("costs")
        worker.wait_idle()
    assert_same_data(expected, snapshot())


def test_a_postgres_restart_in_the_middle_of_a_collection_is_retried_and_loses_nothing(tmp_path):
    server = embedded_postgres_server()
    if server is None:
        pytest.skip("DATABASE_URL points at an external Postgres, which a test must not restart")
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "postgres-restart", rules=[SLOW]) as worker:
        worker.fan_out("inventory")
        ids = start_metrics(worker)
        restart_postgres(server, down_seconds=2)
        answers = [worker.client.AsyncResult(i).get(timeout=300) for i in ids]
        assert [a["status"] for a in answers] == ["ok"] * len(ids), answers
        # The task in the middle of its run lost its connection; its retry (5 s later) completed the scope.
        assert "OperationalError" in worker.log() and "Retry in" in worker.log()
        retried = [r for r in CollectionRun.objects.filter(kind="metrics") if r.status != "ok"]
        assert retried and all(
            CollectionRun.objects.filter(task_id=r.task_id, status="ok").count() == 1 for r in retried
        )
        worker.fan_out("costs")
        worker.wait_idle()
    assert_same_data(expected, snapshot())
