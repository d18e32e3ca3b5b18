"""Who sees and manages which budget alerts, rules and notification channels; shared by the pages, the
forms and the API.

A FinOps admin (see scoping.py) sees and manages everything. A member sees the alerts, rules and
channels whose `team` is one of theirs; those with no team (account and fleet alerts, "each team" or
"each account" rules, FinOps channels) are the admins' alone. Every function is one query or a lazy
queryset, whatever the number of rows."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from dashboard.models import Alert, BudgetRule, Notification, NotificationChannel
from dashboard.services.scoping import is_finops_admin, visible_teams

# A notification still to go out: waiting for its (next) attempt or being sent right now.
UNSENT = [Notification.Status.PENDING, Notification.Status.SENDING]


def visible_alerts(user) -> QuerySet[Alert]:
    if is_finops_admin(user):
        return Alert.objects.all()
    if not user.is_authenticated:
        return Alert.objects.none()
    return Alert.objects.filter(team__in=visible_teams(user))


def visible_rules(user) -> QuerySet[BudgetRule]:
    if is_finops_admin(user):
        return BudgetRule.objects.all()
    if not user.is_authenticated:
        return BudgetRule.objects.none()
    return BudgetRule.objects.filter(team__in=visible_teams(user))


def visible_channels(user) -> QuerySet[NotificationChannel]:
    if is_finops_admin(user):
        return NotificationChannel.objects.all()
    if not user.is_authenticated:
        return NotificationChannel.objects.none()
    return NotificationChannel.objects.filter(team__in=visible_teams(user))


def with_delivery(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """With what a row shows: its team, endpoint, account and every notification with its channel."""
    return alerts.select_related("team", "endpoint", "account", "rule").prefetch_related(
        Prefetch(
            "notifications",
            queryset=Notification.objects.select_related("channel").order_by("created_at", "pk"),
        )
    )


def delivery_filter(alerts: QuerySet[Alert], status: str) -> QuerySet[Alert]:
    """Alerts with any notification `failed`, any still `pending` (or being sent), or all `sent`."""
    of_alert = Notification.objects.filter(alert=OuterRef("pk"))
    if status == Notification.Status.FAILED:
        return alerts.filter(Exists(of_alert.filter(status=Notification.Status.FAILED)))
    if status == Notification.Status.PENDING:
        return alerts.filter(Exists(of_alert.filter(status__in=UNSENT)))
    if status == Notification.Status.SENT:
        unsent = of_alert.exclude(status=Notification.Status.SENT)
        return alerts.filter(Exists(of_alert)).exclude(Exists(unsent))
    return alerts


def firing_for_team(team, limit: int) -> list[Alert]:
    """The team's firing alerts, highest ratio first (one query): the team page's panel."""
    return list(
        Alert.objects.filter(team=team, state=Alert.State.FIRING).order_by("-ratio", "-raised_at")[:limit]
    )
