"""Serverless quota usage per account and region, from the inventory (one aggregate query)."""

from __future__ import annotations

from django.db.models import Count, Sum

from dashboard.insights.model import QuotaEvidence, Thresholds
from dashboard.models import ProductionVariant
from dashboard.models.endpoints import SERVERLESS

LARGEST = 5


def load_quotas(t: Thresholds, *, scopes: set[tuple[str, str]] | None = None) -> list[QuotaEvidence]:
    """One QuotaEvidence per (account id, region) that has live serverless endpoints, optionally only
    `scopes`. Counts live variants of endpoints inventory still finds; an endpoint counts once however
    many serverless variants it has, and every variant's MaxConcurrency counts against the shared quota."""
    live = ProductionVariant.objects.filter(kind=SERVERLESS, removed_at=None, endpoint__deleted_at=None)
    totals = live.values("endpoint__account__account_id", "endpoint__region").annotate(
        endpoints=Count("endpoint", distinct=True),
        max_conc=Sum("max_concurrency"),
        provisioned=Sum("provisioned_concurrency"),
    )
    per_endpoint = live.values(
        "endpoint__account__account_id", "endpoint__region", "endpoint__name"
    ).annotate(max_conc=Sum("max_concurrency"))
    largest: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for row in per_endpoint:
        scope = (row["endpoint__account__account_id"], row["endpoint__region"])
        largest.setdefault(scope, []).append((row["endpoint__name"], row["max_conc"] or 0))
    out = []
    for row in totals.order_by("endpoint__account__account_id", "endpoint__region"):
        scope = (row["endpoint__account__account_id"], row["endpoint__region"])
        if scopes is not None and scope not in scopes:
            continue
        top = sorted(largest.get(scope, []), key=lambda item: (-item[1], item[0]))[:LARGEST]
        out.append(
            QuotaEvidence(
                account_id=scope[0],
                region=scope[1],
                serverless_endpoints=row["endpoints"],
                sum_max_concurrency=row["max_conc"] or 0,
                sum_provisioned_concurrency=row["provisioned"] or 0,
                endpoint_quota=t.serverless_endpoint_quota,
                concurrency_quota=t.serverless_concurrency_quota,
                largest=tuple(top),
            )
        )
    return out
