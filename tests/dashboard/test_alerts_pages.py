"""The alert pages: who sees which alerts (a member their teams', a FinOps admin all, an outsider none),
the history's figures, filters and CSV, one alert's figures, contributors, estimated part and every
delivery attempt, the team page's open-alerts panel, and query counts that do not grow with the alerts."""

import importlib
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.models import Alert, AwsAccount, DeliveryAttempt, Notification, NotificationChannel
from tests.conftest import NOW
from tests.dashboard.test_fleet_page import csv_rows, page_clock  # noqa: F401  (page_clock is a fixture)
from tests.dashboard.test_recommendations_page import endpoint

URL = "/alerts/"
NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))
OCTOBER = (date(2026, 10, 1), date(2026, 11, 1))
WEBHOOK = "https://hooks.slack.com/services/T000/B000/vision-secret-path"


def figures(actual="1200.0000", expected="700.0000", ratio="171.43", contributors=(), **more) -> dict:
    """Figures as evaluation stores them (see Alert's docstring): money as decimal strings."""
    return {
        "currency": "USD", "basis": "forecast", "basis_label": "project forecast, 70.00 USD/day",
        "counted_from": "2026-11-01", "actual": actual, "expected": expected, "ratio": ratio,
        "projected": "2580.0000", "period_forecast": "2100.0000", "projected_ratio": "122.86",
        "crossed": ["actual"], "estimated": "95.5000", "estimated_from": "2026-11-19",
        "as_of": NOW.isoformat(), "contributors": list(contributors), **more,
    }  # fmt: skip


def make_alert(label, *, scope="team", team=None, endpoint=None, account=None, period=NOVEMBER, hours_ago=0,
               state="firing", ratio="171.43", threshold="150", **fields) -> Alert:  # fmt: skip
    target = endpoint or team or account
    return Alert.objects.create(
        rule_name=f"rule for {label}", scope=scope, scope_id=target.pk if target else 0, scope_label=label,
        team=team, endpoint=endpoint, account=account, threshold=Decimal(threshold),
        period_start=period[0], period_end=period[1], state=state, raised_at=NOW - timedelta(hours=hours_ago),
        recovered_at=NOW if state == "recovered" else None, evaluated_at=NOW,
        currency="USD", ratio=Decimal(ratio), peak_ratio=Decimal(ratio) + 10,
        **{"figures": figures(ratio=ratio), **fields},
    )  # fmt: skip


def notify(alert, channel, status, attempts=(), event="raised", error="") -> Notification:
    """A notification in `status` with one DeliveryAttempt per (ok, status_code, error) in `attempts`."""
    n = Notification.objects.create(
        alert=alert, channel=channel, event=event, status=status, attempts=len(attempts),
        next_attempt_at=NOW + timedelta(minutes=5), created_at=NOW, last_error=error,
        sent_at=NOW if status == "sent" else None,
    )  # fmt: skip
    for i, (ok, code, text) in enumerate(attempts):
        DeliveryAttempt.objects.create(
            notification=n, started_at=NOW + timedelta(seconds=i), finished_at=NOW + timedelta(seconds=i),
            ok=ok, status_code=code, error=text, permanent=not ok and code == 550,
        )  # fmt: skip
    return n


