"""Figures shown on pages equal figures computed directly from the stored rows."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Max, Q, Sum
from django.test.utils import CaptureQueriesContext

from dashboard.models import Endpoint, EndpointCost, EndpointSummary, MetricPoint
from dashboard.services.costs import best_costs
from dashboard.services.figures import (
    RangeError,
    TimeRange,
    _figures_query,
    covering,
    endpoint_figures,
    midnight,
    parse_range,
    totals,
)
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 endpoints, 3 days collected)
from tests.conftest import NOW
from tests.support.plans import explain, plan_nodes


def test_ranges_parse_and_bad_ones_say_why():
    assert parse_range({}, NOW).key == "7d" and parse_range({}, NOW).live  # ends after NOW
    day = parse_range({"range": "24h"}, NOW)
    assert (day.start, day.end, day.resolution) == (
        datetime(2026, 11, 19, 11, tzinfo=UTC),
        datetime(2026, 11, 20, 11, tzinfo=UTC),
        "1h",
    )
    custom = parse_range({"range": "custom", "start": "2026-10-01", "end": "2026-10-31"}, NOW)
    assert custom.end - custom.start == timedelta(days=31) and custom.resolution == "1d" and not custom.live
    for bad, message in [
        ({"range": "1y"}, "unknown range"),
        ({"range": "custom", "start": "x"}, "YYYY-MM-DD"),
        ({"range": "custom", "start": "2026-10-02", "end": "2026-10-01"}, "ends before"),
    ]:
        with pytest.raises(RangeError, match=message):
            parse_range(bad, NOW)


def test_endpoint_figures_equal_the_stored_points_and_costs(fleet):  # noqa: F811
    rng = parse_range({"range": "7d"}, NOW)
    ids = list(Endpoint.objects.values_list("pk", flat=True))
    figures = endpoint_figures(ids, rng, today=NOW.date())
    for endpoint in Endpoint.objects.all():
        f = figures[endpoint.pk]
        points = MetricPoint.objects.filter(
            series__variant__endpoint=endpoint, ts__gte=rng.start, ts__lt=rng.end
        )
        invocations = points.filter(series__metric="Invocations").aggregate(s=Sum("value"))["s"] or 0
        assert f.invocations == pytest.approx(invocations), endpoint.name
        errors = (
            points.filter(series__metric__in=["Invocation4XXErrors", "Invocation5XXErrors"]).aggregate(
                s=Sum("value")
            )["s"]
            or 0
        )
        assert f.errors_4xx + f.errors_5xx == pytest.approx(errors)
        first, last = rng.days
        billed = best_costs([endpoint.pk], first, last)
        assert f.cost == (sum((c.amount for c in billed), Decimal(0)) if billed else None)
        if f.cost and f.cost_invocations:
            # Cost per 1k divides by the invocations of the same days as the cost.
            assert f.cost_per_1k == f.cost / Decimal(str(f.cost_invocations)) * 1000
        if f.invocations:
            assert f.p50 <= f.p95 <= f.p99 <= f.latency_max


def test_figures_take_a_fixed_number_of_queries(fleet):  # noqa: F811
    rng = parse_range({"range": "30d"}, NOW)
    ids = list(Endpoint.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as few:
        endpoint_figures(ids[:2], rng, today=NOW.date())
    with CaptureQueriesContext(connection) as many:
        totals(endpoint_figures(ids, rng, today=NOW.date()), today=NOW.date())
    assert len(few) == 2 and len(many) == 3  # summary rows and forecasts; totals: last month


def test_totals_add_up(fleet):  # noqa: F811
    rng = parse_range({"range": "30d"}, NOW)
    figures = endpoint_figures(Endpoint.objects.values_list("pk", flat=True), rng, today=NOW.date())
    t = totals(figures, today=NOW.date())
    assert t.endpoints == Endpoint.objects.count()
    mtd = sum(
        c.amount for c in best_costs(list(figures), NOW.date().replace(day=1), NOW.date() + timedelta(days=1))
    )
    assert t.mtd_cost == mtd and mtd > 0
    assert EndpointCost.objects.exists()


@pytest.mark.parametrize("live", [False, True])
def test_hourly_ranges_read_whole_days_from_daily_rows_with_the_same_figures(fleet, live):  # noqa: F811
    """A 7-day range reads the daily rows of its whole days and hourly rows for the hours at either end
    (a live range: today's daily row for today's hours); every figure equals the one computed from the
    hourly rows alone."""
    end = parse_range({"range": "7d"}, NOW).end
    # starts inside the collected days
    rng = TimeRange("7d", end - timedelta(days=2, hours=20), end, live=live)
    assert rng.start.hour and rng.end.hour and rng.resolution == "1h"  # hourly rows at both ends
    ids = list(Endpoint.objects.values_list("pk", flat=True))
    figures = endpoint_figures(ids, rng, today=NOW.date())
    hourly = EndpointSummary.objects.filter(resolution="1h", bucket__gte=rng.start, bucket__lt=rng.end)
    days = EndpointSummary.objects.filter(resolution="1d", bucket__gte=rng.start, bucket__lt=rng.end)
    assert days.filter(invocations__gt=0).exists()  # whole days with traffic are read from daily rows
    for edge in (
        hourly.filter(bucket__lt=rng.start + timedelta(hours=20)),
        hourly.filter(bucket__gte=NOW.replace(hour=0)),
    ):
        assert edge.filter(invocations__gt=0).exists()  # and so are the hours at either end
    checked = 0
    for pk in ids:
        mine = hourly.filter(endpoint_id=pk).aggregate(
            inv=Sum("invocations"), e5=Sum("errors_5xx"), cs=Sum("cold_starts"), p99=Sum("latency_p99_w"),
            w=Sum("latency_weight"), lmax=Max("latency_max"), mem=Max("memory_util_max"),
            cpu=Max("cpu_util_max"), gpu=Max("gpu_util_max"), thr=Max("concurrency_util_max"),
        )  # fmt: skip
        f = figures[pk]
        assert f.invocations == pytest.approx(mine["inv"] or 0)
        assert f.errors_5xx == pytest.approx(mine["e5"] or 0)
        assert f.cold_starts == pytest.approx(mine["cs"] or 0)
        assert f.p99 == (pytest.approx(mine["p99"] / mine["w"]) if mine["w"] else None)
        for attr, key in [("latency_max", "lmax"), ("memory_peak", "mem"), ("cpu_peak", "cpu"),
                          ("gpu_peak", "gpu"), ("throttle", "thr")]:  # fmt: skip
            assert getattr(f, attr) == mine[key], (pk, attr)
        checked += bool(mine["inv"])
    assert checked >= 4


@pytest.mark.parametrize("key", ["24h", "7d", "30d"])
def test_the_figures_statement_reads_each_row_it_needs_once_and_no_other(fleet, key):  # noqa: F811
    """Counted in the executed plan: the reads of the summary table return exactly the rows of the
    metric spans, the range's days and this month's days, each once (overlapping spans read once).
    Which index serves them follows the statistics (on this small table, not always the primary key)."""
    rng = parse_range({"range": key}, NOW)
    ids = list(Endpoint.objects.values_list("pk", flat=True))
    first, last = rng.days
    month = (midnight(NOW.date().replace(day=1)), midnight(NOW.date() + timedelta(days=1)))
    spans = [*covering(rng), ("1d", midnight(first), midnight(last)), ("1d", *month)]
    wanted = Q()
    for resolution, lo, hi in spans:
        wanted |= Q(resolution=resolution, bucket__gte=lo, bucket__lt=hi)
    needed = EndpointSummary.objects.filter(wanted, endpoint_id__in=ids).count()
    assert needed > len(ids) * 3  # every endpoint has rows in the spans

    plan = explain(*_figures_query(ids, rng, NOW.date()), analyze=True)
    scans = [n for n in plan_nodes(plan) if n.get("Relation Name") == EndpointSummary._meta.db_table]
    assert scans and all(n["Actual Loops"] == len(ids) for n in scans)  # each read once per endpoint
    assert round(sum(n["Actual Rows"] * n["Actual Loops"] for n in scans)) == needed


def test_range_and_month_costs_read_only_their_own_days(fleet):  # noqa: F811
    """One query reads the range's days and this month's: a range far before this month counts only its
    own days, and days between the two count in neither (nor set the currency)."""
    endpoint = Endpoint.objects.order_by("pk").first()
    this_month = endpoint_figures([endpoint.pk], parse_range({"range": "7d"}, NOW), today=NOW.date())
    rng = parse_range({"range": "custom", "start": "2026-06-01", "end": "2026-06-03"}, NOW)
    day = datetime(2026, 6, 2, tzinfo=UTC)
    for bucket, amount in ((day, "3"), (datetime(2026, 8, 1, tzinfo=UTC), "500")):  # in range; between
        EndpointSummary.objects.create(
            endpoint=endpoint, resolution="1d", bucket=bucket, cost=Decimal(amount), cost_source="tag",
            cost_estimated=False, currency="EUR" if amount == "500" else "USD",
        )  # fmt: skip
    f = endpoint_figures([endpoint.pk], rng, today=NOW.date())[endpoint.pk]
    assert (f.cost, f.cost_days, f.cost_sources, f.currency) == (Decimal(3), 1, {"tag"}, "USD")
    assert (
        f.mtd_cost == this_month[endpoint.pk].mtd_cost
        and f.mtd_sources == this_month[endpoint.pk].mtd_sources
    )


def test_cost_figures_count_only_the_days_that_have_a_cost(db):
    """A day with invocations but no cost yet (today, or a day Cost Explorer has not reached) adds
    nothing to the cost, its days or the invocations cost per 1k divides by; metrics count every day."""
    from tests.dashboard.test_lookups import make_endpoints

    endpoint = make_endpoints(1)[0]
    rng = TimeRange("custom", datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 13, tzinfo=UTC))
    rows = [  # (day, invocations, cost, source, estimated by AWS)
        (10, 100.0, "2", "resource", True),
        (11, 300.0, None, "", None),
        (12, 50.0, "1", "estimate", True),
    ]
    for day, invocations, cost, source, estimated in rows:
        EndpointSummary.objects.create(
            endpoint=endpoint, resolution="1d", bucket=datetime(2026, 11, day, tzinfo=UTC),
            invocations=invocations, cost=None if cost is None else Decimal(cost), cost_source=source,
            cost_estimated=estimated, currency="USD" if cost else "",
        )  # fmt: skip
    f = endpoint_figures([endpoint.pk], rng, today=NOW.date())[endpoint.pk]
    assert f.invocations == 450.0
    assert (f.cost, f.cost_days, f.cost_invocations) == (Decimal(3), 2, 150.0)
    assert f.cost_per_1k == Decimal(20)
    assert f.cost_sources == {"resource", "estimate"} and f.cost_estimated and f.currency == "USD"
    assert f.aws_estimated  # the resource day is still estimated by Cost Explorer
    assert (f.mtd_cost, f.mtd_sources) == (Decimal(3), {"resource", "estimate"})  # NOW is in November
