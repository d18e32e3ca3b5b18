"""Windows per data age, queries per variant, and batches of at most 500, on a fixed clock."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from collectors.aws.cloudwatch import metric_data_query
from collectors.catalogue import specs_for
from collectors.metricplan import (
    AGE_GUARD,
    batches,
    period_for_age,
    plan,
    plan_queries,
    windows,
)
from collectors.model import INSTANCE, SERVERLESS, MetricQuery, VariantRef, Window
from tests.conftest import NOW

DAY = timedelta(days=1)
NO_GUARD = timedelta(0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def aligned(moment: datetime, period: int) -> bool:
    return (moment - EPOCH).total_seconds() % period == 0


@pytest.mark.parametrize(
    ("age", "preferred", "expected"),
    [
        (timedelta(days=14), 60, 60),
        (15 * DAY, 60, 60),  # exactly 15 days old: still minute data
        (15 * DAY + timedelta(seconds=1), 60, 300),
        (20 * DAY, 120, 300),
        (63 * DAY, 300, 300),
        (63 * DAY + timedelta(seconds=1), 300, 3600),
        (70 * DAY, 900, 3600),
        (70 * DAY, 7200, 7200),
        (timedelta(hours=1), 90, 120),  # standard-resolution data: whole minutes
        (timedelta(hours=1), 86400, 86400),
    ],
)
def test_period_for_age_is_the_smallest_period_cloudwatch_still_serves(age, preferred, expected):
    assert period_for_age(NOW - age, NOW, preferred, guard=NO_GUARD) == expected


def test_data_near_a_retention_boundary_is_treated_as_past_it():
    """CloudWatch judges age when the call arrives, after the plan's `now`."""
    assert timedelta(0) < AGE_GUARD
    almost_15 = NOW - 15 * DAY + AGE_GUARD / 2
    assert period_for_age(almost_15, NOW, 60, guard=NO_GUARD) == 60
    assert period_for_age(almost_15, NOW, 60) == 300
    assert period_for_age(NOW - 63 * DAY + AGE_GUARD / 2, NOW, 60) == 3600


def test_a_90_day_backfill_at_300s_is_hourly_beyond_63_days_and_five_minutely_after():
    got = windows(NOW - 90 * DAY, NOW, NOW, 300)
    # NOW is 10:17; 63 days ago plus the one-hour guard is 11:17, rounded up to the hour.
    assert got == [
        Window(at("2026-08-22T10:00"), at("2026-09-18T12:00"), 3600),
        Window(at("2026-09-18T12:00"), at("2026-11-20T10:15"), 300),
    ]


def test_a_backfill_at_60s_uses_3600_300_and_60_at_the_15_and_63_day_boundaries():
    got = windows(NOW - 90 * DAY, NOW, NOW, 60, guard=NO_GUARD)
    assert got == [
        Window(at("2026-08-22T10:00"), at("2026-09-18T11:00"), 3600),  # 63 days ago is 10:17
        # 15 days ago is 10:17: tiers meet on the hour, so no hour holds points of two periods.
        Window(at("2026-09-18T11:00"), at("2026-11-05T11:00"), 300),
        Window(at("2026-11-05T11:00"), at("2026-11-20T10:17"), 60),
    ]
    # The one-hour guard moves each boundary an hour younger.
    guarded = windows(NOW - 90 * DAY, NOW, NOW, 60)
    assert [w.end for w in guarded[:2]] == [at("2026-09-18T12:00"), at("2026-11-05T12:00")]


@pytest.mark.parametrize("preferred", [60, 120, 300, 420, 900, 3600, 86400])
@pytest.mark.parametrize("days_back", [0.2, 3, 14.99, 15, 20, 62.9, 63.05, 90, 400])
def test_windows_are_contiguous_aligned_and_allowed_for_their_age(preferred, days_back):
    start = NOW - timedelta(days=days_back) + timedelta(seconds=17)
    got = windows(start, NOW, NOW, preferred)
    if not got:  # the range lies within the current, unfinished period
        assert NOW - start < timedelta(seconds=preferred)
        return
    for w in got:
        assert w.start < w.end
        assert aligned(w.start, w.period) and aligned(w.end, w.period)
        assert w.period >= preferred
        assert period_for_age(w.start, NOW, preferred) <= w.period  # fine enough to be served
    for a, b in itertools.pairwise(got):
        assert a.end == b.start
        assert a.period > b.period  # coarser for older data, one window per period
    assert got[0].start <= start < got[0].start + timedelta(seconds=got[0].period)
    assert NOW - timedelta(seconds=got[-1].period) < got[-1].end <= NOW


def test_the_half_filled_last_period_is_left_for_the_next_run():
    # At 10:17 the 10:15 five-minute period is not over: its partial Sum would read as a traffic drop.
    assert windows(NOW - timedelta(hours=1), NOW, NOW, 300) == [
        Window(at("2026-11-20T09:15"), at("2026-11-20T10:15"), 300)
    ]
    assert windows(at("2026-11-20T10:15"), NOW, NOW, 300) == []
    assert windows(at("2026-11-19T00:00"), NOW, NOW, 86400) == [
        Window(at("2026-11-19T00:00"), at("2026-11-20T00:00"), 86400)
    ]


