"""Hostile and malformed AWS data, end to end through collection, storage, pages and exports.

- Tags holding formulas, HTML, emoji or 256 characters survive collection from a real protocol peer
  (moto) byte for byte, and the weekly review's XLSX and CSV neutralise them.
- A status and a variant name holding markup render escaped on the fleet and endpoint pages.
- An instance type nobody prices is stored without a price and shown as unpriced, never guessed.
- Refunds and credits (negative amounts) are kept, summed with the rest and shown negative.
- A month boundary and a leap day (2028-02-29) in the cost and forecast windows.
- New York's clocks going back (2026-11-01) leave storage and day buckets in UTC.
- An answer a parser refuses is recorded on the run, logged with its account, and loses nothing stored.

AWS answers come from the simulated account or moto; where they must be hostile, they are changed at the
botocore level (the after-call event, once botocore has parsed them) or given by botocore's Stubber."""

from __future__ import annotations

import copy
import csv
import io
import logging
import zipfile
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from unittest.mock import ANY  # an equality wildcard for Stubber's expected parameters

import boto3
import pytest
from botocore.stub import Stubber
from django.urls import reverse
from openpyxl import load_workbook

from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.costexplorer import sagemaker_filter
from collectors.costs import collect_costs
from collectors.inventory import collect_inventory
from collectors.metrics import collect_metrics
from collectors.simulator import SimulatedAWS
from dashboard.models import (
    AwsAccount,
    CostForecast,
    DailyCost,
    Endpoint,
    EndpointCost,
    InstanceType,
    MetricCursor,
    MetricPoint,
    MetricRollup,
    ProductionVariant,
)
from dashboard.reports import formats
from dashboard.reports.review import build_review
from dashboard.reports.weeks import IsoWeek
from dashboard.tables import UNKNOWN, money
from tests.collectors.test_inventory_moto import make_endpoint, sagemaker, serverless
from tests.conftest import NOW
from tests.dashboard.test_fleet_page import rows_of

PAYER, MEMBER = "111111111111", "222222222222"
REGION = "us-east-1"


# --- AWS answers, made hostile at the botocore level ---------------------------------------------------
def hostile_factory(sim: SimulatedAWS, changes: dict, clock=lambda: NOW) -> ClientFactory:
    """Clients answered by the simulator, with some answers changed once botocore has parsed them:
    `changes` maps an operation name to fn(request params, parsed answer), which edits the answer."""

    def hook(client, account_id):
        def capture(params, context, **_):
            context["hostile_params"] = copy.deepcopy(params)

        def after(model, parsed, context, **_):
            change = changes.get(model.name)
            if change and "Error" not in parsed:
                change(context.get("hostile_params", {}), parsed)

        client.meta.events.register("before-parameter-build", capture)
        client.meta.events.register("after-call", after)

    session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")
    return ClientFactory(session=session, hooks=[sim.attach, hook], call_log=CallLog(), clock=clock)


def ce_factory(answers, clock=lambda: NOW) -> ClientFactory:
    """Cost Explorer answered by botocore's Stubber: `answers(stubber)` queues what it says."""

    def hook(client, account_id):
        if client.meta.service_model.service_name == "ce":
            stubber = Stubber(client)
            answers(stubber)
            stubber.activate()

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x")
    return ClientFactory(session=session, hooks=[hook], call_log=CallLog(), clock=clock)


def one_day(day: date) -> dict:
    return {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}


def usage_answer(lines: dict[date, dict[str, str]]) -> dict:
    """A GetCostAndUsage answer grouped by usage type: {day: {usage type: amount}}."""
    results = [
        {
            "TimePeriod": one_day(day),
            "Estimated": False,
            "Groups": [
                {
                    "Keys": [usage],
                    "Metrics": {
                        m: {"Amount": amount, "Unit": "USD"} for m in ("UnblendedCost", "AmortizedCost")
                    },
                }
                for usage, amount in groups.items()
            ],
        }
        for day, groups in sorted(lines.items())
    ]
    return {"ResultsByTime": results, "GroupDefinitions": [], "DimensionValueAttributes": []}


