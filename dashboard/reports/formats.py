"""A review written as an XLSX workbook (a summary sheet first, then one sheet per table) or a zip of
UTF-8 CSVs (summary.csv, then one per table).

Text comes from outside (endpoint names, tags, team names, notes), so text a spreadsheet would run as a
formula is neutralised with a leading quote (OWASP "CSV injection"), in both formats, by the same
`csv_cell` the pages' CSV exports use. Numbers we computed stay numbers: a negative amount is a number,
not text starting with "-"."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from dashboard.reports.review import ReportColumn, ReportTable, Review
from dashboard.tables import csv_cell

FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "application/zip",
}
EXTENSIONS = {"xlsx": "xlsx", "csv": "zip"}
CURRENCY_SYMBOLS = {"USD": "$"}
NUMBER_FORMATS = {
    "int": "#,##0",
    "float": "#,##0.0",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
MIN_WIDTH, MAX_WIDTH = 8, 60


def filename(review: Review, fmt: str) -> str:
    """finops-review-2026-W47-search.xlsx, finops-review-2026-W47-fleet.zip (the CSVs)."""
    return f"finops-review-{review.week.label}-{review.scope_key}.{EXTENSIONS[fmt]}"


def render(review: Review, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return to_xlsx(review) if fmt == "xlsx" else to_csv_zip(review)


def money_format(currency: str, digits: int = 2) -> str:
    """'"$"#,##0.00' for USD; '#,##0.00 "EUR"' for any other currency (its code, not a guessed symbol)."""
    decimals = "0." + "0" * digits if digits else "0"
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f'"{symbol}"#,##{decimals}'
    return f'#,##{decimals} "{currency}"'


def header(column: ReportColumn, table: ReportTable, currency: str, *, csv_file: bool = False) -> str:
    """Money headers name the currency (unless each row names its own); CSV percentages are written as
    percent numbers, so say so."""
    if column.kind == "money" and not _own_currency(table):
        return f"{column.header} ({currency})"
    if column.kind == "percent" and csv_file and "%" not in column.header:
        return f"{column.header} (%)"
    return column.header


def _own_currency(table: ReportTable) -> bool:
    """Recommendations and alerts carry their own currency, which may not be the review's."""
    return any(c.key == "currency" for c in table.columns)


# --- CSV --------------------------------------------------------------------------------------------------
def csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == "percent":
        return round(float(value) * 100, 3)
    if kind == "int":
        return round(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return csv_cell(value)


def _csv_bytes(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def to_csv_zip(review: Review) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        summary = [["Figure", "Value"]] + [[label, csv_value(v, kind)] for label, v, kind in review.summary]
        archive.writestr("summary.csv", _csv_bytes(summary))
        for table in review.tables:
            rows = [[header(c, table, review.currency, csv_file=True) for c in table.columns]]
            rows += [[csv_value(row.get(c.key), c.kind) for c in table.columns] for row in table.rows]
            archive.writestr(f"{table.name}.csv", _csv_bytes(rows))
    return buffer.getvalue()


# --- XLSX -------------------------------------------------------------------------------------------------
def xlsx_value(value, kind: str):
    """A cell's value: numbers as numbers, datetimes naive in UTC (Excel has no time zones), text
    neutralised and stripped of the control characters XML cannot hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date | int | float | Decimal):
        return value
    return csv_cell(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def number_format(kind: str, currency: str, digits: int = 2) -> str | None:
    if kind == "money":
        return money_format(currency, digits)
    return NUMBER_FORMATS.get(kind)


def _width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "money":
        return len(f"{value:,.2f}") + 4
    if kind == "percent":
        return 7
    if kind == "datetime":
        return 16
    if kind in ("int", "float"):
        return len(f"{value:,.1f}")
    return len(str(value))


def _sheet(wb: Workbook, title: str, headers: list[str]):
    ws = wb.create_sheet(title)
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A2"  # the header row stays in view
    return ws


def _fit(ws, widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(MIN_WIDTH, min(MAX_WIDTH, width + 2))


def to_xlsx(review: Review) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "SageMaker cost dashboard"
    wb.properties.title = f"Weekly FinOps review {review.week.label} ({review.scope_label})"

    ws = _sheet(wb, "Summary", ["Figure", "Value"])
    widths = [len("Figure"), len("Value")]
    for label, value, kind in review.summary:
        ws.append([label, xlsx_value(value, kind)])
        cell = ws.cell(row=ws.max_row, column=2)
        if (fmt := number_format(kind, review.currency)) and value is not None:
            cell.number_format = fmt
        widths = [max(widths[0], len(label)), max(widths[1], _width(value, kind))]
    _fit(ws, widths)

    for table in review.tables:
        headers = [header(c, table, review.currency) for c in table.columns]
        ws = _sheet(wb, table.title[:31], headers)
        widths = [min(len(h), 24) for h in headers]  # long headers wrap rather than widen the column
        own_currency = _own_currency(table)
        for row in table.rows:
            currency = (row.get("currency") if own_currency else None) or review.currency
            values = [row.get(c.key) for c in table.columns]
            ws.append([xlsx_value(v, c.kind) for v, c in zip(values, table.columns, strict=True)])
            for i, (value, c) in enumerate(zip(values, table.columns, strict=True)):
                if value is not None and (fmt := number_format(c.kind, currency, c.digits)):
                    ws.cell(row=ws.max_row, column=i + 1).number_format = fmt
                widths[i] = max(widths[i], _width(value, c.kind))
        if table.rows:
            ws.auto_filter.ref = ws.dimensions
        _fit(ws, widths)

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
