"""The weekly FinOps review of one ISO week, for the whole fleet or one team: per-endpoint figures against
the week before, totals per team and account, top movers, untagged spend, recommendations and the
alerts raised in the week, as plain tables that formats.py writes as XLSX or CSV.

The figures are the pages' own: rows come from the fleet page's `load_rows` (services/figures over the
week as a custom Monday-to-Sunday range), so the review and the fleet page over the same days agree.
Recommendations are as they stand when the review is made (their status is current, not as of the
week). Money is Decimal in the currency AWS gave; a fixed number of queries whatever the fleet size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Q, Value, When

from dashboard.models import Alert, Endpoint, Recommendation, Team
from dashboard.reports.weeks import IsoWeek
from dashboard.services.figures import endpoint_figures
from dashboard.services.rows import load_rows
from dashboard.tables import UNKNOWN, FleetTable, Row
from dashboard.tables.alerts import AlertRow
from dashboard.tables.recommendations import RecRow

KINDS = ("text", "money", "int", "float", "percent", "date", "datetime")
TOP_MOVERS = 10  # rows in the movers table; the headline keeps the first HEADLINE_MOVERS
HEADLINE_MOVERS = 5
CENT = Decimal("0.005")  # a weekly change that rounds to 0.00 is not a move
UNTAGGED_LABEL = "Untagged (no team)"
STATUS_ORDER = [Recommendation.Status.OPEN, Recommendation.Status.ACCEPTED, Recommendation.Status.DISMISSED]

# The fleet page's column values, so the review reads an endpoint exactly as the page does.
FLEET = {c.key: c.value for c in FleetTable.columns}


class WeekNotOver(ValueError):
    pass


@dataclass(frozen=True)
class ReportColumn:
    key: str
    header: str
    kind: str = "text"
    digits: int = 2  # decimals a spreadsheet shows for money (costs per 1k are fractions of a cent)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})")


@dataclass
class ReportTable:
    name: str  # file and key: "endpoints"
    title: str  # sheet title (at most 31 characters)
    columns: tuple[ReportColumn, ...]
    rows: list[dict] = field(default_factory=list)  # column key -> value; None when unknown


@dataclass
class Review:
    week: IsoWeek
    team: Team | None  # None: the whole fleet
    currency: str
    generated_at: datetime
    headline: dict
    tables: list[ReportTable]

    @property
    def scope_label(self) -> str:
        return f"Team {self.team.name}" if self.team else "Whole fleet"

    @property
    def scope_key(self) -> str:
        return self.team.slug if self.team else "fleet"

    def table(self, name: str) -> ReportTable:
        return next(t for t in self.tables if t.name == name)

    @property
    def summary(self) -> list[tuple[str, object, str]]:
        """The headline as (label, value, kind) lines: the summary sheet and summary.csv."""
        h = self.headline
        return [
            ("Scope", self.scope_label, "text"),
            ("Week", self.week.label, "text"),
            ("From (Monday 00:00 UTC)", self.week.start, "date"),
            ("To (next Monday 00:00 UTC, exclusive)", self.week.end, "date"),
            ("Generated at (UTC)", self.generated_at, "datetime"),
            ("Currency", self.currency, "text"),
            ("Total spend", h["total"], "money"),
            ("Previous week", h["previous"], "money"),
            ("Change", h["change"], "money"),
            ("Change %", h["change_pct"], "percent"),
            ("Untagged spend", h["untagged"], "money"),
            ("Untagged share", h["untagged_share"], "percent"),
            ("Endpoints", h["endpoints"], "int"),
            ("Open recommendations", h["open_recommendations"], "int"),
            ("Monthly savings of open recommendations", h["monthly_savings_open"], "money"),
            ("Alerts raised in the week", h["alerts_raised"], "int"),
        ]


def _cols(*specs) -> tuple[ReportColumn, ...]:
    return tuple(ReportColumn(*s) for s in specs)


MOVE = (("spend", "Spend", "money"), ("previous", "Previous week", "money"), ("change", "Change", "money"),
        ("change_pct", "Change %", "percent"))  # fmt: skip
ENDPOINTS = _cols(
    ("endpoint", "Endpoint"), ("account_id", "Account"), ("account_label", "Account label"),
    ("region", "Region"), ("team", "Team"), ("tags", "Tags"), ("kind", "Kind"), ("shape", "Shape"),
    ("status", "Status"), *MOVE, ("invocations", "Invocations", "int"),
    ("cost_per_1k", "Cost per 1k invocations", "money", 4), ("p50", "p50 latency (ms)", "float"),
    ("p95", "p95 latency (ms)", "float"), ("p99", "p99 latency (ms)", "float"),
    ("cold_start_rate", "Cold-start rate", "percent"), ("error_rate", "Error rate (4XX + 5XX)", "percent"),
    ("peak_use", "Peak use vs configured", "percent"), ("peak_use_detail", "Peak use (memory or GPU)"),
    ("cost_source", "Cost source"), ("cost_data", "Cost data (resource, tag, estimate)"),
)  # fmt: skip
GROUP = (*MOVE, ("share", "Share of spend", "percent"), ("endpoints", "Endpoints", "int"),
         ("invocations", "Invocations", "int"))  # fmt: skip
TEAMS = _cols(("team", "Team"), *GROUP)
ACCOUNTS = _cols(("account_id", "Account"), ("account_label", "Account label"), *GROUP)
MOVERS = _cols(("endpoint", "Endpoint"), ("account_id", "Account"), ("region", "Region"), ("team", "Team"),
               *MOVE)  # fmt: skip
UNTAGGED = _cols(("endpoint", "Endpoint"), ("account_id", "Account"), ("region", "Region"), ("tags", "Tags"),
                 ("spend", "Spend", "money"), ("previous", "Previous week", "money"),
                 ("share", "Share of spend", "percent"))  # fmt: skip
RECOMMENDATIONS = _cols(
    ("title", "Recommendation"), ("rule", "Rule"), ("scope", "Endpoint / scope"), ("account_id", "Account"),
    ("region", "Region"), ("team", "Team"), ("current", "Current configuration"), ("proposed", "Proposed"),
    ("monthly_saving", "Monthly saving (negative: costs more)", "money"), ("currency", "Currency"),
    ("confidence", "Confidence", "percent"), ("status", "Status"),
    ("status_changed_at", "Status changed at (UTC)", "datetime"), ("status_changed_by", "Status changed by"),
    ("status_note", "Note"), ("first_seen_at", "First seen (UTC)", "datetime"),
)  # fmt: skip
ALERTS = _cols(
    ("raised_at", "Raised at (UTC)", "datetime"), ("scope", "Scope"), ("scope_kind", "Scope kind"),
    ("rule", "Rule"), ("team", "Team"), ("threshold", "Threshold", "percent"),
    ("ratio", "Ratio (actual or projected vs expected)", "percent"), ("peak_ratio", "Peak ratio", "percent"),
    ("actual", "Actual", "money"), ("expected", "Expected", "money"), ("currency", "Currency"),
    ("period_start", "Period start", "date"), ("period_end", "Period end (exclusive)", "date"),
    ("state", "State"), ("recovered_at", "Recovered at (UTC)", "datetime"),
)  # fmt: skip


def build_review(week: IsoWeek, *, team: Team | None = None, now: datetime) -> Review:
    """The review of `week` for `team` (None: the whole fleet). Who may see it is the caller's business.
    Raises WeekNotOver (a ValueError) for a week that has not ended at `now`."""
    if not week.is_over(now):
        raise WeekNotOver(f"week {week.label} has not ended yet: it ends on {week.end:%A %Y-%m-%d} 00:00 UTC")
    today = now.date()
    before = week.previous()
    # Every endpoint that existed in either week, deleted ones too: their spend then was real.
    endpoints = Endpoint.objects.filter(
        Q(deleted_at=None) | Q(deleted_at__gte=before.time_range.start),
        Q(created_at=None) | Q(created_at__lt=week.time_range.end),
    )
    if team is not None:
        endpoints = endpoints.filter(team=team)
    rows = load_rows(endpoints, week.time_range, today=today, with_tags=True)
    previous = endpoint_figures([r.endpoint.pk for r in rows], before.time_range, today=today)
    lines = [_endpoint_line(r, previous[r.endpoint.pk].cost) for r in rows]
    lines.sort(key=lambda x: (-(x["spend"] or 0), x["endpoint"].lower(), x["account_id"]))
    currency = next((r.figures.currency for r in rows if r.figures.currency), "") or next(
        (f.currency for f in previous.values() if f.currency), "USD"
    )

    total = _sum(x["spend"] for x in lines)
    prior = _sum(x["previous"] for x in lines)
    untagged_lines = [x for x in lines if x["team"] is None]
    untagged = _sum(x["spend"] for x in untagged_lines)
    movers = sorted((x for x in lines if x["change"] is not None and abs(x["change"]) >= CENT),
                    key=lambda x: abs(x["change"]), reverse=True)[:TOP_MOVERS]  # fmt: skip
    recommendations = _recommendations(team)
    alerts = _alerts(week, team)
    open_recs = [r for r in recommendations if r.status == Recommendation.Status.OPEN]

    fleet = team is None  # teams and untagged spend are fleet matters: a team's review has one team
    tables = [
        ReportTable("endpoints", "Endpoints", ENDPOINTS, lines),
        ReportTable("teams", "Teams", TEAMS, _groups(lines, ("team",), total)) if fleet else None,
        ReportTable("accounts", "Accounts", ACCOUNTS, _groups(lines, ("account_id", "account_label"), total)),
        ReportTable("movers", "Top movers", MOVERS, [_pick(MOVERS, x) for x in movers]),
        ReportTable(
            "untagged", "Untagged spend", UNTAGGED,
            [{**_pick(UNTAGGED, x), "share": _share(x["spend"], total)} for x in untagged_lines],
        ) if fleet else None,
        ReportTable("recommendations", "Recommendations", RECOMMENDATIONS,
                    [_recommendation_line(r) for r in recommendations]),
        ReportTable("alerts", "Alerts raised", ALERTS, [_alert_line(a) for a in alerts]),
    ]  # fmt: skip

    headline = {
        "total": total,
        "previous": prior,
        "change": total - prior,
        "change_pct": _share(total - prior, prior),
        "untagged": untagged,
        "untagged_share": _share(untagged, total),
        "top_movers": [(x["endpoint"], x["change"]) for x in movers[:HEADLINE_MOVERS]],
        "open_recommendations": len(open_recs),
        # As the recommendations page totals them: the positive savings, in the review's currency.
        "monthly_savings_open": _sum(
            r.monthly_saving
            for r in open_recs
            if r.monthly_saving is not None and r.monthly_saving > 0 and r.currency == currency
        ),
        "alerts_raised": len(alerts),
        "endpoints": len(lines),
    }
    return Review(week, team, currency, now, headline, [t for t in tables if t is not None])


def _pick(columns: tuple[ReportColumn, ...], line: dict) -> dict:
    return {c.key: line.get(c.key) for c in columns}


def _sum(values) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))


def _share(part: Decimal | None, whole: Decimal | None) -> float | None:
    return float(part / whole) if part is not None and whole else None


def _change(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    """A side without a cost counts as 0 when the other has one: every day of a live endpoint gets at
    least our usage x price estimate, so a missing week means it did not exist or did not run then."""
    if now is None and before is None:
        return None
    return (now or Decimal(0)) - (before or Decimal(0))


def cost_basis(row: Row) -> str | None:
    """billed: every day from Cost Explorer and final; estimated: every day our usage x price estimate;
    partly estimated: anything between (AWS's own estimates included)."""
    f = row.figures
    if not f.cost_sources:
        return None
    if f.cost_sources == {"estimate"}:
        return "estimated"
    if "estimate" not in f.cost_sources and not f.cost_estimated and not row.aws_estimated:
        return "billed"
    return "partly estimated"


def _endpoint_line(row: Row, previous: Decimal | None) -> dict:
    e, f = row.endpoint, row.figures
    usage = row.usage
    peak = FLEET["peak_use"](row)
    return {
        "endpoint": e.name,
        "account_id": e.account.account_id,
        "account_label": e.account.label or None,
        "region": e.region,
        "team": e.team.name if e.team else None,
        "team_slug": e.team.slug if e.team else None,
        "tags": "; ".join(f"{k}={v}" for k, v in sorted(e.tags.items())) or None,
        "kind": FLEET["kind"](row),
        "shape": FLEET["shape"](row) or None,
        "status": FLEET["status"](row),
        "spend": f.cost,
        "previous": previous,
        "change": _change(f.cost, previous),
        "change_pct": _share(_change(f.cost, previous), previous),
        "invocations": round(usage.invocations) if usage else None,
        "cost_per_1k": FLEET["cost_per_1k"](row),
        "p50": FLEET["p50"](row),
        "p95": FLEET["p95"](row),
        "p99": FLEET["p99"](row),
        "cold_start_rate": FLEET["cold_start_rate"](row),
        "error_rate": FLEET["error_rate"](row),
        "peak_use": peak.pct / 100 if peak else None,
        "peak_use_detail": peak.text if peak else None,
        "cost_source": cost_basis(row),
        "cost_data": FLEET["cost_source"](row),
    }


def _groups(lines: list[dict], keys: tuple[str, ...], total: Decimal) -> list[dict]:
    """Totals per team (untagged as one group) or account, largest spend first."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for x in lines:
        groups[tuple(x[k] for k in keys)].append(x)
    out = []
    for key, members in groups.items():
        spend = _sum(x["spend"] for x in members) if any(x["spend"] is not None for x in members) else None
        before = (
            _sum(x["previous"] for x in members) if any(x["previous"] is not None for x in members) else None
        )
        measured = [x["invocations"] for x in members if x["invocations"] is not None]
        out.append({
            **dict(zip(keys, key, strict=True)),
            "spend": spend, "previous": before, "change": _change(spend, before),
            "change_pct": _share(_change(spend, before), before), "share": _share(spend, total),
            "endpoints": len(members), "invocations": sum(measured) if measured else None,
        })  # fmt: skip
        if keys == ("team",) and key == (None,):
            out[-1]["team"] = UNTAGGED_LABEL
    out.sort(key=lambda g: (-(g["spend"] or 0), str(g[keys[0]]).lower()))
    return out


def _recommendations(team: Team | None) -> list[Recommendation]:
    """The active recommendations of the scope: open first, then accepted, then dismissed; largest
    saving first within each (unknown savings last)."""
    recs = Recommendation.objects.filter(active=True)
    if team is not None:
        recs = recs.filter(team=team)
    order = Case(*(When(status=s, then=Value(i)) for i, s in enumerate(STATUS_ORDER)), default=Value(9),
                 output_field=IntegerField())  # fmt: skip
    return list(
        recs.select_related("endpoint", "account", "team", "status_changed_by").order_by(
            order, F("monthly_saving").desc(nulls_last=True), "rule", "key"
        )
    )


def _recommendation_line(rec: Recommendation) -> dict:
    row = RecRow(rec)
    return {
        "title": rec.title,
        "rule": row.rule_label,
        "scope": row.scope,
        "account_id": rec.account.account_id,
        "region": rec.region,
        "team": rec.team.name if rec.team else None,
        "current": _known(row.current),
        "proposed": _known(row.proposed),
        "monthly_saving": rec.monthly_saving,
        "currency": rec.currency,
        "confidence": rec.confidence,
        "status": rec.status,
        "status_changed_at": rec.status_changed_at,
        "status_changed_by": rec.status_changed_by.get_username() if rec.status_changed_by else None,
        "status_note": rec.status_note or None,
        "first_seen_at": rec.first_seen_at,
    }


def _known(text: str) -> str | None:
    """The pages' "—" for nothing known is an empty cell in a spreadsheet."""
    return None if text in ("", UNKNOWN) else text


def _alerts(week: IsoWeek, team: Team | None) -> list[Alert]:
    rng = week.time_range
    alerts = Alert.objects.filter(raised_at__gte=rng.start, raised_at__lt=rng.end)
    if team is not None:
        alerts = alerts.filter(team=team)
    return list(alerts.select_related("team").order_by("raised_at", "pk"))


def _percent(value: Decimal | None) -> float | None:
    """Alerts store percentages (150.00); the review's percent columns hold ratios (1.5)."""
    return float(value) / 100 if value is not None else None


def _alert_line(alert: Alert) -> dict:
    row = AlertRow(alert)
    return {
        "raised_at": alert.raised_at,
        "scope": alert.scope_label,
        "scope_kind": alert.scope,
        "rule": alert.rule_name,
        "team": alert.team.name if alert.team else None,
        "threshold": _percent(alert.threshold),
        "ratio": _percent(alert.ratio),
        "peak_ratio": _percent(alert.peak_ratio),
        "actual": row.actual,
        "expected": row.expected,
        "currency": alert.currency,
        "period_start": alert.period_start,
        "period_end": alert.period_end,
        "state": alert.state,
        "recovered_at": alert.recovered_at,
    }
