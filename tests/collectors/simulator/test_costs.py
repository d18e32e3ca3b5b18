"""Cost Explorer answers follow from usage x price: recomputed here independently from what CloudWatch
and SageMaker answer, with prices read straight from collectors/data/prices.json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from collectors.simulator import SimulatedAWS

from .conftest import AMBIENT, MEMBER, MEMBER_TARGET, NOW, PAYER, day, factory_for, query

PRICES = json.loads((Path(__file__).parents[3] / "collectors" / "data" / "prices.json").read_text())
GB_SECOND = Decimal(PRICES["serverless"]["compute_per_gb_second"])
SAGEMAKER = {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}}
# Billed serverless seconds are the day's total model latency rounded up to the millisecond once per
# variant and day, so a recomputation from CloudWatch's Sum x Average may be short by < 1 ms x 6 GB x
# $0.00002 = $1.2e-7 per serverless variant (float error in Sum x Average is ~1e-16 relative, far less).
# Fewer than 40 serverless variants in an account keeps the whole gap under $0.000005.
TOLERANCE = Decimal("0.000005")


def iso(moment: datetime) -> str:
    return moment.date().isoformat()


def period(offset_start: int, offset_end: int) -> dict:
    return {"Start": iso(day(offset_start)), "End": iso(day(offset_end))}


def and_(*expressions) -> dict:
    return {"And": list(expressions)}


def dim(key: str, *values: str) -> dict:
    return {"Dimensions": {"Key": key, "Values": list(values)}}


def total(answer, metric: str = "UnblendedCost") -> Decimal:
    (result,) = answer["ResultsByTime"]
    return Decimal(result["Total"][metric]["Amount"])


def recompute_variant(
    cw, endpoint: str, variant: dict, config: dict, created: datetime, start: datetime
) -> Decimal:
    """One day of one variant's cost from CloudWatch usage (serverless) or uptime (instances) x price."""
    end = start + timedelta(days=1)
    if "ServerlessConfig" in config:
        answer = cw.get_metric_data(
            MetricDataQueries=[
                query("inv", endpoint, "Invocations", "Sum", 86400, variant=variant["VariantName"]),
                query("lat", endpoint, "ModelLatency", "Average", 86400, variant=variant["VariantName"]),
            ],
            StartTime=start,
            EndTime=end,
        )
        got = {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}
        if not got["inv"]:
            return Decimal(0)
        seconds = Decimal(got["inv"][0] * got["lat"][0] / 1e6)  # ModelLatency is in microseconds
        return seconds * Decimal(config["ServerlessConfig"]["MemorySizeInMB"]) / 1024 * GB_SECOND
    hours = Decimal((end - max(start, created)).total_seconds()) / 3600
    hourly = Decimal(PRICES["instance_types"][config["InstanceType"]]["hourly"])
    return hours * variant["CurrentInstanceCount"] * hourly


def recompute_endpoint(sm, cw, name: str, start: datetime) -> tuple[Decimal, Decimal]:
    """(serverless part, instance part) of an endpoint's cost on the day starting at `start`."""
    described = sm.describe_endpoint(EndpointName=name)
    configs = {
        c["VariantName"]: c
        for c in sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])[
            "ProductionVariants"
        ]
    }
    serverless = instance = Decimal(0)
    for variant in described["ProductionVariants"]:
        config = configs[variant["VariantName"]]
        cost = recompute_variant(cw, name, variant, config, described["CreationTime"], start)
        if "ServerlessConfig" in config:
            assert "ProvisionedConcurrency" not in config["ServerlessConfig"], "no PC in the payer account"
            serverless += cost
        else:
            instance += cost
    return serverless, instance


