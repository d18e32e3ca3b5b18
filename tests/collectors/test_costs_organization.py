"""Costs read through an organization's payer (AwsAccount.cost_payer): one set of Cost Explorer requests
for the payer and its members, the same daily costs and forecasts as separate runs, and resource-level
costs for members that cannot read them themselves."""

from collections import Counter
from datetime import timedelta, timezone
from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from collectors.aws.costexplorer import daily_costs, resource_costs, sagemaker_filter, tag_costs
from collectors.costs import collect_costs
from collectors.inventory import collect_inventory
from collectors.metrics import collect_metrics
from collectors.runtime import cost_covered, cost_readers
from collectors.simulator import SimulatedAWS
from dashboard.models import AwsAccount, CostForecast, DailyCost, Endpoint, EndpointCost
from tests.conftest import NOW
from tests.support.fleet import factory_for, register

TODAY = NOW.date()


def snapshot():
    daily = sorted(
        DailyCost.objects.values_list(
            "account__account_id", "region", "usage_type", "day", "unblended", "amortized"
        )
    )
    forecasts = sorted(
        CostForecast.objects.filter(scope="account").values_list("scope_id", "amount", "lower", "upper")
    )
    costs = sorted(EndpointCost.objects.values_list("endpoint_id", "day", "source", "amount"))
    return daily, forecasts, costs


def forget_costs():
    DailyCost.objects.all().delete()
    CostForecast.objects.all().delete()
    EndpointCost.objects.all().delete()


@pytest.mark.django_db
def test_a_payer_run_reads_its_members_costs_in_one_set_of_requests():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)
    payer, member = register(sim)
    for account in (payer, member):
        for region in account.regions:
            collect_metrics(
                account, region, factory=factory_for(sim), clock=lambda: NOW, backfill=timedelta(days=3)
            )

    separate = [collect_costs(a, factory=factory_for(sim), clock=lambda: NOW) for a in (payer, member)]
    assert [r.status for r in separate] == ["ok", "ok"], [r.errors for r in separate]
    assert [r.stats["resource_level"] for r in separate] == [True, False]  # only the payer opted in
    alone_daily, alone_forecasts, alone_costs = snapshot()
    forget_costs()

    member.cost_payer = payer
    member.full_clean()
    member.save()
    assert cost_readers([payer, member]) == [payer]
    run = collect_costs(payer, factory=factory_for(sim), clock=lambda: NOW)
    assert run.status == "ok", run.errors
    assert run.stats["accounts"] == [payer.account_id, member.account_id]
    daily, forecasts, costs = snapshot()

    # Requests: one GetCostAndUsage per region for both accounts, one resource-level query, and one
    # forecast per account (Cost Explorer cannot group a forecast); separately, each account pays its own.
    ce = {k: v for k, v in run.api_calls.items() if k.startswith("ce:")}
    regions = set(payer.regions) | set(member.regions)
    assert ce == {
        "ce:GetCostAndUsage": len(regions),
        "ce:GetCostAndUsageWithResources": 1,
        "ce:GetCostForecast": 2,
    }
    before = sum(
        (Counter({k: v for k, v in r.api_calls.items() if k.startswith("ce:")}) for r in separate), Counter()
    )
    assert before["ce:GetCostAndUsage"] == len(payer.regions) + len(member.regions) > len(regions)

    # The same daily costs and account forecasts as each account's own run, for both accounts.
    assert {row[0] for row in daily} == {payer.account_id, member.account_id}
    assert daily == alone_daily
    assert forecasts == alone_forecasts and len(forecasts) == 2

    # Estimates are unchanged; the member, not opted in to resource-level data itself, now has it.
    estimates = [c for c in costs if c[2] == "estimate"]
    assert estimates == [c for c in alone_costs if c[2] == "estimate"]
    member_endpoints = dict(Endpoint.objects.filter(account=member).values_list("pk", "arn"))
    resource = {(c[0], c[1]): c[3] for c in costs if c[2] == "resource"}
    alone_resource = {(c[0], c[1]) for c in alone_costs if c[2] == "resource"}
    assert not {e for e, _ in alone_resource} & set(member_endpoints)
    gained = {k: v for k, v in resource.items() if k[0] in member_endpoints}
    assert gained
    # Each gained figure is the simulated bill of that endpoint and day.
    by_arn = {ep.arn: ep for ep in sim.fleet.endpoints}
    for (endpoint_id, day), amount in gained.items():
        ep = by_arn[member_endpoints[endpoint_id]]
        assert amount == sum((line.cost for line in sim.fleet.daily_cost_lines(ep, day)), Decimal(0))
    assert {k: v for k, v in resource.items() if k[0] not in member_endpoints}.keys() == alone_resource

    # Idempotent: a second payer run leaves the same rows.
    again = collect_costs(payer, factory=factory_for(sim), clock=lambda: NOW)
    assert again.status == "ok", again.errors
    assert snapshot() == (daily, forecasts, costs)


