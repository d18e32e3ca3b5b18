"""`make bench`: the performance figures of the README, each a ratio of two things measured in one run.

For each fleet size the harness creates a scratch database on the configured Postgres (DATABASE_URL, or
the embedded server), collects the simulated fleet's inventory with the product's collector, writes
`days` of history (bench/history.py), then measures:

- P1 batching: GetMetricData queries per call / 500 over one hourly collection of the large fleet, and
  Cost Explorer requests in a day of cost collections (the default 3 runs), with members read through
  the payer and, beside it, with every account reading its own;
- P2 the monitor's CloudWatch bill: metrics requested over a simulated day of the default schedule
  (hourly ticks) / what a scrape of the same series every 5 minutes requests (smallest fleet only: the
  figure is per endpoint);
- P3 ingest: points per second through collectors.store.metrics.store_results / a binary COPY of the same
  rows into a scratch copy of the points table (same columns, same primary key), the medians of 5 rounds
  each rolled back; a text COPY beside it;
- P4 pages: median server time of the fleet overview (large / small fleet) and of the endpoint page over
  365 days / over 7 days, through Django's test client;
- P5 memory and P6 time: peak resident memory (sampled, less the simulator's model) and wall time of a
  separate process running one hourly collection of every account and region (bench/worker.py), large /
  small.

A benchmark, not a test: it never fails on a figure. Its own logic is tested at tiny sizes in
tests/bench/. Nothing in the product imports this package.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
MAX_QUERIES = 500  # GetMetricData's limit
SCRAPE_SECONDS = 300  # the comparison for P2: every series fetched every 5 minutes
PRICE_PER_1000_METRICS = 0.01  # GetMetricData, USD (aws-facts.md)
GOALS = {
    "P1_batching": (">=", 0.98),
    "P1_cost_explorer": ("==", 1.0),
    "P2_cloudwatch_bill": ("<=", 0.1),
    "P3_ingest": (">=", 0.5),
    "P4_fleet_page": ("<=", 3.0),
    "P4_endpoint_page": ("<=", 2.0),
    "P5_memory": ("<=", 1.5),
}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not what production runs
    os.environ.pop("AWS_SIMULATOR", None)
    import django

    django.setup()


@contextmanager
def scratch_database(name: str, keep: bool):
    """A fresh database on the configured server, migrated; yields a DATABASE_URL for other processes."""
    from django.conf import settings
    from django.db import connection

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name
    old = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield database_url(connection.settings_dict)
    finally:
        connection.close()
        if not keep:
            connection.creation.destroy_test_db(old, verbosity=0)


def database_url(db: dict) -> str:
    from urllib.parse import quote

    auth = quote(db.get("USER") or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{db['NAME']}"


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


# --- measurements ---------------------------------------------------------------------------------
def run_worker(endpoints: int, now: datetime, history_days: int, db_url: str) -> dict:
    env = dict(os.environ, DATABASE_URL=db_url, DEBUG="false")
    env.pop("AWS_SIMULATOR", None)
    cmd = [sys.executable, "-m", "bench.worker", "--endpoints", str(endpoints), "--now", now.isoformat(),
           "--history-days", str(history_days)]  # fmt: skip
    done = subprocess.run(cmd, cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"bench worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def measure_costs(sim, accounts, now: datetime) -> dict:
    """A day of cost collections as the beat runs them, in both set-ups: every account reading its own
    costs ("separate"), then every other account linked to the payer (the simulator's first account, which
    sees its linked accounts) and read by the payer's run."""
    from collectors.runtime import cost_readers
    from dashboard.models import AwsAccount

    separate = _cost_day(sim, accounts, now)
    members = AwsAccount.objects.filter(pk__in=[a.pk for a in accounts[1:]])
    members.update(cost_payer=accounts[0])
    try:
        linked = list(AwsAccount.objects.filter(pk__in=[a.pk for a in accounts]).order_by("account_id"))
        organization = _cost_day(sim, cost_readers(linked), now)
    finally:
        members.update(cost_payer=None)
    return {"accounts": len(accounts), **organization, "separate": separate}


