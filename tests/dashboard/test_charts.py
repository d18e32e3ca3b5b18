"""The endpoint page's charts: built server-side with plotly, embedded as JSON, readable at a glance
(units, one colour per metric) and honest about missing data (gaps, never zeros)."""

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from dashboard import charts
from dashboard.models import CostForecast, Endpoint, EndpointSummary, MetricRollup
from dashboard.services.figures import parse_range
from dashboard.services.series import Series, buckets
from tests.conftest import NOW
from tests.support.fleet import collect_fleet

CHARTS = [
    "invocations", "latency", "cold_starts", "cold_starts_by_hour", "errors", "throttle", "utilisation",
    "cost", "cost_per_1k", "cost_per_1k_weekly",
]  # fmt: skip


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setattr("dashboard.views.endpoint.clock", lambda: NOW)


@pytest.fixture(scope="module")
def collected(django_db_setup, django_db_blocker):
    """The 8-endpoint fleet of tests/collectors/test_summary.py (3 days of metrics, costs), collected once
    for the module; each test's changes are rolled back with its transaction."""
    from collectors.simulator import SimulatedAWS

    with django_db_blocker.unblock():
        collect_fleet(SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=8), metric_days=3, cost_days=2)
        yield
        # Committed outside any test transaction: empty every table again (and re-seed the catalogue).
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def fleet(collected, db):
    return collected


def chart_json(client, endpoint, **params) -> dict[str, dict]:
    """Every chart's embedded JSON, by name, parsed as the page's script parses it."""
    response = client.get(reverse("endpoint", args=[endpoint.pk]), params)
    assert response.status_code == 200
    body = response.content.decode()
    found = re.findall(
        r'<div class="chart" data-chart="(\w+)"[^>]*></div>\s*'
        r'<script type="application/json" class="chart-data" data-for="(\w+)">(.*?)</script>',
        body,
        re.S,
    )
    assert all(div == script for div, script, _ in found)
    return {name: json.loads(text) for name, _, text in found}


def traces(payload) -> dict[str, dict]:
    return {t["name"]: t for t in payload["figure"]["data"]}


def has_values(trace) -> bool:
    return any(v is not None for v in trace["y"])


def colour(trace) -> str:
    return (trace.get("line") or trace.get("marker"))["color"]


def annotations(payload) -> list[str]:
    return [a["text"] for a in payload["figure"]["layout"].get("annotations", [])]


# --- on the page, from collected data --------------------------------------------------------------
def test_every_chart_is_embedded_as_plotly_json_with_the_config(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="search-embed-serverless"))
    assert list(found) == CHARTS
    for payload in found.values():
        assert set(payload["figure"]) == {"data", "layout"}
        assert payload["config"] == {"displaylogo": False, "responsive": True}


def test_a_busy_serverless_endpoint_has_data_in_its_traffic_charts(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="search-embed-serverless"))
    expected = {
        "invocations": ["invocations"],
        "latency": ["ModelLatency p50", "ModelLatency p95", "ModelLatency p99", "OverheadLatency p99"],
        "errors": ["4XX errors (incl. throttled 429)", "5XX errors"],
        "throttle": ["4XX errors", "peak concurrency utilisation"],
        "utilisation": ["memory"],
        "cost": ["Cost Explorer resource data", "forecast (median of recent days)"],
        "cost_per_1k": ["cost per 1k invocations"],
    }
    for chart, names in expected.items():
        got = traces(found[chart])
        assert list(got) == names, chart
        assert all(has_values(t) for t in got.values()), chart
        assert all(len(t["x"]) == len(t["y"]) for t in got.values()), chart
    # A 7-day range is drawn hourly: one point per hour of the range, none missing from the grid.
    assert len(traces(found["invocations"])["invocations"]["x"]) == 7 * 24
    assert (
        found["utilisation"]["figure"]["layout"]["title"]["subtitle"]["text"]
        == "configured: MemorySizeInMB 6144"
    )


