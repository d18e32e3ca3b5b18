"""The SageMaker endpoint metrics this project collects, as data: what to ask CloudWatch, and in which
unit to store the answer.

Planning, batching, parsing and storage read this table; adding a metric is one line here. Units:
latencies are published in microseconds and stored in milliseconds; CPUUtilization is published as
0-100 x vCPUs and GPUUtilization / GPUMemoryUtilization as 0-100 x GPUs, stored normalised to 0-100.
`convert` is the one place those conversions happen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from collectors.model import INSTANCE, SERVERLESS, VariantRef

NS_SAGEMAKER = "AWS/SageMaker"
NS_ENDPOINTS = "/aws/sagemaker/Endpoints"

BOTH = frozenset({SERVERLESS, INSTANCE})
_SLS = frozenset({SERVERLESS})
_INST = frozenset({INSTANCE})

# What the published unit becomes when stored (None: stored as published).
_SCALE = {("Microseconds", "ms"): 1000.0}


@dataclass(frozen=True)
class MetricSpec:
    key: str  # catalogue key, also MetricQuery.metric
    namespace: str
    name: str  # CloudWatch MetricName
    stats: tuple[str, ...]
    cw_unit: str  # as CloudWatch publishes it (never sent as a query Unit: a wrong Unit returns nothing)
    stored_unit: str
    kinds: frozenset
    normalise: str | None = None  # None | "vcpus" | "gpus"
    needs_provisioned_concurrency: bool = False
    description: str = ""

    def publishes(self, variant: VariantRef) -> bool:
        """Whether CloudWatch has this metric for the variant at all (a query for it would be paid for
        and come back empty)."""
        if variant.kind not in self.kinds:
            return False
        if self.needs_provisioned_concurrency and not variant.provisioned_concurrency:
            return False
        if self.normalise == "gpus":
            # No GPUs, or a GPU count we do not know: nothing we could store (or normalise).
            return (variant.gpu_count or 0) > 0
        return True

    def unit_for(self, stat: str) -> str:
        """SampleCount counts data points whatever the metric's unit (for ModelSetupTime: cold starts)."""
        return "count" if stat == "SampleCount" else self.stored_unit


def _m(key, namespace, stats, cw_unit, stored_unit, kinds, description, **extra) -> MetricSpec:
    return MetricSpec(
        key, namespace, key, tuple(stats), cw_unit, stored_unit, kinds, description=description, **extra
    )


_LATENCY_STATS = ("Average", "p50", "p90", "p95", "p99", "Maximum")
_UTIL_STATS = ("Average", "Maximum")

