"""Downloading the review from the dashboard and the API, scoped by team like every page: a member has
their teams' reviews only, the fleet review is a FinOps admin's; anything else is a 404 or 403 that
carries no data; anonymous users go to the login page (API: 401). API errors match the OpenAPI document."""

import io
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dashboard.api.openapi import DOCUMENT
from dashboard.reports.formats import CONTENT_TYPES
from tests.conftest import NOW
from tests.dashboard.api.support import assert_matches_openapi, bearer
from tests.dashboard.reports.review_fleet import review_fleet  # noqa: F401

XLSX = CONTENT_TYPES["xlsx"]


@pytest.fixture(autouse=True)
def clocks(monkeypatch):
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    monkeypatch.setattr("dashboard.api.http.now", lambda: NOW)


def download(client, week="2026-W46", **params):
    return client.get(reverse("report-download", args=[week]), params)


def endpoint_names(response) -> set[str]:
    ws = load_workbook(io.BytesIO(response.content))["Endpoints"]
    return {row[0].value for row in ws.iter_rows(min_row=2)}


def test_anonymous_users_are_sent_to_login_and_the_api_says_401(client, review_fleet):  # noqa: F811
    for response in [client.get(reverse("reports")), download(client, team="search")]:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get("/api/v1/reports/2026-W46?team=search")
    assert response.status_code == 401
    assert_matches_openapi(response)


def test_the_page_shows_last_week_of_the_members_team(client, review_fleet, member_search):  # noqa: F811
    client.force_login(member_search)
    response = client.get(reverse("reports"))
    assert response.status_code == 200
    review = response.context["review"]
    assert (review.week.label, review.team.slug) == ("2026-W46", "search")
    body = response.content.decode()
    assert 'href="/reports/"' in body and "Reports</a>" in body  # the nav link
    assert reverse("report-download", args=["2026-W46"]) + "?team=search&amp;format=xlsx" in body
    assert "vision-detector" not in body and "Whole fleet" not in body
    assert [d["format"] for d in response.context["downloads"]] == ["xlsx", "csv"]


def test_the_page_refuses_weeks_not_over_and_teams_not_theirs(client, review_fleet, member_search):  # noqa: F811
    client.force_login(member_search)
    for params in [{"week": "2026-W47"}, {"week": "2026-W99"}, {"week": "last week"}, {"team": "vision"}]:
        response = client.get(reverse("reports"), params)
        assert response.status_code == 400, params
        assert response.context.get("review") is None and "vision-detector" not in response.content.decode()


def test_a_member_downloads_their_teams_review_only(client, review_fleet, member_search):  # noqa: F811
    client.force_login(member_search)
    response = download(client, team="search")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="finops-review-2026-W46-search.xlsx"'
    assert endpoint_names(response) == {"search-ranker", "search-fresh"}
    refused = [({"team": "vision"}, 404), ({"team": "nope"}, 404), ({}, 403), ({"format": "csv"}, 403)]
    for params, status in refused:
        response = download(client, **params)
        assert response.status_code == status, params
        assert b"vision-detector" not in response.content and b"search-ranker" not in response.content


def test_a_user_in_no_team_gets_nothing(client, review_fleet, outsider):  # noqa: F811
    client.force_login(outsider)
    page = client.get(reverse("reports"))
    assert page.status_code == 200 and page.context.get("review") is None
    assert "ask an admin to add you to a team" in page.content.decode()
    assert [download(client).status_code, download(client, team="search").status_code] == [403, 404]


def test_a_finops_admin_downloads_the_fleet_review_as_a_csv_zip(client, review_fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    assert client.get(reverse("reports")).context["review"].team is None  # the fleet by default
    response = download(client, format="csv")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="finops-review-2026-W46-fleet.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist()[0] == "summary.csv" and "untagged.csv" in archive.namelist()
        assert "orphan" in archive.read("untagged.csv").decode("utf-8")
    assert download(client, team="vision").status_code == 200


def test_bad_weeks_and_formats_are_400s(client, review_fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    for week, params in [("2026-W47", {}), ("2027-W53", {}), ("nope", {}), ("2026-W46", {"format": "pdf"})]:
        response = download(client, week, **params)
        assert response.status_code == 400, (week, params)
    assert b"has not ended yet" in download(client, "2026-W47").content


def test_the_api_scopes_like_the_pages(client, review_fleet, member_search, finops_admin, token_for):  # noqa: F811
    headers = bearer(token_for(member_search))
    response = client.get("/api/v1/reports/2026-W46?team=search", **headers)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == 'attachment; filename="finops-review-2026-W46-search.xlsx"'
    assert endpoint_names(response) == {"search-ranker", "search-fresh"}
    documented = DOCUMENT["paths"]["/reports/{week}"]["get"]["responses"]
    assert set(documented["200"]["content"]) == {XLSX, "application/zip"}

    cases = [
        ("/api/v1/reports/2026-W46", 403), ("/api/v1/reports/2026-W46?team=vision", 404),
        ("/api/v1/reports/2026-W46?team=nope", 404), ("/api/v1/reports/2026-W47?team=search", 400),
        ("/api/v1/reports/2026-W99?team=search", 400),
        ("/api/v1/reports/2026-W46?team=search&format=pdf", 400),
    ]  # fmt: skip
    for path, status in cases:
        response = client.get(path, **headers)
        assert response.status_code == status, path
        body = assert_matches_openapi(response)
        assert "search-ranker" not in str(body)

    admin = bearer(token_for(finops_admin))
    response = client.get("/api/v1/reports/2026-W46?format=csv", **admin)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert client.post("/api/v1/reports/2026-W46", **admin).status_code == 405


@pytest.fixture
def token_for():
    from dashboard.models import ApiToken

    return lambda user: ApiToken.issue(user, "tests")[1]
