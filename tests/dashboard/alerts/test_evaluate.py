"""Budget evaluation on hand-built cost rows: thresholds at 149% and 151%, the first and last day of a
month, a forecast of zero or missing, several thresholds, a fixed budget, an ISO week, recovery, a
disabled channel and a deleted team. The endpoint is serverless with no stored metrics, so today's
usage estimate is zero and every figure comes from the rows written here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.alerts.evaluate import evaluate, period_bounds
from dashboard.models import (
    Alert,
    AwsAccount,
    BudgetRule,
    CostForecast,
    DailyCost,
    Endpoint,
    EndpointCost,
    ForecastBaseline,
    Notification,
    NotificationChannel,
    ProductionVariant,
    Team,
)

LONG_AGO = datetime(2026, 9, 1, tzinfo=UTC)
RATE = Decimal("10")


@pytest.fixture
def team(db):
    return Team.objects.create(name="search", slug="search", tag_values=["search"])


@pytest.fixture
def endpoint(db, team):
    account = AwsAccount.objects.create(account_id="111111111111", regions=["us-east-1"])
    ep = Endpoint.objects.create(
        account=account, region="us-east-1", name="embed", status="InService", team=team,
        arn="arn:aws:sagemaker:us-east-1:111111111111:endpoint/embed",
        created_at=LONG_AGO, first_seen=LONG_AGO, last_seen=LONG_AGO,
    )  # fmt: skip
    ProductionVariant.objects.create(
        endpoint=ep, name="AllTraffic", kind="serverless", memory_mb=2048, max_concurrency=10,
        first_seen=LONG_AGO, last_seen=LONG_AGO,
    )  # fmt: skip
    return ep


def spend(endpoint, start: date, end: date, per_day: Decimal) -> None:
    """Billed (resource-level) cost for every day in [start, end)."""
    day = start
    while day < end:
        EndpointCost.objects.create(
            endpoint=endpoint, day=day, source="resource", amount=per_day, currency="USD",
            estimated=False, computed_at=LONG_AGO,
        )  # fmt: skip
        day += timedelta(days=1)


def forecast(scope: str, scope_id: int, month: date, rate: Decimal = RATE) -> None:
    CostForecast.objects.create(
        scope=scope, scope_id=scope_id, month=month, amount=rate * 30, currency="USD",
        method="median-28d", daily=[[month.isoformat(), str(rate)]], computed_at=LONG_AGO,
    )  # fmt: skip


def endpoint_rule(endpoint, **kw) -> BudgetRule:
    return BudgetRule.objects.create(name="embed budget", scope="endpoint", endpoint=endpoint, **kw)


def setup_month(endpoint, now: datetime, ratio: Decimal) -> None:
    """Normal spend (RATE a day) through last month, `ratio` x RATE every day of this month so far."""
    month = now.date().replace(day=1)
    spend(endpoint, date(2026, 10, 1), month, RATE)
    spend(endpoint, month, now.date(), RATE * ratio)
    forecast("endpoint", endpoint.pk, month)
    forecast("team", endpoint.team_id, month)


@pytest.fixture(autouse=True)
def only_our_rules(db):
    BudgetRule.objects.all().delete()  # the installation's default rules are tested elsewhere


MIDMONTH = datetime(2026, 11, 11, tzinfo=UTC)  # 10 complete days of November, nothing of the 11th yet


@pytest.mark.parametrize(("ratio", "raised"), [(Decimal("1.49"), 0), (Decimal("1.51"), 1)])
def test_it_alerts_at_151_percent_and_not_at_149(endpoint, ratio, raised):
    setup_month(endpoint, MIDMONTH, ratio)
    rule = endpoint_rule(endpoint)
    outcome = evaluate(MIDMONTH)
    assert outcome.evaluated == 1
    assert Alert.objects.count() == raised
    if raised:
        alert = Alert.objects.get()
        assert (alert.rule, alert.endpoint, alert.team) == (rule, endpoint, endpoint.team)
        assert Decimal(alert.figures["actual"]) == RATE * ratio * 10
        assert Decimal(alert.figures["expected"]) == RATE * 10
        assert alert.figures["ratio"] == "151.00"
        assert alert.figures["projected_ratio"] == "151.00"
        assert alert.figures["crossed"] == ["actual", "projected"]
        assert alert.figures["estimated"] == "0.0000"


def test_exactly_150_percent_is_not_more_than_150(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("1.5"))
    endpoint_rule(endpoint)
    evaluate(MIDMONTH)
    assert not Alert.objects.exists()


def test_on_the_first_day_of_a_month_the_previous_months_spend_does_not_count(endpoint):
    now = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    spend(endpoint, date(2026, 10, 1), date(2026, 11, 28), RATE)
    spend(endpoint, date(2026, 11, 28), date(2026, 12, 1), RATE * 3)  # a runaway in November's last days
    endpoint_rule(endpoint)
    outcome = evaluate(now)
    assert outcome.evaluated == 1
    # Nothing of December is known yet (no usage stored): actual 0 against a quarter day's forecast; the
    # projection runs at the last three days' rate, 3 x RATE: about 300%.
    alert = Alert.objects.get()
    assert alert.period_start == date(2026, 12, 1) and alert.period_end == date(2027, 1, 1)
    assert alert.figures["actual"] == "0.0000" and alert.figures["crossed"] == ["projected"]
    assert Decimal(alert.figures["daily_forecast"]) == RATE  # the median of November's 28 last days
    assert Decimal(alert.figures["run_rate"]) == RATE * 3


def test_on_the_last_day_of_a_month_the_projection_is_nearly_the_actual(endpoint):
    now = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    setup_month(endpoint, now, Decimal("1.6"))
    endpoint_rule(endpoint)
    evaluate(now)
    alert = Alert.objects.get()
    assert alert.period_end == date(2026, 12, 1)
    actual = Decimal(alert.figures["actual"])
    assert actual == RATE * Decimal("1.6") * 29
    # One hour left at 16 a day.
    assert Decimal(alert.figures["projected"]) == pytest.approx(
        actual + Decimal(16) / 24, abs=Decimal("0.001")
    )
    assert Decimal(alert.figures["period_forecast"]) == RATE * 30


def test_a_missing_forecast_is_not_evaluated_and_says_why(endpoint):
    # Five days of history in all: too young for a forecast of its own, and none stored.
    spend(endpoint, MIDMONTH.date() - timedelta(days=5), MIDMONTH.date(), RATE * 5)
    endpoint_rule(endpoint)
    outcome = evaluate(MIDMONTH)
    assert outcome.evaluated == 0
    assert not Alert.objects.exists()
    assert any("no forecast" in s for s in outcome.skipped)


def test_a_young_endpoint_is_judged_against_the_median_of_its_own_days_and_says_so(endpoint):
    # Costs since November 1st only: 7 normal days, then 3 days at three times the rate.
    spend(endpoint, date(2026, 11, 1), date(2026, 11, 8), RATE)
    spend(endpoint, date(2026, 11, 8), MIDMONTH.date(), RATE * 3)
    endpoint_rule(endpoint)
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert Decimal(alert.figures["daily_forecast"]) == RATE  # the median ignores the 3 expensive days
    assert alert.figures["ratio"] == "160.00"
    assert "median of the last 10 complete days (under 7 before 2026-11-01)" in alert.figures["basis_label"]


def test_a_forecast_of_zero_is_not_evaluated(endpoint):
    spend(endpoint, date(2026, 10, 1), date(2026, 11, 1), Decimal(0))  # idle all October
    spend(endpoint, date(2026, 11, 1), MIDMONTH.date(), RATE)
    endpoint_rule(endpoint)
    outcome = evaluate(MIDMONTH)
    assert outcome.evaluated == 0 and not Alert.objects.exists()
    assert any("forecast is zero" in s for s in outcome.skipped)


def test_the_forecast_is_the_one_made_at_the_period_start(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("1.6"))
    endpoint_rule(endpoint)
    # The stored forecast has learnt from the overspend; the rule still compares with October's level.
    CostForecast.objects.filter(scope="endpoint").update(daily=[["2026-11-12", "16"]])
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert Decimal(alert.figures["daily_forecast"]) == RATE and alert.figures["ratio"] == "160.00"
    assert "median of the 28 days before 2026-11-01" in alert.figures["basis_label"]


def test_an_account_is_judged_against_cost_explorers_forecast_frozen_at_first_sight(endpoint):
    account = endpoint.account
    for day in range(1, 11):
        DailyCost.objects.create(
            account=account, region="us-east-1", usage_type="USE1-ServerlessInf:Mem-2GB",
            day=date(2026, 11, day), unblended=RATE * 2, amortized=RATE * 2, currency="USD",
            estimated=False, fetched_at=LONG_AGO,
        )  # fmt: skip
    CostForecast.objects.create(
        scope="account", scope_id=account.pk, month=date(2026, 11, 1), amount=RATE * 30, currency="USD",
        method="cost-explorer", daily=[["2026-11-11", str(RATE)], ["2026-11-12", str(RATE)]],
        computed_at=LONG_AGO,
    )  # fmt: skip
    BudgetRule.objects.create(name="each account", scope="account")
    evaluate(MIDMONTH)
    # Cost Explorer's next forecast has learnt from the overspend: the frozen one still counts.
    CostForecast.objects.filter(scope="account").update(daily=[["2026-11-12", "20"]])
    evaluate(MIDMONTH + timedelta(hours=1))
    baseline = ForecastBaseline.objects.get(scope="account", scope_id=account.pk)
    assert (baseline.daily_rate, baseline.method) == (RATE, "cost-explorer")
    alert = Alert.objects.get()
    # 200 spent against 10 a day for 10 days and one hour.
    assert alert.figures["actual"] == "200.0000" and alert.figures["ratio"] == "199.17"
    assert alert.figures["basis_label"].startswith("Cost Explorer forecast")


def test_each_threshold_raises_its_own_alert_once(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("2.5"))
    endpoint_rule(endpoint, thresholds=[Decimal("200"), Decimal("150"), Decimal("300")])
    channel = NotificationChannel.objects.create(name="search mail", kind="email", team=endpoint.team,
                                                 email_to=["search@example.com"])  # fmt: skip
    evaluate(MIDMONTH)
    evaluate(MIDMONTH + timedelta(minutes=30))
    assert sorted(Alert.objects.values_list("threshold", flat=True)) == [Decimal("150"), Decimal("200")]
    assert Notification.objects.filter(channel=channel, event="raised").count() == 2


def test_recovery_is_notified_once_and_a_second_crossing_is_not_announced_again(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("1.6"))
    rule = endpoint_rule(endpoint)
    channel = NotificationChannel.objects.create(name="mail", kind="email", email_to=["a@example.com"])
    rule.channels.add(channel)
    evaluate(MIDMONTH)
    # Cost Explorer's final figures come in lower: back under the threshold.
    EndpointCost.objects.filter(day__gte=date(2026, 11, 1)).update(amount=RATE)
    evaluate(MIDMONTH + timedelta(hours=1))
    alert = Alert.objects.get()
    assert alert.state == Alert.State.RECOVERED and alert.recovered_at is not None
    assert alert.peak_ratio == Decimal("160.00")
    EndpointCost.objects.filter(day__gte=date(2026, 11, 1)).update(amount=RATE * 2)
    evaluate(MIDMONTH + timedelta(hours=2))
    alert.refresh_from_db()
    assert alert.state == Alert.State.FIRING
    events = sorted(Notification.objects.values_list("event", flat=True))
    assert events == ["raised", "recovered"]


def test_a_fixed_budget_is_prorated_over_the_period(endpoint):
    spend(endpoint, date(2026, 11, 1), MIDMONTH.date(), Decimal("16"))  # 160 in 10 days
    endpoint_rule(endpoint, basis="fixed", amount=Decimal("300"), currency="USD")  # 10 a day
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert alert.figures["expected"] == "100.0000" and alert.figures["ratio"] == "160.00"
    assert alert.figures["basis_label"].startswith("fixed budget of 300.00 USD")


def test_a_weekly_rule_counts_from_monday(endpoint):
    now = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)  # a Thursday
    assert period_bounds("week", now.date()) == (date(2026, 11, 16), date(2026, 11, 23))
    spend(endpoint, date(2026, 10, 1), date(2026, 11, 16), RATE)
    spend(endpoint, date(2026, 11, 16), now.date(), RATE * 2)
    forecast("endpoint", endpoint.pk, date(2026, 11, 1))
    endpoint_rule(endpoint, period="week")
    evaluate(now)
    alert = Alert.objects.get()
    assert (alert.period_start, alert.period_end) == (date(2026, 11, 16), date(2026, 11, 23))
    assert Decimal(alert.figures["actual"]) == RATE * 2 * 3
    assert Decimal(alert.figures["expected"]) == RATE * Decimal("3.5")


def test_a_team_rule_names_the_endpoint_behind_the_overshoot(endpoint, team):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    BudgetRule.objects.create(name="each team", scope="team")
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert (alert.scope, alert.scope_id, alert.team) == ("team", team.pk, team)
    (top,) = alert.figures["contributors"]
    assert top["name"] == "embed" and Decimal(top["overshoot"]) == RATE * 10
    assert top["cause"] == "other"  # no metrics stored: neither traffic nor a configuration change


def test_a_disabled_channel_gets_nothing_and_does_not_stop_evaluation(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    rule = endpoint_rule(endpoint)
    off = NotificationChannel.objects.create(
        name="old hook", kind="slack", enabled=False, disabled_reason="404 from Slack", team=endpoint.team
    )
    on = NotificationChannel.objects.create(name="mail", kind="email", email_to=["a@example.com"])
    rule.channels.add(off, on)
    outcome = evaluate(MIDMONTH)
    assert outcome.raised == 1 and not outcome.errors
    assert list(Notification.objects.values_list("channel", flat=True)) == [on.pk]


def test_a_deleted_team_does_not_break_evaluation(endpoint, team):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    BudgetRule.objects.create(name="each team", scope="team")
    BudgetRule.objects.create(name="search only", scope="team", team=team)
    evaluate(MIDMONTH)
    assert Alert.objects.count() == 2
    team.delete()  # its own rule goes with it; alerts stay in the history without a team
    outcome = evaluate(MIDMONTH + timedelta(hours=1))
    assert not outcome.errors
    assert Alert.objects.count() == 2 and not Alert.objects.filter(team__isnull=False).exists()


def test_evaluating_twice_changes_nothing_but_the_time(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    endpoint_rule(endpoint)
    NotificationChannel.objects.create(name="mail", kind="email", email_to=["a@x.com"], team=endpoint.team)
    evaluate(MIDMONTH)
    first = Alert.objects.values("pk", "figures", "state", "ratio").get()
    evaluate(MIDMONTH)
    assert Alert.objects.values("pk", "figures", "state", "ratio").get() == first
    assert Notification.objects.count() == 1


def test_a_new_installation_compares_each_account_team_and_endpoint_with_150_percent(db):
    import importlib

    from django.apps import apps

    importlib.import_module("dashboard.migrations.0009_default_budget_rules").create(apps, None)
    rules = BudgetRule.objects.order_by("scope")
    assert [(r.scope, r.account, r.team, r.endpoint, r.basis, r.period) for r in rules] == [
        (scope, None, None, None, "forecast", "month") for scope in ("account", "endpoint", "team")
    ]
    assert all(r.thresholds == [Decimal("150")] and r.enabled for r in rules)


def test_an_alert_still_firing_when_its_period_ends_is_marked_ended_without_a_message(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    rule = endpoint_rule(endpoint)
    rule.channels.add(NotificationChannel.objects.create(name="m", kind="email", email_to=["a@x.com"]))
    evaluate(MIDMONTH)
    outcome = evaluate(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    assert outcome.ended == 1
    assert Alert.objects.get(period_start=date(2026, 11, 1)).state == Alert.State.ENDED
    assert list(Notification.objects.values_list("event", flat=True)) == ["raised"]


def test_two_rules_covering_one_endpoint_tell_its_team_once(endpoint, team):
    setup_month(endpoint, MIDMONTH, Decimal("2"))
    channel = NotificationChannel.objects.create(name="m", kind="email", team=team, email_to=["a@x.com"])
    BudgetRule.objects.create(name="each endpoint", scope="endpoint")
    BudgetRule.objects.create(name="search endpoints", scope="endpoint", team=team)
    outcome = evaluate(MIDMONTH)
    assert outcome.raised == 2 and outcome.queued == 1  # two rules' alerts, one message
    assert Notification.objects.filter(channel=channel).count() == 1


def test_a_fixed_budget_in_another_currency_than_the_spend_is_not_compared(endpoint):
    spend(endpoint, date(2026, 11, 1), MIDMONTH.date(), Decimal("16"))
    endpoint_rule(endpoint, basis="fixed", amount=Decimal("300"), currency="EUR")
    outcome = evaluate(MIDMONTH)
    assert not Alert.objects.exists()
    assert any("spend is in USD, the forecast or budget in EUR" in s for s in outcome.skipped)


def test_a_partial_cost_explorer_day_counts_at_our_usage_estimate_when_that_is_larger(endpoint):
    setup_month(endpoint, MIDMONTH, Decimal("1.6"))
    yesterday = MIDMONTH.date() - timedelta(days=1)
    # Cost Explorer has 4 of yesterday so far (estimated); our usage x price estimate says 16.
    EndpointCost.objects.filter(day=yesterday).update(amount=Decimal(4), estimated=True)
    EndpointCost.objects.create(
        endpoint=endpoint, day=yesterday, source="estimate", amount=Decimal(16), currency="USD",
        estimated=True, computed_at=LONG_AGO,
    )  # fmt: skip
    endpoint_rule(endpoint)
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert alert.figures["actual"] == "160.0000" and alert.figures["estimated"] == "16.0000"


def test_todays_estimate_counts_each_instance_shape_for_the_part_of_the_day_it_ran(endpoint):
    from collectors.costs import current_prices
    from dashboard.models import EndpointEvent

    # An instance endpoint scaled from 1 to 10 instances at 22:00; it is 22:30.
    now = datetime(2026, 11, 11, 22, 30, tzinfo=UTC)
    variant = endpoint.variants.get()
    variant.kind, variant.instance_type_id, variant.current_instance_count = "instance", "ml.g5.xlarge", 10
    variant.memory_mb = variant.max_concurrency = None
    variant.save()
    EndpointEvent.objects.create(
        endpoint=endpoint, at=datetime(2026, 11, 11, 22, 0, tzinfo=UTC), kind="changed",
        detail={"before": {"AllTraffic": {"kind": "instance", "instance_type": "ml.g5.xlarge",
                                          "desired_instance_count": 1}}},
    )  # fmt: skip
    spend(endpoint, date(2026, 11, 1), now.date(), Decimal(0))  # billed so far: only today is estimated
    endpoint_rule(endpoint, basis="fixed", amount=Decimal("0.01"))  # any spend alerts: we read its figures
    evaluate(now)
    hourly = current_prices().instance_hourly["ml.g5.xlarge"]
    todays = hourly * 22 + hourly * 10 / 2  # 22 hours of one instance, half an hour of ten
    figures = Alert.objects.get().figures
    assert Decimal(figures["estimated"]) == Decimal(figures["actual"]) == todays.quantize(Decimal("0.0001"))


def test_a_team_endpoint_whose_costs_are_not_collected_yet_is_left_out_of_both_sides(endpoint, team):
    setup_month(endpoint, MIDMONTH, Decimal("1"))  # on forecast
    # A second endpoint of the team in another account whose cost run has not come yet: only the
    # in-process estimate of its last days exists, so it has no history to be judged against.
    other = Endpoint.objects.create(
        account=AwsAccount.objects.create(account_id="222222222222", regions=["us-east-1"]),
        region="us-east-1", name="rank", status="InService", team=team,
        arn="arn:aws:sagemaker:us-east-1:222222222222:endpoint/rank",
        created_at=LONG_AGO, first_seen=LONG_AGO, last_seen=LONG_AGO,
    )  # fmt: skip
    spend(other, MIDMONTH.date() - timedelta(days=3), MIDMONTH.date(), RATE * 50)
    BudgetRule.objects.create(name="each team", scope="team")
    outcome = evaluate(MIDMONTH)
    assert outcome.evaluated == 1 and not Alert.objects.exists()


def test_a_new_endpoint_counts_in_its_team_with_a_forecast_of_zero(endpoint, team):
    setup_month(endpoint, MIDMONTH, Decimal("1"))
    born = datetime(2026, 11, 8, tzinfo=UTC)
    new = Endpoint.objects.create(
        account=endpoint.account, region="us-east-1", name="new", status="InService", team=team,
        arn="arn:aws:sagemaker:us-east-1:111111111111:endpoint/new",
        created_at=born, first_seen=born, last_seen=born,
    )  # fmt: skip
    spend(new, date(2026, 11, 8), MIDMONTH.date(), RATE * 3)  # 90 over three days
    BudgetRule.objects.create(name="each team", scope="team")
    evaluate(MIDMONTH)
    alert = Alert.objects.get()
    assert alert.figures["actual"] == "190.0000" and alert.figures["expected"] == "100.0000"
    top = alert.figures["contributors"][0]
    assert (top["name"], top["cause"], top["overshoot"]) == ("new", "new", "90.0000")


def test_an_account_alert_goes_to_the_finops_channels_and_not_to_a_teams(endpoint, team):
    account = endpoint.account
    for day in range(1, 11):
        DailyCost.objects.create(
            account=account, region="us-east-1", usage_type="USE1-ServerlessInf:Mem-2GB",
            day=date(2026, 11, day), unblended=RATE * 2, amortized=RATE * 2, currency="USD",
            estimated=False, fetched_at=LONG_AGO,
        )  # fmt: skip
    CostForecast.objects.create(
        scope="account", scope_id=account.pk, month=date(2026, 11, 1), amount=RATE * 30, currency="USD",
        method="cost-explorer", daily=[["2026-11-11", str(RATE)]], computed_at=LONG_AGO,
    )  # fmt: skip
    finops = NotificationChannel.objects.create(name="finops", kind="email", email_to=["f@x.com"])
    NotificationChannel.objects.create(name="search", kind="email", team=team, email_to=["s@x.com"])
    BudgetRule.objects.create(name="each account", scope="account")  # names no channel, as by default
    evaluate(MIDMONTH)
    assert list(Notification.objects.values_list("channel", "event")) == [(finops.pk, "raised")]
