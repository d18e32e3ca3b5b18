"""`make bench` at tiny sizes, so the harness cannot rot: it runs end to end on the real Postgres, its
JSON has every field, and every ratio is the quotient of figures it measured in that same run."""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import GOALS, MAX_QUERIES, ratios, verdicts

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    cmd = [sys.executable, "-m", "bench", "--sizes", "5,12", "--days", "2", "--long-days", "6",
           "--repeat", "2", "--ingest-points", "3000", "--ingest-rounds", "3", "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_it_prints_a_table_with_every_figure(results):
    _, table = results
    for label in ("P1 GetMetricData", "P1 Cost Explorer", "P2 CloudWatch", "P3 ingest", "P4 fleet page",
                  "P4 endpoint page", "P5 worker peak RSS", "P6 collection cycle"):  # fmt: skip
        assert label in table


def test_its_json_has_every_field(results):
    data, _ = results
    assert set(data["fleets"]) == {"5", "12"}
    assert set(data["ratios"]) >= set(GOALS) | {"P6_collection_s", "P6_s_per_1000_series"}
    assert set(data["goals_met"]) == set(GOALS)
    assert data["machine"]["cpus"] >= 1 and data["machine"]["postgres"]
    for fleet in data["fleets"].values():
        assert set(fleet) >= {"endpoints", "accounts", "scopes", "inventory", "history", "collection",
                              "cost_explorer", "ingest", "pages"}  # fmt: skip
        assert set(fleet["pages"]) == {"fleet", "endpoint_7d", "endpoint_365d"}
        for page in fleet["pages"].values():
            assert page["median_ms"] > 0 and page["queries"] > 0
        c = fleet["collection"]
        assert c["peak_rss_mb"] >= c["baseline_rss_mb"] > 0
        # The sampled peak is within the lifetime peak, and the simulator's model is part of it.
        assert c["process_rss_mb"] > 0 and c["simulator_model_mb"] >= 0
        assert c["process_rss_mb"] <= c["collection_peak_rss_mb"] <= c["peak_rss_mb"] + 1
        worker = c["collection_peak_rss_mb"] - c["simulator_model_mb"]
        assert c["worker_peak_rss_mb"] == pytest.approx(worker, abs=0.2)
    assert data["fleets"]["5"]["schedule"]["ticks"] == 24


def test_what_it_measured_is_real(results):
    data, _ = results
    small, large = data["fleets"]["5"], data["fleets"]["12"]
    # The hourly tick asked for every busy variant's series once and stored what came back.
    c = large["collection"]
    assert 0 < c["queries"] <= large["history"]["series"]
    assert c["points"] > c["queries"] and c["failed_scopes"] == []
    assert c["gmd_calls"] >= c["least_calls"] >= large["scopes"]
    # Ingest stored and copied the same rows, round after round; the figures are the rounds' medians.
    ing = large["ingest"]
    assert ing["points"] == ing["copied"] > 0
    assert ing["rounds"] == len(ing["store_rounds_s"]) == len(ing["copy_rounds_s"]) == 3
    assert ing["store_s"] == pytest.approx(statistics.median(ing["store_rounds_s"]), abs=0.002)
    assert ing["copy_s"] == pytest.approx(statistics.median(ing["copy_rounds_s"]), abs=0.002)
    assert ing["store_points_per_s"] == pytest.approx(ing["points"] / ing["store_s"], rel=0.02)
    # A day of hourly ticks: 24 polls of each busy series, never more than a 5-minute scrape asks for.
    sched = small["schedule"]
    assert 0 < sched["metrics_per_endpoint_day"] < sched["scrape_metrics_per_endpoint_day"]
    assert sched["metrics_requested"] <= 24 * sched["series"]
    assert small["cost_explorer"]["requests_per_day"] > 0
    # Read through the payer: one run, fewer requests than each account reading its own costs.
    for fleet in (small, large):
        ce = fleet["cost_explorer"]
        assert ce["runs"] == 1 and ce["separate"]["runs"] == fleet["accounts"] > 1
        assert ce["requests_per_day"] < ce["separate"]["requests_per_day"]
        # A day of runs: the first asks for the forecasts, the later ones do not.
        for day in (ce, ce["separate"]):
            assert sum(day["requests_per_run"]) == day["requests_per_day"]
            assert len(day["requests_per_run"]) == day["runs_per_day"] == 3
            assert day["requests_per_run"][0] > day["requests_per_run"][1] == day["requests_per_run"][2] > 0
    assert large["history"]["hourly_rollups"] > 0


def test_every_ratio_is_computed_from_the_measured_figures(results):
    data, _ = results
    small, large = data["fleets"]["5"], data["fleets"]["12"]
    c = large["collection"]
    expected = {
        "P1_batching": c["queries"] / c["gmd_calls"] / MAX_QUERIES,
        "P1_cost_explorer": large["cost_explorer"]["requests_per_day"]
        / small["cost_explorer"]["requests_per_day"],
        "P1_cost_explorer_separate": large["cost_explorer"]["separate"]["requests_per_day"]
        / small["cost_explorer"]["separate"]["requests_per_day"],
        "P2_cloudwatch_bill": small["schedule"]["metrics_per_endpoint_day"]
        / small["schedule"]["scrape_metrics_per_endpoint_day"],
        "P3_ingest": large["ingest"]["store_points_per_s"] / large["ingest"]["copy_points_per_s"],
        "P4_fleet_page": large["pages"]["fleet"]["median_ms"] / small["pages"]["fleet"]["median_ms"],
        "P4_endpoint_page": large["pages"]["endpoint_365d"]["median_ms"]
        / large["pages"]["endpoint_7d"]["median_ms"],
        "P5_memory": c["worker_peak_rss_mb"] / small["collection"]["worker_peak_rss_mb"],
        "P6_collection_s": c["wall_s"],
    }
    for key, value in expected.items():
        assert data["ratios"][key] == pytest.approx(value, rel=0.01), key
    assert data["ratios"] == ratios(data["fleets"])
    assert data["goals_met"] == verdicts(data["ratios"])


def test_goals_are_judged_in_the_right_direction():
    met = verdicts({"P1_batching": 0.99, "P3_ingest": 0.4, "P4_fleet_page": 3.0, "P5_memory": 1.6,
                    "P1_cost_explorer": 1.0, "P2_cloudwatch_bill": None})  # fmt: skip
    assert met["P1_batching"] is True and met["P3_ingest"] is False
    assert met["P4_fleet_page"] is True and met["P5_memory"] is False
    assert met["P1_cost_explorer"] is True and met["P2_cloudwatch_bill"] is None
