"""Serverless rules: memory both ways, cold starts, unused provisioned concurrency, throttling.

Pure tests on hand-built evidence. Savings are recomputed by hand from collectors/data/prices.json:
on demand $0.00002 per GB-second, provisioned concurrency $0.0000048 per GB-second held and $0.000013
per GB-second for the requests it serves, a month of 730 h = 2,628,000 s. The window is 14 days
(336 h), so window compute seconds x 730 / 336 gives a month's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.insights.model import (
    COLD_STARTS,
    MEMORY_OVER,
    MEMORY_UNDER,
    PC_UNUSED,
    THROTTLING,
    HourProfile,
    Thresholds,
    UtilStats,
    VariantEvidence,
    variant_target,
)
from dashboard.insights.rules import serverless
from tests.dashboard.insights.prices import load_prices

START = datetime(2026, 11, 6, 10, tzinfo=UTC)
END = START + timedelta(days=14)
T = Thresholds()
PRICES = load_prices()
RULES = (
    serverless.memory_over_provisioned,
    serverless.memory_under_provisioned,
    serverless.cold_starts,
    serverless.provisioned_concurrency_unused,
    serverless.throttling,
)


def evidence(**fields) -> VariantEvidence:
    """A busy 6 GB serverless variant with a full window of data, peaking at 900 MB; p99 200 ms.
    1,200,000 requests of 100.8 ms = 120,960 billed seconds, i.e. 262,800 s a month."""
    values = {
        "endpoint_id": 7,
        "endpoint_name": "churn-serverless",
        "account_id": "111122223333",
        "region": "us-east-1",
        "team_id": 1,
        "variant": "AllTraffic",
        "kind": "serverless",
        "start": START,
        "end": END,
        "endpoint_created_at": START - timedelta(days=60),
        "collected_from": START - timedelta(days=60),
        "memory_mb": 6144,
        "max_concurrency": 20,
        "hours_with_data": 336,
        "invocations": 1_200_000,
        "compute_seconds": 120_960,
        "latency_avg_ms": 100.8,
        "latency_p50_ms": 80.0,
        "latency_p95_ms": 150.0,
        "latency_p99_ms": 200.0,
        "memory": UtilStats(peak=900 / 6144 * 100, p99=12.0, hours=336),
        "concurrency": UtilStats(peak=0.4, p99=0.3, hours=336),
        "last_invocation_at": END - timedelta(minutes=3),
        "collected_until": END,
    }
    values.update(fields)
    return VariantEvidence(**values)


def only(rule, ev: VariantEvidence, t: Thresholds = T):
    """The rule's finding, checked for what every finding must carry; None when it stays silent."""
    findings = rule(ev, t, PRICES)
    assert len(findings) <= 1
    if not findings:
        return None
    f = findings[0]
    assert f.target == variant_target(ev, f.rule)
    assert (f.endpoint_id, f.variant, f.account_id, f.region) == (
        7,
        "AllTraffic",
        "111122223333",
        "us-east-1",
    )
    assert f.currency == "USD"
    assert 0.0 <= f.confidence <= 1.0
    assert f.evidence["window_start"] == START.isoformat() and f.evidence["window_end"] == END.isoformat()
    json.dumps([f.current, f.proposed, f.evidence, f.warnings])
    if f.monthly_saving is not None:
        assert f.monthly_saving == f.monthly_saving.quantize(Decimal("0.01"))
    return f


# --- memory over-provisioned ----------------------------------------------------------------------------


def test_it_proposes_2gb_for_6gb_endpoint_peaking_at_900mb():
    f = only(serverless.memory_over_provisioned, evidence())
    assert f.rule == MEMORY_OVER
    assert f.title == "Lower memory from 6 GB to 2 GB"
    # 900 MB x 1.3 = 1,170 MB -> 2 GB; worst-case p99 200 x 6/2 = 600 ms <= 1,000 ms.
    # 262,800 s x (6 - 2) GB x 0.00002 = 21.024
    assert f.monthly_saving == Decimal("21.02")
    assert f.proposed == {"memory_mb": 2048}
    assert f.current == {"memory_mb": 6144, "max_concurrency": 20, "provisioned_concurrency": 0}
    assert f.evidence["worst_case_p99_ms"] == 600.0
    assert f.evidence["latency_target_source"] == "setting"
    assert "fewer vCPUs" in f.warnings[0] and "80/150/200 ms" in f.warnings[0]
    assert f.confidence == 1.0