def _cost_day(sim, readers, now: datetime) -> dict:
    """COSTS_EVERY_HOURS sets the runs a day (3); they run here a minute apart on the same day, which is
    what the product decides by: the first run of a day asks for the account forecasts and the whole 14
    days of resource-level data, later runs for neither. Each set-up starts as a new day would: nothing
    stored today by the other one."""
    from django.conf import settings

    from bench.fleet import factory
    from collectors.costs import collect_costs
    from dashboard.models import CostForecast, EndpointCost

    CostForecast.objects.filter(scope="account").delete()
    EndpointCost.objects.filter(source="resource").delete()
    runs_per_day = 24 // settings.COSTS_EVERY_HOURS
    requests, per_run = 0, []
    pages = {}
    started = time.perf_counter()
    for i in range(runs_per_day):
        at = now + timedelta(minutes=i)
        this_run = 0
        for account in readers:
            f = factory(sim, lambda at=at: at)
            collect_costs(account, factory=f, clock=lambda at=at: at)
            for call, n in f.call_log.calls.items():
                if call.startswith("ce:"):
                    this_run += n
                    pages[call] = pages.get(call, 0) + n
        per_run.append(this_run)
        requests += this_run
    return {
        "runs": len(readers), "runs_per_day": runs_per_day, "requests_per_run": per_run,
        "requests_per_day": requests, "by_call": dict(sorted(pages.items())),
        "seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip


def measure_ingest(sim, now: datetime, max_points: int, rounds: int = 5) -> dict:
    """The same rows stored both ways, `rounds` times: by a plain COPY into a scratch copy of the points
    table, and by the collectors' storage path (staging COPY, upsert, rollups, summaries), batch by batch
    as collected. Nothing is left stored."""
    import math

    from django.db import connection, transaction

    from bench.fleet import factory
    from collectors.aws.cloudwatch import fetch
    from collectors.metricplan import plan
    from collectors.metrics import floor_hour, variant_ref
    from collectors.store.metrics import STAGE_TYPES, ensure_series, store_results
    from dashboard.models import AwsAccount, ProductionVariant

    # Six fresh hours (stored only as rollups so far) of the first account-region's variants, at 300 s.
    account = AwsAccount.objects.order_by("account_id").first()
    region = account.regions[0]
    variants = list(
        ProductionVariant.objects.filter(endpoint__account=account, endpoint__region=region, removed_at=None)
        .select_related("endpoint", "instance_type")
        .order_by("pk")
    )
    end = floor_hour(now) - timedelta(hours=2)
    start = end - timedelta(hours=6)
    client = factory(sim, lambda: now).client("cloudwatch", account=_target(account), region=region)
    fetched, points = [], 0
    refs = [variant_ref(v) for v in variants]
    for window, batch in plan(refs, start, end, now, 300):
        result = fetch(client, batch, window)
        fetched.append(result.series)
        points += sum(1 for s in result.series for r in s.raw if r is not None and math.isfinite(r))
        if points >= max_points:
            break
    series = ensure_series((s.query.variant.key, s.query.metric, s.query.stat) for b in fetched for s in b)
    rows = [
        [(series[(s.query.variant.key, s.query.metric, s.query.stat)], s.query.period, ts, v, r)
         for s in batch for ts, v, r in zip(s.timestamps, s.values, s.raw, strict=True)
         if r is not None and math.isfinite(r)]
        for batch in fetched
    ]  # fmt: skip

    def raw_copy(options: str, types: tuple[str, ...] | None) -> float:
        """Seconds to COPY every batch (a savepoint each, as store_results takes) into an empty copy of the
        points table."""
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_copy")
            cur.execute("CREATE TABLE bench_copy (LIKE dashboard_metricpoint INCLUDING ALL)")
        started = time.perf_counter()
        for batch_rows in rows:
            sql = f"COPY bench_copy (series_id, period, ts, value, raw) FROM STDIN {options}"
            with transaction.atomic(), connection.cursor() as cur, cur.cursor.copy(sql) as copy:
                if types:
                    copy.set_types(types)
                for row in batch_rows:
                    copy.write_row(row)
        return time.perf_counter() - started

    def store() -> tuple[float, int]:
        """Seconds and points of the collectors' storage path over every batch."""
        started = time.perf_counter()
        points = sum(store_results(batch).points for batch in fetched)
        return time.perf_counter() - started, points

    def rolled_back(measure):
        """`measure()` inside a transaction that is rolled back, then the tables it wrote vacuumed, so
        every round starts from the same database (no rows, dead versions or index entries left)."""
        with transaction.atomic():
            out = measure()
            transaction.set_rollback(True)
        with connection.cursor() as cur:
            cur.execute("VACUUM dashboard_metricpoint, dashboard_metricrollup, dashboard_endpointsummary")
        return out

    # A single timing of either path swung by half from one bench run to the next (0.18 s to 0.30 s for
    # the same COPY): `rounds` rounds, the two paths alternating, each in a rolled-back transaction, and
    # the medians compared. The limit is the binary COPY (the storage path stages in binary too); a text
    # COPY is timed once beside it.
    copy_times, store_times, stored = [], [], 0
    for _ in range(rounds):
        copy_times.append(rolled_back(lambda: raw_copy("(FORMAT BINARY)", STAGE_TYPES)))
        seconds, stored = rolled_back(store)
        store_times.append(seconds)
    text_s = rolled_back(lambda: raw_copy("", None))
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_copy")
    copy_s, store_s = statistics.median(copy_times), statistics.median(store_times)
    copied = sum(len(r) for r in rows)
    return {
        "points": stored, "copied": copied, "batches": len(fetched), "rounds": rounds,
        "store_s": round(store_s, 3), "copy_s": round(copy_s, 3), "text_copy_s": round(text_s, 3),
        "store_rounds_s": [round(t, 3) for t in store_times],
        "copy_rounds_s": [round(t, 3) for t in copy_times],
        "store_points_per_s": round(stored / store_s), "copy_points_per_s": round(copied / copy_s),
        "text_copy_points_per_s": round(copied / text_s),
    }  # fmt: skip


def _target(account):
    from collectors.runtime import target

    return target(account)


def measure_pages(now: datetime, repeat: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.models import Endpoint

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    probe = Endpoint.objects.order_by("pk").first()
    today = now.date()
    urls = {
        "fleet": "/",
        "endpoint_7d": f"/endpoints/{probe.pk}/?range=7d",
        "endpoint_365d": f"/endpoints/{probe.pk}/?range=custom&start={today - timedelta(days=364)}"
        f"&end={today}",
    }
    # A web worker freezes what its startup loaded (dashboard/wsgi.py). Here the harness's own objects
    # are frozen the same way: the simulator's fleet model, ten times larger for the large fleet, would
    # otherwise be scanned by every full collection a page triggers and counted as the page's time.
    gc.collect()
    gc.freeze()
    try:
        out = {key: _time_page(client, url, repeat) for key, url in urls.items()}
    finally:
        gc.unfreeze()
    return out


def _time_page(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):  # warm-up: imports, template compilation, Postgres buffers
        client.get(url, secure=True, HTTP_HOST="localhost")
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, secure=True, HTTP_HOST="localhost")
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        client.get(url, secure=True, HTTP_HOST="localhost")
    return {"url": url, "median_ms": _median_ms(samples), "samples": repeat, "queries": len(queries)}


def measure_schedule(endpoints: int, now: datetime, history_days: int) -> dict:
    """A day of the default schedule (a tick every METRICS_POLL_MINUTES) on this fleet: metrics requested
    per endpoint per day, against a scrape of every polled series every 5 minutes."""
    from django.conf import settings

    from bench.fleet import factory, simulator
    from collectors.catalogue import specs_for
    from collectors.metrics import collect_metrics, variant_ref
    from dashboard.models import AwsAccount, Endpoint, ProductionVariant

    clock = [now]
    sim = simulator(endpoints, now, history_days=history_days, clock=lambda: clock[0])
    live = ProductionVariant.objects.filter(removed_at=None, endpoint__deleted_at=None).select_related(
        "endpoint", "instance_type"
    )
    series = sum(len(specs_for(variant_ref(v))) for v in live)
    requested = calls = ticks = 0
    step = timedelta(minutes=settings.METRICS_POLL_MINUTES)
    end = now + timedelta(days=1)
    clock[0] = now + step
    while clock[0] <= end:
        for account in AwsAccount.objects.filter(enabled=True).order_by("account_id"):
            for region in account.regions:
                f = factory(sim, lambda: clock[0])
                collect_metrics(account, region, factory=f, clock=lambda: clock[0])
                requested += f.call_log.metrics_requested
                calls += f.call_log.calls.get("cloudwatch:GetMetricData", 0)
        ticks += 1
        clock[0] += step
    n_endpoints = Endpoint.objects.filter(deleted_at=None).count()
    per_endpoint_day = requested / n_endpoints
    scrape = series * (86400 // SCRAPE_SECONDS) / n_endpoints
    return {
        "ticks": ticks, "endpoints": n_endpoints, "series": series, "metrics_requested": requested,
        "gmd_calls": calls, "metrics_per_endpoint_day": round(per_endpoint_day, 2),
        "scrape_metrics_per_endpoint_day": round(scrape, 2),
        "usd_per_endpoint_month": round(per_endpoint_day * 30 * PRICE_PER_1000_METRICS / 1000, 4),
        "scrape_usd_per_endpoint_month": round(scrape * 30 * PRICE_PER_1000_METRICS / 1000, 4),
    }  # fmt: skip


def mark_idle(sim, now: datetime) -> int:
    """Cursors of the endpoints the simulator built idle say so (history writes every cursor busy)."""
    from dashboard.models import MetricCursor

    names = [ep.name for ep in sim.fleet.by_role("idle")]
    return MetricCursor.objects.filter(variant__endpoint__name__in=names).update(
        last_invocation_at=now - timedelta(days=14)
    )


def measure_fleet(endpoints: int, now: datetime, args) -> dict:
    from bench.fleet import history_days_needed, register, simulator
    from bench.history import build_history

    history_days = history_days_needed(max(args.days, args.long_days))
    name = f"bench_{endpoints}_{os.getpid()}"
    print(f"[bench] fleet of {endpoints}: database {name}", file=sys.stderr, flush=True)
    with scratch_database(name, args.keep) as db_url:
        sim = simulator(endpoints, now, history_days=history_days)
        started = time.perf_counter()
        accounts, inventory_log = register(sim, now)
        inventory_s = time.perf_counter() - started
        print(f"[bench]   inventory {inventory_s:.1f} s; history...", file=sys.stderr, flush=True)
        history = build_history(now, args.days, long_days=args.long_days)
        mark_idle(sim, now)
        print(f"[bench]   history {history.seconds:.1f} s; worker...", file=sys.stderr, flush=True)
        worker = run_worker(endpoints, now, history_days, db_url)
        print(f"[bench]   worker {worker['wall_s']:.1f} s; costs...", file=sys.stderr, flush=True)
        costs = measure_costs(sim, accounts, now)
        print(f"[bench]   costs {costs['seconds']:.1f} s; ingest...", file=sys.stderr, flush=True)
        ingest = measure_ingest(sim, now, args.ingest_points, args.ingest_rounds)
        print("[bench]   pages...", file=sys.stderr, flush=True)
        pages = measure_pages(now, args.repeat)
        schedule = None
        if args.schedule_on == endpoints:
            print("[bench]   a day of hourly ticks...", file=sys.stderr, flush=True)
            schedule = measure_schedule(endpoints, now, history_days)
    queries = sum(s["queries"] for s in worker["scopes"])
    calls = sum(s["gmd_calls"] for s in worker["scopes"])
    # The fewest calls possible: a call cannot span accounts or regions, so each scope needs
    # ceil(queries / 500) of them.
    least = sum(-(-s["queries"] // MAX_QUERIES) for s in worker["scopes"] if s["queries"])
    series = sum(s["queries"] for s in worker["scopes"])
    return {
        "endpoints": endpoints,
        "accounts": len(accounts),
        "scopes": len(worker["scopes"]),
        "inventory": {"seconds": round(inventory_s, 2), "calls": inventory_log.as_dict()},
        "history": {
            "days": args.days,
            "long_days": args.long_days,
            "series": history.series,
            "hourly_rollups": history.hourly_rollups,
            "endpoint_costs": history.endpoint_costs,
            "seconds": round(history.seconds, 1),
        },
        "collection": {
            "wall_s": round(worker["wall_s"], 2),
            "series": series,
            "s_per_1000_series": round(worker["wall_s"] / series * 1000, 3) if series else None,
            "points": sum(s["points"] for s in worker["scopes"]),
            "gmd_calls": calls,
            "queries": queries,
            "least_calls": least,
            "mean_queries_per_call": round(queries / calls, 2) if calls else None,
            "baseline_rss_mb": round(worker["baseline_rss_mb"], 1),
            "peak_rss_mb": round(worker["peak_rss_mb"], 1),
            # What collecting added to the peak: the baseline already holds Django and the simulator (the
            # stand-in for AWS runs in the worker's process, and its fleet model grows with the fleet).
            "collection_growth_mb": round(worker["peak_rss_mb"] - worker["baseline_rss_mb"], 1),
            # Resident memory before the simulator is built, what building it added, the peak sampled
            # while collecting, and that peak less the simulator's model: the worker's own memory. The
            # getrusage figures above include the harness's memory at fork (Linux keeps the parent's
            # high-water mark across exec), so P5 does not use them.
            "process_rss_mb": round(worker["process_rss_mb"], 1),
            "simulator_model_mb": round(worker["simulator_model_mb"], 1),
            "collection_peak_rss_mb": round(worker["collection_peak_rss_mb"], 1),
            "worker_peak_rss_mb": round(worker["collection_peak_rss_mb"] - worker["simulator_model_mb"], 1),
            "failed_scopes": [s for s in worker["scopes"] if s["status"] != "ok"],
        },
        "cost_explorer": costs,
        "ingest": ingest,
        "pages": pages,
        "schedule": schedule,
    }


def ratios(fleets: dict[str, dict]) -> dict:
    """Every ratio from the figures measured above (nothing here measures anything)."""
    small, large = _small_large(fleets)
    sched = next((f["schedule"] for f in fleets.values() if f["schedule"]), None)
    c, lce, sce = large["collection"], large["cost_explorer"], small["cost_explorer"]
    out = {
        "P1_batching": c["mean_queries_per_call"] / MAX_QUERIES if c["mean_queries_per_call"] else None,
        "P1_batching_vs_least_calls": c["least_calls"] / c["gmd_calls"] if c["gmd_calls"] else None,
        "P1_cost_explorer": lce["requests_per_day"] / sce["requests_per_day"],
        "P1_cost_explorer_separate": lce["separate"]["requests_per_day"]
        / sce["separate"]["requests_per_day"],
        "P1_cost_explorer_per_account": (lce["separate"]["requests_per_day"] / large["accounts"])
        / (sce["separate"]["requests_per_day"] / small["accounts"]),
        "P2_cloudwatch_bill": sched["metrics_per_endpoint_day"] / sched["scrape_metrics_per_endpoint_day"]
        if sched
        else None,
        "P3_ingest": large["ingest"]["store_points_per_s"] / large["ingest"]["copy_points_per_s"],
        "P4_fleet_page": large["pages"]["fleet"]["median_ms"] / small["pages"]["fleet"]["median_ms"],
        "P4_endpoint_page": large["pages"]["endpoint_365d"]["median_ms"]
        / large["pages"]["endpoint_7d"]["median_ms"],
        "P5_memory": large["collection"]["worker_peak_rss_mb"] / small["collection"]["worker_peak_rss_mb"],
        "P6_collection_s": large["collection"]["wall_s"],
        "P6_s_per_1000_series": large["collection"]["s_per_1000_series"],
    }
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def _small_large(fleets: dict[str, dict]) -> tuple[dict, dict]:
    keys = sorted(fleets, key=int)
    return fleets[keys[0]], fleets[keys[-1]]


def verdicts(ratio: dict) -> dict:
    out = {}
    for key, (op, goal) in GOALS.items():
        value = ratio.get(key)
        if value is None:
            out[key] = None
        elif op == ">=":
            out[key] = value >= goal
        elif op == "<=":
            out[key] = value <= goal
        else:
            out[key] = abs(value - goal) < 1e-9
    return out


def table(results: dict) -> str:
    r, met = results["ratios"], results["goals_met"]
    small, large = _small_large(results["fleets"])
    sched = next((f["schedule"] for f in results["fleets"].values() if f["schedule"]), None) or {}
    lc, sc = large["collection"], small["collection"]
    lce, sce = large["cost_explorer"], small["cost_explorer"]
    lp, sp, ing = large["pages"], small["pages"], large["ingest"]
    rows = [
        ("P1 GetMetricData queries/call/500", "P1_batching",
         f"{lc['queries']} queries in {lc['gmd_calls']} calls (fewest possible {lc['least_calls']}, "
         f"{large['scopes']} account-regions)"),
        ("P1 Cost Explorer requests/day L/S", "P1_cost_explorer",
         f"{lce['requests_per_day']} vs {sce['requests_per_day']} a day read through the payer "
         f"({large['accounts']} vs {small['accounts']} accounts); each account on its own: "
         f"{lce['separate']['requests_per_day']} vs {sce['separate']['requests_per_day']} "
         f"({r['P1_cost_explorer_separate']}; per account {r['P1_cost_explorer_per_account']})"),
        ("P2 CloudWatch metrics vs 5-min", "P2_cloudwatch_bill",
         f"{sched.get('metrics_per_endpoint_day')} vs {sched.get('scrape_metrics_per_endpoint_day')} metrics "
         f"per endpoint-day; ${sched.get('usd_per_endpoint_month')} per endpoint-month"),
        ("P3 ingest store/COPY", "P3_ingest",
         f"{ing['store_points_per_s']:,} vs {ing['copy_points_per_s']:,} points/s binary COPY "
         f"({ing['text_copy_points_per_s']:,} text) "
         f"({ing['points']:,} points; medians of {ing['rounds']} rounds)"),
        ("P4 fleet page L/S", "P4_fleet_page",
         f"{lp['fleet']['median_ms']} ms vs {sp['fleet']['median_ms']} ms (medians)"),
        ("P4 endpoint page 365d/7d", "P4_endpoint_page",
         f"{lp['endpoint_365d']['median_ms']} ms vs {lp['endpoint_7d']['median_ms']} ms"),
        ("P5 worker peak RSS L/S", "P5_memory",
         f"{lc['worker_peak_rss_mb']} MB vs {sc['worker_peak_rss_mb']} MB without the simulator's model "
         f"({lc['simulator_model_mb']} vs {sc['simulator_model_mb']} MB), sampled while collecting"),
        ("P6 collection cycle (large)", None,
         f"{r['P6_collection_s']} s wall, {r['P6_s_per_1000_series']} s per 1,000 series "
         f"({lc['series']:,} series)"),
    ]  # fmt: skip
    lines = [f"{'figure':<36}{'ratio':>8}  {'goal':<8}{'met':<5}measured"]
    for label, key, measured in rows:
        goal = results["goals"].get(key, "") if key else ""
        lines.append(f"{label:<36}{_f(r.get(key) if key else None)}  {goal:<8}{_yn(met.get(key))}{measured}")
    return "\n".join(lines)


def _yn(met) -> str:
    return f"{'-' if met is None else 'yes' if met else 'NO':<5}"


def _f(value) -> str:
    return f"{value:>8.3f}" if value is not None else f"{'-':>8}"


def machine() -> dict:
    import psutil
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return {
        "cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(), "python": platform.python_version(), "postgres": pg,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Performance benchmark (issue #8).")
    parser.add_argument("--sizes", default="200,2000", help="fleet sizes in endpoints, comma-separated")
    parser.add_argument("--days", type=int, default=30, help="days of history per fleet")
    parser.add_argument("--long-days", type=int, default=400, help="history of the probe endpoint")
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page")
    parser.add_argument("--ingest-points", type=int, default=400_000, help="points in the ingest sample")
    parser.add_argument("--ingest-rounds", type=int, default=5, help="timed rounds of the ingest sample")
    parser.add_argument("--out", default=str(BASE_DIR / "bench" / "results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if len(sizes) < 2:
        parser.error("--sizes needs two fleet sizes (small and large)")
    args.schedule_on = sizes[0]
    _setup_django()
    from collectors.metrics import floor_hour

    # History ends an hour before this instant; the pages ask for "the last 7 days" from the real clock.
    now = floor_hour(datetime.now(UTC))
    started = time.perf_counter()
    results = {"version": 1, "started": now.isoformat(), "machine": machine(),
               "arguments": {"sizes": sizes, "days": args.days, "long_days": args.long_days,
                             "repeat": args.repeat, "ingest_points": args.ingest_points,
                             "ingest_rounds": args.ingest_rounds},
               "fleets": {}}  # fmt: skip
    for size in sizes[:1] + sizes[-1:]:
        results["fleets"][str(size)] = measure_fleet(size, now, args)
    results["ratios"] = ratios(results["fleets"])
    results["goals"] = {k: f"{op} {goal}" for k, (op, goal) in GOALS.items()}
    results["goals_met"] = verdicts(results["ratios"])
    results["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    print(f"[bench] {results['seconds']} s; written to {args.out}", file=sys.stderr)
    return results
