"""AWS_SIMULATOR specs: what the setting may say, and clear errors when it says something else."""

from __future__ import annotations

import pytest

from collectors.simulator import SimulatedAWS

from .conftest import NOW


def clock():
    return NOW


@pytest.mark.parametrize("spec", ["1", "on", "default", " Default ", "true"])
def test_switch_words_mean_the_defaults(spec):
    sim = SimulatedAWS.from_spec(spec, clock=clock)
    assert sim.seed == 7
    assert len(sim.fleet.endpoints) == 40
    assert [a.account_id for a in sim.accounts] == ["111111111111", "222222222222"]


def test_a_full_spec():
    sim = SimulatedAWS.from_spec(
        "seed=9, endpoints=12,accounts=3,regions=us-east-1+us-west-2,history_days=30,"
        "metric_page_points=500,ce_page_size=20",
        clock=clock,
    )
    assert sim.seed == 9 and len(sim.fleet.endpoints) == 12
    assert [a.account_id for a in sim.accounts] == ["111111111111", "222222222222", "333333333333"]
    assert {ep.region for ep in sim.fleet.endpoints} <= {"us-east-1", "us-west-2"}
    assert sim.metric_page_points == 500 and sim.ce_page_size == 20
    assert sim.fleet.history_days == 30


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("seed", "not key=value"),
        ("seed=", "not key=value"),
        ("seed=seven", "seed must be an integer"),
        ("colour=blue", "unknown key 'colour'"),
        ("seed=1,seed=2", "given twice"),
        ("endpoints=0", "endpoints must be at least 1"),
        ("regions=moon-base", "not a region name"),
        ("off", "means disabled"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        SimulatedAWS.from_spec(spec, clock=clock)
