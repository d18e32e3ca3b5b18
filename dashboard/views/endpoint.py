"""The endpoint page: configuration, history of changes, headline figures and charts over a time range.

It reads summary and rollup rows through the services only, in a fixed number of queries whatever the
length of the range or of the endpoint's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import F, Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from dashboard import charts
from dashboard.insights.evidence import load_evidence, load_prices
from dashboard.insights.model import Thresholds
from dashboard.insights.rules.breakeven import HostingComparison, compare_hosting
from dashboard.models import CostForecast, EndpointCost, EndpointEvent, EndpointSummary, ProductionVariant
from dashboard.services.figures import RANGES, RangeError, TimeRange, endpoint_figures, parse_range
from dashboard.services.recommendations import ranked
from dashboard.services.scoping import visible_endpoints
from dashboard.services.series import daily_costs, metric_series, summary_series
from dashboard.services.trends import cold_starts_by_hour
from dashboard.tables.recommendations import RecRow
from dashboard.views.team import weekly_context

SOURCE_LABELS = dict(EndpointCost.Source.choices)
KIND_LABELS = {"serverless": "Serverless", "instance": "Real-time instance", "mixed": "Mixed"}


def clock() -> datetime:
    """The page's notion of now (tests pin it)."""
    return timezone.now()


@dataclass
class HostingRow:
    variant: str
    c: HostingComparison
    currency: str

    def _money(self, value: Decimal | None) -> str:
        return "—" if value is None else f"{value.quantize(Decimal('0.01')):,} {self.currency}"

    @property
    def current_monthly(self) -> str:
        return self._money(self.c.current_monthly)

    @property
    def alternative_monthly(self) -> str:
        return self._money(self.c.alternative_monthly)

    @property
    def observed(self) -> str:
        return _rate(self.c.observed_rps)

    @property
    def break_even(self) -> str | None:
        return None if self.c.break_even_rps is None else _rate(self.c.break_even_rps)


def _rate(rps: float) -> str:
    return f"{rps:,.2f} req/s" if rps >= 0.1 else f"{rps * 3600:,.1f} req/h"


def _hosting(endpoint, now: datetime) -> list[HostingRow]:
    """The break-even comparison of each live variant, from the insights' own evidence (five queries)."""
    t = Thresholds.from_settings()
    prices = load_prices()
    rows = []
    for ev in load_evidence(now, t, prices, endpoint_ids=[endpoint.pk]):
        comparison = compare_hosting(ev, t, prices)
        if comparison is not None:
            rows.append(HostingRow(ev.variant, comparison, prices.currency))
    return rows


