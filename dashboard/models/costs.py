"""Cost Explorer figures and the per-endpoint attribution built from them. Money is Decimal in the
currency AWS gave; every row says where it came from and whether AWS still calls it estimated."""

from django.db import models

MONEY = {"max_digits": 20, "decimal_places": 10}


class DailyCost(models.Model):
    """Cost Explorer: SageMaker cost per account, region, usage type and day."""

    account = models.ForeignKey("dashboard.AwsAccount", on_delete=models.CASCADE, related_name="daily_costs")
    region = models.CharField(max_length=32)
    usage_type = models.CharField(max_length=200)
    day = models.DateField()
    unblended = models.DecimalField(**MONEY)
    amortized = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    estimated = models.BooleanField(help_text="Cost Explorer still marks the figure as estimated")
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "region", "usage_type", "day"], name="dailycost_identity"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.account_id}/{self.region} {self.usage_type} {self.day}"


class EndpointCost(models.Model):
    """An endpoint's cost for a day from one source. Every available source is kept (the estimate is
    always computed, for reconciliation); pages show the best: resource > tag > estimate."""

    class Source(models.TextChoices):
        RESOURCE = "resource", "Cost Explorer resource data"
        TAG = "tag", "Cost Explorer cost-allocation tag"
        ESTIMATE = "estimate", "estimate from usage x price"

    PREFERENCE = [Source.RESOURCE, Source.TAG, Source.ESTIMATE]

    endpoint = models.ForeignKey("dashboard.Endpoint", on_delete=models.CASCADE, related_name="costs")
    day = models.DateField()
    source = models.CharField(max_length=16, choices=Source.choices)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    estimated = models.BooleanField(help_text="not final: AWS's estimated figure or our own estimate")
    detail = models.JSONField(default=dict, blank=True, help_text="inputs: GB-seconds, hours, price used")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "day", "source"], name="endpointcost_identity")
        ]
        indexes = [models.Index(fields=["day", "source"])]

    def __str__(self):
        return f"{self.endpoint_id} {self.day} {self.source}"


class CostForecast(models.Model):
    """A month's forecast for one scope: Cost Explorer's for accounts, the project's own for teams and
    endpoints (Cost Explorer cannot forecast by tag or resource)."""

    class Scope(models.TextChoices):
        ACCOUNT = "account"
        TEAM = "team"
        ENDPOINT = "endpoint"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    scope_id = models.BigIntegerField(help_text="pk of the account, team or endpoint")
    month = models.DateField(help_text="first day of the month")
    amount = models.DecimalField(**MONEY)
    lower = models.DecimalField(**MONEY, null=True, blank=True)
    upper = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=64, help_text="cost-explorer, or the project's own method")
    daily = models.JSONField(default=list, blank=True, help_text='[["2026-11-21", "12.34"], ...]')
    computed_at = models.DateTimeField()
    # Cost Explorer forecasts only: the month's actual cost so far that its remainder was added to, and
    # when Cost Explorer was asked (once a day per account; later runs that day add the same remainder
    # to the new month so far).
    month_to_date = models.DecimalField(**MONEY, null=True, blank=True)
    asked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "scope_id", "month"], name="forecast_identity")
        ]

    def __str__(self):
        return f"{self.scope}:{self.scope_id} {self.month:%Y-%m}"
