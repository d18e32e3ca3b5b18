"""Cost collection end to end against the simulated account: Cost Explorer rows, per-endpoint costs by
source (resource-level for the opted-in payer, estimates for the member), forecasts, idempotency, and
Cost Explorer requests that do not grow with the fleet."""

from datetime import date, timedelta
from decimal import Decimal
from statistics import median

import pytest
from django.core.management import call_command

from collectors.costs import collect_costs
from collectors.metrics import collect_metrics
from collectors.reconciliation import reconcile_stored
from collectors.simulator import SimulatedAWS
from dashboard.models import CostForecast, DailyCost, Endpoint, EndpointCost, Team
from dashboard.services.costs import best_costs
from tests.conftest import NOW
from tests.support.fleet import factory_for, register

TODAY = NOW.date()


@pytest.fixture(scope="module")
def collected(django_db_setup, django_db_blocker):
    """Inventory, 15 days of metrics and 14 days of costs for an 8-endpoint, 2-account fleet, once."""
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)
    with django_db_blocker.unblock():
        accounts = register(sim)
        for account in accounts:
            for region in account.regions:
                collect_metrics(
                    account, region, factory=factory_for(sim), clock=lambda: NOW, backfill=timedelta(days=15)
                )
        runs = [collect_costs(a, factory=factory_for(sim), clock=lambda: NOW) for a in accounts]
        yield sim, accounts, runs
        # Committed outside any test transaction: empty every table again (and re-seed the catalogue).
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def data(collected, db):
    return collected


def test_cost_runs_succeed_and_record_their_requests(data):
    _, accounts, runs = data
    assert [r.status for r in runs] == ["ok", "ok"], [r.errors for r in runs]
    for account, run in zip(accounts, runs, strict=True):
        assert run.api_calls["ce:GetCostAndUsage"] == len(account.regions)
        assert run.api_calls["ce:GetCostForecast"] == 1


def test_daily_costs_equal_the_bill_per_usage_type(data):
    sim, accounts, _ = data
    payer = accounts[0]
    day = TODAY - timedelta(days=3)
    truth: dict[tuple[str, str], Decimal] = {}
    for endpoint in sim.fleet.endpoints:
        if endpoint.account_id == payer.account_id:
            for usage_type, amount in sim.fleet.daily_cost_by_usage_type(endpoint, day).items():
                truth[(endpoint.region, usage_type)] = truth.get((endpoint.region, usage_type), 0) + amount
    stored = {(c.region, c.usage_type): c.unblended for c in DailyCost.objects.filter(account=payer, day=day)}
    assert stored.keys() == {k for k, v in truth.items() if v}
    for key, amount in stored.items():
        assert amount == pytest.approx(truth[key], abs=Decimal("0.000001")), key


def test_payer_endpoints_get_resource_level_costs_equal_to_the_bill(data):
    sim, accounts, _ = data
    day = TODAY - timedelta(days=2)
    for endpoint in Endpoint.objects.filter(account=accounts[0]):
        cost = EndpointCost.objects.get(endpoint=endpoint, day=day, source="resource")
        billed = sim.fleet.daily_cost(sim.fleet.endpoint(endpoint.name), day)
        assert cost.amount == pytest.approx(billed, abs=Decimal("0.000001")), endpoint.name
        assert cost.estimated is True  # Cost Explorer still calls the last days estimated


def test_member_endpoints_fall_back_to_estimates_from_usage_and_price(data):
    sim, accounts, runs = data
    assert runs[1].stats["resource_level"] is False
    member = Endpoint.objects.filter(account=accounts[1])
    assert member.exists()
    assert not EndpointCost.objects.filter(endpoint__in=member).exclude(source="estimate").exists()
    day = TODAY - timedelta(days=4)
    for endpoint in member:
        estimate = EndpointCost.objects.get(endpoint=endpoint, day=day, source="estimate")
        billed = sim.fleet.daily_cost(sim.fleet.endpoint(endpoint.name), day)
        # Estimates use CloudWatch's 5-minute averages: within 1% of the bill (0.5% seen for provisioned
        # concurrency, where warm and spillover calls share one average latency).
        assert estimate.amount == pytest.approx(billed, rel=Decimal("0.01")), endpoint.name
        assert estimate.detail["variants"]


def test_estimates_reconcile_with_resource_level_bill(data):
    _, accounts, _ = data
    payer_ids = list(Endpoint.objects.filter(account=accounts[0]).values_list("pk", flat=True))
    rows = reconcile_stored(payer_ids, TODAY - timedelta(days=13), TODAY, tolerance=Decimal("0.02"))
    assert len(rows) >= len(payer_ids) * 12
    assert [r for r in rows if r.flagged] == []


def test_best_cost_prefers_resource_over_estimate(data):
    _, accounts, _ = data
    endpoint = Endpoint.objects.filter(account=accounts[0]).first()
    day = TODAY - timedelta(days=2)
    (best,) = best_costs([endpoint.pk], day, day + timedelta(days=1))
    assert best.source == "resource"
    assert EndpointCost.objects.filter(endpoint=endpoint, day=day).count() == 2  # estimate kept too


def test_team_forecast_is_month_to_date_plus_median_of_recent_days(data):
    team = Team.objects.get(name="nlp")
    forecast = CostForecast.objects.get(scope="team", scope_id=team.pk, month=TODAY.replace(day=1))
    endpoints = list(team.endpoints.values_list("pk", flat=True))
    daily: dict[date, Decimal] = {}
    for cost in best_costs(endpoints, TODAY - timedelta(days=29), TODAY):
        daily[cost.day] = daily.get(cost.day, Decimal(0)) + cost.amount
    history = [
        daily.get(TODAY - timedelta(days=i), Decimal(0))
        for i in range(1, 29)
        if TODAY - timedelta(days=i) in daily
    ]
    month_to_date = sum((v for d, v in daily.items() if d >= TODAY.replace(day=1)), Decimal(0))
    remaining = (date(2026, 12, 1) - TODAY).days  # today (not complete yet) to the end of November
    expected = month_to_date + median(history) * remaining
    assert forecast.method == "median-28d"
    assert forecast.amount == pytest.approx(expected, rel=Decimal("0.000001"))


def test_account_forecast_from_cost_explorer_adds_the_month_so_far(data):
    _, accounts, _ = data
    forecast = CostForecast.objects.get(scope="account", scope_id=accounts[0].pk)
    so_far = sum(
        DailyCost.objects.filter(account=accounts[0], day__gte=TODAY.replace(day=1)).values_list(
            "unblended", flat=True
        )
    )
    assert forecast.method == "cost-explorer"
    assert forecast.amount > so_far > 0
    assert forecast.lower <= forecast.amount <= forecast.upper


def test_collecting_costs_twice_leaves_the_same_rows(data):
    sim, accounts, _ = data
    before = sorted(EndpointCost.objects.values_list("endpoint_id", "day", "source", "amount"))
    daily = DailyCost.objects.count()
    collect_costs(accounts[1], factory=factory_for(sim), clock=lambda: NOW)
    assert sorted(EndpointCost.objects.values_list("endpoint_id", "day", "source", "amount")) == before
    assert DailyCost.objects.count() == daily
