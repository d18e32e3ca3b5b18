"""Cost collection for one account, or for a payer account and the members whose costs it reads
(`AwsAccount.cost_payer`): Cost Explorer daily costs and forecasts, then per-endpoint costs.

Cost Explorer costs $0.01 a request (each page too) and refreshes a few times a day, so this runs every
COSTS_EVERY_HOURS (8 by default), never from a page view, and its requests depend on the number of
regions, not of endpoints: one GetCostAndUsage sequence per region, one resource-level and one tag query
(for a payer: for all its members at once, grouped by linked account), one forecast per account.

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
from django.db.models import Max, Min, Sum
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
from collectors.costmodel import ESTIMATE, EndpointRef, Forecast, Prices
from collectors.forecasts import refresh_forecasts
from collectors.runs import RunRecorder, status_for
from collectors.runtime import build_factory, cost_covered, target
from collectors.store.costs import OutOfRange, store_daily_costs, store_endpoint_costs, store_forecast
from collectors.store.summary import refresh_cost_summaries
from collectors.usageinputs import usage_inputs
from dashboard.models import (
    AwsAccount,
    CollectionRun,
    CostForecast,
    DailyCost,
    Endpoint,
    EndpointCost,
    InstanceType,
)
from dashboard.services.catalogue import price_list

log = logging.getLogger(__name__)

CE_REGION = "us-east-1"
RECENT_RESOURCE_DAYS = 3  # resource-level days every run re-reads (the whole 14 once a day)


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
    today = now.astimezone(UTC).date()  # Cost Explorer's days are UTC days
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

    covered = cost_covered(account)
    ids = [a.account_id for a in covered]
    if len(covered) > 1:
        stats["accounts"] = ids  # read through this payer, in the same requests
    rows = step(
        "GetCostAndUsage",
        lambda: daily_costs(
            client, start=start, end=today, accounts={a.account_id: list(a.regions) for a in covered}
        ),
    )
    if rows is not None:
        stats["cost_rows"] = sum(
            store_daily_costs(
                a, [r for r in rows if r.account_id == a.account_id], now, regions=list(a.regions),
                start=start, end=today,
            )
            for a in covered
        )  # fmt: skip
    endpoints = list(
        Endpoint.objects.filter(account__in=covered).select_related("account").prefetch_related("variants")
    )
    endpoint_ids = [e.pk for e in endpoints]
    resource_start = _resource_start(endpoint_ids, start, now, full=days is not None)
    resource_rows = step(
        "GetCostAndUsageWithResources",
        lambda: resource_costs(client, account_id=ids, start=resource_start, end=today, today=today),
    )
    stats["resource_level"] = resource_rows is not None
    stats["resource_from"] = resource_start.isoformat()
    tag_key = settings.COST_ENDPOINT_TAG_KEY
    tag_rows = []
    if tag_key:
        tag_rows = step(
            "GetCostAndUsage by tag",
            lambda: tag_costs(client, account_id=ids, tag_key=tag_key, start=start, end=today),
        )

    # Cost Explorer cannot group a forecast: one request per account, asked once a day (a later run the
    # same day adds the remainder it gave to the new month so far).
    def forecast_step(a: AwsAccount) -> str:
        return "GetCostForecast" if len(covered) == 1 else f"GetCostForecast {a.account_id}"

    forecasts: dict[str, tuple[Forecast | None, datetime]] = {}
    for acct in covered:
        kept = asked_today(acct, today)
        if kept is None:
            forecasts[acct.account_id] = (
                step(
                    forecast_step(acct),
                    lambda a=acct: month_forecast(
                        client, account_id=a.account_id, today=today, regions=list(a.regions)
                    ),
                ),
                now,
            )
        else:
            forecasts[acct.account_id] = kept
            stats["forecasts_asked_earlier_today"] = stats.get("forecasts_asked_earlier_today", 0) + 1

    # Attribution: every source we have, for every endpoint of the accounts and every complete day.
    day_list = [start + timedelta(days=i) for i in range((today - start).days)]
    refs = [EndpointRef(e.pk, e.account.account_id, e.region, e.name, e.arn, e.tags) for e in endpoints]
    usage, uncovered = usage_inputs(endpoints, day_list, now)
    prices = current_prices()
    estimates = estimate_costs(refs, day_list, usage, prices)
    gaps = [f"endpoint {e} {d}: {why}" for e, d, why in uncovered]
    gaps += [f"endpoint {g.endpoint_key} {g.day}: {g.reason}" for g in estimates.gaps]
    billed = attribute_costs(
        refs, day_list, prices=prices, resource_rows=resource_rows or [], tag_rows=tag_rows or [],
        tag_key=tag_key or None, usage={},
    )  # fmt: skip
    replace = []
    if resource_rows is not None:
        replace.append((endpoint_ids, "resource", resource_start, today))
    if tag_key and tag_rows is not None:
        replace.append((endpoint_ids, "tag", start, today))
    billed_rows = [c for c in billed.costs if c.source != ESTIMATE]
    read_from = resource_start if resource_rows is not None else today
    if read_from > start:
        # Days not re-read at resource level (before resource_start, or all of them when the query
        # failed): an endpoint-day whose resource-level cost is stored keeps it, and gets no tag figure.
        kept = set(
            EndpointCost.objects.filter(
                endpoint_id__in=endpoint_ids, source="resource", day__gte=start, day__lt=read_from
            ).values_list("endpoint_id", "day")
        )
        billed_rows = [c for c in billed_rows if (c.endpoint_key, c.day) not in kept]
    stored = store_endpoint_costs([*estimates.costs, *billed_rows], now, replace=replace, errors=errors)
    refresh_cost_summaries(endpoint_ids, start, today)
    # Unpriced endpoint-days (e.g. an instance type with no price) are shown, not treated as failures.
    stats.update(endpoint_costs=stored, unpriced=len(estimates.gaps))
    stats["unpriced_examples"] = [
        f"endpoint {g.endpoint_key} {g.day}: {g.reason}" for g in estimates.gaps[:5]
    ]

    for acct in covered:
        forecast, asked_at = forecasts[acct.account_id]
        if forecast is not None and rows is None:
            # The month so far is the daily costs this run could not read (throttled, say): what is stored
            # of them may lack days, and Cost Explorer's remainder added to it would understate the month.
            # The forecast stored last stays until a run reads both.
            stats["forecast_kept"] = "this month's daily costs could not be read"
        elif forecast is not None:
            _store_account_forecast(forecast_step(acct), acct, forecast, today, now, asked_at, errors)
            stats["forecast_month_end"] = next_month_start(today).isoformat()
    stats["forecasts"] = refresh_forecasts(today=today, computed_at=now, errors=errors)
    return recorder.finish(status_for(errors, stored_something=rows is not None), errors, stats)


def _resource_start(endpoint_ids: list[int], start: date, now: datetime, *, full: bool) -> date:
    """The first day the resource-level query asks for. It pages by endpoint-day, so it is the costliest
    query of a large fleet: the first run of each day re-reads the whole 14 days it covers (and so does an
    explicit `days`); a later run the same day re-reads the last RECENT_RESOURCE_DAYS only, the days Cost
    Explorer is still filling in, if every account of the run already has resource-level costs stored
    today and none has an endpoint first stored after its first such read (created or found again since,
    or an account newly read through its payer: those have no older days yet)."""
    today = now.astimezone(UTC).date()  # Cost Explorer's days are UTC days
    whole = max(start, today - timedelta(days=RESOURCE_DAYS))
    if full:
        return whole
    midnight = datetime.combine(today, datetime.min.time(), UTC)
    first_read = dict(
        EndpointCost.objects.filter(
            endpoint_id__in=endpoint_ids, source="resource", computed_at__gte=midnight, computed_at__lte=now
        )
        .values("endpoint__account_id")
        .annotate(at=Min("computed_at"))
        .values_list("endpoint__account_id", "at")
    )
    newest = (
        Endpoint.objects.filter(pk__in=endpoint_ids)
        .values("account_id")
        .annotate(at=Max("first_seen"))
        .values_list("account_id", "at")
    )
    for account_id, first_seen in newest:
        read_at = first_read.get(account_id)
        if read_at is None or first_seen > read_at:
            return whole
    return max(whole, today - timedelta(days=RECENT_RESOURCE_DAYS))


def asked_today(account: AwsAccount, today: date) -> tuple[Forecast, datetime] | None:
    """Cost Explorer's remainder of this month for the account as asked earlier today (stored with the
    account forecast), and when it was asked; None if it was not asked today."""
    stored = CostForecast.objects.filter(
        scope="account", scope_id=account.pk, month=today.replace(day=1), method="cost-explorer"
    ).first()
    if stored is None or stored.asked_at is None or stored.month_to_date is None:
        return None
    if stored.asked_at.astimezone(UTC).date() != today:
        return None
    so_far = stored.month_to_date
    forecast = Forecast(
        account_id=account.account_id, start=today, end=next_month_start(today),
        amount=stored.amount - so_far,
        lower=None if stored.lower is None else stored.lower - so_far,
        upper=None if stored.upper is None else stored.upper - so_far,
        currency=stored.currency, daily=[(date.fromisoformat(d), Decimal(v)) for d, v in stored.daily],
    )  # fmt: skip
    return forecast, stored.asked_at


def _store_account_forecast(
    name: str, account: AwsAccount, forecast: Forecast, today: date, now: datetime, asked_at: datetime,
    errors: list[str],
) -> None:  # fmt: skip
    """Cost Explorer's remainder of the month plus the month's actual cost so far."""
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
            month_to_date=to_date, asked_at=asked_at,
        )  # fmt: skip
    except OutOfRange as exc:
        errors.append(f"{name}: {exc}")
