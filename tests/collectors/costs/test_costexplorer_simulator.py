"""collectors.aws.costexplorer against the simulated Cost Explorer, whose bill is the fleet's ground
truth (`fleet.daily_cost_by_usage_type`, `fleet.daily_cost`)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from collectors.aws.costexplorer import daily_costs, month_forecast, resource_costs, tag_costs
from collectors.model import AccountTarget
from collectors.simulator import SimulatedAWS

from .conftest import MEMBER, NOW, PAYER, REGIONS, TODAY, days_ago, factory_for


def truth_by_usage_type(world, account_id: str, region: str, day: date) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for ep in world.fleet.in_scope(account_id, region):
        for usage_type, cost in world.fleet.daily_cost_by_usage_type(ep, day).items():
            out[usage_type] += cost
    return dict(out)


@pytest.mark.parametrize("account_id", [PAYER, MEMBER])
def test_daily_costs_equal_the_bill_per_usage_type_account_and_region(world, ce, account_id):
    day = days_ago(4)
    rows = daily_costs(ce, account_id=account_id, start=day, end=day + timedelta(days=1), regions=REGIONS)
    assert {r.account_id for r in rows} == {account_id}
    for region in REGIONS:
        got = {r.usage_type: r.unblended for r in rows if r.region == region}
        assert got == truth_by_usage_type(world, account_id, region, day)  # exact, Decimal for Decimal
        assert got, f"no cost in {region}?"
    assert all(r.amortized == r.unblended and r.currency == "USD" and r.day == day for r in rows)
    assert all(not r.estimated for r in rows)


def test_a_payer_reading_a_member_gets_exactly_the_members_costs(ce, member_ce):
    kwargs = {"account_id": MEMBER, "start": days_ago(3), "end": days_ago(1), "regions": REGIONS}
    assert daily_costs(ce, **kwargs) == daily_costs(member_ce, **kwargs)


def test_the_last_two_days_are_marked_estimated(ce):
    rows = daily_costs(ce, account_id=PAYER, start=days_ago(4), end=TODAY, regions=["us-east-1"])
    estimated = {r.day: r.estimated for r in rows}
    assert estimated == {days_ago(4): False, days_ago(3): False, days_ago(2): True, days_ago(1): True}


def test_ce_request_count_is_independent_of_fleet_size():
    """Every Cost Explorer request costs $0.01: a 400-endpoint fleet costs the same requests as 40."""
    counts, row_counts = {}, {}
    for size in (40, 400):
        factory = factory_for(SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=size))
        client = factory.client("ce", account=AccountTarget(PAYER), region="us-east-1")
        rows = daily_costs(client, account_id=PAYER, start=days_ago(3), end=TODAY, regions=REGIONS)
        counts[size] = factory.call_log.as_dict()
        row_counts[size] = len(rows)
    assert counts[40] == counts[400] == {"ce:GetCostAndUsage": len(REGIONS)}  # one request per region
    assert row_counts[400] > row_counts[40]  # more usage types, same requests


def test_paging_collects_every_group_exactly_once(world, ce):
    small = factory_for(SimulatedAWS(seed=7, clock=lambda: NOW, ce_page_size=3))
    small_ce = small.client("ce", account=AccountTarget(PAYER), region="us-east-1")
    kwargs = {"account_id": PAYER, "start": days_ago(5), "end": days_ago(1), "regions": REGIONS}
    paged = daily_costs(small_ce, **kwargs)
    whole = daily_costs(ce, **kwargs)
    pages = small.call_log.as_dict()["ce:GetCostAndUsage"]
    assert pages > len(REGIONS) * 3  # several pages per region
    keys = Counter((r.region, r.day, r.usage_type) for r in paged)
    assert max(keys.values()) == 1
    assert paged == whole
    for day in (days_ago(5), days_ago(2)):
        got = {r.usage_type: r.unblended for r in paged if r.day == day and r.region == "eu-west-1"}
        assert got == truth_by_usage_type(world, PAYER, "eu-west-1", day)


def test_tag_costs_split_by_value_with_an_untagged_bucket(world, member_ce):
    day = days_ago(6)
    rows = tag_costs(member_ce, account_id=MEMBER, tag_key="team", start=day, end=day + timedelta(days=1))
    got = {r.tag_value: r.unblended for r in rows}
    truth: dict[str, Decimal] = defaultdict(Decimal)
    for ep in world.fleet.endpoints:
        if ep.account_id == MEMBER:
            truth[ep.tags.get("team", "")] += world.fleet.daily_cost(ep, day)
    assert got == dict(truth)
    untagged = [r for r in rows if r.untagged]
    assert len(untagged) == 1 and untagged[0].tag_value == "" and untagged[0].unblended > 0
    assert world.fleet.endpoint("scratch-demo-serverless").account_id == MEMBER  # it is untagged
    assert {r.tag_key for r in rows} == {"team"}


def test_resource_costs_of_the_payer_match_each_endpoints_bill(world, ce):
    rows = resource_costs(ce, account_id=PAYER, start=days_ago(3), end=TODAY, today=TODAY)
    by_arn = {(r.resource_arn, r.day): r.unblended for r in rows}
    payer_endpoints = [ep for ep in world.fleet.endpoints if ep.account_id == PAYER]
    for ep in payer_endpoints:
        for n in (3, 2, 1):
            cost = world.fleet.daily_cost(ep, days_ago(n))
            assert by_arn.get((ep.arn, days_ago(n)), Decimal(0)) == cost, ep.name
    assert {r.account_id for r in rows} == {PAYER}
    assert all(f":{PAYER}:endpoint/" in r.resource_arn for r in rows)  # LINKED_ACCOUNT filter holds


def test_resource_costs_start_is_clamped_to_the_last_14_days(factory, ce):
    before = factory.call_log.calls["ce:GetCostAndUsageWithResources"]
    rows = resource_costs(ce, account_id=PAYER, start=days_ago(40), end=TODAY, today=TODAY)
    assert min(r.day for r in rows) == days_ago(14)
    assert resource_costs(ce, account_id=PAYER, start=days_ago(40), end=days_ago(20), today=TODAY) == []
    assert factory.call_log.calls["ce:GetCostAndUsageWithResources"] == before + 1  # nothing asked for []


def test_resource_costs_of_a_member_not_opted_in_is_none_so_the_caller_falls_back(member_ce):
    assert resource_costs(member_ce, account_id=MEMBER, start=days_ago(3), end=TODAY, today=TODAY) is None


def test_resource_costs_let_other_errors_through(factory):
    stranger = factory.client("ce", account=AccountTarget("333333333333"), region="us-east-1")
    with pytest.raises(ClientError) as exc:
        resource_costs(stranger, account_id="333333333333", start=days_ago(3), end=TODAY, today=TODAY)
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


def expected_forecast_rate(world, account_id: str, today: date) -> Decimal:
    """The simulator's forecast: each future day = median of the account's last 28 days of cost."""
    eps = [ep for ep in world.fleet.endpoints if ep.account_id == account_id]
    daily = [sum((world.fleet.daily_cost(ep, today - timedelta(days=i)) for ep in eps), Decimal(0))
             for i in range(1, 29)]  # fmt: skip
    return Decimal(repr(statistics.median(float(v) for v in daily)))


def test_month_forecast_runs_from_today_to_the_end_of_the_month(world, ce):
    forecast = month_forecast(ce, account_id=MEMBER, today=TODAY)
    assert (forecast.start, forecast.end) == (date(2026, 11, 20), date(2026, 12, 1))
    assert [d for d, _ in forecast.daily] == [date(2026, 11, 20) + timedelta(days=i) for i in range(11)]
    assert forecast.amount == sum(v for _, v in forecast.daily)
    assert forecast.lower <= forecast.amount <= forecast.upper
    assert forecast.currency == "USD" and forecast.account_id == MEMBER
    rate = expected_forecast_rate(world, MEMBER, TODAY)
    assert abs(forecast.amount - 11 * rate) < Decimal("0.000001")


def test_month_forecast_on_the_last_day_of_the_month_covers_that_one_day():
    last_day = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    world = SimulatedAWS(seed=7, clock=lambda: last_day)
    client = factory_for(world).client("ce", account=AccountTarget(PAYER), region="us-east-1")
    forecast = month_forecast(client, account_id=PAYER, today=last_day.date())
    assert (forecast.start, forecast.end) == (date(2026, 11, 30), date(2026, 12, 1))
    assert len(forecast.daily) == 1 and forecast.daily[0][0] == date(2026, 11, 30)
    assert forecast.amount == forecast.daily[0][1] > 0
    rate = expected_forecast_rate(world, PAYER, last_day.date())
    assert abs(forecast.amount - rate) < Decimal("0.000001")


def test_month_forecast_never_starts_before_today(ce):
    """Cost Explorer refuses a forecast starting in the past: today is the start, even at 00:00 UTC."""
    with pytest.raises(ClientError) as exc:
        month_forecast(ce, account_id=PAYER, today=days_ago(1))  # a clock running a day behind AWS
    assert exc.value.response["Error"]["Code"] == "ValidationException"
