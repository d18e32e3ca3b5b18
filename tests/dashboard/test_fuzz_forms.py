"""Hypothesis over what users type: the budget-rule and channel forms (dashboard/forms/), every page's
filters and the API's parameters and path segments.

The property: any input either validates to clean values (thresholds positive, at most 2 decimals,
sorted and unique; a three-letter currency; addresses that are addresses; values the database takes) or
is refused with a form error or a 400/404 that says why; never a 500, never an exception. Posts go
through the test client as a logged-in FinOps admin (and a team member), so the views, the forms, the
models' own clean() and Postgres all take part. Each example runs in a savepoint rolled back after it."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dashboard.forms.alerts import MAX_PERCENT, BudgetRuleForm, ChannelForm
from dashboard.models import BudgetRule, NotificationChannel, Recommendation
from dashboard.views.recommendations import ACTIONS
from tests.conftest import NOW
from tests.dashboard.test_alerts_pages import WEBHOOK, build_alerts
from tests.dashboard.test_recommendations_page import make_rec

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PAGES = settings(FUZZ, max_examples=12)
FORMS = settings(FUZZ, max_examples=60)  # a form alone is cheap: more examples

HOSTILE = [
    "", " ", "\x00", "a\x00b", "NaN", "-nan", "sNaN", "Infinity", "-Infinity", "-1", "0", "-0", "1e999999",
    "1e-999999", "9" * 40, "0x10", "1_000", "١٥٠", "150%%", "150,,200", "150;200 250", "99999999999999999999",
    "2026-02-30", "2026-W53", "2027-W53", "0000-W01", "<script>alert(1)</script>", '=HYPERLINK("http://x","y")',
    "🚀🔥", "é" * 600, "../../etc/passwd", "%00", "' OR 1=1 --", "\r\n", "null", "[]", "{}",
]  # fmt: skip


def hostile():
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))


def value(*good):
    """A value a form or page expects, or anything a user (or an attacker) could send instead."""
    return st.one_of(st.sampled_from([str(g) for g in good]), hostile()) if good else hostile()


@pytest.fixture
def clocks(monkeypatch):
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    monkeypatch.setattr("dashboard.views.endpoint.clock", lambda: NOW)
    monkeypatch.setattr("dashboard.api.http.now", lambda: NOW)


@pytest.fixture
def estate(db, team_search, team_vision, clocks):
    return build_alerts(team_search, team_vision)


@contextmanager
def rolled_back():
    """One example's writes, undone after it, so examples do not see each other's rules."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def rule_data(estate, team_search, team_vision):
    endpoints, channels = estate["endpoints"], estate["channels"]
    return st.fixed_dictionaries(
        {"name": st.one_of(st.just("Search monthly"), hostile())},
        optional={
            "scope": value("fleet", "account", "team", "endpoint"),
            "account": value(estate["account"].pk, 999999),
            "team": value(team_search.pk, team_vision.pk),
            "endpoint": value(endpoints["ranker"].pk, endpoints["detector"].pk),
            "basis": value("forecast", "fixed"),
            "amount": st.one_of(value("500", "0.01", "-5", "12345678901.5", "1e3"), st.decimals().map(str)),
            "currency": value("USD", "eur", "US", "USDX"),
            "thresholds": st.one_of(
                value("150", "150, 200", "120.5 300%", "999999.99", "1000000", "150.125"),
                st.lists(st.decimals(allow_nan=True), max_size=3).map(lambda ds: ", ".join(map(str, ds))),
            ),
            "period": value("month", "week"),
            "channels": st.lists(value(*(c.pk for c in channels.values()), 999999), max_size=3),
            "enabled": st.sampled_from(["on", "", "off"]),
        },
    )


def thresholds_typed():
    """Thresholds as people type them: "150, 200", "120.5;300%", "150 150"."""
    numbers = st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=MAX_PERCENT, places=2), min_size=1, max_size=4
    )
    separators = st.sampled_from([", ", ",", ";", " ", " ; "])
    return st.builds(
        lambda ds, sep, pct: sep.join(f"{d}{'%' if pct else ''}" for d in ds),
        numbers,
        separators,
        st.booleans(),
    )


