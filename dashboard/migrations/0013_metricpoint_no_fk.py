"""The points table loses its database foreign key to the series: at every commit Postgres checked each
stored point against the series table (the constraint was deferred), 40% of the storage path's time on
the bench's ingest sample. The ORM still cascades: deleting a series (or its variant or endpoint)
deletes its points."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0012_metricpoint_pk_series_ts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="metricpoint",
            name="series",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to="dashboard.metricseries",
            ),
        ),
    ]
