"""The budget-alert pages: the alert history (filters, CSV of the same table), one alert with its
figures, contributors and every delivery attempt, and the budget rules and notification channels a user
may manage (list, create, edit, delete, and a test message per channel). Scoping is
dashboard/services/alerts.py: an object the user may not see is a 404, the same as one that does not
exist."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.forms.alerts import BudgetRuleForm, ChannelForm, percent_text
from dashboard.models import Alert, BudgetRule, Notification
from dashboard.services.alerts import (
    delivery_filter,
    visible_alerts,
    visible_channels,
    visible_rules,
    with_delivery,
)
from dashboard.services.scoping import is_finops_admin, visible_teams
from dashboard.tables import money
from dashboard.tables.alerts import CAUSES, AlertRow, AlertTable, decimal_or_none, pct, period_label
from dashboard.views import fleet as fleet_page

NO_TEAM = "none"
SHOWN = 500  # rows on the page; the CSV has every alert the filters select
RECENT_NOTIFICATIONS = 20
Status = Notification.Status


class AlertFilters(forms.Form):
    team = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *Alert.State.choices])
    delivery = forms.ChoiceField(
        required=False,
        choices=[("", "Any delivery"), (Status.FAILED, "A message failed"),
                 (Status.PENDING, "A message not sent yet"), (Status.SENT, "Every message sent")],
    )  # fmt: skip
    scope = forms.ChoiceField(required=False, choices=[("", "Any scope"), *BudgetRule.Scope.choices])
    period = forms.ChoiceField(required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, teams, periods, finops_admin):
        super().__init__(data)
        no_team = [(NO_TEAM, "No team (accounts, fleet)")] if finops_admin else []
        self.fields["team"].choices = [("", "Any team"), *((t.slug, t.name) for t in teams), *no_team]
        self.fields["period"].choices = [("", "Any period")] + [
            (f"{start:%Y-%m-%d}/{end:%Y-%m-%d}", period_label(start, end)) for start, end in periods
        ]


def apply_filters(alerts, f: dict):
    if f["team"] == NO_TEAM:
        alerts = alerts.filter(team=None)
    elif f["team"]:
        alerts = alerts.filter(team__slug=f["team"])
    if f["state"]:
        alerts = alerts.filter(state=f["state"])
    if f["scope"]:
        alerts = alerts.filter(scope=f["scope"])
    if f["period"]:
        start, end = f["period"].split("/")
        alerts = alerts.filter(period_start=start, period_end=end)
    return delivery_filter(alerts, f["delivery"])


def channel_ids(user) -> set[int] | None:
    """The channels whose names and errors the user may read; None: every one (a FinOps admin)."""
    return None if is_finops_admin(user) else set(visible_channels(user).values_list("pk", flat=True))


def alerts(request):
    user = request.user
    finops_admin = is_finops_admin(user)
    teams = list(visible_teams(user))
    scope = visible_alerts(user)
    periods = list(
        scope.order_by("-period_start", "period_end").values_list("period_start", "period_end").distinct()
    )
    form = AlertFilters(request.GET, teams=teams, periods=periods, finops_admin=finops_admin)
    context = {"form": form, "nav_teams": teams, "finops_admin": finops_admin, "table": None}
    if not form.is_valid():
        errors = [f"{form.fields[name].label or name}: {' '.join(e)}" for name, e in form.errors.items()]
        return fleet_page.bad_request(request, "alerts/list.html", context, errors)

    f = form.cleaned_data
    selected = with_delivery(apply_filters(scope, f)).order_by("-raised_at", "-pk")
    csv = request.GET.get("format") == "csv"
    total = None if csv else selected.count()
    seen = channel_ids(user)
    rows = [AlertRow(a, seen) for a in (selected if csv else selected[:SHOWN])]
    table = AlertTable()
    shown = fleet_page.table_context(request, table, rows)
    if csv:
        today = fleet_page.clock().date()
        return fleet_page.csv_response(table, shown["sorted_rows"], f"alerts-{today:%Y-%m-%d}.csv")
    context.update(
        table=shown, total=total, truncated=total > len(rows), shown_limit=SHOWN,
        filtered=any(f[k] for k in ("team", "state", "delivery", "scope", "period")),
    )  # fmt: skip
    return render(request, "alerts/list.html", context)


def crossed_text(crossed) -> str:
    """ "actual", "projected", or both (a list, or the evaluator's "both")."""
    if isinstance(crossed, list | tuple):
        return " and ".join(str(c) for c in crossed)
    return "actual and projected" if crossed == "both" else str(crossed or "")


def figure_items(alert: Alert) -> list[tuple[str, str, str]]:
    """The stored figures as (key, label, text), in reading order; missing ones are left out."""
    f, currency = alert.figures or {}, alert.currency
    amount = lambda key: money(decimal_or_none(f.get(key)), currency)  # noqa: E731
    ratio = lambda key: pct(decimal_or_none(f.get(key)))  # noqa: E731
    items = [
        ("actual", "Spend to date", amount("actual")),
        ("expected", "Expected to date", amount("expected")),
        ("ratio", "Ratio to date", ratio("ratio")),
        ("projected", "Projected for the period", amount("projected")),
        ("period_forecast", "Expected for the period", amount("period_forecast")),
        ("projected_ratio", "Projected ratio", ratio("projected_ratio")),
        ("crossed", "Crossed by", crossed_text(f.get("crossed"))),
        ("basis_label", "Compared with", f.get("basis_label") or ""),
        ("counted_from", "Counted from", f.get("counted_from") or ""),
        ("as_of", "Figures as of", _utc_minute(f.get("as_of"))),
        ("metrics_through", "Usage counted up to", _utc_minute(f.get("metrics_through"))),
    ]  # fmt: skip
    return [(key, label, text) for key, label, text in items if key in f]


def _utc_minute(stamp: str | None) -> str:
    """An ISO timestamp from the figures as "2026-11-22 19:10 UTC" (they are stored in UTC)."""
    if not stamp:
        return ""
    try:
        return f"{datetime.fromisoformat(stamp):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return stamp


def contributors(alert: Alert) -> list[dict]:
    currency = alert.currency
    out = []
    for c in (alert.figures or {}).get("contributors") or []:
        out.append(
            {
                "endpoint_id": c.get("endpoint_id"), "name": c.get("name") or "", "account": c.get("account"),
                "region": c.get("region"), "actual": money(decimal_or_none(c.get("actual")), currency),
                "expected": money(decimal_or_none(c.get("expected")), currency),
                "overshoot": money(decimal_or_none(c.get("overshoot")), currency),
                "cause": c.get("cause") or "",
                "cause_label": CAUSES.get(c.get("cause"), c.get("cause") or ""),
                "cause_detail": c.get("cause_detail") or "",
            }
        )  # fmt: skip
    return out


def estimated_part(alert: Alert) -> dict | None:
    f = alert.figures or {}
    estimated, actual = decimal_or_none(f.get("estimated")), decimal_or_none(f.get("actual"))
    if not estimated:
        return None
    share = f"{estimated / actual * 100:.0f}%" if actual else None
    return {"amount": money(estimated, alert.currency), "share": share, "since": f.get("estimated_from")}


def alert_detail(request, pk):
    alert = get_object_or_404(visible_alerts(request.user).select_related("team", "rule"), pk=pk)
    seen = channel_ids(request.user)
    rules = visible_rules(request.user)
    notifications = (
        alert.notifications.select_related("channel")
        .prefetch_related("deliveries")
        .order_by("created_at", "pk")
    )
    row = AlertRow(alert)
    context = {
        "alert": alert,
        "actual": money(row.actual, alert.currency),
        "expected": money(row.expected, alert.currency),
        "threshold": percent_text(alert.threshold),
        "ratio": pct(alert.ratio),
        "peak_ratio": pct(alert.peak_ratio),
        "period": period_label(alert.period_start, alert.period_end),
        "figures": figure_items(alert),
        "estimated": estimated_part(alert),
        "contributors": contributors(alert),
        "notifications": [(n, seen is None or n.channel_id in seen) for n in notifications],
        "rule_visible": alert.rule_id is not None and rules.filter(pk=alert.rule_id).exists(),
    }
    return render(request, "alerts/detail.html", context)


# --- rules and channels --------------------------------------------------------------------------------
def rules(request):
    listed = (
        visible_rules(request.user)
        .select_related("account", "team", "endpoint__account")
        .prefetch_related("channels")
        .annotate(firing=Count("alerts", filter=Q(alerts__state=Alert.State.FIRING)))
    )
    seen = channel_ids(request.user)
    rows = [
        {"rule": r, "thresholds": ", ".join(f"{percent_text(t)}%" for t in r.thresholds),
         "channels": [c for c in r.channels.all() if seen is None or c.pk in seen]}
        for r in listed
    ]  # fmt: skip
    return render(request, "alerts/rules.html", {"rows": rows, "finops_admin": is_finops_admin(request.user)})


def _edit(request, form_class, instance, template: str, back: str, noun: str, **extra):
    """Create (`instance` None) or edit through `form_class`; back to the list once saved."""
    data = request.POST if request.method == "POST" else None
    form = form_class(data, instance=instance, user=request.user)
    if data is not None and form.is_valid():
        saved = form.save()
        messages.success(request, f"{'Saved' if instance else 'Created'} {noun} “{saved.name}”.")
        return redirect(back)
    status = 400 if data is not None else 200
    return render(request, template, {"form": form, "object": instance, **extra}, status=status)


@require_http_methods(["GET", "POST"])
def rule_new(request):
    return _edit(request, BudgetRuleForm, None, "alerts/rule_form.html", reverse("alert-rules"), "rule")


@require_http_methods(["GET", "POST"])
def rule_edit(request, pk):
    rule = get_object_or_404(visible_rules(request.user), pk=pk)
    return _edit(request, BudgetRuleForm, rule, "alerts/rule_form.html", reverse("alert-rules"), "rule")


@require_POST
def rule_delete(request, pk):
    rule = get_object_or_404(visible_rules(request.user), pk=pk)
    rule.delete()  # its alerts stay, with the rule's name
    messages.success(request, f"Deleted rule “{rule.name}”.")
    return redirect("alert-rules")


def channels(request):
    listed = visible_channels(request.user).select_related("team").annotate(rule_count=Count("rules"))
    return render(
        request, "alerts/channels.html",
        {"channels": list(listed), "finops_admin": is_finops_admin(request.user)},
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
def channel_new(request):
    return _edit(request, ChannelForm, None, "alerts/channel_form.html", reverse("alert-channels"), "channel")


@require_http_methods(["GET", "POST"])
def channel_edit(request, pk):
    channel = get_object_or_404(visible_channels(request.user), pk=pk)
    recent = channel.notifications.select_related("alert", "requested_by").prefetch_related("deliveries")
    # A FinOps rule may name a team's channel: its account or fleet alerts are listed, not named.
    seen = set(
        visible_alerts(request.user).filter(notifications__channel=channel).values_list("pk", flat=True)
    )
    return _edit(
        request, ChannelForm, channel, "alerts/channel_form.html", reverse("alert-channels"), "channel",
        notifications=[(n, n.alert_id in seen) for n in recent[:RECENT_NOTIFICATIONS]],
    )  # fmt: skip


@require_POST
def channel_delete(request, pk):
    channel = get_object_or_404(visible_channels(request.user), pk=pk)
    channel.delete()
    messages.success(request, f"Deleted channel “{channel.name}”.")
    return redirect("alert-channels")


@require_POST
def channel_test(request, pk):
    """Send a test message now (one attempt inline; a failure that may pass is retried by delivery)."""
    channel = get_object_or_404(visible_channels(request.user), pk=pk)
    # Imported here: delivery pulls in the transports (SMTP, HTTP), which no other page needs.
    from dashboard.alerts.delivery import send_test

    sent = send_test(channel, user=request.user)
    if sent.status == Status.SENT:
        messages.success(request, f"Test message sent to “{channel.name}”.")
    elif sent.status == Status.FAILED:
        messages.error(request, f"Test message to “{channel.name}” failed: {sent.last_error}")
    else:
        why = f": {sent.last_error}" if sent.last_error else ""
        messages.warning(request, f"Test message to “{channel.name}” not sent yet{why}; it will be retried.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("alert-channels")
    return redirect(target)
