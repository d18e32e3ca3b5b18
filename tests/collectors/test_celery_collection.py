"""The whole collection chain through a real Celery worker (prefork, 2 processes) on a real Redis into
the real Postgres test database, against the simulated AWS account switched on by AWS_SIMULATOR."""

from pathlib import Path

import pytest

from dashboard.models import AwsAccount, CollectionRun, DailyCost, Endpoint, EndpointCost, MetricPoint
from tests.support.worker import celery_worker

ROOT = Path(__file__).resolve().parents[2]
SPEC = "seed=7,endpoints=8"
pytestmark = pytest.mark.slow


@pytest.fixture
def simulated_worker(tmp_path):
    env = {"AWS_SIMULATOR": SPEC, "METRICS_INITIAL_LOOKBACK_HOURS": "6", "COSTS_LOOKBACK_DAYS": "3"}
    with celery_worker(tmp_path, env, "--concurrency", "2") as (client, _):
        yield client


def run_all(client, fan_out: str) -> list[dict]:
    ids = client.send_task(fan_out).get(timeout=180)
    return [client.AsyncResult(i).get(timeout=300) for i in ids]


@pytest.mark.django_db(transaction=True)
def test_worker_collects_inventory_metrics_and_costs_from_the_simulator(simulated_worker):
    from collectors.simulator import SimulatedAWS

    sim = SimulatedAWS.from_spec(SPEC)
    for acct in sim.accounts:
        AwsAccount.objects.create(
            account_id=acct.account_id, role_arn=acct.role_arn or "", regions=list(acct.regions)
        )

    inventory = run_all(simulated_worker, "collectors.tasks.collect_all_inventory")
    assert {r["status"] for r in inventory} == {"ok"}
    assert Endpoint.objects.count() == len(sim.fleet.endpoints)

    metrics = run_all(simulated_worker, "collectors.tasks.collect_all_metrics")
    assert {r["status"] for r in metrics} == {"ok"}
    assert MetricPoint.objects.exists()
    runs = CollectionRun.objects.filter(kind="metrics")
    assert all(r.metrics_requested > 0 and r.task_id for r in runs)

    # The member's costs are read through the payer (the organization's management account): one task.
    payer, member = AwsAccount.objects.order_by("account_id")
    member.cost_payer = payer
    member.save()
    costs = run_all(simulated_worker, "collectors.tasks.collect_all_costs")
    assert [r["status"] for r in costs] == ["ok"]
    run = CollectionRun.objects.get(kind="costs")
    assert run.account == payer and run.stats["accounts"] == [payer.account_id, member.account_id]
    assert set(DailyCost.objects.values_list("account", flat=True)) == {payer.pk, member.pk}
    assert set(EndpointCost.objects.values_list("source", flat=True)) == {"estimate", "resource"}
    # Resource-level data, opted in for the payer only, now covers the member's endpoints too.
    assert EndpointCost.objects.filter(source="resource", endpoint__account=member).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_task_delivered_twice_at_once_stores_one_set_of_rows(simulated_worker):
    from collectors.simulator import SimulatedAWS

    acct = SimulatedAWS.from_spec(SPEC).accounts[0]
    account = AwsAccount.objects.create(account_id=acct.account_id, regions=["us-east-1"])
    simulated_worker.send_task("collectors.tasks.collect_inventory", args=[account.pk, "us-east-1"]).get(
        timeout=180
    )

    twice = [
        simulated_worker.send_task("collectors.tasks.collect_metrics", args=[account.pk, "us-east-1"])
        for _ in range(2)
    ]
    answers = [r.get(timeout=300) for r in twice]

    # Either the second copy found the first one's lock, or it ran after it and found nothing due.
    ran = [a for a in answers if "run" in a]
    assert len(ran) >= 1 and all(a["status"] == "ok" for a in ran)
    requested = sum(CollectionRun.objects.filter(kind="metrics").values_list("metrics_requested", flat=True))
    first = CollectionRun.objects.filter(kind="metrics").order_by("started_at").first()
    assert requested == first.metrics_requested  # AWS was asked once
    assert MetricPoint.objects.count() == first.stats["points"] > 0  # what one run stored, nothing more
