"""Usage read back from stored metrics, for cost estimates: per variant and UTC day, invocations, the
seconds of compute they took (sum over periods of invocations x average ModelLatency), and the
invocations served by provisioned concurrency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection

# One scan of the three series per variant (pivoted by conditional aggregation, no self-joins), a range
# of the primary key per series whatever the table statistics say. Per hour, the finest period stored
# wins: a day where a backfilled hourly series meets live 5-minute points counts each hour once.
USAGE = """
WITH s AS (
    SELECT id, variant_id, metric FROM dashboard_metricseries
    WHERE variant_id = ANY(%(variants)s)
      AND ((metric = 'Invocations' AND stat = 'Sum') OR (metric = 'ModelLatency' AND stat = 'Average')
           OR (metric = 'ServerlessProvisionedConcurrencyInvocations' AND stat = 'Sum'))
), points AS (
    SELECT s.variant_id, p.period, p.ts,
           max(p.value) FILTER (WHERE s.metric = 'Invocations') AS invocations,
           max(p.value) FILTER (WHERE s.metric = 'ModelLatency') AS latency_ms,
           max(p.value) FILTER (WHERE s.metric = 'ServerlessProvisionedConcurrencyInvocations') AS warm
    FROM dashboard_metricpoint p JOIN s ON s.id = p.series_id
    -- Bounded as (series_id, ts) row comparisons, which only the primary key serves: with ts >= / ts <
    -- a points table analyzed before these days were stored had the planner read them through the ts
    -- index once per series (as it did the hourly rollup's, in collectors.store.metrics).
    WHERE (p.series_id, p.ts) >= (s.id, %(start)s::date) AND (p.series_id, p.ts) < (s.id, %(end)s::date)
    GROUP BY s.variant_id, p.period, p.ts
), ranked AS (
    SELECT *, min(period) OVER (PARTITION BY variant_id, date_trunc('hour', ts, 'UTC')) AS finest
    FROM points WHERE invocations IS NOT NULL
)
SELECT variant_id, (ts AT TIME ZONE 'UTC')::date AS day,
       sum(invocations), sum(invocations * latency_ms) / 1000.0, sum(warm)
FROM ranked WHERE period = finest
GROUP BY variant_id, day
"""


@dataclass(frozen=True)
class DayUsage:
    invocations: float
    compute_seconds: float
    provisioned_invocations: float


def daily_usage(variant_ids: Iterable[int], start: date, end: date) -> dict[tuple[int, date], DayUsage]:
    """(variant id, day) -> usage, for days in [start, end)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    with connection.cursor() as cur:
        cur.execute(USAGE, {"variants": ids, "start": start, "end": end})
        return {
            (vid, day): DayUsage(float(inv or 0), float(secs or 0), float(pc or 0))
            for vid, day, inv, secs, pc in cur.fetchall()
        }
