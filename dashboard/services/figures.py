"""The figures pages, the API and exports show, computed from the summary table (never raw points):
a time range, per-endpoint figures over it, fleet totals, and simple flags.

All queries here are aggregates over `EndpointSummary` with a fixed number of statements whatever the
number of endpoints (tests pin the query counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum

from dashboard.models import CostForecast, EndpointCost, EndpointSummary
from dashboard.models.lookups import IdArray

RANGES = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_RANGE = "7d"
MAX_CUSTOM_DAYS = 455

# Flag thresholds (simple signals until the insights engine ranks recommendations).
THROTTLE_UTILISATION = 0.95
LOW_MEMORY_PCT = 30.0
LOW_GPU_PCT = 20.0
COLD_START_RATE = 0.05
ERROR_RATE = 0.01
FLAGS = {
    "idle": "no invocations in the range",
    "throttling": "concurrency at its limit (derived from concurrent-executions utilisation)",
    "low-memory-use": "serverless memory peak under 30% of configured",
    "low-gpu-use": "GPU peak under 20%",
    "cold-starts": "over 5% of invocations start cold",
    "errors": "over 1% of invocations fail",
}


class RangeError(ValueError):
    pass


@dataclass(frozen=True)
class TimeRange:
    key: str  # "24h", "7d", "30d", "90d" or "custom"
    start: datetime
    end: datetime
    # Ends after the moment it was asked at ("the last 7 days"): nothing stored lies after its end, so
    # today's daily summary row holds exactly the range's hours of today.
    live: bool = False

    @property
    def resolution(self) -> str:
        """Hourly rows up to a week, daily beyond."""
        return EndpointSummary.HOURLY if self.end - self.start <= timedelta(days=7) else EndpointSummary.DAILY

    @property
    def days(self) -> tuple[date, date]:
        """The days [first, last) whose daily cost rows fall in the range."""
        return self.start.date(), (self.end - timedelta(microseconds=1)).date() + timedelta(days=1)


def parse_range(params, now: datetime) -> TimeRange:
    """From query parameters: range=24h|7d|30d|90d, or range=custom&start=YYYY-MM-DD&end=YYYY-MM-DD
    (end inclusive). Bad input raises RangeError with a message for the user."""
    key = (params.get("range") or DEFAULT_RANGE).strip()
    if key in RANGES:
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return TimeRange(key, end - RANGES[key], end, live=True)
    if key != "custom":
        raise RangeError(f"unknown range {key!r}: use one of {', '.join(RANGES)} or custom")
    try:
        first = date.fromisoformat((params.get("start") or "").strip())
        last = date.fromisoformat((params.get("end") or "").strip())
    except ValueError:
        raise RangeError("a custom range needs start and end dates as YYYY-MM-DD") from None
    if last < first:
        raise RangeError("the custom range ends before it starts")
    if (last - first).days >= MAX_CUSTOM_DAYS:
        raise RangeError(f"a custom range covers at most {MAX_CUSTOM_DAYS} days")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    return TimeRange("custom", start, end)


@dataclass
class EndpointFigures:
    endpoint_id: int
    invocations: float = 0.0
    errors_4xx: float = 0.0
    errors_5xx: float = 0.0
    cold_starts: float = 0.0
    cold_start_ms_avg: float | None = None
    latency_avg: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    latency_max: float | None = None
    overhead_p99: float | None = None
    throttle: float | None = None  # peak concurrent-executions utilisation, 0-1 (derived)
    spillover: float = 0.0
    memory_peak: float | None = None  # percent
    cpu_peak: float | None = None
    gpu_peak: float | None = None
    gpu_memory_peak: float | None = None
    cost: Decimal | None = None  # over the range's days
    cost_days: int = 0
    cost_invocations: float = 0.0  # invocations on the days the cost covers
    cost_sources: set[str] = field(default_factory=set)
    cost_estimated: bool = False
    currency: str = ""
    mtd_cost: Decimal | None = None
    mtd_sources: set[str] = field(default_factory=set)
    # A Cost Explorer figure (resource or tag) in the range or this month is one AWS still calls estimated
    # (our own estimates are never final; their marker is E).
    aws_estimated: bool = False
    forecast: Decimal | None = None

    @property
    def error_rate(self) -> float | None:
        return (self.errors_4xx + self.errors_5xx) / self.invocations if self.invocations else None

    @property
    def cold_start_rate(self) -> float | None:
        return self.cold_starts / self.invocations if self.invocations else None

    @property
    def cost_per_1k(self) -> Decimal | None:
        """Cost per 1,000 invocations over the days that have a cost: both figures from the same daily
        rows, so a range whose metrics start later than its costs (or a 24 h range) is not skewed."""
        if self.cost is None or not self.cost_invocations:
            return None
        return self.cost / Decimal(str(self.cost_invocations)) * 1000

    @property
    def flags(self) -> list[str]:
        out = []
        if not self.invocations:
            out.append("idle")
        if self.throttle is not None and self.throttle >= THROTTLE_UTILISATION:
            out.append("throttling")
        if self.memory_peak is not None and self.memory_peak < LOW_MEMORY_PCT and self.cpu_peak is None:
            out.append("low-memory-use")  # serverless: no CPU metric
        if self.gpu_peak is not None and self.gpu_peak < LOW_GPU_PCT:
            out.append("low-gpu-use")
        if (self.cold_start_rate or 0) > COLD_START_RATE:
            out.append("cold-starts")
        if (self.error_rate or 0) > ERROR_RATE:
            out.append("errors")
        return out


def _ratio(total, weight) -> float | None:
    return total / weight if weight else None


def endpoint_figures(endpoint_ids, rng: TimeRange, *, today: date) -> dict[int, EndpointFigures]:
    """Figures per endpoint over `rng`: two queries (the summary rows, the forecasts), whatever the
    number of endpoints."""
    ids = list(endpoint_ids)
    out = {pk: EndpointFigures(pk) for pk in ids}
    if not ids:
        return out
    with connection.cursor() as cur:
        sql, params = _figures_query(ids, rng, today)
        cur.execute(sql, params)
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for r in rows:
        f = out[r["endpoint_id"]]
        f.invocations, f.errors_4xx, f.errors_5xx, f.cold_starts = r["inv"], r["e4"], r["e5"], r["cs"]
        f.cold_start_ms_avg = _ratio(r["cs_ms"], r["cs"])
        w = r["weight"]
        f.latency_avg, f.p50, f.p95, f.p99 = (_ratio(r[k], w) for k in ("avg_w", "p50_w", "p95_w", "p99_w"))
        f.overhead_p99 = _ratio(r["oh_w"], w)
        f.latency_max, f.throttle, f.spillover = r["lmax"], r["thr"], r["spill"]
        f.memory_peak, f.cpu_peak, f.gpu_peak, f.gpu_memory_peak = r["mem"], r["cpu"], r["gpu"], r["gpum"]
        if r["cost_days"]:
            f.cost, f.cost_days, f.cost_invocations = r["cost"], r["cost_days"], r["cost_inv"]
            f.cost_sources = {s for i, s in enumerate(COST_SOURCES) if r[f"src{i}"]}
            f.cost_estimated = bool(r["cost_est"])
        if r["mtd_days"]:
            f.mtd_cost = r["mtd"]
            f.mtd_sources = {s for i, s in enumerate(COST_SOURCES) if r[f"mtd_src{i}"]}
        f.currency = r["currency"] or ""
        f.aws_estimated = bool(r["by_aws"])

    month = today.replace(day=1)
    forecasts = CostForecast.objects.filter(scope="endpoint", scope_id__any=IdArray.of(ids), month=month)
    for scope_id, amount in forecasts.values_list("scope_id", "amount"):
        out[scope_id].forecast = amount
    return out


def covering(rng: TimeRange) -> list[tuple[str, datetime, datetime]]:
    """The summary rows that add up to `rng`, as (resolution, from, to) spans. A daily range reads daily
    rows. An hourly range reads the daily rows of the whole UTC days inside it and hourly rows only for
    the hours at either end: each daily row is the sum (or maximum) of its day's hourly rows, so the
    figures are the same from 5 times fewer rows over 7 days. A live range (see TimeRange) reads today's
    hours from today's daily row too."""
    hourly, daily = EndpointSummary.HOURLY, EndpointSummary.DAILY
    if rng.resolution == daily:
        return [(daily, rng.start, rng.end)]
    first = _floor_day(rng.start)
    if first < rng.start:
        first += timedelta(days=1)
    last = _floor_day(rng.end)
    if first > last:  # no midnight inside
        return [(hourly, rng.start, rng.end)]
    spans = [(hourly, rng.start, first)] if rng.start < first else []
    if first < last:
        spans.append((daily, first, last))
    if last < rng.end:
        spans.append((daily, last, last + timedelta(days=1)) if rng.live else (hourly, last, rng.end))
    return spans


