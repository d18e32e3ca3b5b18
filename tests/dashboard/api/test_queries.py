"""The API reads a fixed number of queries whatever the fleet's size: no query per endpoint, variant,
team or day. Fleets are written in bulk (endpoints, variants, summary rows, costs, forecasts)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import AwsAccount, Team
from tests.dashboard.api.support import Spec, bearer, build

ROUTES = [
    "/api/v1/endpoints?range=24h",
    "/api/v1/endpoints?range=30d&deleted=1",
    "/api/v1/endpoints?team=team-0&kind=serverless",
    "/api/v1/teams?range=30d",
    "/api/v1/teams/team-0",
    "/api/v1/forecasts",
    "/api/v1/freshness",
]
SMALL = 4  # endpoints per team; the large fleet is 5x
ONE_ENDPOINT = ["", "/costs?range=30d", "/series?metric=ModelLatency&stat=p99", "/series?summary=p99,cost"]


def grow_fleet(size: int):
    """`size` endpoints per team over two teams, half serverless, half GPU instances, a tenth deleted."""
    account, _ = AwsAccount.objects.get_or_create(
        account_id="333333333333", defaults={"regions": ["us-east-1"]}
    )
    teams = [
        Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"Team {i}"})[0] for i in range(2)
    ]
    start = account.endpoints.count()
    build(
        account,
        [
            Spec(
                f"ep-{start + n}",
                teams[n % 2],
                kind="serverless" if n % 4 < 2 else "instance",
                deleted=n % 10 == 9,
            )
            for n in range(size * 2)
        ],
    )
    return teams


def count_queries(client, path, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    return len(ctx)


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("mo", password="correct horse battery")


def test_member_queries_do_not_grow_with_a_5x_fleet(client, db, member):
    teams = grow_fleet(SMALL)
    for team in teams:
        team.members.add(member)
    client.force_login(member)
    small = {path: count_queries(client, path) for path in ROUTES}
    grow_fleet(SMALL * 4)
    assert {path: count_queries(client, path) for path in ROUTES} == small


def test_finops_admin_token_queries_do_not_grow_with_a_5x_fleet(client, db, finops_admin, token_for):
    grow_fleet(SMALL)
    headers = bearer(token_for(finops_admin))
    client.get("/api/v1/freshness", **headers)  # a token's first use records last_used_at, the next do not
    small = {path: count_queries(client, path, **headers) for path in ROUTES}
    grow_fleet(SMALL * 4)
    assert {path: count_queries(client, path, **headers) for path in ROUTES} == small


def test_one_endpoints_queries_do_not_grow_with_the_fleet(client, db, finops_admin):
    grow_fleet(SMALL)
    client.force_login(finops_admin)
    pk = Team.objects.get(slug="team-0").endpoints.order_by("pk").first().pk
    paths = [f"/api/v1/endpoints/{pk}{suffix}" for suffix in ONE_ENDPOINT]
    small = {path: count_queries(client, path) for path in paths}
    grow_fleet(SMALL * 4)
    assert {path: count_queries(client, path) for path in paths} == small


def test_endpoint_list_reads_a_fleet_in_nine_queries(client, db, member):
    for team in grow_fleet(SMALL * 5):
        team.members.add(member)
    client.force_login(member)
    # session, user, 2 permission checks, endpoints, variants, 2 for figures, 1 for which have metrics
    assert count_queries(client, "/api/v1/endpoints") == 9
