"""The fleet table's rows: endpoints with their figures over a range, in a fixed number of queries.
Shared by the pages and the weekly review, so both show the same figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet

from dashboard.models import EndpointCost, EndpointSummary, ProductionVariant
from dashboard.services.figures import TimeRange, endpoint_figures
from dashboard.tables import Row


def load_rows(endpoints: QuerySet, rng: TimeRange, *, today) -> list[Row]:
    """Endpoints with account, team, variants and instance types, and their figures: a fixed number of
    queries (two for the endpoints, the figures service's four, one for AWS-estimated costs) whatever
    the number of endpoints."""
    # `to_attr` hands each endpoint a plain list: Django's default prefetch builds a queryset per endpoint
    # (0.2 s at 2,000 endpoints, more than the query itself).
    variants = ProductionVariant.objects.select_related("instance_type", "cursor")
    endpoints = list(
        endpoints.select_related("account", "team")
        .prefetch_related(Prefetch("variants", queryset=variants, to_attr="variant_list"))
        .order_by("account__account_id", "region", "name")
    )
    ids = [e.pk for e in endpoints]
    figures = endpoint_figures(ids, rng, today=today)
    aws_estimated = still_estimated_by_aws(ids, rng, today)
    return [
        Row(e, figures[e.pk], measured(e.variant_list, rng), e.pk in aws_estimated, e.variant_list)
        for e in endpoints
    ]


def still_estimated_by_aws(ids: list[int], rng: TimeRange, today: date) -> set[int]:
    """Endpoints with a Cost Explorer figure (resource or tag) in the range or this month that AWS still
    marks estimated: one query. (Our own estimates are always "not final"; the marker says E for them.)"""
    if not ids:
        return set()
    first, last = rng.days
    days = Q(bucket__gte=midnight(first), bucket__lt=midnight(last)) | Q(
        bucket__gte=midnight(today.replace(day=1)), bucket__lt=midnight(today + timedelta(days=1))
    )
    return set(
        EndpointSummary.objects.filter(
            days, endpoint_id__in=ids, resolution=EndpointSummary.DAILY, cost_estimated=True,
            cost_source__in=[EndpointCost.Source.RESOURCE, EndpointCost.Source.TAG],
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )  # fmt: skip


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def measured(variants, rng: TimeRange) -> bool:
    """Whether metrics were collected for any part of the range (from the endpoint's variants' cursors),
    so no invocations means idle rather than unknown."""
    for variant in variants:
        cursor = getattr(variant, "cursor", None)
        if cursor is None or cursor.collected_until is None:
            continue
        if cursor.collected_until > rng.start and (
            cursor.collected_from is None or cursor.collected_from < rng.end
        ):
            return True
    return False
