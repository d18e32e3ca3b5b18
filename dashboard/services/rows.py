"""The fleet table's rows: endpoints with their figures over a range, in a fixed number of queries.
Shared by the pages and the weekly review, so both show the same figures.

The rows are built from plain values, not model instances: the fleet page sorts and totals every
endpoint it may show, and at 2,000 endpoints building an Endpoint, a ProductionVariant, a MetricCursor and
an InstanceType per row (and parsing their every timestamp) took longer than the queries. Accounts, teams
and instance types are few: they are model instances, one per id, shared by the rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from dashboard.models import (
    AwsAccount,
    InstanceType,
    MetricCursor,
    ProductionVariant,
    Team,
)
from dashboard.models.endpoints import shape_label
from dashboard.services.figures import TimeRange, endpoint_figures
from dashboard.tables import Row


@dataclass(slots=True)
class VariantInfo:
    """What the fleet table reads of a production variant (the model's names, so cells read either)."""

    name: str
    kind: str
    memory_mb: int | None
    max_concurrency: int | None
    provisioned_concurrency: int | None
    instance_type_id: str | None
    current_instance_count: int | None
    removed_at: datetime | None
    instance_type: InstanceType | None

    @property
    def shape_label(self) -> str:
        return shape_label(self)


@dataclass(slots=True)
class EndpointInfo:
    """What the fleet table and the weekly review read of an endpoint (the model's names)."""

    pk: int
    name: str
    region: str
    status: str
    deleted_at: datetime | None
    tags: dict
    account: AwsAccount
    team: Team | None


ENDPOINT_FIELDS = ("pk", "name", "region", "status", "deleted_at", "tags", "account_id", "team_id")
VARIANT_FIELDS = (
    "endpoint_id", "name", "kind", "memory_mb", "max_concurrency", "provisioned_concurrency",
    "instance_type_id", "current_instance_count", "removed_at",
)  # fmt: skip


def load_rows(endpoints: QuerySet, rng: TimeRange, *, today) -> list[Row]:
    """Endpoints with account, team, variants and instance types, and their figures, in account, region
    and name order: a fixed number of queries (endpoints, accounts, teams, variants, instance types,
    cursors, and the figures service's three) whatever the number of endpoints."""
    listed = list(endpoints.order_by("account__account_id", "region", "name").values_list(*ENDPOINT_FIELDS))
    if not listed:
        return []
    ids = [e[0] for e in listed]
    accounts = AwsAccount.objects.in_bulk({e[6] for e in listed})
    teams = Team.objects.in_bulk({e[7] for e in listed if e[7] is not None})
    variants = list(
        ProductionVariant.objects.filter(endpoint_id__any=ids)
        .order_by("endpoint_id", "name")
        .values_list(*VARIANT_FIELDS)
    )
    types = InstanceType.objects.in_bulk({v[6] for v in variants if v[6] is not None})
    by_endpoint = defaultdict(list)
    for endpoint_id, *values in variants:
        by_endpoint[endpoint_id].append(VariantInfo(*values, types.get(values[5])))
    figures = endpoint_figures(ids, rng, today=today)
    collected = measured(ids, rng)
    rows = []
    for pk, name, region, status, deleted_at, tags, account_id, team_id in listed:
        info = EndpointInfo(
            pk, name, region, status, deleted_at, tags, accounts[account_id], teams.get(team_id)
        )
        rows.append(Row(info, figures[pk], pk in collected, by_endpoint[pk]))
    return rows


def measured(ids: list[int], rng: TimeRange) -> set[int]:
    """Endpoints with metrics collected for any part of the range (from their variants' cursors), so no
    invocations means idle rather than unknown: one query."""
    return set(
        MetricCursor.objects.filter(variant__endpoint_id__any=ids, collected_until__gt=rng.start)
        .filter(Q(collected_from=None) | Q(collected_from__lt=rng.end))
        .values_list("variant__endpoint_id", flat=True)
        .distinct()
    )
