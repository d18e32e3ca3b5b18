"""A team's dashboard: month-to-date spend against the team's forecast, the last 14 days' spend, the top
endpoints by cost and the biggest movers against the previous range, and the team's endpoints (the
fleet table, sortable and exportable as on the fleet page)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.postgres.aggregates import ArrayAgg, BoolOr
from django.db.models import Q, Sum
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from dashboard import charts
from dashboard.models import CostForecast, EndpointCost, EndpointSummary, Recommendation
from dashboard.services.alerts import firing_for_team
from dashboard.services.figures import (
    FLAGS,
    EndpointFigures,
    TimeRange,
    Totals,
    endpoint_figures,
    midnight,
    totals,
)
from dashboard.services.recommendations import open_savings, ranked
from dashboard.services.scoping import visible_endpoints, visible_teams
from dashboard.services.trends import WEEKS, weekly_cost_per_1k
from dashboard.tables import UNKNOWN, FleetTable, Row, money, number, percent, source_marker
from dashboard.tables.alerts import pct, period_label
from dashboard.tables.recommendations import RecRow
from dashboard.views import fleet as fleet_page
from dashboard.views.recommendations import totals_line

DAILY_SPEND_DAYS = 14
TOP = 5
OPEN_ALERTS = 10
CENT = Decimal("0.005")  # a daily change that rounds to 0.00 is not a move


@dataclass
class DaySpend:
    day: date
    cost: Decimal | None
    sources: list[str]
    aws_estimated: bool


@dataclass
class Mover:
    row: Row
    before: Decimal  # average daily cost over the days with a cost
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before

    @property
    def ratio(self) -> float | None:
        return float(self.change / self.before) if self.before else None


def previous_range(rng: TimeRange) -> TimeRange:
    """The same number of whole days just before the range's first day: costs are daily, so a previous
    range sharing a day with this one would count that day's cost on both sides."""
    first, last = rng.days
    return TimeRange(rng.key, midnight(first - (last - first)), midnight(first))


def daily_spend(ids: list[int], today: date) -> list[DaySpend]:
    """The team's spend per day over the last 14 days (today so far included), newest first; one query."""
    first = today - timedelta(days=DAILY_SPEND_DAYS - 1)
    by_day = {}
    if ids:
        rows = (
            EndpointSummary.objects.filter(
                endpoint_id__any=ids, resolution=EndpointSummary.DAILY,
                bucket__gte=midnight(first), bucket__lt=midnight(today + timedelta(days=1)),
            )
            .exclude(cost=None)
            .values("bucket")
            .annotate(
                total=Sum("cost"),
                sources=ArrayAgg("cost_source", distinct=True),
                aws_est=BoolOr("cost_estimated", filter=~Q(cost_source=EndpointCost.Source.ESTIMATE)),
            )
        )  # fmt: skip
        by_day = {r["bucket"].date(): r for r in rows}
    out = []
    for n in range(DAILY_SPEND_DAYS):
        day = today - timedelta(days=n)
        r = by_day.get(day)
        out.append(
            DaySpend(day, r["total"] if r else None, r["sources"] if r else [], bool(r and r["aws_est"]))
        )
    return out


def per_day(f: EndpointFigures) -> Decimal | None:
    return f.cost / f.cost_days if f.cost is not None and f.cost_days else None


def top_movers(rows: list[Row], before: dict[int, EndpointFigures]) -> tuple[list[Mover], list[Row]]:
    """Endpoints whose average daily cost moved most between the two ranges, and those with a cost in
    only one of them (new, gone, or not costed then: a cost missing is not a cost of zero). Per day over
    the days that have a cost, because Cost Explorer lags: today and often yesterday have none yet, and
    comparing totals would show every endpoint falling."""
    movers, one_sided = [], []
    for r in rows:
        then, now = per_day(before[r.endpoint.pk]), per_day(r.figures)
        if then is not None and now is not None:
            movers.append(Mover(r, then, now))
        elif then is not None or now is not None:
            one_sided.append(r)
    movers = [m for m in movers if abs(m.change) >= CENT]
    movers.sort(key=lambda m: abs(m.change), reverse=True)
    return movers[:TOP], one_sided


def top_by_cost(rows: list[Row], total: Decimal) -> list[tuple[Row, float | None]]:
    """The most expensive endpoints over the range, with their share of the team's cost."""
    costly = sorted((r for r in rows if r.figures.cost), key=lambda r: r.figures.cost, reverse=True)[:TOP]
    return [(r, float(r.figures.cost / total) if total else None) for r in costly]


