"""Shared fixtures: a fixed clock, the simulated AWS account, moto over HTTP, and the named cast of
teams and users every access test needs (a team that owns endpoints, one that does not, a user with no
team, a FinOps admin)."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

import pytest

# Nothing in the tests may reach real AWS: dummy credentials, and every endpoint pointed at a closed
# local port unless a test points it at its own moto server.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)

NOW = datetime(2026, 11, 20, 10, 17, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clock():
    return lambda: NOW


@pytest.fixture
def sim():
    from collectors.simulator import SimulatedAWS

    return SimulatedAWS(seed=7, clock=lambda: NOW)


@pytest.fixture
def sim_factory(sim):
    """A client factory wired to the simulator exactly as collectors.runtime wires it from AWS_SIMULATOR."""
    import boto3

    from collectors.aws.clients import CallLog, ClientFactory

    def make():
        session = boto3.Session(aws_access_key_id="SIMULATED", aws_secret_access_key="SIMULATED")
        return ClientFactory(session=session, hooks=[sim.attach], call_log=CallLog(), clock=lambda: NOW)

    return make


@pytest.fixture(scope="session")
def moto_url():
    """A real moto server over HTTP, shared by the session's tests (each test uses its own account ids
    or names, or resets it with the reset_moto fixture)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def reset_moto(moto_url):
    import requests

    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    return moto_url


@pytest.fixture
def moto_env(reset_moto, monkeypatch):
    """Point boto3 at the moto server through the environment, as production would point it at AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", reset_moto)
    return reset_moto


@pytest.fixture
def moto_factory(moto_env):
    import boto3

    from collectors.aws.clients import CallLog, ClientFactory, default_config

    def make():
        # One attempt: an error from moto must surface, not be retried.
        config = default_config(max_attempts=1, read_timeout=120)
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        return ClientFactory(session=session, config=config, call_log=CallLog())

    return make


# --- the cast --------------------------------------------------------------------------------------
@pytest.fixture
def team_search(db):
    from dashboard.models import Team

    return Team.objects.create(name="Search", slug="search", tag_values=["search"])


@pytest.fixture
def team_vision(db):
    from dashboard.models import Team

    return Team.objects.create(name="Vision", slug="vision", tag_values=["vision", "cv"])


@pytest.fixture
def member_search(db, team_search, django_user_model):
    user = django_user_model.objects.create_user("sam", password="correct horse battery")
    team_search.members.add(user)
    return user


@pytest.fixture
def outsider(db, django_user_model):
    """A user who belongs to no team."""
    return django_user_model.objects.create_user("olive", password="correct horse battery")


@pytest.fixture
def finops_admin(db, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("fiona", password="correct horse battery")
    user.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    return user
