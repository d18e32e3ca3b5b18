"""At most one run of a collection per scope at a time, across workers (a Redis key with a TTL).

Collection is idempotent anyway; the lock only saves a second, useless set of AWS calls when the same
task is delivered twice (Celery delivers at least once) or beat fires while a long run is going."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"


def _dead_here(token: object) -> bool:
    """A holder on this host whose process is gone: a worker killed (SIGKILL, OOM) while holding the
    lock. Its task comes straight back (acks_late + reject_on_worker_lost) and must not find the lock
    taken for the rest of the TTL. A holder on another host cannot be checked: the TTL frees that one."""
    host, _, rest = str(token).partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextmanager
def single_flight(key: str, ttl_seconds: int) -> Iterator[bool]:
    """Yields True if this caller holds the lock; a dead holder on this host is replaced at once, the
    TTL frees the lock of one elsewhere."""
    token = _holder()
    name = f"lock:{key}"
    acquired = cache.add(name, token, timeout=ttl_seconds)
    held_by = None if acquired else cache.get(name)
    if held_by is not None and _dead_here(held_by):
        if cache.get(name) == held_by:  # not already replaced by another caller
            cache.delete(name)
        acquired = cache.add(name, token, timeout=ttl_seconds)
    try:
        yield acquired
    finally:
        if acquired and cache.get(name) == token:
            cache.delete(name)
