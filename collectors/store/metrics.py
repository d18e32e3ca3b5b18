"""Write fetched CloudWatch series into Postgres at COPY speed, idempotently.

One batch = one transaction. Points newer than anything stored for their series in the batch's span
(nearly all of them: a poll re-reads only a few minutes of overlap) are COPYed straight into the points
table, once; the rest (the overlap, a re-fetched window) go through a session-local staging table and one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE`. Then the hourly and daily rollups of the buckets the batch
touched are recomputed. A worker killed midway leaves nothing of the batch visible; re-polling an
overlapping window updates points instead of duplicating them. The endpoints' advisory locks keep another
writer from storing into these series between reading what is stored and writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from math import isfinite

from django.db import connection, transaction

from collectors.catalogue import spec as metric_spec
from collectors.model import SeriesResult
from collectors.store.summary import refresh_metric_summaries
from dashboard.models import MetricSeries

STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS metric_stage (
    series_id bigint NOT NULL, period integer NOT NULL, ts timestamptz NOT NULL,
    value double precision, raw double precision NOT NULL
) ON COMMIT DELETE ROWS
"""

# Within a batch each series appears once and its timestamps are unique (cloudwatch.fetch merges pages
# by timestamp), so the staged keys are unique: no DISTINCT ON sort is needed.
UPSERT_POINTS = """
INSERT INTO dashboard_metricpoint (series_id, period, ts, value, raw)
SELECT series_id, period, ts, value, raw FROM metric_stage
ON CONFLICT (series_id, period, ts) DO UPDATE SET value = EXCLUDED.value, raw = EXCLUDED.raw
WHERE (dashboard_metricpoint.value, dashboard_metricpoint.raw) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.raw)
"""

# Hourly: per hour, the finest period present wins (a backfilled hourly point and live 5-minute points
# for the same hour must not be added together). Sum/SampleCount add, Minimum/Maximum take the extreme,
# Average is the mean of the period averages, percentiles take the highest period value (an upper bound).
# The points are read by one primary-key range scan (series, ts) per series of the batch: the LATERAL
# subquery groups, so it cannot be flattened into a join (a table analyzed while nearly empty had the
# planner scan the ts index over every series' points of those hours), and the span is bounded by row
# comparisons on (series_id, ts), which only the primary key can serve. With `ts >= ... AND ts < ...`, a
# points table analyzed before these hours were stored (its statistics said they held no points) had the
# planner read them through the ts index once per series: every series' points for each series, 28 s
# instead of 0.25 s for the bench's 200-endpoint sample. The stat comes with each series id, not from a
# join. The caller passes the span as whole UTC hours; date_bin gives the same UTC hours as
# date_trunc(..., 'UTC') without a time-zone conversion per point (half the time). Each series' points
# are grouped inside its subquery: a few dozen rows sorted per series instead of the batch's points in
# one sort (on the bench's sample, 11 ms instead of 15).
# A bucket whose figures did not change is not rewritten: each hourly poll re-reads the last minutes of
# the previous hour, whose rollup is usually the same.
HOURLY_ROLLUP = """
INSERT INTO dashboard_metricrollup (series_id, resolution, bucket, value, points)
SELECT DISTINCT ON (s.id, g.bucket) s.id, '1h', g.bucket, g.value, g.points
FROM unnest(%(series)s::bigint[], %(stats)s::text[]) AS s(id, stat)
CROSS JOIN LATERAL (
    SELECT date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00+00') AS bucket, period,
           CASE WHEN s.stat IN ('Sum', 'SampleCount') THEN sum(value)
                WHEN s.stat = 'Minimum' THEN min(value)
                WHEN s.stat = 'Average' THEN avg(value)
                ELSE max(value) END AS value,
           count(*) AS points
    FROM dashboard_metricpoint
    WHERE series_id = s.id
      AND (series_id, ts) >= (s.id, %(hour_from)s) AND (series_id, ts) < (s.id, %(hour_to)s)
    GROUP BY 1, 2
) g
ORDER BY s.id, g.bucket, g.period
ON CONFLICT (series_id, resolution, bucket) DO UPDATE SET value = EXCLUDED.value, points = EXCLUDED.points
WHERE (dashboard_metricrollup.value, dashboard_metricrollup.points)
      IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.points)
"""

# Daily, from the hourly rollups with the same rules (so a day half backfilled hourly, half in 5-minute
# detail, counts every hour once). Average is the mean of hourly averages. Read and bucketed as the
# hourly rollup reads points (a range scan per series, whole UTC days from the caller, date_bin).
DAILY_ROLLUP = """
INSERT INTO dashboard_metricrollup (series_id, resolution, bucket, value, points)
SELECT h.series_id, '1d', date_bin('1 day', h.bucket, TIMESTAMPTZ '2000-01-01 00:00+00') AS day,
       CASE WHEN s.stat IN ('Sum', 'SampleCount') THEN sum(h.value)
            WHEN s.stat = 'Minimum' THEN min(h.value)
            WHEN s.stat = 'Average' THEN avg(h.value)
            ELSE max(h.value) END,
       sum(h.points)
FROM unnest(%(series)s::bigint[], %(stats)s::text[]) AS s(id, stat)
CROSS JOIN LATERAL (
    SELECT series_id, bucket, value, points FROM dashboard_metricrollup
    WHERE series_id = s.id AND resolution = '1h' AND bucket >= %(day_from)s AND bucket < %(day_to)s
    OFFSET 0
) h
GROUP BY h.series_id, s.stat, day
ON CONFLICT (series_id, resolution, bucket) DO UPDATE SET value = EXCLUDED.value, points = EXCLUDED.points
"""


