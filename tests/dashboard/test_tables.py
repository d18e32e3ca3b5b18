"""The one table definition behind the fleet and team pages and their CSV export: formatting for humans,
unknown never shown as zero, sorting with unknown values last, and CSV cells a spreadsheet cannot run."""

import csv
import io
from decimal import Decimal

import pytest

from dashboard.models import AwsAccount, Endpoint, ProductionVariant
from dashboard.services.figures import EndpointFigures
from dashboard.tables import (
    UNKNOWN,
    FleetTable,
    Row,
    csv_cell,
    millis,
    money,
    number,
    peak_use,
    percent,
    source_marker,
)
from tests.conftest import NOW


def make_endpoint(name="ep", *, variants, team=None, account=None) -> Endpoint:
    account = (
        account or AwsAccount.objects.get_or_create(account_id="666666666666", defaults={"label": "ml"})[0]
    )
    endpoint = Endpoint.objects.create(
        account=account, region="us-east-1", name=name, arn=f"arn:{name}", status="InService", team=team,
        first_seen=NOW, last_seen=NOW,
    )  # fmt: skip
    for i, v in enumerate(variants):
        ProductionVariant.objects.create(endpoint=endpoint, name=f"v{i}", first_seen=NOW, last_seen=NOW, **v)
    return (
        Endpoint.objects.select_related("account", "team")
        .prefetch_related("variants__instance_type")
        .get(pk=endpoint.pk)
    )


SERVERLESS_6GB = {"kind": "serverless", "memory_mb": 6144, "max_concurrency": 20}
P4D = {"kind": "instance", "instance_type_id": "ml.p4d.24xlarge", "current_instance_count": 1}


def row(endpoint, measured=True, **figures) -> Row:
    return Row(endpoint, EndpointFigures(endpoint.pk, **figures), measured, list(endpoint.variants.all()))


def cells(r: Row) -> dict[str, str]:
    return {c.key: str(c.html) for c in FleetTable().cells(r)}


# --- formatting ------------------------------------------------------------------------------------------
def test_numbers_are_formatted_for_humans_and_unknown_is_a_dash():
    assert number(1234567.4) == "1,234,567"
    assert money(Decimal("12345.678"), "USD") == "12,345.68 USD"
    assert (
        money(Decimal("0.01234"), "EUR", small=True) == "0.0123 EUR"
    )  # per-1k: a cheap endpoint is not free
    assert money(Decimal("2.5"), "USD", small=True) == "2.50 USD"
    assert percent(0.01234) == "1.2%"
    assert millis(4.26) == "4.3" and millis(1234.4) == "1,234"
    assert number(None) == money(None, "USD") == percent(None) == millis(None) == UNKNOWN


def test_source_marker_names_each_source_and_est_while_aws_still_estimates():
    marker = str(source_marker({"estimate", "resource"}, aws_estimated=True))
    assert marker.index(">R<") < marker.index(">E<")
    assert "est." in marker
    assert "est." not in str(source_marker({"estimate", "tag"}))  # our own estimate says E, not est.
    assert str(source_marker(set())) == ""


@pytest.mark.django_db
def test_serverless_peak_memory_reads_against_configured_memory():
    endpoint = make_endpoint(variants=[SERVERLESS_6GB])
    assert peak_use(row(endpoint, memory_peak=15.0)).text == "0.9 of 6 GB (15%)"
    assert cells(row(endpoint, memory_peak=15.0))["peak_use"] == "0.9 of 6 GB (15%)"


@pytest.mark.django_db
def test_gpu_instance_peak_is_gpu_use_of_its_gpus():
    endpoint = make_endpoint(variants=[P4D])
    assert peak_use(row(endpoint, gpu_peak=6.0, memory_peak=40.0, cpu_peak=10.0)).text == "6% of 8 GPUs"


@pytest.mark.django_db
def test_a_row_without_metrics_shows_unknown_usage_not_zero():
    endpoint = make_endpoint(variants=[SERVERLESS_6GB])
    shown = cells(
        row(endpoint, measured=False, mtd_cost=Decimal("3.5"), mtd_sources={"estimate"}, currency="USD")
    )
    for key in ("invocations", "p50", "p95", "p99", "error_rate", "cold_start_rate", "throttle", "peak_use"):
        assert shown[key] == UNKNOWN, key
    assert "no metrics" in shown["flags"] and "idle" not in shown["flags"]
    assert shown["mtd_cost"] == "3.50 USD"  # costs are known even without metrics
    idle = cells(row(endpoint, measured=True))
    assert idle["invocations"] == "0" and "idle" in idle["flags"] and idle["p99"] == UNKNOWN


