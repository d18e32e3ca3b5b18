"""The endpoint table: one row per endpoint (an endpoint and its figures). The fleet page, the team page
and their CSV exports all draw from `FleetTable`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from dashboard.models import Endpoint
from dashboard.models.endpoints import SERVERLESS, kind_of
from dashboard.services.figures import FLAGS, EndpointFigures
from dashboard.tables.base import (
    DELETED,
    NO_METRICS,
    UNKNOWN,
    UNTAGGED,
    Column,
    Table,
    _lower,
    millis,
    money,
    number,
    percent,
    source_marker,
)


@dataclass
class Row:
    endpoint: Endpoint
    figures: EndpointFigures
    measured: bool  # metrics were collected for part of the range: usage figures are known, not zero
    all_variants: list  # every variant, removed ones too

    @property
    def aws_estimated(self) -> bool:
        """A Cost Explorer figure shown (range or MTD) is still marked estimated."""
        return self.figures.aws_estimated

    @property
    def variants(self) -> list:
        """The live variants."""
        return [v for v in self.all_variants if v.removed_at is None]

    @property
    def kind(self) -> str:
        return kind_of(self.all_variants)

    @property
    def usage(self) -> EndpointFigures | None:
        """The figures when metrics were collected; None: invocations etc. are unknown, not zero."""
        return self.figures if self.measured else None

    @property
    def currency(self) -> str:
        return self.figures.currency or "USD"


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
        Column("kind", "Kind", lambda r: r.kind or None, sort=_lower),
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
