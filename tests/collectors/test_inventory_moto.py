"""Inventory collection against a real AWS protocol peer: a moto server over HTTP.

moto 5.2 rejects instance types newer than g4dn/p3/inf1, so these tests use those."""

import boto3
import pytest

from collectors.inventory import collect_inventory
from dashboard.models import AwsAccount, Endpoint, EndpointEvent, InstanceType, ProductionVariant

SECOND_ACCOUNT = "222222222222"
ROLE = f"arn:aws:iam::{SECOND_ACCOUNT}:role/SageMakerDashboardReadOnly"


def sagemaker(url, region="us-east-1", creds=None):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client("sagemaker", endpoint_url=url, region_name=region, **creds)


def make_endpoint(sm, name, variants, tags=()):
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/exec",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"},
    )
    for v in variants:
        v.setdefault("ModelName", f"{name}-model")
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=variants)
    return sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[{"Key": k, "Value": v} for k, v in tags]
    )["EndpointArn"]


def serverless(memory=2048, concurrency=5, name="AllTraffic"):
    return {
        "VariantName": name,
        "ServerlessConfig": {"MemorySizeInMB": memory, "MaxConcurrency": concurrency},
    }


def instance(kind="ml.g4dn.xlarge", count=2, name="AllTraffic"):
    return {"VariantName": name, "InstanceType": kind, "InitialInstanceCount": count}


@pytest.fixture
def moto_fleet(moto_env):
    sm = sagemaker(moto_env)
    make_endpoint(sm, "search-ranker", [serverless(6144, 20)], tags=[("team", "search")])
    make_endpoint(sm, "vision-detector", [instance("ml.g4dn.xlarge", 2)], tags=[("team", "CV")])
    make_endpoint(sm, "ab-test", [instance("ml.p3.2xlarge", 1, "A"), instance("ml.inf1.xlarge", 1, "B")])
    return sm


@pytest.mark.django_db
def test_it_collects_every_endpoint_with_shape_tags_and_team(
    moto_fleet, moto_factory, team_search, team_vision
):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    run = collect_inventory(account, "us-east-1", factory=moto_factory())

    assert run.status == "ok", run.errors
    assert run.stats["endpoints"] == 3 and run.stats["created"] == 3
    assert run.api_calls["sagemaker:ListEndpoints"] == 1
    assert run.api_calls["sagemaker:DescribeEndpoint"] == 3
    ranker = Endpoint.objects.get(name="search-ranker")
    assert ranker.team == team_search
    assert ranker.tags == {"team": "search"}
    assert ranker.kind == "serverless"
    (variant,) = ranker.variants.all()
    assert (variant.memory_mb, variant.max_concurrency) == (6144, 20)
    detector = Endpoint.objects.get(name="vision-detector")
    assert detector.team == team_vision  # tag value "CV" matches the team's "cv", case-insensitively
    (gpu,) = detector.variants.all()
    assert gpu.instance_type_id == "ml.g4dn.xlarge" and gpu.current_instance_count == 2
    assert gpu.instance_type.gpu_count == 1
    ab = Endpoint.objects.get(name="ab-test")
    assert ab.team is None
    assert sorted(v.instance_type_id for v in ab.variants.all()) == ["ml.inf1.xlarge", "ml.p3.2xlarge"]
    assert ab.arn == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ab-test"


@pytest.mark.django_db
def test_collecting_twice_leaves_the_same_rows(moto_fleet, moto_factory, team_search):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=moto_factory())
    first = snapshot_rows()
    second_run = collect_inventory(account, "us-east-1", factory=moto_factory())
    assert snapshot_rows() == first
    assert second_run.stats["created"] == second_run.stats["changed"] == 0
    assert EndpointEvent.objects.count() == 3  # three "created", nothing more


@pytest.mark.django_db
def test_deleted_endpoint_is_marked_not_removed(moto_fleet, moto_factory):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=moto_factory())
    moto_fleet.delete_endpoint(EndpointName="ab-test")
    run = collect_inventory(account, "us-east-1", factory=moto_factory())
    assert run.stats["deleted"] == 1
    gone = Endpoint.objects.get(name="ab-test")
    assert gone.deleted_at is not None
    assert all(v.removed_at is not None for v in gone.variants.all())
    assert gone.events.filter(kind="deleted").count() == 1
    assert Endpoint.objects.filter(deleted_at=None).count() == 2


