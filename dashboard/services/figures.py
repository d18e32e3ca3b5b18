"""The figures pages, the API and exports show, computed from the summary table (never raw points):
a time range, per-endpoint figures over it, fleet totals, and simple flags.

All queries here are aggregates over `EndpointSummary` with a fixed number of statements whatever the
number of endpoints (tests pin the query counts)."""

from __future__ import annotations

import itertools
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
            f.cost_sources = {s for i, s in enumerate(COST_SOURCES) if r[f"cost_src{i}"]}
            f.cost_estimated = bool(r["cost_est"])
        if r["mtd_days"]:
            f.mtd_cost = r["mtd"]
            f.mtd_sources = {s for i, s in enumerate(COST_SOURCES) if r[f"mtd_src{i}"]}
        f.currency = r["cost_currency"] or r["mtd_currency"] or ""
        f.aws_estimated = bool(r["cost_by_aws"] or r["mtd_by_aws"])

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
COSTED = "cost IS NOT NULL"  # a day counts for a cost figure when it has one


def _partials() -> dict[str, list[tuple[str, str, str, str]]]:
    """Per figure flag (m: metrics, rc: the range's cost, mc: the month's cost), the partial figures an
    arm computes over its own rows when its rows count for that flag, as (name, SQL type, the arm's
    aggregate, how the arms' partials combine). Built once, as PARTIALS."""
    out: dict[str, list[tuple[str, str, str, str]]] = {
        "m": [(name, "float8", f"{fn}({column})", fn) for name, fn, column in METRIC_AGGREGATES]
    }
    for flag, total, prefix in (("rc", "cost", "cost_"), ("mc", "mtd", "mtd_")):
        out[flag] = [
            (total, "numeric", "sum(cost)", "sum"),
            (f"{prefix}days", "bigint", "count(cost)", "sum"),
            (f"{prefix}currency", "text", f"max(currency) FILTER (WHERE {COSTED})", "max"),
            (f"{prefix}by_aws", "bigint", f"count(*) FILTER (WHERE {COSTED} AND cost_estimated "
             f"AND cost_source = ANY(%(by_aws)s))", "sum"),
        ]  # fmt: skip
        out[flag] += [
            (
                f"{prefix}src{i}",
                "bigint",
                f"count(*) FILTER (WHERE {COSTED} AND cost_source = %(src{i})s)",
                "sum",
            )
            for i in range(len(COST_SOURCES))
        ]
    out["rc"] += [
        ("cost_inv", "float8", f"sum(invocations) FILTER (WHERE {COSTED})", "sum"),
        ("cost_est", "bigint", f"count(*) FILTER (WHERE {COSTED} AND cost_estimated)", "sum"),
    ]
    return out


PARTIALS = _partials()


def _figures_query(ids: list[int], rng: TimeRange, today: date) -> tuple[str, dict]:
    """One statement for every endpoint's metric and cost figures. Per endpoint, a LATERAL subquery
    reads summary rows by primary-key range scans: the metric spans (`covering`), the range's days and
    this month's days of daily cost rows, cut into reads (`_arms`) whose every row counts for the same
    figures (m: metrics, rc: the range's cost, mc: the month's cost). Each read adds up only its own
    figures, unfiltered, and the few partial rows per endpoint are added up again.

    History of the shape, at 2,000 endpoints: one filter with OR between the spans used only the
    endpoint id in the index and read every summary row; a plain UNION ALL scanned the spans' rows of
    all endpoints and tested each against the ids; one read per merged span with each figure's
    aggregate FILTERed by the spans it counts for read the fewest rows but spent most of its time in the
    filters (83 ms on the 7-day range; 97 ms with the aggregates moved into each read, still
    filtered). Reads whose rows all count alike take 68 ms on the same database: more index descents
    (four per endpoint on a 7-day range late in a month), no filters, no cost figures added up over
    hourly rows."""
    daily = EndpointSummary.DAILY
    first, last = rng.days
    month = (midnight(today.replace(day=1)), midnight(today + timedelta(days=1)))
    spans = [("m", *span) for span in covering(rng)]
    spans += [("rc", daily, midnight(first), midnight(last)), ("mc", daily, *month)]
    params: dict = {"ids": IdArray.of(ids).literal, "by_aws": [str(s) for s in BY_AWS]}
    params.update({f"src{i}": str(source) for i, source in enumerate(COST_SOURCES)})
    table = EndpointSummary._meta.db_table
    arms = []
    for j, (resolution, lo, hi, flags) in enumerate(_arms(spans)):
        params.update({f"res{j}": resolution, f"lo{j}": lo, f"hi{j}": hi})
        columns = [
            aggregate if flag in flags else f"NULL::{sql_type}"
            for flag, figures in PARTIALS.items()
            for _, sql_type, aggregate, _ in figures
        ]
        arms.append(
            f"SELECT {', '.join(columns)} FROM {table} WHERE endpoint_id = e.id "  # noqa: S608
            f"AND resolution = %(res{j})s AND bucket >= %(lo{j})s AND bucket < %(hi{j})s"
        )  # column and table names are constants; every value is bound
    names = [name for figures in PARTIALS.values() for name, *_ in figures]
    combined = []
    for figures in PARTIALS.values():
        for name, sql_type, _, combine in figures:
            expression = f"{combine}(s.{name})"
            if sql_type == "bigint":
                expression = f"coalesce({expression}, 0)::bigint"
            elif sql_type == "float8" and combine == "sum":
                expression = f"coalesce({expression}, 0)"
            combined.append(f"{expression} AS {name}")
    sql = (
        f"SELECT e.id AS endpoint_id, a.* FROM unnest(%(ids)s::bigint[]) AS e(id) "  # noqa: S608
        f"CROSS JOIN LATERAL (SELECT {', '.join(combined)} FROM ("
        + " UNION ALL ".join(arms)
        + f") s({', '.join(names)})) a"
    )  # an endpoint without rows gets its row too: zero sums, no maxima, no cost
    return sql, params


def _arms(
    spans: list[tuple[str, str, datetime, datetime]],
) -> list[tuple[str, datetime, datetime, frozenset]]:
    """The reads that cover `spans` (flag, resolution, from, to): per resolution, the time cut at every
    span's bounds, each piece with the flags of the spans it lies in, adjacent pieces of the same flags
    joined. Each read counts for the same figures in every one of its rows, so it adds up only those."""
    out: list[tuple[str, datetime, datetime, frozenset]] = []
    for resolution in sorted({r for _, r, _, _ in spans}):
        mine = [(flag, lo, hi) for flag, r, lo, hi in spans if r == resolution]
        cuts = sorted({t for _, lo, hi in mine for t in (lo, hi)})
        for lo, hi in itertools.pairwise(cuts):
            flags = frozenset(flag for flag, a, b in mine if a <= lo and hi <= b)
            if not flags:
                continue
            if out and out[-1][0] == resolution and out[-1][2] == lo and out[-1][3] == flags:
                out[-1] = (resolution, out[-1][1], hi, flags)
            else:
                out.append((resolution, lo, hi, flags))
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
