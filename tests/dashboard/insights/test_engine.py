"""The insights engine on the simulator's default fleet (40 endpoints, 8 days of metrics, 14 of costs),
collected once per module the way production collects it: the evidence equals figures computed
directly from the stored rows, the endpoints built to be over-provisioned, idle, throttled, GPU-heavy
or cold-starting are found and the others are not, savings match a hand calculation, and statuses
survive recomputation."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Max, Sum

from dashboard.insights import model as m
from dashboard.insights.engine import Outcome, recompute, run_rules
from dashboard.insights.evidence import load_evidence, load_prices, window
from dashboard.insights.model import Thresholds
from dashboard.models import (
    Endpoint,
    EndpointEvent,
    MetricCursor,
    MetricRollup,
    ProductionVariant,
    Recommendation,
)
from tests.conftest import NOW
from tests.support.fleet import collect_fleet

pytestmark = pytest.mark.slow

# Which designed role each rule exists to find (collectors/simulator/fleet.py ROLES).
ROLE_OF_RULE = {
    m.MEMORY_OVER: "over_provisioned_memory",
    m.IDLE_ENDPOINT: "idle",
    m.THROTTLING: "throttling",
    m.GPU_RIGHTSIZE: "gpu_underused",
    m.COLD_STARTS: "cold_starts",
}
NEVER_ON_DEFAULT_FLEET = (m.MEMORY_UNDER, m.IDLE_PROVISIONED, m.PC_UNUSED, m.QUOTA)


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker):
    """Collected and committed once for the module; every test runs in its own rolled-back transaction
    on top, and the module leaves the database empty."""
    from collectors.simulator import SimulatedAWS

    with django_db_blocker.unblock():
        sim = SimulatedAWS(seed=7, clock=lambda: NOW)
        collect_fleet(sim, metric_days=8, cost_days=14)
        try:
            yield sim
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def computed(fleet, db):
    outcome = recompute(NOW)
    assert outcome.errors == []
    return outcome


def active(rule: str) -> set[str]:
    return set(Recommendation.objects.filter(rule=rule, active=True).values_list("endpoint__name", flat=True))


def rollups(endpoint: str, metric: str, stat: str):
    start, end = window(NOW, Thresholds())
    return MetricRollup.objects.filter(
        series__variant__endpoint__name=endpoint, series__metric=metric, series__stat=stat,
        resolution="1h", bucket__gte=start, bucket__lt=end,
    )  # fmt: skip


def percentile_cont(values: list[float], q: float) -> float:
    """Postgres percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --- evidence ------------------------------------------------------------------------------------------
def test_evidence_equals_figures_computed_from_the_stored_rollups(fleet, db):
    evidence = {e.endpoint_name: e for e in load_evidence(NOW, Thresholds(), load_prices())}
    ev = evidence["search-embed-serverless"]
    inv = rollups(ev.endpoint_name, "Invocations", "Sum")
    assert ev.invocations == pytest.approx(inv.aggregate(s=Sum("value"))["s"])
    assert ev.hours_with_data == inv.exclude(value=None).count()
    memory = [r.value for r in rollups(ev.endpoint_name, "MemoryUtilization", "Maximum")]
    assert ev.memory.peak == pytest.approx(max(memory))
    assert ev.memory.p99 == pytest.approx(percentile_cont(memory, 0.99))
    by_bucket = {r.bucket: r.value for r in inv}
    lat = {r.bucket: r.value for r in rollups(ev.endpoint_name, "ModelLatency", "Average")}
    p99 = {r.bucket: r.value for r in rollups(ev.endpoint_name, "ModelLatency", "p99")}
    seconds = sum(by_bucket[b] * lat[b] for b in lat if b in by_bucket) / 1000
    assert ev.compute_seconds == pytest.approx(seconds)
    weighted = sum(by_bucket[b] * p99[b] for b in p99) / sum(by_bucket[b] for b in p99)
    assert ev.latency_p99_ms == pytest.approx(weighted)

    gpu = evidence["vision-batch-p4d"]
    gpu_mem = rollups(gpu.endpoint_name, "GPUMemoryUtilization", "Maximum").aggregate(p=Max("value"))["p"]
    assert gpu.gpu_memory.peak == pytest.approx(gpu_mem)
    assert gpu.instance.name == "ml.p4d.24xlarge" and gpu.instance.gpu_count == 8

    cold = evidence["scratch-demo-serverless"]
    starts = rollups(cold.endpoint_name, "ModelSetupTime", "SampleCount").aggregate(s=Sum("value"))["s"]
    assert cold.cold_starts == pytest.approx(starts)
    assert sum(h.cold_starts for h in cold.by_hour) == pytest.approx(starts)
    assert [h.hour for h in cold.by_hour] == list(range(24))


