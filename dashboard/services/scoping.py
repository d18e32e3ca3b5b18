"""Who sees what: a user sees their teams' endpoints; a FinOps admin (permission view_all_teams) sees all."""

from __future__ import annotations

from django.core.validators import slug_re
from django.db.models import QuerySet

from dashboard.models import Endpoint, Team

ALL_TEAMS_PERMISSION = "dashboard.view_all_teams"


def is_finops_admin(user) -> bool:
    return user.is_authenticated and user.has_perm(ALL_TEAMS_PERMISSION)


def visible_teams(user) -> QuerySet[Team]:
    if is_finops_admin(user):
        return Team.objects.all()
    return Team.objects.filter(members=user) if user.is_authenticated else Team.objects.none()


def visible_team(user, slug: str) -> Team | None:
    """The team `user` may see by this slug, or None. A text that cannot be a slug (a NUL, a slash, ...)
    names no team, so it is never sent to Postgres (which refuses a NUL outright)."""
    if not slug or len(slug) > Team._meta.get_field("slug").max_length or not slug_re.fullmatch(slug):
        return None
    return visible_teams(user).filter(slug=slug).first()


def visible_endpoints(user) -> QuerySet[Endpoint]:
    if is_finops_admin(user):
        return Endpoint.objects.all()
    if not user.is_authenticated:
        return Endpoint.objects.none()
    return Endpoint.objects.filter(team__members=user)
