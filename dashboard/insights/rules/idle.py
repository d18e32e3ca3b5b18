"""Idle rules: variants nobody has called for `idle_days`.

One rule owns each case, so a quiet variant gets one finding:
- `idle_endpoint`: instance variants (delete the endpoint, or the variant when others share it), and
  serverless variants without provisioned concurrency. Those cost nothing while idle, but still count
  against the account's serverless quotas (endpoints, and MaxConcurrency against the shared concurrency),
  so they are reported with a saving of 0 rather than skipped: the quota rule's headroom comes from them.
- `idle_provisioned_concurrency`: serverless variants with provisioned concurrency, billed while idle.
No verdict unless the metrics were collected recently: a stopped collector looks exactly like silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from dashboard.insights import pricing
from dashboard.insights.model import (
    HOURS_PER_MONTH,
    IDLE_ENDPOINT,
    IDLE_PROVISIONED,
    SECONDS_PER_MONTH,
    Finding,
    Prices,
    Thresholds,
    VariantEvidence,
)
from dashboard.insights.rules._common import build_finding, cash, fresh, gb_label, quiet, serverless_config


def _born(ev: VariantEvidence) -> datetime | None:
    """The later of the endpoint's creation and the start of the metrics we hold for the variant: only
    silence we could have seen counts (an endpoint whose metrics we hold for two days is young to us,
    however old it is). None when we hold no metrics for it: nothing is known."""
    if ev.collected_from is None:
        return None
    known = [d for d in (ev.endpoint_created_at, ev.collected_from) if d is not None]
    return max(known)


def idle_since(ev: VariantEvidence, t: Thresholds) -> datetime | None:
    """Since when the variant has had no invocation, if that is at least `idle_days` and the metrics are
    recent; None when it is busy, too young to tell, or the data is stale."""
    if not fresh(ev, t) or not quiet(ev, t):
        return None
    if ev.last_invocation_at is not None:
        return ev.last_invocation_at
    born = _born(ev)
    if born is None or born > ev.end - timedelta(days=t.idle_days):
        return None
    return born


def _confidence(idle_hours: float, t: Thresholds) -> float:
    # A week of silence may be a pause; two are a pattern.
    return 0.5 + 0.5 * min(1.0, idle_hours / (2 * t.idle_days * 24))


def _spent(ev: VariantEvidence, estimate: Decimal | None) -> tuple[Decimal | None, str]:
    """Billed since idle when known; the billed figure is the endpoint's, so it only stands for a variant
    that is the endpoint's only one."""
    if ev.billed_since_idle is not None and ev.variants_on_endpoint == 1:
        return ev.billed_since_idle, "billed"
    return estimate, "estimate" if estimate is not None else "unknown"


def _days(hours: float) -> str:
    days = hours / 24
    return f"{days:.0f} days" if days >= 2 else f"{hours:.0f} hours"