@st.composite
def consistent_rule_data(draw, estate, team_search, admin: bool):
    """A rule the form should take: a scope with a fitting target, a basis with or without an amount."""
    ranker, search_email = estate["endpoints"]["ranker"], estate["channels"]["search"]
    data = {
        "name": draw(st.text(min_size=1, max_size=50).filter(lambda t: t.strip() and "\x00" not in t)),
        "thresholds": draw(thresholds_typed()),
        "currency": draw(st.sampled_from(["USD", "eur", " gbp "])),
        "period": draw(st.sampled_from(["month", "week"])),
        "enabled": draw(st.sampled_from(["on", ""])),
    }
    scopes = ["fleet", "account", "team", "endpoint"] if admin else ["team", "endpoint"]
    scope = data["scope"] = draw(st.sampled_from(scopes))
    if scope == "account" and draw(st.booleans()):
        data["account"] = str(estate["account"].pk)
    if scope in ("team", "endpoint") and (not admin or draw(st.booleans())):
        data["team"] = str(team_search.pk)
    if scope == "endpoint" and draw(st.booleans()):
        data["endpoint"] = str(ranker.pk)
    if draw(st.booleans()):
        data["basis"] = "fixed"
        data["amount"] = str(draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2)))
    else:
        data["basis"] = "forecast"
    channels = [c.pk for c in estate["channels"].values()] if admin else [search_email.pk]
    data["channels"] = [str(c) for c in draw(st.lists(st.sampled_from(channels), unique=True))]
    return data


def check_clean_rule(data: dict) -> None:
    thresholds = data["thresholds"]
    assert thresholds and thresholds == sorted(set(thresholds))
    assert all(
        type(t) is Decimal and 0 < t <= MAX_PERCENT and t.as_tuple().exponent >= -2 for t in thresholds
    )
    assert len(data["currency"]) == 3 and data["currency"].isascii() and data["currency"].isupper()
    amount = data.get("amount")
    assert amount is None or (amount.is_finite() and amount > 0)
    assert "\x00" not in data["name"]


@pytest.mark.parametrize("who", ["finops_admin", "member_search"])
@FORMS
@given(data=st.data())
def test_a_budget_rule_form_cleans_its_input_or_says_what_is_wrong(
    estate, team_search, team_vision, request, who, data
):
    user = request.getfixturevalue(who)
    posted = data.draw(
        st.one_of(
            consistent_rule_data(estate, team_search, admin=who == "finops_admin"),
            rule_data(estate, team_search, team_vision),
        )
    )
    with rolled_back():
        form = BudgetRuleForm(posted, user=user)
        event("valid" if form.is_valid() else "refused")  # both should show in --hypothesis-show-statistics
        if form.is_valid():
            check_clean_rule(form.cleaned_data)
            rule = form.save()  # the database takes what the form accepted
            assert BudgetRule.objects.get(pk=rule.pk).thresholds == form.cleaned_data["thresholds"]
        else:
            assert form.errors and all(str(e) for errs in form.errors.values() for e in errs)


@FUZZ
@given(data=st.data())
def test_posting_any_budget_rule_is_a_redirect_or_a_400_never_a_500(client, estate, team_search, team_vision,
                                                                     finops_admin, data):  # fmt: skip
    client.force_login(finops_admin)
    posted = data.draw(
        st.one_of(
            consistent_rule_data(estate, team_search, admin=True), rule_data(estate, team_search, team_vision)
        )
    )
    with rolled_back():
        before = BudgetRule.objects.count()
        response = client.post("/alerts/rules/new/", posted)
        event(f"HTTP {response.status_code}")
        assert response.status_code in (302, 400), response.status_code
        assert BudgetRule.objects.count() == before + (response.status_code == 302)
        if response.status_code == 400:
            assert response.context["form"].errors


def channel_data(team_search):
    return st.fixed_dictionaries(
        {"name": st.one_of(st.just("Search email"), hostile())},
        optional={
            "kind": value("email", "slack"),
            "team": value(team_search.pk, ""),
            "email_to": st.one_of(
                value(
                    "oncall@search.example.com",
                    "a@example.com; b@example.com, A@EXAMPLE.COM",
                    "not-an-address",
                ),
                st.lists(st.emails(), max_size=3).map(", ".join),
            ),
            "webhook_url": value(
                WEBHOOK,
                "https://hooks.slack.com/services/T0/B0/x",
                "http://hooks.slack.com/services/x",
                "https://evil.example/services/x",
                "https://user:pw@hooks.slack.com/x",
                "https://[::1",
                "https://hooks.slack.com:8443/services/x",
                "https://hooks.slack.com/",
            ),
            "enabled": st.sampled_from(["on", ""]),
        },
    )