def team_dashboard(request, slug):
    now = fleet_page.clock()
    today = now.date()
    teams = list(visible_teams(request.user))
    team = next((t for t in teams if t.slug == slug), None)
    if team is None:
        raise Http404("No team by that name among yours")  # the same answer whether it exists or not
    form = fleet_page.RangeForm(request.GET)
    rng, range_error = fleet_page.page_range(request, now)
    context = {"team": team, "form": form, "nav_teams": teams, "rng": rng, "table": None}
    if range_error:
        return fleet_page.bad_request(request, "team/detail.html", context, [range_error])
    form.is_valid()  # every field is optional: this only reads the toggle and echoes the values back
    show_deleted = bool(form.cleaned_data.get("deleted"))

    # Every endpoint the team had this month counts towards its spend, deleted ones included (so does
    # the team's forecast); the table lists the live ones unless asked.
    rows = fleet_page.load_rows(visible_endpoints(request.user).filter(team=team), rng, today=today)
    ids = [r.endpoint.pk for r in rows]
    table = FleetTable()
    listed = [r for r in rows if show_deleted or not r.endpoint.deleted_at]
    shown = fleet_page.table_context(request, table, listed, page_size=fleet_page.PAGE_SIZE)
    if request.GET.get("format") == "csv":
        return fleet_page.csv_response(
            table, shown["sorted_rows"], f"team-{team.slug}-{rng.key}-{today:%Y-%m-%d}.csv"
        )

    previous = previous_range(rng)
    before = endpoint_figures(ids, previous, today=today)
    movers, one_sided = top_movers(rows, before)
    team_totals = totals({r.endpoint.pk: r.figures for r in rows}, today=today)
    forecast = CostForecast.objects.filter(
        scope=CostForecast.Scope.TEAM, scope_id=team.pk, month=today.replace(day=1)
    ).first()
    cards = [
        forecast_card(forecast, team_totals, today) if c.key == "forecast" else c
        for c in fleet_page.summary_cards(rows, team_totals, rng, today)
    ]
    currency = team_totals.currency
    context.update(
        table=shown,
        endpoints=[r.endpoint for r in shown["sorted_rows"]],
        cards=cards,
        forecast=forecast,
        range_label=fleet_page.range_label(rng),
        previous_label=fleet_page.range_label(TimeRange("custom", previous.start, previous.end)),
        daily=[
            {"day": d.day, "cost": money(d.cost, currency),
             "marker": source_marker(d.sources, d.aws_estimated)}
            for d in daily_spend(ids, today)
        ],
        top=[
            {"row": r, "cost": money(r.figures.cost, currency), "share": percent(share),
             "marker": source_marker(r.figures.cost_sources, r.aws_estimated)}
            for r, share in top_by_cost(rows, team_totals.cost)
        ],
        movers=[
            {"row": m.row, "before": money(m.before, currency), "now": money(m.now, currency),
             "change": signed_money(m.change, currency), "up": m.change > 0,
             "ratio": fleet_page.signed_percent(m.ratio)}
            for m in movers
        ],
        one_sided=one_sided,
        previous_has_costs=any(f.cost is not None for f in before.values()),
        deleted_count=sum(1 for r in rows if r.endpoint.deleted_at),
        show_deleted=show_deleted,
        deleted_toggle_url=fleet_page.query_string(request, deleted=None if show_deleted else "1",
                                                   format=None),
        flags=FLAGS,
    )  # fmt: skip
    recommendations = Recommendation.objects.filter(team=team, active=True)
    context.update(
        open_recommendations=[
            RecRow(r) for r in ranked(recommendations.filter(status=Recommendation.Status.OPEN))[:TOP]
        ],
        recommendation_totals=[totals_line(t) for t in open_savings(recommendations)],
        recommendations_url=f"{reverse('recommendations')}?{urlencode({'team': team.slug})}",
        weekly=weekly_context(ids, today, currency),
        open_alerts=[
            {"alert": a, "ratio": pct(a.ratio), "period": period_label(a.period_start, a.period_end)}
            for a in firing_for_team(team, OPEN_ALERTS)
        ],
        alerts_url=f"{reverse('alerts')}?{urlencode({'team': team.slug, 'state': 'firing'})}",
    )
    return render(request, "team/detail.html", context)


def weekly_context(ids: list[int], today: date, currency: str) -> dict:
    """Cost per 1k invocations per ISO week over the endpoints together: rows newest first, and the
    chart (the team page, and the endpoint page for one endpoint)."""
    weeks = weekly_cost_per_1k(ids, WEEKS, today)
    currency = next((w.currency for w in weeks if w.currency), currency or "USD")
    rows = [
        {"week": w, "cost": money(w.cost, currency), "invocations": number(w.invocations),
         "per_1k": money(w.cost_per_1k, currency, small=True), "change": fleet_page.signed_percent(w.change),
         "up": (w.change or 0) > 0, "marker": source_marker(w.sources)}
        for w in reversed(weeks)
    ]  # fmt: skip
    return {"rows": rows, "chart": charts.weekly_cost_per_1k_chart(weeks, currency)}


def signed_money(amount: Decimal, currency: str) -> str:
    return f"{amount:+,.2f} {currency}"


def forecast_card(forecast: CostForecast | None, t: Totals, today: date) -> fleet_page.Card:
    """The team's own forecast (median of recent complete days, see collectors/attribution.py)."""
    if forecast is None:
        return fleet_page.Card(
            "Forecast for the month", UNKNOWN, "no forecast yet — needs 7 days of cost history", "forecast"
        )
    elapsed = today.day / calendar.monthrange(today.year, today.month)[1]
    used = (
        f"month to date is {percent(float(t.mtd_cost / forecast.amount), 0)} of it" if forecast.amount else ""
    )
    note = (
        f"{used}, {percent(elapsed, 0)} of the month gone"
        if used
        else f"{percent(elapsed, 0)} of the month gone"
    )
    return fleet_page.Card(
        "Forecast for the month", money(forecast.amount, forecast.currency), note, "forecast"
    )
