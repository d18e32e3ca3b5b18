"""The first page: login required, then the fleet list scoped to the user's teams."""

import pytest
from django.urls import reverse

from dashboard.models import AwsAccount, CollectionRun, Endpoint, ProductionVariant
from tests.conftest import NOW


@pytest.fixture
def fleet(db, team_search, team_vision):
    account = AwsAccount.objects.create(account_id="111111111111", label="prod", regions=["us-east-1"])
    rows = {
        "search-ranker": (team_search, dict(kind="serverless", memory_mb=6144, max_concurrency=20)),
        "vision-detector": (
            team_vision, dict(kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=2)
        ),
        "orphan": (None, dict(kind="serverless", memory_mb=1024, max_concurrency=5)),
    }  # fmt: skip
    for name, (team, variant) in rows.items():
        endpoint = Endpoint.objects.create(
            account=account, region="us-east-1", name=name, status="InService", team=team,
            arn=f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{name}", first_seen=NOW, last_seen=NOW,
        )  # fmt: skip
        ProductionVariant.objects.create(
            endpoint=endpoint, name="AllTraffic", first_seen=NOW, last_seen=NOW, **variant
        )
    CollectionRun.objects.create(
        kind="inventory", account=account, region="us-east-1", started_at=NOW, finished_at=NOW, status="ok"
    )
    return account


def names_on_page(response):
    return sorted(
        Endpoint.objects.filter(pk__in=[e.pk for e in response.context["endpoints"]]).values_list(
            "name", flat=True
        )
    )


def test_anonymous_user_is_sent_to_login(client, fleet):
    response = client.get(reverse("fleet"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_for_anonymous(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_team_member_sees_only_their_teams_endpoints(client, fleet, member_search):
    client.force_login(member_search)
    response = client.get(reverse("fleet"))
    assert response.status_code == 200
    assert names_on_page(response) == ["search-ranker"]
    assert b"vision-detector" not in response.content and b"orphan" not in response.content
    assert b"6 GB, max 20" in response.content


def test_user_with_no_team_sees_nothing(client, fleet, outsider):
    client.force_login(outsider)
    response = client.get(reverse("fleet"))
    assert names_on_page(response) == []
    assert b"search-ranker" not in response.content


def test_finops_admin_sees_every_endpoint_with_shape_and_gpus(client, fleet, finops_admin):
    client.force_login(finops_admin)
    response = client.get(reverse("fleet"))
    assert names_on_page(response) == ["orphan", "search-ranker", "vision-detector"]
    body = response.content.decode()
    assert "ml.g5.xlarge x 2" in body
    assert "1× NVIDIA A10G (24 GiB)" in body
    assert "2026-11-20 10:17" in body  # when inventory was last collected


def test_deleted_endpoints_are_hidden_unless_asked_for(client, fleet, finops_admin):
    Endpoint.objects.filter(name="orphan").update(deleted_at=NOW)
    client.force_login(finops_admin)
    assert "orphan" not in names_on_page(client.get(reverse("fleet")))
    assert "orphan" in names_on_page(client.get(reverse("fleet"), {"deleted": "1"}))


def test_failing_collection_is_shown(client, fleet, finops_admin):
    CollectionRun.objects.create(
        kind="inventory", account=fleet, region="us-east-1", started_at=NOW.replace(hour=11),
        finished_at=NOW.replace(hour=11), status="failed", errors=["AccessDenied: not authorized"],
    )  # fmt: skip
    client.force_login(finops_admin)
    body = client.get(reverse("fleet")).content.decode()
    assert "Inventory collection is failing" in body
    assert "111111111111/us-east-1: AccessDenied: not authorized" in body


def test_healthz_needs_no_login_and_reveals_nothing_else(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