# Binary COPY: no text formatting of timestamps and floats on either side.
STAGE_COPY = "COPY metric_stage (series_id, period, ts, value, raw) FROM STDIN (FORMAT BINARY)"
DIRECT_COPY = "COPY dashboard_metricpoint (series_id, period, ts, value, raw) FROM STDIN (FORMAT BINARY)"
STAGE_TYPES = ("int8", "int4", "timestamptz", "float8", "float8")

# Per series of the batch, the newest point already stored within the batch's span (index range scans
# over the overlap only); points after it cannot conflict with anything. One span for the whole batch (a
# GetMetricData batch shares one window): a series' stored point outside its own rows' span but inside
# the batch's only sends more of its rows through the upsert, and no per-series timestamps are sent. A
# subquery per series, so the plan is that index scan whatever the statistics say (on a table analyzed
# while small, a join here became a sequential scan of every point), bounded by row comparisons as the
# hourly rollup is (see there).
STORED_UNTIL = """
SELECT id, until FROM (
    SELECT s.id, (
        SELECT max(p.ts) FROM dashboard_metricpoint p
        WHERE p.series_id = s.id AND p.period = s.period
          AND (p.series_id, p.ts) >= (s.id, %(lo)s) AND (p.series_id, p.ts) <= (s.id, %(hi)s)
    ) AS until
    FROM unnest(%(series)s::bigint[], %(period)s::int[]) AS s(id, period)
) x
WHERE until IS NOT NULL
"""

LOCK_ENDPOINTS = """
SELECT e, pg_advisory_xact_lock(hashtextextended('metrics:' || e, 0)) FROM (
    SELECT DISTINCT endpoint_id AS e FROM dashboard_productionvariant WHERE id = ANY(%s) ORDER BY 1
) x
"""


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _utc_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _span(series: list[tuple[int, str]], first: datetime, last: datetime) -> dict:
    """The rollups' parameters: (series id, stat) pairs, and the whole UTC hours and days from `first`
    to `last` (both included)."""
    hour_from, hour_to = _utc_hour(first), _utc_hour(last) + HOUR
    return {
        "series": [sid for sid, _ in series], "stats": [stat for _, stat in series],
        "hour_from": hour_from, "hour_to": hour_to,
        "day_from": hour_from.replace(hour=0), "day_to": _utc_hour(last).replace(hour=0) + DAY,
    }  # fmt: skip


def refresh_daily_rollups(series: list[tuple[int, str]], first: datetime, last: datetime) -> None:
    """Recompute the daily rollups of these (series id, stat) from their hourly ones, for the UTC days
    from `first` to `last`."""
    if series:
        with connection.cursor() as cur:
            cur.execute(DAILY_ROLLUP, _span(series, first, last))


def _all_finite(raw: list) -> bool:
    try:
        return all(map(isfinite, raw))
    except TypeError:  # a None
        return False


@dataclass
class StoreStats:
    points: int = 0
    series: int = 0


