"""Inventory collection for one account and region: the function the Celery task, the management
command and the tests all call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.sagemaker import describe_error, fetch_inventory
from collectors.runtime import build_factory, target
from collectors.store.inventory import store_inventory
from dashboard.models import AwsAccount, CollectionRun

log = logging.getLogger(__name__)


def collect_inventory(
    account: AwsAccount,
    region: str,
    *,
    factory: ClientFactory | None = None,
    clock: Callable[[], datetime] = timezone.now,
    task_id: str = "",
) -> CollectionRun:
    started = clock()
    factory = factory or build_factory(CallLog())
    calls_before = dict(factory.call_log.calls)
    run = CollectionRun.objects.create(
        kind=CollectionRun.Kind.INVENTORY, account=account, region=region, started_at=started, task_id=task_id
    )
    errors: list[str] = []
    stats: dict = {}
    try:
        client = factory.client("sagemaker", account=target(account), region=region)
        snapshot = fetch_inventory(client, account_id=account.account_id, region=region)
        errors = snapshot.errors
        stats = store_inventory(account, snapshot, started)
        if not errors:
            status = CollectionRun.Status.OK
        elif snapshot.endpoints:
            status = CollectionRun.Status.PARTIAL
        else:
            status = CollectionRun.Status.FAILED
    except (ClientError, BotoCoreError) as exc:
        # The account as a whole failed (role not assumable, credentials expired): nothing stored changes.
        errors = [describe_error(exc)]
        status = CollectionRun.Status.FAILED
        log.warning("inventory %s/%s failed: %s", account.account_id, region, errors[0])
    except Exception as exc:
        run.status = CollectionRun.Status.FAILED
        run.errors = [f"{type(exc).__name__}: {exc}"]
        run.finished_at = clock()
        run.save(update_fields=["status", "errors", "finished_at"])
        log.exception("inventory %s/%s crashed", account.account_id, region)
        raise
    calls = {
        k: v - calls_before.get(k, 0)
        for k, v in factory.call_log.calls.items()
        if v != calls_before.get(k, 0)
    }
    run.status = status
    run.errors = errors
    run.stats = stats
    run.api_calls = dict(sorted(calls.items()))
    run.finished_at = clock()
    run.save(update_fields=["status", "errors", "stats", "api_calls", "finished_at"])
    log.info(
        "inventory %s/%s: %s, %s endpoints, %s calls",
        account.account_id,
        region,
        status,
        stats.get("endpoints", 0),
        sum(calls.values()),
    )
    return run
