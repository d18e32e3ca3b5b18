"""Which cost belongs to which endpoint, per day; estimates from usage x price; forecasts from history.

Pure functions over `collectors.costmodel` data: no AWS, no database. Money is Decimal throughout.

Attribution, best source first (the source is recorded on every figure):
1. resource: a GetCostAndUsageWithResources row whose RESOURCE_ID is the endpoint's ARN (compared
   case-insensitively: SageMaker lower-cases names in ARNs). Last 14 days, opted-in accounts only.
2. tag: a cost-allocation tag (key configurable, e.g. `cost-endpoint`) whose value names exactly one
   endpoint of the account (`tag_index`); an ambiguous value is attributed to no endpoint.
3. estimate: usage x price (`estimate_endpoint`, rules below).
No row from a source means "this source does not know", never "zero": the next source is tried. An
endpoint-day no source can price becomes a CostGap with its reason, never an invented figure.

Estimate rules, mirroring how SageMaker bills (and collectors/simulator/billing.py, so they reconcile):
- serverless on demand: seconds = (invocations - provisioned_invocations) x average ModelLatency,
  rounded up to the millisecond once per variant and day; cost = seconds x memory GB x
  compute_per_gb_second. Memory GB = MemorySizeInMB / 1024 (the tiers are whole GiB).
- provisioned concurrency (PC), billed on top: capacity = PC x seconds up x memory GB x
  provisioned_concurrency_per_gb_second, whatever the traffic; the invocations PC served warm
  (ServerlessProvisionedConcurrencyInvocations) are billed at provisioned_invocation_per_gb_second
  instead of the on-demand rate: seconds = provisioned_invocations x average ModelLatency (rounded up to
  the millisecond), x memory GB x that rate. Spillover is ordinary on-demand compute. CloudWatch gives
  one average latency for both parts, so the split is approximate: spillover happens at peaks, where
  latency runs higher, so the estimate moves a little cost from the on-demand to the cheaper PC rate.
- instance: hours = seconds up x instance count / 3600 (to the micro-hour); cost = hours x the instance
  type's hourly price. An instance type with no price gives no estimate (a gap), never a guess.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from collectors.costmodel import (
    ESTIMATE,
    RESOURCE,
    TAG,
    Attribution,
    CostGap,
    EndpointCost,
    EndpointRef,
    HistoryForecast,
    Prices,
    Reconciliation,
    ResourceCostRow,
    TagCostRow,
    VariantUsage,
)

DEFAULT_PRICES = Path(__file__).resolve().parent / "data" / "prices.json"
MILLISECOND = Decimal("0.001")
MICROHOUR = Decimal("0.000001")
HISTORY_DAYS = 28  # forecast from at most the last 28 complete days ...
MIN_HISTORY_DAYS = 7  # ... and at least 7


def load_prices(path: Path | None = None) -> Prices:
    data = json.loads((path or DEFAULT_PRICES).read_text())
    serverless = data["serverless"]
    return Prices(
        currency=data.get("currency", "USD"),
        serverless_gb_second=Decimal(serverless["compute_per_gb_second"]),
        provisioned_gb_second=Decimal(serverless["provisioned_concurrency_per_gb_second"]),
        provisioned_invocation_gb_second=Decimal(serverless["provisioned_invocation_per_gb_second"]),
        instance_hourly={name: Decimal(spec["hourly"]) for name, spec in data["instance_types"].items()},
    )


def _dec(value) -> Decimal:
    # CloudWatch statistics arrive as floats: go through their shortest repr, not their binary expansion.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _ceil_ms(seconds: Decimal) -> Decimal:
    return seconds.quantize(MILLISECOND, rounding=ROUND_CEILING)


# --- estimates ---------------------------------------------------------------------------------------
def estimate_variant(usage: VariantUsage, prices: Prices) -> tuple[Decimal | None, dict]:
    """(cost, detail) of one variant-day; cost None (and detail["reason"]) when it cannot be priced."""
    detail: dict = {"variant": usage.variant, "kind": usage.kind, "seconds_up": usage.seconds_up}
    if usage.seconds_up < 0 or usage.invocations < 0 or usage.provisioned_invocations < 0:
        raise ValueError(f"variant {usage.variant}: negative usage {usage!r}")
    if usage.kind == "instance":
        hourly = prices.instance_hourly.get(usage.instance_type or "")
        if hourly is None:
            return None, {**detail, "reason": f"no price for instance type {usage.instance_type!r}"}
        hours = (Decimal(usage.seconds_up) * _dec(usage.instance_count) / 3600).quantize(MICROHOUR)
        cost = hours * hourly
        detail.update(
            instance_type=usage.instance_type,
            instance_count=str(usage.instance_count),
            instance_hours=_text(hours),
            hourly_price=_text(hourly),
            cost=_text(cost),
        )
        return cost, detail
    if usage.kind != "serverless":
        raise ValueError(f"variant {usage.variant}: unknown kind {usage.kind!r}")
    if not usage.memory_mb:
        return None, {**detail, "reason": "serverless memory size unknown"}
    gb = Decimal(usage.memory_mb) / 1024
    latency_s = _dec(usage.avg_model_latency_ms) / 1000
    pc = usage.provisioned_concurrency or 0
    warm = usage.provisioned_invocations if pc else 0
    if warm > usage.invocations:
        raise ValueError(
            f"variant {usage.variant}: {warm} provisioned invocations > {usage.invocations} in all"
        )
    on_demand_s = _ceil_ms((usage.invocations - warm) * latency_s)
    cost = on_demand_s * gb * prices.serverless_gb_second
    detail.update(
        memory_gb=_text(gb),
        invocations=usage.invocations,
        avg_model_latency_ms=_text(latency_s * 1000),
        on_demand_gb_seconds=_text(on_demand_s * gb),
        on_demand_price_per_gb_second=_text(prices.serverless_gb_second),
    )
    if pc:
        capacity_s = Decimal(pc * usage.seconds_up)
        warm_s = _ceil_ms(warm * latency_s)
        cost += capacity_s * gb * prices.provisioned_gb_second
        cost += warm_s * gb * prices.provisioned_invocation_gb_second
        detail.update(
            provisioned_concurrency=pc,
            provisioned_invocations=warm,
            provisioned_capacity_gb_seconds=_text(capacity_s * gb),
            provisioned_price_per_gb_second=_text(prices.provisioned_gb_second),
            provisioned_invocation_gb_seconds=_text(warm_s * gb),
            provisioned_invocation_price_per_gb_second=_text(prices.provisioned_invocation_gb_second),
        )
    detail["cost"] = _text(cost)
    return cost, detail


def estimate_endpoint(variants: Iterable[VariantUsage], prices: Prices) -> tuple[Decimal | None, dict]:
    """The sum over an endpoint's variants; None if any variant cannot be priced (a partial sum would
    understate the cost without saying so)."""
    total, parts, missing = Decimal(0), [], []
    for usage in variants:
        cost, detail = estimate_variant(usage, prices)
        parts.append(detail)
        if cost is None:
            missing.append(f"{usage.variant}: {detail['reason']}")
        else:
            total += cost
    if not parts:
        return None, {"reason": "no usage recorded", "variants": []}
    if missing:
        return None, {"reason": "; ".join(missing), "variants": parts}
    return total, {"variants": parts, "price_currency": prices.currency}


def estimate_costs(
    endpoints: Iterable[EndpointRef],
    days: Iterable[date],
    usage: Mapping[tuple[Hashable, date], list[VariantUsage]],
    prices: Prices,
) -> Attribution:
    """Our estimate for every endpoint-day with usage (e.g. to reconcile against the billed figures)."""
    out = Attribution()
    days = list(days)
    for ep in endpoints:
        for day in days:
            if (ep.key, day) in usage:
                _add_estimate(out, ep, day, usage[(ep.key, day)], prices)
    return out


def _add_estimate(out: Attribution, ep: EndpointRef, day: date, variants, prices: Prices) -> None:
    amount, detail = estimate_endpoint(variants, prices)
    if amount is None:
        out.gaps.append(CostGap(ep.key, day, detail["reason"]))
    else:
        out.costs.append(EndpointCost(ep.key, day, amount, prices.currency, ESTIMATE, True, detail))


# --- attribution -------------------------------------------------------------------------------------
def tag_index(endpoints: Iterable[EndpointRef], tag_key: str) -> Callable[[str, str], Hashable | None]:
    """A function (account id, tag value) -> the key of the one endpoint of that account carrying
    `tag_key` = value; None when no endpoint, or several (e.g. one name in two regions), carry it."""
    owners: dict[tuple[str, str], list[Hashable]] = defaultdict(list)
    for ep in endpoints:
        value = ep.tags.get(tag_key)
        if value:
            owners[(ep.account_id, value)].append(ep.key)

    def owner(account_id: str, value: str) -> Hashable | None:
        keys = owners.get((account_id, value), [])
        return keys[0] if len(keys) == 1 else None

    return owner


def _sum_rows(rows) -> tuple[Decimal, str, bool, int]:
    currencies = {r.currency for r in rows}
    if len(currencies) != 1:
        raise ValueError(f"rows for one endpoint-day in several currencies: {sorted(currencies)}")
    return (
        sum((r.unblended for r in rows), Decimal(0)),
        currencies.pop(),
        any(r.estimated for r in rows),
        len(rows),
    )


def attribute_costs(
    endpoints: Iterable[EndpointRef],
    days: Iterable[date],
    *,
    prices: Prices,
    resource_rows: Iterable[ResourceCostRow] = (),
    tag_rows: Iterable[TagCostRow] = (),
    tag_key: str | None = None,
    tag_owner: Callable[[str, str], Hashable | None] | None = None,
    usage: Mapping[tuple[Hashable, date], list[VariantUsage]] | None = None,
) -> Attribution:
    """One cost per endpoint and day, from the best source that has it (see the module docstring).

    `tag_owner(account_id, tag_value)` maps a tag value to an endpoint key; by default `tag_index` over
    the endpoints' own `tag_key` tags. `usage` holds each endpoint-day's variants for estimates."""
    endpoints, days, usage = list(endpoints), list(days), usage or {}
    by_arn: dict[tuple[str, date], list[ResourceCostRow]] = defaultdict(list)
    for row in resource_rows:
        by_arn[(row.resource_arn.lower(), row.day)].append(row)
    by_key: dict[tuple[Hashable, date], list[TagCostRow]] = defaultdict(list)
    if tag_key:
        owner = tag_owner or tag_index(endpoints, tag_key)
        for row in tag_rows:
            if row.tag_key == tag_key and not row.untagged:
                key = owner(row.account_id, row.tag_value)
                if key is not None:
                    by_key[(key, row.day)].append(row)
    out = Attribution()
    for ep in endpoints:
        for day in days:
            rows = by_arn.get((ep.arn.lower(), day))
            if rows:
                amount, currency, estimated, n = _sum_rows(rows)
                detail = {"resource_arn": rows[0].resource_arn, "rows": n}
                out.costs.append(EndpointCost(ep.key, day, amount, currency, RESOURCE, estimated, detail))
                continue
            rows = by_key.get((ep.key, day))
            if rows:
                amount, currency, estimated, n = _sum_rows(rows)
                detail = {"tag_key": tag_key, "tag_value": rows[0].tag_value, "rows": n}
                out.costs.append(EndpointCost(ep.key, day, amount, currency, TAG, estimated, detail))
                continue
            if (ep.key, day) in usage:
                _add_estimate(out, ep, day, usage[(ep.key, day)], prices)
            else:
                out.gaps.append(CostGap(ep.key, day, "no billed row and no usage to estimate from"))
    return out


# --- forecast ----------------------------------------------------------------------------------------
def forecast_from_history(
    daily: Iterable[tuple[date, Decimal]],
    *,
    today: date,
    month_end: date,
    last_complete_day: date | None = None,
) -> HistoryForecast:
    """A month forecast for one endpoint or team from its own daily cost (Cost Explorer cannot forecast
    by tag or resource).

    Method: each remaining day of the month is forecast at the median daily cost of the last complete
    days, at most 28 of them, counted back from the last complete day (by default yesterday: today's
    cost is not final; pass an earlier day when Cost Explorer has not reported yesterday yet). History
    starts at the first day in `daily`; after that, a day with no recorded cost counts as zero (an idle
    serverless endpoint costs nothing). The median makes the forecast robust to one-off spikes and dips:
    a spike on fewer than half of the days does not move it at all, so a runaway endpoint is measured
    against its normal level. The month total is the actual cost of the month so far (its complete days)
    plus the median times the number of remaining days, from the day after the last complete day to the
    end of the month. With fewer than 7 days of history there is no forecast: `month_total` is None and
    `reason` says why. `month_end` is exclusive (the first day of the next month, as Cost Explorer's End).
    """
    last = last_complete_day or today - timedelta(days=1)
    costs: dict[date, Decimal] = defaultdict(Decimal)
    for day, amount in daily:
        if day <= last:
            costs[day] += amount
    month_start = (month_end - timedelta(days=1)).replace(day=1)
    month_to_date = sum((a for d, a in costs.items() if d >= month_start), Decimal(0))
    history = 0 if not costs else min(HISTORY_DAYS, (last - min(costs)).days + 1)
    if history < MIN_HISTORY_DAYS:
        reason = (
            f"only {history} day(s) of cost history; a forecast needs at least {MIN_HISTORY_DAYS}"
            if history
            else "no cost history"
        )
        return HistoryForecast(None, month_to_date, [], None, history, reason)
    window = [costs.get(last - timedelta(days=i), Decimal(0)) for i in range(history)]
    rate = statistics.median(window)
    first = max(last + timedelta(days=1), month_start)
    remaining = [first + timedelta(days=i) for i in range(max(0, (month_end - first).days))]
    forecast = [(day, rate) for day in remaining]
    return HistoryForecast(month_to_date + rate * len(remaining), month_to_date, forecast, rate, history)


# --- reconciliation ----------------------------------------------------------------------------------
def reconcile(
    estimates: Iterable[EndpointCost], billed: Iterable[EndpointCost], *, tolerance: Decimal = Decimal("0.05")
) -> list[Reconciliation]:
    """Estimate against billed figure (resource or tag) for every endpoint-day that has both.

    Flagged when |estimate / billed - 1| > tolerance, or when billed is 0 and the estimate is not."""
    ours = {(c.endpoint_key, c.day): c for c in estimates if c.source == ESTIMATE}
    out = []
    for bill in billed:
        if bill.source == ESTIMATE or (bill.endpoint_key, bill.day) not in ours:
            continue
        est = ours[(bill.endpoint_key, bill.day)]
        if est.currency != bill.currency:
            raise ValueError(
                f"{bill.endpoint_key} {bill.day}: estimate in {est.currency}, billed in {bill.currency}"
            )
        ratio = est.amount / bill.amount if bill.amount else None
        flagged = abs(ratio - 1) > tolerance if ratio is not None else est.amount != 0
        out.append(
            Reconciliation(
                bill.endpoint_key,
                bill.day,
                est.amount,
                bill.amount,
                est.amount - bill.amount,
                ratio,
                bill.currency,
                bill.source,
                flagged,
            )
        )
    return sorted(out, key=lambda r: (str(r.endpoint_key), r.day))
