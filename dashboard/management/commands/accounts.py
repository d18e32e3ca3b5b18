"""manage.py accounts: list, add, update, enable, disable or remove the AWS accounts to monitor."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dashboard.models import AwsAccount


class Command(BaseCommand):
    help = "Manage the AWS accounts the collectors read."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="show configured accounts")
        for name in ("add", "update"):
            p = sub.add_parser(name, help=f"{name} an account")
            p.add_argument("account_id")
            p.add_argument("--label")
            p.add_argument("--role-arn", help="role to assume into the account; omit for ambient credentials")
            p.add_argument("--external-id")
            p.add_argument("--regions", help="comma-separated, e.g. us-east-1,eu-west-1")
            p.add_argument(
                "--cost-payer",
                help="account id of the organization's payer whose Cost Explorer reads this account's costs "
                "(with its other members, in one set of requests); '' = read with this account's own role",
            )
        for name in ("enable", "disable", "remove"):
            sub.add_parser(name).add_argument("account_id")

    def handle(self, *args, action, **opts):
        if action == "list":
            for a in AwsAccount.objects.select_related("cost_payer"):
                state = "enabled" if a.enabled else "disabled"
                role = a.role_arn or "(ambient credentials)"
                payer = f"  costs via {a.cost_payer.account_id}" if a.cost_payer else ""
                self.stdout.write(
                    f"{a.account_id}  {a.label or '-'}  {','.join(a.regions)}  {role}  {state}{payer}"
                )
            return
        account_id = opts["account_id"]
        if action == "add":
            if AwsAccount.objects.filter(account_id=account_id).exists():
                raise CommandError(f"account {account_id} already exists (use update)")
            account = AwsAccount(account_id=account_id, regions=["us-east-1"])
        else:
            try:
                account = AwsAccount.objects.get(account_id=account_id)
            except AwsAccount.DoesNotExist:
                raise CommandError(f"no account {account_id}") from None
        if action == "remove":
            if account.endpoints.exists():
                raise CommandError(f"account {account_id} has endpoints on record: disable it instead")
            account.delete()
            self.stdout.write(f"removed {account_id}")
            return
        if action in ("enable", "disable"):
            account.enabled = action == "enable"
            account.save(update_fields=["enabled"])
            self.stdout.write(f"{action}d {account_id}")
            members = sorted(account.cost_members.filter(enabled=True).values_list("account_id", flat=True))
            if members and action == "disable":
                self.stdout.write(
                    f"its members {', '.join(members)} now read their own costs, with their own roles "
                    "(Cost Explorer access and resource-level data needed in each)"
                )
            return
        for field in ("label", "role_arn", "external_id"):
            if opts.get(field) is not None:
                setattr(account, field, opts[field])
        if opts.get("cost_payer") is not None:
            payer_id = opts["cost_payer"].strip()
            account.cost_payer = None
            if payer_id:
                account.cost_payer = AwsAccount.objects.filter(account_id=payer_id).first()
                if account.cost_payer is None:
                    raise CommandError(f"--cost-payer {payer_id}: no such account (add it first)")
        if opts.get("regions") is not None:
            account.regions = [r.strip() for r in opts["regions"].split(",") if r.strip()]
        try:
            account.full_clean()
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        account.save()
        self.stdout.write(f"{action}ed {account}" if action == "add" else f"updated {account}")
