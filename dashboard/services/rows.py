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
from dashboard.models.lookups import IdArray
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
    tags: dict | None  # None unless load_rows was asked for them
    account: AwsAccount
    team: Team | None


ENDPOINT_FIELDS = ("pk", "name", "region", "status", "deleted_at", "tags", "account_id", "team_id")
VARIANT_FIELDS = (
    "endpoint_id", "name", "kind", "memory_mb", "max_concurrency", "provisioned_concurrency",
    "instance_type_id", "current_instance_count", "removed_at",
)  # fmt: skip


def load_rows(endpoints: QuerySet, rng: TimeRange, *, today, with_tags: bool = False) -> list[Row]:
    """Endpoints with account, team, variants and instance types, and their figures, in account, region
    and name order: a fixed number of queries (endpoints, accounts, teams, variants, instance types,
    cursors, and the figures service's two) whatever the number of endpoints.

    Tags are read only `with_tags` (the weekly review lists them; the pages do not): decoding every
    endpoint's tags took 8 ms of the 2,000-endpoint fleet page."""
    fields = [f for f in ENDPOINT_FIELDS if with_tags or f != "tags"]
    listed = list(endpoints.order_by("account__account_id", "region", "name").values(*fields))
    if not listed:
        return []
    ids = [e["pk"] for e in listed]
    id_array = IdArray.of(ids)
    accounts = AwsAccount.objects.in_bulk({e["account_id"] for e in listed})
    teams = Team.objects.in_bulk({e["team_id"] for e in listed if e["team_id"] is not None})
    variants = list(
        ProductionVariant.objects.filter(endpoint_id__any=id_array)
        .order_by("endpoint_id", "name")
        .values_list(*VARIANT_FIELDS)
    )
    types = InstanceType.objects.in_bulk({v[6] for v in variants if v[6] is not None})
    by_endpoint = defaultdict(list)
    for endpoint_id, *values in variants:
        by_endpoint[endpoint_id].append(VariantInfo(*values, types.get(values[5])))
    figures = endpoint_figures(ids, rng, today=today)
    collected = measured(id_array, rng)
    rows = []
    for e in listed:
        pk = e["pk"]
        info = EndpointInfo(
            pk, e["name"], e["region"], e["status"], e["deleted_at"], e.get("tags"),
            accounts[e["account_id"]], teams.get(e["team_id"]),
        )  # fmt: skip
        rows.append(Row(info, figures[pk], pk in collected, by_endpoint[pk]))
    return rows


def measured(ids: IdArray, rng: TimeRange) -> set[int]:
    """Endpoints with metrics collected for any part of the range (from their variants' cursors), so no
    invocations means idle rather than unknown: one query."""
    return set(
        MetricCursor.objects.filter(variant__endpoint_id__any=ids, collected_until__gt=rng.start)
        .filter(Q(collected_from=None) | Q(collected_from__lt=rng.end))
        .values_list("variant__endpoint_id", flat=True)
        .distinct()
    )
