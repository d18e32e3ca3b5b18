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
from datetime import datetime, timedelta
from decimal import Decimal

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from collectors.attribution import attribute_costs, estimate_costs
from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.costexplorer import (
    RESOURCE_DAYS,
    daily_costs,
    month_forecast,
    next_month_start,
    resource_costs,
    tag_costs,
)
from collectors.aws.sagemaker import describe_error
from collectors.costmodel import ESTIMATE, EndpointRef, Prices
from collectors.forecasts import refresh_forecasts
from collectors.runs import RunRecorder, status_for
from collectors.runtime import build_factory, target
from collectors.store.costs import OutOfRange, store_daily_costs, store_endpoint_costs, store_forecast
from collectors.store.summary import refresh_cost_summaries
from collectors.usageinputs import usage_inputs
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
    try:
        return _collect_costs(recorder, account, factory, days)
    except Exception as exc:
        recorder.crashed(exc)
        raise


def _collect_costs(recorder: RunRecorder, account: AwsAccount, factory: ClientFactory, days: int | None):
    now = recorder.started
    today = now.date()
    # Always from the first of the month too, so the account forecast's "month so far" is complete.
    start = min(today - timedelta(days=days or settings.COSTS_LOOKBACK_DAYS), today.replace(day=1))
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
        stats["cost_rows"] = store_daily_costs(
            account, rows, now, regions=list(account.regions), start=start, end=today
        )
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
        "GetCostForecast",
        lambda: month_forecast(client, account_id=account_id, today=today, regions=list(account.regions)),
    )

    # Attribution: every source we have, for every endpoint of the account and every complete day.
    endpoints = list(Endpoint.objects.filter(account=account).prefetch_related("variants"))
    day_list = [start + timedelta(days=i) for i in range((today - start).days)]
    refs = [EndpointRef(e.pk, account.account_id, e.region, e.name, e.arn, e.tags) for e in endpoints]
    usage, uncovered = usage_inputs(endpoints, day_list, now)
    prices = current_prices()
    estimates = estimate_costs(refs, day_list, usage, prices)
    gaps = [f"endpoint {e} {d}: {why}" for e, d, why in uncovered]
    gaps += [f"endpoint {g.endpoint_key} {g.day}: {g.reason}" for g in estimates.gaps]
    billed = attribute_costs(
        refs, day_list, prices=prices, resource_rows=resource_rows or [], tag_rows=tag_rows or [],
        tag_key=tag_key or None, usage={},
    )  # fmt: skip
    ids = [e.pk for e in endpoints]
    replace = []
    if resource_rows is not None:
        replace.append((ids, "resource", max(start, today - timedelta(days=RESOURCE_DAYS)), today))
    if tag_key and tag_rows is not None:
        replace.append((ids, "tag", start, today))
    billed_rows = [c for c in billed.costs if c.source != ESTIMATE]
    stored = store_endpoint_costs([*estimates.costs, *billed_rows], now, replace=replace, errors=errors)
    refresh_cost_summaries([e.pk for e in endpoints], start, today)
    # Unpriced endpoint-days (e.g. an instance type with no price) are shown, not treated as failures.
    stats.update(endpoint_costs=stored, unpriced=len(estimates.gaps))
    stats["unpriced_examples"] = [
        f"endpoint {g.endpoint_key} {g.day}: {g.reason}" for g in estimates.gaps[:5]
    ]

    if forecast is not None and rows is None:
        # The month so far is the daily costs this run could not read (throttled, say): what is stored of
        # them may lack days, and Cost Explorer's remainder added to it would understate the month. The
        # forecast stored last stays until a run reads both.
        stats["forecast_kept"] = "this month's daily costs could not be read"
    elif forecast is not None:
        month = today.replace(day=1)
        actual = DailyCost.objects.filter(account=account, day__gte=month, day__lt=today).aggregate(
            s=Sum("unblended")
        )
        to_date = actual["s"] or Decimal(0)
        try:
            store_forecast(
                scope="account", scope_id=account.pk, month=month, amount=to_date + forecast.amount,
                lower=None if forecast.lower is None else to_date + forecast.lower,
                upper=None if forecast.upper is None else to_date + forecast.upper,
                currency=forecast.currency, method="cost-explorer", daily=forecast.daily, computed_at=now,
            )  # fmt: skip
            stats["forecast_month_end"] = next_month_start(today).isoformat()
        except OutOfRange as exc:
            errors.append(f"GetCostForecast: {exc}")
    stats["forecasts"] = refresh_forecasts(today=today, computed_at=now, errors=errors)
    return recorder.finish(status_for(errors, stored_something=rows is not None), errors, stats)