@pytest.mark.django_db
def test_a_member_linked_during_the_day_gets_the_whole_window_of_resource_level_costs():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8)
    payer, member = register(sim)
    alone = collect_costs(payer, factory=factory_for(sim), clock=lambda: NOW)
    assert alone.stats["resource_from"] == str(TODAY - timedelta(days=14))
    assert not EndpointCost.objects.filter(endpoint__account=member).exists()

    # Linked later that day: the payer has read its own resource-level costs today, the member's none.
    member.cost_payer = payer
    member.save()
    later = NOW + timedelta(hours=8)
    linked = collect_costs(payer, factory=factory_for(sim), clock=lambda: later)
    assert linked.status == "ok", linked.errors
    assert linked.stats["resource_from"] == str(TODAY - timedelta(days=14))
    days = set(
        EndpointCost.objects.filter(endpoint__account=member, source="resource").values_list("day", flat=True)
    )
    assert days and min(days) < TODAY - timedelta(days=3), days
    # Both have theirs now: the next run that day reads the last days only.
    again = collect_costs(payer, factory=factory_for(sim), clock=lambda: later + timedelta(hours=1))
    assert again.stats["resource_from"] == str(TODAY - timedelta(days=3))


@pytest.mark.django_db
def test_who_reads_whose_costs():
    payer = AwsAccount.objects.create(account_id="111111111111", regions=["us-east-1"])
    member = AwsAccount.objects.create(account_id="222222222222", regions=["eu-west-1"], cost_payer=payer)
    off = AwsAccount.objects.create(
        account_id="333333333333", regions=["eu-west-1"], cost_payer=payer, enabled=False
    )
    alone = AwsAccount.objects.create(account_id="444444444444", regions=["us-east-1"])
    assert cost_readers([payer, member, alone]) == [payer, alone]
    # A member whose payer is not collected (disabled, or not chosen) reads its own costs.
    assert cost_readers([member, alone]) == [member, alone]
    assert cost_covered(payer) == [payer, member]  # the disabled member is not read
    assert cost_covered(member) == [member]
    assert cost_covered(off) == [off]
    # A link the model refuses, if it reached the database, reads the account's own costs, not nobody's.
    AwsAccount.objects.filter(pk=alone.pk).update(cost_payer=alone)
    AwsAccount.objects.filter(pk=payer.pk).update(cost_payer=alone)
    looped, chained = AwsAccount.objects.get(pk=alone.pk), AwsAccount.objects.get(pk=payer.pk)
    member.refresh_from_db()
    assert cost_readers([chained, member, looped]) == [chained, member, looped]
    assert cost_covered(looped) == [looped] and cost_covered(chained) == [chained]
    AwsAccount.objects.filter(pk__in=[alone.pk, payer.pk]).update(cost_payer=None)
    # Removing the payer leaves its members reading their own costs.
    payer.delete()
    member.refresh_from_db()
    assert member.cost_payer is None