# (name, aggregate, summary column) of every per-endpoint metric figure.
METRIC_AGGREGATES = [
    ("inv", "sum", "invocations"), ("e4", "sum", "errors_4xx"), ("e5", "sum", "errors_5xx"),
    ("cs", "sum", "cold_starts"), ("cs_ms", "sum", "cold_start_ms"), ("avg_w", "sum", "latency_avg_w"),
    ("p50_w", "sum", "latency_p50_w"), ("p95_w", "sum", "latency_p95_w"), ("p99_w", "sum", "latency_p99_w"),
    ("weight", "sum", "latency_weight"), ("lmax", "max", "latency_max"), ("oh_w", "sum", "overhead_p99_w"),
    ("thr", "max", "concurrency_util_max"), ("spill", "sum", "spillover"), ("mem", "max", "memory_util_max"),
    ("cpu", "max", "cpu_util_max"), ("gpu", "max", "gpu_util_max"), ("gpum", "max", "gpu_memory_util_max"),
]  # fmt: skip
COST_SOURCES = list(EndpointCost.PREFERENCE)
BY_AWS = [EndpointCost.Source.RESOURCE, EndpointCost.Source.TAG]  # Cost Explorer's own figures


def _figures_query(ids: list[int], rng: TimeRange, today: date) -> tuple[str, dict]:
    """One statement for every endpoint's metric and cost figures. Per endpoint, a LATERAL subquery
    reads each span of summary rows by a primary-key range scan and adds them up: the metric spans
    (`covering`), the range's days and this month's days of daily cost rows, overlapping spans read
    once. Each row says which figures it counts for (m: metrics, rc: the range's cost, mc: the month's
    cost), and FILTERed aggregates add them up.

    As one filter with OR between the spans, Postgres used only the endpoint id in the index and read
    every summary row of every endpoint (410,000 rows to keep 46,000 at 2,000 endpoints); as a plain
    UNION ALL it scanned the spans' rows of all endpoints and tested each against the 2,000 ids. Costs
    were a second query over the month's daily rows, which the metric spans partly read already: at
    2,000 endpoints, 74 + 69 ms as two queries, 124 ms as one grouped outside the LATERAL, 94 ms as now
    (each endpoint's rows aggregated inside it, and each arm's flags constant where its whole span is
    inside or outside a figure's)."""
    daily = EndpointSummary.DAILY
    metric_spans = covering(rng)  # always a span or more
    first, last = rng.days
    month = (midnight(today.replace(day=1)), midnight(today + timedelta(days=1)))
    cost_spans = {"rc": (midnight(first), midnight(last)), "mc": month}
    params: dict = {"ids": IdArray.of(ids).literal, "by_aws": [str(s) for s in BY_AWS]}
    reads = _merged([*metric_spans, *((daily, lo, hi) for lo, hi in cost_spans.values())])
    columns = ", ".join(column for _, _, column in METRIC_AGGREGATES)
    table = EndpointSummary._meta.db_table
    arms = []
    for j, (resolution, lo, hi) in enumerate(reads):
        params.update({f"res{j}": resolution, f"lo{j}": lo, f"hi{j}": hi})
        spans = {"m": [(a, b) for r, a, b in metric_spans if r == resolution]}
        for flag, span in cost_spans.items():
            spans[flag] = [span] if resolution == daily else []
        flags = []
        for flag, inside in spans.items():
            test = _within(inside, lo, hi, params, f"{flag}{j}")
            if flag != "m" and test != "FALSE":  # a day counts for a cost when it has one
                test = "cost IS NOT NULL" if test == "TRUE" else f"{test} AND cost IS NOT NULL"
            flags.append(f"{test} AS {flag}")
        arms.append(
            f"SELECT {columns}, cost, cost_source, cost_estimated, currency, {', '.join(flags)} "  # noqa: S608
            f"FROM {table} WHERE endpoint_id = e.id "
            f"AND resolution = %(res{j})s AND bucket >= %(lo{j})s AND bucket < %(hi{j})s"
        )  # column and table names are constants; every value is bound
    aggregates = [
        f"coalesce(sum(s.{column}) FILTER (WHERE s.m), 0) AS {name}"
        if fn == "sum"
        else f"{fn}(s.{column}) FILTER (WHERE s.m) AS {name}"
        for name, fn, column in METRIC_AGGREGATES
    ]
    aggregates += [
        "sum(s.cost) FILTER (WHERE s.rc) AS cost",
        "count(*) FILTER (WHERE s.rc) AS cost_days",
        "coalesce(sum(s.invocations) FILTER (WHERE s.rc), 0) AS cost_inv",
        "count(*) FILTER (WHERE s.rc AND s.cost_estimated) AS cost_est",
        "sum(s.cost) FILTER (WHERE s.mc) AS mtd",
        "count(*) FILTER (WHERE s.mc) AS mtd_days",
        "count(*) FILTER (WHERE (s.rc OR s.mc) AND s.cost_estimated "
        "AND s.cost_source = ANY(%(by_aws)s)) AS by_aws",
        "coalesce(max(s.currency) FILTER (WHERE s.rc), max(s.currency) FILTER (WHERE s.mc)) AS currency",
    ]
    for i, source in enumerate(COST_SOURCES):
        params[f"src{i}"] = str(source)
        aggregates += [
            f"count(*) FILTER (WHERE s.rc AND s.cost_source = %(src{i})s) AS src{i}",
            f"count(*) FILTER (WHERE s.mc AND s.cost_source = %(src{i})s) AS mtd_src{i}",
        ]
    sql = (
        f"SELECT e.id AS endpoint_id, a.* FROM unnest(%(ids)s::bigint[]) AS e(id) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {', '.join(aggregates)} FROM ({' UNION ALL '.join(arms)}) s) a"
    )  # an endpoint without rows gets its row too: zero sums, no maxima, no cost
    return sql, params


