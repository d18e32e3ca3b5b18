"""manage.py reconcile: our estimates against billed cost per endpoint and day, to catch a wrong price."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone

from collectors.reconciliation import reconcile_stored
from dashboard.models import Endpoint


class Command(BaseCommand):
    help = "Compare estimated with billed (resource or tag) cost per endpoint and day; list the mismatches."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--tolerance", type=Decimal, default=Decimal("0.05"), help="relative, e.g. 0.05")
        parser.add_argument("--all", action="store_true", help="list every pair, not only the mismatches")

    def handle(self, *args, days, tolerance, all, **options):
        today = timezone.now().date()
        names = dict(Endpoint.objects.values_list("pk", "name"))
        rows = reconcile_stored(list(names), today - timedelta(days=days), today, tolerance=tolerance)
        flagged = [r for r in rows if r.flagged]
        for r in rows if all else flagged:
            ratio = f"{r.ratio:.3f}" if r.ratio is not None else "n/a"
            label = "MISMATCH" if r.flagged else "ok"
            self.stdout.write(
                f"{label:8} {names[r.endpoint_key]:40} {r.day} estimate {r.estimate:.4f} "
                f"billed {r.billed:.4f} {r.currency} ({r.billed_source}) ratio {ratio}"
            )
        self.stdout.write(f"{len(rows)} endpoint-days compared, {len(flagged)} outside ±{tolerance:%}")
