"""Issue #9, scenario 3: one of three accounts whose role cannot be assumed, or whose credentials expire
mid-run. The other accounts are collected as if nothing happened, the broken one is shown on every page
as failing with AWS's error, nothing is invented for it, and the run after the fault fills it in."""

from datetime import timedelta

import pytest
from django.urls import reverse

from dashboard.models import CollectionRun
from tests.faults.harness import CLOCK, assert_same_data, differences, fault_worker, reference, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PAYER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
ROLE = f"arn:aws:iam::{MEMBER}:role/SageMakerDashboardReadOnly"
DENIED = (
    f"User: arn:aws:iam::{PAYER}:user/dashboard-operator is not authorized to perform: sts:AssumeRole "
    f"on resource: {ROLE}"
)
EXPIRED = "The security token included in the request is expired"
# The run after the fault starts a little later than the faulty one (every task starts at the pinned
# clock, so "latest run" would otherwise be a coin toss), still in the same minute and metric period.
LATER = CLOCK + timedelta(seconds=30)


def _names(value, accounts: set[str]) -> bool:
    if isinstance(value, str):
        return value in accounts
    if isinstance(value, tuple):
        return any(_names(v, accounts) for v in value)
    return False


def of_accounts(data: dict[str, list[tuple]], *accounts: str) -> dict[str, list[tuple]]:
    """The rows of a snapshot that belong to these accounts (a row names its account by id, directly or
    through its endpoint, series or forecast scope); team-wide rows belong to no account and are left out."""
    wanted = set(accounts)
    return {model: [row for row in rows if _names(row, wanted)] for model, rows in data.items()}


def test_an_account_whose_role_cannot_be_assumed_is_shown_failing_and_the_others_are_collected(
    tmp_path, client, finops_admin
):
    expected = reference(tmp_path)
    rule = {
        "name": "role-denied",
        "service": "sts",
        "operation": "AssumeRole",
        "params": {"RoleArn": ROLE},
        "error": {"code": "AccessDenied", "message": DENIED, "status": 403},
    }
    with fault_worker(tmp_path / "faulty", rules=[rule]) as worker:
        worker.collect()
        assert worker.plan.fired("role-denied") >= 5, worker.plan.counts("role-denied")

        member_runs = CollectionRun.objects.filter(account__account_id=MEMBER)
        assert sorted(member_runs.values_list("kind", "region")) == [
            ("costs", ""), ("inventory", "eu-west-1"), ("inventory", "us-east-1"),
            ("metrics", "eu-west-1"), ("metrics", "us-east-1"),
        ]  # fmt: skip
        denied = ("failed", (f"AccessDenied: {DENIED}",))
        assert {(r.status, tuple(r.errors)) for r in member_runs} == {denied}
        others = CollectionRun.objects.exclude(account__account_id=MEMBER)
        assert others.count() == 10 and set(others.values_list("status", flat=True)) == {"ok"}

        stored = snapshot()
        assert of_accounts(stored, PAYER, OTHER) == of_accounts(expected, PAYER, OTHER), differences(
            of_accounts(expected, PAYER, OTHER), of_accounts(stored, PAYER, OTHER)
        )
        assert not any(of_accounts(stored, MEMBER).values()), "something was stored for the denied account"
        assert "Endpoint" in differences(expected, stored)

        client.force_login(finops_admin)
        page = client.get(reverse("fleet"))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'class="fresh failing" id="freshness-inventory"' in body
        assert "Inventory collection is failing for 2 account/regions" in body
        assert "Metrics collection is failing for 2 account/regions" in body
        assert "Costs collection is failing for 1 account/region:" in body
        for scope in (f"{MEMBER}/us-east-1", f"{MEMBER}/eu-west-1", MEMBER):
            assert f"<li>{scope}: AccessDenied: {DENIED}</li>" in body, scope

        worker.plan.clear()
        worker.set_clock(LATER)
        worker.collect()
    assert set(CollectionRun.objects.filter(started_at__gte=LATER).values_list("status", flat=True)) == {"ok"}
    assert_same_data(expected, snapshot())
    assert "collection is failing" not in client.get(reverse("fleet")).content.decode()


def test_credentials_that_expire_mid_run_keep_what_was_read_invent_nothing_and_the_next_run_completes(
    tmp_path,
):
    expected = reference(tmp_path)
    error = {"code": "ExpiredToken", "message": EXPIRED, "status": 400}
    # After a few good calls of each of the account's runs, every call with its credentials is refused.
    rules = [
        {"name": "expired-sagemaker", "service": "sagemaker", "account": MEMBER, "skip": 14, "error": error},
        {"name": "expired-cloudwatch", "service": "cloudwatch", "account": MEMBER, "skip": 1, "error": error},
        {"name": "expired-ce", "service": "ce", "account": MEMBER, "skip": 2, "error": error},
    ]
    with fault_worker(tmp_path / "faulty", rules=rules) as worker:
        worker.collect()
        for rule in rules:
            assert worker.plan.fired(rule["name"]) >= 1, (rule["name"], worker.plan.counts(rule["name"]))

        # Each run assumes the role afresh: the ones whose credentials expired part-way through say so
        # (us-east-1 is read first, and its inventory and metrics runs finished within the good calls).
        member_runs = CollectionRun.objects.filter(account__account_id=MEMBER)
        assert {(r.kind, r.region): r.status for r in member_runs} == {
            ("inventory", "us-east-1"): "ok", ("inventory", "eu-west-1"): "partial",
            ("metrics", "us-east-1"): "ok", ("metrics", "eu-west-1"): "failed",
            ("costs", ""): "partial",
        }  # fmt: skip
        for run in member_runs.exclude(status="ok"):
            assert run.errors and all(f"ExpiredToken: {EXPIRED}" in e for e in run.errors), run.errors
        others = CollectionRun.objects.exclude(account__account_id=MEMBER)
        assert set(others.values_list("status", flat=True)) == {"ok"}

        stored = snapshot()
        assert of_accounts(stored, PAYER, OTHER) == of_accounts(expected, PAYER, OTHER)
        mine, wanted = of_accounts(stored, MEMBER), of_accounts(expected, MEMBER)
        invented = {
            model: sorted(set(map(repr, rows)) - set(map(repr, wanted[model])))
            for model, rows in mine.items()
        }
        assert not any(invented.values()), {m: rows[:3] for m, rows in invented.items() if rows}
        # What was read before the credentials expired is kept: an endpoint, its points, a day of costs.
        for model in ("Endpoint", "ProductionVariant", "MetricPoint", "DailyCost"):
            assert mine[model], f"nothing of {model} was kept"
        assert differences(wanted, mine), "the fault took nothing away"

        worker.plan.clear()
        worker.set_clock(LATER)
        worker.collect()
    assert set(CollectionRun.objects.filter(started_at__gte=LATER).values_list("status", flat=True)) == {"ok"}
    assert_same_data(expected, snapshot())