def test_latency_guard_stops_at_3gb_when_2gb_would_push_p99_past_the_target():
    # 400 ms x 6/2 = 1,200 ms > 1,000 ms; x 6/3 = 800 ms passes.
    f = only(serverless.memory_over_provisioned, evidence(latency_p99_ms=400.0))
    assert f.proposed == {"memory_mb": 3072}
    # 262,800 s x (6 - 3) GB x 0.00002 = 15.768
    assert f.monthly_saving == Decimal("15.77")
    assert f.evidence["smallest_fitting_mb"] == 2048


def test_latency_guard_blocks_every_smaller_tier_when_p99_is_already_close_to_the_target():
    # 900 ms x 6/5 = 1,080 ms > 1,000 ms even one tier down.
    assert only(serverless.memory_over_provisioned, evidence(latency_p99_ms=900.0)) is None


def test_latency_target_tag_loosens_the_guard():
    ev = evidence(latency_p99_ms=900.0, tags={"latency-target-ms": "2000"})
    f = only(serverless.memory_over_provisioned, ev)
    # 2 GB: 2,700 ms > 2,000; 3 GB: 1,800 ms passes.
    assert f.proposed == {"memory_mb": 3072}
    assert f.evidence["latency_target_ms"] == 2000.0
    assert f.evidence["latency_target_source"] == "tag latency-target-ms"


def test_latency_target_tag_can_tighten_the_guard_until_nothing_passes():
    # 200 ms x 6/5 = 240 ms > 200 ms.
    ev = evidence(tags={"latency-target-ms": "200"})
    assert only(serverless.memory_over_provisioned, ev) is None


@pytest.mark.parametrize("value", ["fast", "", "nan", "-5", "0"])
def test_unusable_latency_target_tag_falls_back_to_the_setting(value):
    f = only(
        serverless.memory_over_provisioned, evidence(latency_p99_ms=400.0, tags={"latency-target-ms": value})
    )
    assert f.proposed == {"memory_mb": 3072}
    assert f.evidence["latency_target_source"] == "setting"


def test_saving_includes_provisioned_concurrency_which_scales_with_memory():
    ev = evidence(provisioned_concurrency=2, pc_invocations=600_000)
    f = only(serverless.memory_over_provisioned, ev)
    # Half the 262,800 s on demand, half served warm, plus 2 units held all month (2,628,000 s):
    # 6 GB: 131,400 x 6 x 0.00002 + 131,400 x 6 x 0.000013 + 2 x 6 x 2,628,000 x 0.0000048
    #     = 15.768 + 10.2492 + 151.3728 = 177.39
    # 2 GB: a third of it = 59.13
    assert f.monthly_saving == Decimal("118.26")
    assert f.evidence["current_monthly"] == "177.39" and f.evidence["proposed_monthly"] == "59.13"


def test_right_sized_2gb_endpoint_peaking_at_60pct_gets_nothing():
    # 60% of 2,048 MB x 1.3 = 1,597 MB: 1 GB is too small.
    ev = evidence(memory_mb=2048, memory=UtilStats(peak=60.0, p99=55.0, hours=336))
    assert only(serverless.memory_over_provisioned, ev) is None


def test_no_verdict_on_memory_with_less_than_72_hours_of_data():
    ev = evidence(memory=UtilStats(peak=14.6, p99=12.0, hours=71))
    assert only(serverless.memory_over_provisioned, ev) is None


def test_a_saving_under_a_dollar_is_not_worth_a_change():
    # 3,360 s -> 7,300 s a month x 4 GB x 0.00002 = 0.584
    assert only(serverless.memory_over_provisioned, evidence(compute_seconds=3_360)) is None


def test_confidence_drops_with_partial_memory_data():
    f = only(serverless.memory_over_provisioned, evidence(memory=UtilStats(peak=14.6, p99=12.0, hours=168)))
    assert f.confidence == 0.5


# --- memory under-provisioned ---------------------------------------------------------------------------


def test_it_proposes_3gb_for_2gb_endpoint_peaking_at_97pct():
    ev = evidence(memory_mb=2048, memory=UtilStats(peak=97.0, p99=93.0, hours=336))
    f = only(serverless.memory_under_provisioned, ev)
    assert f.rule == MEMORY_UNDER
    assert f.title == "Raise memory from 2 GB to 3 GB"
    assert f.proposed == {"memory_mb": 3072}
    # 262,800 s x (2 - 3) GB x 0.00002 = -5.256: it costs more
    assert f.monthly_saving == Decimal("-5.26")
    assert only(serverless.memory_over_provisioned, ev) is None