def test_a_gpu_endpoint_charts_gpu_use_against_its_capacity(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="vision-batch-p4d"))
    util = found["utilisation"]
    assert list(traces(util)) == ["memory", "CPU (per vCPU)", "GPU (per GPU)", "GPU memory"]
    assert all(has_values(t) for t in traces(util).values())
    layout = util["figure"]["layout"]
    assert layout["title"]["subtitle"]["text"] == "configured: ml.p4d.24xlarge x 1 (96 vCPU, 8 GPU, 320 GiB)"
    [capacity] = layout["shapes"]
    assert (capacity["y0"], capacity["y1"], capacity["line"]["dash"]) == (100, 100, "dash")
    # Cold starts and concurrency are serverless metrics: said so, not drawn as zeros.
    assert annotations(found["cold_starts"]) == [
        "no data in this range<br><span style='font-size:12px'>cold starts are published for serverless "
        "endpoints only</span>"
    ]
    assert list(traces(found["throttle"])) == ["4XX errors"]


def test_a_throttling_endpoint_shows_utilisation_at_its_limit(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="recsys-ranker-serverless"))
    throttle = found["throttle"]
    util = traces(throttle)["peak concurrency utilisation"]
    assert util["yaxis"] == "y2" and max(v for v in util["y"] if v is not None) >= 0.95
    [limit] = throttle["figure"]["layout"]["shapes"]
    assert (limit["yref"], limit["y0"]) == ("y2", 1.0)


def test_provisioned_concurrency_spillover_is_charted(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="search-query-pc"))
    assert has_values(traces(found["throttle"])["spillover invocations"])


def test_cold_starts_are_counted_and_timed(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="scratch-demo-serverless"))
    got = traces(found["cold_starts"])
    assert sum(v for v in got["cold starts"]["y"] if v) > 0
    durations = [v for v in got["cold-start duration (avg)"]["y"] if v is not None]
    assert durations and all(v > 1000 for v in durations)  # ms: the simulator's cold starts take seconds
    assert got["cold-start duration (avg)"]["yaxis"] == "y2"


def test_every_axis_says_its_unit(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="search-query-pc"))
    titles = {
        name: (
            p["figure"]["layout"]["xaxis"]["title"]["text"],
            p["figure"]["layout"]["yaxis"]["title"]["text"],
            p["figure"]["layout"].get("yaxis2", {}).get("title", {}).get("text"),
        )
        for name, p in found.items()
    }
    assert titles == {
        "invocations": ("hour (UTC)", "invocations / hour", None),
        "latency": ("hour (UTC)", "latency (ms)", None),
        "cold_starts": ("hour (UTC)", "cold starts / hour", "cold-start duration (ms)"),
        "errors": ("hour (UTC)", "errors / hour", None),
        "throttle": ("hour (UTC)", "invocations / hour", "concurrency utilisation (0-1)"),
        "utilisation": ("hour (UTC)", "% of capacity", None),
        "cost": ("day (UTC)", "USD / day", None),
        "cost_per_1k": ("day (UTC)", "USD per 1k invocations", None),
        "cold_starts_by_hour": ("hour of day (UTC)", "cold-start rate (%)", "cold-start duration (ms)"),
        "cost_per_1k_weekly": ("week starting (Monday, UTC)", "USD per 1k invocations", None),
    }
    daily = chart_json(client, Endpoint.objects.get(name="search-query-pc"), range="30d")
    assert daily["invocations"]["figure"]["layout"]["yaxis"]["title"]["text"] == "invocations / day"


