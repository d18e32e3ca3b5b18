"""What `runstack --simulate` registers on an empty database, and the first collection it queues: the
simulator's organization, its members reading their costs through the payer, one chain per cost reader.
(The README's run command itself runs end to end in test_runstack.py.)"""

import pytest

from collectors.runtime import enabled_accounts, simulator_for
from dashboard.management.commands.runstack import SIMULATED_HISTORY_DAYS, Command, history_chains
from dashboard.models import AwsAccount, Team

SPEC = "seed=7,endpoints=8,accounts=3"


def steps(chain) -> list[tuple]:
    return [(sig.task.rsplit(".", 1)[-1], *sig.args) for sig in chain.tasks]


@pytest.mark.django_db
def test_the_simulators_members_read_their_costs_through_its_payer():
    sim = simulator_for(SPEC)
    Command()._seed_simulated_accounts(SPEC)
    accounts = list(AwsAccount.objects.order_by("account_id"))
    assert [a.account_id for a in accounts] == [a.account_id for a in sim.accounts]
    payer, *members = accounts
    assert payer.cost_payer is None and members
    assert all(m.cost_payer == payer for m in members)
    assert Team.objects.exists()

    # Seeding again changes nothing (the accounts exist: a user's own configuration is never touched).
    payer.label = "mine"
    payer.save()
    Command()._seed_simulated_accounts(SPEC)
    assert list(AwsAccount.objects.order_by("account_id")) == accounts
    assert AwsAccount.objects.get(pk=payer.pk).label == "mine"


@pytest.mark.django_db
def test_the_first_collection_is_one_chain_per_cost_reader_inventory_then_history_then_costs():
    Command()._seed_simulated_accounts(SPEC)
    payer, *members = AwsAccount.objects.order_by("account_id")
    scopes = [(a.pk, r) for a in (payer, *members) for r in a.regions]
    hours = SIMULATED_HISTORY_DAYS * 24

    (only,) = history_chains(enabled_accounts())
    assert steps(only) == [
        *(("collect_inventory", pk, region) for pk, region in scopes),
        *(("collect_metrics", pk, region, hours) for pk, region in scopes),
        ("collect_costs", payer.pk),
    ]

    # A member whose payer is switched off reads its own costs, in its own chain.
    payer.enabled = False
    payer.save()
    chains = history_chains(enabled_accounts())
    assert [steps(c)[-1] for c in chains] == [("collect_costs", m.pk) for m in members]
    assert steps(chains[0]) == [
        *(("collect_inventory", members[0].pk, r) for r in members[0].regions),
        *(("collect_metrics", members[0].pk, r, hours) for r in members[0].regions),
        ("collect_costs", members[0].pk),
    ]
