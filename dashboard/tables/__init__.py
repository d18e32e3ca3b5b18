"""Tables defined once: each column says how to read its value from a row, how to show it in HTML, how to
write it in CSV, and how to sort by it, so a page's list and its CSV export never disagree.

base: columns, tables and the formatting they share; fleet: the endpoint table of the fleet and team
pages; recommendations: the recommendations page's table."""

from dashboard.tables.base import (
    CSV_FORMULA_START,
    DELETED,
    NO_METRICS,
    SOURCE_LABELS,
    UNKNOWN,
    UNTAGGED,
    Cell,
    Column,
    Table,
    csv_cell,
    millis,
    money,
    number,
    percent,
    source_marker,
)
from dashboard.tables.fleet import FleetTable, PeakUse, Row, peak_use

__all__ = [
    "CSV_FORMULA_START",
    "DELETED",
    "NO_METRICS",
    "SOURCE_LABELS",
    "UNKNOWN",
    "UNTAGGED",
    "Cell",
    "Column",
    "FleetTable",
    "PeakUse",
    "Row",
    "Table",
    "csv_cell",
    "millis",
    "money",
    "number",
    "peak_use",
    "percent",
    "source_marker",
]
