"""Cost per 1,000 invocations per ISO week and cold starts by hour of day: the services' figures equal a
hand computation from the stored summary rows (across a week and a month boundary, with a week without
any cost and days whose cost has not arrived), and the charts drawn from them."""

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard import charts
from dashboard.insights.model import HourProfile
from dashboard.models import AwsAccount, Endpoint, EndpointSummary
from dashboard.services.trends import Week, cold_starts_by_hour, per_1k, weekly_cost_per_1k
from tests.conftest import NOW

TODAY = NOW.date()  # Friday 20 November 2026: ISO week 2026-W47 began on Monday the 16th
NO_COST_WEEK = date(2026, 11, 2)  # 2026-W45: metrics but no cost at all


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture
def two_endpoints(db):
    account = AwsAccount.objects.create(account_id="777777777777", regions=["us-east-1"])
    return [
        Endpoint.objects.create(
            account=account,
            region="us-east-1",
            name=name,
            status="InService",
            arn=f"arn:{name}",
            first_seen=NOW,
            last_seen=NOW,
        )
        for name in ("alpha", "beta")
    ]


@pytest.fixture
def daily_rows(two_endpoints):
    """Five weeks of daily rows (19 October to today) for two endpoints; no cost in W45, none yet for
    today and yesterday (Cost Explorer lags) though the invocations are stored; beta starts on the 28th."""
    alpha, beta = two_endpoints
    rows = []
    day = date(2026, 10, 19)
    while day <= TODAY:
        n = (day - date(2026, 10, 19)).days
        costed = not (NO_COST_WEEK <= day < NO_COST_WEEK + timedelta(days=7)) and day < TODAY - timedelta(
            days=1
        )
        for endpoint, base in ((alpha, 1000), (beta, 300)):
            if endpoint is beta and day < date(2026, 10, 28):
                continue
            rows.append(
                EndpointSummary(
                    endpoint=endpoint, resolution="1d", bucket=midnight(day), invocations=base + 37 * n,
                    cost=Decimal(f"{1 + n % 5}.{n:02d}") * (2 if endpoint is beta else 1) if costed else None,
                    cost_source="resource" if costed else "", currency="USD" if costed else "",
                )
            )  # fmt: skip
        day += timedelta(days=1)
    EndpointSummary.objects.bulk_create(rows)
    return two_endpoints


def by_hand(ids) -> dict[date, tuple[Decimal, float, int]]:
    """Monday -> (cost, invocations of the costed days, costed endpoint-days), from the stored rows."""
    weeks = defaultdict(lambda: [Decimal(0), 0.0, 0])
    for row in EndpointSummary.objects.filter(endpoint_id__in=ids, resolution="1d"):
        if row.cost is None:
            continue
        day = row.bucket.date()
        monday = day - timedelta(days=day.weekday())
        weeks[monday][0] += row.cost
        weeks[monday][1] += row.invocations
        weeks[monday][2] += 1
    return {k: tuple(v) for k, v in weeks.items()}


def test_weekly_cost_per_1k_equals_a_hand_computation_from_the_stored_rows(daily_rows):
    ids = [e.pk for e in daily_rows]
    weeks = weekly_cost_per_1k(ids, 4, TODAY)
    expected = by_hand(ids)
    assert [w.start for w in weeks] == [
        date(2026, 10, 26),
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
    ]
    assert [w.iso for w in weeks] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert [w.partial for w in weeks] == [False, False, False, True]
    for w in weeks:
        if w.start == NO_COST_WEEK:
            continue
        cost, invocations, days = expected[w.start]
        assert (w.cost, w.invocations, w.cost_days) == (cost, invocations, days)
        assert w.cost_per_1k == cost / Decimal(str(invocations)) * 1000
        assert w.currency == "USD" and w.sources == ("resource",)
    # W44 runs from Monday 26 October over the month's end to Sunday 1 November: alpha's 7 days and
    # beta's 5 (it starts on Wednesday the 28th).
    assert weeks[0].cost_days == 12 and weeks[0].end == date(2026, 11, 2)
    # This week so far: Monday to Wednesday have a cost, Thursday and today not yet; only the costed
    # days' invocations count, so the figure is not diluted by traffic whose cost is still missing.
    assert weeks[3].cost_days == 6


def test_a_week_without_any_cost_is_unknown_and_breaks_the_change(daily_rows):
    weeks = {w.start: w for w in weekly_cost_per_1k([e.pk for e in daily_rows], 4, TODAY)}
    empty = weeks[NO_COST_WEEK]
    assert (empty.cost, empty.invocations, empty.cost_days, empty.cost_per_1k) == (None, None, 0, None)
    assert empty.change is None
    assert weeks[date(2026, 11, 9)].change is None  # nothing to compare with the week before


def test_change_is_the_ratio_to_the_week_before_including_the_first_weeks(daily_rows):
    ids = [e.pk for e in daily_rows]
    expected = by_hand(ids)
    weeks = weekly_cost_per_1k(ids, 4, TODAY)

    def hand_per_1k(monday):
        cost, invocations, _ = expected[monday]
        return cost / Decimal(str(invocations)) * 1000

    # The first week shown is compared with the week before it (W43, read but not shown).
    before, now = hand_per_1k(date(2026, 10, 19)), hand_per_1k(date(2026, 10, 26))
    assert weeks[0].change == pytest.approx(float((now - before) / before))
    before, now = hand_per_1k(date(2026, 11, 9)), hand_per_1k(date(2026, 11, 16))
    assert weeks[3].change == pytest.approx(float((now - before) / before))


