"""Plain data at the boundary: what AWS answers becomes these, and nothing here imports boto3 or Django.

Discovery, mapping and (later) batching and attribution are tested on these as plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

SERVERLESS = "serverless"
INSTANCE = "instance"


@dataclass(frozen=True)
class AccountTarget:
    """One AWS account to read: its id, and the role to assume into it (None = ambient credentials)."""

    account_id: str | None
    role_arn: str | None = None
    external_id: str | None = None
    label: str = ""


@dataclass(frozen=True)
class VariantInfo:
    name: str
    kind: str  # SERVERLESS or INSTANCE
    instance_type: str | None = None
    current_instance_count: int | None = None
    desired_instance_count: int | None = None
    memory_mb: int | None = None
    max_concurrency: int | None = None
    provisioned_concurrency: int | None = None

    def shape(self) -> tuple:
        """What a change of configuration means: the fields a person would call the endpoint's shape."""
        return (
            self.kind,
            self.instance_type,
            self.desired_instance_count,
            self.memory_mb,
            self.max_concurrency,
            self.provisioned_concurrency,
        )


@dataclass(frozen=True)
class EndpointInfo:
    account_id: str
    region: str
    name: str
    arn: str
    status: str
    config_name: str
    created_at: datetime | None
    modified_at: datetime | None
    tags: dict[str, str] = field(default_factory=dict)
    variants: tuple[VariantInfo, ...] = ()


@dataclass
class InventorySnapshot:
    """Everything one account and region listed. `complete` is False when listing stopped early:
    then nothing may be marked deleted, because absence from a partial list proves nothing."""

    account_id: str
    region: str
    endpoints: list[EndpointInfo] = field(default_factory=list)
    complete: bool = True
    errors: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)  # listed, then gone before it could be described


# --- CloudWatch metrics ------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantRef:
    """What the metric planner needs to know about one production variant. `key` is opaque to the
    collectors (the database id of the variant) and is carried through to the stored points."""

    key: int
    endpoint_name: str
    variant_name: str
    kind: str  # SERVERLESS or INSTANCE
    vcpus: int | None = None  # for normalising CPUUtilization (0-100 x vCPUs) to 0-100
    gpu_count: int | None = None  # for normalising GPUUtilization / GPUMemoryUtilization
    provisioned_concurrency: bool = False


@dataclass(frozen=True)
class MetricQuery:
    """One GetMetricData query: a metric and statistic of one variant at one period."""

    id: str  # GetMetricData Id: ^[a-z][a-zA-Z0-9_]*$, unique within a call
    variant: VariantRef
    metric: str  # catalogue key, e.g. "ModelLatency"
    stat: str  # "Sum", "Average", "Maximum", "SampleCount", "p99", ...
    period: int  # seconds


@dataclass(frozen=True)
class Window:
    """[start, end) aligned to `period`; every query of one GetMetricData call shares it."""

    start: datetime
    end: datetime
    period: int


@dataclass
class SeriesResult:
    """The answer to one MetricQuery, merged over every page. `values` are in the catalogue's stored unit
    (latency in milliseconds, CPU/GPU normalised per vCPU/GPU to 0-100); `raw` is what CloudWatch said."""

    query: MetricQuery
    timestamps: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    status: str = "Complete"  # last page's StatusCode: Complete, PartialData, Forbidden, InternalError
    messages: list[str] = field(default_factory=list)
