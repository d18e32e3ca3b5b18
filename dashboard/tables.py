"""The endpoint table, defined once: each column says how to read its value from a row (an endpoint and
its figures), how to show it in HTML, how to write it in CSV, and how to sort by it. The fleet page, the
team page and their CSV exports all draw from `FleetTable` (NetBox's one table for list and export)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from dashboard.models import Endpoint
from dashboard.models.endpoints import SERVERLESS
from dashboard.services.figures import FLAGS, EndpointFigures

UNKNOWN = "—"
SOURCE_LABELS = {
    "resource": ("R", "Cost Explorer resource-level data"),
    "tag": ("T", "Cost Explorer cost-allocation tag"),
    "estimate": ("E", "our estimate: usage x price"),
}
NO_METRICS = mark_safe('<span class="muted" title="no metrics collected for this range">no metrics</span>')
UNTAGGED = mark_safe('<span class="muted" title="no team tag matches a team">untagged</span>')
DELETED = mark_safe(' <span class="status status-deleted">deleted</span>')
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- formatting for humans ----------------------------------------------------------------------------
def number(value, digits: int = 0) -> str:
    return UNKNOWN if value is None else f"{value:,.{digits}f}"


def money(amount: Decimal | None, currency: str, *, small: bool = False) -> str:
    """2 decimals and the currency code; `small` amounts (per-1k costs are often fractions of a cent)
    keep 4 decimals below 1, so a cheap endpoint does not read as free."""
    if amount is None:
        return UNKNOWN
    digits = 4 if small and abs(amount) < 1 else 2
    return f"{amount:,.{digits}f} {currency or 'USD'}"


def percent(ratio: float | None, digits: int = 1) -> str:
    return UNKNOWN if ratio is None else f"{ratio * 100:,.{digits}f}%"


def millis(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def source_marker(sources: Iterable[str], aws_estimated: bool = False) -> SafeString:
    """Small letters saying where a cost came from (R resource, T tag, E our estimate) and "est." when
    Cost Explorer still calls its figure estimated (our own estimates say E already)."""
    known = [s for s in ("resource", "tag", "estimate") if s in set(sources)]
    if not known:
        return mark_safe("")
    marks = format_html_join(
        "",
        '<abbr class="src src-{}" title="{}">{}</abbr>',
        ((s, SOURCE_LABELS[s][1], SOURCE_LABELS[s][0]) for s in known),
    )
    if aws_estimated:
        marks = format_html(
            '{}<abbr class="src-est" title="not final: AWS still calls it estimated">est.</abbr>', marks
        )
    return format_html('<span class="srcs">{}</span>', marks)


def csv_cell(value) -> Any:
    """A value as written to CSV: numbers as they are (we made them), text neutralised if a spreadsheet
    would run it as a formula (tags, team and endpoint names come from outside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


# --- rows and columns ------------------------------------------------------------------------------------
@dataclass
class Row:
    endpoint: Endpoint
    figures: EndpointFigures
    measured: bool  # metrics were collected for part of the range: usage figures are known, not zero
    aws_estimated: bool = False  # a Cost Explorer figure shown (range or MTD) is still marked estimated

    @property
    def variants(self) -> list:
        return [v for v in self.endpoint.variants.all() if v.removed_at is None]

    @property
    def usage(self) -> EndpointFigures | None:
        """The figures when metrics were collected; None: invocations etc. are unknown, not zero."""
        return self.figures if self.measured else None

    @property
    def currency(self) -> str:
        return self.figures.currency or "USD"


def _text(value, row) -> str:
    return UNKNOWN if value in (None, "") else str(value)


def _same(value, row):
    return value


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    value: Callable[[Row], Any]  # the raw value; None when unknown
    html: Callable[[Any, Row], str] = _text  # escaped text or SafeString
    csv: Callable[[Any, Row], Any] = _same  # a plain value; csv_cell neutralises text
    sort: Callable[[Any, Row], Any] | None = _same  # None: not sortable; a None key sorts last
    numeric: bool = False  # right-aligned
    descending_first: bool | None = None  # a header's first click sorts biggest first (default: numeric)
    title: str = ""  # header tooltip
    csv_header: str = ""
    in_html: bool = True
    in_csv: bool = True

    @property
    def starts_descending(self) -> bool:
        return self.numeric if self.descending_first is None else self.descending_first

    def cell(self, row: Row) -> Cell:
        value = self.value(row)
        return Cell(self.key, self.html(value, row), "num" if self.numeric else "")


@dataclass(frozen=True)
class Cell:
    key: str
    html: str
    css: str


def _lower(value, row):
    return value.lower() if isinstance(value, str) and value else None


# --- the fleet table's cells -----------------------------------------------------------------------------
def _name_html(value, row):
    e = row.endpoint
    status = ""
    if e.deleted_at:
        status = DELETED
    elif e.status != "InService":
        status = format_html(' <span class="status status-{}">{}</span>', e.status.lower(), e.status)
    return format_html('<a href="{}">{}</a>{}', reverse("endpoint", args=[e.pk]), value, status)


def _account_html(value, row):
    account = row.endpoint.account
    if not account.label:
        return account.account_id
    return format_html('<span title="{}">{}</span>', account.account_id, account.label)


def _team_html(value, row):
    team = row.endpoint.team
    if team is None:
        return UNTAGGED
    return format_html('<a href="{}">{}</a>', reverse("team", args=[team.slug]), team.name)


def _gpu_label(instance_type) -> str:
    if instance_type is None or not instance_type.gpu_count:
        return ""
    return f"{instance_type.gpu_count}× {instance_type.accelerator} ({instance_type.gpu_memory_gib:.0f} GiB)"


def _shape_text(row) -> str:
    variants = row.variants
    named = len(variants) > 1
    return "; ".join(f"{v.name}: {v.shape_label}" if named else v.shape_label for v in variants)


def _shape_html(value, row):
    variants = row.variants
    if not variants:
        return UNKNOWN
    named = len(variants) > 1
    parts = []
    for v in variants:
        name = format_html('<span class="muted">{}:</span> ', v.name) if named else ""
        gpus = _gpu_label(v.instance_type)
        parts.append(
            format_html(
                "<div>{}{}{}</div>",
                name,
                v.shape_label,
                format_html('<div class="sub">{}</div>', gpus) if gpus else "",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308  (each part built by format_html)


def _cost_html(value, row):
    return money(value, row.currency)


def _sources(row: Row) -> tuple[set[str], bool] | None:
    """Where the row's costs (month to date and range) came from, and whether any is not final."""
    sources = row.figures.cost_sources | row.figures.mtd_sources
    return (sources, row.aws_estimated) if sources else None


def _sources_html(value, row):
    return source_marker(*value) if value else UNKNOWN


def _money_html(value, row):
    return money(value, row.currency, small=True)


def _flag_list(row) -> list[str] | None:
    return row.usage.flags if row.usage else None


def _flags_html(value, row):
    if value is None:
        return NO_METRICS
    return format_html_join(
        " ", '<span class="flag flag-{}" title="{}">{}</span>', ((f, FLAGS[f], f) for f in value)
    )


@dataclass(frozen=True)
class PeakUse:
    """Peak use against what is configured: serverless memory, GPU, or instance memory."""

    pct: float
    text: str


def peak_use(row: Row) -> PeakUse | None:
    f = row.usage
    if f is None:
        return None
    variants = row.variants
    gpus = [v.instance_type for v in variants if v.instance_type and v.instance_type.gpu_count]
    if gpus and f.gpu_peak is not None:
        # GPUUtilization is stored as a percent of all the instance's GPUs, so "of N GPUs" is per instance.
        count = max(t.gpu_count for t in gpus)
        return PeakUse(f.gpu_peak, f"{f.gpu_peak:.0f}% of {count} GPU{'s' if count > 1 else ''}")
    if f.memory_peak is None:
        return None
    serverless = [v.memory_mb for v in variants if v.kind == SERVERLESS and v.memory_mb]
    if serverless:
        # MemoryUtilization is a percent of the configured MemorySizeInMB; with variants of different
        # sizes the peak is read against the largest (the figures keep only one endpoint-wide peak).
        configured_gb = max(serverless) / 1024
        used = f.memory_peak / 100 * configured_gb
        return PeakUse(f.memory_peak, f"{used:.1f} of {configured_gb:g} GB ({f.memory_peak:.0f}%)")
    sizes = [v.instance_type.memory_gib for v in variants if v.instance_type and v.instance_type.memory_gib]
    if sizes:
        configured = float(max(sizes))
        used = f.memory_peak / 100 * configured
        return PeakUse(f.memory_peak, f"{used:.1f} of {configured:g} GiB ({f.memory_peak:.0f}%)")
    return PeakUse(f.memory_peak, f"memory {f.memory_peak:.0f}%")


def _usage(attr: str) -> Callable[[Row], Any]:
    def value(row: Row):
        return getattr(row.usage, attr) if row.usage else None

    return value


def _cold_start_rate(row: Row) -> float | None:
    """Serverless only: CloudWatch has no ModelSetupTime for instance variants (they stay warm)."""
    if not any(v.kind == SERVERLESS for v in row.variants):
        return None
    return row.usage.cold_start_rate if row.usage else None


def _pct_html(value, row):
    return percent(value)


def _pct_csv(value, row):
    return None if value is None else round(value * 100, 3)


def _latency(stat: str) -> Column:
    return Column(
        stat, f"{stat} ms", _usage(stat), html=lambda v, r: millis(v), numeric=True,
        title=f"ModelLatency {stat}, milliseconds, invocation-weighted over the range",
    )  # fmt: skip


class Table:
    """Columns plus what every table does with them: rows to cells, sorting, CSV."""

    columns: tuple[Column, ...] = ()
    default_sort = ""

    def column(self, key: str) -> Column | None:
        """A column the page can be sorted by: shown, with a sort key."""
        return next((c for c in self.columns if c.key == key and c.sort is not None and c.in_html), None)

    @property
    def html_columns(self) -> list[Column]:
        return [c for c in self.columns if c.in_html]

    def cells(self, row: Row) -> list[Cell]:
        return [c.cell(row) for c in self.html_columns]

    def parse_sort(self, spec: str | None) -> tuple[Column, bool]:
        """`key` or `-key` (descending); an unknown key falls back to the default."""
        spec = (spec or "").strip()
        column = self.column(spec.lstrip("-"))
        if column is None:
            spec = self.default_sort
            column = self.column(spec.lstrip("-"))
        return column, spec.startswith("-")

    def sort(self, rows: list[Row], column: Column, descending: bool) -> list[Row]:
        """Stable sort on the column's key; unknown values last whichever the direction."""
        keyed = [(column.sort(column.value(r), r), r) for r in rows]
        known = [(k, r) for k, r in keyed if k is not None]
        unknown = [r for k, r in keyed if k is None]
        known.sort(key=lambda kr: kr[0], reverse=descending)
        return [r for _, r in known] + unknown

    def write_csv(self, rows: Iterable[Row], out) -> None:
        writer = csv.writer(out)
        columns = [c for c in self.columns if c.in_csv]
        writer.writerow([c.csv_header or c.header for c in columns])
        for row in rows:
            writer.writerow([csv_cell(c.csv(c.value(row), row)) for c in columns])


class FleetTable(Table):
    """One row per endpoint; costs and usage over the page's time range, MTD over the calendar month."""

    default_sort = "-mtd_cost"
    columns = (
        Column("name", "Endpoint", lambda r: r.endpoint.name, html=_name_html, sort=_lower),
        Column(
            "account", "Account", lambda r: r.endpoint.account.label or r.endpoint.account.account_id,
            html=_account_html, sort=_lower, csv_header="Account label",
        ),
        Column("account_id", "Account id", lambda r: r.endpoint.account.account_id, in_html=False),
        Column("region", "Region", lambda r: r.endpoint.region, sort=_lower),
        Column(
            "team", "Team", lambda r: r.endpoint.team.name if r.endpoint.team else None,
            html=_team_html, sort=_lower,
        ),
        Column("kind", "Kind", lambda r: r.endpoint.kind or None, sort=_lower),
        Column("shape", "Shape", _shape_text, html=_shape_html, sort=_lower),
        Column(
            "status", "Status", lambda r: "Deleted" if r.endpoint.deleted_at else r.endpoint.status,
            in_html=False,
        ),
        Column(
            "mtd_cost", "MTD cost", lambda r: r.figures.mtd_cost, html=_cost_html,
            numeric=True, title="Month to date, best source per day",
        ),
        Column(
            "mtd_source", "MTD cost source", lambda r: "+".join(sorted(r.figures.mtd_sources)) or None,
            in_html=False,
        ),
        Column(
            "cost", "Cost", lambda r: r.figures.cost, html=_cost_html, numeric=True,
            title="Over the selected range's days", csv_header="Cost (range)",
        ),
        Column(
            "sources", "Src", _sources, html=_sources_html, sort=None, in_csv=False,
            title="Where the costs came from: R resource, T tag, E estimate; est. = not final",
        ),
        Column(
            "cost_source", "Cost source", lambda r: "+".join(sorted(r.figures.cost_sources)) or None,
            in_html=False,
        ),
        Column(
            "cost_estimated", "Cost not final",
            lambda r: r.figures.cost_estimated if r.figures.cost_sources else None, in_html=False,
        ),
        Column(
            "aws_estimated", "AWS still estimating",
            lambda r: r.aws_estimated if r.figures.cost_sources else None, in_html=False,
        ),
        Column("currency", "Currency", lambda r: r.figures.currency or None, in_html=False),
        Column("forecast", "Month forecast", lambda r: r.figures.forecast, in_html=False),
        Column(
            "cost_per_1k", "Per 1k inv.", lambda r: r.usage.cost_per_1k if r.usage else None,
            html=_money_html, numeric=True, title="Cost over the range per 1,000 invocations",
            csv_header="Cost per 1k invocations",
        ),
        Column(
            "invocations", "Invocations", _usage("invocations"), html=lambda v, r: number(v), numeric=True,
        ),
        _latency("p50"),
        _latency("p95"),
        _latency("p99"),
        Column(
            "cold_start_rate", "Cold starts", _cold_start_rate, html=_pct_html, csv=_pct_csv,
            numeric=True, title="Share of invocations that started cold", csv_header="Cold-start rate (%)",
        ),
        Column(
            "error_rate", "Errors", _usage("error_rate"), html=_pct_html, csv=_pct_csv, numeric=True,
            title="4XX + 5XX per invocation", csv_header="Error rate (%)",
        ),
        Column(
            "throttle", "Throttle pressure*", _usage("throttle"), html=_pct_html, csv=_pct_csv, numeric=True,
            title="Derived: peak concurrent-executions utilisation of max concurrency, not a count of "
            "throttled requests",
            csv_header="Throttle pressure (% of max concurrency, derived)",
        ),
        Column(
            "peak_use", "Peak use", peak_use,
            html=lambda v, r: v.text if v else UNKNOWN, csv=lambda v, r: v.text if v else None,
            sort=lambda v, r: v.pct if v else None, numeric=True,
            title="Peak memory (serverless, CPU instances) or GPU use against what is configured",
            csv_header="Peak use vs configured",
        ),
        Column(
            "flags", "Flags", _flag_list, html=_flags_html,
            csv=lambda v, r: "; ".join(v) if v is not None else None,
            sort=lambda v, r: len(v) if v is not None else None, descending_first=True,
        ),
    )  # fmt: skip
