"""Issue #9, scenario 4: an endpoint deleted between listing and describing, and an endpoint config
replaced mid-window.

SageMaker answers DescribeEndpoint of a deleted endpoint with ValidationException 'Could not find
endpoint ...': the endpoint really is gone, so it is not stored (or, if it was, it is marked deleted,
its data kept), while the rest of the account is stored. A config replaced (UpdateEndpoint) between two
inventory runs is injected by rewriting DescribeEndpoint's answer and answering DescribeEndpointConfig
for the new config, which the simulated account does not model."""

from collections import Counter
from datetime import timedelta

import pytest

from dashboard.models import CollectionRun, Endpoint, EndpointEvent, ProductionVariant
from tests.faults.harness import CLOCK, assert_same_data, differences, fault_worker, reference, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PAYER, REGION = "111111111111", "us-east-1"
GONE = "search-rerank-g5"  # an instance endpoint (ml.g5.xlarge x 2) of the payer account
# Later runs start a little after the earlier ones: every task starts at the pinned clock, and the
# order of events must not be a coin toss. Same minute, same metric period: the same data is due.
LATER = CLOCK + timedelta(seconds=30)


def not_found(name: str) -> dict:
    return {
        "name": "deleted-while-listing",
        "service": "sagemaker",
        "operation": "DescribeEndpoint",
        "account": PAYER,
        "region": REGION,
        "params": {"EndpointName": name},
        "error": {
            "code": "ValidationException",
            "message": f'Could not find endpoint "arn:aws:sagemaker:{REGION}:{PAYER}:endpoint/{name}".',
            "status": 400,
        },
    }


def _names(value, name: str) -> bool:
    if isinstance(value, tuple):
        return any(_names(v, name) for v in value)
    return value == name


def without(data: dict[str, list[tuple]], name: str) -> dict[str, list[tuple]]:
    """A snapshot without the rows of endpoint `name` (its own row, and every row naming it). Cursor
    rows are left out altogether: the snapshot keeps them without their variant (it is their primary
    key), so they cannot be told apart by endpoint."""
    return {
        model: [row for row in rows if not _names(row, name)]
        for model, rows in data.items()
        if model != "MetricCursor"
    }


def inventory_run() -> CollectionRun:
    return CollectionRun.objects.filter(kind="inventory", account__account_id=PAYER, region=REGION).latest(
        "started_at"
    )


def test_an_endpoint_deleted_before_it_was_ever_stored_is_not_stored_and_the_others_are(tmp_path):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "faulty", rules=[not_found(GONE)]) as worker:
        worker.collect()
        assert worker.plan.fired("deleted-while-listing") == 1

        run = inventory_run()
        assert (run.status, run.errors) == ("ok", [])
        assert run.stats["vanished_while_reading"] == 1 and run.stats["complete"] is True
        stored = snapshot()
        assert not Endpoint.objects.filter(name=GONE).exists()
        assert without(stored, GONE) == without(expected, GONE), differences(
            without(expected, GONE), without(stored, GONE)
        )
        assert without(stored, GONE) == {m: r for m, r in stored.items() if m != "MetricCursor"}, (
            "something names the endpoint that was never stored"
        )
        # Its variant's cursor is the one missing, and no other cursor changed.
        cursors, expected_cursors = Counter(stored["MetricCursor"]), Counter(expected["MetricCursor"])
        assert not cursors - expected_cursors and (expected_cursors - cursors).total() == 1
        assert "MetricPoint" in differences(expected, stored)

        worker.plan.clear()
        worker.set_clock(LATER)
        worker.collect()
    assert inventory_run().stats["created"] == 1
    assert_same_data(expected, snapshot())


def test_a_stored_endpoint_deleted_between_listing_and_describing_is_marked_deleted_and_keeps_its_data(
    tmp_path,
):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "faulty") as worker:
        worker.fan_out("inventory")
        worker.plan.write([not_found(GONE)])
        worker.set_clock(LATER)
        worker.collect()
        assert worker.plan.fired("deleted-while-listing") == 1

        run = inventory_run()
        assert (run.status, run.errors) == ("ok", [])
        assert run.stats["deleted"] == 1 and run.stats["vanished_while_reading"] == 1
        gone = Endpoint.objects.get(name=GONE)
        assert gone.deleted_at is not None
        assert not ProductionVariant.objects.filter(endpoint=gone, removed_at=None).exists()
        assert list(gone.events.order_by("at").values_list("kind", flat=True)) == ["created", "deleted"]
        stored = snapshot()
        # The rest of the fleet is as the fault-free run stored it, and nothing of the deleted endpoint
        # was lost: its metrics and costs up to its deletion are all there.
        assert without(stored, GONE) == without(expected, GONE)
        changed = {model for model in expected if stored[model] != expected[model]}
        assert changed == {"Endpoint", "ProductionVariant", "EndpointEvent", "CostForecast"}, differences(
            expected, stored
        )
        # A deleted endpoint costs nothing more this month: its own month-end forecast is gone.
        assert [f for f in expected["CostForecast"] if f not in stored["CostForecast"]] == [
            f for f in expected["CostForecast"] if _names(f, GONE)
        ]

        # It comes back (in this world, a new endpoint of the same name): restored, nothing lost.
        worker.plan.clear()
        worker.set_clock(LATER + timedelta(seconds=15))
        worker.collect()
    kinds = list(gone.events.order_by("at").values_list("kind", flat=True))
    assert kinds == ["created", "deleted", "restored"]
    after = snapshot()
    history = [row for row in after["EndpointEvent"] if _names(row, GONE) and row[2] != "created"]
    assert len(history) == 2
    after["EndpointEvent"] = [row for row in after["EndpointEvent"] if row not in history]
    assert_same_data(expected, after)


