"""The API's request plumbing: authentication (session or bearer token), GET only, and errors as JSON.

Every API view is wrapped by `api_view`, so none of them can forget a check: the site-wide login
middleware is bypassed (it would redirect to the login page) and replaced by a 401 in JSON."""

from __future__ import annotations

import functools
import re
from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from dashboard.models import ApiToken
from dashboard.services.figures import RangeError, TimeRange, parse_range
from dashboard.services.scoping import visible_team

# A token's last use is written at most this often, so reading the API is not a write per request.
LAST_USED_EVERY = timedelta(minutes=1)
BEARER = re.compile(r"^Bearer\s+(\S+)\s*$", re.IGNORECASE)


def now():
    """The clock the API reads (tests replace it; figures are computed for "today" from it)."""
    return timezone.now()


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.extra = extra


class BadRequest(ApiError):
    status = 400


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


def error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _unauthorized(message: str) -> JsonResponse:
    response = error(401, message)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def authenticate(request):
    """The user the request acts as, or a 401 response. A bearer token wins over the session: a client
    that sends a token means it, and a bad one is refused, not ignored."""
    header = request.headers.get("Authorization")
    if header is not None:
        match = BEARER.match(header)
        token = ApiToken.find(match.group(1)) if match else None
        if token is None:
            return _unauthorized("invalid, unknown or revoked API token")
        used = now()
        if token.last_used_at is None or used - token.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=used)
        return token.user
    if request.user.is_authenticated:
        return request.user
    return _unauthorized("authentication required: a session or an 'Authorization: Bearer <token>' header")


def method_not_allowed(request) -> JsonResponse:
    response = error(405, f"method {request.method} not allowed: this API is read-only (GET)")
    response["Allow"] = "GET"
    return response


def api_view(view=None, *, public: bool = False):
    """GET only (405 otherwise), authenticated (401 otherwise, unless `public`), ApiError -> JSON."""

    def wrap(func):
        @functools.wraps(func)
        def wrapper(request, *args, **kwargs):
            if request.method != "GET":
                return method_not_allowed(request)
            if not public:
                user = authenticate(request)
                if isinstance(user, JsonResponse):
                    return user
                request.user = user
            try:
                return func(request, *args, **kwargs)
            except ApiError as exc:
                return error(exc.status, str(exc), **exc.extra)

        # GET only, so nothing can change state: CSRF does not apply, and a POST must get the 405 above
        # rather than the CSRF middleware's HTML 403.
        return login_not_required(csrf_exempt(wrapper))

    return wrap(view) if view is not None else wrap


@login_not_required
@csrf_exempt
def not_found(request, path=""):
    """Anything under /api/v1/ that is not a route: JSON, never the HTML 404 or a login redirect."""
    return error(404, f"no API route /api/v1/{path}: see /api/v1/openapi.json")


# --- query parameters ------------------------------------------------------------------------------
def time_range(request) -> TimeRange:
    try:
        return parse_range(request.GET, now())
    except RangeError as exc:
        raise BadRequest(str(exc)) from None


def parse_pk(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BadRequest(f"endpoint id must be a positive integer, not {value!r}")
    return int(value)


def integer(request, name: str, default: int, *, maximum: int, minimum: int = 0) -> int:
    """A whole-number parameter within [minimum, maximum]; absent: `default`; anything else: 400."""
    value = request.GET.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or not minimum <= int(value) <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}, not {value[:40]!r}")
    return int(value)


def team_filter(request, queryset):
    """`queryset` narrowed to the `team` parameter's team; a team the user cannot see (or a text that
    cannot be a team's slug) is as unknown as one that does not exist: 400."""
    slug = request.GET.get("team", "").strip()
    if not slug:
        return queryset
    team = visible_team(request.user, slug)
    if team is None:
        raise BadRequest(f"unknown team {slug!r}: see /api/v1/teams for the teams you can see")
    return queryset.filter(team=team)


def choice(request, name: str, allowed, default: str = "") -> str:
    value = request.GET.get(name, default).strip()
    if value and value not in allowed:
        raise BadRequest(f"unknown {name} {value!r}: use one of {', '.join(allowed)}", allowed=list(allowed))
    return value