def resource_answer(lines: dict[date, dict[str, str]]) -> dict:
    results = [
        {
            "TimePeriod": one_day(day),
            "Estimated": False,
            "Groups": [
                {"Keys": [arn], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                for arn, amount in groups.items()
            ],
        }
        for day, groups in sorted(lines.items())
    ]
    return {"ResultsByTime": results, "GroupDefinitions": [], "DimensionValueAttributes": []}


def forecast_answer(today: date, end: date, total: str, per_day: str) -> dict:
    days = [today + timedelta(days=i) for i in range((end - today).days)]
    return {
        "Total": {"Amount": total, "Unit": "USD"},
        "ForecastResultsByTime": [{"TimePeriod": one_day(d), "MeanValue": per_day} for d in days],
    }


def forecast_days(forecast: CostForecast) -> list[tuple[date, Decimal]]:
    return [(date.fromisoformat(d), Decimal(v)) for d, v in forecast.daily]


def window(start: date, end: date) -> dict:
    return {"Start": start.isoformat(), "End": end.isoformat()}


@pytest.fixture
def page_clock(monkeypatch):
    """Pages compute ranges and month-to-date from their clock: the time the data was collected at."""
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    monkeypatch.setattr("dashboard.views.endpoint.clock", lambda: NOW)


def an_endpoint(account: AwsAccount, name: str, team=None, **variant) -> Endpoint:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    endpoint = Endpoint.objects.create(
        account=account, region=REGION, name=name, status="InService", team=team, created_at=since,
        arn=f"arn:aws:sagemaker:{REGION}:{account.account_id}:endpoint/{name}", first_seen=since,
        last_seen=since,
    )  # fmt: skip
    ProductionVariant.objects.create(
        endpoint=endpoint, name="AllTraffic", first_seen=since, last_seen=since,
        **(variant or {"kind": "serverless", "memory_mb": 2048, "max_concurrency": 5}),
    )  # fmt: skip
    return endpoint


# --- tags, names and statuses ---------------------------------------------------------------------------
HOSTILE_TAGS = {
    "team": "search",
    "=cmd": '=HYPERLINK("http://evil.example","click")',
    "note": "<script>alert(1)</script>",
    "owner": "🚀🔥 модель 模型",
    "long": "é" * 256,  # the longest tag value AWS allows
}


def test_hostile_tags_survive_collection_and_the_weekly_review_neutralises_them(
    moto_env, moto_factory, team_search, finops_admin, client, monkeypatch
):
    make_endpoint(sagemaker(moto_env), "hostile-tags", [serverless()], tags=list(HOSTILE_TAGS.items()))
    account = AwsAccount.objects.create(account_id="123456789012", regions=[REGION])
    run = collect_inventory(account, REGION, factory=moto_factory())
    assert run.status == "ok", run.errors

    endpoint = Endpoint.objects.get(name="hostile-tags")
    assert endpoint.tags == HOSTILE_TAGS and endpoint.team == team_search
    monkeypatch.setattr("dashboard.api.http.now", lambda: endpoint.created_at + timedelta(hours=1))
    client.force_login(finops_admin)
    assert client.get(f"/api/v1/endpoints/{endpoint.pk}").json()["endpoint"]["tags"] == HOSTILE_TAGS

    week = IsoWeek.of(endpoint.created_at.date())
    review = build_review(week, now=datetime.combine(week.end, time(1), UTC))
    # "+", "=", "-", "@" first: a spreadsheet would run the cell. The tags are sorted, "=cmd" first.
    tags = "; ".join(f"{k}={v}" for k, v in sorted(HOSTILE_TAGS.items()))
    assert tags.startswith("=cmd=")
    sheet = load_workbook(io.BytesIO(formats.to_xlsx(review)))["Endpoints"]
    column = {cell.value: cell.column for cell in sheet[1]}
    assert [sheet.cell(r, column["Tags"]).value for r in range(2, sheet.max_row + 1)] == ["'" + tags]
    with zipfile.ZipFile(io.BytesIO(formats.to_csv_zip(review))) as archive:
        endpoints = list(csv.DictReader(io.StringIO(archive.read("endpoints.csv").decode("utf-8"))))
    assert [row["Tags"] for row in endpoints] == ["'" + tags]


EVIL_STATUS = "<img src=x onerror=alert(1)>"
EVIL_VARIANT = "</script><b>challenger</b>"


@pytest.fixture
def small_sim(db):
    return SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)


