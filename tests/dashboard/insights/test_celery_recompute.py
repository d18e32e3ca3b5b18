"""Recommendations are recomputed by a real Celery worker after each metrics collection: nothing in the
test process computes them."""

import pytest

from dashboard.insights.model import MEMORY_OVER
from dashboard.models import AwsAccount, Recommendation
from tests.support.waiting import wait_until
from tests.support.worker import celery_worker

SPEC = "seed=7,endpoints=8"
pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True)
def test_a_metrics_collection_in_the_worker_queues_the_recomputation(tmp_path):
    from collectors.simulator import SimulatedAWS

    sim = SimulatedAWS.from_spec(SPEC)
    for acct in sim.accounts:
        AwsAccount.objects.create(
            account_id=acct.account_id, role_arn=acct.role_arn or "", regions=list(acct.regions)
        )
    with celery_worker(tmp_path, {"AWS_SIMULATOR": SPEC}, "--concurrency", "2") as (client, _):
        ids = client.send_task("collectors.tasks.collect_all_inventory").get(timeout=180)
        [client.AsyncResult(i).get(timeout=300) for i in ids]
        assert not Recommendation.objects.exists()

        # 80 hours of history (a backfill, as runstack --simulate queues one): past the 72-hour minimum.
        results = [
            client.send_task("collectors.tasks.collect_metrics", args=[account.pk, region, 80])
            for account in AwsAccount.objects.all()
            for region in account.regions
        ]
        assert {r.get(timeout=300)["status"] for r in results} == {"ok"}
        rec = wait_until(
            lambda: Recommendation.objects.filter(
                rule=MEMORY_OVER, endpoint__name="search-embed-serverless", active=True
            ).first(),
            timeout=120,
            what="the worker to recompute the recommendations",
        )
    assert rec.proposed["memory_mb"] < rec.current["memory_mb"] == 6144
    assert rec.evidence  # computed from the worker's stored metrics
