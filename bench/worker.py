"""One collection cycle in a process of its own, as a Celery worker would run it: `python -m bench.worker`.

Runs the hourly metrics collection (`collectors.metrics.collect_metrics`, what the Celery task calls) for
every account and region of the bench fleet at the clock the harness gives, against the simulator, on the
database named by DATABASE_URL, and prints one JSON object: wall seconds, peak resident memory before and
after, and per account and region the GetMetricData calls, queries and points.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import datetime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


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
    sim = simulator(
        args.endpoints, now, history_days=args.history_days, traffic_cache_days=WORKER_TRAFFIC_CACHE
    )
    accounts = list(AwsAccount.objects.filter(enabled=True).order_by("account_id"))
    baseline = peak_rss_mb()
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
    return {"wall_s": wall, "baseline_rss_mb": baseline, "peak_rss_mb": peak_rss_mb(), "scopes": scopes}


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
