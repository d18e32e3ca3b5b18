"""Issue #9, scenario 2: GetMetricData `PartialData` with `NextToken`, and results marked `Forbidden` /
`InternalError`. Paging is real (the simulated CloudWatch pages at `metric_page_points`) and must not
change what is stored; a page lost midway loses its whole call, not half of it. A result that is not
Complete keeps its variant's cursor where it was, so the next run, at the same clock and without faults,
fetches that variant again and the stored data ends up equal to the fault-free reference run's."""

import math

import pytest

from dashboard.models import CollectionRun
from tests.faults.harness import (
    SPEC,
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

PAYER = "111111111111"
MEMBER = "222222222222"
PAGE_POINTS = 500  # the simulator's default page holds 100,800 points: one page per call


def test_paged_metric_data_is_stored_as_one_page_would_be_and_a_page_lost_midway_is_fetched_again(tmp_path):
    expected = reference(tmp_path)
    lost = {
        "name": "third-page-throttled", "service": "cloudwatch", "operation": "GetMetricData",
        "account": PAYER, "region": "eu-west-1", "skip": 2, "times": 1,
        "error": {"code": "Throttling", "message": "Rate exceeded (injected)", "status": 400},
    }  # fmt: skip
    env = {"AWS_SIMULATOR": f"{SPEC},metric_page_points={PAGE_POINTS}"}
    with fault_worker(tmp_path / "paged", rules=[lost], env=env) as worker:
        worker.collect()
        assert worker.plan.fired("third-page-throttled") == 1, worker.plan.counts("third-page-throttled")
        runs = list(CollectionRun.objects.filter(kind="metrics"))
        for run in runs:
            if run.stats.get("points"):
                # A page holds at most PAGE_POINTS points: fewer calls than this and it did not page.
                pages = run.api_calls["cloudwatch:GetMetricData"]
                assert pages >= math.ceil(run.stats["points"] / PAGE_POINTS) > 1, (run.api_calls, run.stats)
        broken = run_of("metrics", PAYER, "eu-west-1")
        assert broken.status == "failed" and broken.errors[0].startswith("GetMetricData"), broken.errors
        assert "Throttling" in broken.errors[0]
        faulty = snapshot()
        # The pages read before the lost one were not stored: the call as a whole failed.
        assert scope_rows(expected, "MetricPoint", PAYER, "eu-west-1")
        assert not scope_rows(faulty, "MetricPoint", PAYER, "eu-west-1")
        assert cursored(PAYER, "eu-west-1") == set()
        # Every other scope was read page by page and stored exactly what one page would have held.
        for account, region in ((PAYER, "us-east-1"), (MEMBER, "us-east-1"), (MEMBER, "eu-west-1")):
            rows = scope_rows(faulty, "MetricPoint", account, region)
            assert rows and rows == scope_rows(expected, "MetricPoint", account, region), (account, region)
        assert {r.status for r in runs} == {"ok", "failed"}, [(r.region, r.status) for r in runs]

        worker.plan.clear()
        recovery = worker.fan_out("metrics")
        worker.wait_idle()
    assert {r["status"] for r in recovery} == {"ok"}, recovery
    assert_same_data(expected, snapshot())


def test_forbidden_internal_error_and_partial_results_keep_their_variants_cursors_until_refetched(tmp_path):
    expected = reference(tmp_path)

    def rewrite(name: str, account: str, region: str, metric: str, status: str) -> dict:
        return {
            "name": name, "service": "cloudwatch", "operation": "GetMetricData", "account": account,
            "region": region,
            "results": {"metric": metric, "status": status, "code": status, "message": "injected"},
        }  # fmt: skip

    rules = [
        # Instance variants only: the payer's two serverless endpoints there are untouched.
        rewrite("cpu-internal-error", PAYER, "us-east-1", "CPUUtilization", "InternalError"),
        # Serverless variants only: the member's instance endpoint there is untouched.
        rewrite("setup-forbidden", MEMBER, "us-east-1", "ModelSetupTime", "Forbidden"),
        # Every variant; the points are kept, but the last page still says more is to come.
        rewrite("memory-partial", PAYER, "eu-west-1", "MemoryUtilization", "PartialData"),
    ]
    with fault_worker(tmp_path / "faulty", rules=rules) as worker:
        results = worker.collect()
        for rule in rules:
            assert worker.plan.fired(rule["name"]) >= 1, (rule["name"], worker.plan.counts(rule["name"]))
        # Three faulty scopes; the member's eu-west-1 and the third account's two (empty) regions are ok.
        assert sorted(r["status"] for r in results["metrics"]) == ["ok"] * 3 + ["partial"] * 3
        for account, region, metric, status in (
            (PAYER, "us-east-1", "CPUUtilization", "InternalError"),
            (MEMBER, "us-east-1", "ModelSetupTime", "Forbidden"),
            (PAYER, "eu-west-1", "MemoryUtilization", "PartialData"),
        ):
            run = run_of("metrics", account, region)
            assert run.status == "partial" and run.errors, (account, region, run.errors)
            assert all(f" {metric} " in e and f": {status}" in e for e in run.errors), run.errors
        faulty = snapshot()

        # The affected variants' cursors did not move; their neighbours' did.
        assert cursored(PAYER, "us-east-1") == {"search-embed-serverless", "recsys-ranker-serverless"}
        assert cursored(MEMBER, "us-east-1") == {"vision-segment-g5"}
        assert cursored(PAYER, "eu-west-1") == set()
        assert cursored(MEMBER, "eu-west-1") == {"search-query-pc", "nlp-translate-serverless"}

        # Forbidden / InternalError lose that metric's points only; PartialData keeps what came.
        def points(snap, account, region, metric=None):
            return [r for r in scope_rows(snap, "MetricPoint", account, region) if metric in (None, r[0][4])]

        for account, region, metric in (
            (PAYER, "us-east-1", "CPUUtilization"),
            (MEMBER, "us-east-1", "ModelSetupTime"),
        ):
            assert points(expected, account, region, metric) and not points(faulty, account, region, metric)
            others = [r for r in points(expected, account, region) if r[0][4] != metric]
            assert others and set(others) <= set(points(faulty, account, region))
        assert points(faulty, PAYER, "eu-west-1") == points(expected, PAYER, "eu-west-1")
        assert "MetricPoint" in differences(expected, faulty)

        worker.plan.clear()
        recovery = worker.fan_out("metrics")
        worker.wait_idle()
    assert {r["status"] for r in recovery} == {"ok"}, recovery
    for account, region in ((PAYER, "us-east-1"), (MEMBER, "us-east-1"), (PAYER, "eu-west-1")):
        assert len(cursored(account, region)) >= 2, (account, region)
    assert_same_data(expected, snapshot())
