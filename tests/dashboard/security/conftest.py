"""The estate every security test crawls: two teams that each own one of everything a URL can point at
(an endpoint with metrics and costs, a recommendation, a budget alert with a notification, a rule, an
email channel), what only FinOps admins own (an account alert, a fleet rule, a FinOps channel), and one
row of every model the Django admin lists. Vision's and the FinOps objects carry a marker in their
names, so a page that leaks them to a Search member is caught by its text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from dashboard.insights import model as rules
from dashboard.models import (
    AwsAccount,
    BudgetRule,
    CollectionRun,
    ForecastBaseline,
    NotificationChannel,
    ReportDelivery,
)
from tests.conftest import NOW
from tests.dashboard.api.support import Spec, build
from tests.dashboard.test_alerts_pages import make_alert, notify
from tests.dashboard.test_recommendations_page import make_rec

VISION_MARK = "zqvision"  # in every name of Vision's objects: a Search member must never read it
FINOPS_MARK = "zqfinops"  # in every name of the objects only FinOps admins see
WEEK = "2026-W46"  # the last complete ISO week at NOW (Friday of W47)


@dataclass
class Owned:
    """One owner's objects: what a URL's kwargs are filled from."""

    team: object
    endpoint: object
    recommendation: object
    alert: object
    rule: object
    channel: object


@pytest.fixture
def clocks(monkeypatch):
    """Pages, the endpoint page and the API compute "today" from their clocks: pinned at NOW."""
    for target in ("dashboard.views.fleet.clock", "dashboard.views.endpoint.clock", "dashboard.api.http.now"):
        monkeypatch.setattr(target, lambda: NOW)
    return NOW


def own(account, team, name: str, mark: str) -> Owned:
    (endpoint,) = build(account, [Spec(f"{name}-detector", team)])
    channel = NotificationChannel.objects.create(
        name=f"{name} email", kind="email", team=team, email_to=[f"{name}@example.com"]
    )
    rule = BudgetRule.objects.create(name=f"{name} rule", scope="team", team=team)
    rule.channels.add(channel)
    alert = make_alert(f"team {name}", team=team)
    notify(alert, channel, "failed", [(False, 550, f"550 no such mailbox {mark}")], error=f"550 {mark}")
    recommendation = make_rec(endpoint, rule=rules.IDLE_ENDPOINT, title=f"Delete {name}-detector")
    return Owned(team, endpoint, recommendation, alert, rule, channel)


@pytest.fixture
def estate(db, clocks, team_search, team_vision, member_search, finops_admin, django_user_model):
    team_vision.name = f"{VISION_MARK} team"
    team_vision.save()
    prod = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    search = own(prod, team_search, "search", "search")
    vision = own(prod, team_vision, VISION_MARK, VISION_MARK)
    finops_channel = NotificationChannel.objects.create(
        name=f"{FINOPS_MARK} email", kind="email", email_to=[f"{FINOPS_MARK}@example.com"]
    )
    finops = Owned(
        team=None, endpoint=None, recommendation=None,
        alert=make_alert(f"account {FINOPS_MARK}", scope="account", account=prod),
        rule=BudgetRule.objects.create(name=f"{FINOPS_MARK} rule", scope="fleet"),
        channel=finops_channel,
    )  # fmt: skip
    notify(finops.alert, finops_channel, "sent", [(True, 250, "")])
    superuser = django_user_model.objects.create_superuser(
        "root", "root@example.com", "correct horse battery"
    )
    admin_rows(prod, team_vision, superuser)
    return {"search": search, "vision": vision, "finops": finops, "account": prod, "superuser": superuser}


def admin_rows(account, team, user) -> None:
    """One row of each model the admin lists that the estate does not already hold, so every admin URL
    with an object id is filled with a real one."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from dashboard.models import ApiToken

    CollectionRun.objects.create(
        kind="inventory", account=account, region="us-east-1", started_at=NOW, finished_at=NOW, status="ok"
    )
    ApiToken.issue(user, "crawl")
    ForecastBaseline.objects.create(
        scope="team", scope_id=team.pk, period="month", period_start=NOW.date().replace(day=1),
        daily_rate=Decimal("3"), currency="USD", method="median-daily",
        history_from=NOW.date() - timedelta(days=40), made_at=NOW,
    )  # fmt: skip
    ReportDelivery.objects.create(
        week=WEEK, scope=f"team:{team.pk}", scope_label=team.name, team=team, kind="email",
        recipient="someone@example.com", created_at=NOW,
    )  # fmt: skip
    Group.objects.create(name="finops")
    access = dict(
        user_agent="crawler", ip_address="127.0.0.1", username="sam", http_accept="*/*", path_info="/"
    )
    AccessAttempt.objects.create(**access, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**access)
    AccessFailureLog.objects.create(**access)
