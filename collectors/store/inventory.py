"""Write an inventory snapshot into Postgres: bulk upserts, change history, deletions.

Idempotent: storing the same snapshot twice leaves the same rows (only last_seen moves) and records no
second event. One transaction per account and region, under an advisory lock, so two runs of the same
collection at once serialise instead of racing on inserts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from collectors.model import InventorySnapshot, VariantInfo
from dashboard.models import AwsAccount, Endpoint, EndpointEvent, InstanceType, ProductionVariant, Team
from dashboard.services.teams import team_for_tags, team_index

ENDPOINT_FIELDS = [
    "arn",
    "status",
    "config_name",
    "tags",
    "team",
    "created_at",
    "modified_at",
    "last_seen",
    "deleted_at",
]
VARIANT_FIELDS = [
    "kind",
    "memory_mb",
    "max_concurrency",
    "provisioned_concurrency",
    "instance_type",
    "current_instance_count",
    "desired_instance_count",
    "last_seen",
    "removed_at",
]


def advisory_lock(*parts: object) -> None:
    """Transaction-scoped Postgres advisory lock on a text key."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [":".join(map(str, parts))])


def variant_shape(variant: ProductionVariant) -> tuple:
    return (
        variant.kind,
        variant.instance_type_id,
        variant.desired_instance_count,
        variant.memory_mb,
        variant.max_concurrency,
        variant.provisioned_concurrency,
    )


def shape_dict(shape: tuple) -> dict:
    keys = (
        "kind",
        "instance_type",
        "desired_instance_count",
        "memory_mb",
        "max_concurrency",
        "provisioned_concurrency",
    )
    return {k: v for k, v in zip(keys, shape, strict=True) if v is not None}


def store_inventory(account: AwsAccount, snapshot: InventorySnapshot, now: datetime) -> dict:
    region = snapshot.region
    with transaction.atomic():
        advisory_lock("inventory", account.pk, region)
        existing = {
            e.name: e
            for e in Endpoint.objects.filter(account=account, region=region).prefetch_related("variants")
        }
        teams = team_index(Team.objects.all())
        _ensure_instance_types(
            {v.instance_type for e in snapshot.endpoints for v in e.variants if v.instance_type}
        )

        events: list[tuple[str, str, dict]] = []  # (endpoint name, kind, detail)
        endpoint_rows = []
        for info in snapshot.endpoints:
            old = existing.get(info.name)
            if old is None:
                events.append((info.name, EndpointEvent.Kind.CREATED, _shapes_detail(info.variants)))
            else:
                if old.deleted_at is not None:
                    events.append((info.name, EndpointEvent.Kind.RESTORED, {}))
                change = _shape_change(old, info.variants)
                if change:
                    if old.config_name != info.config_name:
                        # UpdateEndpoint to another config: which config the old shape came from.
                        change["config"] = {"before": old.config_name, "after": info.config_name}
                    events.append((info.name, EndpointEvent.Kind.CHANGED, change))
            endpoint_rows.append(
                Endpoint(
                    account=account,
                    region=region,
                    name=info.name,
                    arn=info.arn,
                    status=info.status,
                    config_name=info.config_name,
                    tags=info.tags,
                    team_id=team_for_tags(info.tags, settings.TEAM_TAG_KEYS, teams),
                    created_at=info.created_at,
                    modified_at=info.modified_at,
                    first_seen=now,  # only used on insert: update_fields leaves first_seen alone
                    last_seen=now,
                    deleted_at=None,
                )
            )
        saved = Endpoint.objects.bulk_create(
            endpoint_rows,
            update_conflicts=True,
            unique_fields=["account", "region", "name"],
            update_fields=ENDPOINT_FIELDS,
        )
        ids = {row.name: row.pk for row in saved}

        _store_variants(snapshot, ids, existing, now)

        gone = []
        if snapshot.complete:
            seen = {info.name for info in snapshot.endpoints}
            gone = [e for name, e in existing.items() if name not in seen and e.deleted_at is None]
            Endpoint.objects.filter(pk__in=[e.pk for e in gone]).update(deleted_at=now)
            ProductionVariant.objects.filter(endpoint__in=gone, removed_at=None).update(removed_at=now)
            events.extend((e.name, EndpointEvent.Kind.DELETED, {}) for e in gone)
            ids.update({e.name: e.pk for e in gone})

        EndpointEvent.objects.bulk_create(
            [
                EndpointEvent(endpoint_id=ids[name], at=now, kind=kind, detail=detail)
                for name, kind, detail in events
            ]
        )
    kinds = [kind for _, kind, _ in events]
    return {
        "endpoints": len(snapshot.endpoints),
        "created": kinds.count(EndpointEvent.Kind.CREATED),
        "changed": kinds.count(EndpointEvent.Kind.CHANGED),
        "restored": kinds.count(EndpointEvent.Kind.RESTORED),
        "deleted": len(gone),
        "vanished_while_reading": len(snapshot.vanished),
        "complete": snapshot.complete,
    }


