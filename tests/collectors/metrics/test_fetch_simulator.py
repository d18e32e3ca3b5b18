"""fetch() against the simulated CloudWatch, through real boto3 clients: paging, percentiles, units, and
the result statuses and errors CloudWatch can answer (injected at the botocore level where the
simulator would not produce them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from collectors.aws.cloudwatch import fetch, metric_data_query
from collectors.metricplan import batches, plan, plan_queries, windows
from collectors.model import MetricQuery, Window
from tests.conftest import NOW

from .conftest import AMBIENT, MEMBER, cloudwatch, ref

LAST_3H = windows(NOW - timedelta(hours=3), NOW, NOW, 60)[0]  # 07:17-10:17, 180 minutes


def q(qid, variant, metric, stat, period) -> MetricQuery:
    return MetricQuery(qid, variant, metric, stat, period)


def as_points(series) -> dict:
    return {s.query.id: list(zip(s.timestamps, s.values, s.raw, strict=True)) for s in series}


def raw_answer(client, queries, window) -> dict[str, dict]:
    """What CloudWatch itself says for the same queries, every page merged: {id: {timestamp: value}}."""
    out: dict[str, dict] = {}
    token = None
    while True:
        page = client.get_metric_data(
            MetricDataQueries=[metric_data_query(x) for x in queries],
            StartTime=window.start,
            EndTime=window.end,
            **({"NextToken": token} if token else {}),
        )
        for r in page["MetricDataResults"]:
            out.setdefault(r["Id"], {}).update(zip(r["Timestamps"], r["Values"], strict=True))
        token = page.get("NextToken")
        if not token:
            return out


def status_spy(client) -> list[list[str]]:
    """The StatusCodes of every page, as botocore parsed them."""
    seen: list[list[str]] = []
    client.meta.events.register(
        "after-call.cloudwatch.GetMetricData",
        lambda parsed, **_: seen.append([r["StatusCode"] for r in parsed["MetricDataResults"]]),
    )
    return seen


def test_paging_merges_pages_into_the_same_series_as_an_unpaged_call(world, small_pages):
    variant = ref(world, "search-embed-serverless")
    queries = plan_queries([variant], 60)
    paged_client, paged_log = cloudwatch(small_pages)
    pages = status_spy(paged_client)
    whole_client, whole_log = cloudwatch(world)

    paged = fetch(paged_client, queries, LAST_3H)
    whole = fetch(whole_client, queries, LAST_3H)

    assert whole.pages == 1 and whole_log.as_dict() == {"cloudwatch:GetMetricData": 1}
    total = sum(len(s.raw) for s in whole)
    assert total > 1000
    assert paged.pages == -(-total // 50) == len(pages)
    assert paged_log.as_dict() == {"cloudwatch:GetMetricData": paged.pages}
    assert paged_log.metrics_requested == paged.pages * len(queries)
    assert "PartialData" in pages[0]  # followed to the end ...
    assert all(s.status == "Complete" for s in paged)  # ... where every query is Complete
    assert as_points(paged) == as_points(whole)
    invocations = next(s for s in paged if s.query.metric == "Invocations")
    assert len(invocations.timestamps) == 180  # a busy endpoint: one point per minute
    assert invocations.timestamps == sorted(invocations.timestamps)
    assert invocations.timestamps[0] == LAST_3H.start and invocations.timestamps[-1].tzinfo is not None
    assert [s.query for s in paged] == queries


def test_model_latency_percentiles_are_ordered_milliseconds_of_cloudwatchs_microseconds(world):
    client, _ = cloudwatch(world)
    variant = ref(world, "search-rerank-g5")
    stats = ["p50", "p90", "p95", "p99", "Maximum", "Average"]
    queries = [q(f"s{i}", variant, "ModelLatency", s, 300) for i, s in enumerate(stats)]
    window = windows(NOW - timedelta(hours=6), NOW, NOW, 300)[0]
    got = {s.query.stat: s for s in fetch(client, queries, window)}
    raw = raw_answer(client, queries, window)

    assert (window.start.hour, window.start.minute, window.end.hour, window.end.minute) == (4, 15, 10, 15)
    assert len(got["p50"].values) == 72  # 04:15-10:15: the unfinished 10:15 period is left out
    for p50, p90, p95, p99, mx in zip(*(got[s].values for s in stats[:5]), strict=True):
        assert p50 <= p90 <= p95 <= p99 <= mx
    for i, stat in enumerate(stats):
        series = got[stat]
        micro = [raw[f"s{i}"][t] for t in series.timestamps]
        assert series.raw == micro
        assert series.values == [v / 1000 for v in micro]
    assert all(10 < v < 1000 for v in got["Average"].values)  # tens of milliseconds, not microseconds


def test_cpu_and_gpu_are_stored_per_vcpu_and_per_gpu(world):
    client, _ = cloudwatch(world)
    p4d = ref(world, "vision-batch-p4d")
    assert (p4d.vcpus, p4d.gpu_count) == (96, 8)
    queries = [
        q("cpu", p4d, "CPUUtilization", "Average", 3600),
        q("gpu", p4d, "GPUUtilization", "Average", 3600),
    ]
    window = windows(NOW - timedelta(days=1), NOW, NOW, 3600)[0]
    cpu, gpu = fetch(client, queries, window)
    assert gpu.values and gpu.values == [r / 8 for r in gpu.raw]
    assert cpu.values and cpu.values == [r / 96 for r in cpu.raw]
    assert max(gpu.values) < 10  # the designed under-used p4d: a few percent per GPU
    assert all(0 <= v <= 100 for v in cpu.values)


def test_points_that_cannot_be_converted_keep_their_raw_value_and_that_is_said(world):
    client, _ = cloudwatch(world)
    unknown_vcpus = ref(world, "search-rerank-g5", vcpus=None)
    known = ref(world, "search-rerank-g5")
    window = windows(NOW - timedelta(hours=2), NOW, NOW, 3600)[0]
    (cpu,) = fetch(client, [q("cpu", unknown_vcpus, "CPUUtilization", "Maximum", 3600)], window)
    (normalised,) = fetch(client, [q("cpu", known, "CPUUtilization", "Maximum", 3600)], window)
    assert cpu.status == "Complete"
    assert cpu.values == [None, None]  # unknown, not invented
    assert cpu.raw == normalised.raw and len(cpu.raw) == 2 and cpu.timestamps == normalised.timestamps
    reason = "the variant's vCPU count is unknown, so CPUUtilization cannot be normalised"
    assert cpu.messages == [f"2 point(s) stored raw only: {reason}"]


def test_forbidden_and_internal_error_results_are_kept_with_their_messages(world, small_pages):
    client, _ = cloudwatch(small_pages)
    variant = ref(world, "search-embed-serverless")
    queries = [
        q(f"m{i}", variant, m, "Sum", 60) for i, m in enumerate(["Invocations", "Invocation4XXErrors"])
    ]
    queries.append(q("lat", variant, "ModelLatency", "p99", 60))
    pages, failed = [], []

    def inject(parsed, **_):
        pages.append(len(pages) + 1)
        parsed.setdefault("Messages", []).append({"Code": "Notice", "Value": f"page {len(pages)}"})
        for r in parsed["MetricDataResults"]:
            if r["Id"] == "m1":  # denied on every page
                r.update(StatusCode="Forbidden", Timestamps=[], Values=[])
                r["Messages"] = [{"Code": "AccessDenied", "Value": "not authorised for this metric"}]
            if r["Id"] == "lat" and r["Values"] and not failed:  # one page lost; later ones say Complete
                failed.append(len(pages))
                r.update(StatusCode="InternalError", Timestamps=[], Values=[])

    client.meta.events.register("after-call.cloudwatch.GetMetricData", inject)
    result = fetch(client, queries, LAST_3H)
    inv, denied, latency = result
    assert result.pages > 2
    assert inv.status == "Complete" and len(inv.values) == 180
    assert denied.status == "Forbidden" and denied.values == []
    assert denied.messages == ["AccessDenied: not authorised for this metric"]
    assert failed and failed[0] < result.pages
    assert latency.status == "InternalError", "a later Complete page must not hide the lost one"
    assert 0 < len(latency.values) < 180
    assert result.messages[:2] == ["Notice: page 1", "Notice: page 2"]
    assert result.incomplete == [denied, latency]


def test_a_query_still_partial_after_the_last_page_is_reported_as_partial(world):
    client, _ = cloudwatch(world)
    variant = ref(world, "search-embed-serverless")

    def still_partial(parsed, **_):
        parsed["MetricDataResults"][0]["StatusCode"] = "PartialData"  # and no NextToken

    client.meta.events.register("after-call.cloudwatch.GetMetricData", still_partial)
    (series,) = fetch(client, [q("inv", variant, "Invocations", "Sum", 60)], LAST_3H)
    assert series.status == "PartialData"
    assert series.values and "still PartialData" in series.messages[0]


def test_a_throttled_call_raises_client_error_to_the_caller(world):
    client, log = cloudwatch(world)  # total_max_attempts=1: the error surfaces at once
    variant = ref(world, "search-embed-serverless")

    def throttle(**_):
        body = {
            "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return AWSResponse(None, 400, {}, None), body

    client.meta.events.register_first("before-call.cloudwatch.GetMetricData", throttle)
    with pytest.raises(ClientError) as exc:
        fetch(client, [q("inv", variant, "Invocations", "Sum", 60)], LAST_3H)
    assert exc.value.response["Error"]["Code"] == "Throttling"
    assert log.as_dict() == {"cloudwatch:GetMetricData": 1}


def test_fetch_refuses_batches_cloudwatch_would_reject(world):
    client, log = cloudwatch(world)
    variant = ref(world, "search-embed-serverless")
    at_60 = [q(f"q{i}", variant, "Invocations", "Sum", 60) for i in range(501)]
    with pytest.raises(ValueError, match="at most 500"):
        fetch(client, at_60, LAST_3H)
    with pytest.raises(ValueError, match="unique"):
        fetch(client, [at_60[0], at_60[0]], LAST_3H)
    with pytest.raises(ValueError, match="period 300"):
        fetch(client, at_60[:2], Window(LAST_3H.start, LAST_3H.end, 300))
    with pytest.raises(ValueError, match="invalid"):
        fetch(client, [q("Q-1", variant, "Invocations", "Sum", 60)], LAST_3H)
    assert log.as_dict() == {}


@pytest.mark.parametrize(
    ("account", "region", "endpoint", "count"),
    [
        (None, "us-east-1", "search-embed-serverless", 18),
        (None, "us-east-1", "search-rerank-g5", 25),
        (MEMBER, "eu-west-1", "search-query-pc", 23),
    ],
)
def test_every_planned_query_of_a_busy_variant_comes_back_with_data(world, account, region, endpoint, count):
    client, log = cloudwatch(world, account or AMBIENT, region)
    variant = ref(world, endpoint)
    calls = plan([variant], NOW - timedelta(days=2), NOW, NOW, 3600)
    assert len(calls) == 1
    window, queries = calls[0]
    assert len(queries) == count
    result = fetch(client, queries, window)
    empty = [(s.query.metric, s.query.stat) for s in result if not s.values]
    # Cold starts happen only now and then on a busy endpoint; everything else is published every hour.
    assert {m for m, _ in empty} <= {"ModelSetupTime"}
    assert all(s.status == "Complete" for s in result)
    assert log.metrics_requested == count


def test_a_whole_region_fits_the_planned_calls(world):
    client, log = cloudwatch(world)
    variants = [
        ref(world, ep.name, v.name, key=i)
        for i, (ep, v) in enumerate(
            (ep, v) for ep in world.fleet.in_scope("111111111111", "us-east-1") for v in ep.variants
        )
    ]
    window = windows(NOW - timedelta(hours=2), NOW, NOW, 3600)[0]
    queries = plan_queries(variants, 3600)
    calls = batches(queries)
    assert len(calls) == -(-len(queries) // 500)
    fetched = [s for call in calls for s in fetch(client, call, window)]
    assert [s.query for s in fetched] == queries
    assert log.as_dict() == {"cloudwatch:GetMetricData": len(calls)}
    assert log.metrics_requested == len(queries)