def test_6gb_endpoint_at_97pct_has_nowhere_to_go_but_an_instance_endpoint():
    f = only(serverless.memory_under_provisioned, evidence(memory=UtilStats(peak=97.0, p99=93.0, hours=336)))
    assert f.title == "Memory at the 6 GB serverless maximum"
    assert f.proposed == {"memory_mb": None, "alternative": "instance endpoint"}
    assert f.monthly_saving is None
    assert "instance endpoint" in f.summary


def test_5xx_clustered_in_cold_start_hours_flag_memory_and_stop_lowering_it():
    # 2 GB at 30% would otherwise be lowered to 1 GB; but 30 errors in 1,000 calls in cold-start hours
    # (3%) against 100 in 1,000,000 (0.01%) elsewhere say the model runs out of memory while loading.
    ev = evidence(
        memory_mb=2048,
        memory=UtilStats(peak=30.0, p99=28.0, hours=336),
        invocations=1_001_000,
        errors_5xx=130,
        cold_start_errors_5xx=30,
        invocations_cold_hours=1_000,
    )
    f = only(serverless.memory_under_provisioned, ev)
    assert f.proposed == {"memory_mb": 3072}
    assert f.evidence["cold_hours_5xx_rate"] == 0.03 and f.evidence["other_hours_5xx_rate"] == 0.0001
    assert "cold starts" in f.summary
    assert f.confidence == 0.7
    assert only(serverless.memory_over_provisioned, ev) is None
    assert only(serverless.memory_over_provisioned, replace(ev, cold_start_errors_5xx=0, errors_5xx=100))


def test_a_few_cold_start_errors_are_noise():
    ev = evidence(errors_5xx=4, cold_start_errors_5xx=4, invocations_cold_hours=1_000)
    assert only(serverless.memory_under_provisioned, ev) is None


def test_5xx_as_common_outside_cold_start_hours_is_not_a_memory_problem():
    # 3% in cold-start hours against 2% otherwise: under the 3x lift.
    ev = evidence(
        invocations=1_001_000, errors_5xx=20_030, cold_start_errors_5xx=30, invocations_cold_hours=1_000
    )
    assert only(serverless.memory_under_provisioned, ev) is None


def test_cold_start_errors_without_any_warm_hours_give_no_baseline_and_no_verdict():
    ev = evidence(errors_5xx=300, cold_start_errors_5xx=300, invocations_cold_hours=1_200_000)
    assert only(serverless.memory_under_provisioned, ev) is None


def test_peak_memory_of_90pct_is_not_under_provisioned():
    ev = evidence(memory_mb=2048, memory=UtilStats(peak=90.0, p99=85.0, hours=336))
    assert only(serverless.memory_under_provisioned, ev) is None
    assert only(serverless.memory_over_provisioned, ev) is None


# --- cold starts ----------------------------------------------------------------------------------------


def cold(**fields) -> VariantEvidence:
    """2 GB, MaxConcurrency 20, 100,000 requests of 336 ms (33,600 s, 73,000 s a month), 8,000 of them
    cold starts of 3 s: 240 ms added per request on average."""
    values = {
        "memory_mb": 2048,
        "invocations": 100_000,
        "compute_seconds": 33_600,
        "latency_avg_ms": 336.0,
        "cold_starts": 8_000,
        "cold_start_ms_total": 24_000_000,
        "concurrency": UtilStats(peak=0.3, p99=0.15, hours=336),
        "memory": UtilStats(peak=60.0, p99=55.0, hours=336),
    }
    values.update(fields)
    return evidence(**values)


def test_it_proposes_provisioned_concurrency_of_3_for_8pct_cold_starts():
    f = only(serverless.cold_starts, cold())
    assert f.rule == COLD_STARTS
    assert f.title == "Add provisioned concurrency of 3"  # ceil(0.15 x 20)
    assert f.proposed == {"provisioned_concurrency": 3}
    # now: 73,000 s x 2 GB x 0.00002 = 2.92
    # with 3: 3 x 2 GB x 2,628,000 s x 0.0000048 = 75.6864 held + 73,000 x 2 x 0.000013 = 1.898 served
    # 2.92 - 77.5844 = -74.6644
    assert f.monthly_saving == Decimal("-74.66")
    assert f.evidence["cold_start_rate"] == 0.08
    assert f.evidence["added_ms_per_request"] == 240.0
    assert f.evidence["cold_start_avg_ms"] == 3000.0


