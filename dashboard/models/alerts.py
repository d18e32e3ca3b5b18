"""Budgets and alerts: rules, the channels they notify, the alerts raised and the outbox of deliveries.

Detection and delivery are two steps with a table between them (see dashboard/alerts/):
- evaluation writes `Alert` rows, one per rule, scope, threshold and period (a unique constraint), and
  queues one `Notification` per channel and event (raised, recovered) in the same transaction;
- delivery claims a pending `Notification` with a conditional update, sends it through the channel's
  transport and records every `DeliveryAttempt`, so a failed send is retried and never lost, and a
  duplicated task never sends twice.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models

from dashboard import crypto

MONEY = {"max_digits": 20, "decimal_places": 10}
PERCENT = {"max_digits": 8, "decimal_places": 2}
DEFAULT_THRESHOLD = Decimal("150")


def default_thresholds() -> list[Decimal]:
    return [DEFAULT_THRESHOLD]


class NotificationChannel(models.Model):
    """Where alerts go. A team's channels receive every alert about the team and its endpoints; a
    channel without a team (FinOps) receives every alert without a team (account and fleet scopes: the
    owners of an account's spend are FinOps) and the alerts of the rules that name it."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="channels"
    )
    email_to = ArrayField(models.EmailField(), default=list, blank=True, help_text="email recipients")
    secret = models.TextField(blank=True, editable=False, help_text="Fernet token of the Slack webhook URL")
    secret_hint = models.CharField(max_length=80, blank=True, editable=False, help_text="host and last 4")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True, help_text="why delivery disabled the channel")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    def set_webhook_url(self, url: str) -> None:
        """Store a Slack webhook URL encrypted, keeping only a hint (host and last 4 characters)."""
        from urllib.parse import urlsplit

        self.secret = crypto.encrypt(url)
        self.secret_hint = f"{urlsplit(url).hostname}/…{url[-4:]}"

    @property
    def webhook_url(self) -> str:
        return crypto.decrypt(self.secret) if self.secret else ""

    @property
    def target_label(self) -> str:
        return ", ".join(self.email_to) if self.kind == self.Kind.EMAIL else self.secret_hint