def single_variant(sim: SimulatedAWS, account_id: str, kind: str):
    return next(
        e for e in sim.fleet.endpoints
        if e.account_id == account_id and e.region == REGION and len(e.variants) == 1 and e.kind == kind
    )  # fmt: skip


def test_a_status_and_a_variant_name_holding_markup_render_escaped(
    small_sim, client, finops_admin, page_clock
):
    target = single_variant(small_sim, PAYER, "serverless")
    old_variant = target.variants[0].name

    def describe(params, parsed):
        if parsed["EndpointName"] == target.name:
            parsed["EndpointStatus"] = EVIL_STATUS
            parsed["ProductionVariants"][0]["VariantName"] = EVIL_VARIANT

    def describe_config(params, parsed):
        if parsed["EndpointConfigName"] == target.config_name:
            parsed["ProductionVariants"][0]["VariantName"] = EVIL_VARIANT

    changes = {"DescribeEndpoint": describe, "DescribeEndpointConfig": describe_config}
    account = AwsAccount.objects.create(account_id=PAYER, regions=[REGION])
    run = collect_inventory(account, REGION, factory=hostile_factory(small_sim, changes), clock=lambda: NOW)
    assert run.status == "ok", run.errors
    endpoint = Endpoint.objects.get(name=target.name)
    assert endpoint.status == EVIL_STATUS and [v.name for v in endpoint.variants.all()] == [EVIL_VARIANT]
    assert old_variant != EVIL_VARIANT

    client.force_login(finops_admin)
    for page in (client.get(reverse("fleet")), client.get(reverse("endpoint", args=[endpoint.pk]))):
        body = page.content.decode()
        assert page.status_code == 200
        assert EVIL_STATUS not in body and "</script><b>" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;/script&gt;&lt;b&gt;challenger&lt;/b&gt;" in body  # the endpoint page lists its variants


def test_an_unknown_instance_type_is_stored_and_shown_unpriced_not_guessed(
    small_sim, client, finops_admin, page_clock
):
    target = single_variant(small_sim, PAYER, "instance")

    def describe_config(params, parsed):
        if parsed["EndpointConfigName"] == target.config_name:
            parsed["ProductionVariants"][0]["InstanceType"] = "ml.zz9.futurexlarge"

    account = AwsAccount.objects.create(account_id=PAYER, regions=[REGION])
    factory = hostile_factory(small_sim, {"DescribeEndpointConfig": describe_config})
    assert collect_inventory(account, REGION, factory=factory, clock=lambda: NOW).status == "ok"
    future = InstanceType.objects.get(name="ml.zz9.futurexlarge")
    assert (future.known, future.hourly_price) == (False, None)
    endpoint = Endpoint.objects.get(name=target.name)
    assert endpoint.variants.get().instance_type_id == "ml.zz9.futurexlarge"

    run = collect_costs(account, factory=factory, clock=lambda: NOW, days=3)
    assert run.status == "ok", run.errors  # unpriced days are shown, not failures
    assert any(
        "no price for instance type 'ml.zz9.futurexlarge'" in x for x in run.stats["unpriced_examples"]
    )
    # No estimate is invented; what Cost Explorer billed for it is still there.
    sources = set(EndpointCost.objects.filter(endpoint=endpoint).values_list("source", flat=True))
    assert sources == {"resource"}

    client.force_login(finops_admin)
    body = client.get(reverse("endpoint", args=[endpoint.pk])).content.decode()
    assert "ml.zz9.futurexlarge" in body and "price unknown" in body
    assert rows_of(client.get(reverse("fleet")))[target.name]["mtd_cost"] != UNKNOWN


