"""Wiring from Django settings to the plain collectors: which accounts, which client factory.

This is the only place the simulated AWS account is switched on, from the AWS_SIMULATOR setting;
the collection code itself never knows whether it talks to AWS or to the simulator.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings

from collectors.aws.clients import CallLog, ClientFactory, default_config
from collectors.model import AccountTarget
from dashboard.models import AwsAccount

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def simulator_for(spec: str):
    from collectors.simulator import SimulatedAWS

    return SimulatedAWS.from_spec(spec)


def build_factory(call_log: CallLog | None = None) -> ClientFactory:
    config = default_config(max_attempts=settings.AWS_MAX_ATTEMPTS, read_timeout=settings.AWS_READ_TIMEOUT)
    kwargs = {"config": config, "role_session_name": settings.AWS_ROLE_SESSION_NAME, "call_log": call_log}
    if settings.AWS_SIMULATOR:
        import boto3

        sim = simulator_for(settings.AWS_SIMULATOR)
        # Static dummy credentials: nothing in the environment can leak into, or out of, a simulated run.
        session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")  # noqa: S106
        return ClientFactory(session=session, hooks=[sim.attach], **kwargs)
    return ClientFactory(**kwargs)


def target(account: AwsAccount) -> AccountTarget:
    return AccountTarget(
        account_id=account.account_id,
        role_arn=account.role_arn or None,
        external_id=account.external_id or None,
        label=account.label,
    )


def enabled_accounts() -> list[AwsAccount]:
    """The accounts to collect. With none configured at all, the ambient credentials' account is
    registered (once) as the one account, in settings.AWS_REGIONS."""
    if not AwsAccount.objects.exists():
        account_id = build_factory().caller_account_id()
        AwsAccount.objects.get_or_create(
            account_id=account_id, defaults={"label": "ambient credentials", "regions": settings.AWS_REGIONS}
        )
        log.info("no accounts configured: registered ambient account %s", account_id)
    return list(AwsAccount.objects.filter(enabled=True))


def cost_readers(accounts: list[AwsAccount]) -> list[AwsAccount]:
    """Of these accounts, the ones whose Cost Explorer is read: every account except a member whose
    payer is among them too (the payer's run reads the member's costs). A link the model refuses (an
    account its own payer, a payer that is itself a member) but that reached the database anyway reads
    its own costs, with a warning, rather than nobody's."""
    payer_of = {a.pk: a.cost_payer_id for a in accounts}
    readers = []
    for account in accounts:
        payer = account.cost_payer_id
        if payer in payer_of:
            if payer_of[payer] is None:
                continue
            log.warning(
                "account %s: cost payer %s is the account itself or a member: reading its own costs",
                account.account_id, payer,
            )  # fmt: skip
        readers.append(account)
    return readers


def cost_covered(account: AwsAccount) -> list[AwsAccount]:
    """The accounts one cost run of `account` reads: itself, then its enabled members (none if it is a
    member itself)."""
    if account.cost_payer_id is not None:
        return [account]
    members = AwsAccount.objects.filter(cost_payer=account, enabled=True).exclude(pk=account.pk)
    return [account, *members.order_by("account_id")]
