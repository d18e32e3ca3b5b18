"""CSRF is enforced on every view that accepts a POST. The views are found by the URL crawl, not listed:
each URL is posted to twice as a superuser (who may act on everything), once with a valid CSRF token and
once, from a client that enforces CSRF like a browser, without. A view that acts on the first must
refuse the second with Django's CSRF failure."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.dashboard.security import crawl
from tests.dashboard.security.test_url_access import rolled_back

pytestmark = pytest.mark.django_db

# Views that must be among those found accepting a POST (so the crawl cannot find none and pass).
KNOWN_FORMS = {
    "login", "logout", "recommendation-status", "alert-rule-new", "alert-rule-edit", "alert-rule-delete",
    "alert-channel-new", "alert-channel-edit", "alert-channel-delete", "alert-channel-test", "admin:login",
    "admin:logout", "admin:dashboard_team_add", "admin:dashboard_team_change", "admin:dashboard_team_delete",
    "admin:auth_user_password_change", "admin:password_change",
}  # fmt: skip


def post(client: Client, case: crawl.Case, superuser):
    client.force_login(superuser)
    with rolled_back():
        return client.post(case.path, case.data)


def one_case(route, estate) -> crawl.Case:
    """The crawl's case for another team's object (or the list itself): the superuser sees it."""
    found = crawl.cases(route, estate, owners=("vision", "finops"))
    return next((c for c in found if c.owner == "vision"), found[0])


def test_every_view_accepting_a_post_refuses_one_without_a_csrf_token(estate):
    superuser = estate["superuser"]
    accepting, unprotected = set(), []
    for route in crawl.walk():
        case = one_case(route, estate)
        with_token = post(Client(), case, superuser)
        without = post(Client(enforce_csrf_checks=True), case, superuser)
        if with_token.status_code in (404, 405):
            # Not a form: GET only (405) or nothing at that path (the API's and the admin's 404 pages).
            if without.status_code not in (403, 404, 405):
                unprotected.append(f"POST {case.path} ({route.name}): {without.status_code} without a token")
            continue
        accepting.add(route.name)
        if without.status_code != 403 or b"CSRF verification failed" not in without.content:
            unprotected.append(f"POST {case.path} ({route.name}): {without.status_code} without a token")
    assert not unprotected, "\n".join(unprotected)
    missing = KNOWN_FORMS - accepting
    assert not missing, sorted(missing)
    assert not {name for name in accepting if name.startswith("api:")}  # the API is read-only


def test_a_form_with_its_token_still_works_under_enforcement(client, estate, member_search):
    """The pages' forms carry the token: a browser-like client can submit them."""
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(member_search)
    page = csrf_client.get("/alerts/rules/new/")
    token = page.cookies["csrftoken"].value
    rec = estate["search"].recommendation
    response = csrf_client.post(
        f"/recommendations/{rec.pk}/status/", {"action": "dismiss", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    rec.refresh_from_db()
    assert rec.status == "dismissed"
