"""Celery tasks: thin wrappers naming what to do; the work is in plain functions.

Fan-out tasks queue one task per account (and region), so one failing account never stops the others.
Each leaf task holds a short Redis lock on its scope: a task delivered twice, or a beat tick during a
long run, does not spend AWS calls twice (the writes are idempotent either way). A leaf task that loses
its database connection (Postgres restarted, failed over) is retried: each batch it stored is kept and
the writes are idempotent."""

from __future__ import annotations

from datetime import timedelta

from celery import current_app, shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from collectors.costs import collect_costs
from collectors.inventory import collect_inventory
from collectors.locks import single_flight
from collectors.metrics import collect_metrics
from collectors.retention import apply_retention
from collectors.runs import abandon_stale_runs
from collectors.runtime import cost_readers, enabled_accounts
from dashboard.models import AwsAccount

LOCK_SECONDS = 3600
# Connection lost, server shutting down, deadlock: transient. 5 s, 10 s, 20 s (with jitter).
ON_DATABASE_ERROR = {
    "autoretry_for": (OperationalError, InterfaceError), "retry_backoff": 5, "max_retries": 3,
}  # fmt: skip


def _summary(run) -> dict:
    return {"run": run.pk, "status": run.status, "stats": run.stats}


@shared_task(name="collectors.tasks.collect_all_inventory")
def collect_all_inventory() -> list[str]:
    return [collect_inventory_task.delay(a.pk, region).id for a in enabled_accounts() for region in a.regions]


@shared_task(name="collectors.tasks.collect_inventory", bind=True, **ON_DATABASE_ERROR)
def collect_inventory_task(self, account_pk: int, region: str) -> dict:
    with single_flight(f"inventory:{account_pk}:{region}", LOCK_SECONDS) as mine:
        if not mine:
            return {"skipped": "another inventory run for this account and region is in progress"}
        return _summary(
            collect_inventory(AwsAccount.objects.get(pk=account_pk), region, task_id=self.request.id or "")
        )


@shared_task(name="collectors.tasks.collect_all_metrics")
def collect_all_metrics() -> list[str]:
    return [collect_metrics_task.delay(a.pk, region).id for a in enabled_accounts() for region in a.regions]


@shared_task(name="collectors.tasks.collect_metrics", bind=True, **ON_DATABASE_ERROR)
def collect_metrics_task(self, account_pk: int, region: str, backfill_hours: int | None = None) -> dict:
    with single_flight(f"metrics:{account_pk}:{region}", LOCK_SECONDS) as mine:
        if not mine:
            return {"skipped": "another metrics run for this account and region is in progress"}
        account = AwsAccount.objects.get(pk=account_pk)
        backfill = timedelta(hours=backfill_hours) if backfill_hours else None
        run = collect_metrics(account, region, task_id=self.request.id or "", backfill=backfill)
    # Insights read what was just stored; queued by name so collection does not import the dashboard.
    current_app.send_task("dashboard.tasks.recompute_insights", args=[account.account_id, region])
    current_app.send_task("dashboard.tasks.evaluate_budgets")  # today's usage estimate moved
    return _summary(run)


@shared_task(name="collectors.tasks.collect_all_costs")
def collect_all_costs() -> list[str]:
    # A member whose payer is enabled is read by the payer's run (AwsAccount.cost_payer).
    return [collect_costs_task.delay(a.pk).id for a in cost_readers(enabled_accounts())]


@shared_task(name="collectors.tasks.collect_costs", bind=True, **ON_DATABASE_ERROR)
def collect_costs_task(self, account_pk: int) -> dict:
    with single_flight(f"costs:{account_pk}", LOCK_SECONDS) as mine:
        if not mine:
            return {"skipped": "another cost run for this account is in progress"}
        run = collect_costs(AwsAccount.objects.get(pk=account_pk), task_id=self.request.id or "")
    current_app.send_task("dashboard.tasks.evaluate_budgets")  # new costs and forecasts
    return _summary(run)


@shared_task(name="collectors.tasks.apply_retention")
def apply_retention_task() -> dict:
    return apply_retention()


@shared_task(name="collectors.tasks.abandon_stale_runs")
def abandon_stale_runs_task() -> int:
    # A leaf task holds its scope's lock for LOCK_SECONDS; a run still 'running' after twice that has lost
    # its lock (another run may have started since) and its task is not coming back.
    return abandon_stale_runs(timezone.now(), timedelta(seconds=2 * LOCK_SECONDS))
