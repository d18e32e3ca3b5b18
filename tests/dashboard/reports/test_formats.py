"""The review as files: the XLSX opens with openpyxl with a summary sheet first, one sheet per table,
money as numbers in a currency format, frozen header rows and set column widths; the CSV zip holds one
UTF-8 CSV per table; text a spreadsheet would run as a formula is neutralised in both while negative
amounts stay numbers."""

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from dashboard.models import Team
from dashboard.reports import formats
from dashboard.reports.review import ReportColumn, ReportTable, Review, build_review
from dashboard.reports.weeks import IsoWeek
from tests.conftest import NOW
from tests.dashboard.reports.review_fleet import EVIL, WEEK, review_fleet, spend  # noqa: F401

FORMULAS = [EVIL, "+1+1", "-2+3", "@SUM(A1:A9)", "\tSUM(A1)", "\rSUM(A1)"]
COLUMNS = (
    ReportColumn("endpoint", "Endpoint"),
    ReportColumn("team", "Team"),
    ReportColumn("spend", "Spend", "money"),
    ReportColumn("change", "Change", "money"),
    ReportColumn("per_1k", "Cost per 1k", "money", 4),
    ReportColumn("invocations", "Invocations", "int"),
    ReportColumn("p99", "p99 (ms)", "float"),
    ReportColumn("error_rate", "Error rate", "percent"),
    ReportColumn("day", "Day", "date"),
    ReportColumn("at", "At (UTC)", "datetime"),
)


def hand_review(currency="USD", team=None) -> Review:
    rows = [
        {"endpoint": name, "team": "Équipe Ω", "spend": Decimal("10.5"), "change": Decimal("-12.5"),
         "per_1k": Decimal("0.0123"), "invocations": 1234, "p99": 81.25, "error_rate": 0.0125,
         "day": date(2026, 11, 16), "at": datetime(2026, 11, 17, 9, 30, tzinfo=UTC)}
        for name in [*FORMULAS, "a-rather-long-endpoint-name-that-needs-a-wide-column"]
    ]  # fmt: skip
    rows.append({c.key: None for c in COLUMNS} | {"endpoint": "unknowns"})
    headline = {
        "total": Decimal("10.5"), "previous": Decimal("23"), "change": Decimal("-12.5"), "change_pct": -0.54,
        "untagged": Decimal(0), "untagged_share": 0.0, "top_movers": [], "open_recommendations": 2,
        "monthly_savings_open": Decimal("99.99"), "alerts_raised": 1, "endpoints": len(rows),
    }  # fmt: skip
    tables = [ReportTable("endpoints", "Endpoints", COLUMNS, rows), ReportTable("alerts", "Alerts", COLUMNS)]
    return Review(IsoWeek(2026, 47), team, currency, NOW, headline, tables)


def workbook(review):
    return load_workbook(io.BytesIO(formats.to_xlsx(review)))


def by_header(ws) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1]}


def csv_files(review) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(formats.to_csv_zip(review))) as archive:
        return {n: list(csv.reader(io.StringIO(archive.read(n).decode("utf-8")))) for n in archive.namelist()}


def test_file_names_say_week_and_scope():
    assert formats.filename(hand_review(), "xlsx") == "finops-review-2026-W47-fleet.xlsx"
    search = hand_review(team=SimpleNamespace(name="Search", slug="search"))
    assert formats.filename(search, "csv") == "finops-review-2026-W47-search.zip"
    with pytest.raises(ValueError, match="unknown format"):
        formats.render(search, "pdf")