# --- money ----------------------------------------------------------------------------------------------
@pytest.fixture
def account(db):
    return AwsAccount.objects.create(account_id=PAYER, regions=[REGION])


def test_refunds_and_credits_are_kept_summed_and_shown_negative(
    account,
    team_search,
    client,
    finops_admin,
    page_clock,
    monkeypatch,
    settings,
):
    settings.COST_ENDPOINT_TAG_KEY = ""
    ranker = an_endpoint(account, "search-ranker", team_search)
    today, first = NOW.date(), NOW.date().replace(day=1)
    d17, d18, d19 = date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)
    daily = {
        d17: {"USE1-Host:ml.g5.xlarge": "33.80", "USE1-Credit": "-50.00"},
        d18: {"USE1-Refund": "-12.50", "USE1-Tiny": "1E-1000000"},  # Postgres refuses that exponent raw
        d19: {"USE1-ServerlessInf:Mem-2GB": "10.00"},
    }
    by_resource = {d17: {ranker.arn: "20.00"}, d18: {ranker.arn: "-12.50"}, d19: {ranker.arn: "5.00"}}

    def answers(stub):
        stub.add_response("get_cost_and_usage", usage_answer(daily), {
            "TimePeriod": window(first, today), "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "AmortizedCost"], "Filter": sagemaker_filter(PAYER, REGION),
            "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        })  # fmt: skip
        stub.add_response("get_cost_and_usage_with_resources", resource_answer(by_resource))
        stub.add_response("get_cost_forecast", forecast_answer(today, date(2026, 12, 1), "100.00", "9.09"))

    run = collect_costs(account, factory=ce_factory(answers), clock=lambda: NOW, days=3)
    assert run.status == "ok", run.errors

    stored = {(r.day, r.usage_type): r.unblended for r in DailyCost.objects.all()}
    assert stored[(d17, "USE1-Credit")] == Decimal("-50.00") and stored[(d18, "USE1-Refund")] == Decimal(
        "-12.50"
    )
    assert stored[(d18, "USE1-Tiny")] == 0
    assert sum(stored.values()) == Decimal("-18.70")  # 33.80 - 50 - 12.50 + 10
    assert EndpointCost.objects.get(endpoint=ranker, day=d18, source="resource").amount == Decimal("-12.50")
    forecast = CostForecast.objects.get(scope="account", scope_id=account.pk, month=first)
    assert forecast.amount == Decimal("-18.70") + Decimal("100.00")

    monkeypatch.setattr("dashboard.api.http.now", lambda: NOW)
    client.force_login(finops_admin)
    days = {
        d["day"]: d
        for d in client.get(f"/api/v1/endpoints/{ranker.pk}/costs", {"range": "7d"}).json()["days"]
    }
    assert Decimal(days["2026-11-18"]["cost"]) == Decimal("-12.50")
    row = rows_of(client.get(reverse("fleet")))["search-ranker"]
    assert row["mtd_cost"].startswith(money(Decimal("12.50"), "USD"))  # 20 - 12.50 + 5
    team_page = client.get(reverse("team", args=["search"])).content.decode()
    assert money(Decimal("-12.50"), "USD") in team_page


# --- calendars ------------------------------------------------------------------------------------------
def test_a_leap_day_and_a_month_boundary_in_cost_and_forecast_windows(account, team_search, settings):
    settings.COST_ENDPOINT_TAG_KEY = ""
    ranker = an_endpoint(account, "search-ranker", team_search)
    for day in (date(2028, 2, 8) + timedelta(days=i) for i in range(21)):  # 8-28 February: 10 a day
        EndpointCost.objects.create(
            endpoint=ranker, day=day, source="estimate", amount=Decimal(10), currency="USD", estimated=True,
            computed_at=datetime(2028, 2, 28, tzinfo=UTC),
        )  # fmt: skip
    feb, mar = date(2028, 2, 1), date(2028, 3, 1)
    leap = date(2028, 2, 29)

    def on(day: date, daily: dict, forecast_total: str):
        def answers(stub):
            start = min(day - timedelta(days=3), day.replace(day=1))
            stub.add_response("get_cost_and_usage", usage_answer(daily), {
                "TimePeriod": window(start, day), "Granularity": "DAILY",
                "Metrics": ["UnblendedCost", "AmortizedCost"], "Filter": ANY, "GroupBy": ANY,
            })  # fmt: skip
            stub.add_response("get_cost_and_usage_with_resources", resource_answer({}))
            end = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            stub.add_response("get_cost_forecast", forecast_answer(day, end, forecast_total, "10"), {
                "TimePeriod": window(day, end), "Metric": "UNBLENDED_COST", "Granularity": "DAILY",
                "Filter": ANY,
            })  # fmt: skip

        clock = datetime.combine(day, time(9), UTC)
        return collect_costs(
            account, factory=ce_factory(answers, clock=lambda: clock), clock=lambda: clock, days=3
        )

    # On the leap day: February so far, and a forecast of one day, the 29th.
    run = on(leap, {date(2028, 2, 27): {"USE1-Host": "10"}, date(2028, 2, 28): {"USE1-Host": "20"}}, "40")
    assert run.status == "ok", run.errors
    february = CostForecast.objects.get(scope="account", scope_id=account.pk, month=feb)
    assert february.amount == Decimal(70) and forecast_days(february) == [(leap, Decimal(10))]
    own = CostForecast.objects.get(scope="endpoint", scope_id=ranker.pk, month=feb)
    assert own.amount == Decimal(220) and forecast_days(own) == [
        (leap, Decimal(10))
    ]  # 21 days x 10, +1 at 10

    # The next day is March: February (29 days) is re-read to its end, March's forecast starts at 0.
    daily = {
        date(2028, 2, 27): {"USE1-Host": "10"},
        date(2028, 2, 28): {"USE1-Host": "20"},
        leap: {"USE1-Host": "40"},
    }
    assert on(mar, daily, "310").status == "ok"
    assert sorted(DailyCost.objects.values_list("day", flat=True)) == [
        date(2028, 2, 27),
        date(2028, 2, 28),
        leap,
    ]
    march = CostForecast.objects.get(scope="account", scope_id=account.pk, month=mar)
    assert march.amount == Decimal(310) and len(march.daily) == 31 and march.daily[0][0] == "2028-03-01"
    assert CostForecast.objects.get(scope="account", scope_id=account.pk, month=feb).amount == Decimal(70)


@pytest.mark.parametrize(
    ("utc_clock", "new_york"),
    [
        (datetime(2026, 11, 1, 3, 30, tzinfo=UTC), "Sat 31 Oct 23:30 EDT"),
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "Sun 1 Nov 01:30 EDT"),
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "Sun 1 Nov 01:30 EST, the second time"),
    ],
)
def test_cost_days_and_months_are_utc_whatever_the_local_zone_says(account, settings, utc_clock, new_york):
    settings.TIME_ZONE = "America/New_York"  # Django sets the process zone too: botocore's tzlocal follows
    settings.COST_ENDPOINT_TAG_KEY = ""
    today = date(2026, 11, 1)  # in UTC; New York may still be in October

    def answers(stub):
        stub.add_response("get_cost_and_usage", usage_answer({date(2026, 10, 31): {"USE1-Host": "7"}}), {
            "TimePeriod": window(date(2026, 10, 29), today), "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "AmortizedCost"], "Filter": ANY, "GroupBy": ANY,
        })  # fmt: skip
        stub.add_response("get_cost_and_usage_with_resources", resource_answer({}))
        stub.add_response("get_cost_forecast", forecast_answer(today, date(2026, 12, 1), "300", "10"), {
            "TimePeriod": window(today, date(2026, 12, 1)), "Metric": "UNBLENDED_COST",
            "Granularity": "DAILY", "Filter": ANY,
        })  # fmt: skip

    run = collect_costs(
        account, factory=ce_factory(answers, clock=lambda: utc_clock), clock=lambda: utc_clock, days=3
    )
    assert run.status == "ok", (new_york, run.errors)
    assert list(DailyCost.objects.values_list("day", flat=True)) == [date(2026, 10, 31)]
    # November's forecast: nothing of October counted in its month so far.
    forecast = CostForecast.objects.get(scope="account", scope_id=account.pk)
    assert (forecast.month, forecast.amount) == (date(2026, 11, 1), Decimal(300))


