"""Every URL in the URL conf, walked from django.urls.get_resolver() (so a URL added tomorrow is crawled
too), and the requests that exercise each one with its kwargs filled from the estate (conftest.py).

A route is filled by its name (`OWNED`: one object, crawled for each owner; `LISTS`: no object), or for
the Django admin from the model its ModelAdmin serves.
`cases()` raises Unfilled for a route it cannot fill: the tests then fail, naming it, until someone
says how to fill it here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.urls import URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from dashboard.models import Endpoint
from tests.dashboard.security.conftest import WEEK


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the route's text for an unnamed one
    template: str  # the full route: "api/v1/endpoints/<str:pk>/series"
    kwargs: tuple[str, ...]
    callback: object

    @property
    def kind(self) -> str:
        """page, api or admin: each refuses an anonymous user in its own way."""
        if self.template.startswith("admin/"):
            return "admin"
        return "api" if self.template.startswith("api/") else "page"

    def url(self, values: dict) -> str:
        """The path with `values` put in its placeholders, checked to resolve back to this route."""
        path = re.sub(r"\(\?P<(\w+)>[^()]*\)", lambda m: str(values[m[1]]), self.template)  # re_path
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), path)  # path
        path = "/" + path.replace("^", "").replace("$", "")
        match = resolve(path)
        assert match.func == self.callback, f"{path} resolves to {match.view_name}, not {self.name}"
        return path


def _kwargs(pattern) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    return tuple(pattern.regex.groupindex)


def walk(patterns=None, prefix: str = "", namespace: str = "", kwargs: tuple[str, ...] = ()) -> list[Route]:
    routes = []
    for p in get_resolver().url_patterns if patterns is None else patterns:
        text, names = prefix + str(p.pattern), kwargs + _kwargs(p.pattern)
        if isinstance(p, URLResolver):
            ns = namespace + (f"{p.namespace}:" if p.namespace else "")
            routes += walk(p.url_patterns, text, ns, names)
        else:
            routes.append(Route(namespace + p.name if p.name else text, text, names, p.callback))
    return routes


@dataclass(frozen=True)
class Case:
    """One request to one route: whose object it points at (`owner`: "search", "vision", "finops", or
    None for a list), and whether a FinOps admin's answer must show Vision's or the FinOps objects."""

    route: Route
    path: str
    method: str = "GET"
    query: dict = field(default_factory=dict)
    owner: str | None = None
    shows_others: bool = False
    data: dict = field(default_factory=dict)  # a POST's form

    @property
    def label(self) -> str:
        query = f"?{urlencode(self.query)}" if self.query else ""
        return f"{self.method} {self.path}{query} ({self.route.name})"


class Unfilled(LookupError):
    pass


POST_ONLY = {
    "recommendation-status",
    "alert-rule-delete",
    "alert-channel-delete",
    "alert-channel-test",
    "logout",
}
POST_DATA = {"recommendation-status": {"action": "dismiss"}}
# The allow-list of routes that point at no object and are open to anyone, on purpose: logging in and
# out, the load balancer's health check, the API's own description, the API's JSON 404 for unknown
# paths, the admin's login and logout. Static files are served by whitenoise's middleware, outside the
# URL conf.
PUBLIC = {"login", "logout", "healthz", "api:openapi", "api/v1/^(?P<path>.*)$", "admin:login", "admin:logout"}


def _pk(attr: str):
    return lambda o: None if getattr(o, attr) is None else {"pk": getattr(o, attr).pk}


def _slug(o):
    return None if o.team is None else {"slug": o.team.slug}


def _week(o):
    return {"week": WEEK}


# Routes to one object: name -> (its kwargs from an owner's objects, or None if the owner has no such
# object; the queries crawled, "{slug}" being the owner's team, empty for the FinOps owner, which for a
# weekly review asks for the whole fleet's). Each is crawled once per owner: "search" (the member's
# own), "vision" (another team's), "finops" (the admins' alone).
OWNED = {
    "team": (_slug, [{}, {"format": "csv"}, {"range": "30d"}]),
    "endpoint": (_pk("endpoint"), [{}]),
    "recommendation-status": (_pk("recommendation"), [{}]),
    "report-download": (_week, [{"team": "{slug}", "format": "csv"}]),
    "alert-detail": (_pk("alert"), [{}]),
    "alert-rule-edit": (_pk("rule"), [{}]),
    "alert-rule-delete": (_pk("rule"), [{}]),
    "alert-channel-edit": (_pk("channel"), [{}]),
    "alert-channel-delete": (_pk("channel"), [{}]),
    "alert-channel-test": (_pk("channel"), [{}]),
    "api:endpoint": (_pk("endpoint"), [{}]),
    "api:endpoint-series": (_pk("endpoint"), [{"metric": "ModelLatency", "stat": "p99"}]),
    "api:endpoint-costs": (_pk("endpoint"), [{}]),
    "api:team": (_slug, [{}]),
    "api:recommendation": (_pk("recommendation"), [{}]),
    "api:alert": (_pk("alert"), [{}]),
    "api:report": (_week, [{"team": "{slug}", "format": "csv"}]),
}
# Lists: the queries crawled, and whether a FinOps admin's answer includes other teams' objects.
LISTS = {
    "fleet": [({}, True), ({"format": "csv"}, True), ({"team": "vision"}, True)],
    "recommendations": [({}, True), ({"format": "csv"}, True), ({"team": "vision"}, True)],
    "reports": [({}, False), ({"week": WEEK, "team": "vision"}, True)],
    "alerts": [({}, True), ({"format": "csv"}, True), ({"team": "vision"}, True)],
    "alert-rules": [({}, True)],
    "alert-rule-new": [({}, True)],
    "alert-channels": [({}, True)],
    "alert-channel-new": [({}, False)],
    "api:endpoints": [({}, True), ({"team": "vision"}, True)],
    "api:forecasts": [({}, False)],
    "api:teams": [({}, True)],
    "api:freshness": [({}, False)],
    "api:recommendations": [({}, True), ({"team": "vision"}, True)],
    "api:quotas": [({}, False)],
    "api:alerts": [({}, True), ({"team": "vision"}, True)],
    "api:budget-rules": [({}, True)],
    "api:openapi": [({}, False)],
    "login": [({}, False)],
    "logout": [({}, False)],
    "healthz": [({}, False)],
    "api/v1/^(?P<path>.*)$": [({"path": "no/such/route"}, False)],
}


def _admin_values(route: Route, estate) -> dict:
    """The admin's kwargs: a real row of the model its ModelAdmin serves (the user for the password
    form), an app, a content type; any other kwarg is left unfilled."""
    values = {}
    model_admin = getattr(route.callback, "model_admin", None)
    for name in route.kwargs:
        if name == "object_id" and model_admin is not None:
            row = model_admin.model._default_manager.order_by("pk").first()
            if row is None:
                raise Unfilled(f"{route.name}: no {model_admin.model.__name__} row in the estate")
            values[name] = row.pk
        elif name == "id" and route.name == "admin:auth_user_password_change":
            values[name] = estate["superuser"].pk
        elif name == "app_label":
            values[name] = "dashboard"
        elif name == "content_type_id":
            values[name] = ContentType.objects.get_for_model(Endpoint).pk
        elif name == "object_id" and route.name == "admin:view_on_site":
            values[name] = estate["vision"].endpoint.pk
        elif name == "url":
            values[name] = "no-such-page/"
        else:
            raise Unfilled(f"{route.name}: no value for <{name}>")
    return values


def cases(route: Route, estate, owners=("search", "vision", "finops")) -> list[Case]:
    """The requests that crawl `route`; raises Unfilled if it has no entry here."""
    method = "POST" if route.name in POST_ONLY else "GET"
    if route.kind == "admin":
        return [Case(route, route.url(_admin_values(route, estate)), method=method)]
    if route.name in OWNED:
        fill, queries = OWNED[route.name]
        found = []
        for owner in owners:
            objects = estate[owner]
            values = fill(objects)
            if values is None:
                continue
            slug = objects.team.slug if objects.team else ""
            for query in queries:
                q = {k: v.format(slug=slug) for k, v in query.items()}
                q = {k: v for k, v in q.items() if v}
                data = POST_DATA.get(route.name, {})
                found.append(Case(route, route.url(values), method, q, owner, data=data))
        return found
    if route.name in LISTS:
        found = []
        for query, shows in LISTS[route.name]:
            values = {k: query[k] for k in route.kwargs}
            rest = {k: v for k, v in query.items() if k not in route.kwargs}
            found.append(Case(route, route.url(values), method, rest, None, shows))
        return found
    raise Unfilled(f"{route.name} ({route.template}): not in crawl.OWNED or crawl.LISTS")