def _within(
    spans: list[tuple[datetime, datetime]], lo: datetime, hi: datetime, params: dict, key: str
) -> str:
    """SQL true for the rows of [lo, hi) inside one of `spans`: a constant when the whole read is in
    one or outside all of them, else a test of the bucket (values bound under `key`)."""
    if any(a <= lo and hi <= b for a, b in spans):
        return "TRUE"
    tests = []
    for i, (a, b) in enumerate(spans):
        if a < hi and lo < b:
            params.update({f"{key}a{i}": a, f"{key}b{i}": b})
            tests.append(f"bucket >= %({key}a{i})s AND bucket < %({key}b{i})s")
    return f"({' OR '.join(tests)})" if tests else "FALSE"


def _merged(spans: list[tuple[str, datetime, datetime]]) -> list[tuple[str, datetime, datetime]]:
    """The spans as few as possible: overlapping or touching spans of one resolution become one."""
    out: list[tuple[str, datetime, datetime]] = []
    for resolution, lo, hi in sorted(spans):
        if out and out[-1][0] == resolution and lo <= out[-1][2]:
            out[-1] = (resolution, out[-1][1], max(hi, out[-1][2]))
        else:
            out.append((resolution, lo, hi))
    return out


def _floor_day(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class Totals:
    endpoints: int
    invocations: float
    errors: float
    cost: Decimal
    mtd_cost: Decimal
    forecast: Decimal
    last_month_same_days: Decimal
    currency: str

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None

    @property
    def change_vs_last_month(self) -> float | None:
        if not self.last_month_same_days:
            return None
        return float((self.mtd_cost - self.last_month_same_days) / self.last_month_same_days)


def totals(figures: dict[int, EndpointFigures], *, today: date) -> Totals:
    """Fleet (or team) totals over the figures of the endpoints shown; last month's spend over the same
    days of the month, for the month-over-month change."""
    ids = list(figures)
    first = today.replace(day=1)
    last_month_first = (first - timedelta(days=1)).replace(day=1)
    same_day = last_month_first + (today - first)  # may spill into this month for 31-day months: clamp
    same_day = min(same_day, first)
    last_month = EndpointSummary.objects.filter(
        endpoint_id__any=IdArray.of(ids),
        resolution=EndpointSummary.DAILY,
        bucket__gte=datetime(last_month_first.year, last_month_first.month, 1, tzinfo=UTC),
        bucket__lt=datetime(same_day.year, same_day.month, same_day.day, tzinfo=UTC),
    ).aggregate(total=Sum(F("cost")))["total"]
    return sum_totals(list(figures.values()), last_month)


def sum_totals(values: list[EndpointFigures], last_month: Decimal | None) -> Totals:
    """Totals of figures already computed, with last month's same-days spend passed in (no query)."""
    return Totals(
        endpoints=len(values),
        invocations=sum(f.invocations for f in values),
        errors=sum(f.errors_4xx + f.errors_5xx for f in values),
        cost=sum((f.cost for f in values if f.cost is not None), Decimal(0)),
        mtd_cost=sum((f.mtd_cost for f in values if f.mtd_cost is not None), Decimal(0)),
        forecast=sum((f.forecast for f in values if f.forecast is not None), Decimal(0)),
        last_month_same_days=last_month or Decimal(0),
        currency=next((f.currency for f in values if f.currency), "USD"),
    )
