"""A small hand-built fleet around ISO week 2026-W46 (Monday 9 to Sunday 15 November) and the week before,
for the weekly review tests: per-endpoint costs from several sources (the collectors' own summary refresh
turns them into the daily rows the figures read), hourly usage rows on both sides of each week boundary,
recommendations in every status, alerts just inside and just outside the week, and text a spreadsheet
would run as a formula in a tag and a recommendation title."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from collectors.store.summary import refresh_cost_summaries, refresh_metric_summaries
from dashboard.models import (
    Alert,
    AwsAccount,
    Endpoint,
    EndpointCost,
    EndpointSummary,
    MetricCursor,
    ProductionVariant,
    Recommendation,
)
from dashboard.reports.weeks import IsoWeek
from tests.conftest import NOW

WEEK = IsoWeek(2026, 46)
MONDAY = date(2026, 11, 9)
PREVIOUS_MONDAY = date(2026, 11, 2)
NEXT_MONDAY = date(2026, 11, 16)
EVIL = '=HYPERLINK("http://evil","x")'
PREFERENCE = ["resource", "tag", "estimate"]


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


def days(first: date, last: date):
    """Days [first, last)."""
    return [first + timedelta(days=n) for n in range((last - first).days)]


# Hourly usage buckets: both sides of each boundary (Sunday 23:00 is in its week, Monday 00:00 is not).
HOURS = [
    at(date(2026, 11, 4), 12),  # the week before
    at(date(2026, 11, 8), 23),  # the week before's last hour
    at(MONDAY, 0),  # the week's first hour
    at(date(2026, 11, 11), 12),
    at(date(2026, 11, 15), 23),  # the week's last hour
    at(NEXT_MONDAY, 0),  # the next week
]


def endpoint(account, name, team, variant: dict, *, region="us-east-1", tags=None, **extra) -> Endpoint:
    e = Endpoint.objects.create(
        account=account, region=region, name=name, status="InService", team=team, tags=tags or {},
        arn=f"arn:aws:sagemaker:{region}:{account.account_id}:endpoint/{name}",
        first_seen=NOW - timedelta(days=90), last_seen=NOW, **extra,
    )  # fmt: skip
    v = ProductionVariant.objects.create(
        endpoint=e, name="AllTraffic", first_seen=NOW - timedelta(days=90), last_seen=NOW, **variant
    )
    MetricCursor.objects.create(variant=v, collected_from=NOW - timedelta(days=60), collected_until=NOW)
    return e


def cost(e, day, source, amount, *, estimated=False):
    return EndpointCost(
        endpoint=e, day=day, source=source, amount=Decimal(amount), currency="USD",
        estimated=estimated or source == "estimate", computed_at=NOW,
    )  # fmt: skip


def usage(e, bucket, n: int, *, p99: float, gpu=None, memory=None, cold=0.0) -> EndpointSummary:
    return EndpointSummary(
        endpoint=e, resolution="1h", bucket=bucket, invocations=n, errors_4xx=n // 100, errors_5xx=1,
        cold_starts=cold, cold_start_ms=cold * 900, latency_avg_w=n * p99 / 3, latency_p50_w=n * p99 / 4,
        latency_p95_w=n * p99 / 2, latency_p99_w=n * p99, latency_weight=n, latency_max=p99 * 2,
        memory_util_max=memory, gpu_util_max=gpu, cpu_util_max=40.0 if gpu is not None else None,
    )  # fmt: skip


@pytest.fixture
def review_fleet(db, team_search, team_vision):
    """search-ranker (Search: resource costs, rising), search-fresh (Search, created mid-week),
    vision-detector (Vision, another account: our estimates only, falling), orphan (no team, a formula
    in its team tag: Cost Explorer tag costs, AWS still estimating the last days) and search-retired
    (deleted before either week: not in the review)."""
    prod = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    research = AwsAccount.objects.create(account_id="222222222222", label="research", regions=["eu-west-1"])
    serverless = dict(kind="serverless", max_concurrency=10)
    ranker = endpoint(
        prod, "search-ranker", team_search, serverless | {"memory_mb": 6144}, tags={"team": "search"}
    )
    fresh = endpoint(
        prod, "search-fresh", team_search, serverless | {"memory_mb": 2048}, created_at=at(date(2026, 11, 11))
    )
    detector = endpoint(
        research, "vision-detector", team_vision,
        dict(kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=2), region="eu-west-1",
    )  # fmt: skip
    orphan = endpoint(prod, "orphan", None, serverless | {"memory_mb": 1024}, tags={"team": EVIL})
    retired = endpoint(
        prod, "search-retired", team_search, serverless | {"memory_mb": 1024},
        deleted_at=at(date(2026, 10, 1)),
    )  # fmt: skip

    costs = []
    for i, day in enumerate(days(PREVIOUS_MONDAY, NEXT_MONDAY + timedelta(days=1))):
        costs += [
            cost(ranker, day, "resource", f"{10 + i}.25"),
            cost(ranker, day, "estimate", f"{9 + i}.75"),
            cost(detector, day, "estimate", f"{40 - 2 * i}.10"),
            cost(orphan, day, "tag", "2.5", estimated=day >= date(2026, 11, 13)),
            cost(orphan, day, "estimate", "2.0"),
        ]
        if day >= date(2026, 11, 11):
            costs.append(cost(fresh, day, "resource", "1.3333333333"))
    costs.append(cost(retired, date(2026, 9, 30), "resource", "99"))
    EndpointCost.objects.bulk_create(costs)

    rows = []
    for h, bucket in enumerate(HOURS):
        rows += [
            usage(ranker, bucket, 1000 + 100 * h, p99=50 + h, memory=40.0 + h, cold=3),
            usage(detector, bucket, 5000 + 10 * h, p99=20 + h, gpu=30.0 + 5 * h, memory=60.0),
            usage(orphan, bucket, 10 * h, p99=300.0, memory=15.0, cold=1),
        ]
        if bucket >= at(date(2026, 11, 11)):
            rows.append(usage(fresh, bucket, 7, p99=80.0, memory=90.0))
    EndpointSummary.objects.bulk_create(rows)
    ids = [e.pk for e in (ranker, fresh, detector, orphan, retired)]
    refresh_metric_summaries(ids, HOURS[0], HOURS[-1])
    refresh_cost_summaries(ids, date(2026, 9, 1), NEXT_MONDAY + timedelta(days=1))

    def rec(key, e, status, saving, *, title="Right-size it", active=True, team="endpoint"):
        return Recommendation(
            key=key, rule="serverless-memory", endpoint=e, account=e.account, region=e.region,
            team=e.team if team == "endpoint" else team, title=title, summary="", status=status,
            monthly_saving=None if saving is None else Decimal(saving), confidence=0.8, active=active,
            window_start=NOW - timedelta(days=14), window_end=NOW, computed_at=NOW,
            first_seen_at=NOW - timedelta(days=3),
        )  # fmt: skip

    Recommendation.objects.bulk_create([
        rec("r1", ranker, "open", "120.50"),
        rec("r2", orphan, "open", "-30", title="@SUM(1+1) more memory"),
        rec("r3", detector, "dismissed", "55"),
        rec("r4", fresh, "accepted", "10"),
        rec("r5", ranker, "open", None, title="Quota headroom"),
        rec("r6", ranker, "open", "999", active=False),
    ])  # fmt: skip

    def alert(label, team, raised_at, scope="team"):
        return Alert(
            rule_name="150% of forecast", scope=scope, scope_id=team.pk if team else 0, scope_label=label,
            team=team, threshold=Decimal("150"), period_start=MONDAY, period_end=NEXT_MONDAY,
            raised_at=raised_at, evaluated_at=raised_at, currency="USD", ratio=Decimal("162.5"),
            peak_ratio=Decimal("170"), figures={"actual": "180.00", "expected": "-12.50"},
        )  # fmt: skip

    Alert.objects.bulk_create([
        alert("team Search", team_search, at(date(2026, 11, 15), 23, 59, 59, 999999)),  # in: the last instant
        alert("team Search next", team_search, at(NEXT_MONDAY)),  # the next week's first instant
        alert("whole fleet", None, at(MONDAY), scope="fleet"),  # in: the first instant
        alert("team Vision", team_vision, at(date(2026, 11, 8), 23, 59)),  # the week before
    ])  # fmt: skip
    return {e.name: e for e in (ranker, fresh, detector, orphan, retired)}


# --- what the stored rows say, computed here without the code under test -----------------------------------
def spend(e: Endpoint, week: IsoWeek) -> Decimal | None:
    """The best source's amount per day (resource > tag > estimate), summed over the week's days."""
    best = {}
    for c in EndpointCost.objects.filter(endpoint=e, day__gte=week.start, day__lt=week.end):
        if c.day not in best or PREFERENCE.index(c.source) < PREFERENCE.index(best[c.day].source):
            best[c.day] = c
    return sum((c.amount for c in best.values()), Decimal(0)) if best else None


def hourly(e: Endpoint, week: IsoWeek) -> list[EndpointSummary]:
    return list(
        EndpointSummary.objects.filter(
            endpoint=e, resolution="1h", bucket__gte=at(week.start), bucket__lt=at(week.end)
        )
    )
