"""Cost Explorer costs $0.01 a request: the requests of a cost collection do not grow with the fleet."""

import pytest

from collectors.costs import collect_costs
from collectors.simulator import SimulatedAWS
from dashboard.models import AwsAccount, Endpoint, Team
from tests.conftest import NOW
from tests.support.fleet import factory_for, register


@pytest.mark.django_db
def test_cost_explorer_requests_do_not_grow_with_the_fleet():
    calls = []
    for size in (8, 40):
        sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=size)
        accounts = register(sim)
        run = collect_costs(accounts[0], factory=factory_for(sim), clock=lambda: NOW)
        calls.append({k: v for k, v in run.api_calls.items() if k.startswith("ce:")})
        Endpoint.objects.all().delete()
        Team.objects.all().delete()
        AwsAccount.objects.all().delete()
    assert calls[0] == calls[1]
