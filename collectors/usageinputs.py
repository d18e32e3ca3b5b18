"""The inputs of a cost estimate for each endpoint and day, read from inventory and stored metrics.

Nothing is invented: a serverless variant-day is estimated only when its stored metrics cover the whole
day (its metric cursor spans it and raw points are still retained); otherwise the endpoint-day is a gap
with a reason. Variants count only while they existed, and each day uses the shape in effect that day,
rebuilt from the endpoint's change history (a day with a change uses the shape at its end).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from collectors.costmodel import VariantUsage
from collectors.store.usage import daily_usage
from dashboard.models import Endpoint, EndpointEvent, MetricCursor, ProductionVariant

ORIGINAL_SLACK = timedelta(minutes=5)  # variants inventory saw together with their endpoint


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def overlap_seconds(day: date, born: datetime, gone: datetime | None) -> int:
    start, end = day_bounds(day)
    seconds = (min(end, gone or end) - max(start, born)).total_seconds()
    return max(0, int(seconds))


def variant_lifetime(endpoint: Endpoint, variant: ProductionVariant) -> tuple[datetime, datetime | None]:
    """When the variant existed: since the endpoint's creation if inventory found it with the endpoint,
    else since inventory first saw it; until it was removed or the endpoint deleted."""
    born = endpoint.created_at or endpoint.first_seen
    if variant.first_seen > endpoint.first_seen + ORIGINAL_SLACK:
        born = variant.first_seen
    ends = [t for t in (variant.removed_at, endpoint.deleted_at) if t is not None]
    return born, min(ends) if ends else None


def shape_on(variant: ProductionVariant, day: date, changes: list[EndpointEvent]) -> dict:
    """The variant's shape at the end of `day`: the 'before' of the first change after that day, else now."""
    _, day_end = day_bounds(day)
    for event in changes:  # sorted by time
        if event.at >= day_end:
            before = event.detail.get("before", {}).get(variant.name)
            if before is not None:
                return before
            break
    return {
        "kind": variant.kind,
        "memory_mb": variant.memory_mb,
        "provisioned_concurrency": variant.provisioned_concurrency,
        "instance_type": variant.instance_type_id,
        "desired_instance_count": variant.current_instance_count or variant.desired_instance_count,
    }


def covered(cursor: MetricCursor | None, day: date, oldest_raw: datetime) -> bool:
    start, end = day_bounds(day)
    return bool(
        cursor and cursor.collected_from and cursor.collected_until
        and cursor.collected_from <= start and cursor.collected_until >= end and start >= oldest_raw
    )  # fmt: skip


def usage_inputs(
    endpoints: list[Endpoint], days: list[date], now: datetime | None = None
) -> tuple[dict[tuple[int, date], list[VariantUsage]], list[tuple[int, date, str]]]:
    """(endpoint pk, day) -> its variants' usage, and the endpoint-days that cannot be estimated, why."""
    if not days:
        return {}, []
    now = now or timezone.now()
    oldest_raw = now - timedelta(days=settings.METRICS_RAW_RETENTION_DAYS)
    variants = [v for e in endpoints for v in e.variants.all()]
    usage = daily_usage([v.pk for v in variants], days[0], days[-1] + timedelta(days=1))
    cursors = {c.variant_id: c for c in MetricCursor.objects.filter(variant__in=variants)}
    changes: dict[int, list[EndpointEvent]] = {}
    for event in EndpointEvent.objects.filter(
        endpoint__in=endpoints, kind=EndpointEvent.Kind.CHANGED
    ).order_by("at"):
        changes.setdefault(event.endpoint_id, []).append(event)
    out: dict[tuple[int, date], list[VariantUsage]] = {}
    gaps: list[tuple[int, date, str]] = []
    for endpoint in endpoints:
        for day in days:
            parts, reason = [], None
            for v in endpoint.variants.all():
                seconds = overlap_seconds(day, *variant_lifetime(endpoint, v))
                if not seconds:
                    continue
                shape = shape_on(v, day, changes.get(endpoint.pk, []))
                if shape["kind"] == "serverless" and not covered(cursors.get(v.pk), day, oldest_raw):
                    reason = f"metrics of variant {v.name} do not cover {day}"
                    break
                parts.append(_usage(v, shape, seconds, usage.get((v.pk, day))))
            if reason:
                gaps.append((endpoint.pk, day, reason))
            elif parts:
                out[(endpoint.pk, day)] = parts
    return out, gaps