@pytest.mark.django_db
def test_a_payer_is_one_level_and_never_the_account_itself():
    payer = AwsAccount.objects.create(account_id="111111111111", regions=["us-east-1"])
    member = AwsAccount.objects.create(account_id="222222222222", regions=["us-east-1"], cost_payer=payer)
    other = AwsAccount.objects.create(account_id="333333333333", regions=["us-east-1"])
    payer.cost_payer = payer
    with pytest.raises(ValidationError, match="through itself"):
        payer.full_clean()
    other.cost_payer = member
    with pytest.raises(ValidationError, match="name that payer"):
        other.full_clean()
    other.cost_payer = None
    payer.cost_payer = other
    with pytest.raises(ValidationError, match="cannot have a payer"):
        payer.full_clean()


@pytest.mark.django_db
def test_the_accounts_command_sets_and_clears_the_payer(capsys):
    call_command("accounts", "add", "111111111111", "--label", "org")
    call_command("accounts", "add", "222222222222", "--cost-payer", "111111111111")
    member = AwsAccount.objects.get(account_id="222222222222")
    assert member.cost_payer.account_id == "111111111111"
    call_command("accounts", "list")
    assert "costs via 111111111111" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no such account"):
        call_command("accounts", "update", "222222222222", "--cost-payer", "999999999999")
    with pytest.raises(CommandError, match="through itself"):
        call_command("accounts", "update", "111111111111", "--cost-payer", "111111111111")
    capsys.readouterr()
    call_command("accounts", "disable", "111111111111")
    assert "its members 222222222222 now read their own costs" in capsys.readouterr().out
    call_command("accounts", "enable", "111111111111")
    assert "its members" not in capsys.readouterr().out
    call_command("accounts", "update", "222222222222", "--cost-payer", "")
    member.refresh_from_db()
    assert member.cost_payer is None


# --- the answers of grouped queries, through botocore's Stubber (request and response validated) ------
PAYER, MEMBER = "111111111111", "222222222222"
DAY = TODAY - timedelta(days=3)


@pytest.fixture
def ce():
    return boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def answer(*groups):
    period = {"Start": DAY.isoformat(), "End": (DAY + timedelta(days=1)).isoformat()}
    return {
        "ResultsByTime": [
            {
                "TimePeriod": period,
                "Total": {},
                "Estimated": False,
                "Groups": [
                    {"Keys": list(keys), "Metrics": {m: {"Amount": amount, "Unit": "USD"} for m in metrics}}
                    for keys, amount, metrics in groups
                ],
            }
        ]
    }


BOTH = ("UnblendedCost", "AmortizedCost")


def test_grouped_daily_costs_ask_once_per_region_and_keep_each_accounts_rows(ce):
    params = {
        "TimePeriod": {"Start": DAY.isoformat(), "End": TODAY.isoformat()},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost", "AmortizedCost"],
        "Filter": sagemaker_filter([MEMBER, PAYER], "us-east-1"),
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
        ],
    }
    alone = {**params, "Filter": sagemaker_filter(PAYER, "eu-west-1"), "GroupBy": params["GroupBy"][1:]}
    with Stubber(ce) as stub:
        stub.add_response(
            "get_cost_and_usage",
            answer(
                ((PAYER, "USE1-Host:ml.g5.xlarge"), "1.5", BOTH),
                ((MEMBER, "USE1-Host:ml.g5.xlarge"), "2", BOTH),
            ),
            expected_params=params,
        )
        stub.add_response(
            "get_cost_and_usage", answer((("EU-Host:ml.m5.large",), "0.25", BOTH)), expected_params=alone
        )
        rows = daily_costs(
            ce, start=DAY, end=TODAY, accounts={PAYER: ["us-east-1", "eu-west-1"], MEMBER: ["us-east-1"]}
        )
        stub.assert_no_pending_responses()
    assert [(r.account_id, r.region, r.usage_type, r.unblended) for r in rows] == [
        (PAYER, "us-east-1", "USE1-Host:ml.g5.xlarge", Decimal("1.5")),
        (MEMBER, "us-east-1", "USE1-Host:ml.g5.xlarge", Decimal("2")),
        (PAYER, "eu-west-1", "EU-Host:ml.m5.large", Decimal("0.25")),
    ]


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        (("333333333333", "USE1-Host:ml.g5.xlarge"), "was not asked for"),
        (("USE1-Host:ml.g5.xlarge",), "is not 2 key(s)"),
        ((PAYER, "USE1-Host:ml.g5.xlarge", "extra"), "is not 2 key(s)"),
    ],
)
def test_a_grouped_answer_for_an_account_not_asked_for_or_with_the_wrong_keys_is_refused(ce, keys, problem):
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", answer((keys, "1", BOTH)))
        with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
            daily_costs(ce, start=DAY, end=TODAY, accounts={PAYER: ["us-east-1"], MEMBER: ["us-east-1"]})


