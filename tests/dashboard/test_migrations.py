"""Migrations apply from zero and the models have no change without a migration."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_migrations_apply_from_zero_and_back():
    call_command("migrate", "dashboard", "zero", verbosity=0)
    assert "dashboard_endpoint" not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert "dashboard_endpoint" in connection.introspection.table_names()
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


@pytest.mark.django_db
def test_models_have_no_unmigrated_changes():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_catalogue_is_seeded_from_the_price_file():
    from decimal import Decimal

    from dashboard.models import InstanceType

    g5 = InstanceType.objects.get(name="ml.g5.xlarge")
    assert g5.hourly_price == Decimal("1.4084")
    assert g5.gpu_count == 1 and g5.gpu_memory_gib == 24 and g5.vcpus == 4
