"""When each source was last collected, for the freshness line every page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from dashboard.models import CollectionRun


@dataclass(frozen=True)
class Freshness:
    kind: str
    last_success: datetime | None
    last_attempt: datetime | None
    # "account/region: error" ("account: error" for costs) for the scopes whose latest run failed
    failing: list[str]


def freshness(kind: str) -> Freshness:
    done = ~Q(status=CollectionRun.Status.RUNNING)
    agg = CollectionRun.objects.filter(kind=kind).aggregate(
        last_success=Max("finished_at", filter=Q(status__in=["ok", "partial"])),
        last_attempt=Max("finished_at", filter=done),
    )
    # The latest finished run per account and region (Postgres DISTINCT ON), to name what is failing now.
    latest = (
        CollectionRun.objects.filter(done, kind=kind)
        .order_by("account_id", "region", "-started_at")
        .distinct("account_id", "region")
        .select_related("account")
    )
    failing = [
        f"{_scope(run)}: {(run.errors or ['failed'])[0]}"
        for run in latest
        if run.status == CollectionRun.Status.FAILED
    ]
    return Freshness(kind, agg["last_success"], agg["last_attempt"], failing)


def _scope(run: CollectionRun) -> str:
    account = run.account.account_id if run.account else "?"
    # Cost runs are account-wide (Cost Explorer has no region): no empty region after a slash.
    return f"{account}/{run.region}" if run.region else account
