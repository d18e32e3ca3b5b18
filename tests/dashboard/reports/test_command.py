"""manage.py finops_report: writes the review a script asks for, and says clearly what is wrong with a
bad week, an unknown team or a week that has not ended."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from tests.conftest import NOW
from tests.dashboard.reports.review_fleet import review_fleet  # noqa: F401


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr("dashboard.management.commands.finops_report.clock", lambda: NOW)


def run(*args) -> str:
    out = io.StringIO()
    call_command("finops_report", *args, stdout=out)
    return out.getvalue()


def test_it_writes_a_workbook_openpyxl_opens(review_fleet, tmp_path):  # noqa: F811
    path = tmp_path / "review.xlsx"
    printed = run("--week", "2026-W46", "--team", "search", "--format", "xlsx", "--out", str(path))
    assert str(path) in printed and "Team Search, 2026-W46, 2 endpoints" in printed
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Summary"
    assert {row[0].value for row in wb["Endpoints"].iter_rows(min_row=2)} == {"search-ranker", "search-fresh"}


def test_by_default_it_writes_last_weeks_fleet_review(review_fleet, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    run("--format", "csv")
    with zipfile.ZipFile(tmp_path / "finops-review-2026-W46-fleet.zip") as archive:
        assert "teams.csv" in archive.namelist()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-47"], "--week: '2026-47' is not an ISO week"),
        (["--week", "2027-W53"], "--week: 2027 has no ISO week 53"),
        (["--week", "2026-W47"], "--week: week 2026-W47 has not ended yet"),
        (["--week", "2026-W46", "--team", "nope"], "--team: no team 'nope' (teams: search, vision)"),
    ],
)
def test_it_says_what_is_wrong(review_fleet, tmp_path, args, message):  # noqa: F811
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args, "--out", str(tmp_path / "x.xlsx"))
    assert not (tmp_path / "x.xlsx").exists()


def test_an_unwritable_file_is_a_command_error(review_fleet, tmp_path):  # noqa: F811
    with pytest.raises(CommandError, match="--out: cannot write"):
        run("--week", "2026-W46", "--out", str(tmp_path / "missing" / "x.xlsx"))
