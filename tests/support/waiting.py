"""Waiting for another process (a server starting, a worker finishing) without a fixed sleep."""

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.25):
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception as exc:  # the other process is not up yet: keep polling
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


def process_gone(pid: int) -> bool:
    """True once `pid` has exited (or is a zombie waiting for its parent to reap it)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