def test_evidence_query_count_does_not_grow_with_the_fleet(fleet, db, django_assert_max_num_queries):
    prices = load_prices()
    live = ProductionVariant.objects.filter(removed_at=None).count()
    with django_assert_max_num_queries(5):  # variants, shape changes, utilisations, hourly pivot, costs
        evidence = load_evidence(NOW, Thresholds(), prices)
    assert len(evidence) == live


# --- the default fleet's design -------------------------------------------------------------------------
def test_the_simulated_fleet_yields_the_recommendations_its_design_implies(fleet, computed):
    for rule, role in ROLE_OF_RULE.items():
        designed = {ep.name for ep in fleet.fleet.by_role(role)}
        assert active(rule) == designed, rule
    for rule in NEVER_ON_DEFAULT_FLEET:
        assert active(rule) == set(), rule
    # Every stored recommendation says what it saw and what to do, in JSON.
    for rec in Recommendation.objects.all():
        assert rec.title and rec.summary and rec.proposed and rec.evidence
        assert 0 < rec.confidence <= 1
        json.dumps([rec.current, rec.proposed, rec.evidence, rec.warnings])
    # The cross-hosting rule fires only where the alternative is really cheaper.
    for rec in Recommendation.objects.filter(rule=m.BREAK_EVEN):
        assert rec.monthly_saving > 0


def test_memory_saving_equals_a_hand_calculation_from_the_stored_figures(fleet, computed):
    rec = Recommendation.objects.get(rule=m.MEMORY_OVER, endpoint__name="search-embed-serverless")
    start, end = window(NOW, Thresholds())
    peak = rollups("search-embed-serverless", "MemoryUtilization", "Maximum").aggregate(p=Max("value"))["p"]
    needed_mb = peak / 100 * 6144 * 1.3
    new_mb = min(t for t in (1024, 2048, 3072, 4096, 5120, 6144) if t >= needed_mb)
    assert rec.proposed["memory_mb"] == new_mb == 2048
    inv = {r.bucket: r.value for r in rollups("search-embed-serverless", "Invocations", "Sum")}
    lat = {r.bucket: r.value for r in rollups("search-embed-serverless", "ModelLatency", "Average")}
    seconds = Decimal(str(sum(inv[b] * lat[b] for b in lat) / 1000))
    # Scaled over the part of the window whose metrics are stored (8 days of backfill).
    held_from = MetricCursor.objects.get(variant__endpoint__name="search-embed-serverless").collected_from
    observed = end - max(start, held_from)
    assert observed.days == 8
    per_month = seconds * Decimal(730 * 3600) / Decimal(observed.total_seconds())
    saving = per_month * (Decimal(6144 - new_mb) / 1024) * Decimal("0.0000200")
    assert rec.monthly_saving == saving.quantize(Decimal("0.01"))


def test_gpu_proposal_keeps_gpu_memory_headroom_and_saves_the_price_difference(fleet, computed):
    rec = Recommendation.objects.get(rule=m.GPU_RIGHTSIZE, endpoint__name="vision-batch-p4d")
    new = load_prices().instances[rec.proposed["instance_type"]]
    count = rec.proposed.get("instance_count", 1)
    peak = rollups("vision-batch-p4d", "GPUMemoryUtilization", "Maximum").aggregate(p=Max("value"))["p"]
    assert new.gpu_memory_gib >= peak / 100 * 320 * 1.3
    expected = (Decimal("37.688") - new.hourly * count) * 730
    assert rec.monthly_saving == expected.quantize(Decimal("0.01"))


def test_idle_endpoint_saving_is_its_instance_bill(fleet, computed):
    rec = Recommendation.objects.get(rule=m.IDLE_ENDPOINT, endpoint__name="nlp-legacy-inf2")
    assert rec.monthly_saving == (Decimal("0.99") * 730).quantize(Decimal("0.01"))


