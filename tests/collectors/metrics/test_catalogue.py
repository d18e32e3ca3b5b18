"""The metric catalogue as data: what each variant shape publishes, and the one unit conversion."""

from __future__ import annotations

import math
import re

import pytest

from collectors import catalogue
from collectors.catalogue import METRICS, NS_ENDPOINTS, NS_SAGEMAKER, convert, spec, specs_for
from collectors.model import INSTANCE, SERVERLESS, VariantRef
from collectors.simulator.metrics import CATALOGUE as SIMULATED

# What GetMetricData's MetricStat.Stat accepts for these metrics: the basic statistics and percentiles.
VALID_STAT = re.compile(r"^(Sum|Average|Maximum|Minimum|SampleCount|p(\d{1,2}(\.\d+)?|100))$")

SERVERLESS_V = VariantRef(1, "ep", "AllTraffic", SERVERLESS)
PC_SERVERLESS = VariantRef(2, "ep", "AllTraffic", SERVERLESS, provisioned_concurrency=True)
GPU_INSTANCE = VariantRef(3, "ep", "AllTraffic", INSTANCE, vcpus=4, gpu_count=1)
CPU_INSTANCE = VariantRef(4, "ep", "AllTraffic", INSTANCE, vcpus=4, gpu_count=0)
P4D = VariantRef(5, "ep", "AllTraffic", INSTANCE, vcpus=96, gpu_count=8)


def names(variant: VariantRef) -> set[str]:
    return {m.name for m, _ in specs_for(variant)}


def test_every_statistic_is_one_get_metric_data_accepts():
    for m in METRICS:
        assert m.stats, m.key
        assert len(set(m.stats)) == len(m.stats), m.key
        for stat in m.stats:
            assert VALID_STAT.match(stat), (m.key, stat)


def test_keys_are_unique_and_spec_finds_each_one():
    assert len({m.key for m in METRICS}) == len(METRICS)
    for m in METRICS:
        assert spec(m.key) is m
    with pytest.raises(KeyError, match="no metric 'CPUUtilisation'"):
        spec("CPUUtilisation")


def test_every_metric_lives_in_a_sagemaker_namespace_with_the_kinds_cloudwatch_publishes_it_for():
    host = {
        "MemoryUtilization",
        "CPUUtilization",
        "GPUUtilization",
        "GPUMemoryUtilization",
        "DiskUtilization",
    }
    for m in METRICS:
        assert m.namespace == (NS_ENDPOINTS if m.name in host else NS_SAGEMAKER), m.key
        assert m.kinds and m.kinds <= {SERVERLESS, INSTANCE}, m.key
        assert m.normalise in (None, "vcpus", "gpus"), m.key
        assert m.description, m.key
        # The simulated CloudWatch (modelled on the SageMaker docs) publishes it for the same kinds.
        assert m.kinds == SIMULATED[(m.namespace, m.name)].kinds, m.key


def test_the_required_metrics_and_statistics_are_there():
    assert spec("ModelLatency").stats == ("Average", "p50", "p90", "p95", "p99", "Maximum")
    assert set(spec("OverheadLatency").stats) == {"Average", "p95", "p99"}
    assert "SampleCount" in spec("ModelSetupTime").stats  # cold starts
    for key in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors"):
        assert spec(key).stats == ("Sum",)
    for key in ("CPUUtilization", "GPUUtilization", "GPUMemoryUtilization", "DiskUtilization"):
        assert spec(key).kinds == {INSTANCE}
        assert set(spec(key).stats) == {"Average", "Maximum"}
    assert spec("MemoryUtilization").kinds == {SERVERLESS, INSTANCE}


def test_serverless_variants_publish_no_cpu_gpu_or_disk():
    for variant in (SERVERLESS_V, PC_SERVERLESS):
        got = names(variant)
        assert not got & {"CPUUtilization", "GPUUtilization", "GPUMemoryUtilization", "DiskUtilization"}
        assert not got & {"InvocationModelErrors", "InvocationsPerInstance", "ConcurrentRequestsPerModel"}
        assert {"MemoryUtilization", "ModelSetupTime", "ServerlessConcurrentExecutionsUtilization"} <= got


