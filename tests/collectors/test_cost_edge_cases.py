"""Cost figures in the situations a first review found wrong: no metrics for a day, a variant removed,
a shape changed, a deleted endpoint in its team's forecast, a crash mid-run, revised Cost Explorer rows."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber

from collectors.aws.clients import CallLog, ClientFactory
from collectors.costs import collect_costs
from collectors.forecasts import refresh_forecasts
from collectors.usageinputs import usage_inputs
from dashboard.models import (
    AwsAccount,
    CollectionRun,
    CostForecast,
    DailyCost,
    Endpoint,
    EndpointCost,
    EndpointEvent,
    MetricCursor,
    ProductionVariant,
    Team,
)
from tests.conftest import NOW

DAY = date(2026, 11, 15)
LONG_AGO = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def account(db):
    return AwsAccount.objects.create(account_id="111111111111", regions=["us-east-1"])


def endpoint(account, name, team=None, deleted_at=None):
    return Endpoint.objects.create(
        account=account,
        region="us-east-1",
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{name}",
        status="InService",
        team=team,
        created_at=LONG_AGO,
        first_seen=LONG_AGO,
        last_seen=NOW,
        deleted_at=deleted_at,
    )


def variant(ep, name="AllTraffic", **shape):
    defaults = {"kind": "instance", "instance_type_id": "ml.g5.xlarge", "current_instance_count": 1}
    return ProductionVariant.objects.create(
        endpoint=ep, name=name, first_seen=ep.first_seen, last_seen=NOW, **(shape or defaults)
    )


def test_a_serverless_day_without_metrics_is_a_gap_not_zero(account):
    ep = endpoint(account, "no-metrics")
    variant(ep, kind="serverless", memory_mb=2048, max_concurrency=5)
    usage, gaps = usage_inputs([ep], [DAY], NOW)
    assert usage == {}
    assert gaps == [(ep.pk, DAY, f"metrics of variant AllTraffic do not cover {DAY}")]


def test_a_serverless_day_covered_by_metrics_with_no_traffic_costs_nothing(account):
    ep = endpoint(account, "quiet")
    v = variant(ep, kind="serverless", memory_mb=2048, max_concurrency=5)
    MetricCursor.objects.create(variant=v, collected_from=LONG_AGO, collected_until=NOW)
    usage, gaps = usage_inputs([ep], [DAY], NOW)
    assert gaps == [] and usage[(ep.pk, DAY)][0].invocations == 0


def test_a_removed_variant_is_not_billed_after_it_went(account):
    ep = endpoint(account, "blue-green")
    variant(ep, "Blue", kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=1)
    ProductionVariant.objects.filter(name="Blue").update(removed_at=datetime(2026, 11, 10, tzinfo=UTC))
    green_seen = datetime(2026, 11, 10, tzinfo=UTC)
    ProductionVariant.objects.create(
        endpoint=ep,
        name="Green",
        kind="instance",
        instance_type_id="ml.g5.xlarge",
        current_instance_count=1,
        first_seen=green_seen,
        last_seen=NOW,
    )
    usage, _ = usage_inputs([ep], [date(2026, 11, 9), DAY], NOW)
    assert [u.variant for u in usage[(ep.pk, date(2026, 11, 9))]] == ["Blue"]
    assert [u.variant for u in usage[(ep.pk, DAY)]] == ["Green"]


def test_past_days_use_the_shape_they_had(account):
    ep = endpoint(account, "scaled-down")
    variant(ep, kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=1)
    EndpointEvent.objects.create(
        endpoint=ep,
        at=datetime(2026, 11, 12, 9, tzinfo=UTC),
        kind="changed",
        detail={
            "before": {
                "AllTraffic": {
                    "kind": "instance",
                    "instance_type": "ml.g5.xlarge",
                    "desired_instance_count": 4,
                }
            },
            "after": {
                "AllTraffic": {
                    "kind": "instance",
                    "instance_type": "ml.g5.xlarge",
                    "desired_instance_count": 1,
                }
            },
        },
    )
    usage, _ = usage_inputs([ep], [date(2026, 11, 11), date(2026, 11, 12), DAY], NOW)
    counts = [usage[(ep.pk, d)][0].instance_count for d in (date(2026, 11, 11), date(2026, 11, 12), DAY)]
    assert counts == [4, 1, 1]  # the day of the change uses the shape at its end


def test_a_deleted_endpoints_spend_stays_in_its_teams_month(account):
    team = Team.objects.create(name="nlp", slug="nlp", tag_values=["nlp"])
    live = endpoint(account, "live", team=team)
    gone = endpoint(account, "gone", team=team, deleted_at=datetime(2026, 11, 18, tzinfo=UTC))
    for day in range(1, 20):
        for ep, amount in ((live, "10"), (gone, "100")):
            if ep is gone and day >= 18:
                continue
            EndpointCost.objects.create(
                endpoint=ep,
                day=date(2026, 11, day),
                source="estimate",
                amount=Decimal(amount),
                currency="USD",
                estimated=True,
                computed_at=NOW,
            )
    refresh_forecasts(today=NOW.date(), computed_at=NOW)
    forecast = CostForecast.objects.get(scope="team", scope_id=team.pk)
    month_so_far = Decimal(19 * 10 + 17 * 100)
    assert forecast.amount >= month_so_far
    assert not CostForecast.objects.filter(scope="endpoint", scope_id=gone.pk).exists()


def ce_factory(stub_setup):
    def hook(client, account_id):
        if client.meta.service_model.service_name == "ce":
            stubber = Stubber(client)
            stub_setup(stubber)
            stubber.activate()

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return ClientFactory(session=session, hooks=[hook], call_log=CallLog(), clock=lambda: NOW)


def test_a_crash_is_recorded_on_the_run(account, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("collectors.costs.daily_costs", explode)
    with pytest.raises(RuntimeError):
        collect_costs(account, factory=ce_factory(lambda s: None), clock=lambda: NOW)
    run = CollectionRun.objects.get(kind="costs")
    assert run.status == "failed" and run.errors == ["RuntimeError: disk full"] and run.finished_at


def day_result(day, groups):
    return {
        "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
        "Total": {},
        "Estimated": False,
        "Groups": [
            {
                "Keys": [usage],
                "Metrics": {
                    "UnblendedCost": {"Amount": amount, "Unit": "USD"},
                    "AmortizedCost": {"Amount": amount, "Unit": "USD"},
                },
            }
            for usage, amount in groups
        ],
    }


def test_a_usage_type_gone_from_a_revised_day_is_removed(account):
    day = NOW.date() - timedelta(days=2)
    answers = [
        [("USE1-Host:ml.g5.xlarge", "33.80"), ("USE1-Data-Bytes-Out", "0.10")],
        [("USE1-Host:ml.g5.xlarge", "33.80")],  # Cost Explorer revised the day: the transfer line is gone
    ]
    for groups in answers:

        def setup(stubber, groups=groups):
            stubber.add_response(
                "get_cost_and_usage",
                {
                    "ResultsByTime": [day_result(day, groups)],
                    "GroupDefinitions": [],
                    "DimensionValueAttributes": [],
                },
            )
            stubber.add_client_error("get_cost_and_usage_with_resources", "DataUnavailableException")
            stubber.add_client_error("get_cost_forecast", "DataUnavailableException")

        collect_costs(account, factory=ce_factory(setup), clock=lambda: NOW)
    assert list(DailyCost.objects.values_list("usage_type", "unblended")) == [
        ("USE1-Host:ml.g5.xlarge", Decimal("33.80"))
    ]


def test_an_endpoint_cost_the_money_column_cannot_hold_is_refused_and_the_others_stored(account):
    from collectors.costmodel import EndpointCost as Row
    from collectors.store.costs import store_endpoint_costs

    ep = endpoint(account, "absurd")
    rows = [
        Row(ep.pk, DAY, Decimal("12.5"), "USD", "estimate", True),
        Row(ep.pk, DAY + timedelta(days=1), Decimal("1e10"), "USD", "estimate", True),
        Row(ep.pk, DAY + timedelta(days=2), Decimal("-2e11"), "USD", "estimate", True),
    ]
    errors: list[str] = []
    assert store_endpoint_costs(rows, NOW, errors=errors) == 1
    assert list(EndpointCost.objects.values_list("day", "amount")) == [(DAY, Decimal("12.5"))]
    assert len(errors) == 2
    assert all("beyond what can be stored" in e and f"endpoint {ep.pk}" in e for e in errors)


def test_a_forecast_sum_the_money_column_cannot_hold_is_skipped_with_a_message(account):
    team = Team.objects.create(name="nlp", slug="nlp", tag_values=["nlp"])
    huge, small = endpoint(account, "huge", team=team), endpoint(account, "small")
    for day in range(1, 20):  # each day fits the column; the month's forecast (19 days and more) does not
        for ep, amount in ((huge, "9e9"), (small, "3")):
            EndpointCost.objects.create(
                endpoint=ep, day=date(2026, 11, day), source="estimate", amount=Decimal(amount),
                currency="USD", estimated=True, computed_at=NOW,
            )  # fmt: skip
    errors: list[str] = []
    assert refresh_forecasts(today=NOW.date(), computed_at=NOW, errors=errors) == 1
    assert list(CostForecast.objects.values_list("scope", "scope_id")) == [("endpoint", small.pk)]
    assert sorted(e.split(" forecast")[0] for e in errors) == [f"endpoint {huge.pk}", f"team {team.pk}"]
