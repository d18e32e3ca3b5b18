"""The fleet's design: who plays which role, that nobody else looks like them, and scale."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from collectors.simulator import ROLES, SimulatedAWS

from .conftest import AMBIENT, NOW, TODAY, day, factory_for, query

CORE_ROLES = {
    "over_provisioned_memory",
    "idle",
    "throttling",
    "runaway",
    "gpu_underused",
    "provisioned_concurrency",
    "multi_variant",
    "cold_starts",
}


def test_accounts_teams_and_roles(world):
    fleet = world.fleet
    assert [a.account_id for a in world.accounts] == ["111111111111", "222222222222"]
    assert world.ambient_account_id == "111111111111" and world.accounts[0].role_arn is None
    assert world.accounts[1].role_arn == "arn:aws:iam::222222222222:role/SageMakerDashboardReadOnly"
    assert len(fleet.endpoints) == 40
    assert {ep.role for ep in fleet.endpoints} == set(ROLES)
    assert {ep.account_id for ep in fleet.endpoints} == {"111111111111", "222222222222"}
    assert {ep.region for ep in fleet.endpoints} == {"us-east-1", "eu-west-1"}
    assert {ep.tags["team"] for ep in fleet.endpoints if ep.tags} == {"search", "recsys", "vision", "nlp"}
    assert all("cost-centre" in ep.tags for ep in fleet.endpoints if ep.tags)
    assert [ep.name for ep in fleet.endpoints if not ep.tags] == [
        "scratch-demo-serverless",
        "recsys-candidates-021",
    ]
    assert sorted(ep.name for ep in fleet.by_role("over_provisioned_memory")) == [
        "nlp-translate-serverless",
        "recsys-features-serverless",
        "search-embed-serverless",
    ]
    six_gb = fleet.endpoint("search-embed-serverless").variants[0]
    assert six_gb.memory_mb == 6144 and six_gb.profile.memory_used_mb == 900
    assert (
        fleet.endpoint("recsys-abtest").role == "multi_variant"
        and len(fleet.endpoint("recsys-abtest").variants) == 2
    )
    instance_types = {v.instance_type for ep in fleet.endpoints for v in ep.variants if v.instance_type}
    assert {"ml.p4d.24xlarge", "ml.inf2.xlarge"} <= instance_types
    assert any(t.startswith("ml.g4dn.") for t in instance_types) and any(
        t.startswith("ml.g5.") for t in instance_types
    )
    for ep in fleet.endpoints:
        assert TODAY - timedelta(days=90) <= ep.created_at < TODAY
        assert ep.created_at <= ep.modified_at <= TODAY
        assert re.fullmatch(r"[a-z0-9-]{1,63}", ep.name)


def test_only_the_designed_endpoints_look_like_their_role(world):
    """What a detector should find, computed from the ground truth over the last days."""
    fleet = world.fleet
    yesterday = day(-1).date()
    idle, throttling, low_memory, low_gpu, runaway = set(), set(), set(), set(), set()
    for ep in fleet.endpoints:
        earlier = [fleet.daily_cost(ep, day(o).date()) for o in range(-17, -3)]
        baseline = sum(earlier) / len(earlier)
        if any(fleet.daily_cost(ep, day(o).date()) > Decimal("1.5") * baseline for o in (-3, -2, -1)):
            runaway.add(ep.name)
        for v in ep.variants:
            traffic = [fleet.day_traffic(ep, v.name, day(o).date()) for o in range(-10, 0)]
            if sum(t.summary.invocations for t in traffic) == 0:
                idle.add(ep.name)
            last = fleet.day_traffic(ep, v.name, yesterday)
            busy = [i for i in range(1440) if last.inv[i]]
            if v.kind == "serverless":
                if max(last.util) >= 0.99:
                    throttling.add(ep.name)
                if busy and sum(last.mem[i] for i in busy) / len(busy) < 30:
                    low_memory.add(ep.name)
            elif v.gpu_count and sum(last.gpu) / 1440 / v.gpu_count < 15:
                low_gpu.add(ep.name)

    def designed(role):
        return {ep.name for ep in fleet.by_role(role)}

    assert idle == designed("idle")
    assert throttling == designed("throttling")
    assert low_memory == designed("over_provisioned_memory")
    assert low_gpu == designed("gpu_underused")
    assert runaway == designed("runaway")


def test_cold_starts_and_provisioned_concurrency_are_there(world):
    fleet = world.fleet
    scratch = fleet.day_traffic(fleet.endpoint("scratch-demo-serverless"), "AllTraffic", day(-1).date())
    assert sum(scratch.cold) > 0.5 * sum(1 for n in scratch.inv if n)  # most busy minutes start cold
    pc = fleet.day_traffic(fleet.endpoint("search-query-pc"), "AllTraffic", day(-1).date())
    assert 0 < pc.summary.provisioned_invocations < pc.summary.invocations  # some spillover


@pytest.mark.parametrize("count", [1, 7, 8, 41])
def test_any_fleet_size_works_and_keeps_the_special_endpoints_from_eight(count):
    sim = SimulatedAWS(seed=3, clock=lambda: NOW, endpoints=count)
    roles = {ep.role for ep in sim.fleet.endpoints}
    assert len(sim.fleet.endpoints) == count
    if count >= 8:
        assert roles >= CORE_ROLES
    sm = factory_for(sim).client("sagemaker", account=AMBIENT, region="us-east-1")
    listed = [
        e["EndpointName"] for p in sm.get_paginator("list_endpoints").paginate() for e in p["Endpoints"]
    ]
    assert sorted(listed) == sorted(ep.name for ep in sim.fleet.in_scope(sim.ambient_account_id, "us-east-1"))


def test_five_thousand_endpoints():
    started = time.perf_counter()
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, endpoints=5000)
    built = time.perf_counter() - started
    print(f"\nbuilt a 5000-endpoint fleet in {built:.2f} s")
    assert built < 10
    names = [(ep.account_id, ep.region, ep.name) for ep in sim.fleet.endpoints]
    assert len(set(names)) == 5000
    assert {ep.role for ep in sim.fleet.endpoints} >= CORE_ROLES
    factory = factory_for(sim)
    sm = factory.client("sagemaker", account=AMBIENT, region="eu-west-1")
    listed = [
        e["EndpointName"] for p in sm.get_paginator("list_endpoints").paginate() for e in p["Endpoints"]
    ]
    assert len(listed) == len(sim.fleet.in_scope(sim.ambient_account_id, "eu-west-1")) > 1000
    cw = factory.client("cloudwatch", account=AMBIENT, region="eu-west-1")
    queries = [query(f"q{i}", name, "Invocations", "Sum", 300) for i, name in enumerate(listed[:500])]
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=NOW - timedelta(hours=1), EndTime=NOW)
    assert len(answer["MetricDataResults"]) == 500


def test_ninety_days_of_forty_endpoints_generate_in_under_a_minute():
    sim = SimulatedAWS(seed=11, clock=lambda: NOW)
    fleet = sim.fleet
    days = [(TODAY - timedelta(days=d)).date() for d in range(90, -1, -1)]
    started = time.perf_counter()
    generated = 0
    for ep in fleet.endpoints:
        for v in ep.variants:
            for d in days:
                generated += fleet.traffic.day(v.uid, d) is not None
    elapsed = time.perf_counter() - started
    print(f"\ngenerated {generated} endpoint-variant-days (90 days x 40 endpoints) in {elapsed:.1f} s")
    assert generated > 40 * 30
    assert elapsed < 60


def test_a_short_history_still_builds():
    sim = SimulatedAWS(seed=7, clock=lambda: NOW, history_days=5)
    assert all(ep.created_at >= TODAY - timedelta(days=5) for ep in sim.fleet.endpoints)
