"""Spend per endpoint and account per day, for budget evaluation, including the days Cost Explorer has
not reported yet.

Cost Explorer lags by up to a day and the cost collector runs every few hours, so the newest days have
no stored cost. Those days are estimated here from stored CloudWatch usage x price, like the collector's
own estimates: complete days from whole-day usage, today from the usage so far (instances up to now,
serverless up to the last collected metric). Every amount says whether it is such an estimate, so an
alert can say which part of the spend is estimated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.postgres.aggregates import BoolOr
from django.db.models import Min, Sum

from collectors.attribution import estimate_costs, estimate_endpoint
from collectors.costmodel import EndpointRef, Prices
from collectors.usageinputs import usage_inputs, usage_so_far
from dashboard.models import DailyCost, Endpoint, EndpointCost
from dashboard.services.costs import best_costs

ZERO = Decimal(0)
# Cost Explorer lags by up to a day and costs are collected every few hours: only this many days before
# today are estimated here. Older days without a stored cost are gaps the cost collector could not fill
# (no metrics then); estimating some of them here would give a scope a history its forecast lacks.
LAG_DAYS = timedelta(days=3)


@dataclass
class Ledger:
    """Daily amounts of one thing (an endpoint, an account) and which of them are usage estimates."""

    days: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    estimated: dict[date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, day: date, amount: Decimal, *, estimated: bool) -> None:
        self.days[day] += amount
        if estimated:
            self.estimated[day] += amount

    def total(self, start: date, end: date) -> Decimal:
        """Sum over [start, end]: both ends inclusive."""
        return sum((a for d, a in self.days.items() if start <= d <= end), ZERO)

    def estimated_total(self, start: date, end: date) -> Decimal:
        return sum((a for d, a in self.estimated.items() if start <= d <= end), ZERO)

    def first_estimated(self, start: date, end: date) -> date | None:
        return min((d for d, a in self.estimated.items() if start <= d <= end and a), default=None)

    def first_day(self) -> date | None:
        return min(self.days, default=None)


@dataclass
class SpendBook:
    endpoints: dict[int, Ledger]
    accounts: dict[int, Ledger]
    currencies: set[str]
    metrics_through: datetime | None  # serverless usage of today is counted up to here
    history_from: dict[int, date]  # endpoint pk -> first day with any stored cost
    account_history_from: dict[int, date]


def load_spend(
    endpoints: list[Endpoint], start: date, now: datetime, prices: Prices, *, history_start: date
) -> SpendBook:
    """Every endpoint's (and its account's) spend per day from `start` through today (today partial).

    `endpoints` must have `variants` prefetched and `account` selected. `history_start` bounds the
    search for each endpoint's first costed day (the start of its forecastable history)."""
    today = now.date()
    ids = [e.pk for e in endpoints]
    ledgers: dict[int, Ledger] = defaultdict(Ledger)
    currencies: set[str] = set()
    provisional = []
    for cost in best_costs(ids, start, today + timedelta(days=1)):
        currencies.add(cost.currency)
        if cost.source != "estimate" and cost.estimated:
            provisional.append(cost)
        else:
            ledgers[cost.endpoint_id].add(cost.day, cost.amount, estimated=cost.source == "estimate")
    _settle_provisional(provisional, ledgers)
    by_account: dict[int, list[Endpoint]] = defaultdict(list)
    for e in endpoints:
        by_account[e.account_id].append(e)

    through = None
    for members in by_account.values():
        # Each endpoint's own missing days: after its newest stored cost (one endpoint's cost being in
        # does not mean another's is: serverless days wait for their metrics).
        first_missing = {}
        for e in members:
            own = ledgers.get(e.pk)
            newest = max(own.days) if own is not None and own.days else start - timedelta(days=1)
            first_missing[e.pk] = max(newest + timedelta(days=1), start, today - LAG_DAYS)
        earliest = min(first_missing.values(), default=today)
        tail = [earliest + timedelta(days=i) for i in range((today - earliest).days)]
        refs = [EndpointRef(e.pk, e.account.account_id, e.region, e.name, e.arn, e.tags) for e in members]
        usage, _gaps = usage_inputs(members, tail, now)
        for cost in estimate_costs(refs, tail, usage, prices).costs:
            if cost.day >= first_missing[cost.endpoint_key]:
                ledgers[cost.endpoint_key].add(cost.day, cost.amount, estimated=True)
                currencies.add(cost.currency)
        today_usage, reach = usage_so_far(members, today, now)
        if reach is not None:
            through = reach if through is None else min(through, reach)
        for pk, parts in today_usage.items():
            amount, _detail = estimate_endpoint(parts, prices)
            if amount is not None:
                ledgers[pk].add(today, amount, estimated=True)
                currencies.add(prices.currency)

    accounts = _account_ledgers(by_account, ledgers, start, today, currencies)
    firsts = dict(
        Endpoint.objects.filter(pk__in=ids, costs__day__gte=history_start)
        .values("pk")
        .annotate(first=Min("costs__day"))
        .values_list("pk", "first")
    )
    account_firsts = dict(
        DailyCost.objects.filter(account_id__in=list(by_account), day__gte=history_start)
        .values("account_id")
        .annotate(first=Min("day"))
        .values_list("account_id", "first")
    )
    return SpendBook(
        {e.pk: ledgers[e.pk] for e in endpoints}, accounts, currencies, through, firsts, account_firsts
    )


