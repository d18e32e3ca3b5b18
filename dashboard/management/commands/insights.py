"""manage.py insights: recompute the recommendations now and list the open ones, largest saving first."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.insights.engine import recompute
from dashboard.insights.model import RULES
from dashboard.models import Recommendation


class Command(BaseCommand):
    help = "Recompute recommendations (whole fleet, or one account and region) and list the open ones."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="12-digit account id (with --region)")
        parser.add_argument("--region", help="region (with --account)")
        parser.add_argument("--quiet", action="store_true", help="print only the summary line")

    def handle(self, *args, account, region, quiet, **options):
        if bool(account) != bool(region):
            raise CommandError("--account and --region go together")
        outcome = recompute(timezone.now(), scopes={(account, region)} if account else None)
        if not quiet:
            open_recs = Recommendation.objects.filter(active=True, status="open").select_related("endpoint")
            if account:
                open_recs = open_recs.filter(account__account_id=account, region=region)
            for rec in open_recs:
                saving = "unknown" if rec.monthly_saving is None else f"{rec.monthly_saving:,.2f}"
                scope = rec.endpoint.name if rec.endpoint else rec.region
                rule = RULES.get(rec.rule, rec.rule)
                self.stdout.write(f"{saving:>14} {rec.currency}/month  {rule:42} {scope}: {rec.title}")
        for error in outcome.errors:
            self.stderr.write(error)
        self.stdout.write(
            f"{outcome.variants} variants, {outcome.findings} findings "
            f"({outcome.created} new, {outcome.resolved} resolved), {len(outcome.errors)} rule errors"
        )
