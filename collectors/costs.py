"""Cost collection for one account: Cost Explorer daily costs and forecast, then per-endpoint costs.

Cost Explorer costs $0.01 a request (each page too) and refreshes a few times a day, so this runs every
COSTS_EVERY_HOURS (8 by default), never from a page view, and its requests depend on the number of
regions, not of endpoints: one GetCostAndUsage sequence per region, one resource-level and one tag query
per account, one forecast.

Per endpoint and day, every available source is stored: Cost Explorer resource-level data (by ARN,
where the account opted in, last 14 days), a cost-allocation tag (COST_ENDPOINT_TAG_KEY), and always our
own estimate from stored usage x price, so estimates can be reconciled with the bill.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from collectors.attribution import attribute_costs, estimate_costs
from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.costexplorer import (
    daily_costs,
    month_forecast,
    next_month_start,
    resource_costs,
    tag_costs,
)
from collectors.aws.sagemaker import describe_error
from collectors.costmodel import ESTIMATE, EndpointRef, Prices, VariantUsage
from collectors.forecasts import refresh_forecasts
from collectors.runs import RunRecorder, status_for
from collectors.runtime import build_factory, target
from collectors.store.costs import store_daily_costs, store_endpoint_costs, store_forecast
from collectors.store.usage import daily_usage
from dashboard.models import AwsAccount, CollectionRun, DailyCost, Endpoint, InstanceType
from dashboard.services.catalogue import price_list

log = logging.getLogger(__name__)

CE_REGION = "us-east-1"


def current_prices() -> Prices:
    """Serverless rates from the price file; instance prices from the editable catalogue."""
    serverless = price_list()["serverless"]
    hourly = {
        name: price
        for name, price in InstanceType.objects.exclude(hourly_price=None).values_list("name", "hourly_price")
    }
    return Prices(
        currency=price_list()["currency"],
        serverless_gb_second=Decimal(str(serverless["compute_per_gb_second"])),
        provisioned_gb_second=Decimal(str(serverless["provisioned_concurrency_per_gb_second"])),
        provisioned_invocation_gb_second=Decimal(str(serverless["provisioned_invocation_per_gb_second"])),
        instance_hourly=hourly,
    )


def seconds_up(endpoint: Endpoint, day: date) -> int:
    """Seconds of `day` (UTC) the endpoint existed, from its creation time and deletion as seen."""
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    day_end = day_start + timedelta(days=1)
    born = endpoint.created_at or endpoint.first_seen
    gone = endpoint.deleted_at or day_end
    overlap = min(day_end, gone) - max(day_start, born)
    return max(0, int(overlap.total_seconds()))


def variant_usage(variant, seconds: int, used) -> VariantUsage:
    invocations = round(used.invocations) if used else 0
    avg_ms = (
        Decimal(str(used.compute_seconds * 1000 / used.invocations))
        if used and used.invocations
        else Decimal(0)
    )
    return VariantUsage(
        variant=variant.name,
        kind=variant.kind,
        seconds_up=seconds,
        memory_mb=variant.memory_mb,
        invocations=invocations,
        avg_model_latency_ms=avg_ms,
        provisioned_concurrency=variant.provisioned_concurrency,
        provisioned_invocations=round(used.provisioned_invocations) if used else 0,
        instance_type=variant.instance_type_id,
        instance_count=variant.current_instance_count or 0,
    )


def usage_inputs(endpoints: list[Endpoint], days: list[date]) -> dict[tuple[int, date], list[VariantUsage]]:
    variants = [v for e in endpoints for v in e.variants.all()]
    usage = daily_usage([v.pk for v in variants], days[0], days[-1] + timedelta(days=1)) if days else {}
    out: dict[tuple[int, date], list[VariantUsage]] = {}
    for endpoint in endpoints:
        for day in days:
            up = seconds_up(endpoint, day)
            if not up:
                continue
            out[(endpoint.pk, day)] = [
                variant_usage(v, up, usage.get((v.pk, day))) for v in endpoint.variants.all()
            ]
    return out


def collect_costs(
    account: AwsAccount,
    *,
    factory: ClientFactory | None = None,
    clock: Callable[[], datetime] = timezone.now,
    days: int | None = None,
    task_id: str = "",
) -> CollectionRun:
    factory = factory or build_factory(CallLog())
    recorder = RunRecorder(CollectionRun.Kind.COSTS, account, "", factory, clock, task_id)
    now = recorder.started
    today = now.date()
    start = today - timedelta(days=days or settings.COSTS_LOOKBACK_DAYS)
    errors: list[str] = []
    stats: dict = {}
    try:
        client = factory.client("ce", account=target(account), region=CE_REGION)
    except (ClientError, BotoCoreError) as exc:
        return recorder.finish(CollectionRun.Status.FAILED, [describe_error(exc)], stats)

    def step(name, call):
        try:
            return call()
        except (ClientError, BotoCoreError, ValueError) as exc:
            # ValueError: Cost Explorer answered something unparsable; nothing of this step is stored.
            errors.append(f"{name}: {describe_error(exc)}")
            log.warning("costs %s: %s failed: %s", account.account_id, name, errors[-1])
            return None

    account_id = account.account_id
    rows = step(
        "GetCostAndUsage",
        lambda: daily_costs(
            client, account_id=account_id, start=start, end=today, regions=list(account.regions)
        ),
    )
    if rows is not None:
        stats["cost_rows"] = store_daily_costs(account, rows, now)
    resource_rows = step(
        "GetCostAndUsageWithResources",
        lambda: resource_costs(client, account_id=account_id, start=start, end=today, today=today),
    )
    stats["resource_level"] = resource_rows is not None
    tag_key = settings.COST_ENDPOINT_TAG_KEY
    tag_rows = []
    if tag_key:
        tag_rows = step(
            "GetCostAndUsage by tag",
            lambda: tag_costs(client, account_id=account_id, tag_key=tag_key, start=start, end=today),
        )
    forecast = step(
        "GetCostForecast", lambda: month_forecast(client, account_id=account.account_id, today=today)
    )

    # Attribution: every source we have, for every endpoint of the account and every complete day.
    endpoints = list(Endpoint.objects.filter(account=account).prefetch_related("variants"))
    day_list = [start + timedelta(days=i) for i in range((today - start).days)]
    refs = [EndpointRef(e.pk, account.account_id, e.region, e.name, e.arn, e.tags) for e in endpoints]
    usage = usage_inputs(endpoints, day_list)
    prices = current_prices()
    estimates = estimate_costs(refs, day_list, usage, prices)
    billed = attribute_costs(
        refs, day_list, prices=prices, resource_rows=resource_rows or [], tag_rows=tag_rows or [],
        tag_key=tag_key or None, usage={},
    )  # fmt: skip
    stored = store_endpoint_costs([*estimates.costs, *(c for c in billed.costs if c.source != ESTIMATE)], now)
    # Unpriced endpoint-days (e.g. an instance type with no price) are shown, not treated as failures.
    stats.update(endpoint_costs=stored, unpriced=len(estimates.gaps))
    stats["unpriced_examples"] = [
        f"endpoint {g.endpoint_key} {g.day}: {g.reason}" for g in estimates.gaps[:5]
    ]

    if forecast is not None:
        month = today.replace(day=1)
        actual = DailyCost.objects.filter(account=account, day__gte=month, day__lt=today).aggregate(
            s=Sum("unblended")
        )
        to_date = actual["s"] or Decimal(0)
        store_forecast(
            scope="account", scope_id=account.pk, month=month, amount=to_date + forecast.amount,
            lower=None if forecast.lower is None else to_date + forecast.lower,
            upper=None if forecast.upper is None else to_date + forecast.upper,
            currency=forecast.currency, method="cost-explorer", daily=forecast.daily, computed_at=now,
        )  # fmt: skip
        stats["forecast_month_end"] = next_month_start(today).isoformat()
    stats["forecasts"] = refresh_forecasts(today=today, computed_at=now)
    return recorder.finish(status_for(errors, stored_something=rows is not None), errors, stats)
