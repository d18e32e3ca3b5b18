"""The review's content: ISO weeks and their boundaries, per-endpoint figures equal to the stored rows
(summed here, independently of the code), totals per team and account, movers, untagged spend,
recommendations and alerts; the fleet page over the same days agrees; a fixed number of queries."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.models import AwsAccount, Endpoint, EndpointCost
from dashboard.reports.review import WeekNotOver, build_review
from dashboard.reports.weeks import IsoWeek
from dashboard.tables import csv_cell
from tests.conftest import NOW
from tests.dashboard.reports.review_fleet import (  # noqa: F401  (review_fleet: fixture)
    EVIL,
    WEEK,
    at,
    endpoint,
    hourly,
    review_fleet,
    spend,
)

AFTER = datetime(2027, 2, 1, tzinfo=UTC)  # when every week these tests read has ended


# --- ISO weeks ------------------------------------------------------------------------------------------
def test_iso_weeks_parse_and_bad_ones_say_why():
    week = IsoWeek.parse("2026-W47")
    assert (week.year, week.week, week.label, str(week)) == (2026, 47, "2026-W47", "2026-W47")
    assert (week.start, week.last, week.end) == (date(2026, 11, 16), date(2026, 11, 22), date(2026, 11, 23))
    assert IsoWeek.parse(" 2026-w05 ") == IsoWeek(2026, 5)
    for bad in ["", "2026-47", "2026W47", "2026-W7", "26-W47", "2026-W00", "2026-W47x", None]:
        with pytest.raises(ValueError, match="ISO week"):
            IsoWeek.parse(bad)


def test_week_53_exists_only_in_long_years_and_week_1_can_start_in_december():
    # 2026 starts on a Thursday: it has 53 weeks, the last spanning the new year.
    assert IsoWeek.weeks_in(2026) == 53
    w53 = IsoWeek.parse("2026-W53")
    assert (w53.start, w53.end) == (date(2026, 12, 28), date(2027, 1, 4))
    assert IsoWeek.parse("2027-W01").start == date(2027, 1, 4)
    assert IsoWeek.parse("2027-W01").previous() == w53
    assert w53.next() == IsoWeek(2027, 1)
    for missing in ["2027-W53", "2025-W53"]:
        with pytest.raises(ValueError, match=r"has no ISO week 53 \(weeks 01 to 52\)"):
            IsoWeek.parse(missing)
    # 2026-W01 starts in 2025; 1 January 2027 (a Friday) belongs to 2026-W53.
    assert IsoWeek.parse("2026-W01").start == date(2025, 12, 29)
    assert IsoWeek.parse("2026-W01").previous() == IsoWeek(2025, 52)
    assert IsoWeek.of(date(2027, 1, 1)) == w53
    assert IsoWeek.of(date(2025, 12, 29)) == IsoWeek(2026, 1)


def test_last_complete_week_is_the_one_before_now():
    assert IsoWeek.last_complete(NOW) == IsoWeek(2026, 46)  # NOW is Friday of 2026-W47
    monday = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert IsoWeek.last_complete(monday) == IsoWeek(2026, 47)
    assert IsoWeek.last_complete(monday - timedelta(microseconds=1)) == IsoWeek(2026, 46)
    assert IsoWeek.last_complete(datetime(2027, 1, 4, 6, tzinfo=UTC)) == IsoWeek(2026, 53)
    assert IsoWeek(2026, 47).is_over(monday) and not IsoWeek(2026, 47).is_over(NOW)


def test_a_week_that_has_not_ended_is_refused(db):
    with pytest.raises(WeekNotOver, match="2026-W47 has not ended yet"):
        build_review(IsoWeek(2026, 47), now=NOW)
    build_review(IsoWeek(2026, 47), now=datetime(2026, 11, 23, tzinfo=UTC))  # at its end it has


# --- boundaries -----------------------------------------------------------------------------------------
def test_sunday_belongs_to_its_week_and_monday_to_the_next(db):
    account = AwsAccount.objects.create(account_id="333333333333", regions=["us-east-1"])
    e = endpoint(account, "edge", None, dict(kind="serverless", memory_mb=1024, max_concurrency=1))
    EndpointCost.objects.bulk_create([
        EndpointCost(endpoint=e, day=day, source="resource", amount=Decimal(amount), currency="USD",
                     estimated=False, computed_at=NOW)
        for day, amount in [(date(2026, 11, 15), "7.00"), (date(2026, 11, 16), "11.00")]
    ])  # fmt: skip
    from collectors.store.summary import refresh_cost_summaries

    refresh_cost_summaries([e.pk], date(2026, 11, 1), date(2026, 12, 1))
    w46 = build_review(IsoWeek(2026, 46), now=AFTER)
    w47 = build_review(IsoWeek(2026, 47), now=AFTER)
    assert (w46.headline["total"], w47.headline["total"]) == (Decimal("7.00"), Decimal("11.00"))
    assert w47.headline["previous"] == Decimal("7.00")


def test_a_week_spanning_new_year_holds_both_years_days(db):
    account = AwsAccount.objects.create(account_id="333333333333", regions=["us-east-1"])
    e = endpoint(account, "year-end", None, dict(kind="serverless", memory_mb=1024, max_concurrency=1))
    amounts = {date(2026, 12, 27): "1", date(2026, 12, 28): "2", date(2027, 1, 3): "4", date(2027, 1, 4): "8"}
    EndpointCost.objects.bulk_create(
        EndpointCost(endpoint=e, day=day, source="estimate", amount=Decimal(a), currency="USD",
                     estimated=True, computed_at=NOW)
        for day, a in amounts.items()
    )  # fmt: skip
    from collectors.store.summary import refresh_cost_summaries

    refresh_cost_summaries([e.pk], date(2026, 12, 1), date(2027, 2, 1))
    w53 = build_review(IsoWeek.parse("2026-W53"), now=AFTER)
    w01 = build_review(IsoWeek.parse("2027-W01"), now=AFTER)
    assert (w53.headline["total"], w53.headline["previous"]) == (Decimal(6), Decimal(1))
    assert (w01.headline["total"], w01.headline["previous"]) == (Decimal(8), Decimal(6))
    assert w53.table("endpoints").rows[0]["cost_source"] == "estimated"


# --- the figures ----------------------------------------------------------------------------------------
def test_endpoint_figures_equal_the_stored_rows(review_fleet):  # noqa: F811
    review = build_review(WEEK, now=NOW)
    rows = {r["endpoint"]: r for r in review.table("endpoints").rows}
    assert set(rows) == {"search-ranker", "search-fresh", "vision-detector", "orphan"}  # not search-retired
    for name, row in rows.items():
        e = review_fleet[name]
        now, before = spend(e, WEEK), spend(e, WEEK.previous())
        assert (row["spend"], row["previous"]) == (now, before), name
        assert row["change"] == now - (before or 0)
        hours = hourly(e, WEEK)
        invocations = sum(h.invocations for h in hours)
        assert row["invocations"] == invocations, name
        weight = sum(h.latency_weight for h in hours)
        for stat in ("p50", "p95", "p99"):
            assert row[stat] == pytest.approx(sum(getattr(h, f"latency_{stat}_w") for h in hours) / weight)
        errors = sum(h.errors_4xx + h.errors_5xx for h in hours)
        assert row["error_rate"] == pytest.approx(errors / invocations)
        assert row["cost_per_1k"] == pytest.approx(now / Decimal(invocations) * 1000)

    ranker, detector, orphan = rows["search-ranker"], rows["vision-detector"], rows["orphan"]
    # Sunday 23:00 is in the week, Monday 00:00 of either side is not double counted.
    assert ranker["invocations"] == 1200 + 1300 + 1400
    assert ranker["cold_start_rate"] == pytest.approx(9 / ranker["invocations"])
    assert detector["cold_start_rate"] is None  # instance endpoints have no cold starts to count
    assert ranker["peak_use"] == pytest.approx(0.44) and "of 6 GB" in ranker["peak_use_detail"]
    assert detector["peak_use"] == pytest.approx(0.50) and "GPU" in detector["peak_use_detail"]
    assert (ranker["cost_source"], detector["cost_source"], orphan["cost_source"]) == (
        "billed", "estimated", "partly estimated",
    )  # fmt: skip
    assert detector["change"] < 0 and orphan["tags"] == f"team={EVIL}" and orphan["team"] is None
    assert rows["search-fresh"]["previous"] is None  # created in the week: nothing to compare


def test_totals_per_team_and_account_and_untagged_share(review_fleet):  # noqa: F811
    review = build_review(WEEK, now=NOW)
    by_name = {name: (spend(e, WEEK), spend(e, WEEK.previous())) for name, e in review_fleet.items()}
    total = sum(now for now, _ in by_name.values() if now is not None)
    previous = sum(before for _, before in by_name.values() if before is not None)
    h = review.headline
    assert (h["total"], h["previous"], h["change"]) == (total, previous, total - previous)
    assert h["change_pct"] == pytest.approx(float((total - previous) / previous))
    assert h["untagged"] == by_name["orphan"][0]
    assert h["untagged_share"] == pytest.approx(float(by_name["orphan"][0] / total))
    assert review.currency == "USD" and h["endpoints"] == 4

    teams = {r["team"]: r for r in review.table("teams").rows}
    assert set(teams) == {"Search", "Vision", "Untagged (no team)"}
    assert teams["Search"]["spend"] == by_name["search-ranker"][0] + by_name["search-fresh"][0]
    assert teams["Search"]["endpoints"] == 2
    assert sum(r["share"] for r in teams.values()) == pytest.approx(1.0)
    accounts = {r["account_id"]: r for r in review.table("accounts").rows}
    assert accounts["222222222222"]["spend"] == by_name["vision-detector"][0]
    assert accounts["111111111111"]["previous"] == previous - by_name["vision-detector"][1]
    assert [r["endpoint"] for r in review.table("untagged").rows] == ["orphan"]

    movers = review.table("movers").rows
    changes = [abs(m["change"]) for m in movers]
    assert changes == sorted(changes, reverse=True) and movers[0]["endpoint"] == "vision-detector"
    assert h["top_movers"][0] == ("vision-detector", Decimal("-98.00"))
    assert "orphan" not in {m["endpoint"] for m in movers}  # the same spend both weeks: not a move


def test_recommendations_and_alerts_of_the_scope(review_fleet, team_search):  # noqa: F811
    fleet = build_review(WEEK, now=NOW)
    recs = fleet.table("recommendations").rows
    # Open first, largest saving first within a status; the inactive one left out.
    assert [(r["status"], r["monthly_saving"]) for r in recs] == [
        ("open", Decimal("120.50")), ("open", Decimal("-30")), ("open", None),
        ("accepted", Decimal("10")), ("dismissed", Decimal("55")),
    ]  # fmt: skip
    assert fleet.headline["open_recommendations"] == 3
    assert fleet.headline["monthly_savings_open"] == Decimal("120.50")  # not the one costing more
    alerts = fleet.table("alerts").rows
    assert [a["scope"] for a in alerts] == ["whole fleet", "team Search"]
    assert alerts[0]["threshold"] == pytest.approx(1.5) and alerts[1]["expected"] == Decimal("-12.50")
    assert fleet.headline["alerts_raised"] == 2

    team = build_review(WEEK, team=team_search, now=NOW)
    assert team.team == team_search and team.scope_key == "search"
    assert {r["endpoint"] for r in team.table("endpoints").rows} == {"search-ranker", "search-fresh"}
    assert [t.name for t in team.tables] == ["endpoints", "accounts", "movers", "recommendations", "alerts"]
    assert {r["team"] for r in team.table("recommendations").rows} == {"Search"}
    assert [a["scope"] for a in team.table("alerts").rows] == ["team Search"]
    assert team.headline["untagged"] == 0 and team.headline["total"] == sum(
        spend(review_fleet[n], WEEK) for n in ("search-ranker", "search-fresh")
    )


def test_the_fleet_page_over_the_same_days_agrees(client, review_fleet, finops_admin, monkeypatch):  # noqa: F811
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    client.force_login(finops_admin)
    params = {"range": "custom", "start": "2026-11-09", "end": "2026-11-15", "format": "csv", "deleted": "1"}
    text = client.get(reverse("fleet"), params).content.decode()
    page = {r["Endpoint"]: r for r in csv.DictReader(io.StringIO(text))}
    for row in build_review(WEEK, now=NOW).table("endpoints").rows:
        shown = page[row["endpoint"]]
        assert shown["Cost (range)"] == csv_cell(row["spend"])
        assert shown["Invocations"] == str(csv_cell(float(row["invocations"])))
        assert shown["p99 ms"] == str(csv_cell(row["p99"]))


def test_queries_do_not_grow_with_the_number_of_endpoints(review_fleet):  # noqa: F811
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            build_review(WEEK, now=NOW)
        return len(queries)

    before = count()
    account = AwsAccount.objects.get(account_id="111111111111")
    for n in range(5):
        e = endpoint(account, f"more-{n}", None, dict(kind="serverless", memory_mb=1024, max_concurrency=1))
        EndpointCost.objects.create(endpoint=e, day=date(2026, 11, 10), source="estimate", amount=Decimal(1),
                                    currency="USD", estimated=True, computed_at=NOW)  # fmt: skip
    assert Endpoint.objects.count() == 10
    assert count() == before <= 15
