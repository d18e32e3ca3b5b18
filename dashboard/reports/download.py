"""What the review's download routes share (the page's and the API's): whose review a user may have, and
the file as an HTTP response.

A member gets their teams' reviews; the fleet review is a FinOps admin's (it holds every team's spend).
A team the user does not see is "not found" whether it exists or not, so a slug reveals nothing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse

from dashboard.models import Team
from dashboard.reports import formats
from dashboard.reports.review import Review
from dashboard.services.scoping import is_finops_admin, visible_team


def review_scope(user, slug: str | None) -> Team | None:
    """The team whose review `user` asks for by slug; None (no slug) asks for the fleet's. Raises Http404
    for a team the user does not see and PermissionDenied for the fleet asked by a non-admin."""
    slug = (slug or "").strip()
    if not slug:
        if not is_finops_admin(user):
            raise PermissionDenied("the fleet review is for FinOps admins: ask for one of your teams")
        return None
    team = visible_team(user, slug)
    if team is None:
        raise Http404(f"no team {slug!r} among yours")
    return team


def download_response(review: Review, fmt: str) -> HttpResponse:
    response = HttpResponse(formats.render(review, fmt), content_type=formats.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{formats.filename(review, fmt)}"'
    # A review is made on request from the data as it stands: let no cache keep an older one.
    response["Cache-Control"] = "private, no-store"
    return response