def endpoint_detail(request, pk):
    variants = ProductionVariant.objects.select_related("instance_type", "cursor").order_by(
        F("removed_at").desc(nulls_first=True), "name"
    )
    endpoint = get_object_or_404(
        visible_endpoints(request.user)
        .select_related("account", "team")
        .prefetch_related(Prefetch("variants", queryset=variants)),
        pk=pk,
    )
    now = clock()
    try:
        rng = parse_range(request.GET, now)
    except RangeError as error:
        context = {"endpoint": endpoint, "error": str(error), "picker": _picker(request.GET, None)}
        return render(request, "endpoint/bad_range.html", context, status=400)

    today = now.date()
    figures = endpoint_figures([endpoint.pk], rng, today=today)[endpoint.pk]
    all_variants = list(endpoint.variants.all())
    live = [v for v in all_variants if v.removed_at is None]
    forecast = CostForecast.objects.filter(
        scope=CostForecast.Scope.ENDPOINT, scope_id=endpoint.pk, month=today.replace(day=1)
    ).first()
    costs = daily_costs(endpoint.pk, rng)
    span = _metrics_span(live or all_variants)  # a deleted endpoint's variants are all removed
    events = EndpointEvent.objects.filter(endpoint=endpoint).order_by("-at", "-pk")
    inputs = charts.ChartInputs(
        rng=rng,
        shape=_shape(endpoint.kind, live or all_variants),
        summary=summary_series(endpoint.pk, charts.SUMMARY_FIELDS, rng),
        cold_start_ms=metric_series(endpoint.pk, "ModelSetupTime", "Average", rng),
        costs=costs,
        daily_invocations=_daily_invocations(endpoint.pk, rng, span),
        forecast=_forecast_days(forecast, rng, today),
        currency=figures.currency or (forecast.currency if forecast else "") or "USD",
    )
    serverless = bool(inputs.shape.memory_mb)
    page_charts = charts.endpoint_charts(inputs)
    if serverless:  # instance variants stay warm: no cold starts to place in the day
        by_hour = charts.cold_starts_by_hour_chart(
            cold_starts_by_hour(endpoint.pk, rng.start, rng.end),
            subtitle=f"{rng.start:%Y-%m-%d %H:%M} – {rng.end:%Y-%m-%d %H:%M} UTC, hourly rows",
        )
        at = next((i + 1 for i, c in enumerate(page_charts) if c.name == "cold_starts"), len(page_charts))
        page_charts.insert(at, by_hour)
    context = {
        "endpoint": endpoint,
        "kind_label": KIND_LABELS.get(endpoint.kind, "—"),
        "rng": rng,
        "picker": _picker(request.GET, rng),
        "variants": [_variant_row(v) for v in all_variants],
        "history": [_event_row(e) for e in events],
        "figures": figures,
        "headline": _headline(figures, rng, forecast, serverless=serverless, span=span),
        "charts": page_charts,
        "recommendations": [RecRow(r) for r in ranked(endpoint.recommendations.filter(active=True))],
        "hosting": _hosting(endpoint, now) if endpoint.deleted_at is None else [],
        "hosting_days": Thresholds.from_settings().window_days,
        "weekly": weekly_context([endpoint.pk], today, inputs.currency),
        "next": request.get_full_path(),
    }
    return render(request, "endpoint/detail.html", context)


# --- data the services do not shape for us ---------------------------------------------------------
def _metrics_span(variants: list[ProductionVariant]) -> tuple[datetime, datetime] | None:
    """From when to when every variant's metrics are stored (the cursors say), or None."""
    spans = []
    for v in variants:
        try:
            cursor = v.cursor
        except ObjectDoesNotExist:
            return None
        if cursor.collected_from is None or cursor.collected_until is None:
            return None
        spans.append((cursor.collected_from, cursor.collected_until))
    if not spans:
        return None
    return max(a for a, _ in spans), min(b for _, b in spans)


def _daily_invocations(
    endpoint_id: int, rng: TimeRange, span: tuple[datetime, datetime] | None
) -> dict[date, float]:
    """Invocations of the days whose metrics are stored in full, for the cost-per-1k chart: daily summary
    rows even when the range's charts are hourly, and no day the collector saw only part of (a day
    before a backfill began, or today), whose cost per invocation would be overstated."""
    if span is None:
        return {}
    first, last = rng.days
    start = max(datetime(first.year, first.month, first.day, tzinfo=UTC), span[0])
    rows = EndpointSummary.objects.filter(
        endpoint_id=endpoint_id,
        resolution=EndpointSummary.DAILY,
        bucket__gte=start,
        bucket__lt=datetime(last.year, last.month, last.day, tzinfo=UTC),
        bucket__lte=span[1] - timedelta(days=1),
    ).values_list("bucket", "invocations")
    return {bucket.date(): invocations for bucket, invocations in rows}


def _forecast_days(forecast: CostForecast | None, rng: TimeRange, today: date) -> list[tuple[date, Decimal]]:
    """The forecast's remaining days of this month, when the range reaches today."""
    if forecast is None or rng.days[1] <= today:
        return []
    return [(date.fromisoformat(day), Decimal(amount)) for day, amount in forecast.daily]


def _shape(kind: str, variants: list[ProductionVariant]) -> charts.Shape:
    shape = charts.Shape(kind=kind)
    for v in variants:
        if v.kind == "serverless":
            shape.memory_mb.append(v.memory_mb)
            shape.provisioned = shape.provisioned or bool(v.provisioned_concurrency)
        else:
            shape.instances.append(_instance_label(v))
    return shape


