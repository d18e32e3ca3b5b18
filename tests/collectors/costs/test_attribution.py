"""Attribution: one cost per endpoint and day, from the best source available (resource, then tag,
then estimate), first on plain data, then over the simulated AWS end to end; and reconciliation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from collectors.attribution import attribute_costs, estimate_costs, load_prices, reconcile, tag_index
from collectors.aws.costexplorer import resource_costs
from collectors.costmodel import EndpointCost, EndpointRef, ResourceCostRow, TagCostRow, VariantUsage

from .conftest import MEMBER, PAYER, TODAY, days_ago, usage_from_aws

PRICES = load_prices()
DAY = date(2026, 11, 15)
ACCOUNT = "111111111111"


def ref(key: str, name: str, tags: dict | None = None, region: str = "us-east-1") -> EndpointRef:
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{name.lower()}"
    return EndpointRef(key, ACCOUNT, region, name, arn, tags or {})


def resource_row(name: str, amount: str, estimated: bool = False) -> ResourceCostRow:
    arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name.lower()}"
    return ResourceCostRow(ACCOUNT, arn, DAY, Decimal(amount), "USD", estimated)


def tag_row(value: str, amount: str, key: str = "cost-endpoint") -> TagCostRow:
    return TagCostRow(ACCOUNT, key, value, DAY, Decimal(amount), "USD", True)


def instance_usage(count: int = 1) -> list[VariantUsage]:
    return [VariantUsage("AllTraffic", "instance", instance_type="ml.g5.xlarge", instance_count=count)]


def by_key(result) -> dict:
    return {c.endpoint_key: c for c in result.costs}


def test_each_endpoint_day_takes_the_best_source_available():
    endpoints = [
        ref("a", "Ranker-A", {"cost-endpoint": "ranker-a"}),  # resource row, tag row and usage
        ref("b", "ranker-b", {"cost-endpoint": "ranker-b"}),  # tag row and usage
        ref("c", "ranker-c"),  # usage only
        ref("d", "ranker-d"),  # nothing at all
    ]
    result = attribute_costs(
        endpoints,
        [DAY],
        prices=PRICES,
        resource_rows=[resource_row("Ranker-A", "30.5")],
        tag_rows=[tag_row("ranker-a", "99"), tag_row("ranker-b", "12.25"), tag_row("", "7")],
        tag_key="cost-endpoint",
        usage={(k, DAY): instance_usage() for k in "abc"},
    )
    costs = by_key(result)
    assert {k: (c.source, c.amount) for k, c in costs.items()} == {
        "a": ("resource", Decimal("30.5")),
        "b": ("tag", Decimal("12.25")),
        "c": ("estimate", Decimal("33.8016")),  # 24 h x $1.4084
    }
    assert costs["a"].detail == {
        "resource_arn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ranker-a",
        "rows": 1,
    }
    assert costs["b"].detail["tag_value"] == "ranker-b" and costs["b"].estimated  # AWS said Estimated
    assert not costs["a"].estimated
    assert costs["c"].estimated and costs["c"].detail["variants"][0]["instance_hours"] == "24"
    assert [(g.endpoint_key, g.day) for g in result.gaps] == [("d", DAY)]


def test_resource_arns_match_endpoint_names_case_insensitively():
    upper = EndpointRef(
        "x",
        ACCOUNT,
        "us-east-1",
        "Search-Ranker",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/Search-Ranker",
    )
    result = attribute_costs(
        [upper], [DAY], prices=PRICES, resource_rows=[resource_row("search-ranker", "1.5")]
    )
    assert by_key(result)["x"].source == "resource"


def test_an_ambiguous_tag_value_is_attributed_to_no_endpoint():
    twins = [
        ref("east", "ranker", {"cost-endpoint": "ranker"}, region="us-east-1"),
        ref("west", "ranker", {"cost-endpoint": "ranker"}, region="eu-west-1"),
        ref("solo", "solo", {"cost-endpoint": "solo"}),
    ]
    owner = tag_index(twins, "cost-endpoint")
    assert owner(ACCOUNT, "ranker") is None
    assert owner(ACCOUNT, "solo") == "solo"
    assert owner("999999999999", "solo") is None  # another account's tag value
    usage = {("east", DAY): instance_usage(), ("west", DAY): instance_usage(2)}
    result = attribute_costs(
        twins, [DAY], prices=PRICES, tag_rows=[tag_row("ranker", "5")], tag_key="cost-endpoint", usage=usage
    )
    assert {k: c.source for k, c in by_key(result).items()} == {"east": "estimate", "west": "estimate"}


def test_a_custom_tag_owner_maps_values_to_endpoints():
    endpoints = [ref("k1", "fraud-scorer")]
    result = attribute_costs(
        endpoints,
        [DAY],
        prices=PRICES,
        tag_rows=[tag_row("FRAUD-SCORER", "3", key="endpoint")],
        tag_key="endpoint",
        tag_owner=lambda account, value: "k1" if value.lower() == "fraud-scorer" else None,
    )
    assert by_key(result)["k1"].amount == Decimal("3")


def test_an_unpriced_estimate_is_a_gap_with_its_reason():
    unknown = [VariantUsage("AllTraffic", "instance", instance_type="ml.g6.xlarge", instance_count=1)]
    result = attribute_costs([ref("g", "new-gpu")], [DAY], prices=PRICES, usage={("g", DAY): unknown})
    assert result.costs == []
    (gap,) = result.gaps
    assert "no price for instance type 'ml.g6.xlarge'" in gap.reason


def test_over_the_simulator_the_payer_is_attributed_by_resource_and_the_member_by_estimate(
    world, factory, ce, member_ce
):
    day = days_ago(2)
    end = day + timedelta(days=1)
    payer_rows = resource_costs(ce, account_id=PAYER, start=day, end=end, today=TODAY)
    assert resource_costs(member_ce, account_id=MEMBER, start=day, end=end, today=TODAY) is None  # fallback
    refs, usage = {}, {}
    for account_id, region in [
        (PAYER, "us-east-1"),
        (PAYER, "eu-west-1"),
        (MEMBER, "us-east-1"),
        (MEMBER, "eu-west-1"),
    ]:
        r, u = usage_from_aws(factory, account_id, region, day)
        refs.update({ref.key: ref for ref in r.values()})
        usage.update(u)
    result = attribute_costs(refs.values(), [day], prices=PRICES, resource_rows=payer_rows, usage=usage)
    assert result.gaps == []
    costs = by_key(result)
    assert len(costs) == len(world.fleet.endpoints)
    for key, cost in costs.items():
        endpoint = world.fleet.find(*key)
        billed = world.fleet.daily_cost(endpoint, day)
        if endpoint.account_id == PAYER:
            assert (cost.source, cost.amount) == ("resource", billed), endpoint.name
            assert cost.estimated  # two days ago is still Estimated in Cost Explorer
        else:
            assert cost.source == "estimate", endpoint.name
            assert abs(cost.amount - billed) <= billed * Decimal("0.005") + Decimal("0.0000002"), (
                endpoint.name
            )

    # The payer's estimates reconcile with its resource-level bill (no PC there: within $1.2e-7 each).
    estimates = estimate_costs([r for r in refs.values() if r.account_id == PAYER], [day], usage, PRICES)
    checks = reconcile(estimates.costs, result.costs, tolerance=Decimal("0.000001"))
    assert {c.endpoint_key for c in checks} == {
        k for k, c in costs.items() if c.source == "resource" and c.amount
    }
    assert not [c for c in checks if c.flagged]


def cost(key: str, amount: str, source: str, currency: str = "USD") -> EndpointCost:
    return EndpointCost(key, DAY, Decimal(amount), currency, source, source == "estimate")


def test_reconcile_flags_estimates_beyond_the_tolerance():
    estimates = [cost("a", "10.5", "estimate"), cost("b", "9", "estimate"), cost("c", "1", "estimate"),
                 cost("e", "4", "estimate")]  # fmt: skip
    billed = [
        cost("a", "10", "resource"),
        cost("b", "10", "tag"),
        cost("c", "0", "resource"),
        cost("d", "3", "tag"),
    ]
    rows = {r.endpoint_key: r for r in reconcile(estimates, billed, tolerance=Decimal("0.05"))}
    assert set(rows) == {"a", "b", "c"}  # d has no estimate, e no bill
    a, b, c = rows["a"], rows["b"], rows["c"]
    assert (a.difference, a.ratio, a.flagged) == (Decimal("0.5"), Decimal("1.05"), False)  # exactly 5%: kept
    assert (b.difference, b.ratio, b.flagged, b.billed_source) == (Decimal("-1"), Decimal("0.9"), True, "tag")
    assert (c.ratio, c.flagged) == (None, True)  # billed nothing, estimated something
    assert reconcile(estimates, billed, tolerance=Decimal("0.04"))[0].flagged  # a at 4%


def test_reconcile_refuses_to_compare_currencies():
    with pytest.raises(ValueError, match="estimate in USD, billed in EUR"):
        reconcile([cost("a", "1", "estimate")], [cost("a", "1", "resource", currency="EUR")])