def test_an_end_in_the_future_is_cut_at_now_and_an_empty_range_gives_nothing():
    assert windows(NOW - timedelta(hours=1), NOW + DAY, NOW, 60)[-1].end == NOW
    assert windows(NOW, NOW, NOW, 60) == []
    assert windows(NOW - DAY, NOW - 2 * DAY, NOW, 60) == []


def test_data_older_than_455_days_is_not_asked_for():
    got = windows(NOW - 600 * DAY, NOW - 400 * DAY, NOW, 3600)
    assert got == [Window(at("2025-08-22T10:00"), at("2025-10-16T10:00"), 3600)]
    assert windows(NOW - 600 * DAY, NOW - 500 * DAY, NOW, 3600) == []


def test_naive_times_and_bad_periods_are_refused():
    with pytest.raises(ValueError, match="naive"):
        windows(datetime(2026, 11, 1), NOW, NOW, 60)  # naive on purpose
    for bad in (0, -60, 1.5):
        with pytest.raises(ValueError, match="positive"):
            windows(NOW - DAY, NOW, NOW, bad)


# --- queries and batches ----------------------------------------------------------------------------
def fleet(n: int) -> list[VariantRef]:
    shapes = [
        {"kind": SERVERLESS},
        {"kind": SERVERLESS, "provisioned_concurrency": True},
        {"kind": INSTANCE, "vcpus": 8, "gpu_count": 1},
    ]
    return [VariantRef(i, f"endpoint-{i}", f"variant-{i % 2}", **shapes[i % 3]) for i in range(n)]


def test_plan_ids_are_short_valid_unique_and_deterministic():
    variants = fleet(30)
    queries = plan_queries(variants, 300)
    assert len(queries) == sum(len(specs_for(v)) for v in variants)
    assert [q.id for q in queries] == [f"q{i}" for i in range(len(queries))]
    assert all(ID.match(q.id) for q in queries)
    assert queries == plan_queries(variants, 300)
    assert {q.period for q in queries} == {300}
    first = [q for q in queries if q.variant == variants[0]]
    assert [(q.metric, q.stat) for q in first] == [(m.key, s) for m, s in specs_for(variants[0])]


def test_every_query_asks_for_endpoint_name_then_variant_name():
    for q in plan_queries(fleet(3), 60):
        dims = metric_data_query(q)["MetricStat"]["Metric"]["Dimensions"]
        assert dims == [
            {"Name": "EndpointName", "Value": q.variant.endpoint_name},
            {"Name": "VariantName", "Value": q.variant.variant_name},
        ]


def test_501_queries_become_two_calls_of_500_and_1():
    queries = plan_queries(fleet(40), 300)[:501]
    assert len(queries) == 501
    calls = batches(queries)
    assert [len(c) for c in calls] == [500, 1]
    assert [q for c in calls for q in c] == queries
    assert batches(queries[:500]) == [queries[:500]]


def test_ids_in_a_call_map_back_to_their_variant_metric_and_stat():
    variants = fleet(40)
    queries = plan_queries(variants, 300)
    for call in batches(queries):
        requests = {r["Id"]: r for r in map(metric_data_query, call)}
        assert len(requests) == len(call)
        for q in call:
            stat = requests[q.id]["MetricStat"]
            assert stat["Metric"]["MetricName"] == q.metric
            assert stat["Stat"] == q.stat and stat["Period"] == 300
            assert stat["Metric"]["Dimensions"][0]["Value"] == q.variant.endpoint_name
    by_id = {q.id: q for q in queries}
    assert by_id["q0"].variant == variants[0] and (by_id["q0"].metric, by_id["q0"].stat) == (
        "Invocations",
        "Sum",
    )


def test_each_call_has_one_period_and_repeated_ids_are_renamed():
    hourly, minutely = plan_queries(fleet(2), 3600), plan_queries(fleet(2), 60)
    calls = batches([*hourly, *minutely])
    assert [{q.period for q in c} for c in calls] == [{3600}, {60}]
    same_period = plan_queries(fleet(1), 60) + plan_queries(fleet(1), 60)  # q0.. twice
    (call,) = batches(same_period)
    assert len({q.id for q in call}) == len(call)
    assert all(ID.match(q.id) for q in call)
    assert [(q.variant, q.metric, q.stat) for q in call] == [
        (q.variant, q.metric, q.stat) for q in same_period
    ]
    with pytest.raises(ValueError):
        batches(hourly, max_queries=501)


def test_plan_gives_one_window_and_at_most_500_queries_per_call():
    variants = fleet(60)
    calls = plan(variants, NOW - 90 * DAY, NOW, NOW, 300)
    per_window = len(plan_queries(variants, 300))
    assert len(calls) == 2 * -(-per_window // 500)
    for window, queries in calls:
        assert 0 < len(queries) <= 500
        assert {q.period for q in queries} == {window.period}
    assert [w.period for w, _ in calls] == sorted((w.period for w, _ in calls), reverse=True)


def test_a_plan_is_plain_data():
    q = plan_queries(fleet(1), 60)[0]
    assert isinstance(q, MetricQuery) and hash(q)