def _instance_label(v: ProductionVariant) -> str:
    it = v.instance_type
    count = v.current_instance_count if v.current_instance_count is not None else "?"
    parts = []
    if it is not None and it.vcpus:
        parts.append(f"{it.vcpus} vCPU")
    if it is not None and it.gpu_count:
        parts.append(f"{it.gpu_count} GPU, {_gib(it.gpu_memory_gib)} GiB")
    return f"{v.instance_type_id} x {count}" + (f" ({', '.join(parts)})" if parts else "")


# --- presentation ----------------------------------------------------------------------------------
@dataclass
class Figure:
    key: str  # data-figure on the page
    label: str
    value: str  # as shown
    raw: object  # the endpoint_figures value behind it
    note: str = ""

    @property
    def data_value(self) -> str:
        """The exact value for data-value (str of a float or Decimal round-trips; no localisation)."""
        return "" if self.raw is None else str(self.raw)


def _headline(f, rng: TimeRange, forecast: CostForecast | None, *, serverless: bool, span) -> list[Figure]:
    currency = f.currency or "USD"
    first, last = rng.days
    days = (last - first).days
    sources = ", ".join(SOURCE_LABELS.get(s, s) for s in sorted(f.cost_sources)) or "no cost data"
    cost_note = f"{sources}; {f.cost_days} of {days} days"
    if f.cost_estimated:
        cost_note += " · estimated"
    mtd_sources = ", ".join(SOURCE_LABELS.get(s, s) for s in sorted(f.mtd_sources))
    if "estimate" in f.mtd_sources:
        mtd_sources += " · includes estimates"
    per_1k_note = ""
    if span is not None and span[0] > rng.start:
        since = f"{span[0]:%Y-%m-%d %H:%M} UTC"
        per_1k_note = f"range cost ÷ invocations; metrics stored only since {since}, so it may be overstated"
    cold_value, cold = _pct(f.cold_start_rate), f"{_count(f.cold_starts)} cold starts"
    if f.cold_start_ms_avg is not None:
        cold += f", {_ms(f.cold_start_ms_avg)} average"
    errors = f"4XX {_count(f.errors_4xx)} · 5XX {_count(f.errors_5xx)}"
    throttle = (
        "peak concurrency utilisation (100%: calls are throttled as 4XX), with "
        f"4XX {_count(f.errors_4xx)} and spillover {_count(f.spillover)}"
    )
    if not serverless:
        cold_value, cold = "n/a", "cold starts are a serverless metric"
        throttle = (
            f"instance endpoint: no concurrency metric; throttled calls count in 4XX ({_count(f.errors_4xx)})"
        )
    if forecast:
        forecast_note = f"{forecast.method}, computed {forecast.computed_at:%Y-%m-%d %H:%M} UTC"
    else:
        forecast_note = "none yet: needs 7 days of cost history"
    return [
        Figure("cost", "Cost", _money(f.cost, currency), f.cost, cost_note),
        Figure(
            "cost_per_1k",
            "Cost per 1k invocations",
            _money(f.cost_per_1k, currency, 4 if (f.cost_per_1k or 0) < 1 else 2),
            f.cost_per_1k,
            per_1k_note,
        ),
        Figure("invocations", "Invocations", _count(f.invocations), f.invocations),
        Figure("p50", "Latency p50", _ms(f.p50), f.p50, "ModelLatency, invocation-weighted"),
        Figure("p95", "Latency p95", _ms(f.p95), f.p95),
        Figure("p99", "Latency p99", _ms(f.p99), f.p99, f"OverheadLatency p99 {_ms(f.overhead_p99)}"),
        Figure("cold_start_rate", "Cold-start rate", cold_value, f.cold_start_rate, cold),
        Figure("error_rate", "Error rate", _pct(f.error_rate), f.error_rate, errors),
        Figure("throttle", "Throttle pressure (derived)", _pct(f.throttle), f.throttle, throttle),
        Figure("mtd", "Month to date", _money(f.mtd_cost, currency), f.mtd_cost, mtd_sources),
        Figure("forecast", "Month forecast", _money(f.forecast, currency), f.forecast, forecast_note),
    ]


