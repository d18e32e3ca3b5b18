"""GetMetricData / ListMetrics through real boto3 clients."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from collectors.simulator import SimulatedAWS

from .conftest import AMBIENT, MEMBER_TARGET, NOW, PAYER, day, dims, factory_for, query

SERVERLESS_METRICS = [
    "Invocations",
    "ModelLatency",
    "OverheadLatency",
    "Invocation4XXErrors",
    "MemoryUtilization",
]


def values_by_id(response) -> dict[str, list[float]]:
    return {r["Id"]: r["Values"] for r in response["MetricDataResults"]}


def fetch(cw, queries, start, end, **kwargs) -> dict[str, dict]:
    """All pages merged by Id: {id: {timestamp: value}}."""
    merged: dict[str, dict] = {}
    token = None
    while True:
        extra = {"NextToken": token} if token else {}
        page = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, **kwargs, **extra)
        for result in page["MetricDataResults"]:
            merged.setdefault(result["Id"], {}).update(
                zip(result["Timestamps"], result["Values"], strict=True)
            )
        token = page.get("NextToken")
        if not token:
            return merged


def test_500_queries_in_one_call_echo_their_ids_and_labels(world, cw):
    variants = [(ep.name, v.name) for ep in world.fleet.in_scope(PAYER, "us-east-1") for v in ep.variants]
    combos = itertools.cycle(
        itertools.product(variants, ["Invocations", "ModelLatency", "Invocation5XXErrors"])
    )
    queries = [
        query(f"q{i}", name, metric, "Sum", 300, variant=variant)
        for i, ((name, variant), metric) in zip(range(500), combos, strict=False)
    ]
    queries[0]["Label"] = "my label"
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=NOW - timedelta(hours=3), EndTime=NOW)
    results = answer["MetricDataResults"]
    assert [r["Id"] for r in results] == [q["Id"] for q in queries]
    assert results[0]["Label"] == "my label"
    assert results[1]["Label"] == queries[1]["MetricStat"]["Metric"]["MetricName"]
    assert all(r["StatusCode"] == "Complete" for r in results)
    assert "NextToken" not in answer
    assert sum(len(r["Values"]) for r in results) > 500 * 10

    too_many = [*queries, query("q500", "search-embed-serverless", "Invocations", "Sum")]
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=too_many, StartTime=NOW - timedelta(hours=3), EndTime=NOW)
    assert exc.value.response["Error"]["Code"] == "ValidationError"


def test_a_small_page_size_pages_with_next_token_and_partial_data(cw):
    small = factory_for(SimulatedAWS(seed=7, clock=lambda: NOW, metric_page_points=50))
    small_cw = small.client("cloudwatch", account=AMBIENT, region="us-east-1")
    queries = [
        query(f"m{i}", "search-embed-serverless", m, "Sum", 60) for i, m in enumerate(SERVERLESS_METRICS)
    ]
    start, end = NOW - timedelta(hours=3), NOW
    first = small_cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    assert "NextToken" in first
    assert sum(len(r["Values"]) for r in first["MetricDataResults"]) == 50
    assert {r["StatusCode"] for r in first["MetricDataResults"]} == {"PartialData"}
    assert [r["Id"] for r in first["MetricDataResults"]] == [q["Id"] for q in queries]

    paged = fetch(small_cw, queries, start, end)
    whole = fetch(cw, queries, start, end)
    assert paged == whole
    assert all(len(points) == 180 for points in whole.values())  # one point per minute, busy endpoint
    # MaxDatapoints caps a page as well.
    capped = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end, MaxDatapoints=100)
    assert sum(len(r["Values"]) for r in capped["MetricDataResults"]) == 100
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=queries[:1], StartTime=start, EndTime=end, NextToken="garbage")
    assert exc.value.response["Error"]["Code"] == "InvalidNextToken"


@pytest.mark.parametrize(
    "endpoint", ["search-embed-serverless", "recsys-ranker-serverless", "search-rerank-g5"]
)
def test_latency_is_in_microseconds_and_percentiles_are_ordered(cw, endpoint):
    stats = ["Minimum", "p50", "p90", "p95", "p99", "Maximum", "Average", "SampleCount"]
    queries = [query(f"s{i}", endpoint, "ModelLatency", s, 300) for i, s in enumerate(stats)]
    queries.append(query("inv", endpoint, "Invocations", "Sum", 300))
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=NOW - timedelta(hours=6), EndTime=NOW)
    series = dict(zip([*stats, "inv"], values_by_id(answer).values(), strict=True))
    assert len(series["p50"]) == 72
    for mn, p50, p90, p95, p99, mx in zip(*(series[s] for s in stats[:6]), strict=True):
        assert mn <= p50 <= p90 <= p95 <= p99 <= mx
    assert series["SampleCount"] == series["inv"]  # one latency sample per invocation
    # The designed medians are 25-160 ms: in microseconds, that is tens of thousands up to a few 100,000.
    assert all(10_000 < v < 1_000_000 for v in series["Average"])


def test_an_idle_endpoint_leaves_gaps_not_zeros(world, factory):
    cw = factory.client("cloudwatch", account=AMBIENT, region="eu-west-1")
    assert world.fleet.endpoint("nlp-legacy-inf2").role == "idle"
    queries = [
        query("inv", "nlp-legacy-inf2", "Invocations", "Sum", 3600),
        query("lat", "nlp-legacy-inf2", "ModelLatency", "Average", 3600),
        query("cpu", "nlp-legacy-inf2", "CPUUtilization", "Average", 3600),
    ]
    recent = values_by_id(cw.get_metric_data(MetricDataQueries=queries, StartTime=day(-10), EndTime=NOW))
    assert recent["inv"] == [] and recent["lat"] == []
    assert len(recent["cpu"]) == 10 * 24 + 11  # the host still reports every hour, to the 10:00 one today
    before = values_by_id(cw.get_metric_data(MetricDataQueries=queries, StartTime=day(-20), EndTime=day(-15)))
    assert len(before["inv"]) == 5 * 24 and min(before["inv"]) > 0

    sparse = factory.client("cloudwatch", account=MEMBER_TARGET, region="us-east-1")
    minutes = values_by_id(
        sparse.get_metric_data(
            MetricDataQueries=[query("inv", "scratch-demo-serverless", "Invocations", "Sum", 60)],
            StartTime=day(-1),
            EndTime=day(0),
        )
    )["inv"]
    assert 0 < len(minutes) < 1440
    assert min(minutes) > 0  # minutes without invocations have no data point at all


def test_sixty_second_data_is_kept_fifteen_days_only(cw):
    start, end = NOW - timedelta(days=20), NOW - timedelta(days=14)
    fine = fetch(cw, [query("f", "search-embed-serverless", "Invocations", "Sum", 60)], start, end)["f"]
    assert fine, "the part younger than 15 days is there"
    assert min(fine) >= NOW - timedelta(days=15)
    coarse = fetch(cw, [query("c", "search-embed-serverless", "Invocations", "Sum", 300)], start, end)["c"]
    assert min(coarse) < NOW - timedelta(days=19)
    old_start = NOW - timedelta(days=70)
    five = fetch(cw, [query("c", "search-embed-serverless", "Invocations", "Sum", 300)], old_start, day(-60))[
        "c"
    ]
    hourly = fetch(
        cw, [query("h", "search-embed-serverless", "Invocations", "Sum", 3600)], old_start, day(-60)
    )["h"]
    assert min(five) >= NOW - timedelta(days=63)
    assert min(hourly) < NOW - timedelta(days=69)


def test_serverless_endpoints_publish_no_cpu_gpu_or_disk(cw, world):
    queries = [
        query("cpu", "search-embed-serverless", "CPUUtilization", "Average"),
        query("gpu", "search-embed-serverless", "GPUUtilization", "Average"),
        query("disk", "search-embed-serverless", "DiskUtilization", "Average"),
        query("mem", "search-embed-serverless", "MemoryUtilization", "Average"),
    ]
    got = values_by_id(cw.get_metric_data(MetricDataQueries=queries, StartTime=day(-1), EndTime=NOW))
    assert got["cpu"] == got["gpu"] == got["disk"] == []
    assert got["mem"]
    listed = cw.list_metrics(Dimensions=[{"Name": "EndpointName", "Value": "search-embed-serverless"}])
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert "MemoryUtilization" in names and "ModelSetupTime" in names
    assert not names & {"CPUUtilization", "GPUUtilization", "DiskUtilization", "InvocationModelErrors"}
    gpu_names = {m["MetricName"] for m in cw.list_metrics(Dimensions=dims("vision-batch-p4d"))["Metrics"]}
    assert {"CPUUtilization", "GPUUtilization", "GPUMemoryUtilization", "DiskUtilization"} <= gpu_names
    assert "ModelSetupTime" not in gpu_names


def test_scan_order_units_and_dimension_matching(cw):
    q = [query("a", "search-embed-serverless", "ModelLatency", "Average", 300)]
    start, end = NOW - timedelta(hours=1), NOW
    newest_first = cw.get_metric_data(MetricDataQueries=q, StartTime=start, EndTime=end)["MetricDataResults"][
        0
    ]
    oldest_first = cw.get_metric_data(
        MetricDataQueries=q, StartTime=start, EndTime=end, ScanBy="TimestampAscending"
    )
    oldest_first = oldest_first["MetricDataResults"][0]
    assert newest_first["Timestamps"] == sorted(newest_first["Timestamps"], reverse=True)
    assert oldest_first["Timestamps"] == newest_first["Timestamps"][::-1]
    assert oldest_first["Values"] == newest_first["Values"][::-1]

    in_ms = query("ms", "search-embed-serverless", "ModelLatency", "Average", 300, Unit="Milliseconds")
    in_us = query("us", "search-embed-serverless", "ModelLatency", "Average", 300, Unit="Microseconds")
    name_only = query("n", "search-embed-serverless", "ModelLatency", "Average", 300)
    name_only["MetricStat"]["Metric"]["Dimensions"] = dims("search-embed-serverless")[:1]
    got = values_by_id(
        cw.get_metric_data(MetricDataQueries=[in_ms, in_us, name_only], StartTime=start, EndTime=end)
    )
    assert got["ms"] == [] and got["us"] and got["n"] == []

    math = {"Id": "e", "Expression": "SUM(METRICS())"}
    with pytest.raises(ClientError):
        cw.get_metric_data(MetricDataQueries=[math], StartTime=start, EndTime=end)


def test_designed_behaviours_show_in_the_metrics(factory):
    use1 = factory.client("cloudwatch", account=AMBIENT, region="us-east-1")
    euw1 = factory.client("cloudwatch", account=AMBIENT, region="eu-west-1")
    window = {"StartTime": day(-1), "EndTime": day(0)}
    got = values_by_id(
        use1.get_metric_data(
            MetricDataQueries=[
                query(
                    "util", "recsys-ranker-serverless", "ServerlessConcurrentExecutionsUtilization", "Maximum"
                ),
                query("e4", "recsys-ranker-serverless", "Invocation4XXErrors", "Sum"),
                query("inv", "recsys-ranker-serverless", "Invocations", "Sum"),
                query("mem6g", "search-embed-serverless", "MemoryUtilization", "Average", 86400),
                query("p4d", "vision-batch-p4d", "GPUUtilization", "Average", 86400),
                query("g5", "search-rerank-g5", "GPUUtilization", "Maximum", 86400),
            ],
            **window,
        )
    )
    assert max(got["util"]) >= 0.99  # throttling: at MaxConcurrency at the daily peak
    assert max(e / n for e, n in zip(got["e4"], got["inv"], strict=True)) > 0.05
    assert 10 < got["mem6g"][0] < 20  # ~0.9 GB of 6 GB
    assert got["p4d"][0] / 8 < 10  # 8 GPUs, a few percent each
    assert got["g5"][0] > 30

    cold = values_by_id(
        euw1.get_metric_data(
            MetricDataQueries=[
                query("mem", "recsys-features-serverless", "MemoryUtilization", "Average", 86400)
            ],
            **window,
        )
    )
    assert cold["mem"][0] < 30

    member = factory.client("cloudwatch", account=MEMBER_TARGET, region="us-east-1")
    got = values_by_id(
        member.get_metric_data(
            MetricDataQueries=[
                query("cold", "scratch-demo-serverless", "ModelSetupTime", "SampleCount", 86400),
                query("setup", "scratch-demo-serverless", "ModelSetupTime", "Average", 86400),
                query("runaway", "nlp-chat-serverless", "Invocations", "Sum", 86400),
            ],
            StartTime=day(-7),
            EndTime=day(0),
        )
    )
    assert got["cold"][0] > 5 and got["setup"][0] > 1_000_000  # seconds-long cold starts, in microseconds
    newest_three, older = got["runaway"][:3], got["runaway"][3:]
    assert min(newest_three) > 3 * max(older)

    pc = factory.client("cloudwatch", account=MEMBER_TARGET, region="eu-west-1")
    got = values_by_id(
        pc.get_metric_data(
            MetricDataQueries=[
                query(
                    "util", "search-query-pc", "ServerlessProvisionedConcurrencyUtilization", "Maximum", 86400
                ),
                query(
                    "on_pc", "search-query-pc", "ServerlessProvisionedConcurrencyInvocations", "Sum", 86400
                ),
                query(
                    "spill",
                    "search-query-pc",
                    "ServerlessProvisionedConcurrencySpilloverInvocations",
                    "Sum",
                    86400,
                ),
                query("inv", "search-query-pc", "Invocations", "Sum", 86400),
            ],
            **window,
        )
    )
    assert 0 < got["util"][0] <= 1
    assert got["on_pc"][0] + got["spill"][0] == got["inv"][0]


def test_later_pages_answer_as_of_the_first_page_even_if_the_clock_moves(cw):
    moments = [NOW]
    moving = SimulatedAWS(seed=7, clock=lambda: moments[-1], metric_page_points=40)
    moving_cw = factory_for(moving).client("cloudwatch", account=AMBIENT, region="us-east-1")
    queries = [query("inv", "search-embed-serverless", "Invocations", "Sum", 60)]
    start, end = NOW - timedelta(hours=2), NOW + timedelta(hours=1)
    merged, token = {}, None
    while True:
        page = moving_cw.get_metric_data(
            MetricDataQueries=queries, StartTime=start, EndTime=end, **({"NextToken": token} if token else {})
        )
        result = page["MetricDataResults"][0]
        merged.update(zip(result["Timestamps"], result["Values"], strict=True))
        moments.append(moments[-1] + timedelta(minutes=5))  # time passes between pages
        token = page.get("NextToken")
        if not token:
            break
    assert merged == fetch(cw, queries, start, end)["inv"]
    assert max(merged) < NOW  # nothing from minutes that had not elapsed at the first page