def _settle_provisional(provisional: list[EndpointCost], ledgers: dict[int, Ledger]) -> None:
    """A billed figure Cost Explorer still calls estimated may hold only part of the day: the larger of
    it and our usage estimate counts (and is marked estimated when ours is larger), so a day in
    progress at AWS neither hides an overspend nor announces a false recovery."""
    if not provisional:
        return
    ours = {
        (c.endpoint_id, c.day): c.amount
        for c in EndpointCost.objects.filter(
            source=EndpointCost.Source.ESTIMATE,
            endpoint_id__in={c.endpoint_id for c in provisional},
            day__in={c.day for c in provisional},
        )
    }
    for cost in provisional:
        mine = ours.get((cost.endpoint_id, cost.day))
        if mine is not None and mine > cost.amount:
            ledgers[cost.endpoint_id].add(cost.day, mine, estimated=True)
        else:
            ledgers[cost.endpoint_id].add(cost.day, cost.amount, estimated=False)


def _account_ledgers(by_account, ledgers, start: date, today: date, currencies: set[str]):
    """Cost Explorer's daily SageMaker cost per account; the days it has not reported yet are the sum of
    the account's endpoint spend (stored or estimated), marked estimated when any part of it is."""
    out: dict[int, Ledger] = {}
    reported: dict[int, dict[date, Decimal]] = defaultdict(dict)
    partial: set[tuple[int, date]] = set()
    rows = (
        DailyCost.objects.filter(account_id__in=list(by_account), day__gte=start, day__lte=today)
        .values("account_id", "day", "currency")
        .annotate(total=Sum("unblended"), partial=BoolOr("estimated"))
    )
    for row in rows:
        reported[row["account_id"]][row["day"]] = row["total"]
        currencies.add(row["currency"])
        if row["partial"]:
            partial.add((row["account_id"], row["day"]))
    for account_pk, members in by_account.items():
        ledger = Ledger()
        known = reported.get(account_pk, {})
        last = max(known, default=start - timedelta(days=1))
        for day, amount in known.items():
            # A day Cost Explorer has not finished: our endpoints' spend when that is larger.
            ours = sum((ledgers[e.pk].days.get(day, ZERO) for e in members if e.pk in ledgers), ZERO)
            if (account_pk, day) in partial and ours > amount:
                ledger.add(day, ours, estimated=True)
            else:
                ledger.add(day, amount, estimated=False)
        for e in members:
            own = ledgers.get(e.pk)
            if own is None:
                continue
            for day, amount in own.days.items():
                if day > last:
                    ledger.days[day] += amount
                    ledger.estimated[day] += own.estimated.get(day, ZERO)
        out[account_pk] = ledger
    return out