def _store_variants(snapshot: InventorySnapshot, ids: dict[str, int], existing: dict, now: datetime) -> None:
    rows = []
    for info in snapshot.endpoints:
        known = {v.name: v for v in existing[info.name].variants.all()} if info.name in existing else {}
        for v in info.variants:
            if v.kind == "instance" and v.instance_type is None and v.name in known:
                # The endpoint's config was deleted: keep the instance type we knew.
                v = replace(v, instance_type=known[v.name].instance_type_id)
            rows.append(
                ProductionVariant(
                    endpoint_id=ids[info.name],
                    name=v.name,
                    kind=v.kind,
                    memory_mb=v.memory_mb,
                    max_concurrency=v.max_concurrency,
                    provisioned_concurrency=v.provisioned_concurrency,
                    instance_type_id=v.instance_type,
                    current_instance_count=v.current_instance_count,
                    desired_instance_count=v.desired_instance_count,
                    first_seen=now,
                    last_seen=now,
                    removed_at=None,
                )
            )
    ProductionVariant.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["endpoint", "name"], update_fields=VARIANT_FIELDS
    )
    # Variants an endpoint no longer has (a config replaced by one with other variant names).
    removed = [
        old_variant.pk
        for info in snapshot.endpoints
        if info.name in existing
        for old_variant in existing[info.name].variants.all()
        if old_variant.removed_at is None and old_variant.name not in {v.name for v in info.variants}
    ]
    ProductionVariant.objects.filter(pk__in=removed).update(removed_at=now)


def _shapes_detail(variants: tuple[VariantInfo, ...]) -> dict:
    return {"variants": {v.name: shape_dict(v.shape()) for v in variants}}


def _shape_change(old: Endpoint, variants: tuple[VariantInfo, ...]) -> dict | None:
    # A deleted endpoint's variants were removed with it: coming back, it is compared with that shape.
    before = {
        v.name: variant_shape(v)
        for v in old.variants.all()
        if v.removed_at is None or (old.deleted_at is not None and v.removed_at >= old.deleted_at)
    }
    after = {v.name: v.shape() for v in variants}
    for name, shape in after.items():
        if shape[0] == "instance" and shape[1] is None and name in before:
            after[name] = (shape[0], before[name][1], *shape[2:])  # config deleted: type unchanged
    if before == after:
        return None
    return {
        "before": {name: shape_dict(shape) for name, shape in sorted(before.items())},
        "after": {name: shape_dict(shape) for name, shape in sorted(after.items())},
    }


def _ensure_instance_types(names: set[str]) -> None:
    """Types missing from the catalogue are added as unknown (no price) so nothing invents a price."""
    if not names:
        return
    known = set(InstanceType.objects.filter(name__in=names).values_list("name", flat=True))
    InstanceType.objects.bulk_create(
        [
            InstanceType(name=name, known=False, price_source="not in catalogue")
            for name in sorted(names - known)
        ],
        ignore_conflicts=True,
    )