def test_grouped_tag_and_resource_costs_carry_the_account_of_each_group(ce):
    arn = f"arn:aws:sagemaker:us-east-1:{MEMBER}:endpoint/a"
    with Stubber(ce) as stub:
        stub.add_response("get_cost_and_usage", answer(((MEMBER, "team$search"), "3", ("UnblendedCost",))))
        stub.add_response(
            "get_cost_and_usage_with_resources", answer(((MEMBER, arn), "4", ("UnblendedCost",)))
        )
        tags = tag_costs(ce, account_id=[PAYER, MEMBER], tag_key="team", start=DAY, end=TODAY)
        resources = resource_costs(ce, account_id=[PAYER, MEMBER], start=DAY, end=TODAY, today=TODAY)
    assert [(t.account_id, t.tag_value, t.unblended) for t in tags] == [(MEMBER, "search", Decimal(3))]
    assert [(r.account_id, r.resource_arn, r.unblended) for r in resources] == [(MEMBER, arn, Decimal(4))]


@pytest.mark.django_db
def test_cost_explorer_is_asked_for_an_account_forecast_once_a_day():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8, accounts=1)
    (account,) = register(sim)
    first = collect_costs(account, factory=factory_for(sim), clock=lambda: NOW)
    assert first.api_calls["ce:GetCostForecast"] == 1, first.api_calls
    stored = CostForecast.objects.get(scope="account", scope_id=account.pk)
    remainder = stored.amount - stored.month_to_date
    assert stored.asked_at == NOW and remainder > 0
    assert stored.month_to_date == sum(DailyCost.objects.values_list("unblended", flat=True))

    # As if the first run had seen $5 less of the month: a later run the same day adds the remainder Cost
    # Explorer gave to the month so far it reads itself, without asking again.
    CostForecast.objects.filter(pk=stored.pk).update(
        month_to_date=stored.month_to_date - 5,
        amount=stored.amount - 5,
        lower=stored.lower - 5,
        upper=stored.upper - 5,
    )
    later = NOW + timedelta(hours=8)
    second = collect_costs(account, factory=factory_for(sim), clock=lambda: later)
    assert "ce:GetCostForecast" not in second.api_calls and second.stats["forecasts_asked_earlier_today"] == 1
    again = CostForecast.objects.get(pk=stored.pk)
    assert (again.amount, again.lower, again.upper) == (stored.amount, stored.lower, stored.upper)
    assert again.daily == stored.daily and again.asked_at == NOW and again.computed_at == later
    assert again.month_to_date == stored.month_to_date  # what it read itself, stored for the next run

    # The next day it is asked again.
    tomorrow = NOW + timedelta(days=1)
    third = collect_costs(account, factory=factory_for(sim), clock=lambda: tomorrow)
    assert third.api_calls["ce:GetCostForecast"] == 1
    assert CostForecast.objects.get(pk=stored.pk).asked_at == tomorrow


