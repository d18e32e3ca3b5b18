"""Cost Explorer and CloudWatch clients built the way production builds them (ClientFactory + the
simulated AWS as a hook) on the fixed clock, and usage read from the simulated CloudWatch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import boto3
import pytest

from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.sagemaker import fetch_inventory
from collectors.costmodel import EndpointRef, VariantUsage
from collectors.model import AccountTarget, EndpointInfo
from collectors.simulator import SimulatedAWS

NOW = datetime(2026, 11, 20, 10, 17, tzinfo=UTC)
TODAY = NOW.date()
PAYER = "111111111111"
MEMBER = "222222222222"
REGIONS = ["us-east-1", "eu-west-1"]
PAYER_TARGET = AccountTarget(account_id=PAYER)
MEMBER_TARGET = AccountTarget(
    account_id=MEMBER, role_arn=f"arn:aws:iam::{MEMBER}:role/SageMakerDashboardReadOnly"
)
TARGETS = {PAYER: PAYER_TARGET, MEMBER: MEMBER_TARGET}


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def factory_for(sim: SimulatedAWS) -> ClientFactory:
    session = boto3.Session(aws_access_key_id="SIM", aws_secret_access_key="SIM")
    return ClientFactory(session=session, hooks=[sim.attach], call_log=CallLog(), clock=lambda: NOW)


@pytest.fixture(scope="module")
def world() -> SimulatedAWS:
    """One default simulator per module, so its traffic cache is shared by the module's tests."""
    return SimulatedAWS(seed=7, clock=lambda: NOW)


@pytest.fixture(scope="module")
def factory(world) -> ClientFactory:
    return factory_for(world)


@pytest.fixture(scope="module")
def ce(factory):
    """The payer's Cost Explorer client (ambient credentials)."""
    return factory.client("ce", account=PAYER_TARGET, region="us-east-1")


@pytest.fixture(scope="module")
def member_ce(factory):
    return factory.client("ce", account=MEMBER_TARGET, region="us-east-1")


def endpoint_ref(info: EndpointInfo) -> EndpointRef:
    return EndpointRef(
        key=(info.account_id, info.region, info.name),
        account_id=info.account_id,
        region=info.region,
        name=info.name,
        arn=info.arn,
        tags=info.tags,
    )


def _query(qid: str, endpoint: str, variant: str, metric: str, stat: str) -> dict:
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]
    metric_def = {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dimensions}
    return {"Id": qid, "MetricStat": {"Metric": metric_def, "Period": 86400, "Stat": stat}}


def seconds_up(info: EndpointInfo, day: date) -> int:
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    start = max(midnight, info.created_at or midnight)
    return max(0, int((midnight + timedelta(days=1) - start).total_seconds()))


def usage_from_aws(factory, account_id: str, region: str, day: date):
    """Inventory (SageMaker) and one day's usage (CloudWatch) of every endpoint of an account and region,
    as attribution's inputs: ({key: EndpointRef}, {(key, day): [VariantUsage]})."""
    target = TARGETS[account_id]
    sm = factory.client("sagemaker", account=target, region=region)
    cw = factory.client("cloudwatch", account=target, region=region)
    snapshot = fetch_inventory(sm, account_id=account_id, region=region)
    queries, shapes = [], []
    for info in snapshot.endpoints:
        for variant in info.variants:
            i = len(shapes)
            shapes.append((info, variant))
            if variant.kind == "serverless":
                queries.append(_query(f"inv{i}", info.name, variant.name, "Invocations", "Sum"))
                queries.append(_query(f"lat{i}", info.name, variant.name, "ModelLatency", "Average"))
                if variant.provisioned_concurrency:
                    queries.append(
                        _query(
                            f"pc{i}",
                            info.name,
                            variant.name,
                            "ServerlessProvisionedConcurrencyInvocations",
                            "Sum",
                        )
                    )
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=start + timedelta(days=1))
    got = {r["Id"]: (r["Values"][0] if r["Values"] else 0.0) for r in answer["MetricDataResults"]}
    refs, usage = {}, {}
    for i, (info, variant) in enumerate(shapes):
        ref = refs.setdefault(info.name, endpoint_ref(info))
        usage.setdefault((ref.key, day), []).append(
            VariantUsage(
                variant=variant.name,
                kind=variant.kind,
                seconds_up=seconds_up(info, day),
                memory_mb=variant.memory_mb,
                invocations=int(got.get(f"inv{i}", 0)),
                avg_model_latency_ms=got.get(f"lat{i}", 0.0) / 1000,  # CloudWatch: microseconds
                provisioned_concurrency=variant.provisioned_concurrency,
                provisioned_invocations=int(got.get(f"pc{i}", 0)),
                instance_type=variant.instance_type,
                instance_count=variant.current_instance_count or 0,
            )
        )
    return refs, usage
