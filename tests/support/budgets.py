"""Data a budget alert fires on, for the tests that run evaluation and delivery through a real worker."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone


def overspending_endpoint(today: date | None = None, account_id: str = "111111111111"):
    """An endpoint spending 3x its forecast over the week before `today` (default: the real today), owned
    by the team "search": a budget rule on it raises an alert."""
    from dashboard.models import AwsAccount, CostForecast, Endpoint, EndpointCost, ProductionVariant, Team

    today = today or timezone.now().date()
    long_ago = datetime.combine(today, time.min, tzinfo=UTC) - timedelta(days=90)
    team = Team.objects.create(name="search", slug="search", tag_values=["search"])
    account = AwsAccount.objects.create(account_id=account_id, regions=["us-east-1"])
    endpoint = Endpoint.objects.create(
        account=account, region="us-east-1", name="embed", status="InService", team=team,
        arn=f"arn:aws:sagemaker:us-east-1:{account_id}:endpoint/embed",
        created_at=long_ago, first_seen=long_ago, last_seen=long_ago,
    )  # fmt: skip
    ProductionVariant.objects.create(
        endpoint=endpoint, name="AllTraffic", kind="serverless", memory_mb=2048, max_concurrency=5,
        first_seen=long_ago, last_seen=long_ago,
    )  # fmt: skip
    for back in range(1, 40):
        EndpointCost.objects.create(
            endpoint=endpoint, day=today - timedelta(days=back), source="resource",
            amount=Decimal(30 if back <= 7 else 10), currency="USD", estimated=False, computed_at=long_ago,
        )  # fmt: skip
    CostForecast.objects.create(
        scope="endpoint", scope_id=endpoint.pk, month=today.replace(day=1), amount=Decimal(300),
        currency="USD", method="median-28d", daily=[[today.isoformat(), "10"]], computed_at=long_ago,
    )  # fmt: skip
    return endpoint