def test_a_metric_has_the_same_colour_in_every_chart(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(client, Endpoint.objects.get(name="search-query-pc"))
    errors, throttle = traces(found["errors"]), traces(found["throttle"])
    assert colour(errors["4XX errors (incl. throttled 429)"]) == colour(throttle["4XX errors"])
    assert colour(throttle["4XX errors"]) == charts.PALETTE["errors_4xx"]
    every = [(name, colour(t)) for p in found.values() for name, t in traces(p).items()]
    by_colour: dict[str, set[str]] = {}
    for name, c in every:
        by_colour.setdefault(c, set()).add(name.split(" (")[0])
    # One colour never stands for two metrics.
    assert all(len(names) == 1 for names in by_colour.values()), by_colour


def test_an_hour_without_rows_is_a_gap_not_a_zero(client, fleet, finops_admin):
    endpoint = Endpoint.objects.get(name="search-embed-serverless")
    hole = NOW.replace(minute=0) - timedelta(hours=5)
    # The collectors never wrote this hour (an outage): no summary row, no rollup.
    EndpointSummary.objects.filter(endpoint=endpoint, resolution="1h", bucket=hole).delete()
    MetricRollup.objects.filter(series__variant__endpoint=endpoint, resolution="1h", bucket=hole).delete()
    client.force_login(finops_admin)
    found = chart_json(client, endpoint, range="24h")
    invocations = traces(found["invocations"])["invocations"]
    at = invocations["x"].index(hole.strftime("%Y-%m-%d %H:%M"))
    assert invocations["y"][at] is None
    assert invocations["y"][at - 1] > 0 and invocations["y"][at + 1] > 0
    assert invocations["connectgaps"] is False
    for name in ("latency", "errors", "utilisation"):
        for trace in traces(found[name]).values():
            assert trace["y"][at] is None, (name, trace["name"])
            assert trace.get("connectgaps") in (False, None)  # bars have no lines to connect


def test_the_cost_chart_splits_days_by_source(client, fleet, finops_admin):
    endpoint = Endpoint.objects.get(name="search-embed-serverless")
    day = NOW.date() - timedelta(days=2)
    # Resource-level data not in yet for one day: the best figure that day is our estimate.
    row = EndpointSummary.objects.get(endpoint=endpoint, resolution="1d", bucket__date=day)
    row.cost, row.cost_source, row.cost_estimated = row.cost_estimate, "estimate", True
    row.save()
    client.force_login(finops_admin)
    cost = traces(chart_json(client, endpoint)["cost"])
    resource, estimate = cost["Cost Explorer resource data"], cost["estimate"]
    at = resource["x"].index(day.isoformat())
    assert resource["y"][at] is None and estimate["y"][at] == pytest.approx(float(row.cost_estimate))
    assert estimate["marker"]["pattern"]["shape"][at] == "/"  # estimated: hatched
    assert [i for i, v in enumerate(estimate["y"]) if v is not None] == [at]
    assert sum(v is not None for v in resource["y"]) >= 1
    assert colour(resource) == charts.PALETTE["resource"] != colour(estimate) == charts.PALETTE["estimate"]


def test_the_cost_chart_draws_this_months_forecast(client, fleet, finops_admin):
    endpoint = Endpoint.objects.get(name="search-embed-serverless")
    CostForecast.objects.update_or_create(
        scope="endpoint", scope_id=endpoint.pk, month=NOW.date().replace(day=1),
        defaults={"amount": Decimal("30"), "currency": "USD", "method": "median-28d", "computed_at": NOW,
                  "daily": [["2026-11-20", "1.25"], ["2026-11-21", "1.25"], ["2026-11-30", "1.25"]]},
    )  # fmt: skip
    client.force_login(finops_admin)
    forecast = traces(chart_json(client, endpoint)["cost"])["forecast (median of recent days)"]
    assert forecast["x"] == ["2026-11-20", "2026-11-21", "2026-11-30"]
    assert forecast["y"] == [1.25, 1.25, 1.25]
    assert forecast["line"]["dash"] == "dash"
    past = chart_json(client, endpoint, range="custom", start="2026-10-01", end="2026-10-31")
    assert "forecast (median of recent days)" not in traces(past["cost"])


def test_cost_per_1k_is_daily_cost_over_daily_invocations_on_complete_days(client, fleet, finops_admin):
    endpoint = Endpoint.objects.get(name="search-embed-serverless")
    client.force_login(finops_admin)
    per_1k = traces(chart_json(client, endpoint)["cost_per_1k"])["cost per 1k invocations"]
    rows = {
        r.bucket.date().isoformat(): r
        for r in EndpointSummary.objects.filter(endpoint=endpoint, resolution="1d").exclude(cost=None)
    }
    checked = 0
    for day, value in zip(per_1k["x"], per_1k["y"], strict=True):
        if value is None:
            continue
        row = rows[day]
        assert value == pytest.approx(float(row.cost / Decimal(str(row.invocations)) * 1000), rel=1e-5)
        checked += 1
    assert checked >= 1
    # The first collected day began mid-day (a 3-day backfill from 10:17): a gap, not an inflated cost.
    first_metrics_day = (NOW - timedelta(days=3)).date().isoformat()
    assert per_1k["y"][per_1k["x"].index(first_metrics_day)] is None
    assert rows[first_metrics_day].invocations > 0


def test_an_endpoint_with_no_data_says_so_in_every_chart(client, fleet, finops_admin):
    client.force_login(finops_admin)
    found = chart_json(
        client, Endpoint.objects.get(name="search-embed-serverless"), range="custom", start="2025-01-01",
        end="2025-01-31",
    )  # fmt: skip
    for name, payload in found.items():
        if name == "cost_per_1k_weekly":
            continue  # the last 8 ISO weeks whatever the range picked
        assert payload["figure"]["data"] == [], name
        assert annotations(payload)[0].startswith("no data in this range"), name


# --- the module on plain series --------------------------------------------------------------------
def plain_inputs(values_for=None, **overrides) -> charts.ChartInputs:
    rng = parse_range({"range": "24h"}, NOW)
    grid = buckets(rng)
    values_for = values_for or {}
    summary = {f: Series(f, "", grid, values_for.get(f, [None] * len(grid))) for f in charts.SUMMARY_FIELDS}
    costs = [(date(2026, 11, 19), None, "", None), (date(2026, 11, 20), None, "", None)]
    defaults = dict(
        rng=rng, shape=charts.Shape(kind="serverless", memory_mb=[2048]), summary=summary, cold_start_ms=[],
        costs=costs, daily_invocations={},
    )  # fmt: skip
    return charts.ChartInputs(**{**defaults, **overrides})


def test_gaps_stay_none_in_the_figure_json():
    values = [float(i) for i in range(24)]
    values[7] = None
    data = plain_inputs({"invocations": values})
    payload = json.loads(charts.invocations_chart(data).payload)
    [trace] = payload["figure"]["data"]
    assert trace["y"][7] is None and trace["y"][6] == 6.0 and trace["connectgaps"] is False


def test_a_chart_with_no_data_at_all_shows_a_note_instead_of_empty_axes():
    chart = charts.latency_chart(plain_inputs())
    layout = json.loads(chart.payload)["figure"]["layout"]
    assert json.loads(chart.payload)["figure"]["data"] == []
    assert layout["annotations"][0]["text"] == "no data in this range"
    assert layout["xaxis"]["visible"] is False


def test_the_figure_json_stays_small_and_carries_no_plotly_bundle():
    values = [float(i) * 1.123456789 for i in range(24)]
    data = plain_inputs({f: values for f in charts.SUMMARY_FIELDS})
    for chart in charts.endpoint_charts(data):
        payload = chart.payload
        assert len(payload) < 8_000, (chart.name, len(payload))
        figure = json.loads(payload)["figure"]
        assert not figure["layout"].get("template", {}).get("layout")  # no plotly theme copied in
        assert "plotly.min" not in payload and "cdn" not in payload.lower()


def test_text_that_could_close_the_script_element_is_escaped():
    grid = buckets(parse_range({"range": "24h"}, NOW))
    data = plain_inputs(cold_start_ms=[Series("</script><b>", "ms", grid, [1.0] * 24)] * 2)
    payload = charts.cold_starts_chart(data).payload
    assert "</script>" not in payload and "<b>" not in payload
    assert "cold-start duration (</script><b>)" in [t["name"] for t in json.loads(payload)["figure"]["data"]]
