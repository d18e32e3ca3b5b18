"""Pages read a fixed number of queries whatever the fleet size: no query per row. Each page is rendered
over a small fleet and over one five times larger (rows made directly with bulk_create) and the
number of queries must not change."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.models import (
    AwsAccount,
    CollectionRun,
    CostForecast,
    Endpoint,
    EndpointSummary,
    MetricCursor,
    ProductionVariant,
    Recommendation,
)
from tests.conftest import NOW
from tests.dashboard.test_fleet_page import page_clock  # noqa: F401  (fixture)

SMALL = 4
HOURS = 24
DAYS = 14


def hourly(endpoint, i: int, serverless: bool, bucket) -> EndpointSummary:
    invocations = 100.0 * (i + 1)
    return EndpointSummary(
        endpoint=endpoint, resolution="1h", bucket=bucket, invocations=invocations, errors_4xx=1.0,
        latency_p50_w=20.0 * invocations, latency_p95_w=40.0 * invocations, latency_p99_w=80.0 * invocations,
        latency_weight=invocations, latency_max=120.0, cold_starts=2.0 if serverless else 0.0,
        memory_util_max=25.0 if serverless else 50.0, cpu_util_max=None if serverless else 40.0,
        gpu_util_max=None if serverless else 10.0 + i, concurrency_util_max=0.5 if serverless else None,
    )  # fmt: skip


def daily(endpoint, i: int, bucket, cost: Decimal | None) -> EndpointSummary:
    costed = cost is not None
    return EndpointSummary(
        endpoint=endpoint, resolution="1d", bucket=bucket, invocations=2400.0 * (i + 1), cost=cost,
        cost_estimate=cost, cost_source=("resource" if i % 3 else "estimate") if costed else "",
        cost_estimated=(i % 3 == 0) if costed else None, currency="USD" if costed else "",
    )  # fmt: skip


def build_fleet(n: int, *, account, teams, start: int = 0, daily_cost=None, now=NOW) -> list[Endpoint]:
    """`n` endpoints spread over `teams`, half serverless and half on GPU instances, each with metrics
    collected (a cursor), hourly summary rows for the last day and daily rows with a cost for the last
    14 days, and an endpoint forecast. `daily_cost(i, day_index)` gives endpoint i's cost `day_index`
    days ago (None: no cost that day)."""
    daily_cost = daily_cost or (lambda i, d: Decimal(i + 1))
    endpoints = Endpoint.objects.bulk_create(
        Endpoint(
            account=account, region="us-east-1", name=f"ep-{i:04d}", status="InService",
            arn=f"arn:aws:sagemaker:us-east-1:{account.account_id}:endpoint/ep-{i:04d}",
            team=teams[i % len(teams)], first_seen=now - timedelta(days=60), last_seen=now,
        )
        for i in range(start, start + n)
    )  # fmt: skip
    variants = ProductionVariant.objects.bulk_create(
        ProductionVariant(
            endpoint=e, name="AllTraffic", first_seen=e.first_seen, last_seen=now,
            **(
                {"kind": "serverless", "memory_mb": 4096, "max_concurrency": 10}
                if k % 2 == 0
                else {"kind": "instance", "instance_type_id": "ml.g5.xlarge", "current_instance_count": 1}
            ),
        )
        for k, e in enumerate(endpoints)
    )  # fmt: skip
    MetricCursor.objects.bulk_create(
        MetricCursor(variant=v, collected_from=now - timedelta(days=DAYS), collected_until=now)
        for v in variants
    )
    hour = now.replace(minute=0, second=0, microsecond=0)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    summaries = []
    for k, e in enumerate(endpoints):
        i, serverless = start + k, k % 2 == 0
        summaries += [hourly(e, i, serverless, hour - timedelta(hours=h)) for h in range(1, HOURS + 1)]
        summaries += [daily(e, i, midnight - timedelta(days=d), daily_cost(i, d)) for d in range(DAYS)]
    EndpointSummary.objects.bulk_create(summaries)
    CostForecast.objects.bulk_create(
        CostForecast(
            scope="endpoint", scope_id=e.pk, month=now.date().replace(day=1),
            amount=Decimal(30 * (start + k + 1)), currency="USD", method="median-daily", computed_at=now,
        )
        for k, e in enumerate(endpoints)
    )  # fmt: skip
    return endpoints


def recommend(endpoints, user=None) -> None:
    """Two recommendations per endpoint (one acted on by `user`) and one account-wide: the pages that
    list them must not read per row."""
    recs = []
    for e in endpoints:
        for n, status in enumerate(("open", "dismissed")):
            recs.append(
                Recommendation(
                    key=f"bench:{e.pk}:{n}", rule="idle-endpoint", endpoint=e, variant="AllTraffic",
                    account=e.account, region=e.region, team=e.team, title=f"Delete {e.name}",
                    summary="No invocations in 14 days.", proposed={"delete": True}, evidence={"days": 14},
                    monthly_saving=Decimal(e.pk % 7 - 1) if n else None, confidence=0.7,
                    window_start=NOW - timedelta(days=14), window_end=NOW, computed_at=NOW,
                    first_seen_at=NOW, status=status, status_changed_by=user if n else None,
                    status_changed_at=NOW if n else None,
                )
            )  # fmt: skip
        recs.append(
            Recommendation(
                key=f"bench:quota:{e.pk}", rule="quota-headroom", account=e.account, region=e.region,
                title="Quota", summary="", confidence=0.5, window_start=NOW, window_end=NOW,
                computed_at=NOW, first_seen_at=NOW,
            )
        )  # fmt: skip
    Recommendation.objects.bulk_create(recs)


@pytest.fixture
def site(db, team_search, team_vision, member_search, finops_admin, page_clock):  # noqa: F811
    account = AwsAccount.objects.create(account_id="333333333333", label="bench", regions=["us-east-1"])
    for kind in CollectionRun.Kind.values:
        CollectionRun.objects.create(
            kind=kind, account=account, region="us-east-1", started_at=NOW, finished_at=NOW, status="ok"
        )
    CostForecast.objects.create(
        scope="team", scope_id=team_search.pk, month=NOW.date().replace(day=1), amount=Decimal(500),
        currency="USD", method="median-daily", computed_at=NOW,
    )  # fmt: skip
    recommend(build_fleet(SMALL, account=account, teams=[team_search, team_vision]), member_search)
    return {"account": account, "teams": [team_search, team_vision], "user": member_search}


def count_queries(client, url, params) -> tuple[int, int]:
    client.get(url, params)  # warm up: per-process caches (content types, permissions) are not per row
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    if not response.context:
        return len(queries), -1  # CSV
    shown = response.context.get("endpoints")
    return len(queries), len(response.context["table"]["rows"] if shown is None else shown)


PAGES = {
    "fleet page": ("fleet", None, {}),
    "fleet page, 30 days, by p99": ("fleet", None, {"range": "30d", "kind": "serverless", "sort": "-p99"}),
    "fleet CSV export": ("fleet", None, {"format": "csv"}),
    "team page": ("team", "search", {}),
    "team page, 24 hours": ("team", "search", {"range": "24h"}),
    "team CSV export": ("team", "search", {"format": "csv"}),
    "recommendations page": ("recommendations", None, {}),
    "recommendations, any status": ("recommendations", None, {"status": "all", "sort": "-confidence"}),
    "recommendations CSV export": ("recommendations", None, {"format": "csv"}),
}  # fmt: skip


@pytest.mark.parametrize("who", ["member_search", "finops_admin"])
@pytest.mark.parametrize("page", list(PAGES))
def test_page_query_count_does_not_grow_with_the_fleet(client, site, request, who, page):
    name, slug, params = PAGES[page]
    url = reverse(name, args=[slug] if slug else [])
    client.force_login(request.getfixturevalue(who))
    small, shown_small = count_queries(client, url, params)
    recommend(build_fleet(SMALL * 4, account=site["account"], teams=site["teams"], start=SMALL), site["user"])
    large, shown_large = count_queries(client, url, params)  # 5x the fleet and its recommendations
    if shown_small >= 0:
        assert shown_large > shown_small  # the larger fleet is really on the page
    assert small == large, (
        f"{page} for {who}: {small} queries with {SMALL} endpoints, {large} with {SMALL * 5}"
    )


def test_the_larger_fleet_renders_every_row(client, site, finops_admin):
    build_fleet(SMALL * 4, account=site["account"], teams=site["teams"], start=SMALL)
    client.force_login(finops_admin)
    body = client.get(reverse("fleet")).content.decode()
    assert body.count('data-endpoint="ep-') == SMALL * 5
