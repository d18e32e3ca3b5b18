"""The alert history table (page and CSV), and how an alert reads to a person: its threshold and ratios
as percentages, its period, its figures (stored as decimal strings) and a one-line delivery summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from dashboard.models import Alert, Notification
from dashboard.tables.base import UNKNOWN, Column, Table, _lower, money

CAUSES = {
    "traffic": "more traffic",
    "capacity": "more capacity (instances, memory or provisioned concurrency)",
    "new": "a new endpoint",
    "other": "other (price, or spend without more traffic or capacity)",
}


def pct(value: Decimal | None) -> str:
    """A percentage as stored (150.00 -> "150%", 162.35 -> "162.4%")."""
    if value is None:
        return UNKNOWN
    return f"{value:,.0f}%" if value == value.to_integral_value() else f"{value:,.1f}%"


def threshold_text(value: Decimal) -> str:
    return f"{format(value.normalize(), 'f')}%"


def decimal_or_none(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def period_label(start: date, end: date) -> str:
    """A calendar month as "Nov 2026", an ISO week as "2026-W47 (16 Nov-22 Nov)"; `end` is exclusive."""
    last = end - timedelta(days=1)
    if start.day == 1 and end.day == 1 and (end - start).days in range(28, 32):
        return f"{start:%b %Y}"
    if (end - start).days == 7 and start.weekday() == 0:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d} ({start:%-d %b}–{last:%-d %b})"
    return f"{start:%Y-%m-%d} to {last:%Y-%m-%d}"


@dataclass(frozen=True)
class Delivery:
    """One notification as the summary shows it; `channel` is None for a channel the user may not see."""

    kind: str
    event: str
    status: str
    channel: str | None

    @property
    def text(self) -> str:
        event = "" if self.event == Notification.Event.RAISED else f" {self.event}"
        return f"{self.kind}{event}: {self.status}"


@dataclass
class AlertRow:
    """An alert as a row of the history table. `notifications` must be prefetched (with channel);
    `visible_channels` is the set of channel ids the user may see, None for every one."""

    alert: Alert
    visible_channels: set[int] | None = None

    def figure(self, key: str) -> Decimal | None:
        return decimal_or_none((self.alert.figures or {}).get(key))

    @property
    def actual(self) -> Decimal | None:
        return self.figure("actual")

    @property
    def expected(self) -> Decimal | None:
        return self.figure("expected")

    @property
    def period(self) -> str:
        return period_label(self.alert.period_start, self.alert.period_end)

    @property
    def deliveries(self) -> list[Delivery]:
        seen = self.visible_channels
        return [
            Delivery(n.channel.kind, n.event, n.status,
                     n.channel.name if seen is None or n.channel_id in seen else None)
            for n in self.alert.notifications.all()
        ]  # fmt: skip

    @property
    def delivery_text(self) -> str:
        return ", ".join(d.text for d in self.deliveries)


# --- the table ---------------------------------------------------------------------------------------
def _scope_html(value, row: AlertRow):
    a = row.alert
    link = reverse("alert-detail", args=[a.pk])
    return format_html('<a href="{}">{}</a><div class="sub">{} · {}</div>', link, a.scope_label,
                       a.get_scope_display(), a.rule_name)  # fmt: skip


def _team_html(value, row: AlertRow):
    team = row.alert.team
    if team is None:
        return format_html('<span class="muted">{}</span>', UNKNOWN)
    return format_html('<a href="{}">{}</a>', reverse("team", args=[team.slug]), team.name)


def _ratio_html(value, row: AlertRow):
    return format_html('{}<div class="sub">peak {}</div>', pct(value), pct(row.alert.peak_ratio))


def _actual_html(value, row: AlertRow):
    currency = row.alert.currency
    return format_html('{}<div class="sub">expected {}</div>', money(value, currency),
                       money(row.expected, currency))  # fmt: skip


def _state_html(value, row: AlertRow):
    return format_html('<span class="alert-state alert-state-{}">{}</span>', value, value)


def _when_html(value, row: AlertRow):
    if value is None:
        return UNKNOWN
    return format_html('{}<div class="sub">{} UTC</div>', f"{value:%Y-%m-%d}", f"{value:%H:%M}")


def _delivery_html(value, row: AlertRow):
    if not row.deliveries:
        return format_html('<span class="muted">{}</span>', "no notification")
    return format_html_join(
        ", ",
        '<span class="delivery delivery-{}" title="{}">{}</span>',
        ((d.status, d.channel or "a FinOps channel", d.text) for d in row.deliveries),
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


class AlertTable(Table):
    """One row per alert (an AlertRow), newest first."""

    default_sort = "-raised_at"
    columns = (
        Column("id", "Id", lambda r: r.alert.pk, in_html=False),
        Column("scope", "Scope", lambda r: r.alert.scope_label, html=_scope_html, sort=_lower),
        Column("scope_kind", "Scope kind", lambda r: r.alert.scope, in_html=False),
        Column("rule", "Rule", lambda r: r.alert.rule_name, in_html=False),
        Column("team", "Team", lambda r: r.alert.team.name if r.alert.team else None, html=_team_html,
               sort=_lower),
        Column("threshold", "Threshold", lambda r: r.alert.threshold, html=lambda v, r: threshold_text(v),
               numeric=True, csv_header="Threshold (%)", title="percent of the expected spend"),
        Column("ratio", "Ratio", lambda r: r.alert.ratio, html=_ratio_html, numeric=True,
               csv_header="Ratio (%)", title="the larger of actual and projected against expected; peak: "
               "the highest it reached in the period"),
        Column("peak_ratio", "Peak ratio (%)", lambda r: r.alert.peak_ratio, in_html=False),
        Column("actual", "Actual", lambda r: r.actual, html=_actual_html, numeric=True,
               title="spend in the period so far, against the expected spend to date"),
        Column("expected", "Expected", lambda r: r.expected, in_html=False),
        Column("currency", "Currency", lambda r: r.alert.currency, in_html=False),
        Column("period", "Period", lambda r: r.period, sort=lambda v, r: r.alert.period_start),
        Column("period_start", "Period start", lambda r: r.alert.period_start, csv=lambda v, r: _iso(v),
               in_html=False),
        Column("period_end", "Period end (exclusive)", lambda r: r.alert.period_end,
               csv=lambda v, r: _iso(v), in_html=False),
        Column("state", "State", lambda r: r.alert.state, html=_state_html, sort=_lower),
        Column("raised_at", "Raised", lambda r: r.alert.raised_at, html=_when_html, csv=lambda v, r: _iso(v),
               descending_first=True, title="UTC"),
        Column("recovered_at", "Recovered", lambda r: r.alert.recovered_at, html=_when_html,
               csv=lambda v, r: _iso(v), descending_first=True, title="UTC"),
        Column("delivery", "Delivery", lambda r: r.delivery_text or None, html=_delivery_html, sort=None),
    )  # fmt: skip
