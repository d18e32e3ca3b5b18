"""GPU instance over-provisioning: fewer instances, a smaller type of the same accelerator, or (for a
lightly used GPU) a cheaper accelerator, never below the model's observed GPU memory plus headroom."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from dashboard.insights.model import (
    GPU_RIGHTSIZE,
    Finding,
    InstanceShape,
    Prices,
    Thresholds,
    VariantEvidence,
    variant_target,
)
from dashboard.insights.pricing import instance_monthly, money
from dashboard.insights.rules._common import quiet

FEWER = "fewer-instances"
SMALLER = "smaller-type"
OTHER_FAMILY = "other-family"
# ceil() of a product of floats: 1.3 x 76.92307 % must stay 1 instance, not 1.0000000001 -> 2
EPSILON = 1e-9


@dataclass(frozen=True)
class Needs:
    """What one instance must provide at the current instance count, headroom included."""

    gpu_memory_gib: float  # the model's footprint: does not shrink with more instances
    memory_gib: float  # host memory, per model copy: does not shrink either
    vcpus: float  # scales with each instance's share of the traffic
    gpus: float  # in GPUs of the current accelerator; scales with traffic share


@dataclass(frozen=True)
class Option:
    kind: str
    shape: InstanceShape
    count: int
    monthly: Decimal
    saving: Decimal


def gpu_rightsize(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    shape, count = ev.instance, ev.instance_count
    if shape is None or not shape.has_gpu or shape.hourly is None or not count or count < 1:
        return []
    if shape.vcpus is None or shape.memory_gib is None or shape.gpu_memory_gib <= 0:
        return []
    if ev.gpu.hours < t.min_data_hours or ev.window_hours <= 0 or quiet(ev, t):
        return []  # a variant nobody calls belongs to the idle rule: "delete" is the whole saving
    peaks = (ev.gpu.peak, ev.gpu_memory.peak, ev.cpu.peak, ev.memory.peak)
    if any(p is None for p in peaks):
        return []

    h = t.gpu_headroom
    needs = Needs(
        gpu_memory_gib=ev.gpu_memory.peak / 100 * shape.gpu_memory_gib * (1 + h),
        memory_gib=ev.memory.peak / 100 * shape.memory_gib * (1 + h),
        vcpus=ev.cpu.peak / 100 * shape.vcpus * (1 + h),
        gpus=ev.gpu.peak / 100 * shape.gpu_count * (1 + h),
    )
    current_monthly = instance_monthly(shape, count)
    options = _smaller_types(shape, count, needs, prices)
    fewer = _fewer_instances(ev, shape, count, h, t.min_instances)
    if fewer:
        options.append(fewer)
    same_family = [o for o in options if o.saving >= t.min_monthly_saving]
    confidence = min(1.0, ev.gpu.hours / ev.window_hours)
    if same_family:
        best = max(same_family, key=lambda o: (o.saving, -o.count, o.shape.name))
    elif ev.gpu.peak <= t.gpu_cross_family_max_util:
        best = _other_family(shape, count, needs, prices)
        if best is None or best.saving < t.min_monthly_saving:
            return []
        confidence *= t.cross_family_confidence
    else:
        return []
    return [_finding(ev, t, prices, shape, count, current_monthly, needs, best, confidence)]


def _fewer_instances(
    ev: VariantEvidence, shape: InstanceShape, count: int, h: float, min_instances: int
) -> Option | None:
    # GPU busy and CPU are load: spread over fewer instances they rise in proportion. Memory and GPU
    # memory hold one model copy each, so they stay where they are and cannot set the count. Never
    # below the availability minimum (unless the endpoint already runs fewer).
    load = max(ev.gpu.peak, ev.cpu.peak) * (1 + h) / 100
    new_count = max(1, min(min_instances, count), math.ceil(count * load - EPSILON))
    if new_count >= count:
        return None
    return _option(FEWER, shape, new_count, shape, count)


def _smaller_types(shape: InstanceShape, count: int, needs: Needs, prices: Prices) -> list[Option]:
    out = []
    for other in prices.instances.values():
        if other.name == shape.name or other.accelerator != shape.accelerator or not _priced_gpu(other):
            continue
        if other.gpu_count + EPSILON < needs.gpus or not _fits(other, shape, needs):
            continue
        option = _option(SMALLER, other, count, shape, count)
        if option.saving > 0:
            out.append(option)
    return out


def _other_family(shape: InstanceShape, count: int, needs: Needs, prices: Prices) -> Option | None:
    # GPU compute of another accelerator is not comparable with ours, so only memory and vCPUs are
    # checked; the low GPU utilisation required before getting here is what makes the guess reasonable.
    options = [
        _option(OTHER_FAMILY, other, count, shape, count)
        for other in prices.instances.values()
        if other.accelerator != shape.accelerator and _priced_gpu(other) and _fits(other, shape, needs)
    ]
    options = [o for o in options if o.saving > 0]
    return max(options, key=lambda o: (o.saving, o.shape.name), default=None)


def _priced_gpu(shape: InstanceShape) -> bool:
    return (
        shape.has_gpu
        and shape.hourly is not None
        and shape.vcpus is not None
        and shape.memory_gib is not None
    )


def _fits(other: InstanceShape, current: InstanceShape, needs: Needs) -> bool:
    return (
        _usable_gpu_memory(other, current) + EPSILON >= needs.gpu_memory_gib
        and other.memory_gib + EPSILON >= needs.memory_gib
        and other.vcpus + EPSILON >= needs.vcpus
    )


def _usable_gpu_memory(other: InstanceShape, current: InstanceShape) -> float:
    """GPU memory the model can use on `other`: a model spread over N GPUs today can be spread over at
    most N, so a single-GPU model needs its footprint on one GPU however many GPUs the new type has."""
    per_gpu = other.gpu_memory_gib / other.gpu_count
    return per_gpu * min(other.gpu_count, current.gpu_count)


def _option(kind: str, new: InstanceShape, new_count: int, current: InstanceShape, count: int) -> Option:
    monthly = instance_monthly(new, new_count)
    return Option(kind, new, new_count, monthly, instance_monthly(current, count) - monthly)


def _finding(
    ev: VariantEvidence,
    t: Thresholds,
    prices: Prices,
    shape: InstanceShape,
    count: int,
    current_monthly: Decimal,
    needs: Needs,
    best: Option,
    confidence: float,
) -> Finding:
    saving = money(best.saving)
    new = best.shape
    if best.kind == FEWER:
        title = f"Run {best.count} × {shape.name} instead of {count}"
        why = (
            f"GPUs peak at {ev.gpu.peak:.0f}% and CPU at {ev.cpu.peak:.0f}% on {count} instances; "
            f"{best.count} carry that load with {t.gpu_headroom:.0%} headroom"
        )
    else:
        title = f"Move {_shape_count(shape, count)} to {_shape_count(new, best.count)}"
        why = (
            f"GPUs peak at {ev.gpu.peak:.0f}% and GPU memory at {ev.gpu_memory.peak:.0f}% "
            f"({ev.gpu_memory.peak / 100 * shape.gpu_memory_gib:.0f} of {shape.gpu_memory_gib:g} GiB); "
            f"{new.name} ({new.gpu_count}× {new.accelerator}, {new.gpu_memory_gib:g} GiB) holds that with "
            f"{t.gpu_headroom:.0%} headroom"
        )
    summary = f"{why}, saving {_money_text(saving, prices.currency)} a month."

    warnings = []
    if best.kind == OTHER_FAMILY:
        warnings.append(
            f"{new.name} has a different accelerator ({new.accelerator}, not {shape.accelerator}): "
            "benchmark latency and throughput before switching."
        )
    if new.gpu_memory_gib / new.gpu_count < shape.gpu_memory_gib / shape.gpu_count:
        # CloudWatch reports GPU memory over all GPUs together: how the model is spread is unknown.
        on_one = min(needs.gpu_memory_gib, shape.gpu_memory_gib / shape.gpu_count)
        if on_one > new.gpu_memory_gib / new.gpu_count + EPSILON:
            confidence *= 0.8
            warnings.append(
                f"Each {new.accelerator} GPU has {new.gpu_memory_gib / new.gpu_count:g} GiB, less than "
                f"{shape.accelerator}'s {shape.gpu_memory_gib / shape.gpu_count:g} GiB: a model that is not "
                f"sharded across GPUs may need up to {on_one:.0f} GiB on one GPU. Check how it is loaded."
            )
    if count >= 2 and best.count == 1:
        warnings.append("A single instance has no redundancy: an instance failure takes the endpoint down.")
    target_ms = _latency_target_ms(ev, t)
    if ev.latency_p99_ms is not None and ev.latency_p99_ms >= target_ms:
        warnings.append(
            f"p99 latency is already {ev.latency_p99_ms:.0f} ms against a {target_ms:.0f} ms target: "
            "watch it after the change."
        )

    invocations_per_instance = ev.invocations / count
    evidence = {
        "window": {"start": ev.start.isoformat(), "end": ev.end.isoformat()},
        "gpu_hours": ev.gpu.hours,
        "window_hours": round(ev.window_hours, 2),
        "headroom": t.gpu_headroom,
        "utilisation_pct": {
            name: {"peak": stats.peak, "p99": stats.p99, "hours": stats.hours}
            for name, stats in (
                ("gpu", ev.gpu),
                ("gpu_memory", ev.gpu_memory),
                ("cpu", ev.cpu),
                ("memory", ev.memory),
            )
        },
        "needs_per_instance": {
            "gpu_memory_gib": round(needs.gpu_memory_gib, 2),
            "memory_gib": round(needs.memory_gib, 2),
            "vcpus": round(needs.vcpus, 2),
            "gpus_of_current_family": round(needs.gpus, 3),
        },
        "invocations": ev.invocations,
        "invocations_per_instance": round(invocations_per_instance, 1),
        "invocations_per_instance_hour": round(invocations_per_instance / ev.window_hours, 1),
        "latency_p95_ms": ev.latency_p95_ms,
        "latency_p99_ms": ev.latency_p99_ms,
        "latency_target_ms": target_ms,
    }
    return Finding(
        rule=GPU_RIGHTSIZE,
        title=title,
        summary=summary,
        target=variant_target(ev, GPU_RIGHTSIZE),
        current={"instance_type": shape.name, "instance_count": count},
        proposed={"instance_type": new.name, "instance_count": best.count},
        evidence={
            **evidence,
            "change": best.kind,
            "current_shape": {**_describe(shape, count), "monthly": str(money(current_monthly))},
            "proposed_shape": {**_describe(new, best.count), "monthly": str(money(best.monthly))},
        },
        monthly_saving=saving,
        currency=prices.currency,
        confidence=confidence,
        endpoint_id=ev.endpoint_id,
        variant=ev.variant,
        account_id=ev.account_id,
        region=ev.region,
        warnings=warnings,
    )


def _describe(shape: InstanceShape, count: int) -> dict:
    return {
        "instance_type": shape.name,
        "instance_count": count,
        "accelerator": shape.accelerator,
        "gpu_count": shape.gpu_count,
        "gpu_memory_gib": shape.gpu_memory_gib,
        "vcpus": shape.vcpus,
        "memory_gib": shape.memory_gib,
        "hourly": str(shape.hourly),
    }


def _shape_count(shape: InstanceShape, count: int) -> str:
    return shape.name if count == 1 else f"{count} × {shape.name}"


def _latency_target_ms(ev: VariantEvidence, t: Thresholds) -> float:
    """The endpoint's own target from its tag when it parses as a positive number, else the default."""
    try:
        value = float(ev.tags.get(t.latency_target_tag, ""))
    except ValueError:
        return t.latency_target_ms
    return value if math.isfinite(value) and value > 0 else t.latency_target_ms


def _money_text(value: Decimal, currency: str) -> str:
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"