def test_metrics_across_new_yorks_repeated_hour_are_stored_in_utc(db, moto_env, moto_factory, settings):
    settings.TIME_ZONE = "America/New_York"
    make_endpoint(sagemaker(moto_env), "dst-endpoint", [serverless()])
    account = AwsAccount.objects.create(account_id="123456789012", regions=[REGION])
    now = datetime(2026, 11, 1, 9, 17, tzinfo=UTC)
    assert collect_inventory(account, REGION, factory=moto_factory(), clock=lambda: now).status == "ok"
    # 00:30 EDT, 01:30 EDT, 01:30 EST (the same wall clock an hour later), 02:30 EST.
    instants = [datetime(2026, 11, 1, h, 30, tzinfo=UTC) for h in (4, 5, 6, 7)]
    dims = [{"Name": "EndpointName", "Value": "dst-endpoint"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cw = boto3.client("cloudwatch", endpoint_url=moto_env, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # fmt: skip
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": dims,
                "Timestamp": t,
                "Value": float(2**i),
                "Unit": "Count",
            }
            for i, t in enumerate(instants)
        ],
    )
    run = collect_metrics(
        account, REGION, factory=moto_factory(), clock=lambda: now, backfill=timedelta(hours=6)
    )
    assert run.status in ("ok", "partial"), run.errors
    points = MetricPoint.objects.filter(series__metric="Invocations", series__stat="Sum").order_by("ts")
    assert [(p.ts, p.value) for p in points] == [(t, float(2**i)) for i, t in enumerate(instants)]
    assert all(p.ts.utcoffset() == timedelta(0) for p in points)
    rollups = MetricRollup.objects.filter(series__metric="Invocations", series__stat="Sum")
    hourly = {r.bucket: r.value for r in rollups.filter(resolution="1h")}
    assert hourly == {t.replace(minute=0): float(2**i) for i, t in enumerate(instants)}
    (day,) = rollups.filter(resolution="1d")
    assert (day.bucket, day.value) == (datetime(2026, 11, 1, tzinfo=UTC), 15.0)  # a UTC day, 24 hours long


