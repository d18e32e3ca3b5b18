"""The points table's primary key becomes (series, ts, period): every read of points asks for some series
over a span of time (the rollups after each batch, usage for cost estimates, what is stored already), and
with the period between series and ts in the key those reads walked each series' whole retention in the
index, filtering on ts. Same columns, so uniqueness and the upserts' conflict target are unchanged.

Django does not alter a composite primary key in the database (the state changes, the table not), hence
the SQL. On a large table this rebuilds the index under a lock: run it in a quiet hour."""

from django.db import migrations, models

SWAP = (
    "ALTER TABLE dashboard_metricpoint DROP CONSTRAINT dashboard_metricpoint_pkey, "
    "ADD CONSTRAINT dashboard_metricpoint_pkey PRIMARY KEY ({})"
)


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0011_report_deliveries")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    SWAP.format("series_id, ts, period"), reverse_sql=SWAP.format("series_id, period, ts")
                )
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="metricpoint",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "series_id",
                        "ts",
                        "period",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                )
            ],
        )
    ]
