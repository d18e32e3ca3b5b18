"""Monthly cost of a configuration at an observed usage: what every saving is computed from.

Pure functions of `Prices` (no Django). A month is 730 hours, as AWS prices it. Serverless compute is
billed per second of processing by memory size (price per GB-second x GB x seconds); provisioned
concurrency is billed per GB-second while provisioned, and requests it serves are billed at its lower
per-GB-second rate. Instances are billed per hour per instance, whatever the traffic.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from dashboard.insights.model import HOURS_PER_MONTH, SECONDS_PER_MONTH, InstanceShape, Prices

CENT = Decimal("0.01")


def gb(memory_mb: int) -> Decimal:
    return Decimal(memory_mb) / 1024


def per_month(value: float | Decimal, window_seconds: float) -> Decimal:
    """Scale a total observed over `window_seconds` to a 730-hour month."""
    if window_seconds <= 0:
        return Decimal(0)
    return Decimal(str(value)) * SECONDS_PER_MONTH / Decimal(str(window_seconds))


def serverless_compute_monthly(compute_seconds_per_month: Decimal, memory_mb: int, prices: Prices) -> Decimal:
    """On-demand serverless compute for a month of `compute_seconds_per_month` billed seconds."""
    return compute_seconds_per_month * gb(memory_mb) * prices.serverless_gb_second


def provisioned_concurrency_monthly(provisioned: int, memory_mb: int, prices: Prices) -> Decimal:
    """Provisioned concurrency held for a whole month (capacity only, not the requests it serves)."""
    return Decimal(provisioned) * gb(memory_mb) * SECONDS_PER_MONTH * prices.provisioned_gb_second


def serverless_monthly(
    compute_seconds_per_month: Decimal,
    memory_mb: int,
    prices: Prices,
    *,
    provisioned: int = 0,
    warm_share: Decimal = Decimal(0),
) -> Decimal:
    """A serverless variant's month: provisioned capacity, plus compute, `warm_share` of which is served
    by provisioned concurrency at its rate and the rest on demand."""
    seconds = compute_seconds_per_month
    warm = seconds * warm_share
    cold = seconds - warm
    total = cold * gb(memory_mb) * prices.serverless_gb_second
    if provisioned:
        total += warm * gb(memory_mb) * prices.provisioned_invocation_gb_second
        total += provisioned_concurrency_monthly(provisioned, memory_mb, prices)
    return total


def instance_monthly(shape: InstanceShape, count: int) -> Decimal | None:
    """None when the instance type's price is unknown: no saving is invented."""
    if shape.hourly is None:
        return None
    return shape.hourly * count * HOURS_PER_MONTH


def money(value: Decimal | None) -> Decimal | None:
    """Rounded to the cent for display and storage of savings (the inputs keep full precision)."""
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def smallest_tier(needed_mb: float, tiers: tuple[int, ...]) -> int | None:
    """The smallest allowed MemorySizeInMB holding `needed_mb`; None when even the largest is too small."""
    for tier in sorted(tiers):
        if tier >= needed_mb:
            return tier
    return None
