"""/api/v1/endpoints and one endpoint's detail, series and costs: the same figures the services compute,
unknown values null (never 0), money as exact decimal strings, and bad parameters a 400 that says why."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from dashboard.models import Endpoint, EndpointCost
from dashboard.services.figures import endpoint_figures, parse_range
from dashboard.services.series import daily_costs, metric_series, summary_series
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 endpoints, 3 days collected)
from tests.conftest import NOW
from tests.dashboard.api.support import HOURS, assert_matches_openapi


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_user("fin", password="correct horse battery")
    user.user_permissions.add(Permission.objects.get(codename="view_all_teams"))
    client.force_login(user)
    return client


def get_json(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, response.content
    return assert_matches_openapi(response)


def dec(value):
    return Decimal(value) if value is not None else None


# --- against the collected simulated fleet -----------------------------------------------------------
def test_listed_figures_equal_endpoint_figures_for_the_same_range(admin_client, fleet):  # noqa: F811
    for range_key in ("24h", "7d", "30d"):
        assert_listed_figures_equal_endpoint_figures(admin_client, range_key)
    throttling = fleet.fleet.by_role("throttling")[0].name
    rows = get_json(admin_client, "/api/v1/endpoints?range=24h")["endpoints"]
    row = next(e for e in rows if e["name"] == throttling)
    assert row["figures"]["throttle"] >= 0.95 and "throttling" in row["figures"]["flags"]


def assert_listed_figures_equal_endpoint_figures(admin_client, range_key):
    body = get_json(admin_client, f"/api/v1/endpoints?range={range_key}&deleted=1")
    rng = parse_range({"range": range_key}, NOW)
    assert body["range"] == {
        "key": range_key,
        "start": rng.start.isoformat().replace("+00:00", "Z"),
        "end": rng.end.isoformat().replace("+00:00", "Z"),
        "resolution": rng.resolution,
    }
    expected = endpoint_figures(Endpoint.objects.values_list("pk", flat=True), rng, today=NOW.date())
    assert sorted(e["id"] for e in body["endpoints"]) == sorted(expected)
    for row in body["endpoints"]:
        f, got = expected[row["id"]], row["figures"]
        assert got["metrics_collected"], row["name"]
        assert got["invocations"] == pytest.approx(f.invocations)
        assert got["errors_4xx"] == pytest.approx(f.errors_4xx)
        assert got["error_rate"] == pytest.approx(f.error_rate)
        assert got["cold_start_rate"] == pytest.approx(f.cold_start_rate)
        assert got["latency_ms"]["p50"] == pytest.approx(f.p50)
        assert got["latency_ms"]["p95"] == pytest.approx(f.p95)
        assert got["latency_ms"]["p99"] == pytest.approx(f.p99)
        assert got["latency_ms"]["max"] == pytest.approx(f.latency_max)
        assert got["throttle"] == pytest.approx(f.throttle)
        assert got["peaks"] == pytest.approx(
            {"memory_pct": f.memory_peak, "cpu_pct": f.cpu_peak, "gpu_pct": f.gpu_peak,
             "gpu_memory_pct": f.gpu_memory_peak}
        )  # fmt: skip
        assert dec(got["cost"]) == f.cost
        assert got["cost_source"] == sorted(f.cost_sources)
        assert dec(got["mtd_cost"]) == f.mtd_cost
        assert dec(got["forecast"]) == f.forecast
        assert dec(got["cost_per_1k"]) == f.cost_per_1k
        assert got["flags"] == f.flags
        assert got["currency"] == (f.currency or None)
    assert any(row["figures"]["cost"] for row in body["endpoints"])


def test_series_per_variant_equal_metric_series(admin_client, fleet):  # noqa: F811
    endpoint = Endpoint.objects.get(name=fleet.fleet.by_role("multi_variant")[0].name)
    body = get_json(
        admin_client, f"/api/v1/endpoints/{endpoint.pk}/series?metric=ModelLatency&stat=p99&range=24h"
    )
    expected = metric_series(endpoint.pk, "ModelLatency", "p99", parse_range({"range": "24h"}, NOW))
    assert len(expected) == 2
    assert [(s["name"], s["unit"]) for s in body["series"]] == [(s.name, s.unit) for s in expected]
    assert [s["values"] for s in body["series"]] == [s.values for s in expected]
    assert body["timestamps"] == [t.isoformat().replace("+00:00", "Z") for t in expected[0].timestamps]
    assert (body["kind"], body["metric"], body["stat"]) == ("metric", "ModelLatency", "p99")


def test_summary_series_equal_summary_series_with_money_as_strings(admin_client, fleet):  # noqa: F811
    endpoint = Endpoint.objects.filter(costs__isnull=False).first()
    fields = ["p99", "invocations", "error_rate", "cost"]
    body = get_json(
        admin_client, f"/api/v1/endpoints/{endpoint.pk}/series?summary={','.join(fields)}&range=30d"
    )
    expected = summary_series(endpoint.pk, fields, parse_range({"range": "30d"}, NOW))
    assert [s["name"] for s in body["series"]] == fields
    for got in body["series"]:
        want = expected[got["name"]].values
        if got["name"] == "cost":
            assert [dec(v) for v in got["values"]] == want
            assert any(isinstance(v, str) for v in got["values"])
        else:
            assert got["values"] == pytest.approx(want)
    assert None in body["series"][0]["values"]  # days before collection are gaps, not zeros


def test_costs_give_the_best_source_per_day_and_every_stored_source(admin_client, fleet):  # noqa: F811
    endpoint = Endpoint.objects.filter(costs__source="resource").first()
    body = get_json(admin_client, f"/api/v1/endpoints/{endpoint.pk}/costs?range=30d")
    rng = parse_range({"range": "30d"}, NOW)
    expected = daily_costs(endpoint.pk, rng)
    assert [(d["day"], dec(d["cost"]), d["cost_source"], d["estimated"]) for d in body["days"]] == [
        (day.isoformat(), cost, source or None, estimated) for day, cost, source, estimated in expected
    ]
    first, last = rng.days
    stored = EndpointCost.objects.filter(endpoint=endpoint, day__gte=first, day__lt=last)
    listed = {(d["day"], s["source"], dec(s["amount"])) for d in body["days"] for s in d["sources"]}
    assert listed == {(c.day.isoformat(), c.source, c.amount) for c in stored}
    reconcilable = next(d for d in body["days"] if len(d["sources"]) > 1)
    assert reconcilable["sources"][0]["source"] == reconcilable["cost_source"] == "resource"
    assert dec(body["cost"]) == sum(c for _, c, _, _ in expected if c is not None)
    assert body["currency"] == "USD"


# --- against rows written directly ------------------------------------------------------------------
def test_endpoint_never_measured_has_null_counts_and_costs_not_zero(admin_client, estate):
    row = next(e for e in get_json(admin_client, "/api/v1/endpoints")["endpoints"] if e["name"] == "orphan")
    f = row["figures"]
    assert f["metrics_collected"] is False
    assert f["invocations"] is None and f["errors_4xx"] is None and f["error_rate"] is None
    assert f["cost"] is None and f["mtd_cost"] is None and f["forecast"] is None and f["cost_per_1k"] is None
    assert f["currency"] is None and f["cost_source"] == [] and f["cost_estimated"] is None
    assert "idle" not in f["flags"]  # unknown traffic is not no traffic


def test_listed_endpoint_has_its_shape_and_money_as_exact_decimal_strings(admin_client, estate):
    rows = {e["name"]: e for e in get_json(admin_client, "/api/v1/endpoints?range=30d")["endpoints"]}
    ranker, vision = rows["search-ranker"], rows["vision-detector"]
    assert [v["name"] for v in ranker["variants"]] == ["AllTraffic"]  # the removed variant is not live
    assert ranker["variants"][0]["shape"] == "6 GB, max 20" and ranker["kind"] == "serverless"
    gpu = vision["variants"][0]
    assert (gpu["instance_type"], gpu["instance_count"], gpu["gpu_count"], gpu["hourly_price"]) == (
        "ml.g5.xlarge", 2, 1, "1.408400",
    )  # fmt: skip
    assert ranker["team"] == {"slug": "search", "name": "Search"} and vision["account_id"] == "222222222222"
    days = 31  # 30 days ending at the next full hour touch 31 dates
    assert ranker["figures"]["cost"] == format(Decimal("1.25") * days, "f") + "0" * 8
    assert ranker["figures"]["cost_source"] == ["resource"] and ranker["figures"]["cost_estimated"] is False
    assert vision["figures"]["cost_source"] == ["estimate"] and vision["figures"]["cost_estimated"] is True
    assert "low-gpu-use" in vision["figures"]["flags"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("account=222222222222", ["vision-detector"]),
        ("region=us-east-1", ["orphan", "search-ranker"]),
        ("kind=instance", ["vision-detector"]),
        ("kind=serverless", ["orphan", "search-ranker"]),
        ("team=search&deleted=1", ["search-ranker", "search-retired"]),
        ("team=vision&kind=serverless", []),
    ],
)
def test_list_filters_by_account_region_kind_and_team(admin_client, estate, query, expected):
    body = get_json(admin_client, f"/api/v1/endpoints?{query}")
    assert sorted(e["name"] for e in body["endpoints"]) == expected


def test_the_list_pages_with_limit_and_next_and_counts_every_match(admin_client, estate):
    whole = get_json(admin_client, "/api/v1/endpoints?deleted=1")
    names = [e["name"] for e in whole["endpoints"]]
    assert whole["count"] == len(names) >= 3 and whole["next_offset"] is None and whole["offset"] == 0
    paged, offset = [], 0
    while offset is not None:
        body = get_json(admin_client, f"/api/v1/endpoints?deleted=1&limit=2&offset={offset}")
        assert body["count"] == len(names) and len(body["endpoints"]) <= 2 and body["offset"] == offset
        paged += [e["name"] for e in body["endpoints"]]
        offset = body["next_offset"]
    assert paged == names  # the same order, nothing skipped or repeated
    assert get_json(admin_client, "/api/v1/endpoints?offset=99")["endpoints"] == []


def test_detail_has_every_variant_figures_and_history(admin_client, estate):
    pk = estate["search-ranker"].pk
    endpoint = get_json(admin_client, f"/api/v1/endpoints/{pk}?range=24h")["endpoint"]
    assert [(v["name"], v["removed_at"] is not None) for v in endpoint["variants"]] == [
        ("AllTraffic", False),
        ("retired", True),
    ]
    assert endpoint["history"] == [{"at": "2026-09-21T10:17:00Z", "kind": "created", "detail": {}}]
    assert endpoint["figures"]["invocations"] == 24 * 100
    assert endpoint["figures"]["latency_ms"]["p99"] == 120


def test_series_of_rows_written_directly_leave_gaps_as_null(admin_client, estate):
    pk = estate["search-ranker"].pk
    body = get_json(admin_client, f"/api/v1/endpoints/{pk}/series?metric=ModelLatency&stat=p99&range=7d")
    (series,) = body["series"]
    assert series["name"] == "AllTraffic" and series["unit"] == "ms"
    assert len(series["values"]) == len(body["timestamps"]) == 7 * 24
    assert series["values"][-1] == 120.0 and series["values"][-HOURS] == 120.0 + HOURS - 1
    assert set(series["values"][:-HOURS]) == {None}


def test_costs_of_an_endpoint_list_each_day_with_both_sources(admin_client, estate):
    body = get_json(admin_client, f"/api/v1/endpoints/{estate['search-ranker'].pk}/costs?range=7d")
    assert len(body["days"]) == 8  # 7 days ending at the next full hour touch 8 dates
    today = body["days"][-1]
    assert today["day"] == "2026-11-20" and today["cost"] == "1.2500000000" and today["estimated"] is False
    assert [(s["source"], s["amount"]) for s in today["sources"]] == [
        ("resource", "1.2500000000"),
        ("estimate", "1.2000000000"),
    ]
    assert body["cost_source"] == ["resource"] and body["currency"] == "USD"


def test_costs_of_an_endpoint_without_costs_are_null(admin_client, estate):
    body = get_json(admin_client, f"/api/v1/endpoints/{estate['orphan'].pk}/costs")
    assert body["cost"] is None and body["currency"] is None and body["cost_estimated"] is None
    assert {d["cost"] for d in body["days"]} == {None} and {len(d["sources"]) for d in body["days"]} == {0}


# --- bad parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/endpoints?range=1y", "unknown range '1y'"),
        ("/api/v1/endpoints?range=custom&start=2026-11-01", "YYYY-MM-DD"),
        ("/api/v1/endpoints?range=custom&start=2026-11-02&end=2026-11-01", "ends before it starts"),
        ("/api/v1/endpoints?team=nope", "unknown team 'nope'"),
        ("/api/v1/endpoints?account=12345", "bad account '12345'"),
        ("/api/v1/endpoints?region=moon", "bad region 'moon'"),
        ("/api/v1/endpoints?kind=gpu", "unknown kind 'gpu'"),
        ("/api/v1/endpoints?deleted=yes", "unknown deleted 'yes'"),
        ("/api/v1/endpoints?limit=0", "limit must be an integer from 1 to 1000"),
        ("/api/v1/endpoints?limit=1001", "limit must be an integer from 1 to 1000"),
        ("/api/v1/endpoints?offset=-1", "offset must be an integer from 0"),
        ("/api/v1/endpoints/abc", "endpoint id must be a positive integer"),
        ("/api/v1/endpoints/-1/costs", "endpoint id must be a positive integer"),
        ("/api/v1/endpoints/1e3/series?summary=p99", "endpoint id must be a positive integer"),
        ("/api/v1/teams?range=2w", "unknown range '2w'"),
        ("/api/v1/teams/search?range=2w", "unknown range '2w'"),
        ("/api/v1/endpoints/{pk}?range=2w", "unknown range '2w'"),
        ("/api/v1/endpoints/{pk}/costs?range=custom&start=2020-01-01&end=2026-01-01", "at most 455 days"),
        ("/api/v1/endpoints/{pk}/series", "unknown metric ''"),
        ("/api/v1/endpoints/{pk}/series?metric=Latency&stat=p99", "use one of Invocations,"),
        ("/api/v1/endpoints/{pk}/series?metric=ModelLatency&stat=p42", "use one of Average, p50, p90"),
        ("/api/v1/endpoints/{pk}/series?metric=ModelLatency", "unknown stat '' for ModelLatency"),
        ("/api/v1/endpoints/{pk}/series?summary=p99,speed", "unknown summary field(s) speed"),
        ("/api/v1/endpoints/{pk}/series?summary=", "(none given)"),
        ("/api/v1/endpoints/{pk}/series?summary=p99&metric=ModelLatency&stat=p99", "not both"),
    ],
)
def test_bad_parameters_are_400_with_a_message_that_says_why(admin_client, estate, path, message):
    body = get_json(admin_client, path.format(pk=estate["search-ranker"].pk), status=400)
    assert message in body["error"]


def test_unknown_metric_400_lists_the_catalogue_as_allowed_values(admin_client, estate):
    from collectors.catalogue import METRICS

    pk = estate["search-ranker"].pk
    body = get_json(admin_client, f"/api/v1/endpoints/{pk}/series?metric=Nope&stat=Sum", status=400)
    assert body["allowed"] == [m.key for m in METRICS]
    body = get_json(admin_client, f"/api/v1/endpoints/{pk}/series?metric=Invocations&stat=p99", status=400)
    assert body["allowed"] == ["Sum"]


def test_custom_range_is_read_day_by_day(admin_client, estate):
    start = (NOW - timedelta(days=9)).date().isoformat()
    end = (NOW - timedelta(days=5)).date().isoformat()
    body = get_json(
        admin_client,
        f"/api/v1/endpoints/{estate['search-ranker'].pk}/costs?range=custom&start={start}&end={end}",
    )
    assert [d["day"] for d in body["days"]] == [
        "2026-11-11",
        "2026-11-12",
        "2026-11-13",
        "2026-11-14",
        "2026-11-15",
    ]
    assert body["range"]["start"] == datetime(2026, 11, 11, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    assert body["cost"] == "6.2500000000"
