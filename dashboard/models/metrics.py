"""CloudWatch metrics as stored: one series per (variant, metric, statistic), one point per
(series, period, timestamp), and hourly / daily rollups so pages never scan raw points."""

from django.db import models


class MetricSeries(models.Model):
    variant = models.ForeignKey(
        "dashboard.ProductionVariant", on_delete=models.CASCADE, related_name="series"
    )
    metric = models.CharField(max_length=64, help_text="catalogue key, e.g. ModelLatency")
    stat = models.CharField(max_length=16, help_text="Sum, Average, Maximum, SampleCount, p99, ...")
    unit = models.CharField(max_length=16, help_text="stored unit: ms, count, percent, ratio")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["variant", "metric", "stat"], name="series_identity")]

    def __str__(self):
        return f"{self.variant_id}:{self.metric}:{self.stat}"


class MetricPoint(models.Model):
    """Written only in bulk (COPY into a staging table, then one upsert): see collectors/store/metrics.py."""

    pk = models.CompositePrimaryKey("series_id", "ts", "period")
    # No foreign key in the database: checking every stored point against the series table at commit
    # took 40% of the storage path's time. Points are written only by store_results, after it creates
    # their series in the same transaction; deleting a series through the ORM still deletes its points.
    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, db_index=False, db_constraint=False)
    period = models.PositiveIntegerField(help_text="seconds")
    ts = models.DateTimeField(help_text="start of the period, UTC")
    value = models.FloatField(
        null=True, help_text="in the series' stored unit; null when it cannot be derived"
    )
    raw = models.FloatField(help_text="as CloudWatch returned it")

    class Meta:
        indexes = [models.Index(fields=["ts"], name="metricpoint_ts")]  # retention sweeps

    def __str__(self):
        return f"{self.series_id}@{self.ts:%Y-%m-%d %H:%M}/{self.period}s"


class MetricRollup(models.Model):
    """Per series and hour ('1h') or day ('1d'): Sum and SampleCount add up, Minimum / Maximum take the
    extreme, Average is the mean of the period averages, and percentiles take the highest period value
    (an upper bound: percentiles cannot be combined exactly)."""

    HOURLY = "1h"
    DAILY = "1d"

    pk = models.CompositePrimaryKey("series_id", "resolution", "bucket")
    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, db_index=False)
    resolution = models.CharField(max_length=2, choices=[(HOURLY, "hourly"), (DAILY, "daily")])
    bucket = models.DateTimeField()
    value = models.FloatField(null=True)
    points = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.series_id}@{self.bucket:%Y-%m-%d %H:%M}/{self.resolution}"


class MetricCursor(models.Model):
    """Polling state per variant: how far its metrics are stored, when it was last polled, and when it
    last had traffic (variants idle for days are polled less often)."""

    variant = models.OneToOneField(
        "dashboard.ProductionVariant", on_delete=models.CASCADE, primary_key=True, related_name="cursor"
    )
    collected_from = models.DateTimeField(null=True, blank=True, help_text="start of the oldest data fetched")
    collected_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_invocation_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"cursor {self.variant_id} until {self.collected_until}"