def build_alerts(team_search, team_vision) -> dict:
    """Search: a firing team alert (email sent, the FinOps email failed) and a recovered endpoint alert
    (Slack pending after an error); Vision: a firing team alert; no team: an account alert and a fleet
    alert from October. The installation's default rules exist (another module's flush may have
    removed the ones migration 0009 wrote)."""
    importlib.import_module("dashboard.migrations.0009_default_budget_rules").create(django_apps, None)
    prod = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    ranker = endpoint(prod, "search-ranker", team_search)
    detector = endpoint(prod, "vision-detector", team_vision)
    channels = {
        "search": NotificationChannel.objects.create(
            name="Search email", kind="email", team=team_search, email_to=["oncall@search.example.com"]
        ),
        "finops": NotificationChannel.objects.create(
            name="FinOps email", kind="email", email_to=["finops@example.com"]
        ),
        "vision": NotificationChannel(name="#vision-costs", kind="slack", team=team_vision),
    }
    channels["vision"].set_webhook_url(WEBHOOK)
    channels["vision"].save()
    contributors = [
        {"endpoint_id": ranker.pk, "name": "search-ranker", "account": "111111111111", "region": "us-east-1",
         "actual": "640.0000", "expected": "200.0000", "overshoot": "440.0000", "cause": "traffic",
         "cause_detail": "invocations x3.1 over the last 3 days"},
    ]  # fmt: skip
    alerts = {
        "search": make_alert("team Search", team=team_search, hours_ago=1,
                             figures=figures(contributors=contributors)),
        "ranker": make_alert("endpoint search-ranker", scope="endpoint", team=team_search, endpoint=ranker,
                             account=prod, hours_ago=5, state="recovered", ratio="99.50", threshold="200"),
        "vision": make_alert("team Vision", team=team_vision, hours_ago=2, ratio="250.00"),
        "account": make_alert("account prod", scope="account", account=prod, hours_ago=3, ratio="160.00"),
        "fleet": make_alert("whole fleet", scope="fleet", period=OCTOBER, hours_ago=24 * 25, ratio="155.00",
                            state="recovered"),
    }  # fmt: skip
    notify(alerts["search"], channels["search"], "sent", [(True, 250, "")])
    notify(alerts["search"], channels["finops"], "failed", [(False, 550, "550 5.1.1 mailbox unavailable")],
           error="550 5.1.1 mailbox unavailable")  # fmt: skip
    notify(alerts["ranker"], channels["search"], "pending", [(False, None, "timed out after 20s")],
           error="timed out after 20s")  # fmt: skip
    notify(alerts["vision"], channels["vision"], "sent", [(True, 200, "")])
    notify(alerts["account"], channels["finops"], "sent", [(True, 250, "")])
    return {"alerts": alerts, "channels": channels, "endpoints": {"ranker": ranker, "detector": detector},
            "account": prod}  # fmt: skip


@pytest.fixture
def estate(db, team_search, team_vision, page_clock):  # noqa: F811
    return build_alerts(team_search, team_vision)


def shown(response) -> list[int]:
    """Alert ids in page order."""
    return [int(pk) for pk in re.findall(r'<tr id="alert-\d+" data-alert="(\d+)"', response.content.decode())]


def ids(estate, *names) -> list[int]:
    return [estate["alerts"][n].pk for n in names]


def row(response, pk) -> str:
    body = response.content.decode()
    start = body.index(f'<tr id="alert-{pk}"')
    text = " ".join(re.sub(r"<[^>]+>", " ", body[start : body.index("</tr>", start)]).split())
    return text.replace(" ,", ",")


def section(body: str, element_id: str) -> str:
    start = body.index(f'id="{element_id}"')
    return " ".join(body[start : body.index("</section>", start)].split())


# --- who sees what -----------------------------------------------------------------------------------
def test_anonymous_user_is_sent_to_login(client, estate):
    pk = estate["alerts"]["search"].pk
    for response in (client.get(URL), client.get(URL, {"format": "csv"}), client.get(f"{URL}{pk}/")):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_member_sees_their_teams_alerts_newest_first(client, estate, member_search):
    client.force_login(member_search)
    response = client.get(URL)
    assert response.status_code == 200
    assert shown(response) == ids(estate, "search", "ranker")
    body = response.content.decode()
    assert "team Vision" not in body and "account prod" not in body and "whole fleet" not in body


def test_finops_admin_sees_every_alert_newest_first(client, estate, finops_admin):
    client.force_login(finops_admin)
    assert shown(client.get(URL)) == ids(estate, "search", "vision", "account", "ranker", "fleet")


def test_outsider_sees_an_empty_page_and_no_alert(client, estate, outsider):
    client.force_login(outsider)
    response = client.get(URL)
    assert response.status_code == 200 and shown(response) == []
    assert "ask an admin to add you to a team" in response.content.decode()
    for alert in estate["alerts"].values():
        assert client.get(reverse("alert-detail", args=[alert.pk])).status_code == 404


