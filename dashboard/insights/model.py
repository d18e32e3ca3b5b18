"""Plain data for the insights engine: what the rules read (evidence) and what they produce (findings).

Nothing here imports Django: the loader (insights/evidence.py) turns stored rows into these dataclasses,
the rules (insights/rules/) are pure functions of them, and the engine (insights/engine.py) stores the
findings as `Recommendation` rows. Money is `Decimal` in the price list's currency; utilisations are
percent of capacity (CPU / GPU already normalised per vCPU / GPU by the collectors); latencies are ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

HOURS_PER_MONTH = Decimal(730)  # AWS's own convention for monthly prices (8,760 h / 12)
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

# Rule keys (also Recommendation.rule)
MEMORY_OVER = "serverless-memory-over"
MEMORY_UNDER = "serverless-memory-under"
GPU_RIGHTSIZE = "gpu-rightsize"
IDLE_ENDPOINT = "idle-endpoint"
IDLE_PROVISIONED = "idle-provisioned-concurrency"
COLD_STARTS = "cold-starts"
PC_UNUSED = "provisioned-concurrency-unused"
THROTTLING = "throttling"
BREAK_EVEN = "hosting-break-even"
QUOTA = "quota-headroom"

RULES = {
    MEMORY_OVER: "Serverless memory over-provisioned",
    MEMORY_UNDER: "Serverless memory under-provisioned",
    GPU_RIGHTSIZE: "GPU instance over-provisioned",
    IDLE_ENDPOINT: "Idle endpoint",
    IDLE_PROVISIONED: "Provisioned concurrency nobody calls",
    COLD_STARTS: "Cold starts hurt latency",
    PC_UNUSED: "Provisioned concurrency unused",
    THROTTLING: "Throttling at MaxConcurrency",
    BREAK_EVEN: "Cheaper hosting (serverless vs real-time)",
    QUOTA: "Serverless quota headroom",
}


@dataclass(frozen=True)
class Thresholds:
    """Every threshold a rule uses; built from settings (INSIGHTS_*) by `Thresholds.from_settings()`."""

    window_days: int = 14
    min_data_hours: int = 72  # hours with data before any verdict
    memory_headroom: float = 0.30  # keep peak x (1 + headroom) under the new size
    memory_under_pct: float = 95.0  # peak memory at or above: under-provisioned
    gpu_headroom: float = 0.30
    gpu_cross_family_max_util: float = 40.0  # peak GPU % under which another accelerator family is proposed
    idle_days: int = 7
    cold_start_rate: float = 0.05  # cold starts / invocations above which they "hurt"
    cold_start_min_added_ms: float = 50.0  # and the average latency they add per request
    cold_start_min_count: int = 20  # fewer cold starts in the window: no verdict
    pc_unused_utilisation: float = 0.20  # provisioned-concurrency utilisation peak under which it sits unused
    pc_spillover_rate: float = 0.01  # spillover / invocations under which nothing needs it
    throttle_utilisation: float = 0.98  # concurrent-executions utilisation counted as "at the limit"
    throttle_4xx_lift: float = 2.0  # 4XX rate when saturated / 4XX rate otherwise
    throttle_min_saturated_hours: int = 3
    latency_target_ms: float = 1000.0  # p99 ModelLatency a change must not push past (tag overrides)
    latency_target_tag: str = "latency-target-ms"
    fresh_hours: int = 24  # metrics older than this at the window's end: no verdict from any rule
    cold_error_lift: float = 3.0  # 5XX rate in hours with cold starts / in the others: memory too small
    cold_error_min: int = 5  # and at least this many such errors
    throttle_absolute_4xx_rate: float = 0.01  # saturated 4XX rate that counts when there is no baseline
    concurrency_margin: float = 1.3  # on top of the demand seen at saturation (measured while capped)
    cross_family_confidence: float = 0.6  # another accelerator: throughput is a guess until benchmarked
    min_monthly_saving: Decimal = Decimal("1")  # smaller savings are not worth a change
    break_even_min_saving_fraction: float = 0.20  # migrating hosting is work: only for a clear win
    min_instances: int = 2  # real-time alternative: instances for availability
    concurrency_per_vcpu: float = 1.0  # real-time alternative: concurrent requests one vCPU serves
    serverless_endpoint_quota: int = 50
    serverless_concurrency_quota: int = 200
    quota_warn_fraction: float = 0.80

    @classmethod
    def from_settings(cls) -> Thresholds:
        from django.conf import settings

        return cls(**settings.INSIGHTS)


@dataclass(frozen=True)
class UtilStats:
    """One utilisation over the window, from hourly rollups of the per-minute Maximum: `peak` is the
    highest value, `p99` the 99th percentile of the hourly peaks, `hours` how many hours had data."""

    peak: float | None = None
    p99: float | None = None
    hours: int = 0


@dataclass(frozen=True)
class HourProfile:
    """Totals for one hour of the day (UTC) over the window."""

    hour: int
    invocations: float = 0.0
    cold_starts: float = 0.0
    cold_start_ms: float = 0.0  # total setup time of those cold starts

    @property
    def cold_start_rate(self) -> float | None:
        return self.cold_starts / self.invocations if self.invocations else None


@dataclass(frozen=True)
class InstanceShape:
    """A row of the instance catalogue. `hourly` None: price unknown (no saving can be computed)."""

    name: str
    vcpus: int | None
    memory_gib: float | None
    gpu_count: int
    gpu_memory_gib: float
    accelerator: str
    hourly: Decimal | None
    currency: str = "USD"

    @property
    def has_gpu(self) -> bool:
        return self.gpu_count > 0

    @property
    def cpu_only(self) -> bool:
        """No GPU and no other accelerator (Inferentia, ...): a model that could run serverless."""
        return self.gpu_count == 0 and not self.accelerator


@dataclass(frozen=True)
class Prices:
    """Serverless prices per GB-second and the instance catalogue, as Decimals."""

    currency: str
    serverless_gb_second: Decimal
    provisioned_gb_second: Decimal  # provisioned concurrency, billed while provisioned
    provisioned_invocation_gb_second: Decimal  # compute served by provisioned capacity
    memory_tiers_mb: tuple[int, ...]
    instances: dict[str, InstanceShape] = field(default_factory=dict)


@dataclass
class VariantEvidence:
    """Everything the rules know about one production variant over the window [start, end)."""

    endpoint_id: int
    endpoint_name: str
    account_id: str
    region: str
    team_id: int | None
    variant: str
    kind: str  # "serverless" | "instance"
    start: datetime
    end: datetime
    tags: dict[str, str] = field(default_factory=dict)
    endpoint_created_at: datetime | None = None
    variant_first_seen: datetime | None = None
    variants_on_endpoint: int = 1
    # serverless shape
    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None
    # instance shape
    instance: InstanceShape | None = None
    instance_count: int | None = None
    # traffic over the window
    hours_with_data: int = 0  # hours with an Invocations data point (0 invocations count: it was published)
    invocations: float = 0.0
    errors_4xx: float = 0.0
    errors_5xx: float = 0.0
    compute_seconds: float = 0.0  # sum over hours of invocations x average ModelLatency: billed duration
    latency_avg_ms: float | None = None  # invocation-weighted hourly values
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    # utilisation (percent; concurrency and provisioned-concurrency utilisation as 0-1 ratios)
    memory: UtilStats = field(default_factory=UtilStats)
    cpu: UtilStats = field(default_factory=UtilStats)
    gpu: UtilStats = field(default_factory=UtilStats)
    gpu_memory: UtilStats = field(default_factory=UtilStats)
    concurrency: UtilStats = field(default_factory=UtilStats)
    pc_utilisation: UtilStats = field(default_factory=UtilStats)
    pc_invocations: float = 0.0
    pc_spillover: float = 0.0
    # cold starts
    cold_starts: float = 0.0
    cold_start_ms_total: float = 0.0
    cold_start_errors_5xx: float = 0.0  # 5XX in hours that had cold starts
    invocations_cold_hours: float = 0.0  # invocations in hours that had cold starts
    by_hour: list[HourProfile] = field(default_factory=list)  # 24 entries, hour 0..23 UTC
    # throttling: hours whose concurrency utilisation reached Thresholds.throttle_utilisation
    saturated_hours: int = 0
    invocations_saturated: float = 0.0
    errors_4xx_saturated: float = 0.0
    # activity and freshness
    last_invocation_at: datetime | None = None
    collected_from: datetime | None = None  # metrics are stored from here: no call before it is known
    shape_since: datetime | None = None  # evidence starts here: the first hour after the last shape change
    collected_until: datetime | None = None
    # what the endpoint was billed (best source per day) over the window and since it went idle
    billed_window: Decimal | None = None
    billed_since_idle: Decimal | None = None
    billed_currency: str = ""
    billed_sources: tuple[str, ...] = ()

    @property
    def window_hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def observed_seconds(self) -> float:
        """The part of the window whose metrics we hold and the endpoint existed in: usage totals are
        scaled to a month over this span, so six hours of data (or an endpoint created mid-window) is
        not spread over fourteen days, which would understate every monthly figure."""
        known = (self.start, self.collected_from, self.endpoint_created_at, self.shape_since)
        start = max(d for d in known if d is not None)
        end = min(self.end, self.collected_until) if self.collected_until is not None else self.end
        return max(0.0, (end - start).total_seconds())

    @property
    def coverage(self) -> float:
        """Share of the window's hours that had data, 0-1."""
        return min(1.0, self.hours_with_data / self.window_hours) if self.window_hours else 0.0

    @property
    def shape_key(self) -> str:
        """The current configuration, as part of a recommendation's identity: once the shape changes, a
        dismissal made for the old shape no longer hides a finding about the new one."""
        if self.kind == "serverless":
            return f"{self.memory_mb}mb-max{self.max_concurrency}-pc{self.provisioned_concurrency or 0}"
        return f"{self.instance.name if self.instance else '?'}x{self.instance_count}"


