"""Budget evaluation on the simulator's default fleet, collected once per module the way production
collects it (8 days of metrics, 14 of costs): the runaway endpoint (traffic x5 over the last 3 days)
raises exactly one alert for its team and one for itself, the figures in the alert equal figures
computed from the stored rows, and evaluating again changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from dashboard.alerts.evaluate import days_between, evaluate, midnight
from dashboard.models import (
    Alert,
    BudgetRule,
    CostForecast,
    Endpoint,
    Notification,
    NotificationChannel,
    Team,
)
from tests.conftest import NOW
from tests.support.fleet import collect_fleet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker):
    from collectors.simulator import SimulatedAWS

    with django_db_blocker.unblock():
        sim = SimulatedAWS(seed=7, clock=lambda: NOW)
        collect_fleet(sim, metric_days=8, cost_days=14)
        # The installation's default rules (migration 0009); another module's flush may have removed them.
        BudgetRule.objects.all().delete()
        for scope in ("account", "team", "endpoint"):
            BudgetRule.objects.create(name=f"each {scope} over 150%", scope=scope)
        try:
            yield sim
        finally:
            call_command("flush", interactive=False, verbosity=0)


def stored_spend(endpoint_ids, start, end) -> Decimal:
    """The best stored cost per endpoint and day in [start, end), summed, read with plain SQL."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT COALESCE(SUM(amount), 0) FROM (
                 SELECT DISTINCT ON (endpoint_id, day) amount FROM dashboard_endpointcost
                 WHERE endpoint_id = ANY(%s) AND day >= %s AND day < %s
                 ORDER BY endpoint_id, day,
                          CASE source WHEN 'resource' THEN 0 WHEN 'tag' THEN 1 ELSE 2 END) best""",
            [list(endpoint_ids), start, end],
        )
        return cur.fetchone()[0]


def test_the_runaway_endpoint_raises_one_alert_for_its_team_and_one_for_itself(fleet, db):
    nlp = Team.objects.get(slug="nlp")
    channel = NotificationChannel.objects.create(name="nlp mail", kind="email", team=nlp, email_to=["n@x.io"])
    outcome = evaluate(NOW)
    assert not outcome.errors
    alerts = {(a.scope, a.scope_label) for a in Alert.objects.all()}
    assert alerts == {
        ("team", "team nlp"),
        ("endpoint", "endpoint nlp-chat-serverless (222222222222/us-east-1)"),
    }
    assert Notification.objects.filter(channel=channel, event="raised").count() == 2
    runaway = Endpoint.objects.get(name="nlp-chat-serverless")
    team_alert = Alert.objects.get(scope="team")
    top = team_alert.figures["contributors"][0]
    assert (top["name"], top["cause"]) == ("nlp-chat-serverless", "traffic")

    # Evaluating again (the next collection) raises and queues nothing more.
    again = evaluate(NOW + timedelta(minutes=10))
    assert again.raised == 0 and again.queued == 0
    assert Alert.objects.count() == 2 and Notification.objects.count() == 2
    assert Alert.objects.get(endpoint=runaway).evaluated_at == NOW + timedelta(minutes=10)


def test_the_alert_figures_equal_the_stored_rows(fleet, db):
    evaluate(NOW)
    alert = Alert.objects.get(scope="endpoint")
    f = alert.figures
    counted_from = date.fromisoformat(f["counted_from"])
    today = NOW.date()
    billed_or_stored = stored_spend([alert.endpoint_id], counted_from, today)
    actual, estimated = Decimal(f["actual"]), Decimal(f["estimated"])
    # Every complete day has a stored cost; today is the only in-process estimate, and positive.
    todays = actual - billed_or_stored
    assert todays > 0
    # The simulator bills this account without resource-level data: every figure is a usage estimate.
    assert estimated == actual
    forecast = CostForecast.objects.get(scope="endpoint", scope_id=alert.endpoint_id)
    rate = sum(Decimal(v) for _, v in forecast.daily) / len(forecast.daily)
    expected = rate * days_between(midnight(counted_from), NOW)
    assert Decimal(f["expected"]) == expected.quantize(Decimal("0.0001"))
    assert Decimal(f["ratio"]) == (actual / expected * 100).quantize(Decimal("0.01"))
