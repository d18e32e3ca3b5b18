"""GPU instance over-provisioning: fewer instances, a smaller same-family type, or another accelerator,
never below the model's GPU memory plus headroom. Savings are checked against prices.json by hand."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from dashboard.insights.model import GPU_RIGHTSIZE, InstanceShape, Thresholds, UtilStats, VariantEvidence
from dashboard.insights.rules.gpu import gpu_rightsize
from tests.dashboard.insights.prices import hourly, load_prices

PRICES = load_prices()
T = Thresholds()
START = datetime(2026, 11, 6, tzinfo=UTC)
END = START + timedelta(days=14)
WINDOW_HOURS = 14 * 24


def variant(
    instance="ml.p4d.24xlarge",
    count=1,
    *,
    gpu=13.0,
    gpu_memory=14.0,
    cpu=10.0,
    memory=5.0,
    gpu_hours=WINDOW_HOURS,
    prices=PRICES,
    **overrides,
) -> VariantEvidence:
    def stats(peak):
        return UtilStats(peak=peak, p99=None if peak is None else peak * 0.9, hours=gpu_hours)

    fields = {
        "endpoint_id": 7,
        "endpoint_name": "vision-batch",
        "account_id": "111111111111",
        "region": "us-east-1",
        "team_id": 3,
        "variant": "AllTraffic",
        "kind": "instance",
        "start": START,
        "end": END,
        "instance": prices.instances[instance],
        "instance_count": count,
        "hours_with_data": gpu_hours,
        "invocations": 86_400.0,
        "latency_p95_ms": 70.0,
        "latency_p99_ms": 95.0,
        "gpu": stats(gpu),
        "gpu_memory": stats(gpu_memory),
        "cpu": stats(cpu),
        "memory": stats(memory),
    }
    return VariantEvidence(**{**fields, **overrides})


def monthly(hourly_price: Decimal, count: int = 1) -> Decimal:
    return (hourly_price * count * 730).quantize(Decimal("0.01"))


def test_p4d_with_gpus_at_13_percent_moves_to_the_cheapest_other_accelerator_holding_the_model():
    # Needs per instance: GPU memory 14% x 320 GiB x 1.3 = 58.24 GiB, host memory 5% x 1152 x 1.3 =
    # 74.88 GiB, 10% x 96 x 1.3 = 12.48 vCPUs. No other A100 type exists and 1 instance cannot be fewer,
    # so another accelerator: ml.g4dn.12xlarge (4x T4, 64 GiB, 48 vCPU, 192 GiB, $4.89/h) is the
    # cheapest GPU type holding that (ml.g5.12xlarge at $7.09/h holds it too, at a higher price).
    [finding] = gpu_rightsize(variant(), T, PRICES)

    assert finding.rule == GPU_RIGHTSIZE
    assert finding.proposed["instance_type"] == "ml.g4dn.12xlarge"
    assert finding.proposed["instance_count"] == 1
    assert finding.evidence["change"] == "other-family"
    assert finding.monthly_saving == Decimal("23942.54") == monthly(Decimal("37.688") - Decimal("4.89"))
    # full GPU data, x0.6 for another accelerator, x0.8 as a T4 holds less than an A100 per GPU
    assert finding.confidence == 0.48
    assert any("sharded" in w for w in finding.warnings)
    assert any("different accelerator" in w and "benchmark" in w for w in finding.warnings)
    assert finding.title == "Move ml.p4d.24xlarge to ml.g4dn.12xlarge"
    assert "$23,942.54" in finding.summary


def test_p4d_whose_gpu_memory_outgrows_g4dn_12xlarge_moves_to_g5_12xlarge():
    # 16% x 320 GiB x 1.3 = 66.56 GiB: above ml.g4dn.12xlarge's 64 GiB, within ml.g5.12xlarge's 96 GiB.
    [finding] = gpu_rightsize(variant(gpu_memory=16.0), T, PRICES)

    assert finding.proposed["instance_type"] == "ml.g5.12xlarge"
    saving = (hourly("ml.p4d.24xlarge") - hourly("ml.g5.12xlarge")) * 730
    assert finding.monthly_saving == saving.quantize(Decimal("0.01")) == Decimal("22336.54")
    assert finding.evidence["needs_per_instance"]["gpu_memory_gib"] == 66.56


def test_no_gpu_type_is_proposed_below_the_gpu_memory_peak_plus_headroom():
    # 25% x 320 x 1.3 = 104 GiB: more than any cheaper GPU type in the catalogue holds.
    assert gpu_rightsize(variant(gpu_memory=25.0), T, PRICES) == []


def test_right_sized_g5_2xlarge_gets_nothing():
    # ml.g5.xlarge, the only cheaper A10G type, has 4 vCPUs; 60% x 8 x 1.3 = 6.24 are needed.
    ev = variant("ml.g5.2xlarge", gpu=100.0, gpu_memory=50.0, cpu=60.0, memory=40.0)

    assert gpu_rightsize(ev, T, PRICES) == []


def test_busy_gpu_is_not_moved_to_another_accelerator():
    # Above gpu_cross_family_max_util (40%), a T4's throughput relative to an A100 is too big a guess.
    assert gpu_rightsize(variant(gpu=50.0), T, PRICES) == []


def test_two_lightly_used_g5_12xlarge_move_to_g5_2xlarge_rather_than_one_instance():
    # Needs: 15% x 4 GPUs x 1.3 = 0.78 A10G, 15% x 96 x 1.3 = 18.72 GiB GPU memory, 10% x 48 x 1.3 =
    # 6.24 vCPUs, 5% x 192 x 1.3 = 12.48 GiB: ml.g5.2xlarge fits (ml.g5.xlarge has 4 vCPUs).
    # 2 x g5.2xlarge saves 2 x (7.09 - 1.515) x 730 = 8,139.50; 1 x g5.12xlarge saves 5,175.70.
    ev = variant("ml.g5.12xlarge", 2, gpu=15.0, gpu_memory=15.0, cpu=10.0, memory=5.0)

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert (finding.proposed["instance_type"], finding.proposed["instance_count"]) == ("ml.g5.2xlarge", 2)
    assert finding.evidence["change"] == "smaller-type"
    assert finding.monthly_saving == Decimal("8139.50") == monthly(Decimal("7.09") - Decimal("1.515"), 2)
    assert finding.confidence == 1.0
    assert finding.warnings == []


def test_fewer_instances_follow_gpu_load_while_memory_per_copy_stays():
    # GPU and CPU at 20% on 4 instances: 4 x 20% x 1.3 = 1.04 -> 2 instances. GPU memory at 70% and host
    # memory at 90% are each copy's footprint, so they do not stop the count from falling.
    ev = variant("ml.g5.xlarge", 4, gpu=20.0, gpu_memory=70.0, cpu=20.0, memory=90.0)

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert (finding.proposed["instance_type"], finding.proposed["instance_count"]) == ("ml.g5.xlarge", 2)
    assert finding.evidence["change"] == "fewer-instances"
    assert finding.monthly_saving == Decimal("2056.26") == monthly(Decimal("1.4084"), 2)
    assert finding.title == "Run 2 × ml.g5.xlarge instead of 4"


def test_cpu_load_also_sets_the_instance_count():
    # GPU at 10% alone would allow 1 instance, CPU at 45% on 4: 4 x 45% x 1.3 = 2.34 -> 3.
    ev = variant("ml.g5.xlarge", 4, gpu=10.0, gpu_memory=70.0, cpu=45.0, memory=50.0)

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert finding.proposed["instance_count"] == 3
    assert finding.monthly_saving == monthly(Decimal("1.4084"), 1)


def test_fewer_instances_never_go_below_the_availability_minimum():
    ev = variant("ml.g5.xlarge", 3, gpu=10.0, gpu_memory=70.0, cpu=10.0, memory=50.0)

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert finding.proposed["instance_count"] == 2  # INSIGHTS_MIN_INSTANCES, although 1 would carry the load
    assert finding.monthly_saving == Decimal("1028.13")  # 1.4084 x 1 x 730


def test_going_down_to_one_instance_warns_about_redundancy():
    ev = variant("ml.g5.xlarge", 2, gpu=10.0, gpu_memory=70.0, cpu=10.0, memory=50.0)

    [finding] = gpu_rightsize(ev, dataclasses.replace(T, min_instances=1), PRICES)

    assert finding.proposed["instance_count"] == 1
    assert any("redundancy" in w for w in finding.warnings)


def test_single_gpu_model_is_not_split_across_several_smaller_gpus():
    # 60% x 24 GiB x 1.3 = 18.72 GiB on one GPU today; a cheap 4x 16 GiB type has 64 GiB in total but a
    # model that runs on one GPU cannot be assumed to shard, so only 16 GiB of it is usable.
    four_t4 = InstanceShape("ml.fake.4xt4", 16, 64.0, 4, 64.0, "NVIDIA T4", Decimal("0.50"))
    prices = dataclasses.replace(PRICES, instances={**PRICES.instances, four_t4.name: four_t4})
    ev = variant("ml.g5.xlarge", gpu=20.0, gpu_memory=60.0, cpu=20.0, memory=20.0, prices=prices)

    assert gpu_rightsize(ev, T, prices) == []


def test_too_little_gpu_data_gives_no_verdict():
    assert gpu_rightsize(variant(gpu_hours=T.min_data_hours - 1), T, PRICES) == []


def test_confidence_follows_the_share_of_hours_with_gpu_data():
    ev = variant("ml.g5.12xlarge", 2, gpu=15.0, gpu_memory=15.0, gpu_hours=168)

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert finding.confidence == 0.5


def test_missing_utilisation_gives_no_verdict():
    for missing in ("gpu", "gpu_memory", "cpu", "memory"):
        assert gpu_rightsize(variant(**{missing: None}), T, PRICES) == [], missing


def test_unknown_price_or_cpu_instance_gives_no_verdict():
    unpriced = variant()
    unpriced.instance = dataclasses.replace(unpriced.instance, hourly=None)

    assert gpu_rightsize(unpriced, T, PRICES) == []
    assert gpu_rightsize(variant(instance_count=None), T, PRICES) == []
    assert gpu_rightsize(variant("ml.m5.xlarge"), T, PRICES) == []


def test_saving_below_the_minimum_is_not_reported():
    t = dataclasses.replace(T, min_monthly_saving=Decimal("30000"))

    assert gpu_rightsize(variant(), t, PRICES) == []


def test_p99_latency_above_the_tagged_target_adds_a_warning():
    ev = variant(tags={"latency-target-ms": "80"})

    [finding] = gpu_rightsize(ev, T, PRICES)

    assert finding.evidence["latency_target_ms"] == 80.0
    assert any("p99 latency is already 95 ms" in w for w in finding.warnings)


def test_finding_is_json_ready_with_an_iso_window_and_its_identity():
    [finding] = gpu_rightsize(variant(), T, PRICES)

    json.dumps([finding.current, finding.proposed, finding.evidence])
    assert finding.evidence["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert finding.evidence["latency_p99_ms"] == 95.0
    assert finding.evidence["invocations_per_instance"] == 86_400.0
    assert finding.evidence["current_shape"]["monthly"] == "27512.24"
    assert finding.target == "7/AllTraffic/ml.p4d.24xlarge"
    assert (finding.endpoint_id, finding.variant, finding.account_id, finding.region) == (
        7,
        "AllTraffic",
        "111111111111",
        "us-east-1",
    )
    assert finding.currency == "USD"


def test_an_idle_gpu_endpoint_is_left_to_the_idle_rule():
    ev = variant(invocations=0.0, last_invocation_at=END - timedelta(days=10))
    assert gpu_rightsize(ev, T, PRICES) == []
