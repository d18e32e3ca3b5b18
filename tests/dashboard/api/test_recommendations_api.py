"""/api/v1/recommendations, /recommendations/<id> and /quotas: scoped like the page, ranked like the page,
filters, JSON 404s, money as strings, and every response valid against the OpenAPI document; and the
weekly cost per 1k added to the endpoint and team details. Query counts do not grow with the rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.insights import model as rules
from dashboard.models import Recommendation
from dashboard.services.trends import WEEKS, weekly_cost_per_1k
from tests.conftest import NOW
from tests.dashboard.api.support import assert_matches_openapi, bearer
from tests.dashboard.test_recommendations_page import add_recommendations, build_estate

LIST = "/api/v1/recommendations"


@pytest.fixture
def recs(db, team_search, team_vision):
    """The recommendations page's estate (the API's own `estate` fixture is another set of endpoints)."""
    return build_estate(team_search, team_vision)


def listed(client, path=LIST, **headers) -> list[int]:
    response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    return [r["id"] for r in assert_matches_openapi(response)["recommendations"]]


def pks(recs, *names) -> list[int]:
    return [recs["recs"][n].pk for n in names]


# --- scoping ---------------------------------------------------------------------------------------
def test_member_sees_their_teams_and_their_accounts_quota_ranked_like_the_page(client, recs, member_search):
    client.force_login(member_search)
    # Ranked: largest saving first, costs-more after, unknown last; every status unless asked.
    assert listed(client) == pks(recs, "gpu", "memory", "dismissed", "cold", "throttle", "quota")


def test_finops_admin_sees_all_by_token(client, recs, finops_admin, token_for):
    headers = bearer(token_for(finops_admin))
    assert (
        set(listed(client, **headers)) == {r.pk for r in Recommendation.objects.filter(active=True)}
        and len(listed(client, **headers)) == 9
    )


def test_outsider_sees_none_and_gets_404_for_any_one(client, recs, outsider):
    client.force_login(outsider)
    body = assert_matches_openapi(client.get(LIST))
    assert body == {"recommendations": [], "open_savings": []}
    for rec in recs["recs"].values():
        response = client.get(f"{LIST}/{rec.pk}")
        assert response.status_code == 404
        assert assert_matches_openapi(response) == {"error": f"no recommendation {rec.pk}"}


def test_one_recommendation_in_full_and_404_for_another_teams(client, recs, member_search):
    client.force_login(member_search)
    cold = recs["recs"]["cold"]
    Recommendation.objects.filter(pk=cold.pk).update(
        status="dismissed", status_changed_at=NOW, status_changed_by=member_search, status_note="later"
    )
    body = assert_matches_openapi(client.get(f"{LIST}/{cold.pk}"))["recommendation"]
    assert body["monthly_saving"] == "-40.0000000000" and body["currency"] == "USD"
    assert body["endpoint"] == {"id": recs["endpoints"]["ranker"].pk, "name": "search-ranker"}
    assert body["team"] == {"slug": "search", "name": "Search"}
    assert (body["rule"], body["rule_label"]) == (rules.COLD_STARTS, rules.RULES[rules.COLD_STARTS])
    assert (body["confidence"], body["confidence_label"]) == (0.8, "high")
    assert body["window"] == {"start": "2026-11-06T10:17:00Z", "end": "2026-11-20T10:17:00Z"}
    assert (body["status"], body["status_changed_by"], body["status_note"]) == ("dismissed", "sam", "later")
    assert body["evidence"] == {"peak_memory_pct": 19.5, "hours_with_data": 310, "billed_window": "41.20"}
    assert body["proposed"] == {"provisioned_concurrency": 2} and body["warnings"] == ["adds a fixed cost"]
    quota = assert_matches_openapi(client.get(f"{LIST}/{recs['recs']['quota'].pk}"))["recommendation"]
    assert quota["endpoint"] is None and quota["team"] is None and quota["monthly_saving"] is None
    for name in ("vision", "research", "lab"):
        assert client.get(f"{LIST}/{recs['recs'][name].pk}").status_code == 404, name
    bad = client.get(f"{LIST}/x1")
    assert bad.status_code == 400 and assert_matches_openapi(bad)["error"].startswith("recommendation id")


# --- filters -------------------------------------------------------------------------------------------
def test_filters(client, recs, finops_admin):
    client.force_login(finops_admin)
    ranker = recs["endpoints"]["ranker"].pk
    assert listed(client, f"{LIST}?status=dismissed") == pks(recs, "dismissed")
    assert listed(client, f"{LIST}?team=vision") == pks(recs, "vision")
    assert listed(client, f"{LIST}?rule={rules.QUOTA}") == pks(recs, "research", "quota")
    assert listed(client, f"{LIST}?endpoint={ranker}&status=open") == pks(recs, "memory", "cold", "throttle")
    assert listed(client, f"{LIST}?active=0") == pks(recs, "inactive")
    assert len(listed(client, f"{LIST}?active=all")) == 10
    assert listed(client, f"{LIST}?account=222222222222") == pks(recs, "lab", "research")
    assert listed(client, f"{LIST}?region=eu-west-1&rule={rules.IDLE_ENDPOINT}") == pks(recs, "lab")


@pytest.mark.parametrize(
    "query",
    ["status=closed", "rule=nope", "active=yes", "endpoint=abc", "team=nope", "account=12", "region=mars"],
)
def test_bad_filters_are_400s_that_say_why(client, recs, member_search, query):
    client.force_login(member_search)
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert assert_matches_openapi(response)["error"]


def test_a_team_the_member_cannot_see_is_unknown(client, recs, member_search):
    client.force_login(member_search)
    response = client.get(f"{LIST}?team=vision")
    assert response.status_code == 400 and "unknown team" in response.json()["error"]


def test_open_savings_are_totalled_like_the_page(client, recs, member_search):
    client.force_login(member_search)
    body = assert_matches_openapi(client.get(f"{LIST}?status=dismissed"))
    assert body["open_savings"] == [
        {"currency": "USD", "open": 5, "monthly_saving": "420.5000000000",
         "monthly_cost_increase": "40.0000000000", "unknown_saving": 2}
    ]  # fmt: skip


# --- quotas ----------------------------------------------------------------------------------------
def test_quotas_are_scoped_and_name_only_visible_endpoints(
    client, recs, member_search, finops_admin, outsider
):
    client.force_login(member_search)
    quotas = assert_matches_openapi(client.get("/api/v1/quotas"))["quotas"]
    assert [(q["account_id"], q["region"]) for q in quotas] == [("111111111111", "us-east-1")]
    q = quotas[0]
    assert (q["serverless_endpoints"], q["sum_max_concurrency"], q["endpoint_quota"]) == (2, 80, 50)
    assert (q["endpoints_used"], q["concurrency_used"], q["warn"]) == (0.04, 0.4, False)
    assert q["largest"] == [
        {"endpoint_id": None, "name": None, "max_concurrency": 50},
        {"endpoint_id": recs["endpoints"]["ranker"].pk, "name": "search-ranker", "max_concurrency": 30},
    ]
    client.force_login(finops_admin)
    everything = assert_matches_openapi(client.get("/api/v1/quotas"))["quotas"]
    assert [q["region"] for q in everything] == ["us-east-1", "eu-west-1"]
    assert everything[0]["largest"][0]["name"] == "vision-detector"
    assert assert_matches_openapi(client.get("/api/v1/quotas?account=222222222222"))["quotas"][0][
        "region"
    ] == ("eu-west-1")
    client.force_login(outsider)
    assert assert_matches_openapi(client.get("/api/v1/quotas")) == {"quotas": []}


# --- weekly cost per 1k on the endpoint and team details -----------------------------------------------
def test_endpoint_and_team_details_carry_the_weekly_cost_per_1k(client, estate, member_search):
    client.force_login(member_search)
    ranker = estate["search-ranker"]
    body = assert_matches_openapi(client.get(f"/api/v1/endpoints/{ranker.pk}"))["endpoint"]
    weeks = weekly_cost_per_1k([ranker.pk], WEEKS, NOW.date())
    assert [w["week"] for w in body["cost_per_1k_weekly"]] == [w.iso for w in weeks]
    assert len(weeks) == WEEKS and body["cost_per_1k_weekly"][-1]["partial"] is True
    this_week = body["cost_per_1k_weekly"][-1]
    assert Decimal(this_week["cost_per_1k"]) == weeks[-1].cost_per_1k
    # support.build: 1.25 a day, Monday to today (Friday); 100 invocations an hour over the last 48 hours
    # (13 on Wednesday, 24 on Thursday, 11 today), 100 a day before: 5,000 in all, 1.25 per 1k.
    week = (this_week["cost"], this_week["invocations"], this_week["cost_days"])
    assert week == ("6.2500000000", 5000.0, 5)
    assert Decimal(this_week["cost_per_1k"]) == Decimal("1.25")
    team = assert_matches_openapi(client.get("/api/v1/teams/search"))["team"]
    ids = [e.pk for e in (estate["search-ranker"], estate["search-retired"])]
    assert [Decimal(w["cost"]) if w["cost"] else None for w in team["cost_per_1k_weekly"]] == [
        w.cost for w in weekly_cost_per_1k(ids, WEEKS, NOW.date())
    ]


# --- query counts --------------------------------------------------------------------------------------
def test_query_counts_do_not_grow_with_the_recommendations(client, recs, member_search, finops_admin):
    paths = [LIST, f"{LIST}?status=open&active=all", "/api/v1/quotas", f"{LIST}/{recs['recs']['memory'].pk}"]

    def counts(user) -> dict[str, int]:
        client.force_login(user)
        client.get(LIST)
        out = {}
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            out[path] = len(queries)
        return out

    add_recommendations(recs, 2)
    small = {u.pk: counts(u) for u in (member_search, finops_admin)}
    add_recommendations(recs, 8)
    assert {u.pk: counts(u) for u in (member_search, finops_admin)} == small
