"""The `__any` lookup (dashboard/models/lookups.py): the rows `__in` finds, with the list bound once."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import AwsAccount, Endpoint, ProductionVariant, Team
from dashboard.models.lookups import IdArray
from tests.conftest import NOW


def make_endpoints(n: int, team=None) -> list[Endpoint]:
    account = AwsAccount.objects.create(account_id="123456789012", regions=["us-east-1"])
    return [
        Endpoint.objects.create(
            account=account, region="us-east-1", name=f"ep-{i}", arn=f"arn:{i}", status="InService",
            team=team if i % 2 else None, first_seen=NOW, last_seen=NOW,
        )
        for i in range(n)
    ]  # fmt: skip


def test_any_finds_what_in_finds_and_binds_the_list_as_one_array(db):
    team = Team.objects.create(slug="search", name="Search")
    endpoints = make_endpoints(6, team)
    for e in endpoints[:4]:
        ProductionVariant.objects.create(
            endpoint=e, name="v", kind="serverless", first_seen=NOW, last_seen=NOW
        )
    ids = [e.pk for e in endpoints]
    for wanted in ([], ids[:1], ids[1:4], ids, [*ids, 10**12]):
        assert set(Endpoint.objects.filter(pk__any=wanted)) == set(Endpoint.objects.filter(pk__in=wanted))
        as_array = IdArray.of(wanted)  # one literal string, cast in SQL
        assert set(Endpoint.objects.filter(pk__any=as_array)) == set(Endpoint.objects.filter(pk__in=wanted))
        by_fk = ProductionVariant.objects.filter(endpoint_id__any=wanted)
        assert set(by_fk) == set(ProductionVariant.objects.filter(endpoint_id__in=wanted))
        assert set(ProductionVariant.objects.filter(endpoint_id__any=as_array)) == set(by_fk)
        assert set(ProductionVariant.objects.filter(endpoint__team_id__any=[team.pk])) == set(
            ProductionVariant.objects.filter(endpoint__team=team)
        )
    with CaptureQueriesContext(connection) as queries:
        assert Endpoint.objects.filter(pk__any=ids).count() == 6
    assert "= ANY(" in queries[0]["sql"] and "IN (" not in queries[0]["sql"]


def test_an_id_array_holds_only_integers():
    assert IdArray.of([3, 1, 2]).literal == "{3,1,2}"
    assert IdArray.of([]).literal == "{}"
    for bad in (["1); DROP TABLE x; --"], [1.5e3, "x"]):
        try:
            IdArray.of(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} reached the literal")
