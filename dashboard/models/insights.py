"""Recommendations from the insights engine (dashboard/insights/).

A recommendation's `key` is its stable identity (rule + endpoint + variant + current shape, or rule +
account + region): each recomputation updates the figures of the row with the same key and never its
status, so an accepted or dismissed recommendation stays so across runs. A finding that is no longer
made is kept, marked inactive (`active=False`, `resolved_at`), for the history."""

from django.conf import settings
from django.db import models

MONEY = {"max_digits": 20, "decimal_places": 10}


class Recommendation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        DISMISSED = "dismissed"

    key = models.CharField(max_length=300, unique=True)
    rule = models.CharField(max_length=64, db_index=True)
    endpoint = models.ForeignKey(
        "dashboard.Endpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="recommendations"
    )
    variant = models.CharField(max_length=63, blank=True)
    account = models.ForeignKey(
        "dashboard.AwsAccount", on_delete=models.CASCADE, related_name="recommendations"
    )
    region = models.CharField(max_length=32)
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="recommendations"
    )

    title = models.CharField(max_length=300)
    summary = models.TextField()
    current = models.JSONField(default=dict)
    proposed = models.JSONField(default=dict)
    evidence = models.JSONField(default=dict)
    warnings = models.JSONField(default=list)
    monthly_saving = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="positive saves money, negative costs more; None: unknown"
    )
    currency = models.CharField(max_length=3, default="USD")
    confidence = models.FloatField(help_text="0-1, lower with little data")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    computed_at = models.DateTimeField()

    active = models.BooleanField(default=True, help_text="False: the last computation no longer found it")
    first_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_note = models.CharField(max_length=500, blank=True)

    class Meta:
        # Largest saving first; unknown savings (quota risks, unpriced types) after every known one.
        ordering = [models.F("monthly_saving").desc(nulls_last=True), "rule", "key"]
        indexes = [
            models.Index(fields=["active", "status"], name="rec_active_status"),
            models.Index(fields=["team", "active"], name="rec_team_active"),
            models.Index(fields=["account", "region"], name="rec_account_region"),
        ]

    def __str__(self):
        return f"{self.rule}: {self.title}"
