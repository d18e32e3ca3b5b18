"""The CloudWatch metric catalogue of a SageMaker endpoint variant, and period aggregation.

Three families of per-minute data:
- gauge: one value per minute (counts such as Invocations, utilisations). A period's Sum, Average,
  Minimum, Maximum and pNN (nearest rank) are over the minute values; SampleCount = minutes with data.
- latency (ModelLatency, OverheadLatency, in microseconds): each minute is a lognormal with log-location
  mu_m and the variant's sigma, weighted by its invocations. SampleCount = invocations, Average = the
  invocation-weighted mean, pNN = the invocation-weighted nearest-rank quantile of the minutes' own pNN,
  Maximum / Minimum = the extreme minute's 99.95th / 0.05th percentile. So p50 <= p90 <= p99 <= Maximum.
- setup (ModelSetupTime): per minute, cold starts x their mean setup time; SampleCount = cold starts.

Publication: counts and latencies exist only in minutes with invocations (an idle period is a gap, not
zeros); instance hosts publish CPU / memory / disk / GPU every minute; serverless MemoryUtilization and
concurrency utilisation only with invocations; provisioned-concurrency capacity metrics every minute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from statistics import NormalDist

from collectors.simulator.traffic import MINUTES, DayTraffic

NS_INVOCATIONS = "AWS/SageMaker"
NS_HOST = "/aws/sagemaker/Endpoints"
SERVERLESS, INSTANCE = "serverless", "instance"
BOTH = frozenset({SERVERLESS, INSTANCE})
Z_EXTREME = 3.29  # ~ the 99.95th percentile of a standard normal
COUNT_UNITS = frozenset({"Count", "None"})
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100(?:\.0+)?)$")
BASIC_STATS = ("Sum", "Average", "Maximum", "Minimum", "SampleCount")


@dataclass(frozen=True)
class MetricDef:
    namespace: str
    name: str
    units: frozenset[str]
    family: str  # "gauge" | "latency" | "setup"
    kinds: frozenset[str]
    values: Callable | None = None  # gauge: (DayTraffic, variant, lo, hi) -> values of minutes lo..hi-1
    every_minute: frozenset[str] = frozenset()  # kinds that publish every minute, traffic or not
    needs: str | None = None  # "gpu" | "pc"

    def applies(self, variant) -> bool:
        if variant.kind not in self.kinds:
            return False
        if self.needs == "gpu":
            return variant.gpu_count > 0
        if self.needs == "pc":
            return bool(variant.provisioned_concurrency)
        return True


def _per_instance(series_name: str):
    return lambda dt, v, lo, hi: [x / v.instance_count for x in getattr(dt, series_name)[lo:hi]]


def _spillover(dt, v, lo, hi):
    return [a - b for a, b in zip(dt.inv[lo:hi], dt.pc_inv[lo:hi], strict=True)]


def _pc_utilisation(dt, v, lo, hi):
    return [x / v.provisioned_concurrency for x in dt.pc_exec[lo:hi]]


def _attr(name: str):
    return lambda dt, v, lo, hi: getattr(dt, name)[lo:hi]


_SLS, _INST = frozenset({SERVERLESS}), frozenset({INSTANCE})
_CATALOGUE = (
    MetricDef(NS_INVOCATIONS, "Invocations", COUNT_UNITS, "gauge", BOTH, _attr("inv")),
    MetricDef(NS_INVOCATIONS, "Invocation4XXErrors", COUNT_UNITS, "gauge", BOTH, _attr("err4")),
    MetricDef(NS_INVOCATIONS, "Invocation5XXErrors", COUNT_UNITS, "gauge", BOTH, _attr("err5")),
    MetricDef(NS_INVOCATIONS, "InvocationModelErrors", COUNT_UNITS, "gauge", _INST, _attr("errm")),
    MetricDef(NS_INVOCATIONS, "ModelLatency", frozenset({"Microseconds"}), "latency", BOTH),
    MetricDef(NS_INVOCATIONS, "OverheadLatency", frozenset({"Microseconds"}), "latency", BOTH),
    MetricDef(NS_INVOCATIONS, "ModelSetupTime", frozenset({"Microseconds"}), "setup", _SLS),
    MetricDef(NS_INVOCATIONS, "InvocationsPerInstance", COUNT_UNITS, "gauge", _INST, _per_instance("inv")),
    MetricDef(NS_INVOCATIONS, "ConcurrentRequestsPerModel", COUNT_UNITS, "gauge", _INST,
              _per_instance("conc")),
    MetricDef(NS_INVOCATIONS, "ServerlessConcurrentExecutionsUtilization", COUNT_UNITS, "gauge", _SLS,
              _attr("util")),
    MetricDef(NS_INVOCATIONS, "ServerlessProvisionedConcurrencyExecutions", COUNT_UNITS, "gauge", _SLS,
              _attr("pc_exec"), _SLS, "pc"),
    MetricDef(NS_INVOCATIONS, "ServerlessProvisionedConcurrencyUtilization", COUNT_UNITS, "gauge", _SLS,
              _pc_utilisation, _SLS, "pc"),
    MetricDef(NS_INVOCATIONS, "ServerlessProvisionedConcurrencyInvocations", COUNT_UNITS, "gauge", _SLS,
              _attr("pc_inv"), frozenset(), "pc"),
    MetricDef(NS_INVOCATIONS, "ServerlessProvisionedConcurrencySpilloverInvocations", COUNT_UNITS, "gauge",
              _SLS, _spillover, frozenset(), "pc"),
    MetricDef(NS_HOST, "MemoryUtilization", frozenset({"Percent"}), "gauge", BOTH, _attr("mem"), _INST),
    MetricDef(NS_HOST, "CPUUtilization", frozenset({"Percent"}), "gauge", _INST, _attr("cpu"), _INST),
    MetricDef(NS_HOST, "DiskUtilization", frozenset({"Percent"}), "gauge", _INST, _attr("disk"), _INST),
    MetricDef(NS_HOST, "GPUUtilization", frozenset({"Percent"}), "gauge", _INST, _attr("gpu"), _INST, "gpu"),
    MetricDef(NS_HOST, "GPUMemoryUtilization", frozenset({"Percent"}), "gauge", _INST, _attr("gpumem"), _INST,
              "gpu"),
)  # fmt: skip
CATALOGUE = {(m.namespace, m.name): m for m in _CATALOGUE}


def metrics_for(variant) -> list[MetricDef]:
    return [m for m in _CATALOGUE if m.applies(variant)]


def parse_stat(stat: str) -> float | str | None:
    """'Sum' etc. as is, 'p99' -> 99.0; None if the simulator does not model it."""
    if stat in BASIC_STATS:
        return stat
    match = _PERCENTILE.match(stat)
    return float(match.group(1)) if match else None


def _z(q: float) -> float:
    if q >= 99.95:
        return Z_EXTREME
    if q <= 0.05:
        return -Z_EXTREME
    return NormalDist().inv_cdf(q / 100.0)


def _rank(n_or_weight: float, q: float) -> float:
    return q / 100.0 * n_or_weight


def _gauge(values: list[float], stat) -> float:
    if stat == "Sum":
        return float(sum(values))
    if stat == "Average":
        return float(sum(values)) / len(values)
    if stat == "Maximum":
        return float(max(values))
    if stat == "Minimum":
        return float(min(values))
    if stat == "SampleCount":
        return float(len(values))
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(_rank(len(ordered), stat)) - 1)])


def _weighted(pairs: list[tuple[float, int]], stat, transform: Callable[[float, float], float]) -> float:
    """pairs: (location, weight); transform(location, z) -> value of that minute at standard score z."""
    weight = sum(w for _, w in pairs)
    if stat == "SampleCount":
        return float(weight)
    if stat in ("Sum", "Average"):
        total = sum(w * transform(loc, None) for loc, w in pairs)
        return total if stat == "Sum" else total / weight
    if stat == "Maximum":
        return transform(max(loc for loc, _ in pairs), Z_EXTREME)
    if stat == "Minimum":
        return transform(min(loc for loc, _ in pairs), -Z_EXTREME)
    target, running = _rank(weight, stat), 0
    ordered = sorted(pairs)
    for loc, w in ordered:
        running += w
        if running >= target:
            return transform(loc, _z(stat))
    return transform(ordered[-1][0], _z(stat))


def day_chunks(first_minute: int, end_minute: int, day_of: Callable[[int], DayTraffic | None]) -> Iterator:
    """(DayTraffic, lo, hi) per UTC day covering epoch minutes [first_minute, end_minute)."""
    m = first_minute
    while m < end_minute:
        day_index, lo = divmod(m, MINUTES)
        hi = min(MINUTES, lo + (end_minute - m))
        dt = day_of(day_index)
        if dt is not None and hi > dt.start:
            yield dt, max(lo, dt.start), hi
        m += hi - lo


def aggregate(metric: MetricDef, variant, chunks, stat) -> float | None:
    """One period's statistic from its day chunks, or None when no minute in it has data."""
    if metric.family == "gauge":
        values: list[float] = []
        always = variant.kind in metric.every_minute
        for dt, lo, hi in chunks:
            series = metric.values(dt, variant, lo, hi)
            if always:
                values.extend(series)
            else:
                values.extend(x for x, n in zip(series, dt.inv[lo:hi], strict=True) if n > 0)
        return _gauge(values, stat) if values else None
    if metric.family == "latency":
        pairs: list[tuple[float, int]] = []
        sigma = None
        for dt, lo, hi in chunks:
            locs = dt.lat_mu if metric.name == "ModelLatency" else dt.ovh_mu
            sigma = dt.lat_sigma if metric.name == "ModelLatency" else dt.ovh_sigma
            inv = dt.inv
            pairs.extend((locs[i], inv[i]) for i in range(lo, hi) if inv[i] > 0)
        if not pairs:
            return None
        half_var = sigma * sigma / 2

        def lognormal(mu: float, z: float | None) -> float:
            return math.exp(mu + half_var) if z is None else math.exp(mu + z * sigma)

        return _weighted(pairs, stat, lognormal)
    pairs = []
    for dt, lo, hi in chunks:
        cold, setup = dt.cold, dt.setup
        pairs.extend((setup[i], cold[i]) for i in range(lo, hi) if cold[i] > 0)
    return _weighted(pairs, stat, lambda value, z: value) if pairs else None
