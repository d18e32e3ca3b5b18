"""The team dashboard: who may see it, month-to-date spend against the team's forecast, the last 14
days' spend, top endpoints and top movers, and the team's endpoints (the fleet table)."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard.models import AwsAccount, CollectionRun, CostForecast, Endpoint, EndpointSummary, Team
from dashboard.services.costs import best_costs
from dashboard.services.figures import endpoint_figures, parse_range
from dashboard.services.trends import WEEKS, weekly_cost_per_1k
from dashboard.tables import money
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 simulated endpoints, 3 days)
from tests.conftest import NOW
from tests.dashboard.test_fleet_page import (  # noqa: F401  (page_clock is a fixture)
    csv_rows,
    page_clock,
    rows_of,
    user_in_team,
)
from tests.dashboard.test_page_query_counts import build_fleet
from tests.dashboard.test_recommendations_page import make_rec


def team_url(slug: str) -> str:
    return reverse("team", args=[slug])


def section(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return " ".join(body[start : body.index("</section>", start)].split())


# --- who sees what -------------------------------------------------------------------------------------
@pytest.fixture
def small_site(db, team_search, team_vision, page_clock):  # noqa: F811
    account = AwsAccount.objects.create(account_id="444444444444", label="prod", regions=["us-east-1"])
    CollectionRun.objects.create(
        kind="costs", account=account, region="", started_at=NOW, finished_at=NOW, status="ok"
    )
    build_fleet(4, account=account, teams=[team_search, team_vision])
    return account


def test_anonymous_user_is_sent_to_login(client, small_site):
    for params in ({}, {"format": "csv"}):
        response = client.get(team_url("search"), params)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_member_sees_their_team_and_gets_404_for_another(client, small_site, member_search):
    client.force_login(member_search)
    response = client.get(team_url("search"))
    assert response.status_code == 200
    assert set(rows_of(response)) == set(
        Endpoint.objects.filter(team__slug="search").values_list("name", flat=True)
    )
    assert client.get(team_url("vision")).status_code == 404
    assert client.get(team_url("vision"), {"format": "csv"}).status_code == 404
    assert client.get(team_url("no-such-team")).status_code == 404


def test_outsider_gets_404_for_every_team(client, small_site, outsider):
    client.force_login(outsider)
    for slug in ("search", "vision"):
        assert client.get(team_url(slug)).status_code == 404
        assert client.get(team_url(slug), {"format": "csv"}).status_code == 404


def test_finops_admin_sees_every_team(client, small_site, finops_admin):
    client.force_login(finops_admin)
    for slug in ("search", "vision"):
        response = client.get(team_url(slug))
        assert response.status_code == 200
        assert {e.team.slug for e in response.context["endpoints"]} == {slug}


# --- spend against forecast ----------------------------------------------------------------------------
def test_month_to_date_spend_is_shown_against_the_teams_forecast(
    client, small_site, member_search, team_search
):
    CostForecast.objects.create(
        scope="team", scope_id=team_search.pk, month=NOW.date().replace(day=1), amount=Decimal("200"),
        currency="USD", method="median-daily", computed_at=NOW,
    )  # fmt: skip
    client.force_login(member_search)
    response = client.get(team_url("search"))
    body = " ".join(response.content.decode().split())
    ids = [e.pk for e in Endpoint.objects.filter(team=team_search)]
    mtd = sum(s.cost for s in _daily_rows(ids, NOW.date().replace(day=1)))
    assert money(mtd, "USD") in body[body.index('id="card-mtd"') :][:300]
    forecast_card = body[body.index('id="card-forecast"') :][:400]
    assert "200.00 USD" in forecast_card
    assert f"month to date is {float(mtd / 200) * 100:.0f}% of it" in forecast_card


def test_missing_team_forecast_says_why(client, small_site, member_search):
    client.force_login(member_search)
    body = client.get(team_url("search")).content.decode()
    assert "no forecast yet — needs 7 days of cost history" in body


def _daily_rows(ids, first_day):
    return EndpointSummary.objects.filter(
        endpoint_id__in=ids, resolution="1d", bucket__date__gte=first_day, bucket__date__lte=NOW.date()
    ).exclude(cost=None)


# --- realistic fleet: daily spend, top endpoints ---------------------------------------------------------
def test_last_14_days_spend_equals_the_stored_costs_per_day(client, fleet, django_user_model, page_clock):  # noqa: F811
    client.force_login(user_in_team(django_user_model, "nlp"))
    response = client.get(team_url("nlp"))
    body = response.content.decode()
    daily = section(body, "daily-spend")
    ids = list(Endpoint.objects.filter(team__slug="nlp").values_list("pk", flat=True))
    for n in range(14):
        day = NOW.date() - timedelta(days=n)
        costs = best_costs(ids, day, day + timedelta(days=1))
        expected = money(sum((c.amount for c in costs), Decimal(0)), "USD") if costs else "—"
        row = daily[daily.index(f'data-day="{day:%Y-%m-%d}"') :]
        assert row[: row.index("</tr>")].count(expected) == 1, day
    assert daily.count("<tr data-day=") == 14


def test_top_endpoints_are_the_most_expensive_in_range(client, fleet, django_user_model, page_clock):  # noqa: F811
    client.force_login(user_in_team(django_user_model, "search"))
    body = client.get(team_url("search"), {"range": "7d"}).content.decode()
    endpoints = list(Endpoint.objects.filter(team__slug="search"))
    figures = endpoint_figures([e.pk for e in endpoints], parse_range({"range": "7d"}, NOW), today=NOW.date())
    ranked = sorted(
        (e for e in endpoints if figures[e.pk].cost), key=lambda e: figures[e.pk].cost, reverse=True
    )
    top = section(body, "top-endpoints")
    positions = [top.index(f'data-endpoint="{e.name}"') for e in ranked[:5]]
    assert positions == sorted(positions) and positions
    for e in ranked[:5]:
        assert money(figures[e.pk].cost, "USD") in top


def test_team_table_is_the_fleet_table_for_the_team_and_exports(client, fleet, django_user_model, page_clock):  # noqa: F811
    client.force_login(user_in_team(django_user_model, "recsys"))
    response = client.get(team_url("recsys"), {"sort": "-invocations"})
    rows = rows_of(response)
    recsys = set(Endpoint.objects.filter(team__slug="recsys", deleted_at=None).values_list("name", flat=True))
    assert set(rows) == recsys
    exported = csv_rows(client.get(team_url("recsys"), {"sort": "-invocations", "format": "csv"}))
    assert [r["Endpoint"] for r in exported] == list(rows)
    assert {r["Team"] for r in exported} == {"recsys"}


# --- top movers ------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("page_clock")
def test_top_movers_rank_change_in_daily_cost_and_set_aside_one_sided(client, db, team_search, member_search):
    account = AwsAccount.objects.create(account_id="555555555555", regions=["us-east-1"])
    # 7d range at NOW touches 8 days (today .. 7 days ago); the previous range the 8 days before that.
    plans = {
        0: lambda d: Decimal(10) if d >= 8 else Decimal(30),  # +20 a day
        1: lambda d: Decimal(5) if d >= 8 else Decimal(4),  # -1 a day
        2: lambda d: None if d >= 8 else Decimal(50),  # costed only now: not ranked
        3: lambda d: Decimal(7),  # unchanged: not a mover
        4: lambda d: Decimal(100) if d >= 8 else Decimal(97),  # -3 a day
    }
    build_fleet(
        5, account=account, teams=[team_search], daily_cost=lambda i, d: plans[i](d) if d < 16 else None
    )
    _extend_history(account)
    client.force_login(member_search)
    body = client.get(team_url("search"), {"range": "7d"}).content.decode()
    movers = section(body, "top-movers")
    positions = [movers.index(f'data-endpoint="{name}"') for name in ("ep-0000", "ep-0004", "ep-0001")]
    assert positions == sorted(positions)  # biggest change in daily cost first, whichever the sign
    assert 'data-endpoint="ep-0003"' not in movers  # did not move
    assert "+20.00 USD" in movers and "+200.0%" in movers
    assert 'data-endpoint="ep-0002"' not in movers and "ep-0002" in movers.split("Costed in only one")[1]


def _extend_history(account):
    """build_fleet stores 14 days; the movers test needs 16 (two ranges of 8 days): add the two oldest."""
    midnight = datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC)
    costs = {"ep-0000": 10, "ep-0001": 5, "ep-0003": 7, "ep-0004": 100}
    EndpointSummary.objects.bulk_create(
        EndpointSummary(
            endpoint=e, resolution="1d", bucket=midnight - timedelta(days=d), cost=Decimal(costs[e.name]),
            cost_source="resource", cost_estimated=False, currency="USD",
        )
        for e in Endpoint.objects.filter(account=account, name__in=costs)
        for d in (14, 15)
    )  # fmt: skip


# --- range and freshness ---------------------------------------------------------------------------------
def test_bad_range_on_team_page_is_a_400_with_the_message(client, small_site, member_search):
    client.force_login(member_search)
    response = client.get(team_url("search"), {"range": "custom", "start": "2026-13-01", "end": "2026-11-01"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "a custom range needs start and end dates as YYYY-MM-DD" in body
    assert 'name="range"' in body and 'id="fleet-table"' not in body


def test_team_page_shows_freshness_and_names_failing_collectors(client, small_site, member_search):
    CollectionRun.objects.create(
        kind="metrics", account=small_site, region="eu-west-1", started_at=NOW, finished_at=NOW,
        status="failed", errors=["ThrottlingException: Rate exceeded"],
    )  # fmt: skip
    client.force_login(member_search)
    body = " ".join(client.get(team_url("search")).content.decode().split())
    assert 'id="freshness-inventory"' in body and "Inventory never collected" in body
    assert "Costs collected" in body
    assert "Metrics collection is failing for 1 account/region" in body
    assert "444444444444/eu-west-1: ThrottlingException: Rate exceeded" in body


def test_team_nav_marks_the_current_team(client, small_site, member_search):
    Team.objects.get(slug="vision").members.add(member_search)
    client.force_login(member_search)
    body = client.get(team_url("vision")).content.decode()
    assert f'href="{team_url("vision")}" aria-current="page"' in body
    assert f'href="{team_url("search")}"' in body


# --- open recommendations and the weekly cost per 1k ----------------------------------------------------
def test_open_recommendations_panel_shows_the_top_five_by_saving_and_the_total(
    client, small_site, member_search, team_search, team_vision
):
    ours = list(Endpoint.objects.filter(team=team_search))
    theirs = Endpoint.objects.filter(team=team_vision).first()
    open_ones = [make_rec(ours[n % len(ours)], saving=str(10 * (n + 1))) for n in range(7)]  # 10 .. 70
    hidden = [
        make_rec(ours[0], saving="1000", status="dismissed"),
        make_rec(ours[0], saving="2000", active=False, resolved_at=NOW),
        make_rec(theirs, saving="5000"),
    ]
    client.force_login(member_search)
    panel = section(client.get(team_url("search")).content.decode(), "team-recommendations")
    positions = [panel.index(f'data-rec="{r.pk}"') for r in reversed(open_ones[2:])]
    assert positions == sorted(positions)  # 70, 60, 50, 40, 30
    assert all(f'data-rec="{r.pk}"' not in panel for r in open_ones[:2] + hidden)
    assert "Open savings <strong>280.00 USD a month</strong> over 7 recommendations" in panel
    assert "70.00 USD" in panel and "high (80%) confidence" in panel
    assert 'href="/recommendations/?team=search"' in panel


def test_a_team_without_recommendations_says_so(client, small_site, member_search):
    client.force_login(member_search)
    panel = section(client.get(team_url("search")).content.decode(), "team-recommendations")
    assert "No open recommendations for Search." in panel


def test_weekly_cost_per_1k_table_and_chart_show_the_trends_figures(client, small_site, member_search):
    client.force_login(member_search)
    body = client.get(team_url("search")).content.decode()
    weekly = section(body, "weekly-cost-per-1k")
    ids = list(Endpoint.objects.filter(team__slug="search").values_list("pk", flat=True))
    weeks = weekly_cost_per_1k(ids, WEEKS, NOW.date())
    rows = re.findall(r'<tr data-week="([^"]+)" data-per-1k="([^"]*)">', weekly)
    assert rows == [(w.iso, "" if w.cost_per_1k is None else str(w.cost_per_1k)) for w in reversed(weeks)]
    this_week = weeks[-1]
    assert this_week.partial and this_week.cost_per_1k is not None
    assert f'{this_week.iso} <span class="sub">16 Nov</span> <span class="sub">(so far)</span>' in weekly
    assert money(this_week.cost_per_1k, "USD", small=True) in weekly
    assert 'data-chart="cost_per_1k_weekly"' in weekly
    assert '<script src="/static/vendor/plotly/plotly.min.js" defer></script>' in body
