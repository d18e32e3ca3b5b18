"""SageMaker inventory and STS through real boto3 clients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from collectors.model import AccountTarget

from .conftest import AMBIENT, MEMBER, MEMBER_ROLE, MEMBER_TARGET, NOW, PAYER


def list_names(client, **kwargs) -> list[str]:
    pages = client.get_paginator("list_endpoints").paginate(**kwargs)
    return [e["EndpointName"] for page in pages for e in page["Endpoints"]]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_listing_in_pages_of_seven_returns_every_endpoint_once(world, factory, region):
    sm = factory.client("sagemaker", account=AMBIENT, region=region)
    names = list_names(sm, PaginationConfig={"PageSize": 7})
    expected = sorted(ep.name for ep in world.fleet.in_scope(PAYER, region))
    assert len(expected) > 7  # so paging really happens
    assert sorted(names) == expected
    assert len(names) == len(set(names))
    first = sm.list_endpoints(MaxResults=7)
    assert len(first["Endpoints"]) == 7
    assert "NextToken" in first


def test_listing_is_newest_first_by_default_and_can_be_filtered(factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    endpoints = sm.list_endpoints(MaxResults=100)["Endpoints"]
    created = [e["CreationTime"] for e in endpoints]
    assert created == sorted(created, reverse=True)
    by_name = sm.list_endpoints(MaxResults=100, SortBy="Name", SortOrder="Ascending")["Endpoints"]
    assert [e["EndpointName"] for e in by_name] == sorted(e["EndpointName"] for e in endpoints)
    serverless = list_names(sm, NameContains="SERVERLESS")
    assert serverless and all("serverless" in name for name in serverless)
    assert list_names(sm, StatusEquals="Failed") == []
    assert all(e["EndpointStatus"] == "InService" for e in endpoints)


def test_a_token_from_another_request_is_refused(factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    token = sm.list_endpoints(MaxResults=2)["NextToken"]
    with pytest.raises(ClientError) as exc:
        sm.list_endpoints(MaxResults=2, NameContains="g5", NextToken=token)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_assume_role_into_the_member_account_lists_only_its_endpoints(world, factory):
    for region in ("us-east-1", "eu-west-1"):
        sm = factory.client("sagemaker", account=MEMBER_TARGET, region=region)
        listed = sm.list_endpoints(MaxResults=100)["Endpoints"]
        assert sorted(e["EndpointName"] for e in listed) == sorted(
            ep.name for ep in world.fleet.in_scope(MEMBER, region)
        )
        assert all(f":{MEMBER}:endpoint/" in e["EndpointArn"] for e in listed)
    sts = factory.client("sts", account=MEMBER_TARGET, region="us-east-1")
    identity = sts.get_caller_identity()
    assert identity["Account"] == MEMBER
    assert identity["Arn"].startswith(f"arn:aws:sts::{MEMBER}:assumed-role/SageMakerDashboardReadOnly/")


def test_assume_role_issues_credentials_valid_for_an_hour(factory):
    sts = factory.client("sts", account=AMBIENT, region="us-east-1")
    assert sts.get_caller_identity()["Account"] == PAYER
    answer = sts.assume_role(RoleArn=MEMBER_ROLE, RoleSessionName="tests")
    creds = answer["Credentials"]
    assert len(creds["AccessKeyId"]) >= 16
    assert creds["Expiration"] == NOW + timedelta(hours=1)
    assert answer["AssumedRoleUser"]["Arn"].endswith(":assumed-role/SageMakerDashboardReadOnly/tests")


@pytest.mark.parametrize(
    "role_arn",
    [
        "arn:aws:iam::333333333333:role/SageMakerDashboardReadOnly",  # no such account
        f"arn:aws:iam::{MEMBER}:role/SomethingElse",  # no such role
    ],
)
def test_assume_role_on_an_unknown_role_is_access_denied(factory, role_arn):
    sts = factory.client("sts", account=AMBIENT, region="us-east-1")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        factory.client(
            "sagemaker", account=AccountTarget(account_id=None, role_arn=role_arn), region="us-east-1"
        )


def test_describe_an_unknown_endpoint_is_a_validation_exception(factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    with pytest.raises(ClientError) as exc:
        sm.describe_endpoint(EndpointName="no-such-endpoint")
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f'Could not find endpoint "arn:aws:sagemaker:us-east-1:{PAYER}:endpoint/no-such-endpoint".'
    )
    with pytest.raises(ClientError) as exc:
        sm.describe_endpoint_config(EndpointConfigName="no-such-config")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    # An endpoint of the member account is not visible from the payer's credentials.
    with pytest.raises(ClientError):
        sm.describe_endpoint(EndpointName="nlp-chat-serverless")


def test_describe_gives_serverless_and_instance_shapes(world, factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    serverless = sm.describe_endpoint(EndpointName="search-embed-serverless")
    (variant,) = serverless["ProductionVariants"]
    assert variant["CurrentServerlessConfig"] == {"MemorySizeInMB": 6144, "MaxConcurrency": 20}
    assert "CurrentInstanceCount" not in variant
    config = sm.describe_endpoint_config(EndpointConfigName=serverless["EndpointConfigName"])
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MemorySizeInMB"] == 6144
    assert "InstanceType" not in config["ProductionVariants"][0]

    gpu = sm.describe_endpoint(EndpointName="vision-batch-p4d")
    assert gpu["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    assert "InstanceType" not in gpu["ProductionVariants"][0]  # DescribeEndpoint has no instance type
    config = sm.describe_endpoint_config(EndpointConfigName=gpu["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.p4d.24xlarge"

    abtest = factory.client("sagemaker", account=AMBIENT, region="eu-west-1").describe_endpoint(
        EndpointName="recsys-abtest"
    )
    assert [v["VariantName"] for v in abtest["ProductionVariants"]] == ["champion", "challenger"]

    pc = factory.client("sagemaker", account=MEMBER_TARGET, region="eu-west-1").describe_endpoint(
        EndpointName="search-query-pc"
    )
    assert pc["ProductionVariants"][0]["CurrentServerlessConfig"]["ProvisionedConcurrency"] == 4


def test_tags_name_the_team_and_some_endpoints_have_none(world, factory):
    sm = factory.client("sagemaker", account=AMBIENT, region="us-east-1")
    arn = sm.describe_endpoint(EndpointName="search-embed-serverless")["EndpointArn"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn, MaxResults=50)["Tags"]}
    assert tags["team"] == "search"
    assert "cost-centre" in tags
    scratch = world.fleet.endpoint("scratch-demo-serverless")
    member_sm = factory.client("sagemaker", account=MEMBER_TARGET, region=scratch.region)
    assert member_sm.list_tags(ResourceArn=scratch.arn)["Tags"] == []
    untagged = [ep.name for ep in world.fleet.endpoints if not ep.tags]
    assert 1 <= len(untagged) <= 2


def test_the_collectors_inventory_reads_the_simulated_fleet(world, factory):
    from collectors.aws.sagemaker import fetch_inventory

    sm = factory.client("sagemaker", account=AMBIENT, region="eu-west-1")
    snapshot = fetch_inventory(sm, account_id=PAYER, region="eu-west-1")
    assert snapshot.complete and not snapshot.errors
    assert sorted(e.name for e in snapshot.endpoints) == sorted(
        ep.name for ep in world.fleet.in_scope(PAYER, "eu-west-1")
    )
    idle = next(e for e in snapshot.endpoints if e.name == "nlp-legacy-inf2")
    assert idle.variants[0].instance_type == "ml.inf2.xlarge"
    assert idle.tags["team"] == "nlp"