def test_member_gets_404_for_other_teams_and_teamless_alerts(client, estate, member_search):
    client.force_login(member_search)
    for name in ("search", "ranker"):
        assert client.get(reverse("alert-detail", args=[estate["alerts"][name].pk])).status_code == 200
    for name in ("vision", "account", "fleet"):
        response = client.get(reverse("alert-detail", args=[estate["alerts"][name].pk]))
        assert response.status_code == 404 and b"team Vision" not in response.content


def test_finops_admin_opens_any_alert(client, estate, finops_admin):
    client.force_login(finops_admin)
    for alert in estate["alerts"].values():
        assert client.get(reverse("alert-detail", args=[alert.pk])).status_code == 200


# --- the history -----------------------------------------------------------------------------------------
def test_each_row_shows_the_stored_figures_and_the_delivery(client, estate, finops_admin):
    client.force_login(finops_admin)
    response = client.get(URL)
    search = row(response, estate["alerts"]["search"].pk)
    assert "team Search" in search and "Team · rule for team Search" in search and "Search" in search
    assert "150% 171.4% peak 181.4% 1,200.00 USD expected 700.00 USD Nov 2026 firing" in search
    assert "2026-11-20 09:17 UTC" in search
    assert search.endswith("email: sent, email: failed")
    ranker = row(response, estate["alerts"]["ranker"].pk)
    assert "200% 99.5% peak 109.5%" in ranker and "recovered" in ranker and "email: pending" in ranker
    assert "Oct 2026" in row(response, estate["alerts"]["fleet"].pk)


