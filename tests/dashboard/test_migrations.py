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


def _primary_key_columns(table: str) -> list[str]:
    with connection.cursor() as cur:
        constraints = connection.introspection.get_constraints(cur, table)
    (columns,) = [c["columns"] for c in constraints.values() if c["primary_key"]]
    return columns


@pytest.mark.django_db
def test_composite_primary_keys_in_the_database_are_in_the_models_order():
    """Django does not alter a composite primary key in the database (0012 does it in SQL): the table's
    key columns, in order, must be the model's, or the (series, ts) range scans lose their index."""
    from dashboard.models import MetricPoint, MetricRollup

    for model in (MetricPoint, MetricRollup):
        expected = [model._meta.get_field(name).column for name in model._meta.pk.field_names]
        assert _primary_key_columns(model._meta.db_table) == expected
    assert _primary_key_columns(MetricPoint._meta.db_table) == ["series_id", "ts", "period"]


@pytest.mark.django_db(transaction=True)
def test_the_points_key_migration_reverses_to_the_old_order():
    call_command("migrate", "dashboard", "0011", verbosity=0)
    try:
        assert _primary_key_columns("dashboard_metricpoint") == ["series_id", "period", "ts"]
    finally:
        call_command("migrate", verbosity=0)
    assert _primary_key_columns("dashboard_metricpoint") == ["series_id", "ts", "period"]