def consistent_channel_data(team_search):
    email = st.fixed_dictionaries({
        "name": st.just("Search email"), "kind": st.just("email"), "team": st.just(str(team_search.pk)),
        "email_to": st.lists(st.emails(), min_size=1, max_size=3).flatmap(
            lambda a: st.sampled_from([", ", ";", " "]).map(lambda sep: sep.join(a))
        ),
        "enabled": st.sampled_from(["on", ""]),
    })  # fmt: skip
    slack = st.fixed_dictionaries({
        "name": st.just("#search-costs"), "kind": st.just("slack"), "team": st.just(str(team_search.pk)),
        "webhook_url": st.from_regex(r"[A-Za-z0-9_-]{1,30}", fullmatch=True).map(
            lambda token: f"https://hooks.slack.com/services/T0/B0/{token}"
        ),
        "enabled": st.sampled_from(["on", ""]),
    })  # fmt: skip
    return st.one_of(email, slack)


@pytest.mark.parametrize("who", ["finops_admin", "member_search"])
@FORMS
@given(data=st.data())
def test_a_channel_form_cleans_its_input_or_says_what_is_wrong(estate, team_search, request, who, data):
    user = request.getfixturevalue(who)
    posted = data.draw(st.one_of(consistent_channel_data(team_search), channel_data(team_search)))
    with rolled_back():
        form = ChannelForm(posted, user=user)
        event("valid" if form.is_valid() else "refused")
        if not form.is_valid():
            assert form.errors
            return
        channel = NotificationChannel.objects.get(pk=form.save().pk)
        if channel.kind == "email":
            assert channel.email_to and not channel.secret
            assert len({a.lower() for a in channel.email_to}) == len(channel.email_to)
        else:
            assert channel.email_to == [] and channel.webhook_url == form.cleaned_data["webhook_url"]
            assert channel.webhook_url.startswith("https://") and channel.webhook_url not in channel.secret


@FUZZ
@given(data=st.data())
def test_posting_any_channel_is_a_redirect_or_a_400_never_a_500(
    client, estate, team_search, finops_admin, data
):
    client.force_login(finops_admin)
    posted = data.draw(st.one_of(consistent_channel_data(team_search), channel_data(team_search)))
    with rolled_back():
        response = client.post("/alerts/channels/new/", posted)
        event(f"HTTP {response.status_code}")
        assert response.status_code in (302, 400), response.status_code
        url = posted.get("webhook_url", "")
        if "/services/" in url and url.split("/services/", 1)[1]:
            assert url not in response.content.decode()  # a webhook is never echoed back


# --- filters and parameters of every page --------------------------------------------------------------
WEEKS = value("2026-W46", "2026-W47", "2026-W01", "2026-w46", "2030-W10")
PAGE_PARAMS = {
    "/": {
        "range": value("24h", "7d", "30d", "90d", "custom"), "start": value("2026-11-01", "2028-02-29"),
        "end": value("2026-11-20", "2026-11-01"), "sort": value("mtd_cost", "-p99", "name", "-nonsense"),
        "team": value("search", "vision", "nobody"), "account": value("111111111111"),
        "region": value("us-east-1"), "kind": value("serverless", "instance", "mixed"),
        "flag": value("idle"), "deleted": value("1", "on"), "format": value("csv", "xlsx"),
    },
    "/alerts/": {
        "team": value("search", ""), "state": value("firing", "recovered"), "delivery": value("failed"),
        "scope": value("team", "fleet"), "period": value("2026-11-01/2026-12-01"), "sort": value("-raised"),
        "format": value("csv"),
    },
    "/recommendations/": {
        "team": value("search"), "rule": value("idle"), "status": value("open", "dismissed"),
        "account": value("111111111111"), "region": value("us-east-1"), "sort": value("-saving"),
        "format": value("csv"),
    },
    "/reports/": {"week": WEEKS, "team": value("search", "vision", "")},
    "/teams/search/": {
        "range": value("7d", "custom"), "start": value("2026-11-01"), "end": value("2026-11-20"),
    },
    "/api/v1/endpoints": {
        "range": value("24h", "7d", "custom"), "start": value("2026-11-01"), "end": value("2026-11-20"),
        "team": value("search"), "account": value("111111111111"),
        "region": value("us-east-1"), "kind": value("serverless"), "deleted": value("1", "0"),
    },
    "/api/v1/recommendations": {
        "team": value("search"), "rule": value("idle"), "status": value("open"),
        "endpoint": value("1"), "account": value("111111111111"), "region": value("us-east-1"),
        "active": value("1", "0", "all"),
    },
    "/api/v1/alerts": {
        "team": value("search"), "state": value("firing"), "scope": value("team"),
        "limit": value("1", "500", "501"), "offset": value("0", "3"),
    },
    "/api/v1/teams": {
        "range": value("30d", "custom"), "start": value("2026-11-01"), "end": value("2026-11-02"),
    },
    "/api/v1/budget-rules": {"team": value("search", "vision")},
}  # fmt: skip