NEW_CONFIG = f"{GONE}-cfg-20261120"
NEW_TYPE, NEW_COUNT = "ml.g5.2xlarge", 3


def config_replaced() -> list[dict]:
    """search-rerank-g5 moved by UpdateEndpoint from ml.g5.xlarge x 2 to a new config, ml.g5.2xlarge x 3."""
    scope = {"service": "sagemaker", "account": PAYER, "region": REGION}
    return [
        {
            **scope,
            "name": "endpoint-updated",
            "operation": "DescribeEndpoint",
            "params": {"EndpointName": GONE},
            "rewrite": {
                "fields": {"EndpointConfigName": NEW_CONFIG},
                "variants": {
                    "AllTraffic": {"CurrentInstanceCount": NEW_COUNT, "DesiredInstanceCount": NEW_COUNT}
                },
            },
        },
        {
            **scope,
            "name": "new-config",
            "operation": "DescribeEndpointConfig",
            "params": {"EndpointConfigName": NEW_CONFIG},
            "answer": {
                "body": {
                    "EndpointConfigName": NEW_CONFIG,
                    "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{PAYER}:endpoint-config/{NEW_CONFIG}",
                    "ProductionVariants": [
                        {
                            "VariantName": "AllTraffic",
                            "ModelName": f"{GONE}-model",
                            "InstanceType": NEW_TYPE,
                            "InitialInstanceCount": NEW_COUNT,
                            "InitialVariantWeight": 1.0,
                        }
                    ],
                    "EnableNetworkIsolation": False,
                    "CreationTime": "2026-11-20T09:00:00+00:00",  # required in botocore's output shape
                }
            },
        },
    ]


def test_a_config_replaced_between_runs_is_recorded_and_the_days_before_keep_the_old_shape(tmp_path):
    expected = reference(tmp_path)
    with fault_worker(tmp_path / "faulty") as worker:
        worker.collect()
        old_config = Endpoint.objects.get(name=GONE).config_name
        worker.plan.write(config_replaced())
        worker.set_clock(LATER)
        worker.collect()
        assert worker.plan.fired("endpoint-updated") == 1 and worker.plan.fired("new-config") == 1

    assert (inventory_run().status, inventory_run().stats["changed"]) == ("ok", 1)
    endpoint = Endpoint.objects.get(name=GONE)
    variant = endpoint.variants.get()
    assert endpoint.config_name == NEW_CONFIG and endpoint.deleted_at is None
    assert (variant.instance_type_id, variant.desired_instance_count, variant.current_instance_count) == (
        NEW_TYPE, NEW_COUNT, NEW_COUNT,
    )  # fmt: skip
    change = endpoint.events.get(kind=EndpointEvent.Kind.CHANGED)
    assert change.at >= LATER
    assert change.detail["before"] == {
        "AllTraffic": {"kind": "instance", "instance_type": "ml.g5.xlarge", "desired_instance_count": 2}
    }
    assert change.detail["after"] == {
        "AllTraffic": {"kind": "instance", "instance_type": NEW_TYPE, "desired_instance_count": NEW_COUNT}
    }
    assert change.detail["config"] == {"before": old_config, "after": NEW_CONFIG}

    # Nothing lost and nothing re-priced: every metric point, cost and forecast of the days before the
    # change is what the fault-free run stored (the estimates of those days use the old shape); only the
    # endpoint's own row, its variant and its history say it changed.
    stored = snapshot()
    assert without(stored, GONE) == without(expected, GONE)
    changed = {model for model in expected if stored[model] != expected[model]}
    assert changed == {"Endpoint", "ProductionVariant", "EndpointEvent"}, differences(expected, stored)
    change_row = next(row for row in stored["EndpointEvent"] if _names(row, GONE) and row[2] == "changed")
    assert [row for row in stored["EndpointEvent"] if row != change_row] == expected["EndpointEvent"]
