"""Variants of the simulated fleet as the planner sees them, and CloudWatch clients that reach the
simulator through the production ClientFactory, on the fixed clock of tests/conftest.py."""

from __future__ import annotations

import boto3
import pytest

from collectors.aws.clients import ClientFactory, default_config
from collectors.model import AccountTarget, VariantRef
from collectors.simulator import SimulatedAWS
from tests.conftest import NOW

AMBIENT = AccountTarget(account_id=None)
MEMBER = AccountTarget(
    account_id="222222222222", role_arn="arn:aws:iam::222222222222:role/SageMakerDashboardReadOnly"
)


def ref(
    sim: SimulatedAWS, endpoint: str, variant: str = "AllTraffic", key: int = 1, **overrides
) -> VariantRef:
    """The VariantRef the dashboard would hold for a simulated variant (shape from the fleet)."""
    v = sim.fleet.endpoint(endpoint).variant(variant)
    fields = {
        "key": key,
        "endpoint_name": endpoint,
        "variant_name": variant,
        "kind": v.kind,
        "vcpus": v.vcpus or None,
        "gpu_count": v.gpu_count,
        "provisioned_concurrency": bool(v.provisioned_concurrency),
    }
    return VariantRef(**{**fields, **overrides})


def cloudwatch(sim: SimulatedAWS, account: AccountTarget = AMBIENT, region: str = "us-east-1"):
    session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")
    factory = ClientFactory(
        session=session, hooks=[sim.attach], config=default_config(max_attempts=1), clock=lambda: NOW
    )
    return factory.client("cloudwatch", account=account, region=region), factory.call_log


@pytest.fixture(scope="module")
def world() -> SimulatedAWS:
    """One default simulator per module, so its traffic cache is shared by the module's tests."""
    return SimulatedAWS(seed=7, clock=lambda: NOW)


@pytest.fixture(scope="module")
def small_pages() -> SimulatedAWS:
    """The same fleet, answering GetMetricData 50 data points a page."""
    return SimulatedAWS(seed=7, clock=lambda: NOW, metric_page_points=50)
