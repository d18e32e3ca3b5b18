"""manage.py collect: run collections in the foreground, with the same functions the Celery tasks call."""

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from collectors.costs import collect_costs
from collectors.inventory import collect_inventory
from collectors.metrics import collect_metrics
from collectors.runtime import cost_readers, enabled_accounts
from dashboard.alerts.evaluate import evaluate
from dashboard.insights.engine import recompute

KINDS = ["inventory", "metrics", "costs"]
UNITS = {"d": "days", "h": "hours"}


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dh])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"--backfill {text!r}: use a number of days or hours, e.g. 90d or 12h")
    value = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if value > timedelta(days=455):
        raise CommandError("--backfill: CloudWatch keeps 455 days at most")
    return value


class Command(BaseCommand):
    help = "Collect from AWS (or the simulator, with AWS_SIMULATOR set) into the database, in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=KINDS, action="append", help="what to collect (repeatable)")
        parser.add_argument("--account", action="append", help="account id(s); default: all enabled")
        parser.add_argument("--region", action="append", help="region(s); default: each account's regions")
        parser.add_argument("--backfill", help="metrics: fetch this much history, e.g. 90d or 12h")
        parser.add_argument("--cost-days", type=int, help="costs: days of Cost Explorer history to read")

    def handle(self, *args, only=None, account=None, region=None, backfill=None, cost_days=None, **options):
        kinds = only or (["metrics"] if backfill else KINDS)
        window = parse_duration(backfill) if backfill else None
        accounts = enabled_accounts()
        if account:
            unknown = set(account) - {a.account_id for a in accounts}
            if unknown:
                raise CommandError(f"not a configured, enabled account: {', '.join(sorted(unknown))}")
            accounts = [a for a in accounts if a.account_id in account]
        runs = []
        for kind in KINDS:
            if kind not in kinds:
                continue
            if kind == "costs":
                # A member is read by its payer's run when the payer is collected too.
                runs += [collect_costs(acct, days=cost_days) for acct in cost_readers(accounts)]
                continue
            for acct in accounts:
                for reg in region or acct.regions:
                    if kind == "inventory":
                        runs.append(collect_inventory(acct, reg))
                    else:
                        runs.append(self._metrics(acct, reg, window))
        for run in runs:
            where = f"{run.account.account_id}/{run.region}" if run.region else run.account.account_id
            self.stdout.write(f"{run.kind} {where}: {run.status}  calls {run.api_calls}  {run.stats}")
            for error in run.errors[:10]:
                self.stderr.write(f"  error: {error}")
        scopes = {(r.account.account_id, r.region) for r in runs if r.kind == "metrics"}
        if scopes:
            # As the Celery metrics task does: recommendations follow the metrics they read.
            outcome = recompute(timezone.now(), scopes=scopes)
            self.stdout.write(
                f"insights: {outcome.findings} findings ({outcome.created} new, {outcome.resolved} resolved)"
            )
        if any(r.kind in ("metrics", "costs") for r in runs):
            # As the Celery tasks do: budgets are evaluated on the new spend; the worker delivers.
            budgets = evaluate(timezone.now())
            self.stdout.write(
                f"budgets: {budgets.evaluated} scopes, {budgets.raised} alerts raised, "
                f"{budgets.recovered} recovered, {budgets.queued} notifications queued"
            )
        failed = sum(r.status == "failed" for r in runs)
        if failed:
            raise CommandError(f"{failed} collection(s) failed")

    def _metrics(self, account, region, window):
        bar = tqdm(desc=f"metrics {account.account_id}/{region}", unit="query", disable=window is None)

        def progress(done, total):
            bar.total = total
            bar.update(done)

        try:
            return collect_metrics(account, region, backfill=window, progress=progress)
        finally:
            bar.close()
