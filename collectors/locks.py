"""At most one run of a collection per scope at a time, across workers (a Redis key with a TTL).

Collection is idempotent anyway; the lock only saves a second, useless set of AWS calls when the same
task is delivered twice (Celery delivers at least once) or beat fires while a long run is going."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def single_flight(key: str, ttl_seconds: int) -> Iterator[bool]:
    """Yields True if this caller holds the lock; the TTL frees it if the holder dies."""
    token = uuid.uuid4().hex
    name = f"lock:{key}"
    acquired = cache.add(name, token, timeout=ttl_seconds)
    try:
        yield acquired
    finally:
        if acquired and cache.get(name) == token:
            cache.delete(name)