def _variant_row(v: ProductionVariant) -> dict:
    row = {"name": v.name, "kind": v.kind, "removed_at": v.removed_at, "lines": []}
    if v.kind == "serverless":
        row["lines"] = [
            f"memory {v.memory_mb} MB ({(v.memory_mb or 0) / 1024:g} GB)",
            f"max concurrency {v.max_concurrency}",
            f"provisioned concurrency {v.provisioned_concurrency or 'none'}",
        ]
        return row
    it = v.instance_type
    count = v.current_instance_count if v.current_instance_count is not None else "?"
    row["headline"] = f"{v.instance_type_id} × {count}"
    if v.desired_instance_count is not None and v.desired_instance_count != v.current_instance_count:
        row["headline"] += f" (desired {v.desired_instance_count})"
    if it is None:
        row["lines"] = ["instance type not known", "price unknown"]
        return row
    row["lines"] = [
        f"{it.vcpus} vCPUs" if it.vcpus else "vCPUs unknown",
        f"{it.gpu_count} × {it.accelerator} GPU, {_gib(it.gpu_memory_gib)} GiB GPU memory"
        if it.gpu_count
        else (it.accelerator or "no GPU"),
    ]
    if it.hourly_price is None:
        row["price"] = "price unknown"
        row["price_source"] = it.price_source or "not in the instance catalogue"
    else:
        row["price"] = f"{it.hourly_price.normalize():f} {it.currency}/hour per instance"
        row["price_source"] = it.price_source or "instance catalogue"
    return row


SHAPE_WORDS = {
    "kind": "kind",
    "instance_type": "instance type",
    "desired_instance_count": "instances",
    "memory_mb": "memory MB",
    "max_concurrency": "max concurrency",
    "provisioned_concurrency": "provisioned concurrency",
}


def _describe_shape(shape: dict) -> str:
    if shape.get("kind") == "serverless":
        text = f"serverless, {shape.get('memory_mb')} MB, max concurrency {shape.get('max_concurrency')}"
        if shape.get("provisioned_concurrency"):
            text += f", provisioned concurrency {shape['provisioned_concurrency']}"
        return text
    return f"{shape.get('instance_type', '?')} × {shape.get('desired_instance_count', '?')}"


def _event_row(e: EndpointEvent) -> dict:
    lines = []
    if e.kind == EndpointEvent.Kind.CREATED:
        for name, shape in sorted((e.detail.get("variants") or {}).items()):
            lines.append(f"{name}: {_describe_shape(shape)}")
    elif e.kind == EndpointEvent.Kind.CHANGED:
        before, after = e.detail.get("before") or {}, e.detail.get("after") or {}
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if old is None:
                lines.append(f"{name}: added ({_describe_shape(new)})")
            elif new is None:
                lines.append(f"{name}: removed (was {_describe_shape(old)})")
            else:
                for key in [k for k in SHAPE_WORDS if k in old or k in new]:
                    if old.get(key) != new.get(key):
                        word = SHAPE_WORDS[key]
                        lines.append(f"{name}: {word} {old.get(key, '—')} → {new.get(key, '—')}")
    return {"at": e.at, "kind": e.kind, "lines": lines}


def _picker(params, rng: TimeRange | None) -> dict:
    key = rng.key if rng else (params.get("range") or "")
    start = rng.start.date().isoformat() if rng else params.get("start", "")
    end = (rng.days[1] - timedelta(days=1)).isoformat() if rng else params.get("end", "")
    return {"ranges": list(RANGES), "active": key, "start": start, "end": end}


def _gib(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _money(value, currency: str, places: int = 2) -> str:
    if value is None:
        return "—"
    if 0 < abs(value) < Decimal("0.01"):
        places = max(places, 4)  # a serverless endpoint's few cents a day are not "0.00"
    return f"{value:,.{places}f} {currency}"


def _count(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ms(value) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f} ms" if value < 1000 else f"{value:,.0f} ms"


def _pct(value) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.0001:
        return "<0.01%"  # not "0.00%": something did happen
    return f"{value * 100:.2f}%" if value < 0.1 else f"{value * 100:.1f}%"