# --- identity and status --------------------------------------------------------------------------------
def test_recomputing_twice_keeps_one_row_per_finding_and_the_status(fleet, computed, django_user_model):
    member_search = django_user_model.objects.create_user("lead", password="pw-lead-1234")
    rec = Recommendation.objects.get(rule=m.MEMORY_OVER, endpoint__name="search-embed-serverless")
    rec.status, rec.status_changed_by, rec.status_note = "dismissed", member_search, "model grows in Q1"
    rec.save()
    count = Recommendation.objects.count()

    again = recompute(NOW + timedelta(hours=1))
    assert again.created == 0 and again.resolved == 0
    assert Recommendation.objects.count() == count
    rec.refresh_from_db()
    assert (rec.status, rec.status_note, rec.status_changed_by) == (
        "dismissed", "model grows in Q1", member_search
    )  # fmt: skip
    assert rec.computed_at == NOW + timedelta(hours=1) and rec.active


def test_a_finding_no_longer_made_is_resolved_not_deleted(fleet, computed):
    rec = Recommendation.objects.get(rule=m.MEMORY_OVER, endpoint__name="search-embed-serverless")
    # The team took the advice: inventory sees 2 GB and records the change.
    endpoint = Endpoint.objects.get(name="search-embed-serverless")
    endpoint.variants.update(memory_mb=2048)
    EndpointEvent.objects.create(
        endpoint=endpoint, at=NOW - timedelta(hours=2), kind="changed",
        detail={"before": {"memory_mb": 6144}, "after": {"memory_mb": 2048}},
    )  # fmt: skip
    outcome = recompute(NOW)
    rec.refresh_from_db()
    assert not rec.active and rec.resolved_at == NOW
    assert outcome.resolved >= 1
    # Peaks measured at 6 GB are not read against 2 GB: no finding until 2 GB has its own data.
    assert "search-embed-serverless" not in active(m.MEMORY_OVER)
    (ev,) = load_evidence(NOW, Thresholds(), load_prices(), endpoint_ids=[endpoint.pk])
    assert ev.shape_since == NOW.replace(minute=0) - timedelta(hours=1)
    assert ev.hours_with_data == 1


def test_an_unrelated_change_keeps_the_identity_and_the_status(fleet, computed):
    rec = Recommendation.objects.get(rule=m.MEMORY_OVER, endpoint__name="search-embed-serverless")
    rec.status = "accepted"
    rec.save()
    # MaxConcurrency says nothing about memory: the same recommendation, still accepted.
    ProductionVariant.objects.filter(endpoint__name="search-embed-serverless").update(max_concurrency=40)
    recompute(NOW)
    rec.refresh_from_db()
    assert rec.active and rec.status == "accepted"
    assert rec.current["max_concurrency"] == 40


def test_stale_metrics_neither_make_nor_resolve_recommendations(fleet, computed):
    before = set(Recommendation.objects.filter(active=True).values_list("key", flat=True))
    # The collector stopped two days ago: nothing new is concluded, and nothing stored is resolved.
    outcome = recompute(NOW + timedelta(days=2))
    assert (outcome.findings, outcome.resolved) == (0, 0)
    assert set(Recommendation.objects.filter(active=True).values_list("key", flat=True)) == before


def test_a_scoped_recomputation_leaves_other_accounts_alone(fleet, computed):
    before = set(Recommendation.objects.filter(active=True).values_list("key", flat=True))
    recompute(NOW, scopes={("222222222222", "us-east-1")})
    assert set(Recommendation.objects.filter(active=True).values_list("key", flat=True)) == before


def test_a_rule_that_fails_on_one_variant_is_logged_and_the_rest_still_run(fleet, db, caplog):
    t, prices = Thresholds(), load_prices()
    evidence = load_evidence(NOW, t, prices)

    def broken(ev, t, prices):
        if ev.endpoint_name == "search-embed-serverless":
            raise ZeroDivisionError("bad figure")
        return []

    from dashboard.insights.rules import serverless

    outcome = Outcome()
    found = run_rules(evidence, [], t, prices, outcome, variant_rules=(broken, serverless.throttling))
    assert [f.endpoint_id for f, _ in found] == [
        e.endpoint_id for e in evidence if e.endpoint_name == "recsys-ranker-serverless"
    ]
    assert len(outcome.errors) == 1 and "search-embed-serverless" in outcome.errors[0]
    assert "bad figure" in caplog.text