def idle_endpoint(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    if ev.kind == "serverless" and ev.provisioned_concurrency:
        return []  # idle_provisioned_concurrency owns it
    since = idle_since(ev, t)
    if since is None:
        return []
    idle_hours = (ev.end - since).total_seconds() / 3600
    last = "never called" if ev.last_invocation_at is None else f"no calls for {_days(idle_hours)}"
    evidence = {
        "idle_since": since.isoformat(),
        "idle_hours": idle_hours,
        "last_invocation_at": ev.last_invocation_at.isoformat() if ev.last_invocation_at else None,
        "collected_until": ev.collected_until.isoformat(),
        "idle_days": t.idle_days,
        "variants_on_endpoint": ev.variants_on_endpoint,
    }
    whole = ev.variants_on_endpoint <= 1
    action = "delete-endpoint" if whole else "remove-variant"
    proposed = {"action": action, "keep": "endpoint-config"} if whole else {"action": action}
    what = "endpoint" if whole else f"variant {ev.variant}"

    if ev.kind == "serverless":
        return [
            build_finding(
                ev,
                prices,
                IDLE_ENDPOINT,
                title=f"Delete idle serverless {what} ({last})",
                summary=(
                    f"{last.capitalize()}. It costs nothing while idle, but still counts against the "
                    f"account's serverless quotas: one endpoint, and MaxConcurrency {ev.max_concurrency} of "
                    "the shared concurrency."
                ),
                current=serverless_config(ev),
                proposed=proposed,
                evidence=evidence | {"max_concurrency": ev.max_concurrency},
                saving=Decimal(0),
                confidence=_confidence(idle_hours, t),
            )
        ]

    shape, count = ev.instance, ev.instance_count
    monthly = pricing.instance_monthly(shape, count) if shape is not None and count is not None else None
    if monthly is not None and pricing.money(monthly) < t.min_monthly_saving:
        return []
    hourly_total = monthly / HOURS_PER_MONTH if monthly is not None else None
    estimate = hourly_total * Decimal(str(idle_hours)) if hourly_total is not None else None
    spent, spent_source = _spent(ev, estimate)
    estimated = " (estimated)" if spent_source == "estimate" else ""
    keep = " (keep its endpoint config to recreate it)" if whole else ""
    return [
        build_finding(
            ev,
            prices,
            IDLE_ENDPOINT,
            title=f"Delete idle {what} ({last})",
            summary=(
                f"{last.capitalize()}, yet {count or '?'} x {shape.name if shape else '?'} is billed: "
                f"{cash(spent, prices.currency)} so far{estimated}, "
                f"{cash(monthly, prices.currency)} a month. Delete the {what}{keep}."
            ),
            current={"instance_type": shape.name if shape else None, "instance_count": count},
            proposed=proposed,
            evidence=evidence
            | {
                "hourly_price": shape.hourly if shape else None,
                "spent_idle": pricing.money(spent),
                "spent_idle_source": spent_source,
                "spent_idle_currency": ev.billed_currency if spent_source == "billed" else prices.currency,
                "monthly_cost": pricing.money(monthly),
            },
            saving=monthly,
            confidence=_confidence(idle_hours, t),
        )
    ]


def idle_provisioned_concurrency(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    pc = ev.provisioned_concurrency
    if ev.kind != "serverless" or not pc or not ev.memory_mb:
        return []
    since = idle_since(ev, t)
    if since is None:
        # Too young for `idle_days`, but a whole window of data without one call is enough to say so.
        data_hours = max(ev.hours_with_data, ev.pc_utilisation.hours)
        called = ev.last_invocation_at is not None and ev.last_invocation_at >= ev.start
        if not fresh(ev, t) or ev.invocations > 0 or called or data_hours < t.min_data_hours:
            return []
        since = max(d for d in (ev.start, _born(ev), ev.last_invocation_at) if d is not None)
    idle_hours = (ev.end - since).total_seconds() / 3600
    monthly = pricing.provisioned_concurrency_monthly(pc, ev.memory_mb, prices)
    if pricing.money(monthly) < t.min_monthly_saving:
        return []
    estimate = monthly / SECONDS_PER_MONTH * Decimal(str(idle_hours * 3600))
    spent, spent_source = _spent(ev, estimate)
    return [
        build_finding(
            ev,
            prices,
            IDLE_PROVISIONED,
            title=f"Remove idle provisioned concurrency of {pc}",
            summary=(
                f"No calls for {_days(idle_hours)}, yet {pc} x {gb_label(ev.memory_mb)} of provisioned "
                f"concurrency is billed: {cash(spent, prices.currency)} so far"
                f"{' (estimated)' if spent_source == 'estimate' else ''}, {cash(monthly, prices.currency)} "
                "a month. If nobody needs the endpoint, deleting it also frees serverless quota."
            ),
            current=serverless_config(ev),
            proposed={"provisioned_concurrency": 0},
            evidence={
                "idle_since": since.isoformat(),
                "idle_hours": idle_hours,
                "last_invocation_at": ev.last_invocation_at.isoformat() if ev.last_invocation_at else None,
                "collected_until": ev.collected_until.isoformat(),
                "invocations": ev.invocations,
                "pc_utilisation_peak": ev.pc_utilisation.peak,
                "spent_idle": pricing.money(spent),
                "spent_idle_source": spent_source,
                "spent_idle_currency": ev.billed_currency if spent_source == "billed" else prices.currency,
                "monthly_cost": pricing.money(monthly),
            },
            saving=monthly,
            confidence=_confidence(idle_hours, t),
        )
    ]
