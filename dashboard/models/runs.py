from django.db import models


class CollectionRun(models.Model):
    """One collection of one kind for one account and region: when, how it went, what it cost in calls."""

    class Kind(models.TextChoices):
        INVENTORY = "inventory"
        METRICS = "metrics"
        COSTS = "costs"

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PARTIAL = "partial"  # finished, but some calls failed; what was read is stored
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    account = models.ForeignKey(
        "dashboard.AwsAccount", null=True, on_delete=models.SET_NULL, related_name="runs"
    )
    region = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    api_calls = models.JSONField(default=dict, help_text='{"service:Operation": calls}, each page counted')
    metrics_requested = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    stats = models.JSONField(default=dict)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["kind", "account", "region", "-started_at"])]

    def __str__(self):
        return f"{self.kind} {self.account_id}/{self.region} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
