"""The instance catalogue and price list, seeded from collectors/data/prices.json."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

PRICES_FILE = Path(__file__).resolve().parents[2] / "collectors" / "data" / "prices.json"


@lru_cache(maxsize=1)
def price_list() -> dict:
    with PRICES_FILE.open(encoding="utf-8") as fh:
        return json.load(fh, parse_float=Decimal)


def seed_instance_types() -> int:
    """Insert catalogue rows missing from the database; rows already there (maybe edited) stay."""
    from dashboard.models import InstanceType

    data = price_list()
    rows = [
        InstanceType(
            name=name,
            vcpus=spec["vcpus"],
            memory_gib=Decimal(str(spec["memory_gib"])),
            gpu_count=spec["gpu_count"],
            gpu_memory_gib=Decimal(str(spec["gpu_memory_gib"])),
            accelerator=spec["accelerator"],
            hourly_price=Decimal(spec["hourly"]),
            currency=data["currency"],
            price_source=spec["source"][:200],
            known=True,
        )
        for name, spec in data["instance_types"].items()
    ]
    existing = set(
        InstanceType.objects.filter(name__in=[r.name for r in rows]).values_list("name", flat=True)
    )
    new = [r for r in rows if r.name not in existing]
    InstanceType.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
