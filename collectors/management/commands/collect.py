"""manage.py collect: run a collection in the foreground, with the same functions the Celery tasks call."""

from django.core.management.base import BaseCommand, CommandError

from collectors.inventory import collect_inventory
from collectors.runtime import enabled_accounts

COLLECTORS = {"inventory": collect_inventory}
KINDS = list(COLLECTORS)


class Command(BaseCommand):
    help = "Collect from AWS (or the simulator, with AWS_SIMULATOR set) into the database, in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=KINDS, action="append", help="what to collect (repeatable)")
        parser.add_argument(
            "--account", action="append", help="account id(s) to collect; default: all enabled"
        )
        parser.add_argument("--region", action="append", help="region(s); default: each account's regions")

    def handle(self, *args, only=None, account=None, region=None, **options):
        accounts = enabled_accounts()
        if account:
            unknown = set(account) - {a.account_id for a in accounts}
            if unknown:
                raise CommandError(f"not a configured, enabled account: {', '.join(sorted(unknown))}")
            accounts = [a for a in accounts if a.account_id in account]
        failed = 0
        for acct in accounts:
            for reg in region or acct.regions:
                for kind in only or KINDS:
                    run = COLLECTORS[kind](acct, reg)
                    line = (
                        f"{kind} {acct.account_id}/{reg}: {run.status}, "
                        f"{run.stats.get('endpoints', 0)} endpoints, calls {run.api_calls}"
                    )
                    self.stdout.write(line)
                    for error in run.errors:
                        self.stderr.write(f"  error: {error}")
                    failed += run.status == "failed"
        if failed:
            raise CommandError(f"{failed} collection(s) failed")
