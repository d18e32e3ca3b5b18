"""/api/v1/teams, /teams/<slug>, /forecasts and /freshness."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.http import JsonResponse

from dashboard.api import http
from dashboard.api.http import NotFound, api_view
from dashboard.api.serialize import day, money, range_json, totals_json, ts, week_json
from dashboard.api.views.endpoints import active_variants, endpoint_rows, figures_for, with_metrics
from dashboard.models import AwsAccount, CollectionRun, CostForecast, Endpoint, EndpointSummary, Team
from dashboard.services.figures import EndpointFigures, endpoint_figures, sum_totals
from dashboard.services.freshness import freshness
from dashboard.services.scoping import is_finops_admin, visible_endpoints, visible_team, visible_teams
from dashboard.services.trends import WEEKS, weekly_cost_per_1k


def last_month_same_days(team_ids: list[int], today: date) -> dict[int, Decimal]:
    """Per team, last month's spend over the same days of the month: what figures.totals computes for one
    set of endpoints, here for every team in one query (the same window; tests hold the two equal)."""
    first = today.replace(day=1)
    last_month_first = (first - timedelta(days=1)).replace(day=1)
    same_day = min(last_month_first + (today - first), first)
    rows = (
        EndpointSummary.objects.filter(
            endpoint__team_id__in=team_ids,
            resolution=EndpointSummary.DAILY,
            bucket__gte=datetime(last_month_first.year, last_month_first.month, 1, tzinfo=UTC),
            bucket__lt=datetime(same_day.year, same_day.month, same_day.day, tzinfo=UTC),
        )
        .values("endpoint__team_id")
        .annotate(total=Sum("cost"))
    )
    return {r["endpoint__team_id"]: r["total"] for r in rows if r["total"] is not None}


def team_totals(figures: list[EndpointFigures], last_month: Decimal | None, measured: set[int]) -> dict:
    """figures.totals' Totals for one team, without its per-call query, as JSON: sums of figures that are
    not known at all (no cost row, no metric row) are null, not 0."""
    return totals_json(sum_totals(figures, last_month), figures, measured, last_month)


def _team_forecasts(team_ids: list[int], month: date) -> dict[int, CostForecast]:
    rows = CostForecast.objects.filter(scope=CostForecast.Scope.TEAM, scope_id__in=team_ids, month=month)
    return {fc.scope_id: fc for fc in rows}


def _forecast_json(fc: CostForecast | None) -> dict | None:
    if fc is None:
        return None
    return {
        "amount": money(fc.amount),
        "lower": money(fc.lower),
        "upper": money(fc.upper),
        "currency": fc.currency,
        "method": fc.method,
        "computed_at": ts(fc.computed_at),
    }


def _team_json(team: Team, figures, last_month, measured, forecast) -> dict:
    return {
        "slug": team.slug,
        "name": team.name,
        "totals": team_totals(figures, last_month, measured),
        "team_forecast": _forecast_json(forecast),
    }


@api_view
def team_list(request):
    rng = http.time_range(request)
    today = http.now().date()
    teams = list(visible_teams(request.user).order_by("name"))
    team_ids = [t.pk for t in teams]
    owned = list(Endpoint.objects.filter(team_id__in=team_ids).values_list("pk", "team_id"))
    ids = [pk for pk, _ in owned]
    figures = endpoint_figures(ids, rng, today=today)
    measured = with_metrics(ids, rng)
    by_team: dict[int, list[EndpointFigures]] = defaultdict(list)
    for pk, team_id in owned:
        by_team[team_id].append(figures[pk])
    last_month = last_month_same_days(team_ids, today) if team_ids else {}
    forecasts = _team_forecasts(team_ids, today.replace(day=1))
    return JsonResponse(
        {
            "range": range_json(rng),
            "teams": [
                _team_json(t, by_team[t.pk], last_month.get(t.pk), measured, forecasts.get(t.pk))
                for t in teams
            ],
        }
    )


@api_view
def team_detail(request, slug):
    team = visible_team(request.user, slug)
    if team is None:
        raise NotFound(f"no team {slug!r}")
    rng = http.time_range(request)
    today = http.now().date()
    endpoints = list(
        Endpoint.objects.filter(team=team)
        .select_related("account", "team")
        .prefetch_related(active_variants())
        .order_by("account__account_id", "region", "name")
    )
    figures, measured = figures_for(endpoints, rng)
    last_month = last_month_same_days([team.pk], today).get(team.pk)
    forecast = _team_forecasts([team.pk], today.replace(day=1)).get(team.pk)
    body = _team_json(team, list(figures.values()), last_month, measured, forecast)
    body["endpoints"] = endpoint_rows(endpoints, figures, measured)
    weeks = weekly_cost_per_1k([e.pk for e in endpoints], WEEKS, today)
    body["cost_per_1k_weekly"] = [week_json(w) for w in weeks]
    return JsonResponse({"range": range_json(rng), "team": body})


@api_view
def forecast_list(request):
    """This month's forecasts the user may see: accounts (FinOps admins only: an account's bill spans
    teams), the user's teams, and their visible endpoints."""
    user = request.user
    month = http.now().date().replace(day=1)
    scope = Q(scope=CostForecast.Scope.TEAM, scope_id__in=visible_teams(user).values("pk")) | Q(
        scope=CostForecast.Scope.ENDPOINT, scope_id__in=visible_endpoints(user).values("pk")
    )
    if is_finops_admin(user):
        scope |= Q(scope=CostForecast.Scope.ACCOUNT)
    rows = list(CostForecast.objects.filter(scope, month=month))
    ids = defaultdict(set)
    for fc in rows:
        ids[fc.scope].add(fc.scope_id)
    names = {
        CostForecast.Scope.ACCOUNT: {
            a.pk: (a.account_id, a.label or a.account_id)
            for a in AwsAccount.objects.filter(pk__in=ids[CostForecast.Scope.ACCOUNT])
        },
        CostForecast.Scope.TEAM: {
            t.pk: (t.slug, t.name) for t in Team.objects.filter(pk__in=ids[CostForecast.Scope.TEAM])
        },
        CostForecast.Scope.ENDPOINT: {
            pk: (str(pk), name)
            for pk, name in Endpoint.objects.filter(pk__in=ids[CostForecast.Scope.ENDPOINT]).values_list(
                "pk", "name"
            )
        },
    }
    order = {s: i for i, s in enumerate(CostForecast.Scope.values)}
    out = []
    for fc in rows:
        key, name = names[fc.scope].get(fc.scope_id, (str(fc.scope_id), None))
        out.append(
            {
                "scope": fc.scope,
                "key": key,
                "name": name,
                **_forecast_json(fc),
                "daily": [{"day": d, "amount": money(Decimal(str(amount)))} for d, amount in fc.daily],
            }
        )
    out.sort(key=lambda f: (order[f["scope"]], f["name"] or "", f["key"]))
    return JsonResponse({"month": day(month), "forecasts": out})


@api_view
def freshness_view(request):
    """When each source was last collected, and what is failing now (as every page shows it)."""
    sources = [freshness(kind) for kind in CollectionRun.Kind.values]
    return JsonResponse(
        {
            "sources": [
                {
                    "kind": f.kind,
                    "last_success": ts(f.last_success),
                    "last_attempt": ts(f.last_attempt),
                    "failing": f.failing,
                }
                for f in sources
            ]
        }
    )
