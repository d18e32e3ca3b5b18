"""A crawl of every URL in the URL conf (crawl.py walks the resolver, so a new URL cannot escape it):
an anonymous user is sent to log in (pages and the admin: the login page; the API: a 401), a
member of one team is refused every object of another team or of the FinOps admins (403 or 404, and
nothing of theirs in any list, export or form), a FinOps admin sees them all, and the Django admin is
for staff only."""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager

import pytest
from django.db import transaction
from django.test import Client

from dashboard.models import Notification
from tests.dashboard.security import crawl
from tests.dashboard.security.conftest import FINOPS_MARK, VISION_MARK

pytestmark = pytest.mark.django_db


@pytest.fixture
def routes():
    return crawl.walk()


@pytest.fixture
def every_case(routes, estate):
    return [case for route in routes for case in crawl.cases(route, estate)]


@contextmanager
def rolled_back():
    """Run a request that changes data (a delete, a status change) and undo it, so every case of the
    crawl meets the same estate."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def send(client: Client, case: crawl.Case):
    if case.method == "POST":
        return client.post(case.path, case.data)
    return client.get(case.path, case.query)


def text(response) -> str:
    """The response as text, zipped exports (XLSX, CSV zips) unpacked: what a person could read."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    return body.decode("utf-8", "replace")


def redirects_to(response, login: str) -> bool:
    return response.status_code == 302 and response["Location"].startswith(f"{login}?next=")


def test_every_url_in_the_urlconf_is_filled_by_the_crawl(routes, estate):
    unfilled, missing_other_team = [], []
    for route in routes:
        try:
            found = crawl.cases(route, estate)
        except crawl.Unfilled as e:
            unfilled.append(str(e))
            continue
        if route.name in crawl.OWNED and "vision" not in {c.owner for c in found}:
            missing_other_team.append(route.name)
    assert unfilled == [], "the crawl cannot fill these URLs: add them to crawl.OWNED or crawl.LISTS"
    assert missing_other_team == []
    names = {r.name for r in routes}
    assert {"fleet", "endpoint", "api:endpoint", "alert-channel-test", "admin:index", "login"} <= names
    assert len(routes) > 150  # the admin's routes are walked too


def test_anonymous_user_is_sent_to_log_in_on_every_url(client, every_case):
    wrong = []
    for case in every_case:
        response = send(client, case)
        if case.route.name in crawl.PUBLIC:
            ok = response.status_code < 500
        elif case.route.kind == "api":
            ok = response.status_code == 401 and response["Content-Type"] == "application/json"
        elif case.route.kind == "admin":  # the site-wide login middleware, or the admin's own views
            ok = redirects_to(response, "/login/") or redirects_to(response, "/admin/login/")
        else:
            ok = redirects_to(response, "/login/")
        if not ok:
            wrong.append(f"{case.label}: {response.status_code} {response.get('Location', '')}")
    assert not wrong, "\n".join(wrong)


def test_member_is_refused_other_teams_objects_and_sees_none_of_them(client, every_case, member_search):
    client.force_login(member_search)
    wrong = []
    for case in every_case:
        if case.route.name in {"logout", "admin:logout"}:
            continue  # would end the session the rest of the crawl runs in (anonymous: above)
        with rolled_back():
            response = send(client, case)
            body = text(response)
        status = response.status_code
        if case.route.kind == "admin":
            ok = redirects_to(response, "/admin/login/") or case.route.name == "admin:login"
        elif case.owner in ("vision", "finops"):
            ok = status in (403, 404)
        elif case.owner == "search":
            ok = status < 400  # their own: the refusals above are about ownership, not the route
        elif case.route.name in crawl.PUBLIC:
            ok = status < 500
        else:  # a list; filtered by another team's slug it is refused as an unknown choice
            ok = status == 200 or (status == 400 and case.query.get("team") == "vision")
        leaked = [mark for mark in (VISION_MARK, FINOPS_MARK) if mark in body]
        if not ok or leaked:
            wrong.append(f"{case.label}: {status}{' shows ' + ', '.join(leaked) if leaked else ''}")
    assert not wrong, "\n".join(wrong)


def test_refused_changes_to_other_teams_objects_change_nothing(client, estate, member_search):
    """The POSTs a member might try on another team's rule, channel and recommendation."""
    vision = estate["vision"]
    client.force_login(member_search)
    for path in (
        f"/alerts/rules/{vision.rule.pk}/delete/",
        f"/alerts/channels/{vision.channel.pk}/delete/",
        f"/alerts/channels/{vision.channel.pk}/test/",
        f"/recommendations/{vision.recommendation.pk}/status/",
        f"/alerts/rules/{vision.rule.pk}/",
        f"/alerts/channels/{vision.channel.pk}/",
    ):
        response = client.post(path, {"action": "dismiss", "name": "taken over", "scope": "team"})
        assert response.status_code == 404, path
    for obj in (vision.rule, vision.channel, vision.recommendation):
        before = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        obj.refresh_from_db()
        assert before == {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    assert not Notification.objects.filter(channel=vision.channel, event="test").exists()  # nothing sent


def test_finops_admin_sees_every_teams_objects(client, every_case, finops_admin):
    client.force_login(finops_admin)
    wrong = []
    for case in every_case:
        if case.route.name in {"logout", "admin:logout"}:
            continue
        with rolled_back():
            response = send(client, case)
            body = text(response)
        status = response.status_code
        if case.route.kind == "admin":
            ok = redirects_to(response, "/admin/login/") or case.route.name == "admin:login"  # staff only
        elif case.owner is not None:
            ok = status == 200 if case.method == "GET" else status in (200, 302)
        elif case.route.name in crawl.PUBLIC:
            ok = status < 500
        else:
            ok = status == 200 and (not case.shows_others or VISION_MARK in body or FINOPS_MARK in body)
        if not ok:
            wrong.append(f"{case.label}: {status}")
    assert not wrong, "\n".join(wrong)


def test_superuser_reaches_every_admin_page(client, routes, estate):
    """The admin URLs the crawl fills lead to real pages for staff: the refusals above are not an
    artefact of a bad object id."""
    client.force_login(estate["superuser"])
    wrong = []
    for route in routes:
        if route.kind != "admin" or route.name == "admin:logout":
            continue
        (case,) = crawl.cases(route, estate)
        with rolled_back():
            response = send(client, case)
        if redirects_to(response, "/admin/login/") or response.status_code >= 500:
            wrong.append(f"{case.label}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
