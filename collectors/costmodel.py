"""Plain data for costs: what Cost Explorer answers, what attribution is fed, and what it produces.

Nothing here imports boto3 or Django. Money is always `decimal.Decimal`, in the currency AWS gave (a
Cost Explorer `Unit` such as "USD") or, for our own estimates, the price list's currency. Days are UTC
calendar days, as Cost Explorer reports them; a period's `end` is exclusive, as in Cost Explorer.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

RESOURCE = "resource"  # GetCostAndUsageWithResources, matched by endpoint ARN
TAG = "tag"  # a cost-allocation tag whose value names the endpoint
ESTIMATE = "estimate"  # usage x price, computed by us
SOURCES = (RESOURCE, TAG, ESTIMATE)  # in order of preference


# --- what Cost Explorer answers ----------------------------------------------------------------------
@dataclass(frozen=True)
class CostRow:
    """One usage type's SageMaker cost in one account, region and day (GetCostAndUsage)."""

    account_id: str
    region: str
    usage_type: str  # e.g. "USE1-ServerlessInf:Mem-3GB", "USE1-Host:ml.g5.xlarge"
    day: date
    unblended: Decimal  # may be negative: refunds and credits are real
    amortized: Decimal
    currency: str
    estimated: bool  # Cost Explorer's `Estimated`: the figure may still change


@dataclass(frozen=True)
class ResourceCostRow:
    """One resource's SageMaker cost on one day (GetCostAndUsageWithResources, last 14 days only)."""

    account_id: str
    resource_arn: str
    day: date
    unblended: Decimal
    currency: str
    estimated: bool


@dataclass(frozen=True)
class TagCostRow:
    """SageMaker cost of one value of a cost-allocation tag on one day. `tag_value` "" = untagged."""

    account_id: str
    tag_key: str
    tag_value: str
    day: date
    unblended: Decimal
    currency: str
    estimated: bool

    @property
    def untagged(self) -> bool:
        return self.tag_value == ""


@dataclass(frozen=True)
class Forecast:
    """Cost Explorer's forecast of [start, end): `amount` is the forecast of those days only (add the
    month's actual cost so far for a month total). `lower` / `upper` are the sums of the daily
    prediction-interval bounds: wider than the interval of the total, so a conservative band."""

    account_id: str
    start: date
    end: date  # exclusive
    amount: Decimal
    lower: Decimal | None
    upper: Decimal | None
    currency: str
    daily: list[tuple[date, Decimal]] = field(default_factory=list)


# --- what attribution is fed -------------------------------------------------------------------------
@dataclass(frozen=True)
class EndpointRef:
    """An endpoint as attribution needs it. `key` is opaque (the database id) and is carried through."""

    key: Hashable
    account_id: str
    region: str
    name: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class VariantUsage:
    """One production variant's usage on one day, from CloudWatch and the inventory.

    - serverless: `invocations` (Invocations Sum), `avg_model_latency_ms` (ModelLatency Average, which
      CloudWatch gives in microseconds: divide by 1000), `memory_mb`; with provisioned concurrency also
      `provisioned_concurrency` and `provisioned_invocations` (ServerlessProvisionedConcurrencyInvocations
      Sum: the invocations served warm by it).
    - instance: `instance_type`, `instance_count`.
    - both: `seconds_up`, the seconds of the day the endpoint existed (86400 for a whole day).
    """

    variant: str
    kind: str  # "serverless" | "instance"
    seconds_up: int = 86400
    memory_mb: int | None = None
    invocations: int = 0
    avg_model_latency_ms: Decimal | float = Decimal(0)
    provisioned_concurrency: int | None = None
    provisioned_invocations: int = 0
    instance_type: str | None = None
    instance_count: int | Decimal = 0


@dataclass(frozen=True)
class Prices:
    """The price list (collectors/data/prices.json, or the instance catalogue), as Decimals."""

    currency: str
    serverless_gb_second: Decimal  # on-demand serverless compute
    provisioned_gb_second: Decimal  # provisioned concurrency capacity, billed while provisioned
    provisioned_invocation_gb_second: Decimal  # compute served by provisioned capacity
    instance_hourly: dict[str, Decimal] = field(default_factory=dict)


# --- what attribution produces -----------------------------------------------------------------------
@dataclass(frozen=True)
class EndpointCost:
    """An endpoint's cost on one day and where the figure came from (`source` in SOURCES).

    `estimated` is True when AWS still calls the figure estimated, and always for our own estimates.
    `detail` is JSON-ready (Decimals as strings): the ARN or tag matched, or the estimate's inputs."""

    endpoint_key: Hashable
    day: date
    amount: Decimal
    currency: str
    source: str
    estimated: bool
    detail: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class CostGap:
    """An endpoint-day no source could price, and why (no billed row and e.g. an unknown instance type)."""

    endpoint_key: Hashable
    day: date
    reason: str


@dataclass
class Attribution:
    costs: list[EndpointCost] = field(default_factory=list)
    gaps: list[CostGap] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryForecast:
    """A month forecast from the project's own daily history (see attribution.forecast_from_history).

    When history is too short, `month_total` is None and `reason` says why."""

    month_total: Decimal | None
    month_to_date: Decimal
    daily: list[tuple[date, Decimal]]  # the forecast days, each at `daily_rate`
    daily_rate: Decimal | None
    history_days: int
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.month_total is not None


@dataclass(frozen=True)
class Reconciliation:
    """Our estimate against the billed figure for one endpoint-day. `ratio` = estimate / billed (None
    when billed is 0); `flagged` when |ratio - 1| > tolerance, or billed is 0 and the estimate is not."""

    endpoint_key: Hashable
    day: date
    estimate: Decimal
    billed: Decimal
    difference: Decimal  # estimate - billed
    ratio: Decimal | None
    currency: str
    billed_source: str
    flagged: bool