def test_provisioned_concurrency_metrics_only_on_variants_that_have_it():
    pc = {m.name for m in METRICS if m.needs_provisioned_concurrency}
    assert pc == {
        "ServerlessProvisionedConcurrencyExecutions",
        "ServerlessProvisionedConcurrencyUtilization",
        "ServerlessProvisionedConcurrencyInvocations",
        "ServerlessProvisionedConcurrencySpilloverInvocations",
    }
    assert pc <= names(PC_SERVERLESS)
    assert not pc & names(SERVERLESS_V)
    assert not pc & names(VariantRef(9, "ep", "v", INSTANCE, vcpus=4, provisioned_concurrency=True))


@pytest.mark.parametrize("gpu_count", [0, None])
def test_gpu_metrics_only_on_instances_with_gpus(gpu_count):
    gpu = {"GPUUtilization", "GPUMemoryUtilization"}
    assert gpu <= names(GPU_INSTANCE)
    no_gpu = VariantRef(6, "ep", "v", INSTANCE, vcpus=4, gpu_count=gpu_count)
    assert not gpu & names(no_gpu)
    assert {"CPUUtilization", "DiskUtilization"} <= names(no_gpu)


@pytest.mark.parametrize(
    ("variant", "count"), [(SERVERLESS_V, 18), (PC_SERVERLESS, 23), (GPU_INSTANCE, 25), (CPU_INSTANCE, 21)]
)
def test_queries_per_variant_shape(variant, count):
    """What one poll of one variant costs in CloudWatch metrics requested."""
    pairs = specs_for(variant)
    assert len(pairs) == count
    assert len(set((m.key, s) for m, s in pairs)) == count


# --- conversion -------------------------------------------------------------------------------------
def test_model_latency_microseconds_are_stored_as_milliseconds():
    assert convert(spec("ModelLatency"), SERVERLESS_V, 250_000) == 250.0
    assert convert(spec("OverheadLatency"), SERVERLESS_V, 1_500, "p99") == 1.5
    assert convert(spec("ModelSetupTime"), SERVERLESS_V, 6_500_000, "Average") == 6500.0
    assert spec("ModelLatency").stored_unit == "ms"


def test_a_cold_start_count_is_a_count_not_milliseconds():
    setup = spec("ModelSetupTime")
    assert convert(setup, SERVERLESS_V, 7.0, "SampleCount") == 7.0
    assert setup.unit_for("SampleCount") == "count"
    assert setup.unit_for("Maximum") == "ms"


def test_cpu_utilisation_is_normalised_per_vcpu():
    assert convert(spec("CPUUtilization"), CPU_INSTANCE, 340) == 85.0


def test_gpu_utilisation_and_memory_are_normalised_per_gpu():
    assert convert(spec("GPUUtilization"), P4D, 560) == 70.0
    assert convert(spec("GPUMemoryUtilization"), P4D, 96.0, "Maximum") == 12.0


@pytest.mark.parametrize("vcpus", [None, 0])
def test_unknown_or_zero_vcpus_leave_cpu_unknown_instead_of_dividing(vcpus):
    variant = VariantRef(7, "ep", "v", INSTANCE, vcpus=vcpus, gpu_count=vcpus)
    assert convert(spec("CPUUtilization"), variant, 340) is None
    assert convert(spec("GPUUtilization"), variant, 340) is None
    assert "vCPU count is unknown" in catalogue.why_unconverted(spec("CPUUtilization"), variant, 340)
    assert "GPU count is unknown" in catalogue.why_unconverted(spec("GPUUtilization"), variant, 340)


@pytest.mark.parametrize("raw", [math.nan, math.inf, -math.inf, None])
def test_values_that_are_not_finite_numbers_are_not_stored(raw):
    assert convert(spec("ModelLatency"), SERVERLESS_V, raw) is None
    assert convert(spec("Invocations"), SERVERLESS_V, raw) is None
    assert catalogue.why_unconverted(spec("Invocations"), SERVERLESS_V, raw) == "not a finite number"


def test_counts_ratios_and_plain_percentages_are_stored_as_published():
    assert convert(spec("Invocations"), SERVERLESS_V, 1234) == 1234.0
    assert convert(spec("ServerlessConcurrentExecutionsUtilization"), SERVERLESS_V, 0.75) == 0.75
    assert convert(spec("MemoryUtilization"), SERVERLESS_V, 15.0) == 15.0
    assert convert(spec("DiskUtilization"), CPU_INSTANCE, 40.0) == 40.0
    assert isinstance(convert(spec("Invocations"), SERVERLESS_V, 3), float)
