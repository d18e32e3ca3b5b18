"""Figures over calendar patterns rather than a time range: cost per 1,000 invocations per ISO week, and
cold starts by hour of the day. Each is one aggregate query over `EndpointSummary`, whatever the number
of endpoints or days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Max, Sum
from django.db.models.functions import ExtractHour, TruncWeek

from dashboard.insights.model import HourProfile
from dashboard.models import EndpointSummary

WEEKS = 8  # what the pages and the API show


@dataclass(frozen=True)
class Week:
    """One ISO week, Monday 00:00 UTC to the next Monday. Cost and invocations come from the same daily
    rows (the days that have a cost), as EndpointFigures.cost_per_1k does, so a week whose costs lag
    behind its metrics is not skewed."""

    start: date  # the Monday
    cost: Decimal | None  # best source per day, summed; None: no day of the week has a cost
    invocations: float | None  # on the days that have a cost
    cost_days: int  # endpoint-days with a cost
    currency: str
    sources: tuple[str, ...]
    partial: bool  # the current week: not over yet
    change: float | None  # cost per 1k against the week before, as a ratio (0.1 = 10% dearer)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def iso(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def cost_per_1k(self) -> Decimal | None:
        return per_1k(self.cost, self.invocations)


def per_1k(cost: Decimal | None, invocations: float | None) -> Decimal | None:
    if cost is None or not invocations:
        return None
    return cost / Decimal(str(invocations)) * 1000


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def weekly_cost_per_1k(endpoint_ids, weeks: int, today: date) -> list[Week]:
    """The last `weeks` ISO weeks up to the one holding `today` (marked partial), oldest first, over the
    endpoints together. One query; the week before the first is read too, for the first week's change."""
    ids = list(endpoint_ids)
    this_monday = today - timedelta(days=today.weekday())
    first = this_monday - timedelta(weeks=weeks)
    by_week = {}
    if ids:
        rows = (
            EndpointSummary.objects.filter(
                endpoint_id__in=ids, resolution=EndpointSummary.DAILY,
                bucket__gte=_midnight(first), bucket__lt=_midnight(this_monday + timedelta(days=7)),
            )
            .exclude(cost=None)
            .annotate(week=TruncWeek("bucket", tzinfo=UTC))
            .values("week")
            .annotate(
                cost=Sum("cost"), invocations=Sum("invocations"), days=Count("bucket"),
                currency=Max("currency"), sources=ArrayAgg("cost_source", distinct=True),
            )
        )  # fmt: skip
        by_week = {r["week"].date(): r for r in rows}
    out, before = [], None
    for n in range(weeks + 1):
        monday = first + timedelta(weeks=n)
        r = by_week.get(monday)
        cost = r["cost"] if r else None
        invocations = (r["invocations"] or 0.0) if r else None
        now = per_1k(cost, invocations)
        if n:
            out.append(
                Week(
                    start=monday, cost=cost, invocations=invocations, cost_days=r["days"] if r else 0,
                    currency=r["currency"] if r else "", sources=tuple(sorted(r["sources"])) if r else (),
                    partial=monday == this_monday,
                    change=float((now - before) / before) if now is not None and before else None,
                )
            )  # fmt: skip
        before = now
    return out


def cold_starts_by_hour(endpoint_id: int, start: datetime, end: datetime) -> list[HourProfile]:
    """Invocations, cold starts and their total setup time per hour of the day (UTC) over [start, end),
    from the hourly summary rows (kept long after raw points): 24 profiles, hour 0 first."""
    rows = (
        EndpointSummary.objects.filter(
            endpoint_id=endpoint_id, resolution=EndpointSummary.HOURLY, bucket__gte=start, bucket__lt=end
        )
        .annotate(hour=ExtractHour("bucket", tzinfo=UTC))
        .values("hour")
        .annotate(invocations=Sum("invocations"), cold_starts=Sum("cold_starts"), ms=Sum("cold_start_ms"))
    )
    by_hour = {r["hour"]: r for r in rows}
    return [
        HourProfile(h, r["invocations"] or 0.0, r["cold_starts"] or 0.0, r["ms"] or 0.0)
        if (r := by_hour.get(h))
        else HourProfile(h)
        for h in range(24)
    ]