def test_existing_provisioned_concurrency_below_the_sizing_is_raised():
    f = only(serverless.cold_starts, cold(provisioned_concurrency=1, pc_invocations=50_000))
    assert f.title == "Raise provisioned concurrency from 1 to 3"
    # now: 36,500 x 2 x 0.00002 = 1.46 + 36,500 x 2 x 0.000013 = 0.949 + 1 x 2 x 2,628,000 x 0.0000048
    #      = 25.2288 -> 27.6378; with 3: 77.5844 -> -49.9466
    assert f.monthly_saving == Decimal("-49.95")


def test_evidence_names_the_worst_hours_of_the_day():
    hours = [
        HourProfile(hour=h, invocations=4_000, cold_starts=100, cold_start_ms=300_000) for h in range(24)
    ]
    hours[7] = HourProfile(hour=7, invocations=4_000, cold_starts=2_000, cold_start_ms=6_000_000)
    hours[3] = HourProfile(hour=3, invocations=0)
    f = only(serverless.cold_starts, cold(by_hour=hours))
    assert f.evidence["worst_hours_utc"][0] == 7 and len(f.evidence["worst_hours_utc"]) == 3
    by_hour = f.evidence["by_hour_utc"]
    assert [h["hour"] for h in by_hour] == list(range(24))
    assert by_hour[7]["cold_start_rate"] == 0.5 and by_hour[7]["added_ms_per_request"] == 1500.0
    assert by_hour[3]["added_ms_per_request"] is None
    assert "07:00" in f.summary


def test_rare_cold_starts_do_not_need_provisioned_concurrency():
    assert only(serverless.cold_starts, cold(cold_starts=3_000, cold_start_ms_total=9_000_000)) is None


def test_fast_cold_starts_do_not_need_provisioned_concurrency():
    # 8,000 x 500 ms / 100,000 = 40 ms per request < 50 ms
    assert only(serverless.cold_starts, cold(cold_start_ms_total=4_000_000)) is None


@pytest.mark.parametrize(
    ("p99", "max_concurrency", "size"),
    [(0.01, 20, 1), (0.95, 5, 5), (0.14, 50, 7)],  # 0.14 x 50 is 7.000000000000001 in floats
)
def test_provisioned_concurrency_is_sized_between_1_and_max_concurrency(p99, max_concurrency, size):
    ev = cold(max_concurrency=max_concurrency, concurrency=UtilStats(peak=1.0, p99=p99, hours=336))
    assert only(serverless.cold_starts, ev).proposed == {"provisioned_concurrency": size}


def test_provisioned_concurrency_already_at_max_concurrency_cannot_grow():
    ev = cold(max_concurrency=3, provisioned_concurrency=3, pc_invocations=90_000)
    assert only(serverless.cold_starts, ev) is None


def test_no_cold_start_verdict_without_enough_data_or_traffic():
    assert only(serverless.cold_starts, cold(hours_with_data=48)) is None
    assert only(serverless.cold_starts, cold(concurrency=UtilStats())) is None
    assert only(serverless.cold_starts, cold(invocations=0, cold_starts=0, cold_start_ms_total=0)) is None


# --- provisioned concurrency unused ---------------------------------------------------------------------


def pc(**fields) -> VariantEvidence:
    """2 GB with 10 provisioned that serve all 100,000 requests (73,000 s a month); at most 15% in use."""
    values = {
        "provisioned_concurrency": 10,
        "pc_utilisation": UtilStats(peak=0.15, p99=0.1, hours=336),
        "pc_invocations": 100_000,
        "pc_spillover": 0.0,
    }
    values.update(fields)
    return cold(cold_starts=0, cold_start_ms_total=0, **values)


def test_it_reduces_provisioned_concurrency_of_10_peaking_at_15pct_to_2():
    f = only(serverless.provisioned_concurrency_unused, pc())
    assert f.rule == PC_UNUSED
    assert f.title == "Reduce provisioned concurrency from 10 to 2"  # ceil(0.15 x 10)
    assert f.proposed == {"provisioned_concurrency": 2}
    # the 2 left still serve every request: (10 - 2) x 2 GB x 2,628,000 s x 0.0000048 = 201.8304
    assert f.monthly_saving == Decimal("201.83")


