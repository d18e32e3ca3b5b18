"""History for a benchmark fleet, written straight into Postgres with the row counts production holds.

Collecting 30 days of a 2,000-endpoint fleet through the simulator would mean generating ~60,000
variant-days of per-minute traffic (7 ms each) and storing ~90 million points: hours on this machine.
The pages, the forecasts and the alerts read the hourly and daily rollups, the endpoint summaries and the
costs, so those are what is written here, in SQL, one chunk of variants per statement:

- one series per (variant, metric, statistic) the catalogue polls, as the collectors would create them;
- hourly rollups of every series for the last HOURLY_DAYS (what the pages read at hourly resolution:
  ranges up to 7 days), with plausible shapes (a daily cycle, per-series levels), and the hourly and
  daily summaries of those days computed by the product's own SQL (collectors.store.summary);
- daily rollups and daily summaries for `days` days (`long_days` for a probe endpoint, so the endpoint
  page can be timed over a year);
- one estimated cost per endpoint and day, Cost Explorer daily rows per account, region and day, and
  the cost summaries, again through the product's refresh;
- cursors saying everything up to an hour ago is stored, so the next collection is an ordinary tick.

Production also keeps hourly rollups for 455 days; only their last week is written here (writing 30 days
of them for 2,000 endpoints took over 10 minutes), which leaves the hourly table smaller than it would be:
reads from it are primary-key range scans, whose cost grows with the rows read, not the table's size.
Raw 5-minute points are not generated: nothing on a page reads them, and production keeps them 35 days
(the points table would hold ~300 million rows at 2,000 endpoints, see the README's scaling note).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from collectors.catalogue import specs_for
from collectors.metrics import floor_hour, variant_ref
from collectors.store.metrics import ensure_series, refresh_daily_rollups
from collectors.store.summary import refresh_cost_summaries, refresh_metric_summaries
from dashboard.models import Endpoint, MetricSeries, ProductionVariant

CHUNK = 200  # variants per statement: about a million rows, one transaction each
HOURLY_DAYS = 8  # the pages' hourly ranges reach back 7 days

# Typical hourly values per (metric, statistic); Sum / SampleCount are per hour.
LEVELS = """
CASE
    WHEN s.metric = 'Invocations' THEN 3000
    WHEN s.metric IN ('Invocation4XXErrors', 'Invocation5XXErrors', 'InvocationModelErrors') THEN 3
    WHEN s.metric = 'ModelSetupTime' AND s.stat = 'SampleCount' THEN 2
    WHEN s.metric = 'ModelSetupTime' THEN 4000
    WHEN s.metric = 'ModelLatency' THEN 60
    WHEN s.metric = 'OverheadLatency' THEN 5
    WHEN s.metric = 'ServerlessConcurrentExecutionsUtilization' THEN 0.3
    WHEN s.metric LIKE '%%Utilization' THEN 40
    ELSE 10
END
"""

HOURLY = f"""
INSERT INTO dashboard_metricrollup (series_id, resolution, bucket, value, points)
SELECT s.id, '1h', b,
       ({LEVELS}) * (0.6 + (s.id %% 7) / 10.0) * (1 + 0.4 * sin(extract(epoch FROM b) / 13750.99 + s.id)),
       12
