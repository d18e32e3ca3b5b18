"""The endpoint page's plotly figures, built server-side from plain series (no database here).

Each figure is serialised with `fig.to_json()` and drawn by plotly.js served from our own static files.
Gaps stay gaps: a bucket with no summary row is None and lines never connect across it, so a missing
hour never reads as zero traffic. One palette colours a metric the same way in every chart."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import plotly.graph_objects as go

if TYPE_CHECKING:  # plain data in, figures out: this module needs neither Django nor the database
    from dashboard.insights.model import HourProfile
    from dashboard.services.figures import TimeRange
    from dashboard.services.series import Series
    from dashboard.services.trends import Week

PALETTE = {
    "invocations": "#2563eb",
    "p50": "#16a34a",
    "p95": "#d97706",
    "p99": "#dc2626",
    "overhead_p99": "#a21caf",
    "cold_starts": "#0891b2",
    "cold_start_ms": "#4f46e5",
    "errors_4xx": "#ea580c",
    "errors_5xx": "#9f1239",
    "concurrency": "#db2777",
    "spillover": "#0d9488",
    "memory": "#0284c7",
    "cpu": "#65a30d",
    "gpu": "#7c3aed",
    "gpu_memory": "#ca8a04",
    "resource": "#1d4ed8",
    "tag": "#059669",
    "estimate": "#94a3b8",
    "forecast": "#111827",
    "cost_per_1k": "#0f766e",
    "capacity": "#6b7280",
}
COST_SOURCE_LABELS = {
    "resource": "Cost Explorer resource data",
    "tag": "cost-allocation tag",
    "estimate": "estimate",
}
CONFIG = {"displaylogo": False, "responsive": True}
NO_DATA = "no data in this range"
HEIGHT = 300

# Summary fields the charts read (one summary_series query for all of them).
SUMMARY_FIELDS = [
    "invocations", "p50", "p95", "p99", "overhead_p99", "cold_starts", "errors_4xx", "errors_5xx",
    "concurrency_util_max", "spillover", "memory_util_max", "cpu_util_max", "gpu_util_max",
    "gpu_memory_util_max",
]  # fmt: skip


@dataclass
class Shape:
    """What the endpoint is configured with, for titles and the 100% line."""

    kind: str  # serverless, instance, mixed or ""
    memory_mb: list[int] = field(default_factory=list)  # serverless variants' MemorySizeInMB
    provisioned: bool = False  # any variant with provisioned concurrency (spillover exists)
    instances: list[str] = field(default_factory=list)  # "ml.g5.xlarge x 2 (4 vCPU, 1 GPU, 24 GiB)"


@dataclass
class ChartInputs:
    rng: TimeRange
    shape: Shape
    summary: dict[str, Series]  # SUMMARY_FIELDS, endpoint level
    cold_start_ms: list[Series]  # ModelSetupTime Average per variant
    costs: list[tuple[date, Decimal | None, str, bool | None]]  # daily_costs()
    daily_invocations: dict[date, float]  # only days whose metrics were collected in full
    forecast: list[tuple[date, Decimal]] = field(default_factory=list)  # the month's remaining days
    currency: str = "USD"


@dataclass
class Chart:
    name: str  # data-chart="<name>" on the page
    title: str
    figure: go.Figure

    @property
    def payload(self) -> str:
        """JSON for <script type="application/json">: the figure and plotly.js config, with <, > and &
        escaped as json_script does, so no string in it can close the script element."""
        text = f'{{"figure": {self.figure.to_json()}, "config": {json.dumps(CONFIG)}}}'
        return text.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")


def endpoint_charts(data: ChartInputs) -> list[Chart]:
    return [
        invocations_chart(data),
        latency_chart(data),
        cold_starts_chart(data),
        errors_chart(data),
        throttle_chart(data),
        utilisation_chart(data),
        cost_chart(data),
        cost_per_1k_chart(data),
    ]


# --- the charts ------------------------------------------------------------------------------------
def invocations_chart(data: ChartInputs) -> Chart:
    s = data.summary
    traces = [_line(s["invocations"], "invocations", "invocations", fill=True)]
    return _chart("invocations", "Invocations", data, traces, y=f"invocations / {_per(data.rng)}")


def latency_chart(data: ChartInputs) -> Chart:
    s = data.summary
    traces = [
        _line(s["p50"], "p50", "ModelLatency p50"),
        _line(s["p95"], "p95", "ModelLatency p95"),
        _line(s["p99"], "p99", "ModelLatency p99"),
        _line(s["overhead_p99"], "overhead_p99", "OverheadLatency p99", dash="dot"),
    ]
    title = "Latency (invocation-weighted, all variants)"
    positive = [v for t in traces for v in t.y if v]
    if positive and max(positive) / min(positive) > 50:
        # Serverless OverheadLatency includes cold starts (seconds) and would flatten the model's
        # milliseconds against the axis: a log scale keeps both readable.
        return _chart("latency", title, data, traces, y="latency (ms, log scale)", y_type="log")
    return _chart("latency", title, data, traces, y="latency (ms)")


def cold_starts_chart(data: ChartInputs) -> Chart:
    if not data.shape.memory_mb:
        hint = "cold starts are published for serverless endpoints only"
        return _chart("cold_starts", "Cold starts", data, [], y="", hint=hint)
    traces = [_line(data.summary["cold_starts"], "cold_starts", "cold starts")]
    many = len(data.cold_start_ms) > 1
    for i, series in enumerate(data.cold_start_ms):
        name = f"cold-start duration ({series.name})" if many else "cold-start duration (avg)"
        dash = ("solid", "dot", "dash")[i % 3]
        # Hours without a cold start have no duration at all: markers, as a lone point has no line.
        traces.append(_line(series, "cold_start_ms", name, axis="y2", markers=True, dash=dash))
    y = f"cold starts / {_per(data.rng)}"
    chart = _chart("cold_starts", "Cold starts", data, traces, y=y, y2="cold-start duration (ms)")
    return _say_if_all_zero(chart, [data.summary["cold_starts"]], "no cold starts in this range")


def errors_chart(data: ChartInputs) -> Chart:
    s = data.summary
    traces = [
        _bar(s["errors_4xx"], "errors_4xx", "4XX errors (incl. throttled 429)"),
        _bar(s["errors_5xx"], "errors_5xx", "5XX errors"),
    ]
    chart = _chart("errors", "Errors", data, traces, y=f"errors / {_per(data.rng)}", barmode="stack")
    return _say_if_all_zero(chart, [s["errors_4xx"], s["errors_5xx"]], "no errors in this range")


def throttle_chart(data: ChartInputs) -> Chart:
    """Throttle pressure is derived: serverless concurrent-executions utilisation at 1.0 means further
    calls are refused (as 4XX), and provisioned-concurrency spillover is traffic beyond the warm
    capacity. Counts on the left; the utilisation line on the right axis, drawn over the bars."""
    s = data.summary
    traces = []
    if data.shape.provisioned:
        traces.append(_bar(s["spillover"], "spillover", "spillover invocations"))
    traces.append(_bar(s["errors_4xx"], "errors_4xx", "4XX errors"))
    title = "Throttle pressure (derived from concurrency utilisation, 4XX and spillover)"
    if not data.shape.memory_mb:
        title = "Throttle pressure (instance endpoint: throttled calls show as 4XX)"
        return _chart("throttle", title, data, traces, y=f"invocations / {_per(data.rng)}")
    traces.append(_line(s["concurrency_util_max"], "concurrency", "peak concurrency utilisation", axis="y2"))
    return _chart(
        "throttle", title, data, traces, y=f"invocations / {_per(data.rng)}",
        y2="concurrency utilisation (0-1)", y2_range=[0, 1.1],
        shapes=[_hline(1.0, "MaxConcurrency (1.0)", axis="y2")],
    )  # fmt: skip


def utilisation_chart(data: ChartInputs) -> Chart:
    s = data.summary
    traces = [
        _line(s["memory_util_max"], "memory", "memory"),
        _line(s["cpu_util_max"], "cpu", "CPU (per vCPU)"),
        _line(s["gpu_util_max"], "gpu", "GPU (per GPU)"),
        _line(s["gpu_memory_util_max"], "gpu_memory", "GPU memory"),
    ]
    peak = max((v for t in traces for v in t.y if v is not None), default=100)
    configured = []
    if data.shape.memory_mb:
        configured.append(f"MemorySizeInMB {', '.join(str(m) for m in data.shape.memory_mb)}")
    configured += data.shape.instances
    return _chart(
        "utilisation", "Utilisation (peak, % of configured)", data, traces, y="% of capacity",
        subtitle="configured: " + "; ".join(configured) if configured else "",
        shapes=[_hline(100, "configured capacity (100%)")], y_range=[0, max(110, peak * 1.1)],
    )  # fmt: skip


def cost_chart(data: ChartInputs) -> Chart:
    """Daily cost bars, one trace per source (each day has one best source), figures AWS or we still
    call estimated hatched; this month's forecast for its remaining days as a dashed line."""
    days = [_day(d) for d, *_ in data.costs]
    traces = []
    for source in ("resource", "tag", "estimate"):
        values = [_num(cost) if src == source else None for _, cost, src, _ in data.costs]
        if not any(v is not None for v in values):
            continue
        estimated = [bool(est) and src == source for _, _, src, est in data.costs]
        # "overlay": the source's colour fills the bar and the hatching is drawn over it.
        pattern = {
            "shape": ["/" if e else "" for e in estimated],
            "fillmode": "overlay",
            "fgcolor": "#ffffff",
        }
        traces.append(
            go.Bar(
                x=days, y=values, name=COST_SOURCE_LABELS[source],
                marker={"color": PALETTE[source], "pattern": pattern},
                customdata=["estimated" if e else "final" for e in estimated],
                hovertemplate=f"%{{y:.2f}} {data.currency} ({source}, %{{customdata}})<extra></extra>",
            )
        )  # fmt: skip
    if data.forecast:
        traces.append(
            go.Scatter(
                x=[_day(d) for d, _ in data.forecast], y=[_num(v) for _, v in data.forecast],
                name="forecast (median of recent days)", mode="lines", connectgaps=False,
                line={"color": PALETTE["forecast"], "dash": "dash", "width": 2},
            )
        )  # fmt: skip
    last = max([data.rng.days[1] - timedelta(days=1), *(d for d, _ in data.forecast)])
    return _chart(
        "cost", "Daily cost by source (hatched: estimated)", data, traces, y=f"{data.currency} / day",
        barmode="stack", money=True, x_title="day (UTC)", x_range=_day_range(data.rng.days[0], last),
    )  # fmt: skip


