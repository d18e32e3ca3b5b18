"""The simulator's price list: collectors/data/prices.json, read as Decimals.

The simulated bill applies these us-east-1 prices in every region (real eu-west-1 prices are higher):
what matters here is that cost follows from usage x one known price list, so tests can recompute it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DEFAULT_PRICES = Path(__file__).resolve().parent.parent / "data" / "prices.json"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: int
    gpu_count: int
    gpu_memory_gib: int
    accelerator: str
    hourly: Decimal


@dataclass(frozen=True)
class PriceList:
    serverless_gb_second: Decimal  # on-demand serverless compute
    provisioned_gb_second: Decimal  # provisioned concurrency capacity, billed while provisioned
    provisioned_invocation_gb_second: Decimal  # compute served by provisioned capacity
    memory_tiers_mb: tuple[int, ...]
    instances: dict[str, InstanceType]

    def instance(self, name: str) -> InstanceType:
        try:
            return self.instances[name]
        except KeyError:
            raise ValueError(f"instance type {name!r} is not in the price list") from None


def load_prices(path: Path | None = None) -> PriceList:
    data = json.loads((path or DEFAULT_PRICES).read_text())
    serverless = data["serverless"]
    return PriceList(
        serverless_gb_second=Decimal(serverless["compute_per_gb_second"]),
        provisioned_gb_second=Decimal(serverless["provisioned_concurrency_per_gb_second"]),
        provisioned_invocation_gb_second=Decimal(serverless["provisioned_invocation_per_gb_second"]),
        memory_tiers_mb=tuple(serverless["memory_tiers_mb"]),
        instances={
            name: InstanceType(
                name=name,
                vcpus=spec["vcpus"],
                memory_gib=spec["memory_gib"],
                gpu_count=spec["gpu_count"],
                gpu_memory_gib=spec["gpu_memory_gib"],
                accelerator=spec["accelerator"],
                hourly=Decimal(spec["hourly"]),
            )
            for name, spec in data["instance_types"].items()
        },
    )
