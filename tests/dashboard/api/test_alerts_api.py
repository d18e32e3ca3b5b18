"""/api/v1/alerts, /alerts/<id> and /budget-rules: scoped like the pages, newest first and paged, filters,
JSON 400s and 404s, notifications with every delivery attempt (a FinOps channel's name and errors hidden
from a member), every response valid against the OpenAPI document, and query counts that do not grow
with the alerts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import Alert, BudgetRule
from tests.dashboard.api.support import assert_matches_openapi, bearer
from tests.dashboard.test_alerts_pages import add_alerts, build_alerts

LIST, RULES = "/api/v1/alerts", "/api/v1/budget-rules"
DEFAULT_RULES = 3  # migration 0009


@pytest.fixture
def alerts(db, team_search, team_vision):
    return build_alerts(team_search, team_vision)


def pks(alerts, *names) -> list[int]:
    return [alerts["alerts"][n].pk for n in names]


def listed(client, path=LIST, **headers) -> list[int]:
    response = client.get(path, **headers)
    assert response.status_code == 200, response.content
    return [a["id"] for a in assert_matches_openapi(response)["alerts"]]


# --- scoping ---------------------------------------------------------------------------------------------
def test_anonymous_gets_401_in_json(client, alerts):
    for path in (LIST, f"{LIST}/{alerts['alerts']['search'].pk}", RULES):
        response = client.get(path)
        assert response.status_code == 401 and assert_matches_openapi(response)["error"]


def test_member_sees_their_teams_alerts_newest_first(client, alerts, member_search, token_for):
    assert listed(client, **bearer(token_for(member_search))) == pks(alerts, "search", "ranker")


def test_finops_admin_sees_every_alert(client, alerts, finops_admin):
    client.force_login(finops_admin)
    assert listed(client) == pks(alerts, "search", "vision", "account", "ranker", "fleet")


def test_outsider_sees_none_and_gets_404_for_any_one(client, alerts, outsider):
    client.force_login(outsider)
    assert assert_matches_openapi(client.get(LIST)) == {"alerts": [], "limit": 100, "offset": 0,
                                                        "next_offset": None}  # fmt: skip
    for alert in alerts["alerts"].values():
        response = client.get(f"{LIST}/{alert.pk}")
        assert response.status_code == 404
        assert assert_matches_openapi(response) == {"error": f"no alert {alert.pk}"}
    assert assert_matches_openapi(client.get(RULES)) == {"budget_rules": []}


def test_member_gets_404_for_other_teams_and_teamless_alerts(client, alerts, member_search):
    client.force_login(member_search)
    for name in ("vision", "account", "fleet"):
        response = client.get(f"{LIST}/{alerts['alerts'][name].pk}")
        assert response.status_code == 404 and assert_matches_openapi(response)


# --- one alert ---------------------------------------------------------------------------------------------
def test_one_alert_in_full_with_notifications_and_attempts(client, alerts, finops_admin):
    client.force_login(finops_admin)
    stored = alerts["alerts"]["search"]
    body = assert_matches_openapi(client.get(f"{LIST}/{stored.pk}"))["alert"]
    assert (body["scope"], body["scope_label"]) == ("team", "team Search")
    assert body["team"] == {"slug": "search", "name": "Search"}
    assert (body["threshold"], body["ratio"], body["peak_ratio"]) == ("150.00", "171.43", "181.43")
    assert body["figures"] == stored.figures and body["figures"]["actual"] == "1200.0000"
    assert body["period"] == {"start": "2026-11-01", "end": "2026-12-01"}
    assert (body["state"], body["raised_at"], body["recovered_at"]) == (
        "firing",
        "2026-11-20T09:17:00Z",
        None,
    )
    assert body["rule"] == {"id": None, "name": "rule for team Search"} and body["currency"] == "USD"
    sent, failed = body["notifications"]
    assert sent["channel"] == {"id": alerts["channels"]["search"].pk, "name": "Search email", "kind": "email"}
    assert (sent["status"], sent["event"], sent["attempts"]) == ("sent", "raised", 1)
    at = "2026-11-20T10:17:00Z"
    assert sent["deliveries"] == [
        {
            "started_at": at,
            "finished_at": at,
            "ok": True,
            "permanent": False,
            "status_code": 250,
            "error": None,
        }
    ]
    assert (
        failed["channel"]["name"] == "FinOps email"
        and failed["last_error"] == "550 5.1.1 mailbox unavailable"
    )
    assert failed["deliveries"][0]["permanent"] and failed["deliveries"][0]["status_code"] == 550


def test_member_sees_a_finops_channels_status_but_not_its_name_or_errors(client, alerts, member_search):
    client.force_login(member_search)
    body = assert_matches_openapi(client.get(f"{LIST}/{alerts['alerts']['search'].pk}"))["alert"]
    finops = body["notifications"][1]
    assert finops["channel"] is None and finops["kind"] == "email" and finops["status"] == "failed"
    assert finops["last_error"] is None and finops["deliveries"] == []
    summary = assert_matches_openapi(client.get(LIST))["alerts"][0]["notifications"]
    assert [(n["channel"] and n["channel"]["name"], n["status"]) for n in summary] == [
        ("Search email", "sent"), (None, "failed")
    ]  # fmt: skip


def test_a_pending_notification_says_when_it_is_tried_again(client, alerts, member_search):
    client.force_login(member_search)
    body = assert_matches_openapi(client.get(f"{LIST}/{alerts['alerts']['ranker'].pk}"))["alert"]
    pending = body["notifications"][0]
    assert (pending["status"], pending["next_attempt_at"], pending["last_error"]) == (
        "pending", "2026-11-20T10:22:00Z", "timed out after 20s"
    )  # fmt: skip
    assert body["endpoint"] == {"id": alerts["endpoints"]["ranker"].pk, "name": "search-ranker"}
    assert body["account_id"] == "111111111111" and body["recovered_at"] == "2026-11-20T10:17:00Z"


# --- filters and pages -------------------------------------------------------------------------------------
def test_filters_by_team_state_and_scope(client, alerts, finops_admin):
    client.force_login(finops_admin)
    assert listed(client, f"{LIST}?team=vision") == pks(alerts, "vision")
    assert listed(client, f"{LIST}?state=recovered") == pks(alerts, "ranker", "fleet")
    assert listed(client, f"{LIST}?scope=account") == pks(alerts, "account")
    assert listed(client, f"{LIST}?team=search&state=firing") == pks(alerts, "search")


def test_pages_follow_next_offset_to_the_end(client, alerts, finops_admin):
    client.force_login(finops_admin)
    seen, path = [], f"{LIST}?limit=2"
    while True:
        body = assert_matches_openapi(client.get(path))
        seen += [a["id"] for a in body["alerts"]]
        if body["next_offset"] is None:
            break
        path = f"{LIST}?limit=2&offset={body['next_offset']}"
    assert seen == pks(alerts, "search", "vision", "account", "ranker", "fleet")


def test_bad_parameters_are_400s_that_name_them(client, alerts, member_search):
    client.force_login(member_search)
    cases = {
        f"{LIST}?team=vision": "unknown team 'vision'",
        f"{LIST}?state=exploded": "unknown state 'exploded'",
        f"{LIST}?scope=galaxy": "unknown scope 'galaxy'",
        f"{LIST}?limit=10000": "limit must be an integer from 0 to 500",
        f"{LIST}?offset=-1": "offset must be an integer",
        f"{LIST}/abc": "alert id must be a positive integer",
        f"{RULES}?team=vision": "unknown team 'vision'",
    }
    for path, message in cases.items():
        response = client.get(path)
        assert response.status_code == 400 and message in assert_matches_openapi(response)["error"], path
    assert client.post(LIST).status_code == 405


# --- budget rules ------------------------------------------------------------------------------------------
def test_budget_rules_are_scoped_like_the_page(client, alerts, member_search, finops_admin, team_search,
                                               team_vision, token_for):  # fmt: skip
    mine = BudgetRule.objects.create(
        name="Search fixed",
        scope="team",
        team=team_search,
        basis="fixed",
        amount="1500",
        currency="EUR",
        thresholds=["120", "150"],
        period="week",
    )
    mine.channels.set([alerts["channels"]["search"], alerts["channels"]["finops"]])
    BudgetRule.objects.create(name="Vision", scope="team", team=team_vision)
    body = assert_matches_openapi(client.get(RULES, **bearer(token_for(member_search))))
    assert [r["name"] for r in body["budget_rules"]] == ["Search fixed"]
    rule = body["budget_rules"][0]
    assert (rule["scope"], rule["target_label"]) == ("team", "team Search")
    assert rule["team"] == {"slug": "search", "name": "Search"}
    assert (rule["basis"], rule["amount"]) == ("fixed", "1500.0000000000")
    assert (rule["currency"], rule["period"]) == ("EUR", "week")
    assert rule["thresholds"] == ["120.00", "150.00"]
    assert rule["channels"] == [
        {"id": alerts["channels"]["search"].pk, "name": "Search email", "kind": "email"}
    ]
    client.force_login(finops_admin)
    body = assert_matches_openapi(client.get(RULES))
    assert len(body["budget_rules"]) == DEFAULT_RULES + 2
    each_team = next(r for r in body["budget_rules"] if r["name"] == "Each team over 150% of its forecast")
    assert (each_team["team"], each_team["target_label"], each_team["amount"]) == (None, "each team", None)
    assert [
        r["name"] for r in assert_matches_openapi(client.get(f"{RULES}?team=vision"))["budget_rules"]
    ] == ["Vision"]


# --- query counts ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["member_search", "finops_admin"])
@pytest.mark.parametrize("path", [LIST, f"{LIST}?state=firing&limit=500", RULES])
def test_query_count_does_not_grow_with_the_alerts(client, alerts, request, who, path):
    client.force_login(request.getfixturevalue(who))

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        return len(queries), len(response.content)

    def grow(n):
        add_alerts(alerts, n)
        for i in range(n):
            rule = BudgetRule.objects.create(
                name=f"bench {i}", scope="team", team=alerts["channels"]["search"].team
            )
            rule.channels.set([alerts["channels"]["search"], alerts["channels"]["finops"]])

    client.get(path)  # warm up per-process caches
    grow(2)
    small, small_size = count()
    grow(8)
    large, large_size = count()
    assert large_size > small_size
    assert small == large, f"{small} queries with the small set, {large} with 5x"


def test_the_alerts_routes_are_in_the_openapi_document():
    from dashboard.api.openapi import DOCUMENT

    assert {"/alerts", "/alerts/{pk}", "/budget-rules"} <= set(DOCUMENT["paths"])
    assert Alert.State.values == DOCUMENT["components"]["schemas"]["Alert"]["properties"]["state"]["enum"]