class BudgetRule(models.Model):
    """Compare a scope's spend with its forecast (or a fixed budget) each period.

    The target is one account, team or endpoint, or "each" of them when left empty: scope=endpoint with
    a team and no endpoint means each endpoint of that team; with neither, each endpoint of the fleet."""

    class Scope(models.TextChoices):
        FLEET = "fleet", "Whole fleet"
        ACCOUNT = "account", "Account"
        TEAM = "team", "Team"
        ENDPOINT = "endpoint", "Endpoint"

    class Basis(models.TextChoices):
        FORECAST = "forecast", "Forecast"
        FIXED = "fixed", "Fixed budget"

    class Period(models.TextChoices):
        MONTH = "month", "Calendar month"
        WEEK = "week", "ISO week"

    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=16, choices=Scope.choices)
    account = models.ForeignKey("dashboard.AwsAccount", null=True, blank=True, on_delete=models.CASCADE)
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="budget_rules",
        help_text="the team scoped, or whose endpoints are scoped; also who may see and edit the rule",
    )  # fmt: skip
    endpoint = models.ForeignKey("dashboard.Endpoint", null=True, blank=True, on_delete=models.CASCADE)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.FORECAST)
    amount = models.DecimalField(**MONEY, null=True, blank=True, help_text="fixed budget per period")
    currency = models.CharField(max_length=3, default="USD")
    thresholds = ArrayField(
        models.DecimalField(**PERCENT), default=default_thresholds, help_text="percent of the forecast"
    )
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    channels = models.ManyToManyField(NotificationChannel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.basis == self.Basis.FIXED and (self.amount is None or self.amount <= 0):
            errors["amount"] = "a fixed budget needs a positive amount per period"
        if self.basis == self.Basis.FORECAST and self.amount is not None:
            errors["amount"] = "an amount is only used by a fixed budget"
        if not self.thresholds:
            errors["thresholds"] = "at least one threshold"
        elif any(t <= 0 for t in self.thresholds):
            errors["thresholds"] = "thresholds are positive percentages, e.g. 150"
        if self.scope == self.Scope.FLEET and (self.account_id or self.team_id or self.endpoint_id):
            errors["scope"] = "a whole-fleet rule names no account, team or endpoint"
        if self.scope == self.Scope.ACCOUNT and (self.team_id or self.endpoint_id):
            errors["scope"] = "an account rule names an account (or none for each account)"
        if self.scope == self.Scope.TEAM and (self.account_id or self.endpoint_id):
            errors["scope"] = "a team rule names a team (or none for each team)"
        if self.scope == self.Scope.ENDPOINT and self.account_id:
            errors["scope"] = "an endpoint rule names an endpoint or a team (each of its endpoints)"
        if self.endpoint_id and self.team_id and self.endpoint.team_id != self.team_id:
            errors["endpoint"] = "the endpoint does not belong to the rule's team"
        if errors:
            raise ValidationError(errors)

    @property
    def target_label(self) -> str:
        if self.scope == self.Scope.FLEET:
            return "whole fleet"
        target = self.endpoint or self.account or (self.team if self.scope == self.Scope.TEAM else None)
        if target is not None:
            return f"{self.get_scope_display().lower()} {target}"
        within = f" of team {self.team}" if self.team_id else ""
        return f"each {self.scope}{within}"


class Alert(models.Model):
    """One rule, scope, threshold and period: raised once, recovered at most once (a scope that crosses
    again after recovering in the same period is marked firing again without a second message).

    `figures` holds the latest evaluation (all money as strings of Decimals, in `currency`):
    actual, expected, ratio (percent, to date); projected, period_forecast, projected_ratio; crossed
    ("actual", "projected" or both); estimated (the part of actual estimated from CloudWatch usage x
    price) and estimated_from (first such day); basis_label; as_of; contributors: up to 5 endpoints
    {endpoint_id, name, account, region, actual, expected, overshoot, cause, cause_detail}, cause being
    "traffic", "capacity", "new" or "other"."""

    class State(models.TextChoices):
        FIRING = "firing"
        RECOVERED = "recovered"
        ENDED = "ended", "period ended while firing"

    rule = models.ForeignKey(BudgetRule, null=True, on_delete=models.SET_NULL, related_name="alerts")
    rule_name = models.CharField(max_length=120)
    scope = models.CharField(max_length=16, choices=BudgetRule.Scope.choices)
    scope_id = models.BigIntegerField(help_text="pk of the account, team or endpoint; 0 for the fleet")
    scope_label = models.CharField(max_length=300)
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    endpoint = models.ForeignKey(
        "dashboard.Endpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    account = models.ForeignKey(
        "dashboard.AwsAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    threshold = models.DecimalField(**PERCENT)
    period_start = models.DateField()
    period_end = models.DateField(help_text="exclusive")
    state = models.CharField(max_length=16, choices=State.choices, default=State.FIRING)
    raised_at = models.DateTimeField()
    recovered_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    ratio = models.DecimalField(**PERCENT, help_text="the larger of actual and projected, percent")
    peak_ratio = models.DecimalField(**PERCENT)
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "scope", "scope_id", "threshold", "period_start"], name="alert_once"
            )
        ]
        indexes = [models.Index(fields=["state", "raised_at"])]

    def __str__(self):
        return f"{self.scope_label} > {self.threshold}% ({self.period_start})"


class Notification(models.Model):
    """The outbox: one message to one channel about one alert event (or a test message)."""

    class Event(models.TextChoices):
        RAISED = "raised"
        RECOVERED = "recovered"
        TEST = "test"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=16, choices=Event.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.UUIDField(null=True, blank=True, help_text="token of the worker sending it")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "event"],
                condition=models.Q(alert__isnull=False),
                name="notification_once",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.event} -> {self.channel} ({self.status})"


class DeliveryAttempt(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    permanent = models.BooleanField(default=False, help_text="the error will not go away by retrying")
    error = models.TextField(blank=True)
    status_code = models.IntegerField(null=True, blank=True, help_text="HTTP or SMTP reply code")

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.notification_id} @ {self.started_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'error'}"


class ForecastBaseline(models.Model):
    """An account's Cost Explorer forecast for a period, frozen the first time the period is evaluated
    (the expected daily spend then): Cost Explorer's later forecasts learn from the overspend itself,
    so comparing with them would hide a runaway. Teams and endpoints need no frozen row: their rate is
    recomputed from the stored costs before the period start (dashboard/alerts/evaluate.py)."""

    scope = models.CharField(max_length=16, choices=BudgetRule.Scope.choices)
    scope_id = models.BigIntegerField()
    period = models.CharField(max_length=8, choices=BudgetRule.Period.choices)
    period_start = models.DateField()
    daily_rate = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=64, help_text="the forecast it came from")
    history_from = models.DateField(help_text="first day of cost history the scope had")
    made_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "scope_id", "period", "period_start"], name="baseline_identity"
            )
        ]

    def __str__(self):
        return f"{self.scope}:{self.scope_id} {self.period} {self.period_start}"
