"""manage.py collect and reconcile, in the foreground, against the simulated account (AWS_SIMULATOR)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from collectors.retention import apply_retention
from dashboard.models import AwsAccount, CollectionRun, MetricPoint, MetricRollup


@pytest.fixture
def simulated(settings, db):
    settings.AWS_SIMULATOR = "seed=7,endpoints=8,accounts=1,regions=us-east-1"
    settings.COSTS_LOOKBACK_DAYS = 3
    settings.METRICS_INITIAL_LOOKBACK_HOURS = 2
    from collectors.runtime import simulator_for

    simulator_for.cache_clear()
    yield
    simulator_for.cache_clear()


def test_collect_runs_every_kind_for_the_ambient_account(simulated):
    out = StringIO()
    call_command("collect", stdout=out)
    text = out.getvalue()
    assert AwsAccount.objects.count() == 1
    for kind in ("inventory", "metrics", "costs"):
        assert (
            f"{kind} 111111111111" in text and CollectionRun.objects.filter(kind=kind, status="ok").exists()
        )


def test_backfill_collects_history_with_a_progress_bar(simulated, capsys):
    call_command("collect", "--only", "inventory")
    call_command("collect", "--backfill", "2d")
    err = capsys.readouterr().err
    assert "metrics 111111111111/us-east-1" in err and "query/s" in err  # tqdm's bar on stderr
    run = CollectionRun.objects.filter(kind="metrics").get()
    oldest = MetricPoint.objects.order_by("ts").values_list("ts", flat=True).first()
    assert run.status == "ok" and oldest <= run.started_at - timedelta(days=2) + timedelta(hours=1)


@pytest.mark.parametrize("value", ["90", "0d", "3w", "500d"])
def test_backfill_refuses_bad_durations(simulated, value):
    with pytest.raises(CommandError, match="backfill"):
        call_command("collect", "--backfill", value)


def test_collect_refuses_an_unknown_account(simulated):
    call_command("collect", "--only", "inventory")
    with pytest.raises(CommandError, match="not a configured, enabled account: 999999999999"):
        call_command("collect", "--account", "999999999999")


def test_reconcile_lists_estimate_against_bill(simulated):
    call_command("collect", "--only", "inventory")
    call_command("collect", "--backfill", "4d")
    call_command("collect", "--only", "costs")
    out = StringIO()
    call_command("reconcile", "--days", "3", "--all", "--tolerance", "0.02", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[-1].endswith(" 0 outside ±2%") and int(lines[-1].split()[0]) > 0
    assert all(line.startswith("ok ") for line in lines[:-1])


def test_retention_drops_old_points_and_rollups_only(simulated, settings):
    call_command("collect", "--only", "inventory")
    call_command("collect", "--backfill", "3d")
    total = MetricPoint.objects.count()
    settings.METRICS_RAW_RETENTION_DAYS = 2
    now = MetricPoint.objects.order_by("-ts").values_list("ts", flat=True).first()
    dropped = apply_retention(now)
    assert 0 < dropped["raw_points"] < total
    cutoff = now.replace(minute=0) - timedelta(days=2)  # whole hours only
    assert not MetricPoint.objects.filter(period__lt=3600, ts__lt=cutoff).exists()
    assert MetricPoint.objects.filter(
        period__lt=3600, ts__gte=cutoff, ts__lt=cutoff + timedelta(hours=1)
    ).exists()
    assert MetricRollup.objects.filter(resolution="1h", bucket__lt=cutoff).exists()


def test_collect_reads_a_members_costs_through_its_payer(settings, db):
    settings.AWS_SIMULATOR = "seed=7,endpoints=8,accounts=2,regions=us-east-1"
    settings.COSTS_LOOKBACK_DAYS = 3
    from collectors.runtime import simulator_for

    simulator_for.cache_clear()
    try:
        sim = simulator_for(settings.AWS_SIMULATOR)
        payer_info, member_info = sim.accounts
        payer = AwsAccount.objects.create(account_id=payer_info.account_id, regions=["us-east-1"])
        AwsAccount.objects.create(
            account_id=member_info.account_id, role_arn=member_info.role_arn, regions=["us-east-1"],
            cost_payer=payer,
        )  # fmt: skip
        out = StringIO()
        call_command("collect", "--only", "costs", stdout=out)
        assert out.getvalue().count("costs ") == 1 and f"costs {payer.account_id}" in out.getvalue()
        # Only the member chosen: nothing reads it for it, so it reads its own.
        out = StringIO()
        call_command("collect", "--only", "costs", "--account", member_info.account_id, stdout=out)
        assert f"costs {member_info.account_id}:" in out.getvalue()
    finally:
        simulator_for.cache_clear()