def test_a_single_barely_used_unit_is_removed_and_its_requests_go_back_on_demand():
    ev = pc(
        provisioned_concurrency=1,
        max_concurrency=20,
        pc_invocations=20_000,
        pc_utilisation=UtilStats(0.1, 0.1, 336),
    )
    f = only(serverless.provisioned_concurrency_unused, ev)
    assert f.title == "Remove provisioned concurrency of 1"
    assert f.proposed == {"provisioned_concurrency": 0}
    # now: 58,400 x 2 x 0.00002 = 2.336 + 14,600 x 2 x 0.000013 = 0.3796 + 1 x 2 x 2,628,000 x 0.0000048
    #      = 25.2288 -> 27.9444; without: 73,000 x 2 x 0.00002 = 2.92 -> 25.0244
    assert f.monthly_saving == Decimal("25.02")
    assert "cold-start" in f.warnings[0]


def test_provisioned_concurrency_equal_to_max_concurrency_is_reduced_too():
    f = only(serverless.provisioned_concurrency_unused, pc(provisioned_concurrency=20, max_concurrency=20))
    assert f.proposed == {"provisioned_concurrency": 3}  # ceil(0.15 x 20)
    # (20 - 3) x 2 x 2,628,000 x 0.0000048 = 428.8896
    assert f.monthly_saving == Decimal("428.89")


def test_busy_provisioned_concurrency_is_kept():
    assert (
        only(serverless.provisioned_concurrency_unused, pc(pc_utilisation=UtilStats(0.6, 0.5, 336))) is None
    )


def test_spillover_means_the_capacity_is_needed():
    assert only(serverless.provisioned_concurrency_unused, pc(pc_spillover=5_000)) is None


def test_no_verdict_on_provisioned_concurrency_with_little_data():
    assert only(serverless.provisioned_concurrency_unused, pc(pc_utilisation=UtilStats(0.1, 0.1, 48))) is None
    assert only(serverless.provisioned_concurrency_unused, pc(pc_utilisation=UtilStats())) is None


def test_provisioned_concurrency_nobody_calls_is_left_to_the_idle_rule():
    ev = pc(invocations=0, pc_invocations=0, compute_seconds=0, last_invocation_at=None)
    assert only(serverless.provisioned_concurrency_unused, ev) is None
    ev = pc(last_invocation_at=END - timedelta(days=8))
    assert only(serverless.provisioned_concurrency_unused, ev) is None


# --- throttling -----------------------------------------------------------------------------------------


def throttled(**fields) -> VariantEvidence:
    """2 GB, MaxConcurrency 10, at its limit for 5 hours: 500,000 requests then with 50,000 4XX (10%);
    1,500 4XX in the other 1,500,000 (0.1%). Requests take 336 ms."""
    values = {
        "memory_mb": 2048,
        "max_concurrency": 10,
        "invocations": 2_000_000,
        "compute_seconds": 672_000,
        "latency_avg_ms": 336.0,
        "errors_4xx": 51_500,
        "concurrency": UtilStats(peak=1.0, p99=0.99, hours=336),
        "saturated_hours": 5,
        "invocations_saturated": 500_000,
        "errors_4xx_saturated": 50_000,
        "memory": UtilStats(peak=60.0, p99=55.0, hours=336),
    }
    values.update(fields)
    return evidence(**values)


def test_it_raises_max_concurrency_from_10_to_15_when_4xx_jump_at_the_limit():
    f = only(serverless.throttling, throttled())
    assert f.rule == THROTTLING
    assert f.title == "Raise MaxConcurrency from 10 to 15"
    # throttled = 50,000 - 0.001 x 500,000 = 49,500; ceil(10 x 549,500 / 500,000 x 1.3) = ceil(14.287) = 15
    assert f.proposed == {"max_concurrency": 15}
    assert f.evidence["throttled_estimate"] == 49_500.0
    assert f.evidence["rate_4xx_saturated"] == 0.1 and f.evidence["rate_4xx_other"] == 0.001
    # 49,500 x 0.336 s = 16,632 s -> x 730 / 336 = 36,135 s a month x 2 GB x 0.00002 = 1.4454
    assert f.monthly_saving == Decimal("-1.45")
    assert "no throttle metric" in f.summary and "quota" in f.summary
    assert f.evidence["derived"] is True


def test_without_average_latency_the_cost_uses_compute_seconds_per_request():
    f = only(serverless.throttling, throttled(latency_avg_ms=None))
    assert f.monthly_saving == Decimal("-1.45")  # 672,000 s / 2,000,000 = the same 336 ms


def test_4xx_that_do_not_rise_at_the_limit_are_not_throttling():
    # 0.12% at the limit against 0.1%: a 1.2x lift
    assert only(serverless.throttling, throttled(errors_4xx_saturated=600, errors_4xx=2_100)) is None


