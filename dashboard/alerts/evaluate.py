"""Budget evaluation: each enabled rule's scopes, their spend against the forecast, alerts raised and
recovered, and the notifications queued for them (the outbox; dashboard/alerts/delivery.py sends).

For a scope and period, with `rate` the expected daily spend as forecast at the period start (teams and
endpoints: the median daily cost of the 28 days before it; accounts: Cost Explorer's forecast frozen at
the period's first evaluation, see ForecastBaseline; or a fixed budget / days in the period):
- to date: actual spend from the period start (or the scope's first costed day, if later) to now,
  today included as an estimate so far, against rate x elapsed days;
- projected: actual + the mean daily spend of the last ALERT_RUN_RATE_DAYS complete days x the days
  left, against rate x the days of the period counted.
A threshold is crossed when either ratio is above it (strictly: 150% of forecast is not "more than").
A scope with no forecast yet, or a forecast of zero, is not evaluated and its alerts are left as they
are; the reason is in the outcome.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from collectors.attribution import HISTORY_DAYS, MIN_HISTORY_DAYS
from collectors.aws.costexplorer import next_month_start
from collectors.costs import current_prices
from dashboard.alerts.spend import Ledger, SpendBook, load_spend
from dashboard.models import (
    Alert,
    AwsAccount,
    BudgetRule,
    CostForecast,
    Endpoint,
    EndpointEvent,
    EndpointSummary,
    ForecastBaseline,
    Notification,
    NotificationChannel,
    Team,
)

log = logging.getLogger(__name__)
LOCK_KEY = 0xB0D6_E7A1  # pg_advisory_xact_lock key of budget evaluation
DAY = timedelta(days=1)
HUNDRED = Decimal(100)
RATIO_CAP = Decimal("999999.99")
HISTORY_LOOKBACK_DAYS = 400
TRAFFIC_LIFT = 1.2  # invocations this much above their usual level make "traffic" the cause
TRAFFIC_BASE_DAYS = 28


@dataclass(frozen=True)
class Target:
    scope: str
    scope_id: int
    label: str
    team_id: int | None = None
    endpoint_id: int | None = None
    account_id: int | None = None
    endpoint_ids: tuple[int, ...] = ()


@dataclass
class Outcome:
    rules: int = 0
    evaluated: int = 0
    raised: int = 0
    recovered: int = 0
    ended: int = 0
    queued: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    actual: Decimal
    expected: Decimal
    projected: Decimal
    period_forecast: Decimal
    estimated: Decimal
    run_rate: Decimal
    counted_from: date
    first_estimated: date | None


@dataclass(frozen=True)
class Rate:
    daily: Decimal
    currency: str
    method: str
    history_from: date


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """[start, end) of the month or ISO week holding `day`."""
    if period == BudgetRule.Period.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    return day.replace(day=1), next_month_start(day)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_between(start: datetime, end: datetime) -> Decimal:
    return Decimal(str((end - start).total_seconds())) / Decimal(86400)


def evaluate(now: datetime, *, rule_ids: list[int] | None = None) -> Outcome:
    """Evaluate every enabled rule (or those named) at `now`. Runs are serialised by a Postgres advisory
    lock and each rule runs in its own savepoint: one failing rule is logged and the others go on."""
    outcome = Outcome()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        rules = BudgetRule.objects.filter(enabled=True).select_related("team", "account", "endpoint")
        if rule_ids is not None:
            rules = rules.filter(pk__in=rule_ids)
        rules = list(rules.prefetch_related("channels"))
        outcome.rules = len(rules)
        # A period that ended while its alert was firing: no longer firing, and not a recovery either.
        outcome.ended = Alert.objects.filter(state=Alert.State.FIRING, period_end__lte=now.date()).update(
            state=Alert.State.ENDED
        )
        if not rules:
            return outcome
        _Evaluation(now, rules, outcome).run()
    return outcome


class _Evaluation:
    def __init__(self, now: datetime, rules: list[BudgetRule], outcome: Outcome):
        self.now, self.today, self.rules, self.outcome = now, now.date(), rules, outcome
        starts = [period_bounds(r.period, self.today)[0] for r in rules]
        run_rate_start = self.today - timedelta(days=settings.ALERT_RUN_RATE_DAYS)
        # From the earliest period start's pre-period history (the forecast as made at its start).
        self.start = min([*(d - timedelta(days=HISTORY_DAYS) for d in starts), run_rate_start])
        self.endpoints = list(
            Endpoint.objects.filter(Q(deleted_at=None) | Q(deleted_at__date__gte=self.start))
            .select_related("account", "team")
            .prefetch_related("variants")
        )
        self.by_pk = {e.pk: e for e in self.endpoints}
        self.book: SpendBook = load_spend(
            self.endpoints, self.start, now, current_prices(),
            history_start=self.today - timedelta(days=HISTORY_LOOKBACK_DAYS),
        )  # fmt: skip
        month = self.today.replace(day=1)
        self.forecasts = {
            (f.scope, f.scope_id): f
            for f in CostForecast.objects.filter(month=month, scope=BudgetRule.Scope.ACCOUNT)
        }
        self.baselines = {
            (b.scope, b.scope_id, b.period, b.period_start): b
            for b in ForecastBaseline.objects.filter(period_start__in=set(starts))
        }
        # The fleet is the enabled accounts: a disabled one no longer reports and must not block it.
        self.enabled_accounts = set(AwsAccount.objects.filter(enabled=True).values_list("pk", flat=True))
        self.alerts: dict[tuple, dict[Decimal, Alert]] = defaultdict(dict)
        for alert in Alert.objects.filter(rule__in=rules, period_start__in=set(starts)):
            key = (alert.rule_id, alert.scope, alert.scope_id, alert.period_start)
            self.alerts[key][alert.threshold] = alert
        self.team_channels: dict[int, list[NotificationChannel]] = defaultdict(list)
        self.finops_channels: list[NotificationChannel] = []
        for channel in NotificationChannel.objects.filter(enabled=True):
            if channel.team_id is None:
                self.finops_channels.append(channel)
            else:
                self.team_channels[channel.team_id].append(channel)
        self._causes: dict | None = None
        self.members: dict[tuple[int, date], tuple[list, int]] = {}  # team, period start -> endpoints

    # --- scopes ----------------------------------------------------------------------------------
    def targets(self, rule: BudgetRule) -> list[Target]:
        S = BudgetRule.Scope
        if rule.scope == S.FLEET:
            return [Target(S.FLEET, 0, "whole fleet", endpoint_ids=tuple(self.by_pk))]
        if rule.scope == S.ACCOUNT:
            accounts = [rule.account] if rule.account_id else list(AwsAccount.objects.filter(enabled=True))
            return [self.account_target(a) for a in accounts]
        if rule.scope == S.TEAM:
            teams = [rule.team] if rule.team_id else list(Team.objects.all())
            return [self.team_target(t) for t in teams]
        if rule.endpoint_id:
            chosen = [self.by_pk[rule.endpoint_id]] if rule.endpoint_id in self.by_pk else []
        else:
            chosen = [e for e in self.endpoints if not rule.team_id or e.team_id == rule.team_id]
        return [self.endpoint_target(e) for e in chosen]

    def account_target(self, a: AwsAccount) -> Target:
        members = tuple(e.pk for e in self.endpoints if e.account_id == a.pk)
        label = f"account {a.label or a.account_id} ({a.account_id})"
        return Target(BudgetRule.Scope.ACCOUNT, a.pk, label, account_id=a.pk, endpoint_ids=members)

    def team_target(self, t: Team) -> Target:
        members = tuple(e.pk for e in self.endpoints if e.team_id == t.pk)
        return Target(BudgetRule.Scope.TEAM, t.pk, f"team {t.name}", team_id=t.pk, endpoint_ids=members)

    def endpoint_target(self, e: Endpoint) -> Target:
        label = f"endpoint {e.name} ({e.account.account_id}/{e.region})"
        return Target(
            BudgetRule.Scope.ENDPOINT, e.pk, label, team_id=e.team_id, endpoint_id=e.pk,
            account_id=e.account_id, endpoint_ids=(e.pk,),
        )  # fmt: skip

    def ledger(self, target: Target) -> Ledger:
        S = BudgetRule.Scope
        if target.scope == S.ENDPOINT:
            return self.book.endpoints.get(target.scope_id) or Ledger()
        if target.scope == S.ACCOUNT:
            return self.book.accounts.get(target.scope_id) or Ledger()
        parts = (
            [self.book.endpoints[e] for e in target.endpoint_ids if e in self.book.endpoints]
            if target.scope == S.TEAM
            else [a for pk, a in self.book.accounts.items() if pk in self.enabled_accounts]
        )
        merged = Ledger()
        for part in parts:
            for day, amount in part.days.items():
                merged.days[day] += amount
            for day, amount in part.estimated.items():
                merged.estimated[day] += amount
        return merged

    def history_from(self, target: Target) -> date | None:
        S = BudgetRule.Scope
        if target.scope == S.ACCOUNT:
            return self.book.account_history_from.get(target.scope_id)
        if target.scope == S.FLEET:
            firsts = [d for pk, d in self.book.account_history_from.items() if pk in self.enabled_accounts]
            return min(firsts, default=None)
        firsts = [self.book.history_from[e] for e in target.endpoint_ids if e in self.book.history_from]
        return min(firsts, default=None)

    # --- the forecast ----------------------------------------------------------------------------
    def rate(self, rule: BudgetRule, target: Target, start: date, end: date) -> Rate | str:
        if rule.basis == BudgetRule.Basis.FIXED:
            return Rate(rule.amount / Decimal((end - start).days), rule.currency, "fixed budget", start)
        if target.scope in (BudgetRule.Scope.ACCOUNT, BudgetRule.Scope.FLEET):
            return self.frozen_rate(target, rule.period, start)
        if target.scope == BudgetRule.Scope.TEAM:
            return self.team_rate(target, start)
        return self.history_rate(target, start)

    def team_rate(self, target: Target, start: date) -> Rate | str:
        """A team's forecast is the sum of its endpoints' (each from its own history), and its spend is
        counted over the same endpoints: one whose costs have not been collected yet (another account's
        cost run still to come) is left out of both rather than counted on one side only. An endpoint
        created in the period is in, with a forecast of zero: its spend is all overshoot."""
        members, skipped = [], 0
        for pk in target.endpoint_ids:
            own = self.history_rate(Target(BudgetRule.Scope.ENDPOINT, pk, "", endpoint_ids=(pk,)), start)
            endpoint = self.by_pk[pk]
            born = (endpoint.created_at or endpoint.first_seen).date()
            if isinstance(own, Rate):
                members.append((pk, own))
            elif born >= start:
                members.append((pk, Rate(Decimal(0), "", "new", born)))
            else:
                skipped += 1
        if not members:
            return "no endpoint of the team has a forecast yet"
        currencies = {r.currency for _, r in members if r.currency}
        if len(currencies) > 1:
            return f"its endpoints are forecast in several currencies: {', '.join(sorted(currencies))}"
        self.members[(target.scope_id, start)] = (members, skipped)
        daily = sum((r.daily for _, r in members), Decimal(0))
        first = min(r.history_from for _, r in members)
        method = f"sum of {len(members)} endpoints' forecasts"
        if skipped:
            method += f"; {skipped} without cost history yet left out"
        return Rate(daily, next(iter(currencies), "USD"), method, first)

    def history_rate(self, target: Target, start: date) -> Rate | str:
        """A team's or endpoint's expected daily spend by the project's forecasting method (median of up
        to 28 complete days), applied to the same spend the evaluation counts (stored costs and usage
        estimates), so actual and forecast always cover the same endpoints and sources:
        - from the days before the period start, so nothing spent in the period moves it;
        - for a scope with under 7 days before the period, from its last complete days (the median still
          ignores a runaway on fewer than half of them), and the basis says so."""
        ledger = self.ledger(target)
        firsts = [d for d in (self.history_from(target), ledger.first_day()) if d is not None]
        if not firsts:
            return "no forecast: no cost history"
        first = min(firsts)
        if len(self.book.currencies) > 1:
            return f"costs in several currencies: {', '.join(sorted(self.book.currencies))}"
        currency = next(iter(self.book.currencies), "USD")
        before = [start - timedelta(days=i) for i in range(1, HISTORY_DAYS + 1)]
        days = [d for d in before if d >= first]
        method = f"median of the {len(days)} days before {start}"
        if len(days) < MIN_HISTORY_DAYS:
            recent = [self.today - timedelta(days=i) for i in range(1, HISTORY_DAYS + 1)]
            days = [d for d in recent if d >= first]
            if len(days) < MIN_HISTORY_DAYS:
                return (
                    f"no forecast yet: {len(days)} complete day(s) of cost history, {MIN_HISTORY_DAYS} needed"
                )
            method = f"median of the last {len(days)} complete days (under {MIN_HISTORY_DAYS} before {start})"
        rate = statistics.median([ledger.days.get(d, Decimal(0)) for d in days])
        return Rate(rate, currency, method, first)

    def frozen_rate(self, target: Target, period: str, start: date) -> Rate | str:
        """An account's (or the fleet's) rate from Cost Explorer's forecast, frozen at the period's
        first evaluation: Cost Explorer's model learns from recent spend, so a later forecast would
        absorb a runaway."""
        key = (target.scope, target.scope_id, period, start)
        row = self.baselines.get(key)
        if row is None:
            made = self.forecast_rate(target)
            if isinstance(made, str):
                return made
            ForecastBaseline.objects.bulk_create(
                [
                    ForecastBaseline(
                        scope=target.scope, scope_id=target.scope_id, period=period, period_start=start,
                        daily_rate=made.daily, currency=made.currency, method=made.method,
                        history_from=made.history_from, made_at=self.now,
                    )
                ],
                ignore_conflicts=True,
            )  # fmt: skip
            row = ForecastBaseline.objects.get(
                scope=target.scope, scope_id=target.scope_id, period=period, period_start=start
            )
            self.baselines[key] = row
        return Rate(row.daily_rate, row.currency, row.method, row.history_from)

    def forecast_rate(self, target: Target) -> Rate | str:
        """An account's (or the fleet's: the sum of the enabled accounts') expected daily spend from Cost
        Explorer's stored forecast: the mean of its per-day MeanValues."""
        history_from = self.history_from(target)
        if history_from is None:
            return "no cost history"
        if target.scope == BudgetRule.Scope.FLEET:
            rates = []
            for account_pk in sorted(set(self.book.accounts) & self.enabled_accounts):
                part = self.forecast_rate(Target(BudgetRule.Scope.ACCOUNT, account_pk, ""))
                if isinstance(part, str):
                    return f"account {account_pk}: {part}"
                rates.append(part)
            if not rates or len({r.currency for r in rates}) != 1:
                return "no account forecasts" if not rates else "accounts forecast in different currencies"
            daily = sum((r.daily for r in rates), Decimal(0))
            return Rate(daily, rates[0].currency, "cost-explorer (sum of accounts)", history_from)
        forecast = self.forecasts.get((target.scope, target.scope_id))
        if forecast is None or not forecast.daily:
            return "no forecast for this month yet"
        values = [Decimal(str(v)) for _, v in forecast.daily]
        return Rate(sum(values, Decimal(0)) / len(values), forecast.currency, forecast.method, history_from)

    # --- evaluation ------------------------------------------------------------------------------
    def run(self) -> None:
        for rule in self.rules:
            try:
                with transaction.atomic():
                    for target in self.targets(rule):
                        self.evaluate_target(rule, target)
            except Exception as exc:  # one broken rule must not stop the others
                log.exception("budget rule %s (%s) failed", rule.pk, rule.name)
                self.outcome.errors.append(f"rule {rule.pk} {rule.name}: {type(exc).__name__}: {exc}")

    def evaluate_target(self, rule: BudgetRule, target: Target) -> None:
        start, end = period_bounds(rule.period, self.today)
        rate = self.rate(rule, target, start, end)
        if isinstance(rate, str):
            self.outcome.skipped.append(f"{rule.name} / {target.label}: {rate}")
            return
        if rate.daily <= 0:
            self.outcome.skipped.append(f"{rule.name} / {target.label}: the forecast is zero")
            return
        if self.book.currencies - {rate.currency}:
            spent = ", ".join(sorted(self.book.currencies))
            why = f"spend is in {spent}, the forecast or budget in {rate.currency}"
            self.outcome.skipped.append(f"{rule.name} / {target.label}: {why}")
            return
        figures = self.figures(rule, target, rate, start, end)
        if figures is None:
            return
        self.outcome.evaluated += 1
        existing = self.alerts[(rule.pk, target.scope, target.scope_id, start)]
        ratios = [r for r in (figures["_ratio"], figures["_projected_ratio"]) if r is not None]
        top = min(max(ratios, default=Decimal(0)), RATIO_CAP)
        for threshold in sorted(set(rule.thresholds)):
            crossed = [
                name
                for name, r in (("actual", figures["_ratio"]), ("projected", figures["_projected_ratio"]))
                if r is not None and r > threshold
            ]
            self.settle(rule, target, threshold, start, end, crossed, top, figures, existing.get(threshold))

    def figures(self, rule: BudgetRule, target: Target, rate: Rate, start: date, end: date) -> dict | None:
        composed = (
            self.members.get((target.scope_id, start)) if target.scope == BudgetRule.Scope.TEAM else None
        )
        if composed and rule.basis == BudgetRule.Basis.FORECAST:
            parts = [
                self.part(self.book.endpoints.get(pk) or Ledger(), r.daily, max(start, r.history_from),
                          r.history_from, end)
                for pk, r in composed[0]
            ]  # fmt: skip
        else:
            parts = [
                self.part(
                    self.ledger(target), rate.daily, max(start, rate.history_from), rate.history_from, end
                )
            ]
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        actual = sum((p.actual for p in parts), Decimal(0))
        expected = sum((p.expected for p in parts), Decimal(0))
        projected = sum((p.projected for p in parts), Decimal(0))
        period_forecast = sum((p.period_forecast for p in parts), Decimal(0))
        estimated = sum((p.estimated for p in parts), Decimal(0))
        run_rate = sum((p.run_rate for p in parts), Decimal(0))
        counted_from = min(p.counted_from for p in parts)
        first_estimated = min((p.first_estimated for p in parts if p.first_estimated), default=None)
        ratio = actual / expected * HUNDRED if expected > 0 else None
        projected_ratio = projected / period_forecast * HUNDRED if period_forecast > 0 else None
        return {
            "_ratio": ratio,
            "_projected_ratio": projected_ratio,
            "currency": rate.currency,
            "basis": rule.basis,
            "basis_label": _basis_label(rule, rate),
            "counted_from": counted_from.isoformat(),
            "actual": _money(actual),
            "expected": _money(expected),
            "ratio": _pct(ratio),
            "projected": _money(projected),
            "period_forecast": _money(period_forecast),
            "projected_ratio": _pct(projected_ratio),
            "run_rate": _money(run_rate),
            "daily_forecast": _money(rate.daily),
            "estimated": _money(estimated),
            "estimated_from": first_estimated.isoformat() if first_estimated else None,
            "metrics_through": self.book.metrics_through.isoformat() if self.book.metrics_through else None,
            "as_of": self.now.isoformat(),
        }

    def part(self, ledger: Ledger, daily: Decimal, counted_from: date, history_from: date, end: date):
        """One ledger's figures from `counted_from` to now at `daily` a day; None before it starts."""
        if counted_from > self.today:
            return None
        elapsed = days_between(midnight(counted_from), self.now)
        actual = ledger.total(counted_from, self.today)
        n = settings.ALERT_RUN_RATE_DAYS
        recent = [self.today - timedelta(days=i) for i in range(1, n + 1)]
        recent = [d for d in recent if d >= history_from]
        run_rate = (
            sum((ledger.days.get(d, Decimal(0)) for d in recent), Decimal(0)) / len(recent)
            if recent
            else actual / elapsed
        )
        remaining = max(Decimal(0), days_between(self.now, midnight(end)))
        return Part(
            actual=actual,
            expected=daily * elapsed,
            projected=actual + run_rate * remaining,
            period_forecast=daily * (end - counted_from).days,
            estimated=ledger.estimated_total(counted_from, self.today),
            run_rate=run_rate,
            counted_from=counted_from,
            first_estimated=ledger.first_estimated(counted_from, self.today),
        )

    def settle(self, rule, target, threshold, start, end, crossed, top, figures, alert) -> None:
        public = {k: v for k, v in figures.items() if not k.startswith("_")}
        public["crossed"] = crossed
        if crossed and alert is None:
            public["contributors"] = self.contributors(rule, target, start)
            alert = Alert.objects.create(
                rule=rule, rule_name=rule.name, scope=target.scope, scope_id=target.scope_id,
                scope_label=target.label, team_id=target.team_id, endpoint_id=target.endpoint_id,
                account_id=target.account_id, threshold=threshold, period_start=start, period_end=end,
                state=Alert.State.FIRING, raised_at=self.now, evaluated_at=self.now,
                currency=figures["currency"], ratio=top, peak_ratio=top, figures=public,
            )  # fmt: skip
            self.outcome.raised += 1
            self.queue(rule, alert, Notification.Event.RAISED)
            return
        if alert is None:
            return
        if crossed:
            public["contributors"] = self.contributors(rule, target, start)
        else:
            public["contributors"] = alert.figures.get("contributors", [])
        alert.figures, alert.ratio, alert.evaluated_at = public, top, self.now
        alert.peak_ratio = max(alert.peak_ratio, top)
        fields = ["figures", "ratio", "peak_ratio", "evaluated_at"]
        if crossed and alert.state == Alert.State.RECOVERED:
            # Crossing again in the same period: shown as firing, not announced a second time.
            alert.state = Alert.State.FIRING
            fields.append("state")
        elif not crossed and alert.state == Alert.State.FIRING:
            alert.state, alert.recovered_at = Alert.State.RECOVERED, self.now
            fields += ["state", "recovered_at"]
            self.outcome.recovered += 1
            self.queue(rule, alert, Notification.Event.RECOVERED)
        alert.save(update_fields=fields)

    def queue(self, rule: BudgetRule, alert: Alert, event: str) -> None:
        """One message per channel, unless the channel already has this event for the same scope,
        threshold and period through another rule (the default "each endpoint" rule and a team's own
        rule may both cover an endpoint: its owners hear it once)."""
        channels = {c.pk: c for c in rule.channels.all() if c.enabled}
        # The owners hear it: the team's channels, or for an account or the fleet, FinOps's.
        for channel in self.team_channels.get(alert.team_id, []) if alert.team_id else self.finops_channels:
            channels[channel.pk] = channel
        told = set(
            Notification.objects.filter(
                channel__in=list(channels), event=event, alert__scope=alert.scope,
                alert__scope_id=alert.scope_id, alert__threshold=alert.threshold,
                alert__period_start=alert.period_start,
            ).values_list("channel_id", flat=True)
        )  # fmt: skip
        rows = [
            Notification(alert=alert, channel=c, event=event, next_attempt_at=self.now, created_at=self.now)
            for pk, c in channels.items()
            if pk not in told
        ]
        Notification.objects.bulk_create(rows)
        self.outcome.queued += len(rows)

    # --- why ---------------------------------------------------------------------------------------
    def contributors(self, rule: BudgetRule, target: Target, start: date) -> list[dict]:
        """The scope's endpoints ranked by how much they spent above their own forecast, with a cause."""
        rows = []
        for pk in target.endpoint_ids:
            endpoint = self.by_pk.get(pk)
            ledger = self.book.endpoints.get(pk)
            if endpoint is None or ledger is None:
                continue
            own = Target(BudgetRule.Scope.ENDPOINT, pk, "", endpoint_ids=(pk,))
            rate = self.history_rate(own, start)
            counted_from = max(start, rate.history_from) if isinstance(rate, Rate) else start
            actual = ledger.total(counted_from, self.today)
            expected = (
                rate.daily * days_between(midnight(counted_from), self.now)
                if isinstance(rate, Rate)
                else Decimal(0)
            )
            overshoot = actual - expected
            if overshoot <= 0:
                continue
            cause, detail = self.cause(endpoint, counted_from, has_forecast=isinstance(rate, Rate))
            rows.append(
                {
                    "endpoint_id": pk, "name": endpoint.name, "account": endpoint.account.account_id,
                    "region": endpoint.region, "actual": _money(actual), "expected": _money(expected),
                    "overshoot": _money(overshoot), "cause": cause, "cause_detail": detail,
                    "_sort": overshoot,
                }
            )  # fmt: skip
        rows.sort(key=lambda r: r["_sort"], reverse=True)
        return [{k: v for k, v in r.items() if k != "_sort"} for r in rows[: settings.ALERT_TOP_CONTRIBUTORS]]

    def cause(self, endpoint: Endpoint, counted_from: date, *, has_forecast: bool) -> tuple[str, str]:
        born = endpoint.created_at or endpoint.first_seen
        if born.date() >= counted_from or not has_forecast:
            return "new", f"new endpoint, created {born:%Y-%m-%d}"
        changes, invocations = self.cause_inputs()
        changed = [at for pk, at in changes if pk == endpoint.pk and at.date() >= counted_from]
        if changed:
            return "capacity", f"configuration changed on {max(changed):%Y-%m-%d %H:%M} UTC"
        n = settings.ALERT_RUN_RATE_DAYS
        daily = invocations.get(endpoint.pk, {})
        recent = [daily.get(self.today - timedelta(days=i), 0.0) for i in range(1, n + 1)]
        base = [
            daily.get(self.today - timedelta(days=i), 0.0) for i in range(n + 1, n + 1 + TRAFFIC_BASE_DAYS)
        ]
        base = [v for i, v in enumerate(base) if (self.today - timedelta(days=n + 1 + i)) in daily]
        usual = statistics.median(base) if base else 0.0
        now_level = sum(recent) / n
        if usual > 0 and now_level >= usual * TRAFFIC_LIFT:
            return "traffic", f"invocations x{now_level / usual:.1f} over the last {n} days against usual"
        if usual == 0 and now_level > 0:
            return "traffic", f"{now_level:,.0f} invocations a day where there were none"
        return "other", "no change in traffic or configuration found; price or usage mix"

    def cause_inputs(self):
        if self._causes is None:
            since = self.today - timedelta(days=settings.ALERT_RUN_RATE_DAYS + TRAFFIC_BASE_DAYS + 1)
            changes = list(
                EndpointEvent.objects.filter(
                    kind=EndpointEvent.Kind.CHANGED, at__date__gte=since
                ).values_list("endpoint_id", "at")
            )
            invocations: dict[int, dict[date, float]] = defaultdict(dict)
            for pk, bucket, count in EndpointSummary.objects.filter(
                resolution=EndpointSummary.DAILY, bucket__date__gte=since, bucket__date__lt=self.today
            ).values_list("endpoint_id", "bucket", "invocations"):
                invocations[pk][bucket.date()] = count
            self._causes = (changes, invocations)
        return self._causes


def _basis_label(rule: BudgetRule, rate: Rate) -> str:
    if rule.basis == BudgetRule.Basis.FIXED:
        return f"fixed budget of {rule.amount:.2f} {rule.currency} per {rule.period}"
    source = "Cost Explorer forecast" if rate.method.startswith("cost-explorer") else "project forecast"
    return f"{source} ({rate.method}), {rate.daily:.2f} {rate.currency}/day"


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.0001")))


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(min(value, RATIO_CAP).quantize(Decimal("0.01")))
