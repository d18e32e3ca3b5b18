"""The harness itself: a fault-free run repeated gives the same snapshot (so a difference means a fault
changed the data), and an injected fault really reaches the worker's AWS calls and shows in the data."""

import pytest

from dashboard.models import CollectionRun
from tests.faults.harness import assert_same_data, differences, fault_worker, reference, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_second_fault_free_run_stores_exactly_the_reference_data(tmp_path):
    expected = reference(tmp_path)
    assert len(expected["MetricPoint"]) > 1000 and expected["EndpointCost"] and expected["CostForecast"]
    with fault_worker(tmp_path / "again") as worker:
        worker.collect()
    assert_same_data(expected, snapshot())


def test_an_injected_error_reaches_the_workers_aws_calls_and_the_stored_data(tmp_path):
    expected = reference(tmp_path)
    rule = {
        "name": "cw-denied",
        "service": "cloudwatch",
        "operation": "GetMetricData",
        "account": "111111111111",
        "region": "us-east-1",
        "error": {"code": "AccessDenied", "message": "not authorised (injected)", "status": 403},
    }
    with fault_worker(tmp_path / "faulty", rules=[rule]) as worker:
        results = worker.collect()
    assert worker.plan.fired("cw-denied") >= 1, worker.plan.counts("cw-denied")
    failed = CollectionRun.objects.get(kind="metrics", account__account_id="111111111111", region="us-east-1")
    assert failed.status == "failed" and "AccessDenied" in failed.errors[0]
    assert [r["status"] for r in results["metrics"]].count("failed") == 1
    assert "MetricPoint" in differences(expected, snapshot())
