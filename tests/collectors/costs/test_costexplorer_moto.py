"""collectors.aws.costexplorer against a real AWS protocol peer: a moto server over HTTP.

moto 5.2 answers GetCostAndUsage from a queue of results posted to
`POST /moto-api/static/ce/cost-and-usage-results` as {"results": [<GetCostAndUsage answer>, ...],
"account_id": "123456789012"}: each request whose body it has not seen takes the next queued answer,
and the same body later gets the same answer again (so a second page, whose body adds NextPageToken,
takes the next one). moto does not implement GetCostForecast: its DataUnavailableException path is
injected at the botocore level with a Stubber."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import requests
from botocore.stub import Stubber

from collectors.aws.costexplorer import daily_costs, month_forecast, tag_costs
from collectors.model import AccountTarget

MOTO_ACCOUNT = "123456789012"  # moto's account for the credentials "testing"
DAY = date(2026, 11, 10)


def queue(moto_url: str, *answers: dict) -> None:
    response = requests.post(
        f"{moto_url}/moto-api/static/ce/cost-and-usage-results",
        json={"results": list(answers), "account_id": MOTO_ACCOUNT},
        timeout=10,
    )
    assert response.status_code == 201


def money(amount: str, unit: str = "USD") -> dict:
    return {"Amount": amount, "Unit": unit}


def group(key: str, unblended: str, amortized: str | None = None, unit: str = "USD") -> dict:
    return {
        "Keys": [key],
        "Metrics": {
            "UnblendedCost": money(unblended, unit),
            "AmortizedCost": money(amortized or unblended, unit),
        },
    }


def result(day: date, groups: list[dict], estimated: bool = False) -> dict:
    end = date.fromordinal(day.toordinal() + 1)
    period = {"Start": day.isoformat(), "End": end.isoformat()}
    return {"TimePeriod": period, "Total": {}, "Groups": groups, "Estimated": estimated}


def answer(*results: dict, token: str | None = None) -> dict:
    out = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        "ResultsByTime": list(results),
        "DimensionValueAttributes": [],
    }
    if token:
        out["NextPageToken"] = token
    return out


@pytest.fixture
def moto_ce(moto_factory):
    factory = moto_factory()
    return factory, factory.client("ce", account=AccountTarget(MOTO_ACCOUNT), region="us-east-1")


def collect(client, start=DAY, end=date(2026, 11, 12)):
    return daily_costs(client, account_id=MOTO_ACCOUNT, start=start, end=end, regions=["us-east-1"])


def test_daily_costs_parses_a_queued_moto_answer(moto_env, moto_ce):
    factory, client = moto_ce
    queue(
        moto_env,
        answer(
            result(
                DAY,
                [group("USE1-Host:ml.g4dn.xlarge", "35.3472"), group("USE1-ServerlessInf:Mem-3GB", "0.42")],
            ),
            result(date(2026, 11, 11), [], estimated=True),  # a day without cost: no Groups
        ),
    )
    rows = collect(client)
    assert [(r.usage_type, r.day, r.unblended, r.currency, r.estimated) for r in rows] == [
        ("USE1-Host:ml.g4dn.xlarge", DAY, Decimal("35.3472"), "USD", False),
        ("USE1-ServerlessInf:Mem-3GB", DAY, Decimal("0.42"), "USD", False),
    ]
    assert all(r.account_id == MOTO_ACCOUNT and r.region == "us-east-1" for r in rows)
    assert factory.call_log.as_dict() == {"ce:GetCostAndUsage": 1}


def test_refunds_and_credits_are_kept_as_negative_amounts(moto_env, moto_ce):
    _, client = moto_ce
    queue(
        moto_env,
        answer(
            result(
                DAY,
                [
                    group("USE1-Host:ml.g4dn.xlarge", "-1.23", "-0.98"),
                    group("USE1-ServerlessInf:Mem-1GB", "0"),
                ],
                estimated=True,
            )
        ),
    )
    rows = collect(client)
    assert [(r.unblended, r.amortized, r.estimated) for r in rows] == [
        (Decimal("-1.23"), Decimal("-0.98"), True),
        (Decimal("0"), Decimal("0"), True),
    ]


def test_the_currency_aws_gives_is_kept(moto_env, moto_ce):
    _, client = moto_ce
    queue(moto_env, answer(result(DAY, [group("EUW1-Host:ml.g4dn.xlarge", "12.5", unit="EUR")])))
    (row,) = collect(client)
    assert (row.unblended, row.currency) == (Decimal("12.5"), "EUR")


def test_pages_from_moto_are_followed_to_the_end(moto_env, moto_ce):
    factory, client = moto_ce
    queue(
        moto_env,
        answer(result(DAY, [group("USE1-Host:ml.g4dn.xlarge", "1")]), token="page-2"),
        answer(result(DAY, [group("USE1-ServerlessInf:Mem-2GB", "2")])),
    )
    rows = collect(client)
    assert [(r.usage_type, r.unblended) for r in rows] == [
        ("USE1-Host:ml.g4dn.xlarge", Decimal("1")),
        ("USE1-ServerlessInf:Mem-2GB", Decimal("2")),
    ]
    assert factory.call_log.as_dict() == {"ce:GetCostAndUsage": 2}


@pytest.mark.parametrize(
    ("bad_group", "message"),
    [
        (
            group("USE1-Host:ml.g4dn.xlarge", "twelve dollars"),
            r"ResultsByTime\[0\]\.Groups\[1\]\.Metrics\.UnblendedCost\.Amount is not a number",
        ),
        (group("USE1-Host:ml.g4dn.xlarge", "NaN"), r"UnblendedCost\.Amount is not a finite number"),
        (group("USE1-Host:ml.g4dn.xlarge", ""), r"UnblendedCost\.Amount is missing"),
        (
            group("USE1-Host:ml.g4dn.xlarge", "1", unit="Hrs"),
            r"UnblendedCost\.Unit 'Hrs' is not a currency code",
        ),
        ({"Keys": ["USE1-Host:ml.g4dn.xlarge"]}, r"Metrics\.UnblendedCost is missing"),
        (
            {"Keys": ["x"], "Metrics": {"UnblendedCost": money("1"), "AmortizedCost": money("1", "EUR")}},
            r"UnblendedCost in USD, AmortizedCost in EUR",
        ),
    ],
)
def test_malformed_figures_raise_a_value_error_naming_the_field(moto_env, moto_ce, bad_group, message):
    _, client = moto_ce
    queue(moto_env, answer(result(DAY, [group("USE1-ServerlessInf:Mem-1GB", "1"), bad_group])))
    with pytest.raises(ValueError, match=message):
        collect(client)


def test_a_period_that_is_not_one_day_is_refused(moto_env, moto_ce):
    _, client = moto_ce
    month = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-12-01"}, "Groups": [group("x", "1")]}
    queue(moto_env, answer(month))
    with pytest.raises(ValueError, match=r"ResultsByTime\[0\]\.TimePeriod .* is not one day"):
        collect(client)


def test_a_group_repeated_across_pages_is_refused_not_double_counted(moto_env, moto_ce):
    _, client = moto_ce
    queue(
        moto_env,
        answer(result(DAY, [group("USE1-Host:ml.g4dn.xlarge", "1")]), token="page-2"),
        answer(result(DAY, [group("USE1-Host:ml.g4dn.xlarge", "1")])),
    )
    with pytest.raises(ValueError, match="appears twice"):
        collect(client)


def test_tag_keys_are_split_at_the_dollar_and_empty_means_untagged(moto_env, moto_ce):
    _, client = moto_ce
    tagged = {"Keys": ["team$search"], "Metrics": {"UnblendedCost": money("4.5")}}
    untagged = {"Keys": ["team$"], "Metrics": {"UnblendedCost": money("0.5")}}
    queue(moto_env, answer(result(DAY, [tagged, untagged])))
    rows = tag_costs(client, account_id=MOTO_ACCOUNT, tag_key="team", start=DAY, end=date(2026, 11, 11))
    assert [(r.tag_value, r.untagged, r.unblended) for r in rows] == [
        ("search", False, Decimal("4.5")),
        ("", True, Decimal("0.5")),
    ]


def test_month_forecast_is_none_when_cost_explorer_has_too_little_history(moto_ce):
    _, client = moto_ce
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_cost_forecast",
            service_error_code="DataUnavailableException",
            service_message="Insufficient amount of historical data to generate forecast.",
        )
        assert month_forecast(client, account_id=MOTO_ACCOUNT, today=DAY) is None
        stub.assert_no_pending_responses()


def test_month_forecast_parses_total_means_and_bounds(moto_ce):
    _, client = moto_ce
    days = [("2026-11-29", "2026-11-30", "3.5", "3", "4"), ("2026-11-30", "2026-12-01", "4.5", "4", "5.25")]
    with Stubber(client) as stub:
        stub.add_response(
            "get_cost_forecast",
            {
                "Total": money("8"),
                "ForecastResultsByTime": [
                    {
                        "TimePeriod": {"Start": s, "End": e},
                        "MeanValue": m,
                        "PredictionIntervalLowerBound": lo,
                        "PredictionIntervalUpperBound": hi,
                    }
                    for s, e, m, lo, hi in days
                ],
            },
            expected_params={
                "TimePeriod": {"Start": "2026-11-29", "End": "2026-12-01"},
                "Metric": "UNBLENDED_COST",
                "Granularity": "DAILY",
                "Filter": {
                    "And": [
                        {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon SageMaker"]}},
                        {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [MOTO_ACCOUNT]}},
                    ]
                },
            },
        )
        forecast = month_forecast(client, account_id=MOTO_ACCOUNT, today=date(2026, 11, 29))
    assert forecast.amount == Decimal("8") and forecast.currency == "USD"
    assert forecast.daily == [(date(2026, 11, 29), Decimal("3.5")), (date(2026, 11, 30), Decimal("4.5"))]
    assert (forecast.lower, forecast.upper) == (Decimal("7"), Decimal("9.25"))
