"""One collection cycle in a process of its own, as a Celery worker would run it: `python -m bench.worker`.

Runs the hourly metrics collection (`collectors.metrics.collect_metrics`, what the Celery task calls) for
every account and region of the bench fleet at the clock the harness gives, against the simulator, on the
database named by DATABASE_URL, and prints one JSON object: wall seconds, resident memory, and per account
and region the GetMetricData calls, queries and points.

Memory is sampled (current resident set, every few milliseconds) while collecting. getrusage's lifetime
peak is reported too but not used: on Linux a child started by fork and exec keeps the high-water mark of
the parent it was forked from, so it measured the bench harness's size, not this process's. The
simulator (the stand-in for AWS) lives in this process and a real worker does not hold it, so what
building it added is read and subtracted: the worker's own peak is the collection's peak less the model.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from datetime import datetime

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_MB


class RssSampler(threading.Thread):
    """The highest resident memory seen while running (sampled; a peak shorter than the interval is missed,
    which the lifetime peak from getrusage bounds from above)."""

    def __init__(self, every_s: float = 0.005):
        super().__init__(daemon=True)
        self.every_s, self.peak_mb, self._halt = every_s, rss_mb(), threading.Event()

    def run(self):
        while not self._halt.wait(self.every_s):
            self.peak_mb = max(self.peak_mb, rss_mb())

    def stop(self) -> float:
        self._halt.set()
        self.join()
        return max(self.peak_mb, rss_mb())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, required=True)
    parser.add_argument("--now", required=True, help="ISO timestamp of the tick (UTC)")
    parser.add_argument("--history-days", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from bench.fleet import WORKER_TRAFFIC_CACHE, factory, simulator
    from collectors.metrics import collect_metrics
    from dashboard.models import AwsAccount

    now = datetime.fromisoformat(args.now)
    process_mb = rss_mb()
    sim = simulator(
        args.endpoints, now, history_days=args.history_days, traffic_cache_days=WORKER_TRAFFIC_CACHE
    )
    accounts = list(AwsAccount.objects.filter(enabled=True).order_by("account_id"))
    baseline = peak_rss_mb()
    model_mb = rss_mb() - process_mb
    sampler = RssSampler()
    sampler.start()
    scopes = []
    started = time.perf_counter()
    for account in accounts:
        for region in account.regions:
            f = factory(sim, lambda: now)
            run = collect_metrics(account, region, factory=f, clock=lambda: now)
            scopes.append({
                "account": account.account_id, "region": region, "status": run.status,
                "gmd_calls": f.call_log.calls.get("cloudwatch:GetMetricData", 0),
                "queries": f.call_log.metrics_requested,
                "points": run.stats.get("points", 0), "variants": run.stats.get("polled", 0),
                "errors": run.errors[:3],
            })  # fmt: skip
    wall = time.perf_counter() - started
    collection_peak = sampler.stop()
    return {
        "wall_s": wall, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), "scopes": scopes,
        "process_rss_mb": process_mb, "simulator_model_mb": model_mb,
        "collection_peak_rss_mb": collection_peak,
    }  # fmt: skip


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
