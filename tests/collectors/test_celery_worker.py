"""A real Celery worker (a separate process) on a real Redis runs the inventory tasks into the real
Postgres test database; the test only sends the task and reads the database."""

from pathlib import Path

import pytest

from dashboard.models import AwsAccount, CollectionRun, Endpoint
from tests.collectors.test_inventory_moto import make_endpoint, sagemaker, serverless
from tests.support.worker import celery_worker

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def worker(moto_env, tmp_path):
    with celery_worker(
        tmp_path, {"AWS_ENDPOINT_URL": moto_env, "AWS_MAX_ATTEMPTS": "1"}, "--pool", "solo"
    ) as running:
        yield running


@pytest.mark.django_db(transaction=True)
def test_worker_runs_inventory_task_into_postgres(worker, moto_env):
    client, proc = worker
    make_endpoint(sagemaker(moto_env), "worker-made", [serverless(3072, 10)], tags=[("team", "nlp")])
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])

    result = client.send_task("collectors.tasks.collect_inventory", args=[account.pk, "us-east-1"])
    answer = result.get(timeout=120)

    assert proc.poll() is None, "worker died"
    assert answer["status"] == "ok"
    endpoint = Endpoint.objects.get(account=account, name="worker-made")
    assert endpoint.variants.get().memory_mb == 3072
    run = CollectionRun.objects.get(pk=answer["run"])
    assert run.task_id == result.id  # the worker, not this process, ran it
    assert run.api_calls["sagemaker:DescribeEndpoint"] == 1


@pytest.mark.django_db(transaction=True)
def test_fan_out_task_queues_one_task_per_account_and_region(worker, moto_env):
    client, _ = worker
    make_endpoint(sagemaker(moto_env, region="eu-west-1"), "in-ireland", [serverless()])
    AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1", "eu-west-1"])

    queued = client.send_task("collectors.tasks.collect_all_inventory").get(timeout=120)

    assert len(queued) == 2
    answers = [client.AsyncResult(task_id).get(timeout=120) for task_id in queued]
    assert sorted(a["status"] for a in answers) == ["ok", "ok"]
    assert sorted(CollectionRun.objects.values_list("region", "status")) == [
        ("eu-west-1", "ok"),
        ("us-east-1", "ok"),
    ]
    assert list(Endpoint.objects.values_list("region", "name")) == [("eu-west-1", "in-ireland")]
