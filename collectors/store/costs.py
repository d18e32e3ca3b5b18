"""Write Cost Explorer rows, per-endpoint costs and forecasts: bulk upserts, idempotent."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import transaction

from collectors.costmodel import CostRow
from collectors.costmodel import EndpointCost as EndpointCostRow
from collectors.store.inventory import advisory_lock
from dashboard.models import AwsAccount, CostForecast, DailyCost, EndpointCost


def store_daily_costs(account: AwsAccount, rows: Iterable[CostRow], fetched_at: datetime) -> int:
    objs = [
        DailyCost(
            account=account, region=r.region, usage_type=r.usage_type, day=r.day, unblended=r.unblended,
            amortized=r.amortized, currency=r.currency, estimated=r.estimated, fetched_at=fetched_at,
        )
        for r in rows
    ]  # fmt: skip
    with transaction.atomic():
        advisory_lock("costs", account.pk)
        DailyCost.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["account", "region", "usage_type", "day"],
            update_fields=["unblended", "amortized", "currency", "estimated", "fetched_at"],
        )
    return len(objs)


def store_endpoint_costs(rows: Iterable[EndpointCostRow], computed_at: datetime) -> int:
    """`endpoint_key` of each row is the Endpoint's pk."""
    objs = [
        EndpointCost(
            endpoint_id=r.endpoint_key, day=r.day, source=r.source, amount=r.amount, currency=r.currency,
            estimated=r.estimated, detail=r.detail, computed_at=computed_at,
        )
        for r in rows
    ]  # fmt: skip
    EndpointCost.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["endpoint", "day", "source"],
        update_fields=["amount", "currency", "estimated", "detail", "computed_at"],
    )
    return len(objs)


def store_forecast(
    *,
    scope: str,
    scope_id: int,
    month: date,
    amount,
    currency: str,
    method: str,
    computed_at: datetime,
    lower=None,
    upper=None,
    daily: list[tuple[date, object]] = (),
) -> None:
    CostForecast.objects.update_or_create(
        scope=scope,
        scope_id=scope_id,
        month=month,
        defaults={
            "amount": amount, "lower": lower, "upper": upper, "currency": currency, "method": method,
            "daily": [[d.isoformat(), str(v)] for d, v in daily], "computed_at": computed_at,
        },
    )  # fmt: skip
