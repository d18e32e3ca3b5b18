"""The benchmark's simulated fleets: the same simulator `runstack --simulate` uses, at bench sizes.

Both the harness and its worker process build the fleet from (endpoints, now) alone, so they agree on
every account, endpoint and data point without passing anything else between them.
"""

from __future__ import annotations

from datetime import datetime

import boto3

from collectors.aws.clients import CallLog, ClientFactory
from collectors.inventory import collect_inventory
from collectors.simulator import SimulatedAWS
from dashboard.models import AwsAccount, Team

SEED = 7
REGIONS = ("us-east-1", "eu-west-1")
TEAMS = ("search", "recsys", "vision", "nlp")
ENDPOINTS_PER_ACCOUNT = 100  # about what one account holds in a large organisation: 2,000 -> 20 accounts
# The simulator keeps minute arrays of this many variant-days. The collectors ask for each variant's
# queries together, so a small cache loses nothing, and it keeps the simulator's own memory out of the
# worker's peak (which measures the collectors, not the stand-in for AWS).
WORKER_TRAFFIC_CACHE = 16


def accounts_for(endpoints: int) -> int:
    return max(2, min(90, -(-endpoints // ENDPOINTS_PER_ACCOUNT)))


def simulator(
    endpoints: int, now: datetime, *, history_days: int, traffic_cache_days: int = 384, clock=None
) -> SimulatedAWS:
    """The fleet as it is at `now` (its anchor); `clock` moves the simulator's time from there."""
    return SimulatedAWS(
        SEED,
        clock=clock or (lambda: now),
        endpoints=endpoints,
        accounts=accounts_for(endpoints),
        regions=REGIONS,
        history_days=history_days,
        traffic_cache_days=traffic_cache_days,
    )


def factory(sim: SimulatedAWS, clock) -> ClientFactory:
    """A client factory wired to the simulator as collectors.runtime wires it from AWS_SIMULATOR."""
    session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")  # noqa: S106
    return ClientFactory(session=session, hooks=[sim.attach], call_log=CallLog(), clock=clock)


def register(sim: SimulatedAWS, now: datetime) -> tuple[list[AwsAccount], CallLog]:
    """The simulator's accounts and teams as a user would configure them, then their inventory, collected
    by the product's inventory collector. Returns the accounts and the calls the inventory made."""
    accounts = [
        AwsAccount.objects.create(
            account_id=a.account_id, label=a.label, role_arn=a.role_arn or "", regions=list(a.regions)
        )
        for a in sim.accounts
    ]
    for name in TEAMS:
        Team.objects.get_or_create(slug=name, defaults={"name": name.title(), "tag_values": [name]})
    log = CallLog()
    for account in accounts:
        for region in account.regions:
            f = factory(sim, lambda: now)
            collect_inventory(account, region, factory=f, clock=lambda: now)
            log.calls.update(f.call_log.calls)
    return accounts, log


def history_days_needed(days: int) -> int:
    # Endpoints must exist for the whole history (the simulator's fillers are 30 to history_days old).
    return max(60, days + 31)
