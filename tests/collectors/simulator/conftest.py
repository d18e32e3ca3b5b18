"""Clients built the way production builds them (ClientFactory + the simulator as a hook), on a fixed
clock, so every answer below comes through real boto3 clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from collectors.aws.clients import ClientFactory
from collectors.model import AccountTarget
from collectors.simulator import SimulatedAWS

NOW = datetime(2026, 11, 20, 10, 17, tzinfo=UTC)
TODAY = NOW.replace(hour=0, minute=0)
PAYER = "111111111111"
MEMBER = "222222222222"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/SageMakerDashboardReadOnly"
AMBIENT = AccountTarget(account_id=None)
MEMBER_TARGET = AccountTarget(account_id=MEMBER, role_arn=MEMBER_ROLE)


def day(offset: int) -> datetime:
    """Midnight UTC `offset` days from today (negative = past)."""
    return TODAY + timedelta(days=offset)


def factory_for(sim: SimulatedAWS) -> ClientFactory:
    session = boto3.Session(aws_access_key_id="SIM", aws_secret_access_key="SIM", region_name="us-east-1")
    return ClientFactory(session=session, hooks=[sim.attach], clock=lambda: NOW)


def dims(endpoint: str, variant: str = "AllTraffic") -> list[dict]:
    return [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]


def query(
    qid: str, endpoint: str, metric: str, stat: str, period: int = 3600, *, variant="AllTraffic", **extra
):
    host = metric in {"MemoryUtilization", "CPUUtilization", "GPUUtilization", "GPUMemoryUtilization",
                      "DiskUtilization"}  # fmt: skip
    namespace = "/aws/sagemaker/Endpoints" if host else "AWS/SageMaker"
    stat_def = {
        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dims(endpoint, variant)},
        "Period": period,
        "Stat": stat,
        **extra,
    }
    return {"Id": qid, "MetricStat": stat_def}


@pytest.fixture(scope="module")
def world() -> SimulatedAWS:
    """One default simulator per test module: its traffic cache is shared by the module's tests."""
    return SimulatedAWS(seed=7, clock=lambda: NOW)


@pytest.fixture(scope="module")
def factory(world) -> ClientFactory:
    return factory_for(world)


@pytest.fixture(scope="module")
def cw(factory):
    return factory.client("cloudwatch", account=AMBIENT, region="us-east-1")


@pytest.fixture(scope="module")
def ce(factory):
    return factory.client("ce", account=AMBIENT, region="us-east-1")
