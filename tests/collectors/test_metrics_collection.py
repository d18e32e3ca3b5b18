"""Metrics collection end to end against the simulated account: batching, polling schedule, cursors,
idempotent re-collection, backfill windows by data age, and a failed batch filled by the next run."""

import math
from datetime import timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from django.db.models import Max, Min

from collectors.aws.clients import CallLog, ClientFactory
from collectors.inventory import collect_inventory
from collectors.metricplan import plan_queries
from collectors.metrics import collect_metrics, variant_ref
from collectors.simulator import SimulatedAWS
from dashboard.models import (
    AwsAccount,
    Endpoint,
    MetricCursor,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    ProductionVariant,
)
from tests.conftest import NOW


def factory_for(sim, extra_hooks=()):
    session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")
    return ClientFactory(
        session=session, hooks=[sim.attach, *extra_hooks], call_log=CallLog(), clock=lambda: NOW
    )


def at(moment):
    return lambda: moment


class Clock:
    """One clock for the simulator and the collector, moved forward by the test."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def small_fleet(clock):
    return SimulatedAWS(seed=7, clock=clock, endpoints=8, accounts=1, regions=("us-east-1",))


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def small_sim(clock):
    return small_fleet(clock)


@pytest.fixture
def account(db, small_sim):
    account = AwsAccount.objects.create(account_id=small_sim.ambient_account_id, regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW))
    return account


def planned_queries():
    variants = ProductionVariant.objects.select_related("endpoint", "instance_type")
    return plan_queries([variant_ref(v) for v in variants], 300)


def point_rows():
    return sorted(
        MetricPoint.objects.values_list(
            "series__variant__name", "series__metric", "series__stat", "period", "ts", "value"
        )
    )


@pytest.mark.django_db
def test_first_poll_requests_every_planned_metric_once_in_full_calls(small_sim, account):
    run = collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW))
    expected = len(planned_queries())
    assert run.status == "ok", run.errors
    assert run.metrics_requested == expected
    assert run.api_calls == {"cloudwatch:GetMetricData": math.ceil(expected / 500)}
    assert run.stats["points"] > 0 and run.stats["queries"] == expected
    assert MetricCursor.objects.count() == ProductionVariant.objects.count()
    # The last complete 5-minute period before 10:17 ends at 10:15.
    assert {c.collected_until for c in MetricCursor.objects.all()} == {NOW.replace(minute=15)}


@pytest.mark.django_db
def test_stored_invocations_match_the_simulators_traffic(small_sim, account):
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW))
    endpoint = small_sim.fleet.by_role("throttling")[0]
    variant = endpoint.variants[0]
    # Compare with the simulator's own CloudWatch answer, queried independently of the collector.
    cw = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x").client(
        "cloudwatch", region_name="us-east-1"
    )
    small_sim.attach(cw, small_sim.ambient_account_id)
    start, end = NOW.replace(minute=15) - timedelta(hours=20), NOW.replace(minute=15)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint.name},
        {"Name": "VariantName", "Value": variant.name},
    ]
    metric = {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": dimensions}
    query = {"Id": "a", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Sum"}}
    data = cw.get_metric_data(MetricDataQueries=[query], StartTime=start, EndTime=end)["MetricDataResults"][0]
    series = MetricSeries.objects.get(variant__endpoint__name=endpoint.name, metric="Invocations", stat="Sum")
    stored = dict(
        MetricPoint.objects.filter(series=series, ts__gte=start, ts__lt=end).values_list("ts", "value")
    )
    assert stored and stored == dict(zip(data["Timestamps"], data["Values"], strict=True))


def rollup_rows():
    """Rollups to 12 significant digits: Postgres adds floats in scan order, and rows updated in place
    can be scanned in another order, which moves the last bit of a sum (74.15837071953973 vs ...975)."""
    return sorted(
        (series, resolution, bucket, None if value is None else float(f"{value:.12g}"))
        for series, resolution, bucket, value in MetricRollup.objects.values_list(
            "series_id", "resolution", "bucket", "value"
        )
    )


@pytest.mark.django_db
def test_collecting_twice_leaves_the_same_rows_and_a_second_poll_is_not_due(small_sim, account):
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW))
    first = point_rows()
    rollups = rollup_rows()
    # Not due ten minutes later: polled hourly, not every few minutes.
    again = collect_metrics(
        account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW + timedelta(minutes=10))
    )
    assert again.metrics_requested == 0 and again.api_calls == {}
    # Forced to fetch the very same 24 hours again: every point and rollup is updated in place.
    refetch = collect_metrics(
        account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW), backfill=timedelta(hours=24)
    )
    assert refetch.stats["points"] == len(first)
    assert point_rows() == first
    assert rollup_rows() == rollups


@pytest.mark.django_db
def test_next_hour_fetches_only_since_the_cursor_with_overlap(small_sim, account, clock):
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    later = clock.now = NOW + timedelta(hours=1)
    run = collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    assert run.status == "ok", run.errors
    assert run.metrics_requested == len(planned_queries())
    newest = MetricPoint.objects.order_by("-ts").values_list("ts", flat=True).first()
    assert newest == later.replace(minute=10)  # the 11:10-11:15 period is the last complete one
    # Points before the overlap were not re-fetched: the run stored about one hour and a bit per series.
    per_series = run.stats["points"] / MetricSeries.objects.count()
    assert per_series <= (60 + 15 + 60) / 5


@pytest.mark.django_db
def test_idle_variants_are_polled_less_often(small_sim, account, settings):
    # Four days of data show which variants had no invocation for METRICS_IDLE_DAYS (3).
    collect_metrics(
        account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW), backfill=timedelta(days=4)
    )
    idle = MetricCursor.objects.filter(last_invocation_at=None).count()
    busy = MetricCursor.objects.exclude(last_invocation_at=None).count()
    assert busy > 0
    run = collect_metrics(
        account, "us-east-1", factory=factory_for(small_sim), clock=at(NOW + timedelta(hours=1))
    )
    assert run.stats["polled"] == busy
    assert run.stats["variants"] == busy + idle


@pytest.mark.django_db
def test_a_failed_batch_is_recorded_and_filled_by_the_next_run(small_sim, account, clock):
    failures = {"left": 1}

    def throttle_once(client, account_id):
        def handler(model, **_):
            if model.name == "GetMetricData" and failures["left"]:
                failures["left"] -= 1
                error = {
                    "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
                return AWSResponse(None, 400, {}, None), error
            return None

        client.meta.events.register_first("before-call.cloudwatch.GetMetricData", handler)

    broken = collect_metrics(
        account, "us-east-1", factory=factory_for(small_sim, [throttle_once]), clock=clock
    )
    assert broken.status in {"partial", "failed"} and "Throttling" in broken.errors[0]
    # The throttled batch's variants got no cursor, so the next run asks for their data again.
    assert MetricCursor.objects.count() < ProductionVariant.objects.count()

    clock.now = NOW + timedelta(hours=1)
    retry = collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    assert retry.status == "ok"
    healed = point_rows()

    # The failed run left nothing behind that changes the outcome: a fault-free first poll at the same
    # time stores exactly the same points.
    MetricPoint.objects.all().delete()
    MetricCursor.objects.all().delete()
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    assert point_rows() == healed


@pytest.mark.django_db
def test_backfill_is_hourly_beyond_the_detail_horizon_and_every_window_is_contiguous(db, clock):
    sim = SimulatedAWS(seed=7, clock=clock, endpoints=1, accounts=1, regions=("us-east-1",))
    account = AwsAccount.objects.create(account_id=sim.ambient_account_id, regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=factory_for(sim), clock=clock)
    run = collect_metrics(
        account, "us-east-1", factory=factory_for(sim), clock=clock, backfill=timedelta(days=20)
    )
    assert run.status == "ok", run.errors
    series = MetricSeries.objects.get(metric="Invocations", stat="Sum")
    points = MetricPoint.objects.filter(series=series)
    stamps = dict(points.values_list("period").annotate(first=Min("ts")))
    detail_start = (NOW - timedelta(days=7)).replace(minute=0)
    assert set(stamps) == {300, 3600}
    assert stamps[3600] >= NOW - timedelta(days=20, hours=1) and stamps[300] == detail_start
    hourly_last = MetricPoint.objects.filter(series=series, period=3600).aggregate(m=Max("ts"))["m"]
    # The hourly part ends where the 5-minute detail starts.
    assert hourly_last == detail_start - timedelta(hours=1)
    cursor = MetricCursor.objects.get()
    assert cursor.collected_from == NOW.replace(minute=0) - timedelta(days=20)


@pytest.mark.django_db
def test_a_deleted_endpoints_last_hour_is_still_collected_then_never_again(small_sim, account, clock):
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    busy = MetricCursor.objects.exclude(last_invocation_at=None).select_related("variant__endpoint").first()
    victim = busy.variant.endpoint
    Endpoint.objects.filter(pk=victim.pk).update(deleted_at=NOW + timedelta(minutes=40))

    clock.now = NOW + timedelta(hours=1)
    collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    cursor = MetricCursor.objects.get(variant=busy.variant)
    assert cursor.collected_until >= NOW + timedelta(minutes=40)  # the minutes before deletion are stored

    clock.now = NOW + timedelta(hours=2)
    run = collect_metrics(account, "us-east-1", factory=factory_for(small_sim), clock=clock)
    assert run.stats["variants"] == ProductionVariant.objects.exclude(endpoint=victim).count()