def test_one_endpoint_alone_and_no_endpoints(daily_rows):
    beta = daily_rows[1]
    alone = weekly_cost_per_1k([beta.pk], 4, TODAY)
    cost, invocations, days = by_hand([beta.pk])[date(2026, 10, 26)]
    assert (alone[0].cost, alone[0].invocations, alone[0].cost_days) == (cost, invocations, days)
    assert days == 5  # beta starts on Wednesday the 28th
    nothing = weekly_cost_per_1k([], 3, TODAY)
    assert [(w.cost, w.cost_per_1k, w.partial) for w in nothing] == [(None, None, False)] * 2 + [
        (None, None, True)
    ]


def test_a_week_with_a_cost_but_no_invocations_has_no_cost_per_1k():
    assert per_1k(Decimal("5"), 0.0) is None and per_1k(None, 10.0) is None
    assert per_1k(Decimal("2"), 4000.0) == Decimal("0.5")


# --- cold starts by hour of day ---------------------------------------------------------------------
@pytest.fixture
def hourly_rows(two_endpoints):
    alpha, beta = two_endpoints
    start = midnight(TODAY - timedelta(days=3))
    rows = []
    for h in range(72):
        bucket = start + timedelta(hours=h)
        cold = 3.0 if bucket.hour in (7, 8) else (1.0 if bucket.hour == 20 else 0.0)
        rows.append(
            EndpointSummary(
                endpoint=alpha, resolution="1h", bucket=bucket, cold_starts=cold,
                invocations=0.0 if bucket.hour == 3 else 50.0 + h, cold_start_ms=cold * (900.0 + h),
            )
        )  # fmt: skip
        rows.append(
            EndpointSummary(endpoint=beta, resolution="1h", bucket=bucket, invocations=999, cold_starts=9)
        )
    EndpointSummary.objects.bulk_create(rows)
    return start


def test_cold_starts_by_hour_equal_the_hourly_rows_summed_per_hour_of_day(two_endpoints, hourly_rows):
    alpha = two_endpoints[0]
    start, end = hourly_rows + timedelta(hours=5), hourly_rows + timedelta(days=2, hours=20)
    profile = cold_starts_by_hour(alpha.pk, start, end)
    assert [p.hour for p in profile] == list(range(24))
    totals = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in EndpointSummary.objects.filter(
        endpoint=alpha, resolution="1h", bucket__gte=start, bucket__lt=end
    ):
        t = totals[row.bucket.hour]
        t[0], t[1], t[2] = t[0] + row.invocations, t[1] + row.cold_starts, t[2] + row.cold_start_ms
    for p in profile:
        assert (p.invocations, p.cold_starts, p.cold_start_ms) == tuple(totals[p.hour])
    assert profile[3].cold_start_rate is None  # no invocations at 03:00: unknown, not 0%
    assert profile[7].cold_start_rate == totals[7][1] / totals[7][0] > 0


def test_cold_start_chart_shows_rate_in_percent_and_average_duration(two_endpoints, hourly_rows):
    profile = cold_starts_by_hour(two_endpoints[0].pk, hourly_rows, hourly_rows + timedelta(days=3))
    chart = charts.cold_starts_by_hour_chart(profile)
    rate, duration = chart.figure.data
    assert list(rate.x) == list(range(24))
    assert rate.y[7] == pytest.approx(profile[7].cold_starts / profile[7].invocations * 100, rel=1e-5)
    assert duration.y[7] == pytest.approx(profile[7].cold_start_ms / profile[7].cold_starts, rel=1e-5)
    assert rate.y[3] is None and duration.y[12] is None  # no invocations; no cold start to time
    assert duration.yaxis == "y2"
    json.loads(chart.payload)


def test_cold_start_chart_without_traffic_says_so():
    chart = charts.cold_starts_by_hour_chart([HourProfile(h) for h in range(24)])
    assert not chart.figure.data
    assert "no invocations in this range" in chart.figure.layout.annotations[0].text


def test_weekly_chart_draws_the_current_week_apart_and_says_when_nothing_is_known(daily_rows):
    weeks = weekly_cost_per_1k([e.pk for e in daily_rows], 4, TODAY)
    chart = charts.weekly_cost_per_1k_chart(weeks, "USD")
    complete, current = chart.figure.data
    assert list(complete.x) == ["2026-10-26", "2026-11-02", "2026-11-09"]
    assert complete.y[1] is None  # the week without a cost is a gap
    assert complete.y[0] == pytest.approx(float(weeks[0].cost_per_1k), rel=1e-5)
    assert list(current.x) == ["2026-11-09", "2026-11-16"] and current.line.dash == "dot"
    assert current.marker.symbol[-1] == "circle-open"
    empty = charts.weekly_cost_per_1k_chart([Week(TODAY, None, None, 0, "", (), True, None)], "USD")
    assert not empty.figure.data and "no cost per 1k yet" in empty.figure.layout.annotations[0].text
