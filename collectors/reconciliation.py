"""Estimated versus billed cost per endpoint and day, where both exist, so a wrong price shows up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from collectors.attribution import reconcile
from collectors.costmodel import EndpointCost as Row
from dashboard.models import EndpointCost
from dashboard.services.costs import best_costs


def reconcile_stored(
    endpoint_ids: list[int], start: date, end: date, *, tolerance: Decimal = Decimal("0.05")
):
    estimates = [
        Row(c.endpoint_id, c.day, c.amount, c.currency, c.source, c.estimated)
        for c in EndpointCost.objects.filter(
            endpoint_id__in=endpoint_ids, day__gte=start, day__lt=end, source=EndpointCost.Source.ESTIMATE
        )
    ]
    billed = [
        Row(c.endpoint_id, c.day, c.amount, c.currency, c.source, c.estimated)
        for c in best_costs(endpoint_ids, start, end)
        if c.source != EndpointCost.Source.ESTIMATE
    ]
    return reconcile(estimates, billed, tolerance=tolerance)
