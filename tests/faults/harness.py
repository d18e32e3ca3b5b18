"""The fault scenarios' harness: a real Celery worker (tests/faults/faultworker.py) on its own real Redis,
writing into the real Postgres test database, against the simulated AWS account with a fault plan; and a
snapshot of everything collection stores, to compare a faulty run with a fault-free one row by row.

Every run is pinned to CLOCK, so a fault-free reference run and a faulty run (and the run after it that
fills the gap) ask for, and store, the same windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from subprocess import Popen

from celery import Celery
from django.db import models

from tests.faults.plan import FaultPlan
from tests.support.waiting import wait_until
from tests.support.worker import celery_worker

SPEC = "seed=7,endpoints=12,accounts=3"
# Early in a 5-minute period, so a run that takes a few minutes still ends in the same period.
CLOCK = datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)
ENV = {
    "AWS_SIMULATOR": SPEC,
    "METRICS_INITIAL_LOOKBACK_HOURS": "6",
    "COSTS_LOOKBACK_DAYS": "3",
}
KINDS = ("inventory", "metrics", "costs")


@dataclass
class FaultWorker:
    client: Celery
    proc: Popen
    plan: FaultPlan
    clock_file: Path
    log_path: Path
    results: dict[str, list[dict]] = field(default_factory=dict)

    def set_clock(self, moment: datetime) -> None:
        """Later tasks start at `moment` (the worker re-reads the file when each task starts)."""
        self.clock_file.write_text(moment.isoformat())

    def call(self, name: str, *args, timeout: float = 300) -> dict:
        return self.client.send_task(name, args=list(args)).get(timeout=timeout)

    def fan_out(self, kind: str, *, timeout: float = 300) -> list[dict]:
        ids = self.client.send_task(f"collectors.tasks.collect_all_{kind}").get(timeout=timeout)
        results = [self.client.AsyncResult(i).get(timeout=timeout) for i in ids]
        self.results[kind] = results
        return results

    def collect(self, kinds: Iterable[str] = KINDS) -> dict[str, list[dict]]:
        """One collection of every account and region, kind after kind, then wait for the tasks each
        queued (insights, budget evaluation, alert delivery) to finish."""
        out = {kind: self.fan_out(kind) for kind in kinds}
        self.wait_idle()
        return out

    def wait_idle(self, timeout: float = 300) -> None:
        """Until the broker's queue is empty and the worker has nothing active, reserved or scheduled
        (three times in a row: a finishing task may queue another)."""
        quiet = []

        def idle() -> bool:
            inspect = self.client.control.inspect(timeout=1.0)
            busy = [inspect.active(), inspect.reserved(), inspect.scheduled()]
            with self.client.connection_for_write() as conn:
                queued = conn.default_channel.client.llen("celery")
            now_idle = (
                queued == 0
                and all(b is not None for b in busy)
                and not any(tasks for b in busy for tasks in (b or {}).values())
            )
            quiet.append(now_idle)
            return len(quiet) >= 3 and all(quiet[-3:])

        wait_until(idle, timeout=timeout, what="the worker to go idle", interval=0.5)

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def fault_worker(tmp_path: Path, *, rules: list[dict] = (), env: dict | None = None, concurrency: int = 1):
    """A worker with the fault plan `rules` (rewrite it later with worker.plan.write) pinned to CLOCK."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    plan = FaultPlan(tmp_path / "faults.json")
    plan.write(list(rules))
    clock_file = tmp_path / "clock.txt"
    clock_file.write_text(CLOCK.isoformat())
    full_env = {**ENV, **(env or {}), "FAULTS_FILE": str(plan.path), "FAULTS_CLOCK_FILE": str(clock_file)}
    args = ("--concurrency", str(concurrency), "--without-gossip", "--without-mingle")
    with celery_worker(tmp_path, full_env, *args, entry="tests.faults.faultworker") as (client, proc):
        yield FaultWorker(client, proc, plan, clock_file, tmp_path / "worker.log")


def register_accounts(spec: str = SPEC) -> list:
    """The simulated fleet's accounts, as an operator would register them."""
    from collectors.simulator import SimulatedAWS
    from dashboard.models import AwsAccount

    return [
        AwsAccount.objects.create(
            account_id=a.account_id, label=a.label, role_arn=a.role_arn or "", regions=list(a.regions)
        )
        for a in SimulatedAWS.from_spec(spec).accounts
    ]


# --- what collection stored ------------------------------------------------------------------------
# Set from the clock of the run that wrote the row (first seen, fetched, computed, polled): a gap-filling
# run legitimately writes them later. Everything else must be equal.
WHEN_WRITTEN = {
    "first_seen", "last_seen", "fetched_at", "computed_at", "last_polled_at", "started_at", "finished_at",
    "created", "updated_at", "updated", "generated_at", "evaluated_at", "raised_at", "task_id",
}  # fmt: skip


def _natural(obj) -> object:
    """A row's identity that does not depend on insertion order (primary keys do)."""
    from dashboard.models import (
        AwsAccount,
        Endpoint,
        InstanceType,
        MetricSeries,
        ProductionVariant,
        Team,
    )

    if obj is None:
        return None
    if isinstance(obj, AwsAccount):
        return obj.account_id
    if isinstance(obj, Team):
        return obj.slug
    if isinstance(obj, InstanceType):
        return obj.name
    if isinstance(obj, Endpoint):
        return (obj.account.account_id, obj.region, obj.name)
    if isinstance(obj, ProductionVariant):
        return (*_natural(obj.endpoint), obj.name)
    if isinstance(obj, MetricSeries):
        return (*_natural(obj.variant), obj.metric, obj.stat)
    return repr(obj)