# --- refused answers lose nothing -----------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1E+10", "12,50"])
def test_a_refused_cost_answer_is_recorded_and_logged_and_leaves_the_stored_days(
    account, settings, caplog, amount
):
    settings.COST_ENDPOINT_TAG_KEY = ""
    day = NOW.date() - timedelta(days=2)

    def answers_with(value):
        def answers(stub):
            stub.add_response("get_cost_and_usage", usage_answer({day: {"USE1-Host:ml.g5.xlarge": value}}))
            stub.add_client_error("get_cost_and_usage_with_resources", "DataUnavailableException")
            stub.add_client_error("get_cost_forecast", "DataUnavailableException")

        return answers

    assert collect_costs(account, factory=ce_factory(answers_with("33.80")), clock=lambda: NOW).status == "ok"
    before = list(DailyCost.objects.values_list("day", "usage_type", "unblended", "fetched_at"))
    later = NOW + timedelta(hours=8)
    with caplog.at_level(logging.WARNING, logger="collectors.costs"):
        run = collect_costs(
            account, factory=ce_factory(answers_with(amount), clock=lambda: later), clock=lambda: later
        )
    assert run.status == "partial" or run.status == "failed"
    (error,) = run.errors
    assert error.startswith("GetCostAndUsage: ValueError: GetCostAndUsage 111111111111/us-east-1 page 1")
    assert "UnblendedCost.Amount" in error and amount in error
    assert any(PAYER in r.getMessage() and "UnblendedCost.Amount" in r.getMessage() for r in caplog.records)
    assert list(DailyCost.objects.values_list("day", "usage_type", "unblended", "fetched_at")) == before


