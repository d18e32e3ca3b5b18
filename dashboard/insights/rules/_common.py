"""What the serverless and idle rules share: building a finding, the serverless cost of a variant at its
observed usage, and whether a variant has gone quiet."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

from dashboard.insights import pricing
from dashboard.insights.model import Finding, Prices, Thresholds, VariantEvidence, variant_target


def build_finding(
    ev: VariantEvidence,
    prices: Prices,
    rule: str,
    *,
    evidence: dict,
    saving: Decimal | None,
    confidence: float,
    **fields,
) -> Finding:
    """`fields`: title, summary, current, proposed and optionally warnings."""
    return Finding(
        rule=rule,
        target=variant_target(ev, rule),
        evidence=plain({"window_start": ev.start.isoformat(), "window_end": ev.end.isoformat(), **evidence}),
        monthly_saving=pricing.money(saving),
        currency=prices.currency,
        confidence=round(min(1.0, max(0.0, confidence)), 2),
        endpoint_id=ev.endpoint_id,
        variant=ev.variant,
        account_id=ev.account_id,
        region=ev.region,
        **fields,
    )


def plain(value):
    """JSON-ready: Decimals as strings, floats shortened for people to read."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")  # never "2.628E+5"
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


def serverless_config(ev: VariantEvidence) -> dict:
    return {
        "memory_mb": ev.memory_mb,
        "max_concurrency": ev.max_concurrency,
        "provisioned_concurrency": ev.provisioned_concurrency or 0,
    }


def share(hours: float, ev: VariantEvidence) -> float:
    """Share of the window covered by `hours` of data: the base of every confidence."""
    return min(1.0, hours / ev.window_hours) if ev.window_hours > 0 else 0.0


def gb_label(memory_mb: int) -> str:
    return f"{memory_mb // 1024} GB" if memory_mb % 1024 == 0 else f"{memory_mb / 1024:.1f} GB"


def cash(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "an unknown amount"
    value = pricing.money(abs(amount))
    return f"${value:,}" if currency == "USD" else f"{value:,} {currency}"


def ms(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def fresh(ev: VariantEvidence, t: Thresholds) -> bool:
    """Metrics collected up to `fresh_hours` before the window's end (idle variants are polled every
    METRICS_IDLE_POLL_MINUTES, 6 hours by default): a stopped collector must not read as silence."""
    return ev.collected_until is not None and ev.collected_until >= ev.end - timedelta(hours=t.fresh_hours)


def quiet(ev: VariantEvidence, t: Thresholds) -> bool:
    """No invocation in the last `idle_days`, as far as the data can tell."""
    if ev.last_invocation_at is not None:
        return ev.last_invocation_at < ev.end - timedelta(days=t.idle_days)
    # Calls in the window without a timestamp: the timestamp is missing, the calls are not.
    return ev.invocations <= 0


def monthly_seconds(ev: VariantEvidence) -> Decimal:
    """Billed compute seconds observed over the window, scaled to a month."""
    return pricing.per_month(ev.compute_seconds, ev.observed_seconds)


def warm_share(ev: VariantEvidence) -> Decimal:
    """Share of requests served by provisioned concurrency (billed at its cheaper rate)."""
    if not ev.provisioned_concurrency or ev.invocations <= 0:
        return Decimal(0)
    return min(Decimal(1), Decimal(str(ev.pc_invocations)) / Decimal(str(ev.invocations)))


def serverless_month(
    ev: VariantEvidence,
    prices: Prices,
    *,
    memory_mb: int | None = None,
    provisioned: int | None = None,
    warm: Decimal | None = None,
) -> Decimal:
    """The variant's month at its observed usage, in its current configuration or with the given
    changes: the same requests, the same billed seconds."""
    return pricing.serverless_monthly(
        monthly_seconds(ev),
        memory_mb or ev.memory_mb,
        prices,
        provisioned=(ev.provisioned_concurrency or 0) if provisioned is None else provisioned,
        warm_share=warm_share(ev) if warm is None else warm,
    )
