"""The weekly FinOps review's outbox: one row per ISO week, scope (a team or the whole fleet), channel
kind and recipient, written before anything is sent (dashboard/reports/delivery.py).

The unique constraint is what makes the review go out once a week: a run of the weekly task (or a
retry, or a second worker) inserts the rows it would send and ignores the ones already there, then
claims each pending row with a conditional update before sending it."""

from __future__ import annotations

from django.db import models

FLEET = "fleet"


def scope_key(team) -> str:
    """The scope as it is kept in the unique constraint: stable when the team is renamed or deleted."""
    return FLEET if team is None else f"team:{team.pk}"


class ReportDelivery(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    week = models.CharField(max_length=8, help_text="ISO week label, e.g. 2026-W47")
    scope = models.CharField(max_length=40, help_text='"fleet" or "team:<pk>"')
    scope_label = models.CharField(max_length=100, help_text="the team's name when sent (or Whole fleet)")
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="report_deliveries"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    recipient = models.CharField(max_length=254, help_text="an email address, or the Slack channel's id")
    channel = models.ForeignKey(
        "dashboard.NotificationChannel", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="report_deliveries", help_text="the Slack channel posted to (email rows: none)",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, help_text="token of the worker sending it")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-week", "scope", "kind", "recipient"]
        constraints = [
            models.UniqueConstraint(
                fields=["week", "scope", "kind", "recipient"], name="report_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["status", "week"])]

    def __str__(self):
        return f"{self.week} {self.scope_label} -> {self.kind}:{self.recipient} ({self.status})"
