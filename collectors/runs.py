"""Recording a collection run: what it did, how it ended, and which AWS calls it made."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from collectors.aws.clients import ClientFactory
from dashboard.models import AwsAccount, CollectionRun

log = logging.getLogger(__name__)

MAX_ERRORS = 200  # a run that failed everywhere must not store a megabyte of repeats


def abandon_stale_runs(now: datetime, older_than: timedelta) -> int:
    """Mark failed the runs still 'running' that started more than `older_than` ago: their task never
    came back (its worker was lost and the message was not delivered again), and without this they would
    say 'running' forever. A run that does finish later still records how it really ended."""
    stale = CollectionRun.objects.filter(status=CollectionRun.Status.RUNNING, started_at__lt=now - older_than)
    count = stale.update(
        status=CollectionRun.Status.FAILED,
        errors=[f"no word from its task for {older_than}: the worker running it was probably lost"],
        finished_at=now,
    )
    if count:
        log.warning("marked %d collection runs failed: still running after %s", count, older_than)
    return count


class RunRecorder:
    """Creates the CollectionRun at the start and fills it in at the end, with the AWS calls and
    CloudWatch metrics requested by this run alone (the factory's call log may be shared)."""

    def __init__(
        self,
        kind: str,
        account: AwsAccount,
        region: str,
        factory: ClientFactory,
        clock: Callable[[], datetime],
        task_id: str = "",
    ):
        self.factory = factory
        self.clock = clock
        self.started = clock()
        self._calls_before = Counter(factory.call_log.calls)
        self._metrics_before = factory.call_log.metrics_requested
        if task_id:
            # The same task again (redelivered, retried): an earlier attempt died (worker killed, database
            # connection lost) before it could record how it ended. Left 'running' it would stay so forever.
            CollectionRun.objects.filter(task_id=task_id, status=CollectionRun.Status.RUNNING).update(
                status=CollectionRun.Status.FAILED,
                errors=["interrupted before it could record how it ended; the task ran again"],
                finished_at=self.started,
            )
        self.run = CollectionRun.objects.create(
            kind=kind, account=account, region=region, started_at=self.started, task_id=task_id
        )

    def finish(self, status: str, errors: list[str], stats: dict) -> CollectionRun:
        calls = Counter(self.factory.call_log.calls)
        calls.subtract(self._calls_before)
        run = self.run
        run.status = status
        run.errors = errors[:MAX_ERRORS] + (
            [f"... and {len(errors) - MAX_ERRORS} more"] if len(errors) > MAX_ERRORS else []
        )
        run.stats = dict(stats)
        run.api_calls = {k: v for k, v in sorted(calls.items()) if v}
        run.metrics_requested = self.factory.call_log.metrics_requested - self._metrics_before
        run.finished_at = self.clock()
        run.save(update_fields=["status", "errors", "stats", "api_calls", "metrics_requested", "finished_at"])
        account = run.account.account_id if run.account else "?"
        log.info(
            "%s %s/%s: %s, calls %s, errors %d",
            run.kind,
            account,
            run.region,
            status,
            run.api_calls,
            len(errors),
        )
        return run

    def crashed(self, exc: BaseException) -> None:
        """An unexpected error (a bug, bad data): record it on the run, then let it propagate."""
        self.run.status = CollectionRun.Status.FAILED
        self.run.errors = [f"{type(exc).__name__}: {exc}"]
        self.run.finished_at = self.clock()
        self.run.save(update_fields=["status", "errors", "finished_at"])
        log.exception("%s %s/%s crashed", self.run.kind, self.run.account_id, self.run.region)


def status_for(errors: list[str], *, stored_something: bool) -> str:
    if not errors:
        return CollectionRun.Status.OK
    return CollectionRun.Status.PARTIAL if stored_something else CollectionRun.Status.FAILED
