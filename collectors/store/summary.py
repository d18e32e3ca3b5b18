"""Keep dashboard_endpointsummary current: hourly rows from the hourly metric rollups, daily rows from
the hourly rows, and the daily cost columns from the per-endpoint costs. Called by the collectors in the
same transaction as the data they summarise."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import connection

METRIC_COLUMNS = [
    "invocations", "errors_4xx", "errors_5xx", "model_errors", "cold_starts", "cold_start_ms",
    "latency_avg_w", "latency_p50_w", "latency_p95_w", "latency_p99_w", "latency_weight", "latency_max",
    "overhead_p99_w", "concurrency_util_max", "spillover", "memory_util_max", "cpu_util_max",
    "gpu_util_max", "gpu_memory_util_max",
]  # fmt: skip
MAX_COLUMNS = {c for c in METRIC_COLUMNS if c.endswith("_max")}

# Per variant and hour, the invocations (weights for latency) and cold starts beside every rollup value.
HOURLY = f"""
WITH r AS (
    SELECT v.endpoint_id, s.variant_id, h.bucket, s.metric, s.stat, h.value
    FROM dashboard_metricrollup h
    JOIN dashboard_metricseries s ON s.id = h.series_id
    JOIN dashboard_productionvariant v ON v.id = s.variant_id
    WHERE h.resolution = '1h' AND v.endpoint_id = ANY(%(endpoints)s)
      AND h.bucket >= date_trunc('hour', %(start)s::timestamptz, 'UTC')
      AND h.bucket < date_trunc('hour', %(end)s::timestamptz, 'UTC') + interval '1 hour'
), w AS (
    SELECT r.*,
           max(value) FILTER (WHERE metric = 'Invocations' AND stat = 'Sum')
               OVER (PARTITION BY variant_id, bucket) AS n,
           max(value) FILTER (WHERE metric = 'ModelSetupTime' AND stat = 'SampleCount')
               OVER (PARTITION BY variant_id, bucket) AS cs
    FROM r
)
INSERT INTO dashboard_endpointsummary (endpoint_id, resolution, bucket, {", ".join(METRIC_COLUMNS)})
SELECT endpoint_id, '1h', bucket,
    coalesce(sum(value) FILTER (WHERE metric = 'Invocations' AND stat = 'Sum'), 0),
    coalesce(sum(value) FILTER (WHERE metric = 'Invocation4XXErrors'), 0),
    coalesce(sum(value) FILTER (WHERE metric = 'Invocation5XXErrors'), 0),
    coalesce(sum(value) FILTER (WHERE metric = 'InvocationModelErrors'), 0),
    coalesce(sum(value) FILTER (WHERE metric = 'ModelSetupTime' AND stat = 'SampleCount'), 0),
    coalesce(sum(value * cs) FILTER (WHERE metric = 'ModelSetupTime' AND stat = 'Average'), 0),
    coalesce(sum(value * n) FILTER (WHERE metric = 'ModelLatency' AND stat = 'Average'), 0),
    coalesce(sum(value * n) FILTER (WHERE metric = 'ModelLatency' AND stat = 'p50'), 0),
    coalesce(sum(value * n) FILTER (WHERE metric = 'ModelLatency' AND stat = 'p95'), 0),
    coalesce(sum(value * n) FILTER (WHERE metric = 'ModelLatency' AND stat = 'p99'), 0),
    coalesce(sum(n) FILTER (WHERE metric = 'ModelLatency' AND stat = 'p99' AND value IS NOT NULL), 0),
    max(value) FILTER (WHERE metric = 'ModelLatency' AND stat = 'Maximum'),
    coalesce(sum(value * n) FILTER (WHERE metric = 'OverheadLatency' AND stat = 'p99'), 0),
    max(value) FILTER (WHERE metric = 'ServerlessConcurrentExecutionsUtilization'),
    coalesce(sum(value) FILTER (WHERE metric = 'ServerlessProvisionedConcurrencySpilloverInvocations'), 0),
    max(value) FILTER (WHERE metric = 'MemoryUtilization' AND stat = 'Maximum'),
    max(value) FILTER (WHERE metric = 'CPUUtilization' AND stat = 'Maximum'),
    max(value) FILTER (WHERE metric = 'GPUUtilization' AND stat = 'Maximum'),
    max(value) FILTER (WHERE metric = 'GPUMemoryUtilization' AND stat = 'Maximum')
FROM w GROUP BY endpoint_id, bucket
ON CONFLICT (endpoint_id, resolution, bucket) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLUMNS)}
"""  # noqa: S608  (column names are constants above, values are bound)

DAILY = f"""
INSERT INTO dashboard_endpointsummary (endpoint_id, resolution, bucket, {", ".join(METRIC_COLUMNS)})
SELECT endpoint_id, '1d', date_trunc('day', bucket, 'UTC') AS day,
    {", ".join(f"max({c})" if c in MAX_COLUMNS else f"sum({c})" for c in METRIC_COLUMNS)}
FROM dashboard_endpointsummary
WHERE resolution = '1h' AND endpoint_id = ANY(%(endpoints)s)
  AND bucket >= date_trunc('day', %(start)s::timestamptz, 'UTC')
  AND bucket < date_trunc('day', %(end)s::timestamptz, 'UTC') + interval '1 day'
GROUP BY endpoint_id, day
ON CONFLICT (endpoint_id, resolution, bucket) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in METRIC_COLUMNS)}
"""  # noqa: S608

# Daily cost columns: the best source per endpoint and day (resource > tag > estimate) and the estimate.
COSTS = """
INSERT INTO dashboard_endpointsummary
    (endpoint_id, resolution, bucket, cost, cost_source, cost_estimated, currency, cost_estimate)
SELECT b.endpoint_id, '1d', (b.day::timestamp AT TIME ZONE 'UTC'), b.amount, b.source, b.estimated,
       b.currency, e.amount
FROM (
    SELECT DISTINCT ON (endpoint_id, day) endpoint_id, day, amount, source, estimated, currency
    FROM dashboard_endpointcost
    WHERE endpoint_id = ANY(%(endpoints)s) AND day >= %(start)s AND day < %(end)s
    ORDER BY endpoint_id, day, CASE source WHEN 'resource' THEN 0 WHEN 'tag' THEN 1 ELSE 2 END
) b
LEFT JOIN dashboard_endpointcost e
       ON e.endpoint_id = b.endpoint_id AND e.day = b.day AND e.source = 'estimate'
ON CONFLICT (endpoint_id, resolution, bucket) DO UPDATE SET
    cost = EXCLUDED.cost, cost_source = EXCLUDED.cost_source, cost_estimated = EXCLUDED.cost_estimated,
    currency = EXCLUDED.currency, cost_estimate = EXCLUDED.cost_estimate
"""


def refresh_metric_summaries(endpoint_ids: Iterable[int], start: datetime, end: datetime) -> None:
    """Recompute the hourly and daily summary rows of these endpoints for the hours [start, end]."""
    ids = sorted(set(endpoint_ids))
    if not ids:
        return
    params = {"endpoints": ids, "start": start, "end": end}
    with connection.cursor() as cur:
        cur.execute(HOURLY, params)
        cur.execute(DAILY, params)


def refresh_cost_summaries(endpoint_ids: Iterable[int], start: date, end: date) -> None:
    """Copy the best daily cost of these endpoints for days [start, end) into the daily summary rows."""
    ids = sorted(set(endpoint_ids))
    if not ids:
        return
    with connection.cursor() as cur:
        cur.execute(COSTS, {"endpoints": ids, "start": start, "end": end})