def ensure_series(keys: Iterable[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
    """(variant id, metric, stat) -> series id, creating missing series in one statement."""
    keys = set(keys)
    if not keys:
        return {}
    variants = sorted({v for v, _, _ in keys})

    def stored() -> dict[tuple[int, str, str], int]:
        rows = MetricSeries.objects.filter(variant_id__any=variants).values_list(
            "variant_id", "metric", "stat", "id"
        )
        return {(v, m, s): pk for v, m, s, pk in rows if (v, m, s) in keys}

    # After a variant's first poll its series all exist: read them, and insert only when some are missing
    # (an insert of rows that all conflict still costs ten times the read).
    found = stored()
    if len(found) == len(keys):
        return found
    MetricSeries.objects.bulk_create(
        [
            MetricSeries(variant_id=v, metric=m, stat=s, unit=metric_spec(m).unit_for(s))
            for v, m, s in keys - found.keys()
        ],
        ignore_conflicts=True,
    )
    return stored()


def store_results(results: list[SeriesResult]) -> StoreStats:
    """Store every point of `results` (one GetMetricData batch) and refresh the rollups they touch."""
    stats = StoreStats()
    with transaction.atomic():
        # Two runs storing the same endpoints at once would each recompute rollups without the other's
        # uncommitted points: take the endpoints' locks, always in the same order (no deadlock).
        with connection.cursor() as cur:
            variants = sorted({r.query.variant.key for r in results})
            cur.execute(LOCK_ENDPOINTS, [variants])
            endpoints = [row[0] for row in cur.fetchall()]  # locked, and summarised below
        series = ensure_series((r.query.variant.key, r.query.metric, r.query.stat) for r in results)
        stat_of: dict[int, str] = {}  # the series stored into, and their statistic
        first: datetime | None = None
        last: datetime | None = None
        # (series id, period, rows), each row as the COPY writes it (built once, not per write).
        # CloudWatch never sends a non-finite raw value; a malformed answer must not poison a sum.
        batch = []
        for result in results:
            sid = series[(result.query.variant.key, result.query.metric, result.query.stat)]
            period = result.query.period
            if len(result.values) != len(result.timestamps) or len(result.raw) != len(result.timestamps):
                raise ValueError(f"series {sid}: timestamps, values and raw values do not pair up")
            if _all_finite(result.raw):  # what cloudwatch.fetch returns: zipped in C, no test per point
                rows = list(zip(repeat(sid), repeat(period), result.timestamps, result.values, result.raw))
            else:
                rows = [
                    (sid, period, ts, value, raw)
                    for ts, value, raw in zip(result.timestamps, result.values, result.raw, strict=True)
                    if raw is not None and isfinite(raw)
                ]
            if not rows:
                continue
            stat_of[sid] = result.query.stat
            # A superset of the stored points' span is enough: it bounds the rollups and the overlap
            # check (a stored point found at a dropped point's time only sends more rows through the
            # upsert).
            lo, hi = min(result.timestamps), max(result.timestamps)
            batch.append((sid, period, rows))
            stats.points += len(rows)
            first = lo if first is None or lo < first else first
            last = hi if last is None or hi > last else last
        if len(stat_of) != len(batch):  # the direct COPY relies on it (see UPSERT_POINTS)
            raise ValueError("a series appears twice in one batch")
        with connection.cursor() as cur:
            stored_until: dict[int, datetime] = {}
            if batch:
                cur.execute(STORED_UNTIL, {
                    "series": [sid for sid, _, _ in batch], "period": [period for _, period, _ in batch],
                    "lo": first, "hi": last,
                })  # fmt: skip
                stored_until = dict(cur.fetchall())
            overlap = [(stored_until[sid], rows) for sid, _, rows in batch if sid in stored_until]
            if overlap:
                cur.execute(STAGE_DDL)
                # ON COMMIT DELETE ROWS only empties it at commit; inside an outer transaction it must not
                # carry the previous batch's rows into this one. (DELETE, not TRUNCATE: on a table this
                # small TRUNCATE's new file per call costs more than the delete.)
                cur.execute("DELETE FROM metric_stage")
                with cur.cursor.copy(STAGE_COPY) as copy:
                    copy.set_types(STAGE_TYPES)
                    for until, rows in overlap:
                        for row in rows:
                            if row[2] <= until:
                                copy.write_row(row)
            if batch:
                with cur.cursor.copy(DIRECT_COPY) as copy:
                    copy.set_types(STAGE_TYPES)
                    write = copy.write_row
                    for sid, _, rows in batch:
                        until = stored_until.get(sid)
                        if until is None:  # nearly every series: nothing stored in its span yet
                            for row in rows:
                                write(row)
                        else:
                            for row in rows:
                                if row[2] > until:
                                    write(row)
            if overlap:
                cur.execute(UPSERT_POINTS)
            if stat_of:
                span = _span(sorted(stat_of.items()), first, last)
                cur.execute(HOURLY_ROLLUP, span)
                cur.execute(DAILY_ROLLUP, span)
                refresh_metric_summaries(endpoints, first, last)
        stats.series = len(stat_of)
    return stats


ADVANCE = """
INSERT INTO dashboard_metriccursor
    (variant_id, collected_from, collected_until, last_polled_at, last_invocation_at)
SELECT v, %(since)s, %(until)s, %(polled)s, inv
FROM unnest(%(variants)s::bigint[], %(invoked)s::timestamptz[]) AS u(v, inv)
ON CONFLICT (variant_id) DO UPDATE SET
    collected_from = LEAST(dashboard_metriccursor.collected_from, EXCLUDED.collected_from),
    collected_until = GREATEST(dashboard_metriccursor.collected_until, EXCLUDED.collected_until),
    last_polled_at = GREATEST(dashboard_metriccursor.last_polled_at, EXCLUDED.last_polled_at),
    last_invocation_at = GREATEST(dashboard_metriccursor.last_invocation_at, EXCLUDED.last_invocation_at)
"""


def advance_cursors(
    variant_ids: Iterable[int],
    *,
    since: datetime,
    until: datetime,
    polled_at: datetime,
    last_invocation: dict[int, datetime],
) -> None:
    """Record that these variants' metrics are stored for [since, until). One statement, and never
    backwards (LEAST/GREATEST), so two overlapping runs cannot undo each other."""
    ids = sorted(set(variant_ids))
    if not ids:
        return
    params = {
        "variants": ids, "invoked": [last_invocation.get(v) for v in ids],
        "since": since, "until": until, "polled": polled_at,
    }  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(ADVANCE, params)