def test_a_malformed_endpoint_answer_is_recorded_and_logged_and_its_rows_stay(small_sim, caplog):
    account = AwsAccount.objects.create(account_id=PAYER, regions=[REGION])
    first = collect_inventory(account, REGION, factory=hostile_factory(small_sim, {}), clock=lambda: NOW)
    assert first.status == "ok"
    target = single_variant(small_sim, PAYER, "serverless")
    stored = Endpoint.objects.get(name=target.name)
    variants = list(stored.variants.values())

    def describe(params, parsed):
        if parsed["EndpointName"] == target.name:
            del parsed["EndpointConfigName"]  # optional in the service model, needed here

    later = NOW + timedelta(hours=1)
    factory = hostile_factory(small_sim, {"DescribeEndpoint": describe}, clock=lambda: later)
    with caplog.at_level(logging.WARNING, logger="collectors.aws.sagemaker"):
        run = collect_inventory(account, REGION, factory=factory, clock=lambda: later)
    assert run.status == "partial"
    assert run.errors == [
        f"{target.name}: ValueError: EndpointConfigName None is not text of 1 to 63 characters without NUL"
    ]
    assert any(PAYER in r.getMessage() and target.name in r.getMessage() for r in caplog.records)
    again = Endpoint.objects.get(pk=stored.pk)
    assert (again.deleted_at, again.last_seen, again.status) == (None, stored.last_seen, stored.status)
    assert list(again.variants.values()) == variants
    others = Endpoint.objects.filter(account=account, region=REGION).exclude(pk=stored.pk)
    assert others.exists() and all(e.last_seen == later and e.deleted_at is None for e in others)


def test_a_metric_answer_that_cannot_be_paired_is_recorded_logged_and_re_read(small_sim, caplog):
    account = AwsAccount.objects.create(account_id=PAYER, regions=[REGION])
    collect_inventory(account, REGION, factory=hostile_factory(small_sim, {}), clock=lambda: NOW)
    target = single_variant(small_sim, PAYER, "serverless")
    earlier = NOW - timedelta(hours=1)
    first = collect_metrics(account, REGION, factory=hostile_factory(small_sim, {}, clock=lambda: earlier),
                            clock=lambda: earlier, backfill=timedelta(hours=3))  # fmt: skip
    assert first.status == "ok", first.errors
    variant = ProductionVariant.objects.get(endpoint__name=target.name)
    cursor_before = MetricCursor.objects.get(variant=variant).collected_until
    points_before = list(
        MetricPoint.objects.filter(series__variant=variant).values_list("series_id", "ts", "value")
    )
    assert points_before

    def unpair(params, parsed):
        ids = {q["Id"] for q in params["MetricDataQueries"]
               if q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] == target.name}  # fmt: skip
        parsed["MetricDataResults"] = [
            {**r, "Values": r["Values"][:-1]} if r["Id"] in ids and r["Values"] else r
            for r in parsed["MetricDataResults"]
        ]

    with caplog.at_level(logging.WARNING, logger="collectors.aws.cloudwatch"):
        run = collect_metrics(account, REGION, factory=hostile_factory(small_sim, {"GetMetricData": unpair}),
                              clock=lambda: NOW)  # fmt: skip
    assert run.status == "partial"
    assert any(f"{REGION} {target.name}/" in r.getMessage() and "cannot be paired" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert any(
        e.startswith(f"{target.name}/") and "InternalError" in e and "cannot be paired" in e
        for e in run.errors
    )
    assert MetricCursor.objects.get(variant=variant).collected_until == cursor_before  # re-read next time
    kept = set(MetricPoint.objects.filter(series__variant=variant).values_list("series_id", "ts", "value"))
    assert set(points_before) <= kept
    others = MetricCursor.objects.exclude(variant=variant)
    assert others.exists() and all(c.collected_until > cursor_before for c in others)
