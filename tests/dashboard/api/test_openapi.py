"""The OpenAPI 3.1 document is valid, describes every route and both security schemes, and every response
of every route (collected data, each kind of user, errors) validates against the schema it gives."""

import re

import pytest
from django.contrib.auth.models import Permission
from openapi_spec_validator import validate

from dashboard.api import urls as api_urls
from dashboard.api.openapi import DOCUMENT
from dashboard.models import Endpoint, Team
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 endpoints, 3 days collected)
from tests.dashboard.api.support import assert_matches_openapi, bearer, path_template


def test_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_document_is_the_one_served(client, db):
    assert client.get("/api/v1/openapi.json").json() == DOCUMENT


def test_every_route_is_described_and_nothing_else():
    routes = {
        "/" + re.sub(r"<str:(\w+)>", r"{\1}", str(p.pattern))
        for p in api_urls.urlpatterns
        if p.name  # the unnamed catch-all answers JSON 404s
    }
    assert routes == set(DOCUMENT["paths"])


def test_both_security_schemes_are_declared_and_required_except_for_the_document():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert (schemes["sessionAuth"]["type"], schemes["sessionAuth"]["in"]) == ("apiKey", "cookie")
    assert DOCUMENT["security"] == [{"bearerAuth": []}, {"sessionAuth": []}]
    assert DOCUMENT["paths"]["/openapi.json"]["get"]["security"] == []


def test_request_paths_are_matched_to_their_documented_path():
    assert path_template("/api/v1/endpoints/7/costs") == "/endpoints/{pk}/costs"
    with pytest.raises(AssertionError):
        path_template("/api/v1/insights")


def paths_for(endpoint_ids, team_slugs):
    yield from [
        "/api/v1/endpoints",
        "/api/v1/endpoints?range=24h",
        "/api/v1/endpoints?range=90d&deleted=1",
        "/api/v1/endpoints?range=custom&start=2026-11-01&end=2026-11-19",
        "/api/v1/forecasts",
        "/api/v1/teams",
        "/api/v1/teams?range=30d",
        "/api/v1/freshness",
        "/api/v1/openapi.json",
        "/api/v1/recommendations",
        "/api/v1/recommendations?active=all&status=open",
        "/api/v1/quotas",
    ]
    for pk in endpoint_ids:
        yield from [
            f"/api/v1/endpoints/{pk}",
            f"/api/v1/endpoints/{pk}/costs?range=30d",
            f"/api/v1/endpoints/{pk}/series?metric=ModelLatency&stat=p99&range=24h",
            f"/api/v1/endpoints/{pk}/series?metric=Invocations&stat=Sum&range=30d",
            f"/api/v1/endpoints/{pk}/series?summary=invocations,p99,error_rate,cost,cost_estimate&range=7d",
            f"/api/v1/endpoints/{pk}/series?summary=cost,cold_start_rate,memory_util_max&range=30d",
        ]
    for slug in team_slugs:
        yield f"/api/v1/teams/{slug}"


def test_every_route_validates_for_a_finops_admin_on_collected_data(client, fleet, django_user_model):  # noqa: F811
    admin = django_user_model.objects.create_user("fin", password="correct horse battery")
    admin.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    client.force_login(admin)
    ids = list(Endpoint.objects.values_list("pk", flat=True))
    checked = 0
    for path in paths_for(ids, Team.objects.values_list("slug", flat=True)):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        assert_matches_openapi(response)
        checked += 1
    assert checked > 6 * len(ids)


def test_every_route_validates_for_a_member_by_token_including_404s(client, estate, member_search, token_for):
    headers = bearer(token_for(member_search))
    statuses = set()
    for path in paths_for([e.pk for e in estate.values()], ["search", "vision", "nope"]):
        response = client.get(path, **headers)
        assert_matches_openapi(response)
        statuses.add(response.status_code)
    assert statuses == {200, 404}


def test_error_responses_validate(client, estate, member_search):
    responses = [client.get("/api/v1/endpoints"), client.post("/api/v1/teams")]
    client.force_login(member_search)
    responses += [
        client.get("/api/v1/endpoints?range=nope"),
        client.get("/api/v1/endpoints/x/costs"),
        client.get(f"/api/v1/endpoints/{estate['search-ranker'].pk}/series?metric=Nope"),
        client.get("/api/v1/teams/nope"),
        client.delete("/api/v1/openapi.json"),
    ]
    assert [r.status_code for r in responses] == [401, 405, 400, 400, 400, 404, 405]
    for response in responses:
        assert_matches_openapi(response)
