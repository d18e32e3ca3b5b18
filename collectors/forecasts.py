"""Month forecasts per endpoint and per team, from the project's own daily cost history.

Cost Explorer forecasts only by dimension (account, service), never by tag or resource, so team and
endpoint forecasts are computed here with `collectors.attribution.forecast_from_history` (median of the
last complete days, up to 28, for each remaining day of the month, plus the month's actual cost so far)
over the best cost per endpoint and day (resource > tag > estimate).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from collectors.attribution import forecast_from_history
from collectors.aws.costexplorer import next_month_start
from collectors.store.costs import OutOfRange, store_forecast
from dashboard.models import Endpoint
from dashboard.services.costs import best_costs

log = logging.getLogger(__name__)

HISTORY_DAYS = 28
METHOD = "median-28d"


def refresh_forecasts(*, today: date, computed_at: datetime, errors: list[str] | None = None) -> int:
    """Recompute this month's forecast for every live endpoint and every team. Returns how many; one that
    cannot be stored is described in `errors` and skipped."""
    month = today.replace(day=1)
    month_end = next_month_start(today)
    start = min(month, today - timedelta(days=HISTORY_DAYS + 1))
    # Deleted endpoints count in their team's history and month so far; only live ones get a forecast.
    endpoints = dict(Endpoint.objects.values_list("pk", "team_id"))
    live = set(Endpoint.objects.filter(deleted_at=None).values_list("pk", flat=True))
    per_endpoint: dict[int, dict[date, Decimal]] = defaultdict(dict)
    per_team: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    currency: dict[int, str] = {}
    for cost in best_costs(endpoints, start, today):
        per_endpoint[cost.endpoint_id][cost.day] = cost.amount
        currency[cost.endpoint_id] = cost.currency
        team = endpoints.get(cost.endpoint_id)
        if team is not None:
            per_team[team][cost.day] += cost.amount
    count = 0
    for scope, series in (("endpoint", per_endpoint), ("team", per_team)):
        for scope_id, daily in series.items():
            if scope == "endpoint" and scope_id not in live:
                continue
            forecast = forecast_from_history(sorted(daily.items()), today=today, month_end=month_end)
            if forecast.month_total is None:
                continue
            if scope == "endpoint":
                money = currency.get(scope_id, "USD")
            else:
                money = _team_currency(scope_id, endpoints, currency)
            try:
                store_forecast(
                    scope=scope, scope_id=scope_id, month=month, amount=forecast.month_total,
                    currency=money, method=METHOD, daily=forecast.daily, computed_at=computed_at,
                )  # fmt: skip
            except OutOfRange as exc:
                log.warning("%s", exc)
                if errors is not None:
                    errors.append(str(exc))
                continue
            count += 1
    return count


def _team_currency(team_id: int, endpoints: dict[int, int | None], currency: dict[int, str]) -> str:
    return next((currency[e] for e, t in endpoints.items() if t == team_id and e in currency), "USD")