FROM dashboard_metricseries s
CROSS JOIN LATERAL generate_series(
    %(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour') AS b
WHERE s.variant_id = ANY(%(variants)s)
ON CONFLICT DO NOTHING
"""  # noqa: S608  (LEVELS is a constant)

# Days before the hourly span: one rollup per series and day (Sum / SampleCount: x24).
DAILY = f"""
INSERT INTO dashboard_metricrollup (series_id, resolution, bucket, value, points)
SELECT s.id, '1d', d,
       ({LEVELS}) * CASE WHEN s.stat IN ('Sum', 'SampleCount') THEN 24 ELSE 1 END
           * (0.6 + (s.id %% 7) / 10.0) * (1 + 0.2 * sin(extract(epoch FROM d) / 86400.0 + s.id)),
       288
FROM dashboard_metricseries s
CROSS JOIN LATERAL generate_series(
    %(start)s::timestamptz, %(end)s::timestamptz - interval '1 day', interval '1 day') AS d
WHERE s.variant_id = ANY(%(variants)s)
ON CONFLICT DO NOTHING
"""  # noqa: S608

# The daily summaries of those days, with the same shapes (the product derives them from hourly rows).
DAILY_SUMMARY = """
INSERT INTO dashboard_endpointsummary (endpoint_id, resolution, bucket, invocations, errors_4xx, errors_5xx,
    model_errors, cold_starts, cold_start_ms, latency_avg_w, latency_p50_w, latency_p95_w, latency_p99_w,
    latency_weight, latency_max, overhead_p99_w, concurrency_util_max, spillover, memory_util_max,
    cpu_util_max, gpu_util_max, gpu_memory_util_max)
SELECT e.id, '1d', d, n, n * 0.001, n * 0.0002, n * 0.0001, 40, 40 * 4000, n * 60, n * 50, n * 120,
       n * 200, n, 900, n * 8, 0.3, 0, 45, 30, 50, 40
FROM dashboard_endpoint e
CROSS JOIN LATERAL generate_series(
    %(start)s::timestamptz, %(end)s::timestamptz - interval '1 day', interval '1 day') AS d
CROSS JOIN LATERAL (
    SELECT 72000 * (0.6 + (e.id %% 7) / 10.0) * (1 + 0.2 * sin(extract(epoch FROM d) / 86400.0 + e.id)) AS n
) x
WHERE e.id = ANY(%(endpoints)s)
ON CONFLICT DO NOTHING
"""

COSTS = """
INSERT INTO dashboard_endpointcost
    (endpoint_id, day, source, amount, currency, estimated, detail, computed_at)
SELECT e.id, d::date, 'estimate',
       round((20 + (e.id %% 13) * 7.5) * (1 + 0.2 * sin(extract(epoch FROM d) / 86400.0 + e.id))::numeric, 6),
       'USD', false, '{}'::jsonb, %(now)s
FROM dashboard_endpoint e
CROSS JOIN generate_series(%(start)s::date, %(end)s::date - 1, interval '1 day') AS d
WHERE e.id = ANY(%(endpoints)s)
ON CONFLICT DO NOTHING
"""

DAILY_COSTS = """
INSERT INTO dashboard_dailycost
    (account_id, region, usage_type, day, unblended, amortized, currency, estimated, fetched_at)
SELECT e.account_id, e.region, 'bench-usage', c.day, sum(c.amount), sum(c.amount), 'USD', false, %(now)s
FROM dashboard_endpointcost c JOIN dashboard_endpoint e ON e.id = c.endpoint_id
WHERE c.source = 'estimate'
GROUP BY e.account_id, e.region, c.day
ON CONFLICT DO NOTHING
"""

CURSORS = """
INSERT INTO dashboard_metriccursor
    (variant_id, collected_from, collected_until, last_polled_at, last_invocation_at)
SELECT v.id, %(start)s, %(until)s, %(until)s, %(until)s FROM dashboard_productionvariant v
ON CONFLICT (variant_id) DO NOTHING
"""


@dataclass
class HistoryStats:
    series: int = 0
    hourly_rollups: int = 0
    endpoint_costs: int = 0
    seconds: float = 0.0


def build_history(now: datetime, days: int, *, long_days: int = 0, probes: int = 1) -> HistoryStats:
    """`days` of history up to the last complete hour before `now`; `long_days` for the first `probes`
    endpoints (the endpoint page's year-long view needs a year of data)."""
    import time

    started = time.perf_counter()
    until = floor_hour(now) - timedelta(hours=1)
    # Hourly data from a midnight on, so each of its days is summarised from all its hours.
    hourly_start = day_start = floor_hour(until - timedelta(days=min(days, HOURLY_DAYS))).replace(hour=0)
    start = floor_hour(until - timedelta(days=days)).replace(hour=0)
    long_start = floor_hour(until - timedelta(days=max(days, long_days))).replace(hour=0)
    stats = HistoryStats()
    variants = list(ProductionVariant.objects.select_related("endpoint", "instance_type").order_by("pk"))
    probe_endpoints = set(Endpoint.objects.order_by("pk").values_list("pk", flat=True)[:probes])
    for first in range(0, len(variants), CHUNK):
        chunk = variants[first : first + CHUNK]
        with transaction.atomic():
            keys = [(v.pk, m.key, stat) for v in chunk for m, stat in specs_for(variant_ref(v))]
            ensure_series(keys)
            stats.series += len(keys)
            ids = [v.pk for v in chunk]
            probes_here = [v.pk for v in chunk if v.endpoint_id in probe_endpoints]
            endpoints = {v.endpoint_id for v in chunk}
            with connection.cursor() as cur:
                cur.execute(HOURLY, {"variants": ids, "start": hourly_start, "end": until})
                stats.hourly_rollups += cur.rowcount
                for variant_ids, span_start in ((ids, start), (probes_here, long_start)):
                    if variant_ids and span_start < day_start:
                        cur.execute(DAILY, {"variants": variant_ids, "start": span_start, "end": day_start})
                probe_set = endpoints & probe_endpoints
                for endpoint_ids, span_start in ((endpoints, start), (probe_set, long_start)):
                    if endpoint_ids and span_start < day_start:
                        cur.execute(DAILY_SUMMARY, {"endpoints": sorted(endpoint_ids), "start": span_start,
                                                    "end": day_start})  # fmt: skip
                series = list(MetricSeries.objects.filter(variant_id__in=ids).values_list("pk", "stat"))
                refresh_daily_rollups(series, hourly_start, until)
            refresh_metric_summaries(endpoints, hourly_start, until)
    endpoints = list(Endpoint.objects.values_list("pk", flat=True))
    cost_end = now.date()  # today's cost is not known yet
    with transaction.atomic(), connection.cursor() as cur:
        for first in range(0, len(endpoints), CHUNK * 5):
            ids = endpoints[first : first + CHUNK * 5]
            cur.execute(COSTS, {"endpoints": ids, "start": start.date(), "end": cost_end, "now": now})
            stats.endpoint_costs += cur.rowcount
        if long_start < start and probe_endpoints:
            cur.execute(COSTS, {"endpoints": sorted(probe_endpoints), "start": long_start.date(),
                                "end": cost_end, "now": now})  # fmt: skip
            stats.endpoint_costs += cur.rowcount
        cur.execute(DAILY_COSTS, {"now": now})
        cur.execute(CURSORS, {"start": start, "until": until})
        refresh_cost_summaries(endpoints, long_start.date(), cost_end)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    stats.seconds = time.perf_counter() - started
    return stats
