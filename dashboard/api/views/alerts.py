"""/api/v1/alerts (newest first, paged), one alert with its notifications and delivery attempts, and
/api/v1/budget-rules; scoped as the alert pages scope them (dashboard/services/alerts.py). A notification
to a channel the caller may not see (a FinOps channel, for a team member) shows its kind, event and
status only."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import JsonResponse

from dashboard.api import http
from dashboard.api.http import BadRequest, NotFound, api_view
from dashboard.api.serialize import day, money, ts
from dashboard.models import Alert, BudgetRule, DeliveryAttempt, Notification
from dashboard.services.alerts import visible_alerts, visible_channels, visible_rules, with_delivery
from dashboard.services.scoping import is_finops_admin

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def team_ref(team) -> dict | None:
    return {"slug": team.slug, "name": team.name} if team else None


def channel_ref(channel, readable: bool) -> dict | None:
    return {"id": channel.pk, "name": channel.name, "kind": channel.kind} if readable else None


def attempt_json(d: DeliveryAttempt) -> dict:
    return {
        "started_at": ts(d.started_at),
        "finished_at": ts(d.finished_at),
        "ok": d.ok,
        "permanent": d.permanent,
        "status_code": d.status_code,
        "error": d.error or None,
    }


def notification_json(n: Notification, readable: bool, *, full: bool) -> dict:
    out = {
        "id": n.pk,
        "channel": channel_ref(n.channel, readable),
        "kind": n.channel.kind,
        "event": n.event,
        "status": n.status,
    }
    if full:
        out.update(
            attempts=n.attempts,
            created_at=ts(n.created_at),
            next_attempt_at=ts(n.next_attempt_at) if n.status == Notification.Status.PENDING else None,
            sent_at=ts(n.sent_at),
            last_error=(n.last_error or None) if readable else None,
            deliveries=[attempt_json(d) for d in n.deliveries.all()] if readable else [],
        )
    return out


def alert_json(a: Alert, seen: set[int] | None, *, full: bool = False) -> dict:
    """`team`, `endpoint`, `account` loaded with it and `notifications` prefetched with their channel
    (and their `deliveries` when `full`); `seen`: readable channel ids, None for all."""
    return {
        "id": a.pk,
        "rule": {"id": a.rule_id, "name": a.rule_name},
        "scope": a.scope,
        "scope_label": a.scope_label,
        "team": team_ref(a.team),
        "endpoint": {"id": a.endpoint_id, "name": a.endpoint.name} if a.endpoint_id else None,
        "account_id": a.account.account_id if a.account_id else None,
        "threshold": money(a.threshold),
        "period": {"start": day(a.period_start), "end": day(a.period_end)},
        "state": a.state,
        "raised_at": ts(a.raised_at),
        "recovered_at": ts(a.recovered_at),
        "evaluated_at": ts(a.evaluated_at),
        "currency": a.currency,
        "ratio": money(a.ratio),
        "peak_ratio": money(a.peak_ratio),
        "figures": a.figures or {},
        "notifications": [
            notification_json(n, seen is None or n.channel_id in seen, full=full)
            for n in a.notifications.all()
        ],
    }


def readable_channels(user) -> set[int] | None:
    return None if is_finops_admin(user) else set(visible_channels(user).values_list("pk", flat=True))


@api_view
def alert_list(request):
    alerts = http.team_filter(request, visible_alerts(request.user))
    if state := http.choice(request, "state", Alert.State.values):
        alerts = alerts.filter(state=state)
    if scope := http.choice(request, "scope", BudgetRule.Scope.values):
        alerts = alerts.filter(scope=scope)
    limit = max(http.integer(request, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT), 1)
    offset = http.integer(request, "offset", 0, maximum=10**9)
    # One more than asked: whether there is a next page, without counting them all.
    page = list(with_delivery(alerts).order_by("-raised_at", "-pk")[offset : offset + limit + 1])
    seen = readable_channels(request.user)
    return JsonResponse(
        {
            "alerts": [alert_json(a, seen) for a in page[:limit]],
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(page) > limit else None,
        }
    )


@api_view
def alert_detail(request, pk):
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        raise BadRequest(f"alert id must be a positive integer, not {pk!r}")
    notifications = Notification.objects.select_related("channel").prefetch_related("deliveries")
    alert = (
        visible_alerts(request.user)
        .select_related("team", "endpoint", "account")
        .prefetch_related(Prefetch("notifications", queryset=notifications.order_by("created_at", "pk")))
        .filter(pk=int(pk))
        .first()
    )
    if alert is None:
        raise NotFound(f"no alert {pk}")
    return JsonResponse({"alert": alert_json(alert, readable_channels(request.user), full=True)})


def rule_json(r: BudgetRule, seen: set[int] | None) -> dict:
    return {
        "id": r.pk,
        "name": r.name,
        "scope": r.scope,
        "target_label": r.target_label,
        "account_id": r.account.account_id if r.account_id else None,
        "team": team_ref(r.team),
        "endpoint": {"id": r.endpoint_id, "name": r.endpoint.name} if r.endpoint_id else None,
        "basis": r.basis,
        "amount": money(r.amount),
        "currency": r.currency,
        "thresholds": [money(t) for t in r.thresholds],
        "period": r.period,
        "channels": [channel_ref(c, True) for c in r.channels.all() if seen is None or c.pk in seen],
        "enabled": r.enabled,
        "created_at": ts(r.created_at),
    }


@api_view
def budget_rule_list(request):
    rules = http.team_filter(request, visible_rules(request.user))
    rules = rules.select_related("account", "team", "endpoint__account").prefetch_related("channels")
    seen = readable_channels(request.user)
    return JsonResponse({"budget_rules": [rule_json(r, seen) for r in rules.order_by("name", "pk")]})
