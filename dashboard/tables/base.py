"""What every table is made of: columns that say how to read a value from a row, how to show it in
HTML, how to write it in CSV and how to sort by it; and the formatting helpers they share. One table
definition drives both a page's HTML list and its CSV export (NetBox's one table for list and export)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

UNKNOWN = "—"
SOURCE_LABELS = {
    "resource": ("R", "Cost Explorer resource-level data"),
    "tag": ("T", "Cost Explorer cost-allocation tag"),
    "estimate": ("E", "our estimate: usage x price"),
}
NO_METRICS = mark_safe('<span class="muted" title="no metrics collected for this range">no metrics</span>')
UNTAGGED = mark_safe('<span class="muted" title="no team tag matches a team">untagged</span>')
DELETED = mark_safe(' <span class="status status-deleted">deleted</span>')
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- formatting for humans ----------------------------------------------------------------------------
def number(value, digits: int = 0) -> str:
    return UNKNOWN if value is None else f"{value:,.{digits}f}"


def money(amount: Decimal | None, currency: str, *, small: bool = False) -> str:
    """2 decimals and the currency code; `small` amounts (per-1k costs are often fractions of a cent)
    keep 4 decimals below 1, so a cheap endpoint does not read as free."""
    if amount is None:
        return UNKNOWN
    digits = 4 if small and abs(amount) < 1 else 2
    return f"{amount:,.{digits}f} {currency or 'USD'}"


def percent(ratio: float | None, digits: int = 1) -> str:
    return UNKNOWN if ratio is None else f"{ratio * 100:,.{digits}f}%"


def millis(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def source_marker(sources: Iterable[str], aws_estimated: bool = False) -> SafeString:
    """Small letters saying where a cost came from (R resource, T tag, E our estimate) and "est." when
    Cost Explorer still calls its figure estimated (our own estimates say E already)."""
    known = [s for s in ("resource", "tag", "estimate") if s in set(sources)]
    if not known:
        return mark_safe("")
    marks = format_html_join(
        "",
        '<abbr class="src src-{}" title="{}">{}</abbr>',
        ((s, SOURCE_LABELS[s][1], SOURCE_LABELS[s][0]) for s in known),
    )
    if aws_estimated:
        marks = format_html(
            '{}<abbr class="src-est" title="not final: AWS still calls it estimated">est.</abbr>', marks
        )
    return format_html('<span class="srcs">{}</span>', marks)


def csv_cell(value) -> Any:
    """A value as written to CSV: numbers as they are (we made them), text neutralised if a spreadsheet
    would run it as a formula (tags, team and endpoint names come from outside)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


# --- rows and columns ------------------------------------------------------------------------------------
def _text(value, row) -> str:
    return UNKNOWN if value in (None, "") else str(value)


def _same(value, row):
    return value


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    value: Callable[[Any], Any]  # the raw value; None when unknown
    html: Callable[[Any, Any], str] = _text  # escaped text or SafeString
    csv: Callable[[Any, Any], Any] = _same  # a plain value; csv_cell neutralises text
    sort: Callable[[Any, Any], Any] | None = _same  # None: not sortable; a None key sorts last
    numeric: bool = False  # right-aligned
    descending_first: bool | None = None  # a header's first click sorts biggest first (default: numeric)
    title: str = ""  # header tooltip
    csv_header: str = ""
    in_html: bool = True
    in_csv: bool = True

    @property
    def starts_descending(self) -> bool:
        return self.numeric if self.descending_first is None else self.descending_first

    def cell(self, row) -> Cell:
        value = self.value(row)
        return Cell(self.key, self.html(value, row), "num" if self.numeric else "")


@dataclass(frozen=True)
class Cell:
    key: str
    html: str
    css: str


def _lower(value, row):
    return value.lower() if isinstance(value, str) and value else None


class Table:
    """Columns plus what every table does with them: rows to cells, sorting, CSV."""

    columns: tuple[Column, ...] = ()
    default_sort = ""

    def column(self, key: str) -> Column | None:
        """A column the page can be sorted by: shown, with a sort key."""
        return next((c for c in self.columns if c.key == key and c.sort is not None and c.in_html), None)

    @property
    def html_columns(self) -> list[Column]:
        return [c for c in self.columns if c.in_html]

    def cells(self, row) -> list[Cell]:
        return [c.cell(row) for c in self.html_columns]

    def parse_sort(self, spec: str | None) -> tuple[Column, bool]:
        """`key` or `-key` (descending); an unknown key falls back to the default."""
        spec = (spec or "").strip()
        column = self.column(spec.lstrip("-"))
        if column is None:
            spec = self.default_sort
            column = self.column(spec.lstrip("-"))
        return column, spec.startswith("-")

    def sort(self, rows: list, column: Column, descending: bool) -> list:
        """Stable sort on the column's key; unknown values last whichever the direction."""
        keyed = [(column.sort(column.value(r), r), r) for r in rows]
        known = [(k, r) for k, r in keyed if k is not None]
        unknown = [r for k, r in keyed if k is None]
        known.sort(key=lambda kr: kr[0], reverse=descending)
        return [r for _, r in known] + unknown

    def write_csv(self, rows: Iterable, out) -> None:
        writer = csv.writer(out)
        columns = [c for c in self.columns if c.in_csv]
        writer.writerow([c.csv_header or c.header for c in columns])
        for row in rows:
            writer.writerow([csv_cell(c.csv(c.value(row), row)) for c in columns])
