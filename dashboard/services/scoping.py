"""Who sees what: a user sees their teams' endpoints; a FinOps admin (permission view_all_teams) sees all."""

from __future__ import annotations

from django.db.models import QuerySet

from dashboard.models import Endpoint, Team

ALL_TEAMS_PERMISSION = "dashboard.view_all_teams"


def is_finops_admin(user) -> bool:
    return user.is_authenticated and user.has_perm(ALL_TEAMS_PERMISSION)


def visible_teams(user) -> QuerySet[Team]:
    if is_finops_admin(user):
        return Team.objects.all()
    return Team.objects.filter(members=user) if user.is_authenticated else Team.objects.none()


def visible_endpoints(user) -> QuerySet[Endpoint]:
    if is_finops_admin(user):
        return Endpoint.objects.all()
    if not user.is_authenticated:
        return Endpoint.objects.none()
    return Endpoint.objects.filter(team__members=user)
