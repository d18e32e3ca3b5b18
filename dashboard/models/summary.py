"""Per endpoint and hour / day: the figures pages show, kept current by the collectors, so a page over
thousands of endpoints reads one row per endpoint and bucket instead of raw points.

Latency percentiles are stored as invocation-weighted sums (period pNN x period invocations), so a
range's figure is sum(weighted) / sum(invocations): an approximation, as percentiles cannot be
combined exactly. Utilisations are peaks in percent of capacity (CPU/GPU per vCPU/GPU)."""

from django.db import models

MONEY = {"max_digits": 20, "decimal_places": 10}


class EndpointSummary(models.Model):
    HOURLY = "1h"
    DAILY = "1d"

    pk = models.CompositePrimaryKey("endpoint_id", "resolution", "bucket")
    endpoint = models.ForeignKey("dashboard.Endpoint", on_delete=models.CASCADE, db_index=False)
    resolution = models.CharField(max_length=2, choices=[(HOURLY, "hourly"), (DAILY, "daily")])
    bucket = models.DateTimeField()

    invocations = models.FloatField(db_default=0)
    errors_4xx = models.FloatField(db_default=0)
    errors_5xx = models.FloatField(db_default=0)
    model_errors = models.FloatField(db_default=0)
    cold_starts = models.FloatField(db_default=0)
    cold_start_ms = models.FloatField(db_default=0, help_text="total setup time of the cold starts")
    latency_avg_w = models.FloatField(db_default=0, help_text="sum of ModelLatency Average x invocations")
    latency_p50_w = models.FloatField(db_default=0)
    latency_p95_w = models.FloatField(db_default=0)
    latency_p99_w = models.FloatField(db_default=0)
    latency_weight = models.FloatField(db_default=0, help_text="invocations behind the weighted sums")
    latency_max = models.FloatField(null=True)
    overhead_p99_w = models.FloatField(db_default=0)
    concurrency_util_max = models.FloatField(null=True, help_text="serverless, 0-1")
    spillover = models.FloatField(db_default=0)
    memory_util_max = models.FloatField(null=True, help_text="percent")
    cpu_util_max = models.FloatField(null=True, help_text="percent of all vCPUs")
    gpu_util_max = models.FloatField(null=True, help_text="percent of all GPUs")
    gpu_memory_util_max = models.FloatField(null=True, help_text="percent")

    cost = models.DecimalField(**MONEY, null=True, help_text="daily rows: best source's cost")
    cost_estimate = models.DecimalField(
        **MONEY, null=True, help_text="daily rows: our usage x price estimate"
    )
    cost_source = models.CharField(max_length=16, blank=True, db_default="")
    cost_estimated = models.BooleanField(null=True)
    currency = models.CharField(max_length=3, blank=True, db_default="")

    class Meta:
        indexes = [models.Index(fields=["resolution", "bucket"], name="summary_bucket")]

    def __str__(self):
        return f"{self.endpoint_id}@{self.bucket:%Y-%m-%d %H:%M}/{self.resolution}"
