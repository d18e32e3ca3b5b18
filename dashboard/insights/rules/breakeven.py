"""Serverless versus real-time: what a variant costs on its current hosting, what the cheapest hosting of
the other kind that fits would cost, and the request rate at which the two cost the same.

Serverless cost grows with requests; instances cost the same whatever the traffic. So below the
break-even rate serverless is cheaper, above it instances are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from dashboard.insights.model import (
    BREAK_EVEN,
    SECONDS_PER_MONTH,
    Finding,
    InstanceShape,
    Prices,
    Thresholds,
    VariantEvidence,
    variant_target,
)
from dashboard.insights.pricing import (
    gb,
    instance_monthly,
    money,
    per_month,
    provisioned_concurrency_monthly,
    serverless_compute_monthly,
    serverless_monthly,
    smallest_tier,
)
from dashboard.insights.rules._common import quiet

SERVERLESS = "serverless"
INSTANCE = "instance"
MAX_CONCURRENCY_LIMIT = 200  # ServerlessConfig.MaxConcurrency is 1-200
EPSILON = 1e-9  # ceil() of a float product that should land exactly on an integer
NO_INVOCATIONS = "No invocations in the window: the cost per request, so the break-even rate, is undefined."


@dataclass(frozen=True)
class HostingComparison:
    """One variant on its current hosting against the cheapest alternative of the other kind.

    Monthly figures are 730-hour months at the usage observed over the window. `alternative` is None
    when nothing fits, with `reason` saying why; `break_even_rps` is None when the cost per request is
    undefined (no invocations) or unknown, also with a `reason`."""

    current: str  # "serverless" | "instance"
    current_config: str  # e.g. "serverless 6144 MB, MaxConcurrency 20" or "2 x ml.m5.large"
    current_monthly: Decimal
    observed_rps: float  # requests per second, averaged over the observed part of the window
    alternative: str | None = None  # "instance" | "serverless"
    alternative_config: str | None = None
    alternative_monthly: Decimal | None = None
    alternative_instance_type: str | None = None
    alternative_instance_count: int | None = None
    alternative_memory_mb: int | None = None
    alternative_max_concurrency: int | None = None
    # requests per second, averaged over a month, at which current and alternative cost the same
    break_even_rps: float | None = None
    serverless_cost_per_request: Decimal | None = None  # the variable part of the serverless side
    memory_needed_mb: float | None = None  # the model's memory per copy, headroom included
    peak_concurrency: float | None = None  # concurrent requests the alternative is sized for, before headroom
    reason: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def monthly_saving(self) -> Decimal | None:
        """Positive: the alternative is cheaper."""
        if self.alternative_monthly is None:
            return None
        return self.current_monthly - self.alternative_monthly

    @property
    def saving_fraction(self) -> float | None:
        saving = self.monthly_saving
        if saving is None or self.current_monthly <= 0:
            return None
        return float(saving / self.current_monthly)


def compare_hosting(ev: VariantEvidence, t: Thresholds, prices: Prices) -> HostingComparison | None:
    """None when the current monthly cost itself is unknown (no shape, no price, an empty window)."""
    seconds = ev.observed_seconds
    if seconds <= 0:
        return None
    if ev.kind == SERVERLESS and ev.memory_mb:
        return _from_serverless(ev, t, prices, seconds)
    if (
        ev.kind == INSTANCE
        and ev.instance is not None
        and ev.instance_count
        and ev.instance.hourly is not None
    ):
        return _from_instance(ev, t, prices, seconds)
    return None


def hosting_break_even(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    # Nobody calls it: the idle-endpoint rule speaks for it, "move to serverless" would be a weaker echo.
    if ev.hours_with_data < t.min_data_hours or ev.invocations <= 0 or quiet(ev, t):
        return []
    c = compare_hosting(ev, t, prices)
    if c is None or c.alternative_monthly is None:
        return []
    saving = c.monthly_saving
    fraction = c.saving_fraction
    if fraction is None or saving < t.min_monthly_saving or fraction < t.break_even_min_saving_fraction:
        return []
    return [_finding(ev, prices, c)]


def _from_serverless(ev: VariantEvidence, t: Thresholds, prices: Prices, seconds: float) -> HostingComparison:
    memory_mb = ev.memory_mb
    provisioned = ev.provisioned_concurrency or 0
    warm_share = min(1.0, ev.pc_invocations / ev.invocations) if provisioned and ev.invocations > 0 else 0.0
    current = serverless_monthly(
        per_month(ev.compute_seconds, seconds),
        memory_mb,
        prices,
        provisioned=provisioned,
        warm_share=Decimal(str(warm_share)),
    )
    fixed = provisioned_concurrency_monthly(provisioned, memory_mb, prices) if provisioned else Decimal(0)
    base = {
        "current": SERVERLESS,
        "current_config": _serverless_config(memory_mb, ev.max_concurrency, provisioned),
        "current_monthly": current,
        "observed_rps": ev.invocations / seconds,
    }
    cost_per_request, why_not = _serverless_cost_per_request(ev, seconds, current - fixed)
    if why_not:
        return HostingComparison(**base, reason=why_not)
    if ev.hours_with_data < t.min_data_hours:
        return HostingComparison(**base, reason=_too_little_data(ev, t))
    if ev.memory.peak is None:
        return HostingComparison(**base, reason="No memory utilisation data: the model's size is unknown.")
    if ev.concurrency.peak is None or not ev.max_concurrency:
        return HostingComparison(**base, reason="No concurrency data: instances cannot be sized.")

    h = t.memory_headroom
    needed_mb = ev.memory.peak / 100 * memory_mb * (1 + h)
    # The worst hour, not p99 of hourly peaks: a fixed fleet has no burst capacity, and over a 14-day
    # window p99 would drop the three busiest hours, exactly the bursts that would queue.
    peak = ev.concurrency.peak * ev.max_concurrency
    best: tuple[Decimal, int, InstanceShape] | None = None
    for shape in prices.instances.values():
        if not shape.cpu_only or shape.hourly is None or not shape.vcpus or shape.memory_gib is None:
            continue
        if shape.memory_gib * 1024 + EPSILON < needed_mb:
            continue
        count = max(
            t.min_instances, math.ceil(peak * (1 + h) / (shape.vcpus * t.concurrency_per_vcpu) - EPSILON)
        )
        monthly = instance_monthly(shape, count)
        if best is None or (monthly, count, shape.name) < (best[0], best[1], best[2].name):
            best = (monthly, count, shape)
    if best is None:
        return HostingComparison(
            **base,
            memory_needed_mb=needed_mb,
            peak_concurrency=peak,
            reason=f"No CPU instance type in the catalogue holds {needed_mb:,.0f} MB with a known price.",
        )
    monthly, count, shape = best
    warnings = [
        f"Sized at {t.concurrency_per_vcpu:g} concurrent request(s) per vCPU and at least {t.min_instances} "
        "instance(s) for availability: load-test before moving.",
    ]
    if ev.concurrency.peak >= t.throttle_utilisation:
        warnings.append(
            "Concurrency reached MaxConcurrency: throttled requests hide the real peak, which may need more "
            "instances."
        )
    return HostingComparison(
        **base,
        alternative=INSTANCE,
        alternative_config=_instance_config(shape, count),
        alternative_monthly=monthly,
        alternative_instance_type=shape.name,
        alternative_instance_count=count,
        break_even_rps=_break_even_rps(monthly - fixed, cost_per_request),
        serverless_cost_per_request=cost_per_request,
        memory_needed_mb=needed_mb,
        peak_concurrency=peak,
        warnings=tuple(warnings),
    )


def _from_instance(ev: VariantEvidence, t: Thresholds, prices: Prices, seconds: float) -> HostingComparison:
    shape, count = ev.instance, ev.instance_count
    current = instance_monthly(shape, count)
    base = {
        "current": INSTANCE,
        "current_config": _instance_config(shape, count),
        "current_monthly": current,
        "observed_rps": ev.invocations / seconds,
    }
    if not shape.cpu_only:
        return HostingComparison(
            **base,
            reason=f"{shape.name} has an accelerator; serverless endpoints have no GPU or accelerator.",
        )
    if ev.hours_with_data < t.min_data_hours:
        return HostingComparison(**base, reason=_too_little_data(ev, t))
    if ev.memory.peak is None or shape.memory_gib is None:
        return HostingComparison(**base, reason="No memory utilisation data: the model's size is unknown.")
    if ev.invocations > 0 and ev.compute_seconds <= 0:
        return HostingComparison(
            **base, reason="No ModelLatency data: the serverless bill cannot be estimated."
        )

    h = t.memory_headroom
    needed_mb = ev.memory.peak / 100 * shape.memory_gib * 1024 * (1 + h)
    tier = smallest_tier(needed_mb, prices.memory_tiers_mb)
    if tier is None:
        return HostingComparison(
            **base,
            memory_needed_mb=needed_mb,
            reason=f"The model needs {needed_mb:,.0f} MB, above the largest serverless size "
            f"({max(prices.memory_tiers_mb)} MB).",
        )
    peak = _estimated_peak_concurrency(ev, seconds)
    needed_concurrency = math.ceil(peak * (1 + h) - EPSILON)
    if needed_concurrency > MAX_CONCURRENCY_LIMIT:
        return HostingComparison(
            **base,
            memory_needed_mb=needed_mb,
            peak_concurrency=peak,
            reason=f"About {needed_concurrency} concurrent requests at peak, above the serverless maximum "
            f"of {MAX_CONCURRENCY_LIMIT}.",
        )
    # The hourly estimate cannot see bursts, and MaxConcurrency costs nothing on demand (only quota), so
    # callers keep at least the concurrency the instances served them.
    fleet = math.ceil(shape.vcpus * count * t.concurrency_per_vcpu - EPSILON) if shape.vcpus else 1
    max_concurrency = min(MAX_CONCURRENCY_LIMIT, max(1, needed_concurrency, fleet))
    monthly = serverless_compute_monthly(per_month(ev.compute_seconds, seconds), tier, prices)
    warnings = (
        "ModelLatency was measured on an instance; serverless CPUs differ, so billed duration may too.",
        "Serverless adds cold starts after idle periods; peak concurrency is estimated from the busiest hour "
        "(requests x average latency), so bursts within an hour are not seen.",
    )
    alternative = {
        "alternative": SERVERLESS,
        "alternative_config": _serverless_config(tier, max_concurrency, 0),
        "alternative_monthly": monthly,
        "alternative_memory_mb": tier,
        "alternative_max_concurrency": max_concurrency,
        "memory_needed_mb": needed_mb,
        "peak_concurrency": peak,
        "warnings": warnings,
    }
    if ev.invocations <= 0:
        return HostingComparison(
            **base,
            **alternative,
            reason=NO_INVOCATIONS,
        )
    cost_per_request = (
        Decimal(str(ev.compute_seconds / ev.invocations)) * gb(tier) * prices.serverless_gb_second
    )
    return HostingComparison(
        **base,
        **alternative,
        break_even_rps=_break_even_rps(current, cost_per_request),
        serverless_cost_per_request=cost_per_request,
    )


def _serverless_cost_per_request(
    ev: VariantEvidence, seconds: float, variable_monthly: Decimal
) -> tuple[Decimal | None, str]:
    if ev.invocations <= 0:
        return (
            None,
            NO_INVOCATIONS,
        )
    if ev.compute_seconds <= 0:
        return None, "No ModelLatency data: the serverless bill cannot be estimated."
    return variable_monthly / per_month(ev.invocations, seconds), ""


def _break_even_rps(instance_side: Decimal, cost_per_request: Decimal) -> float | None:
    """Requests per second (month average) at which serverless requests cost `instance_side` a month;
    0 when provisioned capacity alone already costs more than the instances."""
    if cost_per_request <= 0:
        return None
    return max(0.0, float(instance_side / cost_per_request / SECONDS_PER_MONTH))


def _estimated_peak_concurrency(ev: VariantEvidence, seconds: float) -> float:
    """Little's law on the busiest hour of the day: arrival rate x average time in the model. Instance
    endpoints publish no concurrency utilisation, so this is the best the evidence allows."""
    if ev.invocations <= 0:
        return 0.0
    latency_s = ev.compute_seconds / ev.invocations
    days = seconds / 86400
    busiest = max((hp.invocations for hp in ev.by_hour), default=0.0)
    rate = busiest / (days * 3600) if busiest > 0 and days >= 1 else ev.invocations / seconds
    return rate * latency_s


def _too_little_data(ev: VariantEvidence, t: Thresholds) -> str:
    return f"Only {ev.hours_with_data} hours of data; a verdict needs {t.min_data_hours}."


def _serverless_config(memory_mb: int, max_concurrency: int | None, provisioned: int) -> str:
    text = f"serverless {memory_mb} MB"
    if max_concurrency:
        text += f", MaxConcurrency {max_concurrency}"
    if provisioned:
        text += f", provisioned {provisioned}"
    return text


def _instance_config(shape: InstanceShape, count: int) -> str:
    return f"{count} × {shape.name}"


def _finding(ev: VariantEvidence, prices: Prices, c: HostingComparison) -> Finding:
    saving = money(c.monthly_saving)
    cur = prices.currency
    if c.alternative == INSTANCE:
        crossing = f"instances are cheaper above {_rate(c.break_even_rps)}"
        proposed = {
            "hosting": INSTANCE,
            "instance_type": c.alternative_instance_type,
            "instance_count": c.alternative_instance_count,
        }
    else:
        crossing = f"serverless stays cheaper below {_rate(c.break_even_rps)}"
        proposed = {
            "hosting": SERVERLESS,
            "memory_mb": c.alternative_memory_mb,
            "max_concurrency": c.alternative_max_concurrency,
        }
    if ev.kind == SERVERLESS:
        current = {
            "hosting": SERVERLESS,
            "memory_mb": ev.memory_mb,
            "max_concurrency": ev.max_concurrency,
            "provisioned_concurrency": ev.provisioned_concurrency,
        }
    else:
        current = {
            "hosting": INSTANCE,
            "instance_type": ev.instance.name,
            "instance_count": ev.instance_count,
        }
    summary = (
        f"At the observed {_rate(c.observed_rps)} this variant costs {_money(c.current_monthly, cur)} "
        f"a month on {c.current_config} and would cost {_money(c.alternative_monthly, cur)} on "
        f"{c.alternative_config}; {crossing}."
    )
    warnings = list(c.warnings)
    if ev.variants_on_endpoint > 1:
        warnings.append(
            f"The endpoint has {ev.variants_on_endpoint} variants: this compares this variant alone, and "
            "moving it means a new endpoint configuration."
        )
    evidence = {
        "window": {"start": ev.start.isoformat(), "end": ev.end.isoformat()},
        "observed_hours": round(ev.observed_seconds / 3600, 2),
        "hours_with_data": ev.hours_with_data,
        "invocations": ev.invocations,
        "compute_seconds": ev.compute_seconds,
        "observed_rps": c.observed_rps,
        "break_even_rps": c.break_even_rps,
        "serverless_cost_per_request": _text(c.serverless_cost_per_request),
        "current_monthly": _text(money(c.current_monthly)),
        "alternative_monthly": _text(money(c.alternative_monthly)),
        "memory_peak_pct": ev.memory.peak,
        "memory_needed_mb": None if c.memory_needed_mb is None else round(c.memory_needed_mb),
        "concurrency_peak": ev.concurrency.peak,
        "peak_concurrency": None if c.peak_concurrency is None else round(c.peak_concurrency, 2),
        "latency_avg_ms": ev.latency_avg_ms,
        "latency_p99_ms": ev.latency_p99_ms,
        "prices": {
            "serverless_gb_second": str(prices.serverless_gb_second),
            "hourly": {
                name: str(prices.instances[name].hourly)
                for name in (ev.instance.name if ev.instance else None, c.alternative_instance_type)
                if name in prices.instances
            },
        },
    }
    return Finding(
        rule=BREAK_EVEN,
        title=f"Move from {_short(c.current_config)} to {_short(c.alternative_config)}",
        summary=summary,
        target=variant_target(ev, BREAK_EVEN),
        current={**current, "monthly": _text(money(c.current_monthly))},
        proposed={**proposed, "monthly": _text(money(c.alternative_monthly))},
        evidence=evidence,
        monthly_saving=saving,
        currency=cur,
        confidence=ev.coverage,
        endpoint_id=ev.endpoint_id,
        variant=ev.variant,
        account_id=ev.account_id,
        region=ev.region,
        warnings=warnings,
    )


def _short(config: str) -> str:
    """A configuration without its concurrency details, for a one-line title."""
    return config.split(",")[0]


def _rate(rps: float | None) -> str:
    return "an undefined rate" if rps is None else f"{rps:.3g} requests/s"


def _money(value: Decimal | None, currency: str) -> str:
    value = money(value)
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
