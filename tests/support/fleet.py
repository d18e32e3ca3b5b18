"""A simulated fleet collected into the test database the way production collects it."""

from datetime import timedelta

import boto3

from collectors.aws.clients import CallLog, ClientFactory
from collectors.costs import collect_costs
from collectors.inventory import collect_inventory
from collectors.metrics import collect_metrics
from dashboard.models import AwsAccount, Team
from tests.conftest import NOW

TEAMS = ("search", "recsys", "vision", "nlp")


def factory_for(sim):
    session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")
    return ClientFactory(session=session, hooks=[sim.attach], call_log=CallLog(), clock=lambda: NOW)


def register(sim) -> list[AwsAccount]:
    """The simulator's accounts and teams, as a user would configure them, and their inventory."""
    accounts = [
        AwsAccount.objects.create(
            account_id=a.account_id, label=a.label, role_arn=a.role_arn or "", regions=list(a.regions)
        )
        for a in sim.accounts
    ]
    for value in TEAMS:
        Team.objects.create(name=value, slug=value, tag_values=[value])
    for account in accounts:
        for region in account.regions:
            collect_inventory(account, region, factory=factory_for(sim), clock=lambda: NOW)
    return accounts


def collect_fleet(sim, *, metric_days: int = 3, cost_days: int = 2) -> list[AwsAccount]:
    """Inventory, `metric_days` of metrics and `cost_days` of costs for every account of `sim`."""
    accounts = register(sim)
    for account in accounts:
        for region in account.regions:
            collect_metrics(
                account,
                region,
                factory=factory_for(sim),
                clock=lambda: NOW,
                backfill=timedelta(days=metric_days),
            )
        collect_costs(account, factory=factory_for(sim), clock=lambda: NOW, days=cost_days)
    return accounts
