"""The price list the rule tests compute with: collectors/data/prices.json read into `Prices`, without
Django (the app's catalogue is the database, seeded from the same file)."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

from dashboard.insights.model import InstanceShape, Prices

PRICES_FILE = Path(__file__).resolve().parents[3] / "collectors" / "data" / "prices.json"


@cache
def raw_prices() -> dict:
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def hourly(name: str) -> Decimal:
    """An instance type's hourly price straight from the file, for hand calculations in tests."""
    return Decimal(raw_prices()["instance_types"][name]["hourly"])


@cache
def load_prices() -> Prices:
    data = raw_prices()
    serverless = data["serverless"]
    instances = {
        name: InstanceShape(
            name=name,
            vcpus=spec["vcpus"],
            memory_gib=float(spec["memory_gib"]),
            gpu_count=spec["gpu_count"],
            gpu_memory_gib=float(spec["gpu_memory_gib"]),
            accelerator=spec["accelerator"],
            hourly=Decimal(spec["hourly"]),
            currency=data["currency"],
        )
        for name, spec in data["instance_types"].items()
    }
    return Prices(
        currency=data["currency"],
        serverless_gb_second=Decimal(serverless["compute_per_gb_second"]),
        provisioned_gb_second=Decimal(serverless["provisioned_concurrency_per_gb_second"]),
        provisioned_invocation_gb_second=Decimal(serverless["provisioned_invocation_per_gb_second"]),
        memory_tiers_mb=tuple(serverless["memory_tiers_mb"]),
        instances=instances,
    )
