"""The fleet overview: totals, then one row per visible endpoint with cost, latency and use over a time
range; server-side filters and sorting, and a CSV export of the same rows (`?format=csv`).

Also the pieces the team page shares: the page clock, the range form, loading rows (a fixed number of
queries whatever the fleet size) and turning a table into sorted HTML cells or CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.services.figures import (
    DEFAULT_RANGE,
    FLAGS,
    RangeError,
    TimeRange,
    Totals,
    parse_range,
    totals,
)
from dashboard.services.rows import load_rows
from dashboard.services.scoping import is_finops_admin, visible_endpoints, visible_teams
from dashboard.tables import UNKNOWN, FleetTable, Row, Table, money, number, percent

clock = timezone.now  # the page clock: tests set it to the time their fleet was collected at

RANGE_CHOICES = [
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("90d", "Last 90 days"),
    ("custom", "Custom dates"),
]
NO_TEAM = "none"
# Endpoint tables show this many rows a page: a browser renders 2,000 rows slowly and nobody reads them;
# totals, sorting and the CSV export still cover every row.
PAGE_SIZE = 100


class RangeForm(forms.Form):
    """The time range picker. The range itself is read by parse_range, which says what is wrong."""

    # Not a ChoiceField: parse_range checks the range and says what is wrong with it.
    range = forms.CharField(required=False, widget=forms.Select(choices=RANGE_CHOICES))
    start = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.CharField(required=False, widget=forms.HiddenInput)
    deleted = forms.BooleanField(required=False, label="Show deleted")

    def __init__(self, data):
        data = data.copy()
        if not data.get("range"):
            data["range"] = DEFAULT_RANGE  # so the picker shows the range the page uses
        super().__init__(data)


class FleetFilters(RangeForm):
    team = forms.ChoiceField(required=False)
    account = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any kind"),
            ("serverless", "Serverless"),
            ("instance", "Instance"),
            ("mixed", "Mixed"),
        ],
    )
    flag = forms.ChoiceField(required=False, choices=[("", "Any flag")] + [(k, k) for k in FLAGS])

    field_order = ["team", "account", "region", "kind", "flag", "range", "start", "end", "deleted"]

    def __init__(self, data, *, teams, scopes, finops_admin):
        super().__init__(data)
        team_choices = [("", "Any team")] + [(t.slug, t.name) for t in teams]
        if finops_admin:
            team_choices.append((NO_TEAM, "No team (untagged)"))
        self.fields["team"].choices = team_choices
        accounts = sorted({(a, label) for a, label, _ in scopes})
        self.fields["account"].choices = [("", "Any account")] + [
            (a, f"{label} ({a})" if label else a) for a, label in accounts
        ]
        self.fields["region"].choices = [("", "Any region")] + [
            (r, r) for r in sorted({r for *_, r in scopes})
        ]


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    note: str = ""
    key: str = ""


def range_label(rng: TimeRange) -> str:
    if rng.key == "custom":
        first, last = rng.days
        return f"{first:%Y-%m-%d} to {last - timedelta(days=1):%Y-%m-%d}"
    return dict(RANGE_CHOICES)[rng.key].lower()


def signed_percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:+,.1f}%"


def summary_cards(rows: list[Row], t: Totals, rng: TimeRange, today: date) -> list[Card]:
    """The totals over the rows shown, formatted; unknown stays "—" rather than 0."""
    costed = [r for r in rows if r.figures.mtd_cost is not None]
    with_forecast = sum(1 for r in rows if r.figures.forecast is not None)
    measured_rows = [r for r in rows if r.measured]
    costed_range = any(r.figures.cost is not None for r in rows)
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%B")
    return [
        Card("Month-to-date spend", money(t.mtd_cost, t.currency) if costed else UNKNOWN,
             f"{today:%B} 1–{today.day}, {len(costed)} of {len(rows)} endpoints with costs", "mtd"),
        Card("Forecast for the month", money(t.forecast, t.currency) if with_forecast else UNKNOWN,
             f"{with_forecast} of {len(rows)} endpoints have a forecast", "forecast"),
        Card("vs last month", signed_percent(t.change_vs_last_month),
             f"{last_month}'s same days: {money(t.last_month_same_days, t.currency)}"
             if t.last_month_same_days else f"no spend stored for {last_month}'s same days", "change"),
        Card(f"Spend, {range_label(rng)}", money(t.cost, t.currency) if costed_range else UNKNOWN,
             "whole days touched by the range", "cost"),
        Card("Invocations", number(t.invocations) if measured_rows else UNKNOWN,
             f"{len(measured_rows)} of {len(rows)} endpoints with metrics", "invocations"),
        Card("Error rate", percent(t.error_rate, 2) if measured_rows else UNKNOWN, "4XX + 5XX per invocation",
             "error_rate"),
    ]  # fmt: skip


def page_range(request, now: datetime) -> tuple[TimeRange | None, str]:
    try:
        return parse_range(request.GET, now), ""
    except RangeError as e:
        return None, str(e)


def table_context(request, table: Table, rows: list[Row], *, page_size: int | None = None) -> dict:
    """Sorted rows as cells, and header links that sort by each column (again: the other way). With
    `page_size`, only the `page` parameter's slice of the sorted rows is turned into cells."""
    column, descending = table.parse_sort(request.GET.get("sort"))
    rows = table.sort(rows, column, descending)
    shown, pager = rows, None
    if page_size and len(rows) > page_size:
        page = Paginator(rows, page_size).get_page(request.GET.get("page"))  # a bad number: nearest page
        shown = page.object_list
        pager = {
            "number": page.number,
            "pages": page.paginator.num_pages,
            "first": page.start_index(),
            "last": page.end_index(),
            "prev_url": query_string(request, page=page.previous_page_number(), format=None)
            if page.has_previous() else None,
            "next_url": query_string(request, page=page.next_page_number(), format=None)
            if page.has_next() else None,
        }  # fmt: skip
    headers = []
    for c in table.html_columns:
        url, state = None, ""
        if c.sort is not None:
            if c is column:
                state = "desc" if descending else "asc"
                target = c.key if descending else f"-{c.key}"
            else:
                target = f"-{c.key}" if c.starts_descending else c.key
            url = query_string(request, sort=target, format=None, page=None)
        headers.append({"column": c, "url": url, "state": state})
    return {
        "headers": headers,
        "rows": [{"row": r, "cells": table.cells(r)} for r in shown],
        "sorted_rows": rows,
        "total": len(rows),
        "pager": pager,
        "csv_url": query_string(request, format="csv"),
    }


