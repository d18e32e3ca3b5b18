"""Issue #9, scenario 1: CloudWatch `Throttling`, Cost Explorer `LimitExceededException` and SageMaker
`ThrottlingException`, in bursts that outlast the retries (the plan answers at botocore's before-call,
so every injected error reaches the collector as if botocore's retries were spent). The throttled run
records the failure on its CollectionRun and loses nothing already stored; the next run, at the same
clock and without faults, fills the gap, so the stored data equals the fault-free reference run's."""

import pytest

from dashboard.models import CollectionRun, Endpoint, EndpointEvent, ProductionVariant
from tests.faults.harness import (
    assert_same_data,
    cursored,
    differences,
    fault_worker,
    reference,
    run_of,
    scope_rows,
    snapshot,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MEMBER = "222222222222"  # reached by sts:AssumeRole
PAYER = "111111111111"  # the ambient credentials' account


def throttle(name: str, service: str, operation: str, code: str, **match) -> dict:
    """A rule that throttles every matching call for as long as it is in the plan."""
    return {
        "name": name, "service": service, "operation": operation, **match,
        "error": {"code": code, "message": "Rate exceeded (injected)", "status": 400},
    }  # fmt: skip


def latest_run(kind: str, account: str, region: str = "") -> CollectionRun:
    return CollectionRun.objects.filter(kind=kind, account__account_id=account, region=region).latest("pk")


def test_a_cloudwatch_throttling_burst_that_outlasts_the_retries_is_filled_by_the_next_run(tmp_path):
    expected = reference(tmp_path)
    rule = throttle(
        "cw-throttled", "cloudwatch", "GetMetricData", "Throttling", account=MEMBER, region="us-east-1"
    )
    with fault_worker(tmp_path / "faulty", rules=[rule]) as worker:
        results = worker.collect()
        assert worker.plan.fired("cw-throttled") >= 1, worker.plan.counts("cw-throttled")
        throttled = run_of("metrics", MEMBER, "us-east-1")
        assert throttled.status in ("partial", "failed"), throttled.errors
        assert throttled.errors and all("Throttling" in e for e in throttled.errors), throttled.errors
        assert [r["status"] for r in results["metrics"]].count("ok") == len(results["metrics"]) - 1
        faulty = snapshot()
        assert scope_rows(expected, "MetricPoint", MEMBER, "us-east-1")
        assert not scope_rows(faulty, "MetricPoint", MEMBER, "us-east-1"), "a throttled batch was stored"
        assert "MetricPoint" in differences(expected, faulty)
        # Cursors of the throttled variants did not move; every other scope's did.
        assert cursored(MEMBER, "us-east-1") == set()
        assert cursored(MEMBER, "eu-west-1") and cursored(PAYER, "us-east-1")

        worker.plan.clear()
        recovery = worker.fan_out("metrics")
        worker.wait_idle()
    assert {r["status"] for r in recovery} == {"ok"}, recovery
    variants = ProductionVariant.objects.filter(
        endpoint__account__account_id=MEMBER, endpoint__region="us-east-1"
    )
    assert cursored(MEMBER, "us-east-1") == set(variants.values_list("endpoint__name", flat=True))
    assert_same_data(expected, snapshot())


def test_a_cost_explorer_limit_exceeded_burst_is_recorded_and_filled_by_the_next_run(tmp_path):
    expected = reference(tmp_path)
    rules = [
        throttle("ce-limited", "ce", "GetCostAndUsage", "LimitExceededException", account=MEMBER),
        # The payer has resource-level data (the member falls back to estimates).
        throttle("resources-limited", "ce", "GetCostAndUsageWithResources", "LimitExceededException",
                 account=PAYER),
    ]  # fmt: skip
    with fault_worker(tmp_path / "faulty", rules=rules) as worker:
        worker.collect()
        assert worker.plan.fired("ce-limited") >= 1, worker.plan.counts("ce-limited")
        assert worker.plan.fired("resources-limited") >= 1, worker.plan.counts("resources-limited")
        limited = run_of("costs", MEMBER)
        assert limited.status == "failed", (limited.status, limited.errors)
        assert [e.split(":")[:2] for e in limited.errors] == [["GetCostAndUsage", " LimitExceededException"]]
        payer = run_of("costs", PAYER)
        assert payer.status == "partial", (payer.status, payer.errors)
        assert payer.errors[0].startswith("GetCostAndUsageWithResources: LimitExceededException")
        faulty = snapshot()
        assert [r for r in expected["DailyCost"] if r[0] == MEMBER]
        assert not [r for r in faulty["DailyCost"] if r[0] == MEMBER], "a throttled cost read was stored"
        resource = [r for r in expected["EndpointCost"] if r[0][0] == PAYER and r[2] == "resource"]
        assert resource and not set(resource) & set(faulty["EndpointCost"])
        diff = differences(expected, faulty)
        assert "DailyCost" in diff and "EndpointCost" in diff
        # Cost Explorer's forecast of the rest of the month plus a month so far that lacks the days that
        # could not be read would understate the month: no account forecast comes from the throttled run.
        accounts = [r for r in faulty["CostForecast"] if r[0] == "account"]
        assert set(accounts) <= set(expected["CostForecast"]), diff
        assert limited.stats.get("forecast_kept"), limited.stats

        worker.plan.clear()
        recovery = worker.fan_out("costs")
        worker.wait_idle()
    assert {r["status"] for r in recovery} == {"ok"}, recovery
    assert_same_data(expected, snapshot())


def test_a_sagemaker_throttling_burst_on_one_endpoint_is_filled_by_the_next_run(tmp_path):
    expected = reference(tmp_path)
    name = "nlp-chat-serverless"  # one of three endpoints of the member account in us-east-1
    rule = throttle(
        "sm-throttled", "sagemaker", "DescribeEndpoint", "ThrottlingException", params={"EndpointName": name}
    )
    with fault_worker(tmp_path / "faulty", rules=[rule]) as worker:
        worker.collect()
        assert worker.plan.fired("sm-throttled") >= 1, worker.plan.counts("sm-throttled")
        throttled = run_of("inventory", MEMBER, "us-east-1")
        assert throttled.status == "partial", (throttled.status, throttled.errors)
        assert [e.split(":")[:2] for e in throttled.errors] == [[name, " ThrottlingException"]]
        stored = set(
            Endpoint.objects.filter(account__account_id=MEMBER, region="us-east-1").values_list("name")
        )
        assert stored == {("scratch-demo-serverless",), ("vision-segment-g5",)}
        faulty = snapshot()
        assert [r for r in scope_rows(expected, "MetricPoint", MEMBER, "us-east-1") if r[0][2] == name]
        assert not [r for r in scope_rows(faulty, "MetricPoint", MEMBER, "us-east-1") if r[0][2] == name]

        worker.plan.clear()
        worker.collect()
    assert_same_data(expected, snapshot())


def test_a_throttled_sagemaker_listing_or_describe_loses_and_deletes_nothing_already_stored(tmp_path):
    expected = reference(tmp_path)
    rules = [
        throttle("list-throttled", "sagemaker", "ListEndpoints", "ThrottlingException",
                 account=MEMBER, region="us-east-1"),
        throttle("describe-throttled", "sagemaker", "DescribeEndpoint", "ThrottlingException",
                 params={"EndpointName": "recsys-abtest"}),  # two variants, the payer's, in eu-west-1
    ]  # fmt: skip
    with fault_worker(tmp_path / "faulty") as worker:
        worker.fan_out("inventory")  # what is already stored when the throttling starts
        before = set(Endpoint.objects.values_list("account__account_id", "region", "name"))
        worker.plan.write(rules)
        worker.collect()
        assert worker.plan.fired("list-throttled") >= 1 and worker.plan.fired("describe-throttled") >= 1
        listing = latest_run("inventory", MEMBER, "us-east-1")
        describe = latest_run("inventory", PAYER, "eu-west-1")
        assert listing.status == "failed", listing.errors
        assert listing.errors[0].startswith("ListEndpoints: ThrottlingException")
        assert describe.status == "partial", describe.errors
        assert describe.errors[0].startswith("recsys-abtest: ThrottlingException")
    assert set(Endpoint.objects.values_list("account__account_id", "region", "name")) == before
    assert not Endpoint.objects.exclude(deleted_at=None).exists()
    assert not ProductionVariant.objects.exclude(removed_at=None).exists()
    assert not EndpointEvent.objects.filter(kind=EndpointEvent.Kind.DELETED).exists()
    # Their metrics were still collected: the throttled run's data is the fault-free run's.
    assert_same_data(expected, snapshot())