@pytest.mark.django_db
def test_resource_level_costs_are_read_whole_once_a_day_and_their_last_days_on_later_runs(settings):
    # Tag figures too: an endpoint-day with a stored resource-level cost must not gain a tag figure on a
    # run that did not re-read that day at resource level.
    settings.COST_ENDPOINT_TAG_KEY = "team"
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=4, accounts=1, ce_page_size=20)
    (account,) = register(sim)
    for region in account.regions:
        collect_metrics(
            account, region, factory=factory_for(sim), clock=lambda: NOW, backfill=timedelta(days=3)
        )
    first = collect_costs(account, factory=factory_for(sim), clock=lambda: NOW)
    assert first.status == "ok", first.errors
    assert first.stats["resource_from"] == str(TODAY - timedelta(days=14))
    after_first = snapshot()[2]
    sources = Counter(c[2] for c in after_first)
    assert sources["resource"] and sources["tag"] and sources["estimate"], sources

    later = NOW + timedelta(hours=8)
    second = collect_costs(account, factory=factory_for(sim), clock=lambda: later)
    assert second.status == "ok", second.errors
    assert second.stats["resource_from"] == str(TODAY - timedelta(days=3))
    pages = "ce:GetCostAndUsageWithResources"
    assert 0 < second.api_calls[pages] < first.api_calls[pages], (first.api_calls, second.api_calls)
    assert snapshot()[2] == after_first  # the same figures, none lost, none added

    # An endpoint first stored after the day's whole read has no older days yet: the next run reads the
    # whole 14 days again, and the run after it the last days only.
    gone = Endpoint.objects.get(pk=next(c[0] for c in after_first if c[2] == "resource"))
    gone_days = {c[1] for c in after_first if c[0] == gone.pk and c[2] == "resource"}
    gone.delete()
    stored_later = later + timedelta(hours=1)
    collect_inventory(account, gone.region, factory=factory_for(sim), clock=lambda: stored_later)
    back = Endpoint.objects.get(account=account, region=gone.region, name=gone.name)
    assert back.first_seen == stored_later and not EndpointCost.objects.filter(endpoint=back).exists()
    fourth = collect_costs(account, factory=factory_for(sim), clock=lambda: stored_later)
    assert fourth.stats["resource_from"] == str(TODAY - timedelta(days=14))
    resource_days = set(
        EndpointCost.objects.filter(endpoint=back, source="resource").values_list("day", flat=True)
    )
    assert min(resource_days) < TODAY - timedelta(days=3), resource_days
    assert resource_days == gone_days
    fifth = collect_costs(account, factory=factory_for(sim), clock=lambda: stored_later + timedelta(hours=1))
    assert fifth.stats["resource_from"] == str(TODAY - timedelta(days=3))

    # An explicit number of days, or the next day's first run, reads the whole 14 days again.
    third = collect_costs(account, factory=factory_for(sim), clock=lambda: later, days=14)
    assert third.stats["resource_from"] == str(TODAY - timedelta(days=14))
    tomorrow = collect_costs(account, factory=factory_for(sim), clock=lambda: NOW + timedelta(days=1))
    assert tomorrow.stats["resource_from"] == str(TODAY + timedelta(days=1) - timedelta(days=14))


@pytest.mark.django_db
def test_the_day_of_a_run_is_the_utc_day_whatever_zone_the_clock_speaks():
    # Cost Explorer's days are UTC days. A clock answering in UTC+14 says it is already tomorrow at 00:17;
    # the run must still count it as today (no second forecast that day).
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=4, accounts=1)
    (account,) = register(sim)
    collect_costs(account, factory=factory_for(sim), clock=lambda: NOW)
    kiribati = (NOW + timedelta(hours=1)).astimezone(timezone(timedelta(hours=14)))
    assert kiribati.date() != TODAY
    later = collect_costs(account, factory=factory_for(sim), clock=lambda: kiribati)
    assert "ce:GetCostForecast" not in later.api_calls, later.api_calls
    assert later.stats["forecasts_asked_earlier_today"] == 1
