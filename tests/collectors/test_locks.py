"""The per-scope lock (collectors/locks.py) on the real (embedded) Redis: one holder at a time, and a
lock whose holder cannot still be inside its block is taken over at once instead of blocking the scope
for the rest of its TTL."""

import os
import socket
import subprocess
import sys
import threading
import uuid

import pytest
from django.core.cache import cache

from collectors.locks import single_flight


@pytest.fixture
def key():
    name = f"test:{uuid.uuid4().hex}"
    yield name
    cache.delete(f"lock:{name}")


def leave(key: str, host: str, pid: int, thread: int) -> None:
    cache.set(f"lock:{key}", f"{host}:{pid}:{thread}:{uuid.uuid4().hex}", timeout=60)


def test_one_holder_at_a_time_and_released_after(key):
    with single_flight(key, 60) as first, single_flight(key, 60) as second:
        assert first and not second
    with single_flight(key, 60) as again:
        assert again
    assert cache.get(f"lock:{key}") is None


def test_a_lock_left_by_a_process_that_died_is_taken_over(key):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    leave(key, socket.gethostname(), int(dead.stdout), 1)
    with single_flight(key, 60) as mine:
        assert mine


def test_a_lock_this_thread_left_behind_is_taken_over(key):
    """Redis was down when a task tried to release it; the next task in the same worker process (which
    runs one task at a time per thread) must not skip the scope for an hour."""
    leave(key, socket.gethostname(), os.getpid(), threading.get_ident())
    with single_flight(key, 60) as mine:
        assert mine


@pytest.mark.parametrize(
    "holder",
    [
        "another thread of this process",
        "a live process on this host",
        "a process on another host",
    ],
)
def test_a_holder_that_may_still_be_inside_its_block_is_respected(key, holder):
    host, pid, thread = socket.gethostname(), os.getpid(), threading.get_ident() + 1
    if holder == "a live process on this host":
        pid = os.getppid()
    elif holder == "a process on another host":
        host = "another-host"
    leave(key, host, pid, thread)
    with single_flight(key, 60) as mine:
        assert not mine
    assert cache.get(f"lock:{key}") is not None  # not released by the caller who did not get it
