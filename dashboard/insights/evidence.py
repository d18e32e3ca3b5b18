"""Evidence for the rules, read from stored rows: hourly metric rollups per variant, the inventory, the
polling cursors and the daily cost summary. Five queries (variants, their last shape change,
utilisations, an hourly pivot, billed costs) whatever the number of endpoints; nothing here reads raw
points or calls AWS.

Definitions (the rules' evidence shows them):
- utilisation peak = the highest hourly Maximum in the window; p99 = the 99th percentile of the hourly
  Maximum values; hours = hours with a value.
- latency p50/p95/p99 = the hourly percentile values weighted by the hour's invocations (percentiles
  cannot be combined exactly; this is the approximation the pages use too).
- compute seconds = sum over hours of the hour's invocations x its average ModelLatency (the hourly
  rollup's mean of the 5-minute averages): the duration serverless inference bills. Our cost estimates
  weight per 5-minute period instead; in an hour whose traffic is very uneven the two differ.
- evidence starts after the endpoint's last shape change (`shape_since`), so figures about one
  configuration are never read against another.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Q

from dashboard.insights.model import (
    HourProfile,
    InstanceShape,
    Prices,
    Thresholds,
    UtilStats,
    VariantEvidence,
)
from dashboard.models import EndpointEvent, InstanceType, ProductionVariant
from dashboard.services.catalogue import price_list

# (evidence attribute, metric, stat) read as utilisation statistics
UTILISATIONS = (
    ("memory", "MemoryUtilization", "Maximum"),
    ("cpu", "CPUUtilization", "Maximum"),
    ("gpu", "GPUUtilization", "Maximum"),
    ("gpu_memory", "GPUMemoryUtilization", "Maximum"),
    ("concurrency", "ServerlessConcurrentExecutionsUtilization", "Maximum"),
    ("pc_utilisation", "ServerlessProvisionedConcurrencyUtilization", "Maximum"),
)
# (evidence attribute, metric): Sums over the window
SUMS = (
    ("pc_invocations", "ServerlessProvisionedConcurrencyInvocations"),
    ("pc_spillover", "ServerlessProvisionedConcurrencySpilloverInvocations"),
)

UTIL_SQL = """
SELECT s.variant_id, s.metric, s.stat, count(r.value), sum(r.value), max(r.value),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY r.value)
FROM dashboard_metricrollup r JOIN dashboard_metricseries s ON s.id = r.series_id
JOIN unnest(%(variants)s::bigint[], %(since)s::timestamptz[]) AS x(variant_id, since)
  ON x.variant_id = s.variant_id
WHERE r.resolution = '1h' AND r.bucket >= x.since AND r.bucket < %(end)s
  AND s.metric || ':' || s.stat = ANY(%(pairs)s)