def test_xlsx_has_the_summary_first_then_one_sheet_per_table_with_frozen_headers_and_widths():
    wb = workbook(hand_review())
    assert wb.sheetnames == ["Summary", "Endpoints", "Alerts"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.bold
        assert all(ws.column_dimensions[cell.column_letter].customWidth for cell in ws[1])
    endpoints = wb["Endpoints"]
    assert endpoints.column_dimensions["A"].width > endpoints.column_dimensions["F"].width >= 8
    summary = {row[0].value: row[1] for row in wb["Summary"].iter_rows(min_row=2)}
    assert summary["Scope"].value == "Whole fleet" and summary["Week"].value == "2026-W47"
    assert summary["Total spend"].value == 10.5 and summary["Total spend"].number_format == '"$"#,##0.00'
    assert summary["Change"].value == -12.5 and summary["Change"].data_type == "n"
    assert summary["Change %"].number_format == "0.0%"
    assert summary["Generated at (UTC)"].value == datetime(2026, 11, 20, 10, 17)
    assert wb["Alerts"].max_row == 1  # an empty table keeps its header


def test_xlsx_money_is_numbers_in_the_currency_format():
    ws = workbook(hand_review())["Endpoints"]
    col = by_header(ws)
    assert {"Spend (USD)", "Change (USD)", "Cost per 1k (USD)", "Error rate"} <= set(col)
    row = 2
    spend_cell = ws.cell(row, col["Spend (USD)"])
    assert (spend_cell.value, spend_cell.data_type, spend_cell.number_format) == (10.5, "n", '"$"#,##0.00')
    assert ws.cell(row, col["Cost per 1k (USD)"]).number_format == '"$"#,##0.0000'
    assert ws.cell(row, col["Invocations"]).number_format == "#,##0"
    rate = ws.cell(row, col["Error rate"])
    assert (rate.value, rate.number_format) == (0.0125, "0.0%")
    assert ws.cell(row, col["Day"]).is_date
    assert ws.cell(row, col["At (UTC)"]).value == datetime(2026, 11, 17, 9, 30)
    unknown = ws.cell(ws.max_row, col["Spend (USD)"])
    assert unknown.value is None  # unknown stays empty, never 0

    eur = workbook(hand_review(currency="EUR"))["Endpoints"]
    assert eur.cell(2, by_header(eur)["Spend (EUR)"]).number_format == '#,##0.00 "EUR"'
    assert formats.money_format("GBP", 4) == '#,##0.0000 "GBP"'


def test_formulas_are_neutralised_and_negative_money_stays_a_number_in_xlsx():
    ws = workbook(hand_review())["Endpoints"]
    col = by_header(ws)
    names = [ws.cell(r, 1) for r in range(2, 2 + len(FORMULAS))]
    # XML reads a carriage return back as a line feed; the quote in front is what matters.
    assert [c.value for c in names] == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    assert {c.data_type for c in names} == {"s"}
    change = ws.cell(2, col["Change (USD)"])
    assert (change.value, change.data_type) == (-12.5, "n")
    assert formats.xlsx_value("bell\x07 and tab\t", "text") == "bell and tab\t"  # XML cannot hold a bell


def test_formulas_are_neutralised_and_negative_money_stays_a_number_in_csv():
    files = csv_files(hand_review())
    assert list(files) == ["summary.csv", "endpoints.csv", "alerts.csv"]
    header, *rows = files["endpoints.csv"]
    assert header[2:6] == ["Spend (USD)", "Change (USD)", "Cost per 1k (USD)", "Invocations"]
    assert header[7] == "Error rate (%)"
    assert [r[0] for r in rows[: len(FORMULAS)]] == ["'" + f for f in FORMULAS]
    assert rows[0][1:8] == ["Équipe Ω", "10.5000", "-12.5000", "0.0123", "1234", "81.25", "1.25"]
    assert rows[0][8:] == ["2026-11-16", "2026-11-17T09:30:00+00:00"]
    assert rows[-1] == ["unknowns"] + [""] * (len(COLUMNS) - 1)
    summary = dict(files["summary.csv"][1:])
    assert [summary[k] for k in ("Total spend", "Change", "Change %")] == ["10.5000", "-12.5000", "-54.0"]
    assert files["alerts.csv"] == [header]


def test_workbook_figures_equal_the_stored_rows_and_text_is_neutralised(review_fleet, team_vision):  # noqa: F811
    Team.objects.filter(pk=team_vision.pk).update(name=EVIL)
    review = build_review(WEEK, now=NOW)
    wb = workbook(review)
    assert wb.sheetnames == [
        "Summary", "Endpoints", "Teams", "Accounts", "Top movers", "Untagged spend", "Recommendations",
        "Alerts raised",
    ]  # fmt: skip
    ws = wb["Endpoints"]
    col = by_header(ws)
    rows = {ws.cell(r, col["Endpoint"]).value: r for r in range(2, ws.max_row + 1)}
    assert set(rows) == {"search-ranker", "search-fresh", "vision-detector", "orphan"}
    for name, r in rows.items():
        assert ws.cell(r, col["Spend (USD)"]).value == pytest.approx(float(spend(review_fleet[name], WEEK)))
    detector = rows["vision-detector"]
    assert ws.cell(detector, col["Team"]).value == "'" + EVIL
    change = ws.cell(detector, col["Change (USD)"])
    assert change.data_type == "n" and change.value < 0
    total = sum(ws.cell(r, col["Spend (USD)"]).value for r in rows.values())
    summary = {row[0].value: row[1].value for row in wb["Summary"].iter_rows(min_row=2)}
    assert summary["Total spend"] == pytest.approx(total)
    assert "'" + EVIL in {c.value for c in wb["Teams"]["A"]}
    assert "'@SUM(1+1) more memory" in {c.value for c in wb["Recommendations"]["A"]}

    files = csv_files(review)
    assert next(iter(files)) == "summary.csv" and "untagged.csv" in files
    teams = {r[0] for r in files["teams.csv"][1:]}
    assert "'" + EVIL in teams and EVIL not in teams
