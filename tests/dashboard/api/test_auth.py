"""Who may call the API: a session or a bearer token (acting as its user), nothing else; GET only; and a
token is never stored in plain text."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from dashboard.models import ApiToken
from tests.conftest import NOW
from tests.dashboard.api.support import assert_matches_openapi, bearer

DATA_ROUTES = [
    "/api/v1/endpoints",
    "/api/v1/endpoints/{pk}",
    "/api/v1/endpoints/{pk}/series?metric=ModelLatency&stat=p99",
    "/api/v1/endpoints/{pk}/costs",
    "/api/v1/forecasts",
    "/api/v1/teams",
    "/api/v1/teams/search",
    "/api/v1/freshness",
]
ALL_ROUTES = [*DATA_ROUTES, "/api/v1/openapi.json"]


def url(route, estate):
    return route.format(pk=estate["search-ranker"].pk)


def names(response):
    return sorted(e["name"] for e in response.json()["endpoints"])


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_anonymous_gets_401_json_not_a_login_redirect(client, estate, route):
    response = client.get(url(route, estate))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Location" not in response
    assert "authentication required" in assert_matches_openapi(response)["error"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("route", ALL_ROUTES)
def test_every_method_but_get_is_405(client, estate, member_search, route, method):
    client.force_login(member_search)
    response = getattr(client, method)(url(route, estate))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert "read-only" in assert_matches_openapi(response)["error"]


def test_post_with_a_session_and_csrf_checks_on_is_still_405_not_a_csrf_403(estate, member_search):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member_search)
    assert client.post("/api/v1/endpoints").status_code == 405


def test_anonymous_post_is_405(client, estate):
    assert client.post("/api/v1/endpoints").status_code == 405


def test_openapi_document_is_served_without_authentication(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


def test_a_path_that_is_no_route_is_a_json_404(client, db):
    for path in ("/api/v1/nothing-here", "/api/v1/endpoints/", "/api/v1/insights"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "no API route" in response.json()["error"]


def test_session_user_is_served(client, estate, member_search):
    client.force_login(member_search)
    response = client.get("/api/v1/endpoints")
    assert response.status_code == 200
    assert names(response) == ["search-ranker"]


def test_bearer_token_acts_as_its_user(client, estate, member_search, token_for):
    response = client.get("/api/v1/endpoints", **bearer(token_for(member_search)))
    assert response.status_code == 200
    assert names(response) == ["search-ranker"]


def test_bearer_token_of_a_finops_admin_sees_everything(client, estate, finops_admin, token_for):
    response = client.get("/api/v1/endpoints", **bearer(token_for(finops_admin)))
    assert names(response) == ["orphan", "search-ranker", "vision-detector"]


def test_token_use_is_recorded_on_the_token(client, estate, member_search, token_for):
    token = token_for(member_search)
    assert ApiToken.objects.get().last_used_at is None
    client.get("/api/v1/teams", **bearer(token))
    assert ApiToken.objects.get().last_used_at == NOW


def test_revoked_token_is_401(client, estate, member_search, token_for):
    token = token_for(member_search)
    ApiToken.objects.update(revoked_at=NOW)
    response = client.get("/api/v1/endpoints", **bearer(token))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer smd_00000000_" + "A" * 43,  # well formed, unknown
        "Bearer not-a-token",
        "Bearer ",
        "Basic c2FtOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==",
    ],
)
def test_unknown_or_malformed_credentials_are_401(client, estate, member_search, header):
    response = client.get("/api/v1/endpoints", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_right_prefix_with_a_wrong_secret_is_401(client, estate, member_search, token_for):
    token = token_for(member_search)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/api/v1/endpoints", **bearer(forged)).status_code == 401


def test_token_of_a_deactivated_user_is_401(client, estate, member_search, token_for):
    token = token_for(member_search)
    member_search.is_active = False
    member_search.save()
    assert client.get("/api/v1/endpoints", **bearer(token)).status_code == 401


def test_a_bad_token_is_refused_even_alongside_a_valid_session(client, estate, member_search):
    client.force_login(member_search)
    response = client.get("/api/v1/endpoints", HTTP_AUTHORIZATION="Bearer smd_00000000_" + "A" * 43)
    assert response.status_code == 401


def test_token_is_stored_only_as_its_sha256_hash(estate, member_search):
    row, token = ApiToken.issue(member_search, "grafana")
    row.refresh_from_db()
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(row.prefix + "_")
    secret = token[len(row.prefix) + 1 :]
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM dashboard_apitoken")
        stored = " ".join(str(value) for record in cur.fetchall() for value in record)
    assert secret not in stored and token not in stored
    assert row.key_hash in stored


def test_api_token_command_creates_lists_and_revokes(client, estate, member_search):
    out = io.StringIO()
    call_command("api_token", "create", "--user", "sam", "--name", "grafana", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    row = ApiToken.objects.get()
    assert token.startswith(row.prefix) and row.name == "grafana" and row.user == member_search
    assert client.get("/api/v1/endpoints", **bearer(token)).status_code == 200

    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert row.prefix in listing.getvalue() and "grafana" in listing.getvalue()
    assert token not in listing.getvalue()

    call_command("api_token", "revoke", row.prefix, stdout=io.StringIO())
    assert ApiToken.objects.get().revoked_at is not None
    assert client.get("/api/v1/endpoints", **bearer(token)).status_code == 401


def test_api_token_command_refuses_an_unknown_user_or_prefix(db):
    with pytest.raises(CommandError, match="no user"):
        call_command("api_token", "create", "--user", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="no token"):
        call_command("api_token", "revoke", "smd_ffffffff")