GROUP BY 1, 2, 3
"""

# One row per variant and hour of day; the hourly pivot lines up each hour's invocations with its
# latency, cold starts, errors and concurrency so the weights and the "in saturated hours" sums are exact.
HOURLY_SQL = """
WITH h AS (
    SELECT s.variant_id, r.bucket,
        max(r.value) FILTER (WHERE s.metric = 'Invocations' AND s.stat = 'Sum') AS inv,
        max(r.value) FILTER (WHERE s.metric = 'ModelLatency' AND s.stat = 'Average') AS lat,
        max(r.value) FILTER (WHERE s.metric = 'ModelLatency' AND s.stat = 'p50') AS p50,
        max(r.value) FILTER (WHERE s.metric = 'ModelLatency' AND s.stat = 'p95') AS p95,
        max(r.value) FILTER (WHERE s.metric = 'ModelLatency' AND s.stat = 'p99') AS p99,
        max(r.value) FILTER (WHERE s.metric = 'ModelSetupTime' AND s.stat = 'SampleCount') AS cs,
        max(r.value) FILTER (WHERE s.metric = 'ModelSetupTime' AND s.stat = 'Average') AS cs_ms,
        max(r.value) FILTER (WHERE s.metric = 'Invocation4XXErrors') AS e4,
        max(r.value) FILTER (WHERE s.metric = 'Invocation5XXErrors') AS e5,
        max(r.value) FILTER (WHERE s.metric = 'ServerlessConcurrentExecutionsUtilization') AS conc
    FROM dashboard_metricrollup r JOIN dashboard_metricseries s ON s.id = r.series_id
    JOIN unnest(%(variants)s::bigint[], %(since)s::timestamptz[]) AS x(variant_id, since)
      ON x.variant_id = s.variant_id
    WHERE r.resolution = '1h' AND r.bucket >= x.since AND r.bucket < %(end)s
      AND s.metric IN ('Invocations', 'ModelLatency', 'ModelSetupTime', 'Invocation4XXErrors',
                       'Invocation5XXErrors', 'ServerlessConcurrentExecutionsUtilization')
    GROUP BY 1, 2
)
SELECT variant_id, extract(hour FROM bucket AT TIME ZONE 'UTC')::int AS hour,
    count(inv), coalesce(sum(inv), 0), coalesce(sum(e4), 0), coalesce(sum(e5), 0),
    coalesce(sum(inv * lat) FILTER (WHERE lat IS NOT NULL), 0) AS lat_ms_total,
    coalesce(sum(inv) FILTER (WHERE lat IS NOT NULL), 0),
    coalesce(sum(inv * p50) FILTER (WHERE p50 IS NOT NULL), 0),
    coalesce(sum(inv) FILTER (WHERE p50 IS NOT NULL), 0),
    coalesce(sum(inv * p95) FILTER (WHERE p95 IS NOT NULL), 0),
    coalesce(sum(inv) FILTER (WHERE p95 IS NOT NULL), 0),
    coalesce(sum(inv * p99) FILTER (WHERE p99 IS NOT NULL), 0),
    coalesce(sum(inv) FILTER (WHERE p99 IS NOT NULL), 0),
    coalesce(sum(cs), 0), coalesce(sum(cs * cs_ms) FILTER (WHERE cs_ms IS NOT NULL), 0),
    coalesce(sum(e5) FILTER (WHERE cs > 0), 0), coalesce(sum(inv) FILTER (WHERE cs > 0), 0),
    count(*) FILTER (WHERE conc >= %(saturated)s),
    coalesce(sum(inv) FILTER (WHERE conc >= %(saturated)s), 0),
    coalesce(sum(e4) FILTER (WHERE conc >= %(saturated)s), 0)
FROM h GROUP BY 1, 2
"""

# Billed cost (best source per day, from the daily summary) over the window and since each endpoint
# went idle: `since` is per endpoint, passed as parallel arrays.
BILLED_SQL = """
SELECT s.endpoint_id,
    sum(s.cost) FILTER (WHERE s.bucket >= %(start)s AND s.bucket < %(end)s),
    sum(s.cost) FILTER (WHERE s.bucket >= x.since),
    array_agg(DISTINCT s.cost_source), max(s.currency)
FROM dashboard_endpointsummary s
JOIN unnest(%(endpoints)s::bigint[], %(since)s::timestamptz[]) AS x(endpoint_id, since)
  ON x.endpoint_id = s.endpoint_id