def _plain(value):
    if isinstance(value, datetime):
        # Data is stamped on whole minutes; an event's time is when the run noticed it (seconds after
        # CLOCK, which a task takes to get there).
        return value.replace(second=0, microsecond=0)
    if isinstance(value, float):
        return value if math.isnan(value) else float(f"{value:.12g}")  # sums in another order
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def rows(model: type[models.Model]) -> list[tuple]:
    # A primary key that is a relation (a cursor's variant) is identity, not an insertion counter: keep it.
    fields = [
        f for f in model._meta.concrete_fields
        if (f.is_relation or not f.primary_key) and f.name not in WHEN_WRITTEN
    ]  # fmt: skip
    related = [f.name for f in fields if f.is_relation]
    out = []
    for obj in model.objects.select_related(*related).iterator(chunk_size=5000):
        out.append(
            tuple(
                _natural(getattr(obj, f.name)) if f.is_relation else _plain(getattr(obj, f.attname))
                for f in fields
            )
        )
    return sorted(out, key=repr)


def snapshot() -> dict[str, list[tuple]]:
    """Everything collection stores, by model, as comparable rows."""
    from dashboard import models as m

    collected = [
        m.Endpoint, m.ProductionVariant, m.EndpointEvent, m.MetricSeries, m.MetricPoint, m.MetricRollup,
        m.MetricCursor, m.DailyCost, m.EndpointCost, m.EndpointSummary,
    ]  # fmt: skip
    out = {model.__name__: rows(model) for model in collected}
    # Forecasts name their scope by primary key: translate to the account, team or endpoint it is.
    forecasts = []
    accounts = dict(m.AwsAccount.objects.values_list("pk", "account_id"))
    teams = dict(m.Team.objects.values_list("pk", "slug"))
    endpoints = {e.pk: _natural(e) for e in m.Endpoint.objects.select_related("account")}
    names = {"account": accounts, "team": teams, "endpoint": endpoints}
    for f in m.CostForecast.objects.all():
        scope = names.get(f.scope, {}).get(f.scope_id, f.scope_id)
        forecasts.append((f.scope, scope, f.month, _plain(f.amount), _plain(f.lower), _plain(f.upper),
                          f.currency, f.method, _plain(f.daily)))  # fmt: skip
    out["CostForecast"] = sorted(forecasts, key=repr)
    return out


def differences(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]], *, show: int = 5) -> str:
    """'' if equal, else per model: how many rows are missing, extra, and a few examples."""
    lines = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name, []), actual.get(name, [])
        if want == got:
            continue
        want_set, got_set = set(map(repr, want)), set(map(repr, got))
        missing = sorted(want_set - got_set)
        extra = sorted(got_set - want_set)
        lines.append(
            f"{name}: {len(want)} expected, {len(got)} stored, {len(missing)} missing, {len(extra)} extra"
        )
        lines += [f"  - {r[:300]}" for r in missing[:show]] + [f"  + {r[:300]}" for r in extra[:show]]
    return "\n".join(lines)


def assert_same_data(expected: dict[str, list[tuple]], actual: dict[str, list[tuple]]) -> None:
    assert all(expected.values()) or expected.get("MetricPoint"), "the reference stored nothing"
    diff = differences(expected, actual)
    assert not diff, "stored data differs from the fault-free run's:\n" + diff


# One fault-free run per test session (same spec, same clock): what every faulty run must end up with.
_REFERENCE: dict[str, dict[str, list[tuple]]] = {}


def reference(tmp_path: Path) -> dict[str, list[tuple]]:
    """The fault-free run's snapshot. Computed on first use in the calling test's (empty) database,
    then that data is deleted again, leaving only the registered accounts."""
    from dashboard.models import AwsAccount

    if not AwsAccount.objects.exists():
        register_accounts()
    if "data" not in _REFERENCE:
        with fault_worker(tmp_path / "reference") as worker:
            results = worker.collect()
        statuses = {r["status"] for kind in results.values() for r in kind}
        assert statuses == {"ok"}, f"the fault-free reference run did not succeed: {results}"
        _REFERENCE["data"] = snapshot()
        forget_collected_data()
    return _REFERENCE["data"]


def forget_collected_data() -> None:
    """Delete what collection stored (not the accounts, teams, users or settings)."""
    from dashboard import models as m

    for model in (
        m.MetricPoint, m.MetricRollup, m.EndpointSummary, m.MetricCursor, m.MetricSeries, m.EndpointCost,
        m.EndpointEvent, m.Recommendation, m.ProductionVariant, m.Endpoint, m.DailyCost, m.CostForecast,
        m.CollectionRun,
    ):  # fmt: skip
        model.objects.all().delete()


# --- reading the outcome of a scenario -----------------------------------------------------------------
def run_of(kind: str, account: str, region: str = ""):
    """The one run of `kind` for a scope (cost runs have no region)."""
    from dashboard.models import CollectionRun

    return CollectionRun.objects.get(kind=kind, account__account_id=account, region=region)


def scope_rows(snap: dict, model: str, account: str, region: str) -> list[tuple]:
    """A snapshot's rows of `model` whose first column (a variant, series or endpoint) is in the scope."""
    return [r for r in snap[model] if r[0][:2] == (account, region)]


def cursored(account: str, region: str) -> set[str]:
    """The endpoints of a scope with a variant whose metric cursor exists (moved at least once)."""
    from dashboard.models import MetricCursor

    return set(
        MetricCursor.objects.filter(
            variant__endpoint__account__account_id=account, variant__endpoint__region=region
        ).values_list("variant__endpoint__name", flat=True)
    )
