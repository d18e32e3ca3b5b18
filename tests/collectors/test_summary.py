"""The per-endpoint summary rows pages read equal figures computed directly from the stored points."""

from datetime import timedelta

import pytest
from django.db.models import Max, Sum

from dashboard.models import EndpointCost, EndpointSummary, MetricPoint
from tests.conftest import NOW
from tests.support.fleet import collect_fleet


@pytest.fixture
def fleet(db):
    from collectors.simulator import SimulatedAWS

    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)
    collect_fleet(sim, metric_days=3, cost_days=2)
    return sim


def points(endpoint_name, metric, stat, start, end):
    return MetricPoint.objects.filter(
        series__variant__endpoint__name=endpoint_name, series__metric=metric, series__stat=stat,
        ts__gte=start, ts__lt=end, period=300,
    )  # fmt: skip


def test_hourly_and_daily_rows_equal_sums_and_peaks_of_the_points(fleet):
    day = (NOW - timedelta(days=1)).replace(hour=0, minute=0)
    hour = NOW.replace(minute=0) - timedelta(hours=3)
    for endpoint in fleet.fleet.endpoints:
        hourly = EndpointSummary.objects.get(endpoint__name=endpoint.name, resolution="1h", bucket=hour)
        inv = points(endpoint.name, "Invocations", "Sum", hour, hour + timedelta(hours=1)).aggregate(
            s=Sum("value")
        )["s"]
        assert hourly.invocations == pytest.approx(inv or 0)
        daily = EndpointSummary.objects.get(endpoint__name=endpoint.name, resolution="1d", bucket=day)
        end = day + timedelta(days=1)
        inv_day = points(endpoint.name, "Invocations", "Sum", day, end).aggregate(s=Sum("value"))["s"] or 0
        assert daily.invocations == pytest.approx(inv_day)
        mem = points(endpoint.name, "MemoryUtilization", "Maximum", day, end).aggregate(m=Max("value"))["m"]
        assert daily.memory_util_max == (pytest.approx(mem) if mem is not None else None)


def test_weighted_p99_of_a_single_variant_hour_is_the_invocation_weighted_period_p99(fleet):
    endpoint = fleet.fleet.by_role("throttling")[0]
    hour = NOW.replace(minute=0) - timedelta(hours=2)
    end = hour + timedelta(hours=1)
    inv = dict(points(endpoint.name, "Invocations", "Sum", hour, end).values_list("ts", "value"))
    p99 = dict(points(endpoint.name, "ModelLatency", "p99", hour, end).values_list("ts", "value"))
    row = EndpointSummary.objects.get(endpoint__name=endpoint.name, resolution="1h", bucket=hour)
    # The hourly rollup's p99 is the hour's highest 5-minute p99, weighted by the hour's invocations.
    assert row.latency_p99_w == pytest.approx(max(p99.values()) * sum(inv.values()))
    assert row.latency_weight == pytest.approx(sum(inv.values()))


def test_daily_cost_columns_hold_the_best_source_and_the_estimate(fleet):
    day = NOW.date() - timedelta(days=1)
    for cost in EndpointCost.objects.filter(day=day, source="resource"):
        row = EndpointSummary.objects.get(endpoint=cost.endpoint, resolution="1d", bucket__date=day)
        estimate = EndpointCost.objects.get(endpoint=cost.endpoint, day=day, source="estimate")
        assert (row.cost, row.cost_source, row.cost_estimate) == (cost.amount, "resource", estimate.amount)
    member_costs = EndpointCost.objects.filter(day=day, endpoint__account__role_arn__gt="")
    assert member_costs.exists()
    for cost in member_costs:
        row = EndpointSummary.objects.get(endpoint=cost.endpoint, resolution="1d", bucket__date=day)
        assert (row.cost, row.cost_source) == (cost.amount, "estimate")
