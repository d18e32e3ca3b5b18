"""manage.py budgets: evaluate the budget rules now, list the firing alerts, optionally deliver."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from dashboard.alerts.delivery import deliver_due
from dashboard.alerts.evaluate import evaluate
from dashboard.models import Alert


class Command(BaseCommand):
    help = "Evaluate every budget rule against spend so far, list firing alerts; --deliver sends them."

    def add_arguments(self, parser):
        parser.add_argument("--deliver", action="store_true", help="send due notifications now")
        parser.add_argument("--verbose-skips", action="store_true", help="list scopes not evaluated, why")

    def handle(self, *args, deliver, verbose_skips, **options):
        now = timezone.now()
        outcome = evaluate(now)
        for alert in Alert.objects.filter(state=Alert.State.FIRING, period_end__gt=now.date()):
            f = alert.figures
            self.stdout.write(
                f"{alert.scope_label}: {f.get('actual')} {alert.currency} against {f.get('expected')} "
                f"expected ({f.get('ratio')}%), projected {f.get('projected_ratio')}% > {alert.threshold}%"
            )
        if verbose_skips:
            for line in outcome.skipped:
                self.stdout.write(f"  not evaluated: {line}")
        for error in outcome.errors:
            self.stderr.write(error)
        self.stdout.write(
            f"{outcome.rules} rules, {outcome.evaluated} scopes evaluated, {len(outcome.skipped)} without "
            f"a forecast, {outcome.raised} raised, {outcome.recovered} recovered, {outcome.queued} queued"
        )
        if deliver:
            self.stdout.write(f"delivery: {deliver_due(timezone.now())}")
