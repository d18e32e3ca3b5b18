"""Serverless versus real-time: current hosting against the cheapest alternative that fits, and the
request rate at which they cost the same. Figures are hand calculations from prices.json: serverless
$0.00002 per GB-second, ml.m5.large $0.115/h (2 vCPU, 8 GiB), ml.m5.xlarge $0.23/h (4 vCPU, 16 GiB)."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.insights.model import BREAK_EVEN, HourProfile, Thresholds, UtilStats, VariantEvidence
from dashboard.insights.rules.breakeven import compare_hosting, hosting_break_even
from tests.dashboard.insights.prices import load_prices

PRICES = load_prices()
T = Thresholds()
START = datetime(2026, 11, 6, tzinfo=UTC)
END = START + timedelta(days=14)
WINDOW_S = 14 * 86400  # 1,209,600 s
MONTH_S = 730 * 3600  # 2,628,000 s
CENT = Decimal("0.01")


def evidence(kind, *, rps, latency_ms, hours=14 * 24, memory=None, concurrency=None, **overrides):
    """A variant that served `rps` requests per second on average over the 14-day window."""
    invocations = rps * WINDOW_S
    fields = {
        "endpoint_id": 12,
        "endpoint_name": "search-embed",
        "account_id": "111111111111",
        "region": "us-east-1",
        "team_id": 1,
        "variant": "AllTraffic",
        "kind": kind,
        "start": START,
        "end": END,
        "hours_with_data": hours,
        "invocations": invocations,
        "compute_seconds": invocations * latency_ms / 1000,
        "latency_avg_ms": latency_ms,
        "latency_p99_ms": latency_ms * 3,
        "memory": UtilStats(peak=memory, hours=hours),
        "concurrency": UtilStats(peak=concurrency, hours=hours),
    }
    return VariantEvidence(**{**fields, **overrides})


def serverless(
    *, rps=80.0, latency_ms=100.0, memory_mb=2048, max_concurrency=20, memory=50.0, peak=0.5, **kw
):
    return evidence(
        "serverless",
        rps=rps,
        latency_ms=latency_ms,
        memory=memory,
        concurrency=peak,
        memory_mb=memory_mb,
        max_concurrency=max_concurrency,
        **kw,
    )


def instance(name="ml.m5.xlarge", count=1, *, rps=0.5, latency_ms=50.0, memory=10.0, **kw):
    return evidence(
        "instance",
        rps=rps,
        latency_ms=latency_ms,
        memory=memory,
        instance=PRICES.instances[name],
        instance_count=count,
        **kw,
    )


# --- serverless -> instances -------------------------------------------------------------------------


def test_busy_steady_serverless_endpoint_moves_to_cpu_instances():
    # 80 req/s x 0.1 s = 8 concurrent on average: 8 x 2,628,000 s x 2 GB x $0.00002 = $840.96 a month.
    # Peak concurrency 0.5 x 20 = 10, x 1.3 = 13 -> ml.m5.large (2 vCPU): 7 instances = 7 x 0.115 x 730
    # = $587.65, cheaper than 4 x ml.m5.xlarge ($671.60) or 4 x ml.c5.xlarge ($595.68).
    ev = serverless()

    [finding] = hosting_break_even(ev, T, PRICES)

    assert finding.rule == BREAK_EVEN
    assert finding.proposed == {
        "hosting": "instance",
        "instance_type": "ml.m5.large",
        "instance_count": 7,
        "monthly": "587.65",
    }
    assert finding.current["monthly"] == "840.96"
    assert finding.monthly_saving == Decimal("253.31") == Decimal("840.96") - 7 * Decimal("0.115") * 730
    assert finding.title == "Move from serverless 2048 MB to 7 × ml.m5.large"
    assert finding.confidence == 1.0
    assert finding.currency == "USD"


def test_break_even_rate_is_where_instances_cost_what_serverless_requests_do():
    # Cost per request: 0.1 s x 2 GB x $0.00002 = $0.000004. $587.65 / $0.000004 = 146,912,500 requests
    # a month = 55.9 req/s averaged over 2,628,000 s.
    c = compare_hosting(serverless(), T, PRICES)

    assert c.current == "serverless" and c.alternative == "instance"
    assert c.serverless_cost_per_request == Decimal("0.000004")
    assert c.break_even_rps == pytest.approx(587.65 / 0.000004 / MONTH_S)
    assert c.observed_rps == pytest.approx(80.0)
    assert c.peak_concurrency == pytest.approx(10.0)
    assert c.memory_needed_mb == pytest.approx(0.5 * 2048 * 1.3)
    assert c.reason == ""


def test_spiky_serverless_endpoint_stays_but_its_comparison_is_shown():
    # 30 req/s x 0.1 s = 3 concurrent on average ($315.36 a month) with the same peak of 10: instances
    # sized for the peak cost more. The comparison still says where they would cross.
    c = compare_hosting(serverless(rps=30.0), T, PRICES)

    assert money(c.current_monthly) == Decimal("315.36")
    assert money(c.alternative_monthly) == Decimal("587.65")
    assert c.break_even_rps > c.observed_rps
    assert hosting_break_even(serverless(rps=30.0), T, PRICES) == []


def test_a_saving_under_the_break_even_fraction_is_not_worth_a_migration():
    # 60 req/s: $630.72 on serverless against $587.65: 6.8% cheaper, under the 20% asked for.
    ev = serverless(rps=60.0)

    assert compare_hosting(ev, T, PRICES).monthly_saving > T.min_monthly_saving
    assert hosting_break_even(ev, T, PRICES) == []


def test_provisioned_concurrency_capacity_counts_in_the_serverless_month():
    # Capacity: 2 x 2 GB x 2,628,000 s x $0.0000048 = $50.4576 on top of $840.96 of on-demand compute.
    c = compare_hosting(serverless(provisioned_concurrency=2), T, PRICES)

    assert c.current_monthly == Decimal("840.96") + Decimal("50.4576")
    assert c.break_even_rps == pytest.approx((587.65 - 50.4576) / 0.000004 / MONTH_S)


def test_a_serverless_model_too_big_for_every_cpu_type_has_no_alternative():
    # With only the 8 GiB types left and 50% headroom: 100% of 6144 MB x 1.5 = 9,216 MB > 8,192 MB.
    small = {n: s for n, s in PRICES.instances.items() if n in ("ml.m5.large", "ml.c5.xlarge")}
    prices = dataclasses.replace(PRICES, instances=small)
    t = dataclasses.replace(T, memory_headroom=0.5)
    ev = serverless(memory_mb=6144, memory=100.0)

    c = compare_hosting(ev, t, prices)

    assert c.alternative is None and c.alternative_monthly is None
    assert "No CPU instance type" in c.reason and "9,216 MB" in c.reason
    assert hosting_break_even(ev, t, prices) == []


def test_serverless_endpoint_with_no_invocations_has_no_break_even_rate_and_no_crash():
    ev = serverless(rps=0.0)

    c = compare_hosting(ev, T, PRICES)

    assert c.current_monthly == 0
    assert c.break_even_rps is None and c.serverless_cost_per_request is None
    assert "undefined" in c.reason
    assert hosting_break_even(ev, T, PRICES) == []


# --- instances -> serverless -------------------------------------------------------------------------


def test_mostly_idle_cpu_instance_moves_to_serverless():
    # 10% of 16 GiB x 1.3 = 2,130 MB -> the 3072 MB tier. 0.5 req/s x 0.05 s over a month:
    # 65,700 s x 3 GB x $0.00002 = $3.942 against 1 x ml.m5.xlarge = 0.23 x 730 = $167.90.
    ev = instance()

    [finding] = hosting_break_even(ev, T, PRICES)

    assert finding.proposed["hosting"] == "serverless"
    assert finding.proposed["memory_mb"] == 3072
    assert (
        finding.monthly_saving == Decimal("163.96") == (Decimal("167.90") - Decimal("3.942")).quantize(CENT)
    )
    assert finding.title == "Move from 1 × ml.m5.xlarge to serverless 3072 MB"
    assert any("ModelLatency" in w for w in finding.warnings)
    json.dumps([finding.current, finding.proposed, finding.evidence])


def test_instance_break_even_rate_is_the_instance_month_over_the_serverless_cost_per_request():
    # Cost per request: 0.05 s x 3 GB x $0.00002 = $0.000003; $167.90 / $0.000003 / 2,628,000 s = 21.3.
    c = compare_hosting(instance(), T, PRICES)

    assert c.serverless_cost_per_request == Decimal("0.000003")
    assert c.break_even_rps == pytest.approx(167.90 / 0.000003 / MONTH_S)
    assert c.observed_rps == pytest.approx(0.5)


def test_serverless_max_concurrency_is_sized_on_the_busiest_hour():
    # All 604,800 requests in hour 15 of each day: 43,200 per hour = 12 req/s x 0.05 s = 0.6 concurrent,
    # x 1.3 -> 1; but never below the 4 concurrent requests the 4-vCPU instance served (it is free).
    quiet = [HourProfile(hour=h, invocations=604_800.0 if h == 15 else 0.0) for h in range(24)]
    c = compare_hosting(instance(by_hour=quiet), T, PRICES)
    assert c.peak_concurrency == pytest.approx(0.6)
    assert c.alternative_max_concurrency == 4

    # 40x the traffic in that hour: 24 concurrent x 1.3 = 31.2 -> 32.
    busy = [HourProfile(hour=h, invocations=604_800.0 * 40 if h == 15 else 0.0) for h in range(24)]
    assert compare_hosting(instance(by_hour=busy, rps=20.0), T, PRICES).alternative_max_concurrency == 32

    # 400x: 240 concurrent, beyond the serverless maximum of 200.
    burst = [HourProfile(hour=h, invocations=604_800.0 * 400 if h == 15 else 0.0) for h in range(24)]
    c = compare_hosting(instance(by_hour=burst, rps=200.0), T, PRICES)
    assert c.alternative is None and "above the serverless maximum of 200" in c.reason


def test_an_instance_needing_more_than_6_gb_stays_on_instances():
    # 40% of 16 GiB x 1.3 = 8,520 MB: above the 6144 MB serverless maximum.
    ev = instance(memory=40.0)

    c = compare_hosting(ev, T, PRICES)

    assert c.alternative is None
    assert "6144 MB" in c.reason
    assert hosting_break_even(ev, T, PRICES) == []


def test_gpu_and_inferentia_instances_have_no_serverless_alternative():
    for name in ("ml.g5.xlarge", "ml.inf2.xlarge"):
        c = compare_hosting(instance(name), T, PRICES)
        assert c.alternative is None and "accelerator" in c.reason, name
        assert hosting_break_even(instance(name), T, PRICES) == []


def test_busy_instance_endpoint_stays_on_instances():
    # 40 req/s x 0.05 s = 2 concurrent all month: 5,256,000 s x 3 GB x $0.00002 = $315.36 > $167.90.
    ev = instance(rps=40.0)

    c = compare_hosting(ev, T, PRICES)

    assert money(c.alternative_monthly) == Decimal("315.36")
    assert c.observed_rps > c.break_even_rps
    assert hosting_break_even(ev, T, PRICES) == []


def test_idle_instance_is_left_to_the_idle_rule_and_has_no_break_even_rate():
    ev = instance(rps=0.0)

    c = compare_hosting(ev, T, PRICES)

    assert c.alternative == "serverless" and c.alternative_monthly == 0
    assert c.break_even_rps is None and "undefined" in c.reason
    assert hosting_break_even(ev, T, PRICES) == []


# --- data and edge cases -----------------------------------------------------------------------------


def test_too_little_data_gives_no_verdict_but_a_reason():
    for ev in (serverless(hours=T.min_data_hours - 1), instance(hours=T.min_data_hours - 1)):
        c = compare_hosting(ev, T, PRICES)
        assert c.alternative is None and "hours of data" in c.reason
        assert hosting_break_even(ev, T, PRICES) == []


def test_missing_utilisation_or_latency_gives_no_verdict():
    cases = [
        serverless(memory=None),
        serverless(peak=None),
        serverless(compute_seconds=0.0),
        instance(memory=None),
        instance(compute_seconds=0.0),
    ]
    for ev in cases:
        assert compare_hosting(ev, T, PRICES).alternative_monthly is None
        assert hosting_break_even(ev, T, PRICES) == []


def test_unknown_shape_or_price_has_no_comparison():
    unpriced = instance()
    unpriced.instance = dataclasses.replace(unpriced.instance, hourly=None)

    assert compare_hosting(unpriced, T, PRICES) is None
    assert compare_hosting(serverless(memory_mb=None), T, PRICES) is None
    assert hosting_break_even(unpriced, T, PRICES) == []


def test_a_variant_created_mid_window_is_priced_over_the_days_it_existed():
    # 7 days of the 14 at 0.5 req/s average over the window = 1 req/s while it existed: twice the month.
    half = compare_hosting(instance(endpoint_created_at=START + timedelta(days=7)), T, PRICES)
    full = compare_hosting(instance(), T, PRICES)

    assert half.observed_rps == pytest.approx(1.0)
    assert half.alternative_monthly == 2 * full.alternative_monthly


def test_finding_evidence_is_json_ready_with_an_iso_window():
    [finding] = hosting_break_even(serverless(variants_on_endpoint=2), T, PRICES)

    json.dumps([finding.current, finding.proposed, finding.evidence])
    assert finding.evidence["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert Decimal(finding.evidence["serverless_cost_per_request"]) == Decimal("0.000004")
    assert finding.evidence["prices"]["hourly"] == {"ml.m5.large": "0.115"}
    assert finding.target == "12/AllTraffic/serverless"
    assert "55.9 requests/s" in finding.summary and "80 requests/s" in finding.summary
    assert any("2 variants" in w for w in finding.warnings)


def money(value):
    return value.quantize(CENT)


def test_an_endpoint_quiet_for_the_idle_days_is_left_to_the_idle_rule():
    # Called early in the window, silent for the last 10 days: the idle rule says "delete", and moving it
    # to serverless would be the same saving counted twice.
    ev = instance("ml.m5.xlarge", 2, last_invocation_at=END - timedelta(days=10))
    assert compare_hosting(ev, T, PRICES) is not None
    assert hosting_break_even(ev, T, PRICES) == []