@dataclass(frozen=True)
class QuotaEvidence:
    """Serverless usage of one account and region against its quotas."""

    account_id: str
    region: str
    serverless_endpoints: int
    sum_max_concurrency: int
    sum_provisioned_concurrency: int
    endpoint_quota: int
    concurrency_quota: int
    largest: tuple[tuple[str, int], ...] = ()  # (endpoint name, MaxConcurrency), largest first, top 5


@dataclass
class Finding:
    """What a rule concluded about one variant (or one account and region, for quotas)."""

    rule: str
    title: str  # one line, e.g. "Lower memory from 6 GB to 2 GB"
    summary: str  # one or two sentences with the figures that justify it
    target: str  # stable part of the identity: "<endpoint id>/<variant>/<shape>" or "<account>/<region>"
    current: dict  # JSON-ready description of the current configuration
    proposed: dict  # JSON-ready proposed configuration
    evidence: dict  # JSON-ready figures and window the rule used (Decimals as strings)
    monthly_saving: Decimal | None  # positive: saves money; negative: costs more (e.g. add capacity)
    currency: str
    confidence: float  # 0-1, drops with little data or a cross-family guess
    endpoint_id: int | None = None
    variant: str = ""
    account_id: str = ""
    region: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.target}"


def _aspect(ev: VariantEvidence, rule: str | None) -> str:
    """The part of the configuration a rule is about. A recommendation's identity holds that part only,
    so a change the rule is about gives it a new identity (a dismissal of "lower 6 GB to 2 GB" does not
    hide a later finding about 4 GB), while unrelated changes (autoscaling moving the instance count,
    MaxConcurrency for a memory finding) keep it, with its status."""
    instance = ev.instance.name if ev.instance else "?"
    aspects = {
        MEMORY_OVER: f"{ev.memory_mb}mb",
        MEMORY_UNDER: f"{ev.memory_mb}mb",
        COLD_STARTS: f"pc{ev.provisioned_concurrency or 0}",
        PC_UNUSED: f"pc{ev.provisioned_concurrency or 0}",
        IDLE_PROVISIONED: f"pc{ev.provisioned_concurrency or 0}",
        THROTTLING: f"max{ev.max_concurrency}",
        GPU_RIGHTSIZE: instance,
        IDLE_ENDPOINT: instance if ev.kind == "instance" else "serverless",
        BREAK_EVEN: instance if ev.kind == "instance" else "serverless",
    }
    return aspects.get(rule, ev.shape_key)


def variant_target(ev: VariantEvidence, rule: str | None = None) -> str:
    return f"{ev.endpoint_id}/{ev.variant}/{_aspect(ev, rule)}"


def confidence_label(confidence: float) -> str:
    return "high" if confidence >= 0.75 else "medium" if confidence >= 0.4 else "low"
