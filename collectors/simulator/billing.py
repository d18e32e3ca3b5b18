"""The ground-truth bill: cost = usage x price (prices.json), per endpoint, variant, usage type and day.

- Serverless on-demand: billed seconds = the day's sum over invocations of ModelLatency, rounded UP to
  the millisecond once per variant and day (not per invocation; cold-start setup time is not billed);
  cost = seconds x memory GB x compute_per_gb_second. Usage type `<REGION>-ServerlessInf:Mem-<N>GB`.
- Provisioned concurrency: capacity = PC x seconds provisioned (concurrency-seconds), cost = that x GB x
  provisioned_concurrency_per_gb_second, usage type `...:ProvConc-Mem-<N>GB`; invocations served by it
  are billed at provisioned_invocation_per_gb_second under `...:ProvConcInv-Mem-<N>GB` (a guessed
  name); spillover beyond it is ordinary on-demand compute.
- Instances: instance-hours = count x seconds alive / 3600 (6 decimals, exact for whole days),
  cost = hours x hourly. Usage type `<REGION>-Host:<instance type>`.
Memory tiers are whole GiB, so `memory MB / 1024` is exact. Amounts are exact Decimals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectors.simulator.fleet import SimEndpoint, SimVariant
    from collectors.simulator.prices import PriceList
    from collectors.simulator.traffic import TrafficModel

SERVICE = "Amazon SageMaker"
MILLISECOND = Decimal("0.001")
MICROHOUR = Decimal("0.000001")
REGION_PREFIX = {
    "us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
    "eu-west-1": "EUW1", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1",
    "eu-north-1": "EUN1", "ap-south-1": "APS3", "ap-southeast-1": "APS1", "ap-southeast-2": "APS2",
    "ap-northeast-1": "APN1", "ap-northeast-2": "APN2", "ca-central-1": "CAN1", "sa-east-1": "SAE1",
}  # fmt: skip


@dataclass(frozen=True)
class CostLine:
    endpoint: SimEndpoint
    variant: str
    day: date
    usage_type: str
    quantity: Decimal
    unit: str
    cost: Decimal

    @property
    def account_id(self) -> str:
        return self.endpoint.account_id

    @property
    def region(self) -> str:
        return self.endpoint.region


def region_prefix(region: str) -> str:
    return REGION_PREFIX.get(region) or region.upper().replace("-", "")


def _seconds(duration_us: float) -> Decimal:
    return (Decimal(duration_us) / 1_000_000).quantize(MILLISECOND, rounding=ROUND_CEILING)


def variant_cost_lines(
    endpoint: SimEndpoint, variant: SimVariant, day: date, traffic: TrafficModel, prices: PriceList
) -> list[CostLine]:
    prefix = region_prefix(endpoint.region)
    lines: list[CostLine] = []

    def add(usage_type: str, quantity: Decimal, unit: str, rate: Decimal) -> None:
        if quantity > 0:
            lines.append(CostLine(endpoint, variant.name, day, usage_type, quantity, unit, quantity * rate))

    if variant.kind == "instance":
        alive = traffic.alive_seconds(variant.uid, day)
        hours = (Decimal(alive * variant.instance_count) / 3600).quantize(MICROHOUR)
        add(
            f"{prefix}-Host:{variant.instance_type}",
            hours,
            "Hrs",
            prices.instance(variant.instance_type).hourly,
        )
        return lines
    summary = traffic.summary(variant.uid, day)
    if summary is None:
        return lines
    gb = Decimal(variant.memory_mb) / 1024
    size = f"Mem-{variant.memory_mb // 1024}GB"
    on_demand_us = summary.duration_us - summary.provisioned_duration_us
    add(f"{prefix}-ServerlessInf:{size}", _seconds(on_demand_us), "Seconds", gb * prices.serverless_gb_second)
    if variant.provisioned_concurrency:
        capacity = Decimal(variant.provisioned_concurrency * summary.alive_seconds)
        add(f"{prefix}-ServerlessInf:ProvConc-{size}", capacity, "Seconds", gb * prices.provisioned_gb_second)
        add(
            f"{prefix}-ServerlessInf:ProvConcInv-{size}",
            _seconds(summary.provisioned_duration_us),
            "Seconds",
            gb * prices.provisioned_invocation_gb_second,
        )
    return lines


def endpoint_cost_lines(
    endpoint: SimEndpoint, day: date, traffic: TrafficModel, prices: PriceList
) -> list[CostLine]:
    lines: list[CostLine] = []
    for variant in endpoint.variants:
        lines.extend(variant_cost_lines(endpoint, variant, day, traffic, prices))
    return lines