def test_two_saturated_hours_are_not_enough():
    assert only(serverless.throttling, throttled(saturated_hours=2)) is None


def test_concurrency_below_the_limit_is_not_throttling():
    assert only(serverless.throttling, throttled(concurrency=UtilStats(peak=0.9, p99=0.8, hours=336))) is None


def test_without_unsaturated_traffic_a_4xx_rate_above_1pct_counts_as_throttling():
    ev = throttled(
        invocations=500_000, compute_seconds=168_000, errors_4xx=10_000, errors_4xx_saturated=10_000
    )
    f = only(serverless.throttling, ev)
    # every 4XX counted: ceil(10 x 510,000 / 500,000 x 1.3) = ceil(13.26) = 14
    assert f.proposed == {"max_concurrency": 14}
    assert f.evidence["rate_4xx_other"] is None
    ev = throttled(invocations=500_000, compute_seconds=168_000, errors_4xx=2_500, errors_4xx_saturated=2_500)
    assert only(serverless.throttling, ev) is None


def test_proposed_max_concurrency_is_capped_at_200():
    assert only(serverless.throttling, throttled(max_concurrency=180)).proposed == {"max_concurrency": 200}


def test_throttling_at_200_already_says_so_without_a_saving():
    f = only(serverless.throttling, throttled(max_concurrency=200))
    assert f.proposed == {"max_concurrency": None}
    assert f.monthly_saving is None
    assert "cannot go higher" in f.summary


def test_no_throttling_verdict_without_saturated_traffic():
    assert only(serverless.throttling, throttled(invocations_saturated=0, errors_4xx_saturated=0)) is None
    assert only(serverless.throttling, throttled(invocations=0, invocations_saturated=0)) is None


# --- every rule -----------------------------------------------------------------------------------------


def everything(**fields) -> VariantEvidence:
    """Evidence on which memory-under, cold-start and throttling rules all fire."""
    values = {
        "provisioned_concurrency": 2,
        "pc_invocations": 100_000,
        "cold_starts": 200_000,
        "cold_start_ms_total": 600_000_000,
        "memory": UtilStats(peak=97.0, p99=93.0, hours=336),
        **fields,
    }
    return throttled(**values)


def test_the_missing_data_baseline_fires():
    fired = {f.rule for rule in RULES for f in rule(everything(), T, PRICES)}
    assert fired == {MEMORY_UNDER, COLD_STARTS, THROTTLING}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(
    "fields",
    [
        {"memory_mb": None},
        {"kind": "instance"},
        {
            "hours_with_data": 0,
            "memory": UtilStats(),
            "concurrency": UtilStats(),
            "pc_utilisation": UtilStats(),
        },
        {
            "invocations": 0,
            "compute_seconds": 0,
            "latency_avg_ms": None,
            "latency_p50_ms": None,
            "latency_p95_ms": None,
            "latency_p99_ms": None,
            "last_invocation_at": None,
        },
    ],
    ids=["no-memory", "instance", "no-data", "no-invocations"],
)
def test_missing_data_gives_no_verdict_and_no_crash(rule, fields):
    assert rule(everything(**fields), T, PRICES) == []


@pytest.mark.parametrize("rule", RULES)
def test_a_variant_quiet_for_idle_days_is_left_to_the_idle_rules(rule):
    assert rule(everything(last_invocation_at=END - timedelta(days=8)), T, PRICES) == []


def test_evidence_decimals_are_plain_strings():
    f = only(serverless.memory_over_provisioned, evidence(provisioned_concurrency=2, pc_invocations=600_000))
    assert f.evidence["compute_seconds_per_month"] == 262_800.0
    assert all("E" not in v for v in f.evidence.values() if isinstance(v, str))


def test_a_handful_of_cold_starts_is_no_verdict_however_high_the_rate():
    # 2 cold starts in 20 calls is a 10% rate, but below INSIGHTS_COLD_START_MIN_COUNT (20) it is noise.
    few = cold(invocations=20, compute_seconds=6.7, cold_starts=2, cold_start_ms_total=6_000)
    assert only(serverless.cold_starts, few) is None


def test_confidence_grows_with_the_number_of_cold_starts_seen():
    # 25 cold starts of 3 s in 400 calls (6.25%, 187.5 ms added per call): a quarter of 5 x 20 seen
    some = cold(invocations=400, compute_seconds=134.4, cold_starts=25, cold_start_ms_total=75_000)
    assert only(serverless.cold_starts, some).confidence == 0.2  # 1.0 data x 0.8 x 0.25
