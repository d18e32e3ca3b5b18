"""Celery tasks: thin wrappers naming what to do; the work is in plain functions."""

from __future__ import annotations

from celery import shared_task

from collectors.inventory import collect_inventory
from collectors.runtime import enabled_accounts
from dashboard.models import AwsAccount


@shared_task(name="collectors.tasks.collect_all_inventory")
def collect_all_inventory() -> list[str]:
    """Fan out one task per account and region, so one failing account never stops the others.
    Returns the queued task ids."""
    return [
        collect_inventory_task.delay(account.pk, region).id
        for account in enabled_accounts()
        for region in account.regions
    ]


@shared_task(name="collectors.tasks.collect_inventory", bind=True)
def collect_inventory_task(self, account_pk: int, region: str) -> dict:
    account = AwsAccount.objects.get(pk=account_pk)
    run = collect_inventory(account, region, task_id=self.request.id or "")
    return {"run": run.pk, "status": run.status, "stats": run.stats}