def _usage(variant: ProductionVariant, shape: dict, seconds: int, used) -> VariantUsage:
    invocations = round(used.invocations) if used else 0
    avg_ms = Decimal(0)
    if used and used.invocations:
        avg_ms = Decimal(str(used.compute_seconds * 1000 / used.invocations))
    return VariantUsage(
        variant=variant.name,
        kind=shape["kind"],
        seconds_up=seconds,
        memory_mb=shape.get("memory_mb"),
        invocations=invocations,
        avg_model_latency_ms=avg_ms,
        provisioned_concurrency=shape.get("provisioned_concurrency"),
        provisioned_invocations=round(used.provisioned_invocations) if used else 0,
        instance_type=shape.get("instance_type"),
        instance_count=shape.get("desired_instance_count") or 0,
    )


def usage_so_far(
    endpoints: list[Endpoint], day: date, until: datetime
) -> tuple[dict[int, list[VariantUsage]], datetime | None]:
    """Usage of the day still in progress, for an estimate of today's spend before Cost Explorer has it:
    instances count up to `until`, each shape for the part of the day it was in effect (an upsize at
    22:00 counts from 22:00); serverless usage is what the stored metrics hold so far, at the current
    shape. Returns endpoint pk -> its variants' usage, and the time the serverless metrics reach (the
    oldest cursor end among them; None when no serverless variant counts)."""
    start, end = day_bounds(day)
    until = min(until, end)
    variants = [v for e in endpoints for v in e.variants.all()]
    usage = daily_usage([v.pk for v in variants], day, day + timedelta(days=1))
    cursors = {c.variant_id: c for c in MetricCursor.objects.filter(variant__in=variants)}
    changes: dict[int, list[EndpointEvent]] = {}
    for event in EndpointEvent.objects.filter(
        endpoint__in=endpoints, kind=EndpointEvent.Kind.CHANGED, at__gte=start, at__lt=until
    ).order_by("at"):
        changes.setdefault(event.endpoint_id, []).append(event)
    through: datetime | None = None
    out: dict[int, list[VariantUsage]] = {}
    for endpoint in endpoints:
        parts = []
        for v in endpoint.variants.all():
            born, gone = variant_lifetime(endpoint, v)
            shape = shape_on(v, day, [])
            if shape["kind"] == "serverless":
                seconds = _seconds(max(start, born), min(until, gone or until))
                if seconds:
                    reach = getattr(cursors.get(v.pk), "collected_until", None) or start
                    through = reach if through is None else min(through, reach)
                    parts.append(_usage(v, shape, seconds, usage.get((v.pk, day))))
                continue
            for seg_start, seg_end, seg_shape in _segments(
                v, shape, changes.get(endpoint.pk, []), start, until
            ):
                seconds = _seconds(max(seg_start, born), min(seg_end, gone or seg_end))
                if seconds and seg_shape.get("kind") == "instance":
                    parts.append(_usage(v, seg_shape, seconds, None))
        if parts:
            out[endpoint.pk] = parts
    return out, through


def _seconds(start: datetime, end: datetime) -> int:
    return int(max(0.0, (end - start).total_seconds()))


def _segments(variant, current: dict, events: list[EndpointEvent], start: datetime, until: datetime):
    """(from, to, shape) over [start, until): each change's "before" shape up to the change, then the
    current shape."""
    bounds = [start, *(e.at for e in events), until]
    shapes = [e.detail.get("before", {}).get(variant.name) for e in events] + [current]
    return [(bounds[i], bounds[i + 1], shapes[i] or {}) for i in range(len(shapes))]