@pytest.mark.django_db
def test_instance_endpoints_have_no_cold_start_rate():
    endpoint = make_endpoint(variants=[P4D])
    assert cells(row(endpoint, invocations=1000.0, cold_starts=0.0))["cold_start_rate"] == UNKNOWN


@pytest.mark.django_db
def test_cells_escape_names_and_link_endpoint_and_team(team_search):
    endpoint = make_endpoint("<script>x</script>", variants=[SERVERLESS_6GB], team=team_search)
    shown = cells(row(endpoint))
    assert "<script>" not in shown["name"] and "&lt;script&gt;" in shown["name"]
    assert f'href="/endpoints/{endpoint.pk}/"' in shown["name"]
    assert 'href="/teams/search/"' in shown["team"]


# --- sorting ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sorting_puts_unknown_last_in_both_directions():
    rows = [
        row(make_endpoint(f"ep{i}", variants=[SERVERLESS_6GB]), measured=p99 is not None, p99=p99,
            invocations=1.0)
        for i, p99 in enumerate([30.0, None, 10.0, 20.0])
    ]  # fmt: skip
    table = FleetTable()
    column, descending = table.parse_sort("p99")
    assert [r.figures.p99 for r in table.sort(rows, column, descending)] == [10.0, 20.0, 30.0, None]
    column, descending = table.parse_sort("-p99")
    assert [r.figures.p99 for r in table.sort(rows, column, descending)] == [30.0, 20.0, 10.0, None]


def test_unknown_or_unsortable_sort_falls_back_to_the_default():
    table = FleetTable()
    for spec in ("", "nope", "-sources", "account_id"):  # sources: no sort key; account_id: CSV only
        column, descending = table.parse_sort(spec)
        assert (column.key, descending) == ("mtd_cost", True), spec


def test_column_keys_are_unique_and_numbers_are_right_aligned():
    keys = [c.key for c in FleetTable.columns]
    assert len(keys) == len(set(keys))
    numeric = {c.key for c in FleetTable().html_columns if c.numeric}
    assert {"mtd_cost", "cost", "cost_per_1k", "invocations", "p50", "p95", "p99", "error_rate"} <= numeric


# --- CSV ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_starting_like_a_formula_are_neutralised(start):
    assert csv_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_csv_numbers_stay_numbers_even_when_negative():
    assert csv_cell(Decimal("-12.345678")) == "-12.3457"  # a credit, not a formula
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3
    assert csv_cell(None) == "" and csv_cell(True) == "yes"
    assert csv_cell("plain") == "plain"


@pytest.mark.django_db
def test_csv_has_one_line_per_row_with_plain_values(team_search):
    endpoint = make_endpoint("=cmd|' /C calc'!A0", variants=[SERVERLESS_6GB], team=team_search)
    r = row(
        endpoint, invocations=2000.0, cost_invocations=2000.0, errors_4xx=20.0, p99=123.456,
        cost=Decimal("4.2"), cost_sources={"tag"}, cost_estimated=True, mtd_cost=Decimal("10"),
        mtd_sources={"tag"}, currency="USD", memory_peak=15.0,
    )  # fmt: skip
    out = io.StringIO()
    FleetTable().write_csv([r], out)
    (exported,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert exported["Endpoint"] == "'=cmd|' /C calc'!A0"
    assert exported["Team"] == "Search" and exported["Account id"] == "666666666666"
    assert exported["MTD cost"] == "10.0000" and exported["Cost (range)"] == "4.2000"
    assert exported["Cost source"] == "tag" and exported["Cost not final"] == "yes"
    assert exported["Invocations"] == "2000.0" and exported["Error rate (%)"] == "1.0"
    assert exported["p99 ms"] == "123.456" and exported["Cost per 1k invocations"] == "2.1000"
    assert exported["Peak use vs configured"] == "0.9 of 6 GB (15%)"
    assert exported["Throttle pressure (% of max concurrency, derived)"] == ""  # unknown: empty, not 0