@pytest.mark.django_db
def test_an_endpoint_back_with_the_shape_it_had_is_restored_not_changed(moto_fleet, moto_factory):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=moto_factory())
    moto_fleet.delete_endpoint(EndpointName="vision-detector")
    collect_inventory(account, "us-east-1", factory=moto_factory())
    moto_fleet.create_endpoint(EndpointName="vision-detector", EndpointConfigName="vision-detector-config")
    run = collect_inventory(account, "us-east-1", factory=moto_factory())
    assert (run.stats["restored"], run.stats["changed"]) == (1, 0)
    back = Endpoint.objects.get(name="vision-detector")
    assert back.deleted_at is None and back.variants.get().removed_at is None
    kinds = list(back.events.order_by("at").values_list("kind", flat=True))
    assert kinds == ["created", "deleted", "restored"]


def test_a_client_kept_past_its_role_session_assumes_the_role_again_before_the_credentials_expire(moto_env):
    from datetime import UTC, datetime, timedelta

    from collectors.aws.clients import ClientFactory, default_config
    from collectors.model import AccountTarget

    shift = [timedelta(0)]
    factory = ClientFactory(
        session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing"),
        config=default_config(max_attempts=1),
        clock=lambda: datetime.now(UTC) + shift[0],
    )
    # Built once, as a collection run builds its clients; moto's role session lasts an hour.
    sm = factory.client("sagemaker", account=AccountTarget(SECOND_ACCOUNT, ROLE), region="us-east-1")
    sm.list_endpoints()
    shift[0] = timedelta(minutes=50)
    sm.list_endpoints()
    assert factory.call_log.calls["sts:AssumeRole"] == 2


@pytest.mark.django_db
def test_role_is_assumed_for_a_second_account(moto_env, moto_factory):
    sts = boto3.client("sts", endpoint_url=moto_env, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="setup")["Credentials"]
    other = sagemaker(
        moto_env,
        creds={
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
    )
    make_endpoint(other, "other-account-endpoint", [serverless()])
    make_endpoint(sagemaker(moto_env), "ambient-account-endpoint", [serverless()])

    account = AwsAccount.objects.create(account_id=SECOND_ACCOUNT, role_arn=ROLE, regions=["us-east-1"])
    run = collect_inventory(account, "us-east-1", factory=moto_factory())
    assert run.status == "ok", run.errors
    assert run.api_calls["sts:AssumeRole"] == 1
    assert list(Endpoint.objects.values_list("name", flat=True)) == ["other-account-endpoint"]
    assert Endpoint.objects.get().arn.startswith(f"arn:aws:sagemaker:us-east-1:{SECOND_ACCOUNT}:")


@pytest.mark.django_db
def test_unknown_instance_type_is_added_to_catalogue_without_a_price(moto_env, moto_factory):
    InstanceType.objects.filter(name="ml.p3.2xlarge").delete()
    make_endpoint(sagemaker(moto_env), "legacy", [instance("ml.p3.2xlarge", 1)])
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=moto_factory())
    added = InstanceType.objects.get(name="ml.p3.2xlarge")
    assert added.known is False and added.hourly_price is None


def snapshot_rows():
    endpoints = sorted(
        Endpoint.objects.values_list(
            "account_id", "region", "name", "arn", "status", "config_name", "tags", "team_id", "deleted_at",
            "created_at", "first_seen",
        )
    )  # fmt: skip
    variants = sorted(
        (
            v.endpoint.name,
            v.name,
            v.kind,
            v.memory_mb,
            v.max_concurrency,
            v.instance_type_id,
            v.current_instance_count,
        )
        for v in ProductionVariant.objects.select_related("endpoint")
    )
    return endpoints, variants


@pytest.mark.django_db
def test_an_endpoint_whose_config_was_deleted_is_still_alive_with_its_last_known_type(
    moto_fleet, moto_factory
):
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    collect_inventory(account, "us-east-1", factory=moto_factory())
    # SageMaker allows deleting a config that a running endpoint uses; the endpoint keeps billing.
    moto_fleet.delete_endpoint_config(EndpointConfigName="vision-detector-config")
    run = collect_inventory(account, "us-east-1", factory=moto_factory())
    assert run.status == "ok", run.errors
    assert run.stats["deleted"] == 0 and run.stats["changed"] == 0
    detector = Endpoint.objects.get(name="vision-detector")
    assert detector.deleted_at is None
    (variant,) = detector.variants.all()
    assert variant.instance_type_id == "ml.g4dn.xlarge" and variant.current_instance_count == 2
