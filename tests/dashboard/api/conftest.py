"""Fixtures for the JSON API: the API's clock fixed at NOW, and endpoints written straight into the
database (bulk_create: endpoints, variants, summary rows, costs, forecasts, series, history), so access
and query-count tests control every row. Tests that compare against collected data use the simulated
`fleet` from tests/collectors/test_summary.py instead."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dashboard.models import ApiToken, AwsAccount, CollectionRun, CostForecast
from tests.conftest import NOW
from tests.dashboard.api.support import MONTH, Spec, build


@pytest.fixture(autouse=True)
def api_clock(monkeypatch):
    monkeypatch.setattr("dashboard.api.http.now", lambda: NOW)


@pytest.fixture
def accounts(db):
    return (
        AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"]),
        AwsAccount.objects.create(account_id="222222222222", label="research", regions=["eu-west-1"]),
    )


@pytest.fixture
def estate(accounts, team_search, team_vision):
    """search-ranker and search-retired (deleted) for Search, vision-detector (GPU instances, another
    account and region) for Vision, an orphan no team owns and that was never measured; forecasts for
    every scope; an inventory run that worked and a metrics run that failed."""
    prod, research = accounts
    endpoints = build(
        prod,
        [
            Spec("search-ranker", team_search),
            Spec("search-retired", team_search, deleted=True),
            Spec("orphan", None, measured=False),
        ],
    ) + build(research, [Spec("vision-detector", team_vision, kind="instance")], region="eu-west-1")
    for scope, scope_id in [
        ("account", prod.pk), ("account", research.pk), ("team", team_search.pk), ("team", team_vision.pk)
    ]:  # fmt: skip
        CostForecast.objects.create(
            scope=scope, scope_id=scope_id, month=MONTH, amount=Decimal("100"), lower=Decimal("90"),
            upper=Decimal("110"), currency="USD", method="cost-explorer" if scope == "account" else "median",
            computed_at=NOW,
        )  # fmt: skip
    CollectionRun.objects.create(
        kind="inventory", account=prod, region="us-east-1", started_at=NOW, finished_at=NOW, status="ok"
    )
    CollectionRun.objects.create(
        kind="metrics", account=research, region="eu-west-1", started_at=NOW, finished_at=NOW,
        status="failed", errors=["AccessDenied: cloudwatch:GetMetricData"],
    )  # fmt: skip
    return {e.name: e for e in endpoints}


@pytest.fixture
def member_vision(db, team_vision, django_user_model):
    user = django_user_model.objects.create_user("vic", password="correct horse battery")
    team_vision.members.add(user)
    return user


@pytest.fixture
def token_for():
    """token_for(user) -> the plaintext of a new token (what `api_token create` prints)."""
    return lambda user, name="tests": ApiToken.issue(user, name)[1]