def test_an_accounts_daily_cost_equals_usage_times_price(world, factory, ce):
    start = day(-5)
    serverless = instance = Decimal(0)
    for region in ("us-east-1", "eu-west-1"):
        sm = factory.client("sagemaker", account=AMBIENT, region=region)
        cw = factory.client("cloudwatch", account=AMBIENT, region=region)
        for summary in sm.list_endpoints(MaxResults=100)["Endpoints"]:
            s, i = recompute_endpoint(sm, cw, summary["EndpointName"], start)
            serverless += s
            instance += i
    assert serverless > 0 and instance > 0

    filt = and_(SAGEMAKER, dim("LINKED_ACCOUNT", PAYER))
    answer = ce.get_cost_and_usage(
        TimePeriod=period(-5, -4), Granularity="DAILY", Metrics=["UnblendedCost"], Filter=filt
    )
    assert abs(total(answer) - (serverless + instance)) <= TOLERANCE
    assert answer["ResultsByTime"][0]["Total"]["UnblendedCost"]["Unit"] == "USD"

    by_type = ce.get_cost_and_usage(
        TimePeriod=period(-5, -4),
        Granularity="DAILY",
        Metrics=["UnblendedCost", "UsageQuantity"],
        Filter=filt,
        GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    )
    groups = by_type["ResultsByTime"][0]["Groups"]
    hosts = [g for g in groups if "-Host:" in g["Keys"][0]]
    assert sum(Decimal(g["Metrics"]["UnblendedCost"]["Amount"]) for g in hosts) == instance  # exact
    assert all(g["Metrics"]["UsageQuantity"]["Unit"] == "Hrs" for g in hosts)
    assert {g["Keys"][0].split("-")[0] for g in groups} == {"USE1", "EUW1"}


@pytest.mark.parametrize("name", ["search-embed-serverless", "vision-batch-p4d"])
def test_resource_level_cost_of_an_endpoint_equals_usage_times_price(world, factory, ce, name):
    endpoint = world.fleet.endpoint(name)
    sm = factory.client("sagemaker", account=AMBIENT, region=endpoint.region)
    cw = factory.client("cloudwatch", account=AMBIENT, region=endpoint.region)
    serverless, instance = recompute_endpoint(sm, cw, name, day(-3))
    answer = ce.get_cost_and_usage_with_resources(
        TimePeriod=period(-3, -2),
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        Filter=and_(SAGEMAKER, dim("RESOURCE_ID", endpoint.arn)),
    )
    billed = total(answer)
    assert billed == world.fleet.daily_cost(endpoint, day(-3).date())
    if instance:
        assert billed == instance == Decimal("24") * Decimal("37.688")
    else:
        assert abs(billed - serverless) <= Decimal("0.0000002")  # one variant: < $1.2e-7, see TOLERANCE