METRICS: tuple[MetricSpec, ...] = (
    _m("Invocations", NS_SAGEMAKER, ["Sum"], "Count", "count", BOTH, "Requests sent to the variant"),
    _m("Invocation4XXErrors", NS_SAGEMAKER, ["Sum"], "Count", "count", BOTH,
       "Requests answered 4XX, throttled calls (429) included"),
    _m("Invocation5XXErrors", NS_SAGEMAKER, ["Sum"], "Count", "count", BOTH, "Requests answered 5XX"),
    _m("InvocationModelErrors", NS_SAGEMAKER, ["Sum"], "Count", "count", _INST,
       "Requests whose model container answered an error"),
    _m("ModelLatency", NS_SAGEMAKER, _LATENCY_STATS, "Microseconds", "ms", BOTH,
       "Time the model container took to answer"),
    _m("OverheadLatency", NS_SAGEMAKER, ("Average", "p95", "p99"), "Microseconds", "ms", BOTH,
       "SageMaker's own overhead; on serverless it includes cold-start time"),
    _m("ModelSetupTime", NS_SAGEMAKER, ("SampleCount", "Average", "Maximum"), "Microseconds", "ms", _SLS,
       "Cold starts: SampleCount = number of cold starts, Average / Maximum = their duration"),
    _m("ServerlessConcurrentExecutionsUtilization", NS_SAGEMAKER, ["Maximum"], "None", "ratio", _SLS,
       "Concurrent executions / MaxConcurrency; at 1.0 further calls are throttled"),
    _m("ServerlessProvisionedConcurrencyExecutions", NS_SAGEMAKER, ["Maximum"], "Count", "count", _SLS,
       "Concurrent executions served by provisioned concurrency", needs_provisioned_concurrency=True),
    _m("ServerlessProvisionedConcurrencyUtilization", NS_SAGEMAKER, _UTIL_STATS, "None", "ratio", _SLS,
       "Provisioned-concurrency executions / ProvisionedConcurrency",
       needs_provisioned_concurrency=True),
    _m("ServerlessProvisionedConcurrencyInvocations", NS_SAGEMAKER, ["Sum"], "Count", "count", _SLS,
       "Invocations served warm by provisioned concurrency", needs_provisioned_concurrency=True),
    _m("ServerlessProvisionedConcurrencySpilloverInvocations", NS_SAGEMAKER, ["Sum"], "Count", "count", _SLS,
       "Invocations beyond provisioned concurrency, served on demand (may cold-start)",
       needs_provisioned_concurrency=True),
    _m("InvocationsPerInstance", NS_SAGEMAKER, ["Sum"], "Count", "count", _INST,
       "Invocations divided by the instance count"),
    _m("ConcurrentRequestsPerModel", NS_SAGEMAKER, ["Maximum"], "Count", "count", _INST,
       "Concurrent requests each model copy handles"),
    _m("MemoryUtilization", NS_ENDPOINTS, _UTIL_STATS, "Percent", "percent", BOTH,
       "Container memory in use, 0-100 (of MemorySizeInMB on serverless)"),
    _m("CPUUtilization", NS_ENDPOINTS, _UTIL_STATS, "Percent", "percent", _INST,
       "CPU busy, normalised from 0-100 x vCPUs to 0-100", normalise="vcpus"),
    _m("GPUUtilization", NS_ENDPOINTS, _UTIL_STATS, "Percent", "percent", _INST,
       "GPU busy, normalised from 0-100 x GPUs to 0-100", normalise="gpus"),
    _m("GPUMemoryUtilization", NS_ENDPOINTS, _UTIL_STATS, "Percent", "percent", _INST,
       "GPU memory in use, normalised from 0-100 x GPUs to 0-100", normalise="gpus"),
    _m("DiskUtilization", NS_ENDPOINTS, _UTIL_STATS, "Percent", "percent", _INST,
       "Instance storage in use, 0-100"),
)  # fmt: skip

_BY_KEY = {m.key: m for m in METRICS}


def spec(key: str) -> MetricSpec:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no metric {key!r} in the catalogue; known: {', '.join(_BY_KEY)}") from None


def specs_for(variant: VariantRef) -> list[tuple[MetricSpec, str]]:
    """Every (metric, statistic) the variant publishes, in catalogue order."""
    return [(m, stat) for m in METRICS if m.publishes(variant) for stat in m.stats]


def _divisor(spec: MetricSpec, variant: VariantRef) -> int | None:
    count = {"vcpus": variant.vcpus, "gpus": variant.gpu_count}[spec.normalise]
    return count if count and count > 0 else None


def convert(spec: MetricSpec, variant: VariantRef, raw: float, stat: str | None = None) -> float | None:
    """`raw` as CloudWatch published it -> the stored unit, or None when the stored value is unknown:
    not a finite number, or a per-vCPU / per-GPU normalisation whose count is unknown or 0 (a value
    divided by a guessed count would be invented). `stat` matters only for SampleCount, a count of data
    points that is never scaled."""
    if raw is None or isinstance(raw, bool):
        return None
    value = float(raw)
    if not math.isfinite(value):
        return None
    if stat == "SampleCount":
        return value
    scale = _SCALE.get((spec.cw_unit, spec.stored_unit))
    if scale is not None:
        value = value / scale
    if spec.normalise:
        divisor = _divisor(spec, variant)
        if divisor is None:
            return None
        value = value / divisor
    return value


def why_unconverted(spec: MetricSpec, variant: VariantRef, raw: float) -> str:
    """Why `convert` gave None for this value: for the messages kept with a series."""
    if raw is None or isinstance(raw, bool) or not math.isfinite(float(raw)):
        return "not a finite number"
    if spec.normalise and _divisor(spec, variant) is None:
        count = "vCPU" if spec.normalise == "vcpus" else "GPU"
        return f"the variant's {count} count is unknown, so {spec.name} cannot be normalised"
    return "not convertible"