def cost_per_1k_chart(data: ChartInputs) -> Chart:
    """Each day's best cost over its invocations; only days whose metrics were collected in full count
    (the view leaves the others out of `daily_invocations`), so a partial day is a gap, not a spike."""
    values = []
    for day, cost, _, _ in data.costs:
        invocations = data.daily_invocations.get(day)
        per_1k = cost / Decimal(str(invocations)) * 1000 if cost is not None and invocations else None
        values.append(_num(per_1k))
    trace = go.Scatter(
        x=[_day(d) for d, *_ in data.costs], y=values, name="cost per 1k invocations", mode="lines+markers",
        connectgaps=False, line={"color": PALETTE["cost_per_1k"]}, marker={"size": 5},
    )  # fmt: skip
    first, end = data.rng.days
    return _chart(
        "cost_per_1k", "Cost per 1k invocations (daily, days with complete metrics)", data, [trace],
        y=f"{data.currency} per 1k invocations", x_title="day (UTC)", money=True,
        x_range=_day_range(first, end - timedelta(days=1)),
    )  # fmt: skip


# --- charts over calendar patterns (services/trends.py) -------------------------------------------
def weekly_cost_per_1k_chart(weeks: list[Week], currency: str, *, name: str = "cost_per_1k_weekly") -> Chart:
    """Cost per 1k invocations per ISO week; the current week, not over yet, as an open marker joined by
    a dotted line, so a few days' figure is not read as a complete week."""
    title = "Cost per 1k invocations, week over week (ISO weeks, UTC)"
    fig = go.Figure(layout=_layout(title))
    complete = [w for w in weeks if not w.partial]
    current = [w for w in weeks if w.partial and w.cost_per_1k is not None]
    if not any(w.cost_per_1k is not None for w in weeks):
        return _no_data(name, title, fig, "no week has both a cost and invocations", "no cost per 1k yet")
    unit = f"{currency} per 1k invocations"
    if any(w.cost_per_1k is not None for w in complete):
        fig.add_trace(_week_trace(complete, "cost per 1k invocations (complete weeks)", unit))
    if current:
        joined = [w for w in complete[-1:] if w.cost_per_1k is not None] + current
        trace = _week_trace(joined, "cost per 1k invocations (this week so far)", unit, dash="dot")
        trace.marker.update(symbol=["circle"] * (len(joined) - 1) + ["circle-open"], size=9)
        fig.add_trace(trace)
    fig.update_layout(
        xaxis={"title": {"text": "week starting (Monday, UTC)"}, "type": "date", "tickformat": "%d %b",
               "dtick": 7 * 24 * 3600 * 1000, "tick0": _day(weeks[0].start),
               "range": _day_range(weeks[0].start, weeks[-1].start)},
        yaxis={"title": {"text": unit}, "rangemode": "tozero", "exponentformat": "none"},
        hovermode="closest",
    )  # fmt: skip
    return Chart(name, title, fig)