def test_member_sees_a_finops_channels_status_but_not_its_name(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(URL).content.decode()
    assert 'title="a FinOps channel">email: failed' in body and "FinOps email" not in body
    assert 'title="Search email">email: sent' in body


def test_filters_by_state_delivery_scope_team_and_period(client, estate, finops_admin):
    client.force_login(finops_admin)
    cases = {
        (("state", "recovered"),): ["ranker", "fleet"],
        (("state", "firing"),): ["search", "vision", "account"],
        (("delivery", "failed"),): ["search"],
        (("delivery", "pending"),): ["ranker"],
        (("delivery", "sent"),): ["vision", "account"],
        (("scope", "endpoint"),): ["ranker"],
        (("team", "vision"),): ["vision"],
        (("team", "none"),): ["account", "fleet"],
        (("period", "2026-10-01/2026-11-01"),): ["fleet"],
        (("team", "search"), ("state", "firing")): ["search"],
    }
    for params, expected in cases.items():
        assert shown(client.get(URL, dict(params))) == ids(estate, *expected), params


def test_a_team_the_member_cannot_see_is_a_bad_filter(client, estate, member_search):
    client.force_login(member_search)
    for params in ({"team": "vision"}, {"team": "none"}, {"state": "exploded"}):
        response = client.get(URL, params)
        assert response.status_code == 400 and b"team Vision" not in response.content
        assert 'id="page-errors"' in response.content.decode()


def test_csv_has_the_tables_rows_in_the_same_order_with_plain_values(client, estate, member_search):
    client.force_login(member_search)
    response = client.get(URL, {"format": "csv"})
    rows = csv_rows(response)
    assert [int(r["Id"]) for r in rows] == ids(estate, "search", "ranker")
    first = rows[0]
    assert first["Scope"] == "team Search" and first["Scope kind"] == "team" and first["Team"] == "Search"
    assert (first["Threshold (%)"], first["Ratio (%)"], first["Peak ratio (%)"]) == ("150.0000", "171.4300",
                                                                                    "181.4300")  # fmt: skip
    assert (first["Actual"], first["Expected"], first["Currency"]) == ("1200.0000", "700.0000", "USD")
    assert (first["Period start"], first["Period end (exclusive)"]) == ("2026-11-01", "2026-12-01")
    assert first["State"] == "firing" and first["Raised"] == "2026-11-20T09:17:00+00:00"
    assert first["Delivery"] == "email: sent, email: failed" and rows[1]["Recovered"].startswith("2026-11-20")
    assert response["Content-Disposition"] == 'attachment; filename="alerts-2026-11-20.csv"'


def test_csv_follows_the_filters_and_neutralises_formulas(client, estate, finops_admin):
    Alert.objects.filter(pk=estate["alerts"]["vision"].pk).update(scope_label="=HYPERLINK(1)")
    client.force_login(finops_admin)
    rows = csv_rows(client.get(URL, {"format": "csv", "team": "vision"}))
    assert [r["Scope"] for r in rows] == ["'=HYPERLINK(1)"]


# --- one alert ------------------------------------------------------------------------------------------
def test_detail_shows_the_stored_figures_and_labels_the_estimated_part(client, estate, member_search):
    client.force_login(member_search)
    alert = estate["alerts"]["search"]
    body = client.get(reverse("alert-detail", args=[alert.pk])).content.decode()
    figures_text = section(body, "alert-figures")
    stored = [
        ("Spend to date", "1,200.00 USD"), ("Expected to date", "700.00 USD"), ("Ratio to date", "171.4%"),
        ("Projected for the period", "2,580.00 USD"), ("Expected for the period", "2,100.00 USD"),
        ("Projected ratio", "122.9%"), ("Crossed by", "actual"),
        ("Compared with", "project forecast, 70.00 USD/day"), ("Counted from", "2026-11-01"),
    ]  # fmt: skip
    for label, text in stored:
        assert f"<dt>{label}</dt><dd>{text}</dd>" in figures_text, label
    estimated = body[body.index('id="alert-estimated"') :]
    estimated = " ".join(estimated[: estimated.index("</div>")].split())
    assert "Estimated:" in estimated and "95.50 USD (8%)" in estimated and "since 2026-11-19" in estimated
    assert "171.4%" in body and "peak 181.4%; threshold 150%" in body


def test_detail_lists_contributors_with_links_and_causes(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(reverse("alert-detail", args=[estate["alerts"]["search"].pk])).content.decode()
    contributors = section(body, "alert-contributors")
    ranker = estate["endpoints"]["ranker"]
    assert f'<a href="{reverse("endpoint", args=[ranker.pk])}">search-ranker</a>' in contributors
    assert "640.00 USD" in contributors and "200.00 USD" in contributors and "440.00 USD" in contributors
    assert "more traffic" in contributors and "invocations x3.1 over the last 3 days" in contributors


def test_detail_shows_every_notification_and_attempt_with_its_error(client, estate, finops_admin):
    client.force_login(finops_admin)
    body = client.get(reverse("alert-detail", args=[estate["alerts"]["search"].pk])).content.decode()
    notifications = section(body, "alert-notifications")
    assert (
        "<strong>Search email</strong>" in notifications and "<strong>FinOps email</strong>" in notifications
    )
    assert "550 5.1.1 mailbox unavailable" in notifications and "error (permanent)" in notifications
    assert (
        notifications.count('class="attempt ok"') == 1 and notifications.count('class="attempt failed"') == 1
    )
    assert ">250<" in notifications and ">550<" in notifications
    pending = client.get(reverse("alert-detail", args=[estate["alerts"]["ranker"].pk])).content.decode()
    assert "timed out after 20s" in pending and "next attempt 2026-11-20 10:22:00 UTC" in pending


def test_member_does_not_read_a_finops_channels_errors(client, estate, member_search):
    client.force_login(member_search)
    body = client.get(reverse("alert-detail", args=[estate["alerts"]["search"].pk])).content.decode()
    notifications = section(body, "alert-notifications")
    assert "a FinOps channel" in notifications and "FinOps email" not in notifications
    assert "mailbox unavailable" not in notifications and "finops@example.com" not in notifications


def test_detail_of_an_alert_whose_rule_was_deleted_keeps_its_name(client, estate, finops_admin):
    client.force_login(finops_admin)
    body = client.get(reverse("alert-detail", args=[estate["alerts"]["fleet"].pk])).content.decode()
    assert "“rule for whole fleet” (deleted)" in body
    assert "No endpoint-level breakdown" in body and "No notification was queued" in body


# --- the team page and the nav -------------------------------------------------------------------------
def test_team_page_shows_only_that_teams_firing_alerts(client, estate, member_search, finops_admin):
    client.force_login(member_search)
    panel = section(client.get(reverse("team", args=["search"])).content.decode(), "team-alerts")
    assert f'href="{reverse("alert-detail", args=[estate["alerts"]["search"].pk])}"' in panel
    assert "team Search" in panel and "171.4%" in panel and "Nov 2026" in panel
    assert "search-ranker" not in panel  # recovered
    assert "team Vision" not in panel and "account prod" not in panel
    assert "/alerts/?team=search&amp;state=firing" in panel
    client.force_login(finops_admin)
    panel = section(client.get(reverse("team", args=["vision"])).content.decode(), "team-alerts")
    assert "team Vision" in panel and "250%" in panel and "team Search" not in panel


def test_a_team_with_no_firing_alert_says_so(client, estate, member_search):
    Alert.objects.filter(team__slug="search").update(state="recovered")
    client.force_login(member_search)
    panel = section(client.get(reverse("team", args=["search"])).content.decode(), "team-alerts")
    assert "No budget alert is firing for Search" in panel


def test_nav_links_to_the_alerts_pages(client, estate, member_search):
    client.force_login(member_search)
    assert f'<a href="{URL}">Alerts</a>' in client.get(reverse("fleet")).content.decode()
    for name in ("alerts", "alert-rules", "alert-channels"):
        assert f'<a href="{URL}" aria-current="page">Alerts</a>' in client.get(reverse(name)).content.decode()


# --- query counts ----------------------------------------------------------------------------------------
def add_alerts(estate, n: int):
    """`n` more alerts for each team and without one, each notified through two channels."""
    teams = [estate["channels"]["search"].team, estate["channels"]["vision"].team, None]
    monday = date(2025, 1, 6)
    for i in range(n):
        for team in teams:
            alert = make_alert(f"bench {team} {i}", team=team, scope="team" if team else "fleet",
                               period=(monday + timedelta(days=7 * i), monday + timedelta(days=7 * i + 7)),
                               hours_ago=i + 48, state="recovered" if i % 2 else "firing")  # fmt: skip
            notify(alert, estate["channels"]["search"], "sent", [(True, 250, "")])
            notify(alert, estate["channels"]["finops"], "failed", [(False, 550, "no")], error="no")


@pytest.mark.parametrize("who", ["member_search", "finops_admin"])
@pytest.mark.parametrize("params", [{}, {"state": "firing", "sort": "ratio"}, {"delivery": "failed"},
                                    {"format": "csv"}])  # fmt: skip
def test_query_count_does_not_grow_with_the_alerts(client, estate, request, who, params):
    client.force_login(request.getfixturevalue(who))

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, params)
        assert response.status_code == 200
        return len(queries), response.content.count(b"\n")

    client.get(URL, params)  # warm up per-process caches
    add_alerts(estate, 2)
    small, small_size = count()
    add_alerts(estate, 8)  # 5x
    large, large_size = count()
    assert large_size > small_size  # the larger set is really on the page
    assert small == large, f"{small} queries with the small set, {large} with 5x"


def test_detail_query_count_does_not_grow_with_the_attempts(client, estate, finops_admin):
    client.force_login(finops_admin)
    alert = estate["alerts"]["search"]
    url = reverse("alert-detail", args=[alert.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for channel in (estate["channels"]["vision"],):
        notify(alert, channel, "failed", [(False, 404, "no_service")] * 5, error="no_service")
    notify(alert, estate["channels"]["search"], "sent", [(True, 250, "")] * 3, event="recovered")
    with CaptureQueriesContext(connection) as large:
        body = client.get(url).content.decode()
    assert body.count('class="attempt ') == 2 + 5 + 3
    assert len(small) == len(large)
