"""The endpoint page: who may open it, what its header and headline figures say, time ranges, and a
query count that does not grow with the range."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.insights import model as rules
from dashboard.models import (
    AwsAccount,
    Endpoint,
    EndpointEvent,
    EndpointSummary,
    InstanceType,
    ProductionVariant,
)
from dashboard.services.figures import endpoint_figures, parse_range
from tests.collectors.test_summary import fleet  # noqa: F401  (fixture: 8 endpoints, 3 days collected)
from tests.conftest import NOW
from tests.dashboard.test_recommendations_page import make_rec


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    """The page computes its ranges from the same clock the fleet was collected with."""
    monkeypatch.setattr("dashboard.views.endpoint.clock", lambda: NOW)


@pytest.fixture
def endpoints(db, team_search):
    """A serverless endpoint of Search with a history, a GPU one of Search, and one nobody owns."""
    account = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])

    def make(name, team, **variant):
        endpoint = Endpoint.objects.create(
            account=account, region="us-east-1", name=name, status="InService", team=team,
            arn=f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{name}", first_seen=NOW, last_seen=NOW,
        )  # fmt: skip
        ProductionVariant.objects.create(
            endpoint=endpoint, name="AllTraffic", first_seen=NOW, last_seen=NOW, **variant
        )
        return endpoint

    ranker = make("search-ranker", team_search, kind="serverless", memory_mb=3072, max_concurrency=20)
    gpu = make(
        "search-gpu", team_search, kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=2
    )
    InstanceType.objects.create(name="ml.x99.mega", known=False, price_source="not in catalogue")
    mystery = make(
        "orphan-mystery", None, kind="instance", instance_type_id="ml.x99.mega", current_instance_count=1
    )
    shape = {"kind": "serverless", "memory_mb": 6144, "max_concurrency": 20}
    history = [
        (timedelta(days=30), "created", {"variants": {"AllTraffic": shape}}),
        (timedelta(days=20), "changed", {"before": {"AllTraffic": shape},
                                         "after": {"AllTraffic": {**shape, "memory_mb": 3072}}}),
        (timedelta(days=10), "deleted", {}),
        (timedelta(days=9), "restored", {}),
    ]  # fmt: skip
    for ago, kind, detail in history:
        EndpointEvent.objects.create(endpoint=ranker, at=NOW - ago, kind=kind, detail=detail)
    return {"ranker": ranker, "gpu": gpu, "mystery": mystery}


def page(client, endpoint, **params):
    return client.get(reverse("endpoint", args=[endpoint.pk]), params)


# --- who may open it -------------------------------------------------------------------------------
def test_anonymous_user_is_sent_to_login(client, endpoints):
    response = page(client, endpoints["ranker"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_member_of_the_owning_team_sees_the_page(client, endpoints, member_search):
    client.force_login(member_search)
    response = page(client, endpoints["ranker"])
    assert response.status_code == 200
    assert b"search-ranker" in response.content


def test_user_with_no_team_gets_404(client, endpoints, outsider):
    client.force_login(outsider)
    assert page(client, endpoints["ranker"]).status_code == 404


def test_member_of_another_team_gets_404(client, endpoints, team_vision, django_user_model):
    viktor = django_user_model.objects.create_user("viktor", password="correct horse battery")
    team_vision.members.add(viktor)
    client.force_login(viktor)
    assert page(client, endpoints["ranker"]).status_code == 404
    assert page(client, endpoints["mystery"]).status_code == 404


def test_member_cannot_open_an_endpoint_nobody_owns(client, endpoints, member_search):
    client.force_login(member_search)
    assert page(client, endpoints["mystery"]).status_code == 404


def test_finops_admin_opens_any_endpoint(client, endpoints, finops_admin):
    client.force_login(finops_admin)
    for endpoint in endpoints.values():
        assert page(client, endpoint).status_code == 200, endpoint.name


def test_an_endpoint_that_does_not_exist_is_404(client, endpoints, finops_admin):
    client.force_login(finops_admin)
    assert client.get(reverse("endpoint", args=[999999])).status_code == 404


def test_a_bad_range_is_not_revealed_to_users_who_may_not_see_the_endpoint(client, endpoints, outsider):
    client.force_login(outsider)
    assert page(client, endpoints["ranker"], range="1y").status_code == 404


# --- time ranges -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"range": "1y"}, "unknown range"),
        ({"range": "custom", "start": "yesterday"}, "YYYY-MM-DD"),
        ({"range": "custom", "start": "2026-11-10", "end": "2026-11-01"}, "ends before it starts"),
        ({"range": "custom", "start": "2020-01-01", "end": "2026-11-01"}, "at most 455 days"),
    ],
)
def test_a_bad_range_is_a_400_that_says_why(client, endpoints, member_search, params, message):
    client.force_login(member_search)
    response = page(client, endpoints["ranker"], **params)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and 'id="range-error"' in body
    assert 'href="?range=7d"' in body  # and offers the ranges that work


@pytest.mark.parametrize(
    ("params", "active"),
    [
        ({}, "7d"),
        ({"range": "24h"}, "24h"),
        ({"range": "30d"}, "30d"),
        ({"range": "90d"}, "90d"),
        ({"range": "custom", "start": "2026-10-01", "end": "2026-10-31"}, "custom"),
    ],
)
def test_every_range_renders_and_is_marked_active(client, endpoints, member_search, params, active):
    client.force_login(member_search)
    response = page(client, endpoints["ranker"], **params)
    assert response.status_code == 200
    assert response.context["rng"].key == active
    if active == "custom":
        assert re.search(
            r'<button type="submit" class="range active">custom</button>', response.content.decode()
        )
    else:
        assert f'class="range active" data-range="{active}"' in response.content.decode()


# --- header ----------------------------------------------------------------------------------------
def test_header_shows_where_the_endpoint_runs_and_its_serverless_shape(client, endpoints, member_search):
    client.force_login(member_search)
    body = page(client, endpoints["ranker"]).content.decode()
    for text in ("prod", "111111111111", "us-east-1", "Search", "InService", "Serverless"):
        assert text in body, text
    assert "memory 3072 MB (3 GB)" in body
    assert "max concurrency 20" in body
    assert "provisioned concurrency none" in body


def test_header_shows_the_instance_shape_and_its_catalogue_price(client, endpoints, member_search):
    client.force_login(member_search)
    body = page(client, endpoints["gpu"]).content.decode()
    catalogue = InstanceType.objects.get(name="ml.g5.xlarge")
    assert "ml.g5.xlarge × 2" in body
    assert f"{catalogue.vcpus} vCPUs" in body
    assert "1 × NVIDIA A10G GPU, 24 GiB GPU memory" in body
    assert f"{catalogue.hourly_price.normalize():f} USD/hour per instance" in body
    assert catalogue.price_source in body


def test_an_instance_type_without_a_price_says_price_unknown(client, endpoints, finops_admin):
    client.force_login(finops_admin)
    body = page(client, endpoints["mystery"]).content.decode()
    assert "ml.x99.mega × 1" in body
    assert "price unknown" in body and "not in catalogue" in body
    assert "untagged" in body


def test_history_lists_changes_newest_first_with_before_and_after(client, endpoints, member_search):
    client.force_login(member_search)
    body = page(client, endpoints["ranker"]).content.decode()
    kinds = re.findall(r'<li class="event event-(\w+)">', body)
    assert kinds == ["restored", "deleted", "changed", "created"]
    assert "AllTraffic: memory MB 6144 → 3072" in body
    assert "AllTraffic: serverless, 6144 MB, max concurrency 20" in body


def test_a_deleted_endpoint_says_so(client, endpoints, member_search):
    Endpoint.objects.filter(pk=endpoints["ranker"].pk).update(deleted_at=NOW - timedelta(hours=2))
    client.force_login(member_search)
    body = page(client, endpoints["ranker"]).content.decode()
    assert re.search(r'id="endpoint-status">Deleted 2026-11-20 08:17 UTC<', body)


# --- with collected data ---------------------------------------------------------------------------
def headline(response) -> dict[str, tuple[str, str]]:
    """data-figure -> (data-value, the value shown)."""
    body = response.content.decode()
    pattern = r'data-figure="(\w+)" data-value="([^"]*)">\s*<div class="label">[^<]*</div>\s*'
    found = re.findall(pattern + r'<div class="value">([^<]*)<', body)
    return {key: (raw, shown) for key, raw, shown in found}


def test_headline_figures_are_the_figures_service_values(client, fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    for name in ("search-embed-serverless", "vision-batch-p4d"):
        endpoint = Endpoint.objects.get(name=name)
        response = page(client, endpoint, range="7d")
        f = endpoint_figures([endpoint.pk], parse_range({"range": "7d"}, NOW), today=NOW.date())[endpoint.pk]
        shown = headline(response)
        assert float(shown["invocations"][0]) == f.invocations > 0
        assert shown["invocations"][1] == f"{f.invocations:,.0f}"
        for key in ("p50", "p95", "p99"):
            assert float(shown[key][0]) == getattr(f, key)
            assert shown[key][1] == f"{getattr(f, key):,.1f} ms"
        assert float(shown["error_rate"][0]) == f.error_rate
        assert Decimal(shown["cost"][0]) == f.cost > 0
        assert shown["cost"][1] == f"{f.cost:,.2f} {f.currency}"
        assert Decimal(shown["cost_per_1k"][0]) == f.cost_per_1k
        assert Decimal(shown["mtd"][0]) == f.mtd_cost
        assert Decimal(shown["forecast"][0]) == f.forecast > f.mtd_cost  # costs are read from the 1st
        body = response.content.decode()
        # 7 days of cost over 3 days of metrics: the page says the ratio may be overstated.
        assert "metrics stored only since" in body
        assert "Cost Explorer resource data" in body  # the payer account opted in to resource-level data
        if endpoint.kind == "serverless":
            assert float(shown["throttle"][0]) == f.throttle
            assert float(shown["cold_start_rate"][0]) == f.cold_start_rate
            assert "derived" in body and "spillover" in body
        else:
            assert shown["cold_start_rate"][1] == "n/a"


def test_estimated_costs_are_marked_estimated(client, fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    member = Endpoint.objects.filter(account__role_arn__gt="").first()  # no resource-level data: estimates
    f = endpoint_figures([member.pk], parse_range({"range": "7d"}, NOW), today=NOW.date())[member.pk]
    assert f.cost_estimated and f.cost_sources == {"estimate"}
    body = page(client, member).content.decode()
    note = re.search(r'data-figure="cost".*?<div class="note">([^<]*)</div>', body, re.S).group(1)
    assert "estimate from usage x price" in note and "estimated" in note


def test_the_page_loads_nothing_from_another_host(client, fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    body = page(client, Endpoint.objects.get(name="vision-batch-p4d")).content.decode()
    assert not re.search(r"https?://", body)
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", body)
    assert scripts == ["/static/vendor/plotly/plotly.min.js", "/static/js/endpoint.js"]
    assert all(href.startswith("/static/") for href in re.findall(r'<link[^>]*href="([^"]+)"', body))


def test_the_plotly_bundle_is_served_from_our_static_files(client, fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    response = client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200
    script = client.get("/static/js/endpoint.js")
    assert script.status_code == 200
    assert b"Plotly.newPlot" in b"".join(script.streaming_content)


def test_query_count_is_the_same_for_7_and_90_days(client, fleet, finops_admin):  # noqa: F811
    client.force_login(finops_admin)
    endpoint = Endpoint.objects.get(name="search-query-pc")
    counts = {}
    for key in ("7d", "90d", "24h"):
        with CaptureQueriesContext(connection) as queries:
            assert page(client, endpoint, range=key).status_code == 200
        counts[key] = len(queries)
        # Summary and rollup rows only, never the raw points.
        assert not any("dashboard_metricpoint" in q["sql"] for q in queries.captured_queries)
    assert counts["7d"] == counts["90d"] == counts["24h"], counts


# --- recommendations, weekly cost per 1k, cold starts by hour ---------------------------------------
def test_recommendations_panel_lists_the_endpoints_active_ones_whatever_their_status(
    client, endpoints, member_search
):
    ranker = endpoints["ranker"]
    listed = [
        make_rec(ranker, rule=rules.MEMORY_OVER, saving="120"),
        make_rec(ranker, rule=rules.COLD_STARTS, saving="-15", status="dismissed",
                 status_changed_by=member_search, status_changed_at=NOW, status_note="batch traffic"),
    ]  # fmt: skip
    hidden = [make_rec(ranker, saving="999", active=False), make_rec(endpoints["gpu"], saving="50")]
    client.force_login(member_search)
    body = page(client, ranker).content.decode()
    start = body.index('id="recommendations"')
    panel = " ".join(body[start : body.index("</section>", start)].split())
    assert [int(pk) for pk in re.findall(r'<li data-rec="(\d+)"', panel)] == [r.pk for r in listed]
    assert all(f'data-rec="{r.pk}"' not in panel for r in hidden)
    assert "120.00 USD</span> a month" in panel and "costs 15.00 USD more" in panel
    assert "Open</span>" in panel and "Dismissed</span>" in panel
    assert "Dismissed by sam on 2026-11-20 10:17 UTC: “batch traffic”" in panel
    assert "<dt>Peak memory</dt><dd>19.50%</dd>" in panel and "Peak memory 1.2 GB of 6 GB" in panel
    assert 'value="reopen"' in panel and 'value="accept"' in panel
    assert f'name="next" value="/endpoints/{ranker.pk}/"' in panel


def test_an_action_from_the_endpoint_page_comes_back_to_it(client, endpoints, member_search, monkeypatch):
    monkeypatch.setattr("dashboard.views.fleet.clock", lambda: NOW)
    rec = make_rec(endpoints["ranker"], saving="120")
    client.force_login(member_search)
    back = f"/endpoints/{endpoints['ranker'].pk}/?range=30d"
    response = client.post(
        reverse("recommendation-status", args=[rec.pk]), {"action": "accept", "next": back}
    )
    assert response["Location"] == back
    assert f"Accepted: {rec.title}" in client.get(back).content.decode()


def test_an_endpoint_without_recommendations_says_so(client, endpoints, member_search):
    client.force_login(member_search)
    assert "No active recommendation for this endpoint." in page(client, endpoints["gpu"]).content.decode()


def test_cold_starts_by_hour_are_charted_for_serverless_endpoints_only(client, endpoints, member_search):
    client.force_login(member_search)
    serverless = page(client, endpoints["ranker"]).content.decode()
    instance = page(client, endpoints["gpu"]).content.decode()
    assert (
        'data-chart="cold_starts_by_hour"' in serverless
        and 'data-chart="cold_starts_by_hour"' not in instance
    )
    for body in (serverless, instance):
        assert 'data-chart="cost_per_1k_weekly"' in body and 'id="weekly-cost-per-1k"' in body


def test_cold_starts_by_hour_chart_is_the_hourly_rows_of_the_range(client, fleet, finops_admin):  # noqa: F811
    cold = EndpointSummary.objects.filter(resolution="1h", cold_starts__gt=0).order_by("-cold_starts").first()
    endpoint = cold.endpoint  # a serverless endpoint of the simulated fleet that does start cold
    client.force_login(finops_admin)
    body = page(client, endpoint, range="7d").content.decode()
    payload = re.search(r'data-for="cold_starts_by_hour">(.*?)</script>', body, re.S).group(1)
    rate, duration = json.loads(payload)["figure"]["data"]
    rng = parse_range({"range": "7d"}, NOW)
    rows = EndpointSummary.objects.filter(
        endpoint=endpoint, resolution="1h", bucket__gte=rng.start, bucket__lt=rng.end
    )
    hours = {h: [0.0, 0.0, 0.0] for h in range(24)}
    for r in rows:
        hours[r.bucket.hour][0] += r.invocations
        hours[r.bucket.hour][1] += r.cold_starts
        hours[r.bucket.hour][2] += r.cold_start_ms
    for h, (invocations, cold, ms) in hours.items():
        expected = cold / invocations * 100 if invocations else None
        assert rate["y"][h] == (pytest.approx(expected, rel=1e-5) if expected is not None else None), h
        assert duration["y"][h] == (pytest.approx(ms / cold, rel=1e-5) if cold else None), h
    assert any(rate["y"]) and any(duration["y"])


def test_query_count_does_not_grow_with_the_recommendations(client, endpoints, member_search, finops_admin):
    ranker = endpoints["ranker"]
    client.force_login(member_search)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert page(client, ranker).status_code == 200
        return len(queries)

    make_rec(ranker, saving="1", status="accepted", status_changed_by=finops_admin, status_changed_at=NOW)
    count()
    small = count()
    for n in range(5):
        who = member_search if n % 2 else finops_admin
        make_rec(ranker, saving=str(n), status="dismissed", status_changed_by=who, status_changed_at=NOW)
    assert count() == small


def test_hosting_panel_compares_each_variant_with_its_cheapest_alternative(client, fleet, finops_admin):  # noqa: F811
    from dashboard.insights.evidence import load_evidence, load_prices
    from dashboard.insights.model import Thresholds
    from dashboard.insights.rules.breakeven import compare_hosting

    client.force_login(finops_admin)
    endpoint = Endpoint.objects.get(name="recsys-ranker-serverless")
    body = page(client, endpoint).content.decode()
    start = body.index('id="hosting"')
    panel = " ".join(body[start : body.index("</section>", start)].split())
    t, prices = Thresholds(), load_prices()
    (ev,) = load_evidence(NOW, t, prices, endpoint_ids=[endpoint.pk])
    c = compare_hosting(ev, t, prices)
    assert c.current == "serverless" and c.current_monthly > 0
    assert f"{c.current_monthly.quantize(Decimal('0.01')):,} USD" in panel
    assert (c.alternative_config or c.reason) in panel
    if c.alternative_monthly is not None:
        assert f"{c.alternative_monthly.quantize(Decimal('0.01')):,} USD" in panel


def test_a_deleted_endpoint_has_no_hosting_comparison(client, endpoints, member_search):
    endpoint = Endpoint.objects.get(name="search-ranker")
    endpoint.deleted_at = NOW
    endpoint.save()
    client.force_login(member_search)
    body = page(client, endpoint).content.decode()
    assert "No comparison" in body