def _week_trace(weeks: list[Week], label: str, unit: str, *, dash: str = "solid") -> go.Scatter:
    def detail(w: Week) -> str:
        cost = "no cost" if w.cost is None else f"{w.cost:,.2f} {w.currency}"
        calls = "" if w.invocations is None else f" over {w.invocations:,.0f} invocations"
        return f"{w.iso}{' (so far)' if w.partial else ''}: {cost}{calls}"

    return go.Scatter(
        x=[_day(w.start) for w in weeks], y=[_num(w.cost_per_1k) for w in weeks], name=label,
        mode="lines+markers",
        connectgaps=False, line={"color": PALETTE["cost_per_1k"], "dash": dash, "width": 1.8},
        marker={"size": 7}, customdata=[detail(w) for w in weeks],
        hovertemplate=f"%{{y:.4f}} {unit}<br>%{{customdata}}<extra></extra>",
    )  # fmt: skip


def cold_starts_by_hour_chart(hours: list[HourProfile], *, subtitle: str = "") -> Chart:
    """Cold-start rate (bars) and average cold-start duration (line) per hour of the day, UTC: when
    traffic arrives to a cold endpoint. An hour without invocations is a gap, not 0%."""
    name, title = "cold_starts_by_hour", "Cold starts by hour of day (UTC)"
    fig = go.Figure(layout=_layout(title, subtitle))
    if not any(h.invocations for h in hours):
        return _no_data(name, title, fig, "no invocations in this range")
    x = [h.hour for h in hours]
    rates = [None if h.cold_start_rate is None else h.cold_start_rate * 100 for h in hours]
    durations = [h.cold_start_ms / h.cold_starts if h.cold_starts else None for h in hours]
    fig.add_traces([
        go.Bar(x=x, y=[_num(v) for v in rates], name="cold starts (% of invocations)",
               marker={"color": PALETTE["cold_starts"]}, hovertemplate="%{y:.2f}%<extra>rate</extra>"),
        go.Scatter(x=x, y=[_num(v) for v in durations], name="cold-start duration (average, ms)", yaxis="y2",
                   mode="lines+markers", connectgaps=False, line={"color": PALETTE["cold_start_ms"]},
                   marker={"size": 6}, hovertemplate="%{y:,.0f} ms<extra>duration</extra>"),
    ])  # fmt: skip
    fig.update_layout(
        xaxis={"title": {"text": "hour of day (UTC)"}, "tickmode": "linear", "tick0": 0, "dtick": 2,
               "range": [-0.5, 23.5]},
        yaxis={"title": {"text": "cold-start rate (%)"}, "rangemode": "tozero"},
        yaxis2={"title": {"text": "cold-start duration (ms)"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False, "tickmode": "auto", "nticks": 6},
    )  # fmt: skip
    if not any(h.cold_starts for h in hours):
        fig.add_annotation(
            text="no cold starts in this range", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.6,
            font={"size": 14, "color": PALETTE["capacity"]},
        )  # fmt: skip
    return Chart(name, title, fig)


# --- building blocks -------------------------------------------------------------------------------
def _chart(
    name, title, data: ChartInputs, traces, *, y, y2=None, hint="", shapes=(), y_range=None, y2_range=None,
    barmode=None, x_title=None, x_range=None, subtitle="", y_type="linear", money=False,
) -> Chart:  # fmt: skip
    """A figure of the traces that have data (an all-gap trace would only clutter the legend), or a
    "no data in this range" note when none has."""
    fig = go.Figure(layout=_layout(title, subtitle))
    traces = [t for t in traces if _has_data(t)]
    if not traces:
        return _no_data(name, title, fig, hint)
    fig.add_traces(traces)
    rng = data.rng
    fig.update_layout(
        xaxis={
            "title": {"text": x_title or f"{_per(rng)} (UTC)"},
            "type": "date",
            "range": x_range or [_ts(rng.start), _ts(rng.end)],
        },
        yaxis={"title": {"text": y}, "rangemode": "tozero", **({"range": y_range} if y_range else {})},
    )
    if y_type == "log":
        fig.update_layout(yaxis_type="log", yaxis_dtick=1)  # a tick per power of ten, no 2s and 5s
    if money:
        # Not SI prefixes: "300µ" USD reads as a unit, not as 0.0003.
        fig.update_layout(yaxis_exponentformat="none", yaxis_separatethousands=True)
    on_y2 = any(t.yaxis == "y2" for t in traces)
    if y2 and on_y2:
        axis = {"title": {"text": y2}, "overlaying": "y", "side": "right", "rangemode": "tozero"}
        # plotly.js syncs an overlaying axis' ticks to the main grid by default: odd values like 0.387.
        if y2_range:
            axis.update(range=y2_range, tickmode="linear", tick0=0, dtick=0.25)
        else:
            axis.update(tickmode="auto", nticks=6)
        fig.update_layout(yaxis2={**axis, "showgrid": False})
    fig.update_layout(shapes=[s for s in shapes if s["yref"] == "y" or on_y2])
    if barmode:
        fig.update_layout(barmode=barmode)
    return Chart(name, title, fig)


def _no_data(name: str, title: str, fig: go.Figure, hint: str = "", text: str = NO_DATA) -> Chart:
    text += f"<br><span style='font-size:12px'>{hint}</span>" if hint else ""
    note = {"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
            "font": {"size": 16, "color": PALETTE["capacity"]}}  # fmt: skip
    fig.update_layout(annotations=[note], xaxis={"visible": False}, yaxis={"visible": False})
    return Chart(name, title, fig)


def _layout(title: str, subtitle: str = "") -> go.Layout:
    # template "none": plotly's default template would add ~6 kB of styling to every figure.
    heading = {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 14}}
    if subtitle:
        heading["subtitle"] = {"text": subtitle, "font": {"size": 11, "color": PALETTE["capacity"]}}
    return go.Layout(
        template="none",
        title=heading,
        height=HEIGHT,
        margin={"l": 64, "r": 64, "t": 58 if subtitle else 40, "b": 80},
        font={"family": "system-ui, sans-serif", "size": 12, "color": "#1d2330"},
        legend={"orientation": "h", "y": -0.32, "x": 0, "traceorder": "normal"},
        hovermode="x unified",
        plot_bgcolor="#ffffff",
        paper_bgcolor="#ffffff",
        bargap=0.15,
    )


