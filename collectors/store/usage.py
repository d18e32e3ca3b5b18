"""Usage read back from stored metrics, for cost estimates: per variant and UTC day, invocations, the
seconds of compute they took (sum over periods of invocations x average ModelLatency), and the
invocations served by provisioned concurrency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import connection

# Per hour, the finest period stored wins: a day where a backfilled hourly series meets live 5-minute
# points counts each hour once, from its most detailed data.
USAGE = """
WITH points AS (
    SELECT inv.variant_id, p.period, p.ts, p.value AS invocations, l.value AS latency_ms, pc.value AS warm,
           min(p.period) OVER (PARTITION BY inv.variant_id, date_trunc('hour', p.ts, 'UTC')) AS finest
    FROM dashboard_metricseries inv
    JOIN dashboard_metricpoint p ON p.series_id = inv.id
    LEFT JOIN dashboard_metricseries lat
           ON lat.variant_id = inv.variant_id AND lat.metric = 'ModelLatency' AND lat.stat = 'Average'
    LEFT JOIN dashboard_metricpoint l ON l.series_id = lat.id AND l.period = p.period AND l.ts = p.ts
    LEFT JOIN dashboard_metricseries pcs
           ON pcs.variant_id = inv.variant_id AND pcs.stat = 'Sum'
          AND pcs.metric = 'ServerlessProvisionedConcurrencyInvocations'
    LEFT JOIN dashboard_metricpoint pc ON pc.series_id = pcs.id AND pc.period = p.period AND pc.ts = p.ts
    WHERE inv.metric = 'Invocations' AND inv.stat = 'Sum'
      AND inv.variant_id = ANY(%(variants)s)
      AND p.ts >= %(start)s::date AND p.ts < %(end)s::date
)
SELECT variant_id, (ts AT TIME ZONE 'UTC')::date AS day,
       sum(invocations), sum(invocations * latency_ms) / 1000.0, sum(warm)
FROM points WHERE period = finest
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
