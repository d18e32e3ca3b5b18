"""The budget rules a new installation starts with: every account, team and endpoint is compared with
its forecast each month and alerts above 150%. Edit or disable them in the dashboard."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    ("Each account over 150% of the Cost Explorer forecast", "account"),
    ("Each team over 150% of its forecast", "team"),
    ("Each endpoint over 150% of its forecast", "endpoint"),
]


def create(apps, schema_editor):
    BudgetRule = apps.get_model("dashboard", "BudgetRule")
    for name, scope in DEFAULTS:
        BudgetRule.objects.get_or_create(
            name=name,
            defaults={"scope": scope, "basis": "forecast", "thresholds": [Decimal("150")], "period": "month"},
        )


def remove(apps, schema_editor):
    apps.get_model("dashboard", "BudgetRule").objects.filter(name__in=[n for n, _ in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0008_alerts")]
    operations = [migrations.RunPython(create, remove)]
