"""Model rows and service figures -> JSON-ready dicts. Money is a string of the exact Decimal (never a
float), timestamps are ISO 8601 in UTC, dates YYYY-MM-DD, and a value that is not known is None (null),
never 0. The shapes here are the ones dashboard/api/openapi.py describes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from dashboard.insights.model import RULES, confidence_label
from dashboard.models import Endpoint, EndpointEvent, ProductionVariant, Recommendation
from dashboard.services.figures import EndpointFigures, TimeRange, Totals
from dashboard.services.recommendations import OpenSavings, QuotaUsage
from dashboard.services.trends import Week


def ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def money(value: Decimal | None) -> str | None:
    # Fixed-point: str(Decimal) could say "1E+1", which is no way to show money.
    return format(value, "f") if value is not None else None


def range_json(rng: TimeRange) -> dict:
    return {"key": rng.key, "start": ts(rng.start), "end": ts(rng.end), "resolution": rng.resolution}


def variant_json(v: ProductionVariant) -> dict:
    it = v.instance_type
    return {
        "name": v.name,
        "kind": v.kind,
        "shape": v.shape_label,
        "memory_mb": v.memory_mb,
        "max_concurrency": v.max_concurrency,
        "provisioned_concurrency": v.provisioned_concurrency,
        "instance_type": v.instance_type_id,
        "instance_count": v.current_instance_count,
        "desired_instance_count": v.desired_instance_count,
        "vcpus": it.vcpus if it else None,
        "gpu_count": it.gpu_count if it else None,
        "gpu_memory_gib": format(it.gpu_memory_gib, "f") if it else None,
        "accelerator": (it.accelerator or None) if it else None,
        "hourly_price": money(it.hourly_price) if it else None,
        "price_currency": it.currency if it and it.hourly_price is not None else None,
        "first_seen": ts(v.first_seen),
        "last_seen": ts(v.last_seen),
        "removed_at": ts(v.removed_at),
    }


def endpoint_json(e: Endpoint) -> dict:
    """Identity and shape; `e.variants` must be prefetched (with instance_type) by the caller."""
    return {
        "id": e.pk,
        "name": e.name,
        "arn": e.arn,
        "account_id": e.account.account_id,
        "account_label": e.account.label or None,
        "region": e.region,
        "team": {"slug": e.team.slug, "name": e.team.name} if e.team else None,
        "status": e.status,
        "kind": e.kind or None,
        "tags": e.tags,
        "created_at": ts(e.created_at),
        "modified_at": ts(e.modified_at),
        "first_seen": ts(e.first_seen),
        "last_seen": ts(e.last_seen),
        "deleted_at": ts(e.deleted_at),
        "variants": [variant_json(v) for v in e.variants.all()],
    }


def figures_json(f: EndpointFigures, *, has_metrics: bool) -> dict:
    """`has_metrics`: whether any summary row exists for the endpoint in the range. Without one the
    counts are unknown (null), not zero, and the endpoint is not called idle."""

    def count(value: float) -> float | None:
        return value if has_metrics else None

    return {
        "metrics_collected": has_metrics,
        "invocations": count(f.invocations),
        "errors_4xx": count(f.errors_4xx),
        "errors_5xx": count(f.errors_5xx),
        "error_rate": f.error_rate,
        "cold_starts": count(f.cold_starts),
        "cold_start_rate": f.cold_start_rate,
        "cold_start_ms_avg": f.cold_start_ms_avg,
        "latency_ms": {
            "avg": f.latency_avg,
            "p50": f.p50,
            "p95": f.p95,
            "p99": f.p99,
            "max": f.latency_max,
            "overhead_p99": f.overhead_p99,
        },
        "throttle": f.throttle,
        "spillover": count(f.spillover),
        "peaks": {
            "memory_pct": f.memory_peak,
            "cpu_pct": f.cpu_peak,
            "gpu_pct": f.gpu_peak,
            "gpu_memory_pct": f.gpu_memory_peak,
        },
        "cost": money(f.cost),
        "cost_days": f.cost_days,
        "cost_source": sorted(f.cost_sources),
        "cost_estimated": f.cost_estimated if f.cost is not None else None,
        "currency": f.currency or None,
        "mtd_cost": money(f.mtd_cost),
        "mtd_cost_source": sorted(f.mtd_sources),
        "forecast": money(f.forecast),
        "cost_per_1k": money(f.cost_per_1k),
        "flags": [flag for flag in f.flags if has_metrics or flag != "idle"],
    }


def totals_json(
    t: Totals, figures: list[EndpointFigures], measured: set[int], last_month: Decimal | None
) -> dict:
    """Totals as JSON. `measured`: endpoints with metrics in the range; `last_month`: last month's spend
    over the same days, None when no cost was recorded. A sum over nothing known is null, not 0."""

    def known(values) -> bool:
        return any(v is not None for v in values)

    has_metrics = any(f.endpoint_id in measured for f in figures)
    has_cost = known(f.cost for f in figures)
    return {
        "endpoints": t.endpoints,
        "invocations": t.invocations if has_metrics else None,
        "errors": t.errors if has_metrics else None,
        "error_rate": t.error_rate,
        "cost": money(t.cost) if has_cost else None,
        "mtd_cost": money(t.mtd_cost) if known(f.mtd_cost for f in figures) else None,
        "forecast": money(t.forecast) if known(f.forecast for f in figures) else None,
        "last_month_same_days": money(last_month),
        "change_vs_last_month": t.change_vs_last_month if last_month is not None else None,
        "currency": t.currency if has_cost or last_month is not None else None,
        "cost_source": sorted({s for f in figures for s in f.cost_sources}),
    }


def event_json(ev: EndpointEvent) -> dict:
    return {"at": ts(ev.at), "kind": ev.kind, "detail": ev.detail}


def week_json(w: Week) -> dict:
    return {
        "week": w.iso,
        "start": day(w.start),
        "end": day(w.end),
        "partial": w.partial,
        "cost": money(w.cost),
        "invocations": w.invocations,
        "cost_days": w.cost_days,
        "cost_per_1k": money(w.cost_per_1k),
        "change": w.change,
        "currency": w.currency or None,
        "cost_source": list(w.sources),
    }


def recommendation_json(r: Recommendation) -> dict:
    """`endpoint`, `account`, `team` and `status_changed_by` must be loaded with it (select_related)."""
    return {
        "id": r.pk,
        "key": r.key,
        "rule": r.rule,
        "rule_label": RULES.get(r.rule, r.rule),
        "title": r.title,
        "summary": r.summary,
        "endpoint": {"id": r.endpoint_id, "name": r.endpoint.name} if r.endpoint_id else None,
        "variant": r.variant or None,
        "account_id": r.account.account_id,
        "region": r.region,
        "team": {"slug": r.team.slug, "name": r.team.name} if r.team else None,
        "current": r.current,
        "proposed": r.proposed,
        "evidence": r.evidence,
        "warnings": r.warnings,
        "monthly_saving": money(r.monthly_saving),
        "currency": r.currency,
        "confidence": r.confidence,
        "confidence_label": confidence_label(r.confidence),
        "window": {"start": ts(r.window_start), "end": ts(r.window_end)},
        "computed_at": ts(r.computed_at),
        "first_seen_at": ts(r.first_seen_at),
        "active": r.active,
        "resolved_at": ts(r.resolved_at),
        "status": r.status,
        "status_changed_at": ts(r.status_changed_at),
        "status_changed_by": r.status_changed_by.get_username() if r.status_changed_by else None,
        "status_note": r.status_note or None,
    }


def open_savings_json(t: OpenSavings) -> dict:
    return {
        "currency": t.currency,
        "open": t.count,
        "monthly_saving": money(t.saving),
        "monthly_cost_increase": money(t.costs_more),
        "unknown_saving": t.unknown,
    }


def quota_json(q: QuotaUsage) -> dict:
    e = q.evidence
    return {
        "account_id": e.account_id,
        "account_label": q.account_label or None,
        "region": e.region,
        "serverless_endpoints": e.serverless_endpoints,
        "endpoint_quota": e.endpoint_quota,
        "endpoints_used": q.endpoints_used,
        "sum_max_concurrency": e.sum_max_concurrency,
        "concurrency_quota": e.concurrency_quota,
        "concurrency_used": q.concurrency_used,
        "sum_provisioned_concurrency": e.sum_provisioned_concurrency,
        "warn": q.warn,
        "largest": [
            {"endpoint_id": large.pk, "name": large.name, "max_concurrency": large.max_concurrency}
            for large in q.largest
        ],
    }