def test_resource_level_data_is_opted_in_for_the_payer_only_and_covers_14_days(factory, ce):
    filt = and_(SAGEMAKER, dim("LINKED_ACCOUNT", MEMBER))
    answer = ce.get_cost_and_usage_with_resources(
        TimePeriod=period(-2, -1),
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        Filter=filt,
        GroupBy=[{"Type": "DIMENSION", "Key": "RESOURCE_ID"}],
    )
    arns = [g["Keys"][0] for g in answer["ResultsByTime"][0]["Groups"]]
    assert arns and all(f":{MEMBER}:endpoint/" in arn for arn in arns)  # the payer sees its members

    member_ce = factory.client("ce", account=MEMBER_TARGET, region="eu-west-1")
    with pytest.raises(member_ce.exceptions.DataUnavailableException):
        member_ce.get_cost_and_usage_with_resources(
            TimePeriod=period(-2, -1), Granularity="DAILY", Metrics=["UnblendedCost"], Filter=SAGEMAKER
        )
    with pytest.raises(ClientError) as exc:
        ce.get_cost_and_usage_with_resources(
            TimePeriod=period(-20, -1), Granularity="DAILY", Metrics=["UnblendedCost"], Filter=SAGEMAKER
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ce.get_cost_and_usage(
            TimePeriod=period(-2, -1),
            Granularity="DAILY",
            Metrics=["UnblendedCost"],
            Filter=dim("RESOURCE_ID", "x"),
        )
    assert exc.value.response["Error"]["Message"] == "Dimension RESOURCE_ID is not allowed."


def test_a_member_sees_its_own_costs_and_the_payer_sees_all(factory, ce):
    member_ce = factory.client("ce", account=MEMBER_TARGET, region="us-east-1")
    group = [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]
    kwargs = {
        "TimePeriod": period(-4, -3),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": group,
    }
    mine = member_ce.get_cost_and_usage(**kwargs)
    everyone = ce.get_cost_and_usage(**kwargs)
    assert [g["Keys"] for g in mine["ResultsByTime"][0]["Groups"]] == [[MEMBER]]
    assert [g["Keys"] for g in everyone["ResultsByTime"][0]["Groups"]] == [[PAYER], [MEMBER]]
    assert everyone["ResultsByTime"][0]["Groups"][1] == mine["ResultsByTime"][0]["Groups"][0]
    assert {a["Value"] for a in everyone["DimensionValueAttributes"]} == {PAYER, MEMBER}
    assert everyone["ResultsByTime"][0]["Total"] == {}  # grouped answers carry no total, as in AWS


def test_the_runaway_endpoint_spends_far_above_its_history(world, ce):
    runaway = world.fleet.by_role("runaway")
    assert [ep.name for ep in runaway] == ["nlp-chat-serverless"]
    (endpoint,) = runaway
    daily = {offset: world.fleet.daily_cost(endpoint, day(offset).date()) for offset in range(-17, 0)}
    earlier = [daily[o] for o in range(-17, -3)]
    forecast = sum(earlier) / len(earlier)
    for offset in (-3, -2, -1):
        assert daily[offset] > Decimal("1.5") * forecast
        assert daily[offset] > Decimal("1.5") * max(earlier)  # above any forecast from that history
    answer = ce.get_cost_and_usage_with_resources(
        TimePeriod=period(-3, 0),
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        Filter=and_(SAGEMAKER, dim("RESOURCE_ID", endpoint.arn)),
    )
    assert [Decimal(r["Total"]["UnblendedCost"]["Amount"]) for r in answer["ResultsByTime"]] == [
        daily[-3],
        daily[-2],
        daily[-1],
    ]


def test_the_idle_endpoint_is_still_billed_for_its_hours(world):
    (idle,) = world.fleet.by_role("idle")
    for offset in range(-10, 0):
        traffic = world.fleet.day_traffic(idle, "AllTraffic", day(offset).date())
        assert traffic.summary.invocations == 0
        assert world.fleet.daily_cost(idle, day(offset).date()) == Decimal("24") * Decimal("0.99")


def test_costs_lag_a_day_and_recent_days_are_estimated(ce):
    answer = ce.get_cost_and_usage(
        TimePeriod=period(-4, 1),
        Granularity="DAILY",
        Metrics=["UnblendedCost", "AmortizedCost"],
        Filter=SAGEMAKER,
    )
    results = answer["ResultsByTime"]
    assert [r["TimePeriod"]["Start"] for r in results] == [iso(day(o)) for o in range(-4, 1)]
    assert [r["Estimated"] for r in results] == [False, False, True, True, True]
    assert results[-1]["Total"]["UnblendedCost"]["Amount"] == "0"  # nothing for today yet
    assert all(r["Total"]["UnblendedCost"] == r["Total"]["AmortizedCost"] for r in results)


def test_tag_groups_use_team_dollar_keys_and_add_up(ce):
    kwargs = {
        "TimePeriod": period(-6, -5),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": SAGEMAKER,
    }
    whole = total(ce.get_cost_and_usage(**kwargs))
    grouped = ce.get_cost_and_usage(**kwargs, GroupBy=[{"Type": "TAG", "Key": "team"}])
    groups = {
        g["Keys"][0]: Decimal(g["Metrics"]["UnblendedCost"]["Amount"])
        for g in grouped["ResultsByTime"][0]["Groups"]
    }
    assert set(groups) == {"team$", "team$nlp", "team$recsys", "team$search", "team$vision"}
    assert sum(groups.values()) == whole
    untagged = ce.get_cost_and_usage(
        **{**kwargs, "Filter": and_(SAGEMAKER, {"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}})}
    )
    assert total(untagged) == groups["team$"]
    monthly = ce.get_cost_and_usage(
        TimePeriod=period(-50, 0), Granularity="MONTHLY", Metrics=["UnblendedCost"], Filter=SAGEMAKER
    )
    assert [r["TimePeriod"] for r in monthly["ResultsByTime"]] == [
        {"Start": iso(day(-50)), "End": "2026-11-01"},
        {"Start": "2026-11-01", "End": iso(day(0))},
    ]


def test_groups_page_at_the_page_size(ce):
    small = factory_for(SimulatedAWS(seed=7, clock=lambda: NOW, ce_page_size=7)).client(
        "ce", account=AMBIENT, region="us-east-1"
    )
    kwargs = {
        "TimePeriod": period(-5, -1),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
            {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
        ],
    }

    def collect(client) -> tuple[int, dict]:
        pages, cells, token = 0, {}, None
        while True:
            answer = client.get_cost_and_usage(**kwargs, **({"NextPageToken": token} if token else {}))
            pages += 1
            for result in answer["ResultsByTime"]:
                for g in result["Groups"]:
                    cells[(result["TimePeriod"]["Start"], tuple(g["Keys"]))] = g["Metrics"]["UnblendedCost"][
                        "Amount"
                    ]
            token = answer.get("NextPageToken")
            if not token:
                return pages, cells

    pages, paged = collect(small)
    one_page, whole = collect(ce)
    assert one_page == 1 and pages == -(-len(whole) // 7) and pages > 3
    assert paged == whole


def test_forecast_starts_today_and_sits_near_recent_spend(world, ce):
    answer = ce.get_cost_forecast(TimePeriod=period(0, 3), Metric="UNBLENDED_COST", Granularity="DAILY")
    results = answer["ForecastResultsByTime"]
    assert len(results) == 3
    means = [Decimal(r["MeanValue"]) for r in results]
    assert Decimal(answer["Total"]["Amount"]) == sum(means)
    assert all(Decimal(r["PredictionIntervalLowerBound"]) <= m <= Decimal(r["PredictionIntervalUpperBound"])
               for r, m in zip(results, means, strict=True))  # fmt: skip
    yesterday = sum(world.fleet.daily_cost(ep, day(-1).date()) for ep in world.fleet.endpoints)
    assert abs(means[0] - yesterday) / yesterday < Decimal("0.1")
    member = ce.get_cost_forecast(
        TimePeriod=period(0, 40),
        Metric="UNBLENDED_COST",
        Granularity="MONTHLY",
        Filter=dim("LINKED_ACCOUNT", MEMBER),
    )
    assert len(member["ForecastResultsByTime"]) == 2
    for bad in (
        {"TimePeriod": period(-1, 2)},  # must start today or later
        {"TimePeriod": period(0, 2), "Filter": {"Tags": {"Key": "team", "Values": ["nlp"]}}},
    ):
        with pytest.raises(ClientError) as exc:
            ce.get_cost_forecast(**{"Metric": "UNBLENDED_COST", "Granularity": "DAILY", **bad})
        assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_dimension_values_name_the_service_and_the_accounts(ce):
    services = ce.get_dimension_values(TimePeriod=period(-3, -1), Dimension="SERVICE")
    assert [v["Value"] for v in services["DimensionValues"]] == ["Amazon SageMaker"]
    accounts = ce.get_dimension_values(TimePeriod=period(-3, -1), Dimension="LINKED_ACCOUNT")
    assert [v["Value"] for v in accounts["DimensionValues"]] == [PAYER, MEMBER]
    assert accounts["DimensionValues"][0]["Attributes"]["description"]
    usage = ce.get_dimension_values(
        TimePeriod=period(-3, -1), Dimension="USAGE_TYPE", SearchString="provconc"
    )
    assert {v["Value"] for v in usage["DimensionValues"]} == {
        "EUW1-ServerlessInf:ProvConc-Mem-2GB",
        "EUW1-ServerlessInf:ProvConcInv-Mem-2GB",
    }


def test_ground_truth_costs_by_usage_type(world):
    pc = world.fleet.endpoint("search-query-pc")
    lines = world.fleet.daily_cost_by_usage_type(pc, day(-2).date())
    assert set(lines) == {
        "EUW1-ServerlessInf:Mem-2GB",
        "EUW1-ServerlessInf:ProvConc-Mem-2GB",
        "EUW1-ServerlessInf:ProvConcInv-Mem-2GB",
    }
    # Capacity: 4 concurrent x 2 GB x 86,400 s x the provisioned rate, whatever the traffic.
    capacity_rate = Decimal(PRICES["serverless"]["provisioned_concurrency_per_gb_second"])
    assert lines["EUW1-ServerlessInf:ProvConc-Mem-2GB"] == 4 * 2 * 86400 * capacity_rate
    assert sum(lines.values()) == world.fleet.daily_cost(pc, day(-2).date())
    assert world.fleet.daily_cost(pc, datetime(2020, 1, 1, tzinfo=UTC).date()) == 0
