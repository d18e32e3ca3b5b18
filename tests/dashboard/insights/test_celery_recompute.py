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
    # Six hours of metrics are enough for a verdict only because the minimum is lowered here.
    env = {"AWS_SIMULATOR": SPEC, "METRICS_INITIAL_LOOKBACK_HOURS": "6", "INSIGHTS_MIN_DATA_HOURS": "1"}
    with celery_worker(tmp_path, env, "--concurrency", "2") as (client, _):
        ids = client.send_task("collectors.tasks.collect_all_inventory").get(timeout=180)
        [client.AsyncResult(i).get(timeout=300) for i in ids]
        assert not Recommendation.objects.exists()

        ids = client.send_task("collectors.tasks.collect_all_metrics").get(timeout=180)
        assert {client.AsyncResult(i).get(timeout=300)["status"] for i in ids} == {"ok"}
        rec = wait_until(
            lambda: Recommendation.objects.filter(
                rule=MEMORY_OVER, endpoint__name="search-embed-serverless", active=True
            ).first(),
            timeout=120,
            what="the worker to recompute the recommendations",
        )
    assert rec.proposed["memory_mb"] < rec.current["memory_mb"] == 6144
    assert rec.evidence  # computed from the worker's stored metrics