@pytest.mark.parametrize("path", list(PAGE_PARAMS))
@PAGES
@given(data=st.data())
def test_any_filter_on_any_page_is_an_answer_or_a_400_never_a_500(client, estate, finops_admin, path, data):
    client.force_login(finops_admin)
    params = data.draw(st.fixed_dictionaries({}, optional=PAGE_PARAMS[path]))
    response = client.get(path, params)
    event(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 404), (path, params, response.status_code)
    if path.startswith("/api/") and response.status_code != 200:
        assert response.json()["error"]


SEGMENTS = value("1", "0", "-1", "99999999999999999999", "1.5", "x", "%2F", "1e3")


@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/endpoints/{}", "/api/v1/endpoints/{}/costs", "/api/v1/alerts/{}",
        "/api/v1/recommendations/{}", "/api/v1/teams/{}", "/api/v1/reports/{}", "/reports/{}/download",
    ],
)  # fmt: skip
@PAGES
@given(data=st.data())
def test_any_path_segment_is_found_or_refused_never_a_500(client, estate, finops_admin, template, data):
    client.force_login(finops_admin)
    segment = data.draw(
        st.one_of(SEGMENTS, WEEKS).filter(lambda s: s and "/" not in s and s not in (".", ".."))
    )
    optional = {"format": value("csv", "xlsx"), "team": value("search")}
    params = data.draw(st.fixed_dictionaries({}, optional=optional))
    response = client.get(template.format(quote(segment, safe="")), params)
    assert response.status_code in (200, 400, 403, 404), (template, segment, response.status_code)


@PAGES
@given(data=st.data())
def test_series_parameters_are_checked_never_a_500(client, estate, finops_admin, data):
    client.force_login(finops_admin)
    params = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "metric": value("ModelLatency", "Invocations", "NoSuchMetric"),
                "stat": value("p99", "Sum", "p101"),
                "summary": value("p99,invocations,error_rate,cost", "cost,,", "nonsense"),
                "range": value("24h", "90d", "custom"), "start": value("2026-11-01"),
                "end": value("2026-11-20"),
            },
        )
    )  # fmt: skip
    ranker = estate["endpoints"]["ranker"]
    response = client.get(f"/api/v1/endpoints/{ranker.pk}/series", params)
    assert response.status_code in (200, 400), (params, response.status_code)
    if response.status_code == 400:
        assert response.json()["error"]


@PAGES
@given(data=st.data())
def test_any_recommendation_status_post_is_handled_never_a_500(client, estate, finops_admin, data):
    client.force_login(finops_admin)
    pk = make_rec(estate["endpoints"]["ranker"]).pk
    posted = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "action": value("accept", "dismiss", "reopen"), "note": hostile(),
                "next": value(
                    "/recommendations/", "https://evil.example/", "//evil.example", "/\\evil.example"
                ),
            },
        )
    )  # fmt: skip
    with rolled_back():
        response = client.post(f"/recommendations/{pk}/status/", posted)
        if response.status_code == 302 and posted.get("action") in ACTIONS:
            assert Recommendation.objects.get(pk=pk).status == ACTIONS[posted["action"]]
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:
        assert response["Location"].startswith("/") and not response["Location"].startswith(("//", "/\\"))


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/endpoints?team=%00", "/api/v1/recommendations?team=%00", "/api/v1/alerts?team=%00",
        "/api/v1/budget-rules?team=%00", "/api/v1/teams/a%00b", "/api/v1/reports/2026-W46?team=%00",
        "/reports/2026-W46/download?team=%00",
    ],
)  # fmt: skip
def test_a_nul_in_a_team_slug_is_a_400_not_a_500(client, estate, finops_admin, url):
    client.force_login(finops_admin)
    assert client.get(url).status_code in (400, 404)
