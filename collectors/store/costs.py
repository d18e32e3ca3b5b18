"""Write Cost Explorer rows, per-endpoint costs and forecasts: bulk upserts, idempotent."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction

from collectors.costmodel import CostRow
from collectors.costmodel import EndpointCost as EndpointCostRow
from collectors.store.inventory import advisory_lock
from dashboard.models import AwsAccount, CostForecast, DailyCost, EndpointCost

log = logging.getLogger(__name__)

# The money columns are numeric(20, 10): an amount must stay under 10^10 either way. Cost Explorer's own
# figures are checked as they are parsed; estimates and sums made here are checked before they are written,
# so one absurd figure (hostile metric values, say) is refused with a message instead of failing the batch.
MONEY_LIMIT = Decimal(10) ** 10


class OutOfRange(ValueError):
    pass


def check_money(what: str, *amounts) -> None:
    for amount in amounts:
        if amount is not None and not (Decimal(amount).is_finite() and abs(Decimal(amount)) < MONEY_LIMIT):
            raise OutOfRange(f"{what}: {amount} is beyond what can be stored (under 10^10 either way)")


def store_daily_costs(
    account: AwsAccount,
    rows: Iterable[CostRow],
    fetched_at: datetime,
    *,
    regions: list[str],
    start: date,
    end: date,
) -> int:
    """Replace the account's rows for these regions and days [start, end) with what Cost Explorer said now:
    a usage type that vanished from a revised day must not keep its old figure."""
    objs = [
        DailyCost(
            account=account, region=r.region, usage_type=r.usage_type, day=r.day, unblended=r.unblended,
            amortized=r.amortized, currency=r.currency, estimated=r.estimated, fetched_at=fetched_at,
        )
        for r in rows
    ]  # fmt: skip
    with transaction.atomic():
        advisory_lock("costs", account.pk)
        DailyCost.objects.filter(account=account, region__in=regions, day__gte=start, day__lt=end).delete()
        DailyCost.objects.bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["account", "region", "usage_type", "day"],
            update_fields=["unblended", "amortized", "currency", "estimated", "fetched_at"],
        )
    return len(objs)


def store_endpoint_costs(
    rows: Iterable[EndpointCostRow],
    computed_at: datetime,
    *,
    replace: Iterable[tuple[list[int], str, date, date]] = (),
    errors: list[str] | None = None,
) -> int:
    """`endpoint_key` of each row is the Endpoint's pk. `replace` lists (endpoint ids, source, start, end)
    ranges that were re-read completely: their old rows of that source go first. A row whose amount cannot
    be stored is left out and described in `errors`."""
    objs = []
    for r in rows:
        try:
            check_money(f"endpoint {r.endpoint_key} {r.day} {r.source} cost", r.amount)
        except OutOfRange as exc:
            log.warning("%s", exc)
            if errors is not None:
                errors.append(str(exc))
            continue
        objs.append(
            EndpointCost(
                endpoint_id=r.endpoint_key, day=r.day, source=r.source, amount=r.amount, currency=r.currency,
                estimated=r.estimated, detail=r.detail, computed_at=computed_at,
            )
        )  # fmt: skip
    with transaction.atomic():
        for endpoint_ids, source, start, end in replace:
            EndpointCost.objects.filter(
                endpoint_id__in=endpoint_ids, source=source, day__gte=start, day__lt=end
            ).delete()
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
    month_to_date=None,
    asked_at: datetime | None = None,
) -> None:
    """Raises OutOfRange (nothing written) for a figure the money columns cannot hold."""
    what = f"{scope} {scope_id} forecast for {month:%Y-%m}"
    check_money(what, amount, lower, upper, month_to_date, *(v for _, v in daily))
    CostForecast.objects.update_or_create(
        scope=scope,
        scope_id=scope_id,
        month=month,
        defaults={
            "amount": amount, "lower": lower, "upper": upper, "currency": currency, "method": method,
            "daily": [[d.isoformat(), str(v)] for d, v in daily], "computed_at": computed_at,
            "month_to_date": month_to_date, "asked_at": asked_at,
        },
    )  # fmt: skip