WHERE s.resolution = '1d' AND s.cost IS NOT NULL AND s.bucket >= least(x.since, %(start)s)
GROUP BY 1
"""


def window(now: datetime, t: Thresholds) -> tuple[datetime, datetime]:
    """The last `window_days` up to the last whole hour (the current hour is still being collected)."""
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return end - timedelta(days=t.window_days), end


def load_prices() -> Prices:
    """Serverless prices from collectors/data/prices.json; instances from the editable catalogue."""
    data = price_list()
    sls = data["serverless"]
    instances = {
        it.name: InstanceShape(
            name=it.name,
            vcpus=it.vcpus,
            memory_gib=float(it.memory_gib) if it.memory_gib is not None else None,
            gpu_count=it.gpu_count,
            gpu_memory_gib=float(it.gpu_memory_gib),
            accelerator=it.accelerator,
            hourly=it.hourly_price,
            currency=it.currency,
        )
        for it in InstanceType.objects.all()
    }
    return Prices(
        currency=data["currency"],
        serverless_gb_second=Decimal(sls["compute_per_gb_second"]),
        provisioned_gb_second=Decimal(sls["provisioned_concurrency_per_gb_second"]),
        provisioned_invocation_gb_second=Decimal(sls["provisioned_invocation_per_gb_second"]),
        memory_tiers_mb=tuple(int(m) for m in sls["memory_tiers_mb"]),
        instances=instances,
    )


def live_variants(*, endpoint_ids=None, scopes: set[tuple[str, str]] | None = None):
    qs = ProductionVariant.objects.filter(removed_at=None, endpoint__deleted_at=None).select_related(
        "endpoint", "endpoint__account", "instance_type", "cursor"
    )
    if endpoint_ids is not None:
        qs = qs.filter(endpoint_id__in=list(endpoint_ids))
    if scopes is not None:
        match = Q(pk__in=[])
        for account_id, region in scopes:
            match |= Q(endpoint__account__account_id=account_id, endpoint__region=region)
        qs = qs.filter(match)
    return qs.order_by("endpoint_id", "name")


def load_evidence(
    now: datetime,
    t: Thresholds,
    prices: Prices,
    *,
    endpoint_ids=None,
    scopes: set[tuple[str, str]] | None = None,
) -> list[VariantEvidence]:
    """Evidence for every live variant (optionally of some endpoints or account/regions)."""
    start, end = window(now, t)
    variants = list(live_variants(endpoint_ids=endpoint_ids, scopes=scopes))
    if not variants:
        return []
    per_endpoint = defaultdict(int)
    for v in variants:
        per_endpoint[v.endpoint_id] += 1
    out: dict[int, VariantEvidence] = {}
    for v in variants:
        ep = v.endpoint
        cursor = getattr(v, "cursor", None)
        out[v.pk] = VariantEvidence(
            endpoint_id=ep.pk,
            endpoint_name=ep.name,
            account_id=ep.account.account_id,
            region=ep.region,
            team_id=ep.team_id,
            variant=v.name,
            kind=v.kind,
            start=start,
            end=end,
            tags={str(k): str(val) for k, val in (ep.tags or {}).items()},
            endpoint_created_at=ep.created_at or ep.first_seen,
            variant_first_seen=v.first_seen,
            variants_on_endpoint=per_endpoint[ep.pk],
            memory_mb=v.memory_mb,
            max_concurrency=v.max_concurrency,
            provisioned_concurrency=v.provisioned_concurrency,
            instance=prices.instances.get(v.instance_type_id) if v.instance_type_id else None,
            instance_count=v.current_instance_count,
            last_invocation_at=cursor.last_invocation_at if cursor else None,
            collected_from=cursor.collected_from if cursor else None,
            collected_until=cursor.collected_until if cursor else None,
        )
    # Figures from before the endpoint's last shape change describe another configuration (a memory
    # peak of 20% of 6 GB is not 20% of 2 GB): each variant's evidence starts at the first whole hour
    # after it.
    changed = dict(
        EndpointEvent.objects.filter(
            endpoint_id__in={v.endpoint_id for v in variants},
            kind__in=[EndpointEvent.Kind.CHANGED, EndpointEvent.Kind.RESTORED],
            at__gt=start,
        )
        .values("endpoint_id")
        .annotate(last=Max("at"))
        .values_list("endpoint_id", "last")
    )
    for v in variants:
        if v.endpoint_id in changed:
            at = changed[v.endpoint_id]
            out[v.pk].shape_since = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    since = [out[pk].shape_since or start for pk in out]
    params = {"start": start, "end": end, "variants": list(out), "since": since}
    with connection.cursor() as cur:
        _add_utilisations(cur, out, params)
        _add_hourly(cur, out, dict(params, saturated=t.throttle_utilisation))
    _add_billed(out.values(), start, end)
    return list(out.values())


def _add_utilisations(cur, out: dict[int, VariantEvidence], params: dict) -> None:
    pairs = [f"{metric}:{stat}" for _, metric, stat in UTILISATIONS]
    pairs += [f"{metric}:Sum" for _, metric in SUMS]
    cur.execute(UTIL_SQL, dict(params, pairs=pairs))
    util_attr = {(metric, stat): attr for attr, metric, stat in UTILISATIONS}
    sum_attr = {metric: attr for attr, metric in SUMS}
    for variant_id, metric, stat, count, total, peak, p99 in cur.fetchall():
        ev = out[variant_id]
        if (metric, stat) in util_attr:
            setattr(ev, util_attr[(metric, stat)], UtilStats(peak=peak, p99=p99, hours=count))
        elif stat == "Sum" and metric in sum_attr:
            setattr(ev, sum_attr[metric], float(total or 0))


def _ratio(total: float, weight: float) -> float | None:
    return total / weight if weight else None


def _add_hourly(cur, out: dict[int, VariantEvidence], params: dict) -> None:
    cur.execute(HOURLY_SQL, params)
    sums: dict[int, list[float]] = defaultdict(lambda: [0.0] * 19)
    hours: dict[int, dict[int, HourProfile]] = defaultdict(dict)
    for row in cur.fetchall():
        variant_id, hour, figures = row[0], row[1], [float(x or 0) for x in row[2:]]
        acc = sums[variant_id]
        for i, value in enumerate(figures):
            acc[i] += value
        inv, cs, cs_ms = figures[1], figures[12], figures[13]
        hours[variant_id][hour] = HourProfile(hour=hour, invocations=inv, cold_starts=cs, cold_start_ms=cs_ms)
    for variant_id, ev in out.items():
        ev.by_hour = [hours[variant_id].get(h, HourProfile(hour=h)) for h in range(24)]
        if variant_id not in sums:
            continue
        (n, inv, e4, e5, lat_total, lat_w, p50_total, p50_w, p95_total, p95_w, p99_total, p99_w,
         cs, cs_ms, e5_cold, inv_cold, sat_hours, inv_sat, e4_sat) = sums[variant_id]  # fmt: skip
        ev.hours_with_data = int(n)
        ev.invocations, ev.errors_4xx, ev.errors_5xx = inv, e4, e5
        ev.compute_seconds = lat_total / 1000.0  # ModelLatency is stored in ms
        ev.latency_avg_ms = _ratio(lat_total, lat_w)
        ev.latency_p50_ms = _ratio(p50_total, p50_w)
        ev.latency_p95_ms = _ratio(p95_total, p95_w)
        ev.latency_p99_ms = _ratio(p99_total, p99_w)
        ev.cold_starts, ev.cold_start_ms_total = cs, cs_ms
        ev.cold_start_errors_5xx, ev.invocations_cold_hours = e5_cold, inv_cold
        ev.saturated_hours = int(sat_hours)
        ev.invocations_saturated, ev.errors_4xx_saturated = inv_sat, e4_sat


def idle_since(ev: VariantEvidence) -> datetime:
    """Midnight UTC after the last invocation (the day of the last call had traffic), or the endpoint's
    creation when nothing was ever called."""
    if ev.last_invocation_at is not None:
        last = ev.last_invocation_at.astimezone(UTC)
        return datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    created = (ev.endpoint_created_at or ev.start).astimezone(UTC)
    return datetime(created.year, created.month, created.day, tzinfo=UTC)


def _add_billed(evidence, start: datetime, end: datetime) -> None:
    by_endpoint: dict[int, list[VariantEvidence]] = defaultdict(list)
    for ev in evidence:
        by_endpoint[ev.endpoint_id].append(ev)
    ids = list(by_endpoint)
    # An endpoint is idle since its last variant went quiet.
    since = [max(idle_since(ev) for ev in by_endpoint[pk]) for pk in ids]
    with connection.cursor() as cur:
        cur.execute(BILLED_SQL, {"start": start, "end": end, "endpoints": ids, "since": since})
        for endpoint_id, window_total, idle_total, sources, currency in cur.fetchall():
            for ev in by_endpoint[endpoint_id]:
                ev.billed_window = window_total
                ev.billed_since_idle = idle_total
                ev.billed_sources = tuple(sorted(s for s in sources if s))
                ev.billed_currency = currency or ""
