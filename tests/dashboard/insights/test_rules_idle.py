"""Idle rules: endpoints nobody calls, and provisioned concurrency nobody calls.

Pure tests on hand-built evidence; hand calculations use collectors/data/prices.json (ml.g5.xlarge
$1.4084 an hour; provisioned concurrency $0.0000048 per GB-second held) and a 730-hour month.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.insights.model import (
    IDLE_ENDPOINT,
    IDLE_PROVISIONED,
    InstanceShape,
    Thresholds,
    UtilStats,
    VariantEvidence,
    variant_target,
)
from dashboard.insights.rules import idle, serverless
from tests.dashboard.insights.prices import hourly, load_prices

START = datetime(2026, 11, 6, 10, tzinfo=UTC)
END = START + timedelta(days=14)
T = Thresholds()
PRICES = load_prices()


def instance(**fields) -> VariantEvidence:
    """2 x ml.g5.xlarge, last called 10 days (240 h) ago, metrics collected an hour ago."""
    values = {
        "endpoint_id": 3,
        "endpoint_name": "vision-g5",
        "account_id": "111122223333",
        "region": "eu-west-1",
        "team_id": 2,
        "variant": "AllTraffic",
        "kind": "instance",
        "start": START,
        "end": END,
        "endpoint_created_at": END - timedelta(days=90),
        "collected_from": END - timedelta(days=90),
        "instance": PRICES.instances["ml.g5.xlarge"],
        "instance_count": 2,
        "hours_with_data": 336,
        "invocations": 5_000,
        "last_invocation_at": END - timedelta(days=10),
        "collected_until": END - timedelta(hours=1),
    }
    values.update(fields)
    return VariantEvidence(**values)


def sls(**fields) -> VariantEvidence:
    """A 4 GB serverless variant, MaxConcurrency 10, otherwise as `instance`."""
    values = {
        "kind": "serverless",
        "instance": None,
        "instance_count": None,
        "memory_mb": 4096,
        "max_concurrency": 10,
    }
    values.update(fields)
    return instance(**values)


def only(rule, ev: VariantEvidence):
    findings = rule(ev, T, PRICES)
    assert len(findings) <= 1
    if not findings:
        return None
    f = findings[0]
    assert f.target == variant_target(ev, f.rule)
    assert (f.endpoint_id, f.variant, f.account_id, f.region) == (
        3,
        "AllTraffic",
        "111122223333",
        "eu-west-1",
    )
    assert f.currency == "USD" and 0.0 <= f.confidence <= 1.0
    assert f.evidence["window_start"] == START.isoformat() and f.evidence["window_end"] == END.isoformat()
    json.dumps([f.current, f.proposed, f.evidence, f.warnings])
    return f


# --- idle endpoints -------------------------------------------------------------------------------------


def test_it_proposes_deleting_a_g5_endpoint_nobody_called_for_10_days():
    assert hourly("ml.g5.xlarge") == Decimal("1.4084")
    f = only(idle.idle_endpoint, instance())
    assert f.rule == IDLE_ENDPOINT
    assert f.title == "Delete idle endpoint (no calls for 10 days)"
    assert f.proposed == {"action": "delete-endpoint", "keep": "endpoint-config"}
    assert f.current == {"instance_type": "ml.g5.xlarge", "instance_count": 2}
    # 1.4084 x 2 x 730 = 2,056.264 a month
    assert f.monthly_saving == Decimal("2056.26")
    # nothing billed on record: 1.4084 x 2 x 240 h = 676.032, said to be an estimate
    assert f.evidence["spent_idle"] == "676.03"
    assert f.evidence["spent_idle_source"] == "estimate"
    assert "(estimated)" in f.summary and "$2,056.26 a month" in f.summary
    assert f.confidence == 0.86  # 0.5 + 0.5 x 240 h / two idle periods (2 x 7 x 24 h)


def test_billed_cost_since_idle_is_used_when_known():
    f = only(idle.idle_endpoint, instance(billed_since_idle=Decimal("650.10"), billed_currency="USD"))
    assert f.evidence["spent_idle"] == "650.10"
    assert f.evidence["spent_idle_source"] == "billed"
    assert "(estimated)" not in f.summary


def test_a_shared_endpoints_bill_is_not_taken_for_one_idle_variant():
    ev = instance(variants_on_endpoint=2, billed_since_idle=Decimal("12.00"))
    f = only(idle.idle_endpoint, ev)
    assert f.proposed == {"action": "remove-variant"}
    assert f.title == "Delete idle variant AllTraffic (no calls for 10 days)"
    assert f.evidence["spent_idle_source"] == "estimate"


def test_an_endpoint_called_2_days_ago_is_not_idle():
    assert only(idle.idle_endpoint, instance(last_invocation_at=END - timedelta(days=2))) is None


@pytest.mark.parametrize("collected_until", [None, END - timedelta(days=3)])
def test_stale_metrics_give_no_verdict(collected_until):
    assert only(idle.idle_endpoint, instance(collected_until=collected_until)) is None


def test_an_endpoint_never_called_since_its_creation_30_days_ago_is_idle():
    born = END - timedelta(days=30)
    ev = instance(last_invocation_at=None, invocations=0, endpoint_created_at=born, collected_from=born)
    f = only(idle.idle_endpoint, ev)
    assert f.title == "Delete idle endpoint (never called)"
    # 1.4084 x 2 x 720 h = 2,028.096
    assert f.evidence["spent_idle"] == "2028.10"
    assert f.evidence["last_invocation_at"] is None
    assert f.confidence == 1.0


@pytest.mark.parametrize(
    ("created", "collected_from"),
    [
        (END - timedelta(days=3), END - timedelta(days=3)),  # too young
        (None, None),  # age unknown
        (END - timedelta(days=90), END - timedelta(days=2)),  # watched for 2 days only
    ],
)
def test_a_never_called_endpoint_needs_idle_days_of_watching(created, collected_from):
    ev = instance(
        last_invocation_at=None, invocations=0, endpoint_created_at=created, collected_from=collected_from
    )
    assert only(idle.idle_endpoint, ev) is None


def test_calls_in_the_window_without_a_timestamp_are_not_idleness():
    assert only(idle.idle_endpoint, instance(last_invocation_at=None)) is None


def test_an_unknown_instance_price_still_flags_idleness_without_a_saving():
    shape = InstanceShape("ml.x9.custom", 4, 16.0, 1, 24.0, "NVIDIA L4", hourly=None)
    f = only(idle.idle_endpoint, instance(instance=shape))
    assert f.monthly_saving is None
    assert f.evidence["spent_idle_source"] == "unknown"
    assert "an unknown amount" in f.summary


def test_an_endpoint_scaled_to_zero_instances_costs_nothing_to_keep():
    assert only(idle.idle_endpoint, instance(instance_count=0)) is None


def test_an_idle_serverless_endpoint_without_pc_is_reported_for_its_quota_at_zero_saving():
    f = only(idle.idle_endpoint, sls())
    assert f.title == "Delete idle serverless endpoint (no calls for 10 days)"
    assert f.monthly_saving == Decimal("0.00")
    assert "quota" in f.summary and "MaxConcurrency 10" in f.summary
    assert f.current == {"memory_mb": 4096, "max_concurrency": 10, "provisioned_concurrency": 0}
    assert only(idle.idle_provisioned_concurrency, sls()) is None


# --- idle provisioned concurrency -----------------------------------------------------------------------


def test_idle_serverless_endpoint_with_pc_belongs_to_the_pc_rule():
    ev = sls(provisioned_concurrency=2)
    assert only(idle.idle_endpoint, ev) is None
    f = only(idle.idle_provisioned_concurrency, ev)
    assert f.rule == IDLE_PROVISIONED
    assert f.title == "Remove idle provisioned concurrency of 2"
    assert f.proposed == {"provisioned_concurrency": 0}
    # 2 x 4 GB x 2,628,000 s x 0.0000048 = 100.9152 a month
    assert f.monthly_saving == Decimal("100.92")
    # 2 x 4 GB x 864,000 s (240 h) x 0.0000048 = 33.1776 so far
    assert f.evidence["spent_idle"] == "33.18" and f.evidence["spent_idle_source"] == "estimate"
    assert "frees serverless quota" in f.summary


def test_pc_of_a_young_endpoint_with_no_calls_in_a_whole_window_of_data_is_idle():
    ev = sls(
        provisioned_concurrency=2,
        last_invocation_at=None,
        invocations=0,
        hours_with_data=0,
        endpoint_created_at=END - timedelta(days=5),
        collected_from=END - timedelta(days=5),
        pc_utilisation=UtilStats(peak=0.0, p99=0.0, hours=100),
    )
    f = only(idle.idle_provisioned_concurrency, ev)
    # idle since creation, 120 h: 2 x 4 x 432,000 s x 0.0000048 = 16.5888
    assert f.evidence["spent_idle"] == "16.59"
    assert f.evidence["idle_hours"] == 120.0
    assert only(idle.idle_endpoint, ev) is None


def test_pc_of_a_young_endpoint_with_too_little_data_gets_no_verdict():
    born = END - timedelta(days=2)
    ev = sls(
        provisioned_concurrency=2,
        last_invocation_at=None,
        invocations=0,
        hours_with_data=48,
        endpoint_created_at=born,
        collected_from=born,
        pc_utilisation=UtilStats(peak=0.0, p99=0.0, hours=48),
    )
    assert only(idle.idle_provisioned_concurrency, ev) is None


def test_busy_provisioned_concurrency_is_not_idle():
    ev = sls(provisioned_concurrency=2, last_invocation_at=END - timedelta(hours=1))
    assert only(idle.idle_provisioned_concurrency, ev) is None


def test_no_pc_verdict_on_stale_metrics_or_unknown_memory():
    assert (
        only(idle.idle_provisioned_concurrency, sls(provisioned_concurrency=2, collected_until=None)) is None
    )
    assert only(idle.idle_provisioned_concurrency, sls(provisioned_concurrency=2, memory_mb=None)) is None


@pytest.mark.parametrize(
    "ev",
    [
        instance(),
        sls(),
        sls(provisioned_concurrency=2),
        sls(provisioned_concurrency=10, max_concurrency=10),
        sls(
            provisioned_concurrency=2,
            last_invocation_at=None,
            invocations=0,
            endpoint_created_at=END - timedelta(days=5),
            collected_from=END - timedelta(days=5),
            pc_utilisation=UtilStats(peak=0.0, p99=0.0, hours=100),
        ),
    ],
    ids=["instance", "serverless", "serverless-pc", "pc-equals-max", "young-pc"],
)
def test_one_rule_owns_each_idle_variant(ev):
    findings = idle.idle_endpoint(ev, T, PRICES) + idle.idle_provisioned_concurrency(ev, T, PRICES)
    assert len(findings) == 1
    assert serverless.provisioned_concurrency_unused(ev, T, PRICES) == []
