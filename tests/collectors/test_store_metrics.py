"""Bulk storage of metric series: idempotent upserts and rollups that follow each statistic's rule."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from collectors.model import MetricQuery, SeriesResult, VariantRef
from collectors.store.metrics import store_results
from dashboard.models import AwsAccount, Endpoint, MetricPoint, MetricRollup, MetricSeries, ProductionVariant
from tests.support.plans import explain, plan_nodes

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def variant(db):
    account = AwsAccount.objects.create(account_id="111111111111", regions=["us-east-1"])
    endpoint = Endpoint.objects.create(
        account=account,
        region="us-east-1",
        name="e",
        arn="arn:e",
        status="InService",
        first_seen=T0,
        last_seen=T0,
    )
    return ProductionVariant.objects.create(
        endpoint=endpoint, name="AllTraffic", kind="serverless", memory_mb=2048, first_seen=T0, last_seen=T0
    )


def result(variant, metric, stat, values, period=300, start=T0):
    ref = VariantRef(key=variant.pk, endpoint_name="e", variant_name="AllTraffic", kind="serverless")
    stamps = [start + timedelta(seconds=period * i) for i in range(len(values))]
    return SeriesResult(
        query=MetricQuery(id="q0", variant=ref, metric=metric, stat=stat, period=period),
        timestamps=stamps, values=list(values), raw=list(values),
    )  # fmt: skip


def rollup(variant, metric, stat, resolution, bucket):
    series = MetricSeries.objects.get(variant=variant, metric=metric, stat=stat)
    return MetricRollup.objects.get(series=series, resolution=resolution, bucket=bucket)


def test_rollups_follow_each_statistics_rule(variant):
    twelve = [float(i) for i in range(12)]  # one hour of 5-minute points: 0..11
    store_results([
        result(variant, "Invocations", "Sum", twelve),
        result(variant, "ModelLatency", "p99", twelve),
        result(variant, "ModelLatency", "Average", twelve),
        result(variant, "ModelLatency", "Maximum", twelve),
    ])  # fmt: skip
    assert rollup(variant, "Invocations", "Sum", "1h", T0).value == 66.0
    assert rollup(variant, "ModelLatency", "p99", "1h", T0).value == 11.0  # upper bound: highest period p99
    assert rollup(variant, "ModelLatency", "Average", "1h", T0).value == 5.5
    assert rollup(variant, "ModelLatency", "Maximum", "1h", T0).points == 12
    day = T0.replace(hour=0)
    assert rollup(variant, "Invocations", "Sum", "1d", day).value == 66.0


def test_storing_an_overlapping_window_updates_instead_of_duplicating(variant):
    store_results([result(variant, "Invocations", "Sum", [1.0, 2.0, 3.0])])
    # The next poll re-reads the last two periods (late data changed one of them) and adds one.
    store_results([result(variant, "Invocations", "Sum", [20.0, 3.0, 4.0], start=T0 + timedelta(minutes=5))])
    points = list(MetricPoint.objects.order_by("ts").values_list("value", flat=True))
    assert points == [1.0, 20.0, 3.0, 4.0]
    assert rollup(variant, "Invocations", "Sum", "1h", T0).value == 28.0


def test_finest_period_wins_in_a_rollup_bucket(variant):
    store_results([result(variant, "Invocations", "Sum", [600.0], period=3600)])  # a backfilled hour
    store_results([result(variant, "Invocations", "Sum", [40.0] * 12, period=300)])  # the same hour, finer
    hourly = rollup(variant, "Invocations", "Sum", "1h", T0)
    assert (hourly.value, hourly.points) == (480.0, 12)


def test_non_finite_raw_values_are_not_stored(variant):
    store_results([result(variant, "Invocations", "Sum", [1.0, float("nan"), float("inf"), 2.0])])
    assert list(MetricPoint.objects.order_by("ts").values_list("raw", flat=True)) == [1.0, 2.0]


def test_missing_raw_values_are_not_stored(variant):
    store_results([result(variant, "Invocations", "Sum", [1.0, None, 2.0])])
    assert list(MetricPoint.objects.order_by("ts").values_list("raw", flat=True)) == [1.0, 2.0]
    assert rollup(variant, "Invocations", "Sum", "1h", T0).points == 2


def test_cold_start_counts_are_labelled_as_counts(variant):
    store_results(
        [
            result(variant, "ModelSetupTime", "SampleCount", [3.0]),
            result(variant, "ModelSetupTime", "Average", [900.0]),
        ]
    )
    units = dict(MetricSeries.objects.values_list("stat", "unit"))
    assert units == {"SampleCount": "count", "Average": "ms"}


def test_overlapping_fresh_and_older_points_in_one_batch_each_land_once(variant):
    """New points go straight in, points at or before what is stored go through the upsert: a batch
    mixing a re-read window, a fresh series and a gap inside stored data stores each point once."""
    store_results([result(variant, "Invocations", "Sum", [1.0] * 6)])  # 10:00-10:25
    store_results([result(variant, "Invocations", "Sum", [9.0], start=T0 + timedelta(minutes=50))])  # 10:50
    again = result(variant, "Invocations", "Sum", [2.0] * 12)  # 10:00-10:55: updates, fills 10:30-10:45
    fresh = result(variant, "ModelLatency", "Average", [5.0] * 12)
    assert store_results([again, fresh]).points == 24
    inv = MetricPoint.objects.filter(series__metric="Invocations").order_by("ts")
    assert list(inv.values_list("value", flat=True)) == [2.0] * 12
    assert MetricPoint.objects.filter(series__metric="ModelLatency").count() == 12
    assert rollup(variant, "Invocations", "Sum", "1h", T0).value == 24.0


def test_series_are_read_when_they_exist_and_only_the_missing_ones_created(variant):
    store_results([result(variant, "Invocations", "Sum", [1.0])])
    first = MetricSeries.objects.get(variant=variant, metric="Invocations", stat="Sum").pk
    store_results(
        [result(variant, "Invocations", "Sum", [2.0]), result(variant, "ModelLatency", "p99", [3.0])]
    )
    series = dict(MetricSeries.objects.filter(variant=variant).values_list("metric", "pk"))
    assert series.keys() == {"Invocations", "ModelLatency"} and series["Invocations"] == first
    assert MetricPoint.objects.filter(series_id=series["ModelLatency"]).count() == 1


def test_rollups_bucket_by_utc_hour_whatever_offset_the_timestamps_carry(variant):
    # The hour before is stored; then 10:00-10:55 UTC arrives written as 06:30-07:25 at UTC-03:30.
    # Floored in that zone, the span would start at 09:30 UTC and the 09:00 rollup would be recomputed
    # from its last six points alone.
    store_results([result(variant, "Invocations", "Sum", [1.0] * 12, start=T0 - timedelta(hours=1))])
    zone = timezone(timedelta(hours=-3, minutes=-30))
    store_results([result(variant, "Invocations", "Sum", [2.0] * 12, start=T0.astimezone(zone))])
    before = rollup(variant, "Invocations", "Sum", "1h", T0 - timedelta(hours=1))
    assert (before.value, before.points) == (12.0, 12)
    now = rollup(variant, "Invocations", "Sum", "1h", T0)
    assert (now.value, now.points) == (24.0, 12)
    assert rollup(variant, "Invocations", "Sum", "1d", T0.replace(hour=0)).value == 36.0


def test_deleting_an_endpoint_still_deletes_its_points(variant):
    """The points table has no foreign key in the database (checking it cost 40% of ingest): the ORM's
    cascade must still remove the points with their series."""
    store_results([result(variant, "Invocations", "Sum", [1.0] * 12)])
    assert MetricPoint.objects.count() == 12
    variant.endpoint.delete()
    assert MetricPoint.objects.count() == 0 and MetricSeries.objects.count() == 0


def test_a_batch_across_midnight_rolls_up_into_both_days(variant):
    midnight = T0.replace(hour=0) + timedelta(days=1)
    store_results([result(variant, "Invocations", "Sum", [1.0] * 24, start=midnight - timedelta(hours=1))])
    store_results([result(variant, "Invocations", "Sum", [2.0] * 12, start=midnight + timedelta(hours=1))])
    assert rollup(variant, "Invocations", "Sum", "1d", midnight - timedelta(days=1)).value == 12.0
    assert rollup(variant, "Invocations", "Sum", "1d", midnight).value == 12.0 + 24.0
    assert rollup(variant, "Invocations", "Sum", "1d", midnight).points == 24


POINT_INDEXES = ("dashboard_metricpoint", "metricpoint_")


def _store_analyzed_before_the_earlier_hours(variant, metrics) -> None:
    """150 variants' series, stored at T0+30h, ANALYZEd, then stored at T0..T0+6h: the statistics say the
    earlier hours are empty, as they did in the bench when its 28 s sample was taken."""
    from django.db import connection

    variants = [variant] + [
        ProductionVariant.objects.create(endpoint=variant.endpoint, name=f"v{i}", kind="serverless",
                                         memory_mb=2048, first_seen=T0, last_seen=T0)
        for i in range(149)
    ]  # fmt: skip
    later = T0 + timedelta(hours=30)
    store_results([result(v, m, s, [1.0] * 12, start=later) for v in variants for m, s in metrics])
    with connection.cursor() as cur:
        cur.execute("ANALYZE dashboard_metricpoint")
    store_results([result(v, m, s, [2.0] * 72) for v in variants for m, s in metrics])
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'dashboard_metricpoint' AND attname = 'ts'"
        )
        assert cur.fetchone()[0] == 1


def _assert_points_read_by_primary_key(sql: str, params: dict) -> None:
    plan = explain(sql, params)
    nodes = list(plan_nodes(plan))
    # Bitmap scans name their index on a child node: every index of the points table in the plan.
    indexes = {n["Index Name"] for n in nodes if n.get("Index Name", "").startswith(POINT_INDEXES)}
    seq = [n for n in nodes if n["Node Type"] == "Seq Scan" and n["Relation Name"] == "dashboard_metricpoint"]
    assert indexes == {"dashboard_metricpoint_pkey"} and not seq, plan


@pytest.mark.django_db
def test_points_are_read_by_primary_key_even_when_statistics_say_the_hours_are_empty(variant):
    # The bench's 200-endpoint sample once took 28 s instead of 0.9: the points table had been analyzed
    # while it held only later hours, so the planner thought the stored hours were empty and read them
    # through the ts index once per series. The rollup and the overlap check must read by primary key
    # whatever the statistics say.
    from collectors.store.metrics import HOURLY_ROLLUP, STORED_UNTIL, _span

    stats = ["Sum", "Average", "Maximum", "p99"]
    _store_analyzed_before_the_earlier_hours(variant, [("ModelLatency", s) for s in stats])
    series = sorted(MetricSeries.objects.values_list("id", "stat"))
    span = _span(series, T0, T0 + timedelta(hours=6))
    overlap = {"series": [i for i, _ in series], "period": [300] * len(series),
               "lo": T0, "hi": T0 + timedelta(hours=6)}  # fmt: skip
    _assert_points_read_by_primary_key(HOURLY_ROLLUP, span)
    _assert_points_read_by_primary_key(STORED_UNTIL, overlap)


@pytest.mark.django_db
def test_usage_for_cost_estimates_reads_points_by_primary_key_whatever_the_statistics_say(variant):
    # The same plan flip in the usage read behind cost estimates: one day of three series per variant.
    from collectors.store.usage import USAGE

    metrics = [("Invocations", "Sum"), ("ModelLatency", "Average"),
               ("ServerlessProvisionedConcurrencyInvocations", "Sum")]  # fmt: skip
    _store_analyzed_before_the_earlier_hours(variant, metrics)
    ids = sorted(ProductionVariant.objects.values_list("id", flat=True))
    day = T0.date()
    _assert_points_read_by_primary_key(USAGE, {"variants": ids, "start": day, "end": day + timedelta(days=1)})


def _rollup_version(variant, metric, stat, bucket):
    """Where the hourly rollup row lives in the heap: an UPDATE writes a new version elsewhere."""
    from django.db import connection

    series = MetricSeries.objects.get(variant=variant, metric=metric, stat=stat)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ctid::text FROM dashboard_metricrollup"
            " WHERE series_id = %s AND resolution = '1h' AND bucket = %s",
            [series.pk, bucket],
        )
        return cur.fetchone()[0]


def test_an_hourly_rollup_that_did_not_change_is_not_rewritten(variant):
    """Each poll re-reads the previous hour's last minutes: its rollup is recomputed, and written only
    when its figures changed."""
    store_results([result(variant, "Invocations", "Sum", [1.0] * 12)])
    before = _rollup_version(variant, "Invocations", "Sum", T0)
    store_results([result(variant, "Invocations", "Sum", [1.0] * 3, start=T0 + timedelta(minutes=45))])
    assert _rollup_version(variant, "Invocations", "Sum", T0) == before
    store_results([result(variant, "Invocations", "Sum", [5.0], start=T0 + timedelta(minutes=55))])
    assert _rollup_version(variant, "Invocations", "Sum", T0) != before
    assert rollup(variant, "Invocations", "Sum", "1h", T0).value == 16.0


def test_a_series_whose_values_do_not_pair_with_its_timestamps_stores_nothing(variant):
    store_results([result(variant, "Invocations", "Sum", [1.0, 2.0])])
    broken = result(variant, "ModelLatency", "Average", [5.0, 6.0, 7.0])
    broken.raw.pop()
    with pytest.raises(ValueError, match="do not pair up"):
        store_results([result(variant, "Invocations", "Sum", [9.0, 9.0]), broken])
    assert list(MetricPoint.objects.order_by("ts").values_list("value", flat=True)) == [1.0, 2.0]


def test_an_updated_rollup_stays_on_its_page(variant):
    """The rollup table keeps free space in its pages (fillfactor): rewriting a rollup row puts the new
    version beside the old one (a heap-only update, no new index entry), even once the page has been
    filled by inserts."""
    from django.db import connection

    store_results([result(variant, "Invocations", "Sum", [1.0] * 12)])
    series = MetricSeries.objects.get(variant=variant, metric="Invocations", stat="Sum")
    with connection.cursor() as cur:
        # Fill the first page and the next ones with earlier hours (about 130 rows fit in a page).
        cur.execute(
            "INSERT INTO dashboard_metricrollup (series_id, resolution, bucket, value, points)"
            " SELECT %s, '1h', %s - n * interval '1 hour', 1, 12 FROM generate_series(1, 600) AS n",
            [series.pk, T0],
        )
    before = _rollup_version(variant, "Invocations", "Sum", T0)
    store_results([result(variant, "Invocations", "Sum", [7.0], start=T0 + timedelta(minutes=55))])
    after = _rollup_version(variant, "Invocations", "Sum", T0)
    assert after != before  # rewritten
    assert after.split(",")[0] == before.split(",")[0]  # on the same page
