"""Retention per resolution (settings METRICS_*_RETENTION_DAYS): raw points, hourly and daily rollups."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from dashboard.models import EndpointSummary, MetricPoint, MetricRollup


def apply_retention(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    # Whole hours only: an hour left with part of its points would roll up wrong if touched again.
    now = now.replace(minute=0, second=0, microsecond=0)
    raw_cutoff = now - timedelta(days=settings.METRICS_RAW_RETENTION_DAYS)
    hourly_cutoff = now - timedelta(days=settings.METRICS_HOURLY_RETENTION_DAYS)
    # Hourly points (3600 s, from backfills) are kept as long as the hourly rollups they equal.
    raw, _ = MetricPoint.objects.filter(period__lt=3600, ts__lt=raw_cutoff).delete()
    hourly_points, _ = MetricPoint.objects.filter(period__gte=3600, ts__lt=hourly_cutoff).delete()
    hourly, _ = MetricRollup.objects.filter(resolution=MetricRollup.HOURLY, bucket__lt=hourly_cutoff).delete()
    EndpointSummary.objects.filter(resolution=EndpointSummary.HOURLY, bucket__lt=hourly_cutoff).delete()
    daily, _ = MetricRollup.objects.filter(
        resolution=MetricRollup.DAILY, bucket__lt=now - timedelta(days=settings.METRICS_DAILY_RETENTION_DAYS)
    ).delete()
    return {"raw_points": raw + hourly_points, "hourly_rollups": hourly, "daily_rollups": daily}
