"""Collection runs that never hear from their task again stop saying "running"."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from collectors.aws.clients import CallLog, ClientFactory
from collectors.runs import RunRecorder, abandon_stale_runs
from collectors.tasks import LOCK_SECONDS, abandon_stale_runs_task
from dashboard.celery import app
from dashboard.models import AwsAccount, CollectionRun
from tests.conftest import NOW


def _run(account, started, status=CollectionRun.Status.RUNNING, **extra):
    return CollectionRun.objects.create(
        kind="metrics", account=account, region="us-east-1", started_at=started, status=status, **extra
    )


def test_runs_running_far_too_long_are_marked_failed_and_the_rest_left_alone(db):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    lost = _run(account, NOW - timedelta(hours=3))
    recent = _run(account, NOW - timedelta(minutes=30))
    finished = _run(
        account, NOW - timedelta(days=2), CollectionRun.Status.OK, finished_at=NOW - timedelta(days=2)
    )
    assert abandon_stale_runs(NOW, timedelta(hours=2)) == 1
    lost.refresh_from_db()
    assert lost.status == CollectionRun.Status.FAILED and lost.finished_at == NOW
    assert "probably lost" in lost.errors[0] and "2:00:00" in lost.errors[0]
    for run, status in ((recent, "running"), (finished, "ok")):
        run.refresh_from_db()
        assert run.status == status
    assert abandon_stale_runs(NOW, timedelta(hours=2)) == 0  # idempotent


def test_a_swept_run_that_does_finish_records_how_it_really_ended(db):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    clock = [NOW - timedelta(hours=3)]
    recorder = RunRecorder(
        "metrics", account, "us-east-1", ClientFactory(call_log=CallLog()), lambda: clock[0]
    )
    abandon_stale_runs(NOW, timedelta(hours=2))
    clock[0] = NOW + timedelta(minutes=1)
    run = recorder.finish(CollectionRun.Status.OK, [], {"points": 1})
    run.refresh_from_db()
    assert (run.status, run.errors, run.finished_at) == ("ok", [], clock[0])


def test_the_sweep_is_scheduled_and_waits_for_twice_the_scope_lock(db):
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("abandon_stale_runs")
    )
    assert entry["task"] in app.tasks
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    now = timezone.now()
    held = _run(account, now - timedelta(seconds=LOCK_SECONDS + 60))  # may still hold its scope's lock
    lost = _run(account, now - timedelta(seconds=2 * LOCK_SECONDS + 60))
    assert abandon_stale_runs_task.apply().get() == 1
    held.refresh_from_db()
    lost.refresh_from_db()
    assert (held.status, lost.status) == ("running", "failed")