def _line(series: Series, metric: str, name: str, *, axis="y", dash="solid", fill=False, markers=False):
    return go.Scatter(
        x=[_ts(t) for t in series.timestamps], y=[_num(v) for v in series.values], name=name,
        mode="lines+markers" if markers else "lines", connectgaps=False, yaxis=axis,
        line={"color": PALETTE[metric], "dash": dash, "width": 1.8}, marker={"size": 5},
        fill="tozeroy" if fill else None,
    )  # fmt: skip


def _bar(series: Series, metric: str, name: str, *, axis="y"):
    return go.Bar(
        x=[_ts(t) for t in series.timestamps], y=[_num(v) for v in series.values], name=name, yaxis=axis,
        marker={"color": PALETTE[metric]},
    )  # fmt: skip


def _hline(y: float, label: str, *, axis: str = "y") -> dict:
    """A dashed line across the plot at the configured capacity."""
    return {
        "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": axis, "y0": y, "y1": y,
        "line": {"color": PALETTE["capacity"], "dash": "dash", "width": 1.5},
        "label": {"text": label, "textposition": "end", "font": {"size": 10, "color": PALETTE["capacity"]}},
    }  # fmt: skip


def _day_range(first: date, last: date) -> list[str]:
    # Bars are centred on their day: half a day of margin keeps the first and last whole.
    start = datetime(first.year, first.month, first.day) - timedelta(hours=12)
    end = datetime(last.year, last.month, last.day) + timedelta(hours=12)
    return [_ts(start), _ts(end)]


def _say_if_all_zero(chart: Chart, series: list[Series], text: str) -> Chart:
    """Rows exist and all say zero: a flat line at 0 is easy to miss, so say it in words too."""
    if chart.figure.data and not any(v for s in series for v in s.values):
        chart.figure.add_annotation(
            text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.6,
            font={"size": 14, "color": PALETTE["capacity"]},
        )  # fmt: skip
    return chart


def _has_data(trace) -> bool:
    return trace.y is not None and any(v is not None for v in trace.y)


def _num(value) -> float | None:
    # Six significant digits keep the JSON small without changing what a chart shows.
    return None if value is None else float(f"{float(value):.6g}")


def _ts(t: datetime) -> str:
    # plotly.js ignores time zones in date strings: send naive UTC and say "UTC" on the axis.
    return t.strftime("%Y-%m-%d %H:%M")


def _day(d: date) -> str:
    return d.isoformat()


def _per(rng: TimeRange) -> str:
    return "hour" if rng.resolution == "1h" else "day"
