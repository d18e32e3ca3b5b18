"""Every route answers with the user's teams' data only: a member sees their team's endpoints, a member of
another team or a user with no team gets a 404 or an empty list (never another team's data, and never a
hint that it exists), a FinOps admin sees everything."""

import pytest

from tests.dashboard.api.support import assert_matches_openapi

ENDPOINT_ROUTES = ["", "/series?metric=ModelLatency&stat=p99", "/series?summary=p99", "/costs"]


def get(client, user, path):
    client.force_login(user)
    response = client.get(path)
    assert_matches_openapi(response)
    return response


def endpoint_names(response):
    return sorted(e["name"] for e in response.json()["endpoints"])


# --- /endpoints ------------------------------------------------------------------------------------
def test_member_lists_their_teams_live_endpoints_only(client, estate, member_search):
    response = get(client, member_search, "/api/v1/endpoints")
    assert endpoint_names(response) == ["search-ranker"]
    assert b"vision-detector" not in response.content and b"orphan" not in response.content


def test_member_sees_their_teams_deleted_endpoints_when_asked(client, estate, member_search):
    response = get(client, member_search, "/api/v1/endpoints?deleted=1")
    assert endpoint_names(response) == ["search-ranker", "search-retired"]


def test_member_of_another_team_lists_that_team_only(client, estate, member_vision):
    response = get(client, member_vision, "/api/v1/endpoints?deleted=1")
    assert endpoint_names(response) == ["vision-detector"]


def test_user_with_no_team_lists_nothing(client, estate, outsider):
    assert get(client, outsider, "/api/v1/endpoints?deleted=1").json()["endpoints"] == []


def test_finops_admin_lists_every_endpoint_including_unowned(client, estate, finops_admin):
    response = get(client, finops_admin, "/api/v1/endpoints")
    assert endpoint_names(response) == ["orphan", "search-ranker", "vision-detector"]


def test_superuser_is_a_finops_admin(client, estate, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="correct horse battery")
    assert len(get(client, root, "/api/v1/endpoints").json()["endpoints"]) == 3


# --- one endpoint ----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ENDPOINT_ROUTES)
def test_member_reads_their_endpoint_on_every_route(client, estate, member_search, suffix):
    response = get(client, member_search, f"/api/v1/endpoints/{estate['search-ranker'].pk}{suffix}")
    assert response.status_code == 200


@pytest.mark.parametrize("suffix", ENDPOINT_ROUTES)
def test_another_teams_endpoint_is_404_like_one_that_does_not_exist(
    client, estate, member_search, outsider, suffix
):
    hidden = estate["vision-detector"]
    for user in (member_search, outsider):
        response = get(client, user, f"/api/v1/endpoints/{hidden.pk}{suffix}")
        assert response.status_code == 404
        assert b"vision-detector" not in response.content
        missing = get(client, user, f"/api/v1/endpoints/999999{suffix}")
        assert response.json()["error"].replace(str(hidden.pk), "N") == missing.json()["error"].replace(
            "999999", "N"
        )


@pytest.mark.parametrize("suffix", ENDPOINT_ROUTES)
def test_unowned_endpoint_is_visible_to_finops_admins_only(
    client, estate, member_search, finops_admin, suffix
):
    path = f"/api/v1/endpoints/{estate['orphan'].pk}{suffix}"
    assert get(client, member_search, path).status_code == 404
    assert get(client, finops_admin, path).status_code == 200


# --- teams -----------------------------------------------------------------------------------------
def test_member_lists_their_team_only(client, estate, member_search):
    teams = get(client, member_search, "/api/v1/teams").json()["teams"]
    assert [t["slug"] for t in teams] == ["search"]


def test_user_with_no_team_lists_no_team(client, estate, outsider):
    assert get(client, outsider, "/api/v1/teams").json()["teams"] == []


def test_finops_admin_lists_every_team(client, estate, finops_admin):
    teams = get(client, finops_admin, "/api/v1/teams").json()["teams"]
    assert [t["slug"] for t in teams] == ["search", "vision"]


def test_member_reads_their_team_and_gets_404_for_another(client, estate, member_search, outsider):
    team = get(client, member_search, "/api/v1/teams/search").json()["team"]
    assert sorted(e["name"] for e in team["endpoints"]) == ["search-ranker", "search-retired"]
    for user in (member_search, outsider):
        response = get(client, user, "/api/v1/teams/vision")
        assert response.status_code == 404
        assert b"vision-detector" not in response.content


def test_filtering_on_a_team_the_user_cannot_see_is_the_same_400_as_an_unknown_team(
    client, estate, member_search
):
    hidden = get(client, member_search, "/api/v1/endpoints?team=vision")
    unknown = get(client, member_search, "/api/v1/endpoints?team=nope")
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["error"].replace("vision", "X") == unknown.json()["error"].replace("nope", "X")


# --- forecasts -------------------------------------------------------------------------------------
def scopes(response):
    return sorted((f["scope"], f["name"]) for f in response.json()["forecasts"])


def test_member_sees_their_teams_and_endpoints_forecasts_but_no_account(client, estate, member_search):
    response = get(client, member_search, "/api/v1/forecasts")
    assert scopes(response) == [
        ("endpoint", "search-ranker"),
        ("endpoint", "search-retired"),
        ("team", "Search"),
    ]


def test_user_with_no_team_sees_no_forecast(client, estate, outsider):
    assert get(client, outsider, "/api/v1/forecasts").json()["forecasts"] == []


def test_finops_admin_sees_account_team_and_endpoint_forecasts(client, estate, finops_admin):
    response = get(client, finops_admin, "/api/v1/forecasts")
    assert scopes(response) == [
        ("account", "prod"),
        ("account", "research"),
        ("endpoint", "search-ranker"),
        ("endpoint", "search-retired"),
        ("endpoint", "vision-detector"),
        ("team", "Search"),
        ("team", "Vision"),
    ]


# --- freshness -------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["member_search", "outsider", "finops_admin"])
def test_every_signed_in_user_sees_collection_freshness_as_the_pages_show_it(client, estate, request, who):
    sources = get(client, request.getfixturevalue(who), "/api/v1/freshness").json()["sources"]
    by_kind = {s["kind"]: s for s in sources}
    assert by_kind["inventory"]["last_success"] == "2026-11-20T10:17:00Z"
    assert by_kind["metrics"]["last_success"] is None
    assert by_kind["metrics"]["failing"] == ["222222222222/eu-west-1: AccessDenied: cloudwatch:GetMetricData"]
