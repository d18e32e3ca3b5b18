"""/api/v1/teams, /teams/<slug> and /forecasts: team totals equal figures.totals over the same endpoints,
and forecasts are this month's, named, with money as decimal strings."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from dashboard.models import CostForecast, Endpoint, Team
from dashboard.services.figures import endpoint_figures, parse_range, totals
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 endpoints, 3 days collected)
from tests.conftest import NOW
from tests.dashboard.api.support import assert_matches_openapi


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_user("fin", password="correct horse battery")
    user.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    client.force_login(user)
    return client


def get_json(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.content
    return assert_matches_openapi(response)


def dec(value):
    return Decimal(value) if value is not None else None


def assert_totals_equal(got: dict, team: Team, range_key: str):
    rng = parse_range({"range": range_key}, NOW)
    ids = Endpoint.objects.filter(team=team).values_list("pk", flat=True)
    want = totals(endpoint_figures(ids, rng, today=NOW.date()), today=NOW.date())
    # The API says null where totals() says 0 for a sum over nothing known; otherwise they are equal.
    assert got["endpoints"] == want.endpoints
    assert (got["invocations"] or 0) == pytest.approx(want.invocations)
    assert (got["errors"] or 0) == pytest.approx(want.errors)
    for key in ("cost", "mtd_cost", "last_month_same_days", "forecast"):
        assert dec(got[key] or "0") == getattr(want, key), key
    assert got["change_vs_last_month"] == want.change_vs_last_month
    if got["cost"] is not None:
        assert got["currency"] == want.currency


def test_team_totals_in_list_and_detail_equal_figures_totals(admin_client, fleet):  # noqa: F811
    for range_key in ("24h", "30d"):
        teams = get_json(admin_client, f"/api/v1/teams?range={range_key}")["teams"]
        assert [t["slug"] for t in teams] == sorted(Team.objects.values_list("slug", flat=True))
        for got in teams:
            assert_totals_equal(got["totals"], Team.objects.get(slug=got["slug"]), range_key)
        assert any(dec(t["totals"]["cost"]) for t in teams)
    team = Team.objects.filter(endpoints__isnull=False).first()
    body = get_json(admin_client, f"/api/v1/teams/{team.slug}?range=30d")["team"]
    assert_totals_equal(body["totals"], team, "30d")
    names = sorted(team.endpoints.values_list("name", flat=True))
    assert sorted(e["name"] for e in body["endpoints"]) == names


def test_team_totals_compare_with_the_same_days_of_last_month(admin_client, estate):
    body = get_json(admin_client, "/api/v1/teams?range=30d")
    search = next(t for t in body["teams"] if t["slug"] == "search")["totals"]
    # Two search endpoints x 1.25 a day; last month's rows start on 12 October, so 12-19 October (8 days)
    # stand against 1-20 November.
    assert search["mtd_cost"] == "50.0000000000"
    assert search["last_month_same_days"] == "20.0000000000"
    assert search["change_vs_last_month"] == pytest.approx(1.5)
    assert search["cost_source"] == ["resource"] and search["currency"] == "USD"
    assert search["forecast"] == "75.0000000000"  # the endpoints' forecasts, 37.5 each


def test_team_without_endpoints_has_null_totals_not_zero(admin_client, estate):
    Team.objects.create(name="Empty", slug="empty")
    empty = next(t for t in get_json(admin_client, "/api/v1/teams")["teams"] if t["slug"] == "empty")
    assert empty["totals"]["endpoints"] == 0
    assert empty["totals"]["cost"] is None and empty["totals"]["invocations"] is None
    assert empty["totals"]["currency"] is None and empty["team_forecast"] is None


def test_team_carries_its_own_forecast(admin_client, estate):
    team = get_json(admin_client, "/api/v1/teams/search")["team"]
    assert team["team_forecast"]["amount"] == "100.0000000000"
    assert (team["team_forecast"]["lower"], team["team_forecast"]["upper"]) == (
        "90.0000000000",
        "110.0000000000",
    )


def test_forecasts_are_this_months_with_names_and_daily_amounts(admin_client, estate):
    CostForecast.objects.create(
        scope="team", scope_id=estate["search-ranker"].team_id, month=NOW.date().replace(month=10, day=1),
        amount=Decimal("1"), currency="USD", method="median", computed_at=NOW,
    )  # fmt: skip
    body = get_json(admin_client, "/api/v1/forecasts")
    assert body["month"] == "2026-11-01"
    ranker = next(f for f in body["forecasts"] if f["name"] == "search-ranker")
    assert ranker["key"] == str(estate["search-ranker"].pk) and ranker["scope"] == "endpoint"
    assert ranker["amount"] == "37.5000000000" and ranker["lower"] is None
    assert ranker["daily"] == [{"day": "2026-11-21", "amount": "1.25"}]
    account = next(f for f in body["forecasts"] if f["scope"] == "account" and f["name"] == "prod")
    assert account["key"] == "111111111111" and account["method"] == "cost-explorer"
    assert len([f for f in body["forecasts"] if f["scope"] == "team"]) == 2  # October's is not listed
