"""Inventory collection for one account and region: the function the Celery task, the management
command and the tests all call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.sagemaker import describe_error, fetch_inventory
from collectors.runs import RunRecorder, status_for
from collectors.runtime import build_factory, target
from collectors.store.inventory import store_inventory
from dashboard.models import AwsAccount, CollectionRun


def collect_inventory(
    account: AwsAccount,
    region: str,
    *,
    factory: ClientFactory | None = None,
    clock: Callable[[], datetime] = timezone.now,
    task_id: str = "",
) -> CollectionRun:
    factory = factory or build_factory(CallLog())
    recorder = RunRecorder(CollectionRun.Kind.INVENTORY, account, region, factory, clock, task_id)
    try:
        client = factory.client("sagemaker", account=target(account), region=region)
        snapshot = fetch_inventory(client, account_id=account.account_id, region=region)
        stats = store_inventory(account, snapshot, recorder.started)
    except (ClientError, BotoCoreError) as exc:
        # The account as a whole failed (role not assumable, credentials expired): nothing stored changes.
        return recorder.finish(CollectionRun.Status.FAILED, [describe_error(exc)], {})
    except Exception as exc:
        recorder.crashed(exc)
        raise
    return recorder.finish(
        status_for(snapshot.errors, stored_something=bool(snapshot.endpoints)), snapshot.errors, stats
    )
