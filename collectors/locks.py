"""At most one run of a collection per scope at a time, across workers (a Redis key with a TTL).

Collection is idempotent anyway; the lock only saves a second, useless set of AWS calls when the same
task is delivered twice (Celery delivers at least once) or beat fires while a long run is going."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

log = logging.getLogger(__name__)
_held = threading.local()  # the lock names this thread is inside right now


def _holding() -> set[str]:
    if not hasattr(_held, "names"):
        _held.names = set()
    return _held.names


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex}"


def _stale_here(name: str, token: object) -> bool:
    """A holder on this host that cannot still be inside its block: its process is gone (a worker killed
    by SIGKILL or the OOM killer: its task comes straight back, acks_late + reject_on_worker_lost, and must
    not find the lock taken for the rest of the TTL), or it is this very thread, which is not inside the
    block now (a task whose release failed, Redis being down, left it behind). A holder on another host
    cannot be checked: the TTL frees that one."""
    host, _, rest = str(token).partition(":")
    pid, _, rest = rest.partition(":")
    thread = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return thread == str(threading.get_ident()) and name not in _holding()
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextmanager
def single_flight(key: str, ttl_seconds: int) -> Iterator[bool]:
    """Yields True if this caller holds the lock; a stale holder on this host is replaced at once, the
    TTL frees the lock of one elsewhere. Releasing is best effort: with Redis down at that moment the
    task's own outcome stands, and the lock is stale (or expires)."""
    token = _holder()
    name = f"lock:{key}"
    acquired = cache.add(name, token, timeout=ttl_seconds)
    held_by = None if acquired else cache.get(name)
    if held_by is not None and _stale_here(name, held_by):
        if cache.get(name) == held_by:  # not already replaced by another caller
            cache.delete(name)
        acquired = cache.add(name, token, timeout=ttl_seconds)
    if acquired:
        _holding().add(name)
    try:
        yield acquired
    finally:
        if acquired:
            _holding().discard(name)
            try:
                if cache.get(name) == token:
                    cache.delete(name)
            except Exception:  # Redis unreachable: see the docstring
                log.warning("could not release lock %s; it will be taken over or expire", name, exc_info=True)
