"""Inventory collection end to end against the simulated AWS account: both accounts (one through
sts:AssumeRole), both regions, compared with the simulator's ground truth; twice, same rows."""

import pytest

from collectors.inventory import collect_inventory
from collectors.runtime import enabled_accounts
from dashboard.models import AwsAccount, CollectionRun, Endpoint, EndpointEvent, ProductionVariant


@pytest.fixture
def accounts(db, sim):
    return [
        AwsAccount.objects.create(
            account_id=a.account_id, label=a.label, role_arn=a.role_arn or "", regions=list(a.regions)
        )
        for a in sim.accounts
    ]


def collect_all(accounts, factory, clock):
    return [
        collect_inventory(a, region, factory=factory, clock=clock) for a in accounts for region in a.regions
    ]


def rows():
    endpoint_fields = [
        "account__account_id",
        "region",
        "name",
        "arn",
        "status",
        "tags",
        "team_id",
        "deleted_at",
    ]
    variant_fields = [
        "endpoint__name",
        "name",
        "kind",
        "memory_mb",
        "max_concurrency",
        "provisioned_concurrency",
    ]
    endpoints = sorted(Endpoint.objects.values_list(*endpoint_fields, "first_seen", "last_seen"))
    variants = sorted(
        ProductionVariant.objects.values_list(*variant_fields, "instance_type", "current_instance_count")
    )
    return endpoints, variants


@pytest.mark.django_db
def test_it_finds_every_simulated_endpoint_with_its_shape(sim, sim_factory, accounts, clock):
    runs = collect_all(accounts, sim_factory(), clock)

    assert [r.status for r in runs] == ["ok"] * len(runs)
    truth = {(e.account_id, e.region, e.name): e for e in sim.fleet.endpoints}
    stored = {(e.account.account_id, e.region, e.name): e for e in Endpoint.objects.select_related("account")}
    assert set(stored) == set(truth)
    for key, sim_endpoint in truth.items():
        endpoint = stored[key]
        assert endpoint.arn == sim_endpoint.arn
        assert endpoint.tags == sim_endpoint.tags
        variants = {v.name: v for v in endpoint.variants.all()}
        assert set(variants) == {v.name for v in sim_endpoint.variants}
        for sv in sim_endpoint.variants:
            v = variants[sv.name]
            assert v.kind == sv.kind
            if sv.kind == "serverless":
                assert (v.memory_mb, v.max_concurrency, v.provisioned_concurrency) == (
                    sv.memory_mb, sv.max_concurrency, sv.provisioned_concurrency,
                )  # fmt: skip
            else:
                assert (v.instance_type_id, v.current_instance_count) == (sv.instance_type, sv.instance_count)
                assert v.instance_type.gpu_count == sv.gpu_count and v.instance_type.vcpus == sv.vcpus


@pytest.mark.django_db
def test_second_account_is_read_through_its_role(sim, sim_factory, accounts, clock):
    second = accounts[1]
    assert second.role_arn
    run = collect_inventory(second, second.regions[0], factory=sim_factory(), clock=clock)
    assert run.api_calls["sts:AssumeRole"] == 1
    names = set(Endpoint.objects.values_list("name", flat=True))
    assert names == {e.name for e in sim.fleet.in_scope(second.account_id, second.regions[0])}
    assert names


@pytest.mark.django_db
def test_run_records_calls_per_api(sim, sim_factory, accounts, clock):
    account = accounts[0]
    run = collect_inventory(account, "us-east-1", factory=sim_factory(), clock=clock)
    count = len(sim.fleet.in_scope(account.account_id, "us-east-1"))
    assert run.api_calls["sagemaker:DescribeEndpoint"] == count
    assert run.api_calls["sagemaker:ListTags"] == count
    assert run.api_calls["sagemaker:DescribeEndpointConfig"] == count  # one config per endpoint here
    assert run.api_calls["sagemaker:ListEndpoints"] == 1
    assert run.stats == {
        "endpoints": count, "created": count, "changed": 0, "restored": 0, "deleted": 0,
        "vanished_while_reading": 0, "complete": True,
    }  # fmt: skip
    assert run.finished_at is not None


@pytest.mark.django_db
def test_collecting_twice_gives_the_same_rows(sim_factory, accounts, clock):
    collect_all(accounts, sim_factory(), clock)
    first = rows()
    events = EndpointEvent.objects.count()
    collect_all(accounts, sim_factory(), clock)
    assert rows() == first
    assert EndpointEvent.objects.count() == events
    assert CollectionRun.objects.filter(status="ok").count() == 2 * sum(len(a.regions) for a in accounts)


@pytest.mark.django_db
def test_team_mapping_from_tags(sim, sim_factory, accounts, clock, team_search):
    collect_all(accounts, sim_factory(), clock)
    tagged_search = {e.name for e in sim.fleet.endpoints if e.tags.get("team") == "search"}
    assert tagged_search
    assert set(Endpoint.objects.filter(team=team_search).values_list("name", flat=True)) == tagged_search


@pytest.mark.django_db
def test_with_no_account_configured_the_ambient_account_is_used(sim, settings):
    settings.AWS_SIMULATOR = "seed=7"
    settings.AWS_REGIONS = ["eu-west-1"]
    (account,) = enabled_accounts()
    assert account.account_id == sim.ambient_account_id
    assert account.role_arn == "" and account.regions == ["eu-west-1"]
    assert enabled_accounts() == [account]  # registered once


@pytest.mark.django_db
def test_a_role_that_cannot_be_assumed_fails_that_account_only(sim, sim_factory, accounts, clock):
    AwsAccount.objects.filter(pk=accounts[1].pk).update(role_arn="arn:aws:iam::999999999999:role/Nope")
    accounts[1].refresh_from_db()
    runs = collect_all(accounts, sim_factory(), clock)
    by_account = {(r.account.account_id, r.region): r for r in runs}
    assert {r.status for k, r in by_account.items() if k[0] == accounts[0].account_id} == {"ok"}
    failed = [r for k, r in by_account.items() if k[0] == accounts[1].account_id]
    assert failed and all(r.status == "failed" and "AccessDenied" in r.errors[0] for r in failed)