def query_string(request, **changes) -> str:
    params = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + params.urlencode()


def csv_response(table: Table, rows: list[Row], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    table.write_csv(rows, response)
    return response


def bad_request(request, template: str, context: dict, errors: list[str]) -> HttpResponse:
    if request.GET.get("format") == "csv":
        return HttpResponse("\n".join(errors), status=400, content_type="text/plain; charset=utf-8")
    return render(request, template, {**context, "errors": errors}, status=400)


def empty_hint(filters: dict, teams: list, finops_admin: bool) -> str:
    if any(filters[k] for k in ("team", "account", "region", "kind", "flag")):
        return "No endpoint matches these filters."
    if not teams and not finops_admin:
        return "You see the endpoints of the teams you belong to; ask an admin to add you to a team."
    return ""


def fleet(request):
    now = clock()
    today = now.date()
    user = request.user
    finops_admin = is_finops_admin(user)
    teams = list(visible_teams(user))
    scope = visible_endpoints(user)
    # order_by(): the model's ordering by name would otherwise join the DISTINCT (a row per endpoint)
    scopes = list(scope.values_list("account__account_id", "account__label", "region").order_by().distinct())
    form = FleetFilters(request.GET, teams=teams, scopes=scopes, finops_admin=finops_admin)
    rng, range_error = page_range(request, now)
    context = {"form": form, "nav_teams": teams, "finops_admin": finops_admin, "table": None}
    errors = [range_error] if range_error else []
    if not form.is_valid():
        errors += [f"{form.fields[name].label or name}: {' '.join(e)}" for name, e in form.errors.items()]
    if errors:
        return bad_request(request, "fleet/list.html", context, errors)

    filters = form.cleaned_data
    endpoints = scope
    if not filters["deleted"]:
        endpoints = endpoints.filter(deleted_at=None)
    if filters["team"] == NO_TEAM:
        endpoints = endpoints.filter(team=None)
    elif filters["team"]:
        endpoints = endpoints.filter(team__slug=filters["team"])
    if filters["account"]:
        endpoints = endpoints.filter(account__account_id=filters["account"])
    if filters["region"]:
        endpoints = endpoints.filter(region=filters["region"])
    rows = load_rows(endpoints, rng, today=today)
    if filters["kind"]:
        rows = [r for r in rows if r.kind == filters["kind"]]
    if filters["flag"]:
        rows = [r for r in rows if r.usage and filters["flag"] in r.usage.flags]

    table = FleetTable()
    shown = table_context(request, table, rows, page_size=PAGE_SIZE)
    if request.GET.get("format") == "csv":
        return csv_response(table, shown["sorted_rows"], f"fleet-{rng.key}-{today:%Y-%m-%d}.csv")
    fleet_totals = totals({r.endpoint.pk: r.figures for r in rows}, today=today)
    context.update(
        table=shown,
        endpoints=[r.endpoint for r in shown["sorted_rows"]],
        totals=fleet_totals,
        cards=summary_cards(rows, fleet_totals, rng, today),
        range_label=range_label(rng),
        show_deleted=filters["deleted"],
        deleted_toggle_url=query_string(request, deleted=None if filters["deleted"] else "1", format=None),
        empty_hint=empty_hint(filters, teams, finops_admin),
        flags=FLAGS,
    )
    return render(request, "fleet/list.html", context)
