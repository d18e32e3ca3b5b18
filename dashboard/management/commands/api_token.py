"""manage.py api_token: create, list or revoke the bearer tokens of the JSON API."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.models import ApiToken


def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = "Manage API tokens (a token acts as its user and sees what the user sees)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token and print it (shown this once only)")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", required=True, help="what the token is for, e.g. grafana")
        listing = sub.add_parser("list", help="show tokens (prefixes only: tokens are not stored)")
        listing.add_argument("--user", help="only this user's tokens")
        sub.add_parser("revoke", help="revoke a token").add_argument("prefix", help="e.g. smd_1a2b3c4d")

    def handle(self, *args, action, **opts):
        getattr(self, f"_{action}")(**opts)

    def _create(self, *, user, name, **_):
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user {user!r}") from None
        if not owner.is_active:
            raise CommandError(f"user {user!r} is inactive: its tokens would not work")
        name = name.strip()
        if not name:
            raise CommandError("--name must not be empty")
        row, token = ApiToken.issue(owner, name[:100])
        self.stdout.write(f"created token {row.prefix} ({row.name}) for {owner.username}")
        self.stdout.write("store it now, it is not shown again:")
        self.stdout.write(token)

    def _list(self, *, user=None, **_):
        rows = ApiToken.objects.select_related("user").order_by("user__username", "created_at")
        if user:
            rows = rows.filter(user__username=user)
        for t in rows:
            state = f"revoked {_when(t.revoked_at)}" if t.revoked_at else "active"
            self.stdout.write(
                f"{t.prefix}  {t.user.username}  {t.name}  created {_when(t.created_at)}  "
                f"last used {_when(t.last_used_at)}  {state}"
            )

    def _revoke(self, *, prefix, **_):
        prefix = prefix.strip()
        if not prefix.startswith("smd_"):
            prefix = f"smd_{prefix}"
        try:
            row = ApiToken.objects.get(prefix=prefix[:12])
        except ApiToken.DoesNotExist:
            raise CommandError(f"no token {prefix}") from None
        if row.revoked_at:
            self.stdout.write(f"{row.prefix} was already revoked {_when(row.revoked_at)}")
            return
        ApiToken.objects.filter(pk=row.pk, revoked_at=None).update(revoked_at=timezone.now())
        self.stdout.write(f"revoked {row.prefix} ({row.name}) of {row.user.username}")
