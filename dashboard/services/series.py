"""Time series of one endpoint for charts and the API, read from rollups and summary rows (never raw
points): hourly buckets up to a week, daily beyond. Missing buckets are None, so a chart shows a gap,
not a zero."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from dashboard.models import EndpointSummary, MetricRollup
from dashboard.services.figures import TimeRange

STEP = {EndpointSummary.HOURLY: timedelta(hours=1), EndpointSummary.DAILY: timedelta(days=1)}


@dataclass
class Series:
    name: str  # e.g. "champion" or "ModelLatency p99"
    unit: str
    timestamps: list[datetime]
    values: list[float | None]


def buckets(rng: TimeRange) -> list[datetime]:
    step = STEP[rng.resolution]
    start = rng.start.replace(minute=0, second=0, microsecond=0)
    if rng.resolution == EndpointSummary.DAILY:
        start = start.replace(hour=0)
    out, t = [], start
    while t < rng.end:
        out.append(t)
        t += step
    return out


def metric_series(endpoint_id: int, metric: str, stat: str, rng: TimeRange) -> list[Series]:
    """One series per variant of the endpoint for a catalogue metric and statistic (one query)."""
    rows = (
        MetricRollup.objects.filter(
            series__variant__endpoint_id=endpoint_id, series__metric=metric, series__stat=stat,
            resolution=rng.resolution, bucket__gte=rng.start, bucket__lt=rng.end,
        )
        .values_list("series__variant__name", "series__unit", "bucket", "value")
        .order_by("series__variant__name", "bucket")
    )  # fmt: skip
    by_variant: dict[str, dict[datetime, float | None]] = defaultdict(dict)
    units: dict[str, str] = {}
    for variant, unit, bucket, value in rows:
        by_variant[variant][bucket] = value
        units[variant] = unit
    grid = buckets(rng)
    return [
        Series(v, units[v], grid, [points.get(t) for t in grid]) for v, points in sorted(by_variant.items())
    ]


SUMMARY_FIELDS = {
    "invocations": "count",
    "errors_4xx": "count",
    "errors_5xx": "count",
    "cold_starts": "count",
    "spillover": "count",
    "concurrency_util_max": "ratio",
    "memory_util_max": "percent",
    "cpu_util_max": "percent",
    "gpu_util_max": "percent",
    "gpu_memory_util_max": "percent",
    "latency_max": "ms",
}
WEIGHTED = {
    "latency_avg": "latency_avg_w",
    "p50": "latency_p50_w",
    "p95": "latency_p95_w",
    "p99": "latency_p99_w",
    "overhead_p99": "overhead_p99_w",
}


def summary_series(endpoint_id: int, fields: list[str], rng: TimeRange) -> dict[str, Series]:
    """Endpoint-level series (all variants together) from the summary rows, one query. `fields` are
    names of SUMMARY_FIELDS, of WEIGHTED (invocation-weighted latencies in ms), 'cold_start_rate',
    'error_rate', or 'cost' (daily rows only, Decimal)."""
    rows = {
        r.bucket: r
        for r in EndpointSummary.objects.filter(
            endpoint_id=endpoint_id, resolution=rng.resolution, bucket__gte=rng.start, bucket__lt=rng.end
        )
    }
    grid = buckets(rng)
    out: dict[str, Series] = {}
    for name in fields:
        values: list = []
        for t in grid:
            row = rows.get(t)
            values.append(None if row is None else _value(row, name))
        unit = SUMMARY_FIELDS.get(name) or (
            "ms" if name in WEIGHTED else "ratio" if name.endswith("_rate") else ""
        )
        out[name] = Series(name, unit or "USD", grid, values)
    return out


def _value(row: EndpointSummary, name: str):
    if name in SUMMARY_FIELDS:
        return getattr(row, name)
    if name in WEIGHTED:
        return getattr(row, WEIGHTED[name]) / row.latency_weight if row.latency_weight else None
    if name == "cold_start_rate":
        return row.cold_starts / row.invocations if row.invocations else None
    if name == "error_rate":
        return (row.errors_4xx + row.errors_5xx) / row.invocations if row.invocations else None
    if name == "cost":
        return row.cost if row.cost is not None else None
    if name == "cost_estimate":
        return row.cost_estimate
    raise KeyError(f"unknown series {name!r}")


def daily_costs(endpoint_id: int, rng: TimeRange) -> list[tuple[datetime, Decimal | None, str, bool | None]]:
    """(day, best cost, its source, estimated?) per day of the range, from the daily summary rows."""
    first, last = rng.days
    rows = {
        r.bucket.date(): r
        for r in EndpointSummary.objects.filter(
            endpoint_id=endpoint_id, resolution=EndpointSummary.DAILY,
            bucket__date__gte=first, bucket__date__lt=last,
        )
    }  # fmt: skip
    out = []
    day = first
    while day < last:
        r = rows.get(day)
        out.append((day, r.cost if r else None, r.cost_source if r else "", r.cost_estimated if r else None))
        day += timedelta(days=1)
    return out
