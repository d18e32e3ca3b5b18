"""The recommendations page: the insights engine's active recommendations the user may see, ranked by
monthly saving, with filters, the open savings, a CSV export of the same table (`?format=csv`), the
serverless quota headroom of the user's accounts and regions, and Accept / Dismiss / Reopen."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.insights.model import RULES, Thresholds
from dashboard.models import Recommendation
from dashboard.services.recommendations import (
    OpenSavings,
    open_savings,
    quota_usage,
    ranked,
    visible_recommendations,
)
from dashboard.services.scoping import is_finops_admin, visible_endpoints, visible_teams
from dashboard.tables import money
from dashboard.tables.recommendations import RecommendationTable, RecRow
from dashboard.views import fleet as fleet_page

Status = Recommendation.Status
ANY_STATUS = "all"
NO_TEAM = "none"
ACTIONS = {"accept": Status.ACCEPTED, "dismiss": Status.DISMISSED, "reopen": Status.OPEN}
DONE = {"accept": "Accepted", "dismiss": "Dismissed", "reopen": "Reopened"}


class RecommendationFilters(forms.Form):
    team = forms.ChoiceField(required=False)
    rule = forms.ChoiceField(required=False, choices=[("", "Any rule"), *RULES.items()])
    status = forms.ChoiceField(
        required=False, choices=[*((s.value, s.label) for s in Status), (ANY_STATUS, "Any status")]
    )
    account = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, teams, scopes):
        data = data.copy()
        if not data.get("status"):
            data["status"] = Status.OPEN  # what needs a decision
        super().__init__(data)
        self.fields["team"].choices = [
            ("", "Any team"),
            *((t.slug, t.name) for t in teams),
            (NO_TEAM, "No team (account-wide)"),
        ]
        accounts = sorted({(a, label) for a, label, _ in scopes})
        self.fields["account"].choices = [("", "Any account")] + [
            (a, f"{label} ({a})" if label else a) for a, label in accounts
        ]
        self.fields["region"].choices = [("", "Any region")] + [
            (r, r) for r in sorted({r for *_, r in scopes})
        ]


class StatusForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    note = forms.CharField(required=False, max_length=500, strip=True)
    next = forms.CharField(required=False)


def apply_filters(recommendations, f: dict):
    """Every filter but status: the open savings are totalled over the same selection, whatever status
    the table shows."""
    if f["team"] == NO_TEAM:
        recommendations = recommendations.filter(team=None)
    elif f["team"]:
        recommendations = recommendations.filter(team__slug=f["team"])
    if f["rule"]:
        recommendations = recommendations.filter(rule=f["rule"])
    if f["account"]:
        recommendations = recommendations.filter(account__account_id=f["account"])
    if f["region"]:
        recommendations = recommendations.filter(region=f["region"])
    return recommendations


def recommendations(request):
    today = fleet_page.clock().date()
    user = request.user
    teams = list(visible_teams(user))
    scopes = list(
        visible_endpoints(user)
        .order_by()
        .values_list("account__account_id", "account__label", "region")
        .distinct()
    )
    form = RecommendationFilters(request.GET, teams=teams, scopes=scopes)
    context = {"form": form, "nav_teams": teams, "finops_admin": is_finops_admin(user), "table": None}
    if not form.is_valid():
        errors = [f"{form.fields[name].label or name}: {' '.join(e)}" for name, e in form.errors.items()]
        return fleet_page.bad_request(request, "recommendations/list.html", context, errors)

    f = form.cleaned_data
    selected = apply_filters(visible_recommendations(user).filter(active=True), f)
    listed = selected if f["status"] == ANY_STATUS else selected.filter(status=f["status"])
    table = RecommendationTable()
    shown = fleet_page.table_context(request, table, [RecRow(r) for r in ranked(listed)])
    if request.GET.get("format") == "csv":
        return fleet_page.csv_response(table, shown["sorted_rows"], f"recommendations-{today:%Y-%m-%d}.csv")
    context.update(
        table=shown,
        totals=[totals_line(t) for t in open_savings(selected)],
        quotas=quota_usage(user, account=f["account"], region=f["region"]),
        quota_warn=Thresholds.from_settings().quota_warn_fraction,
        status_label=dict(form.fields["status"].choices)[f["status"]],
        filtered=any(f[k] for k in ("team", "rule", "account", "region")),
        next=request.get_full_path(),
    )
    return render(request, "recommendations/list.html", context)


def totals_line(t: OpenSavings) -> dict:
    """The open savings of one currency, as the page and the team panel say them."""
    return {
        "currency": t.currency, "raw": t.saving, "saving": money(t.saving, t.currency), "count": t.count,
        "costs_more": money(t.costs_more, t.currency), "costs_more_count": t.costs_more_count,
        "unknown": t.unknown,
    }  # fmt: skip


@require_POST
def change_status(request, pk):
    """Accept, dismiss or reopen one recommendation the user can see (404 otherwise, as for one that
    does not exist), recording who and when, then back to where the form was."""
    recommendation = get_object_or_404(visible_recommendations(request.user), pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "action must be accept, dismiss or reopen; a note is at most 500 characters"
        )
    action = form.cleaned_data["action"]
    recommendation.status = ACTIONS[action]
    recommendation.status_changed_at = fleet_page.clock()
    recommendation.status_changed_by = request.user
    recommendation.status_note = form.cleaned_data["note"]
    # Only these fields: the engine may be rewriting the figures of this row at the same moment.
    recommendation.save(update_fields=["status", "status_changed_at", "status_changed_by", "status_note"])
    messages.success(request, f"{DONE[action]}: {recommendation.title}")
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("recommendations")
    return redirect(target)
