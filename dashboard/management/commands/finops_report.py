"""manage.py finops_report: write the weekly FinOps review of an ISO week to a file, for scripts."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboard.models import Team
from dashboard.reports import formats
from dashboard.reports.review import WeekNotOver, build_review
from dashboard.reports.weeks import IsoWeek

clock = timezone.now  # tests set it


class Command(BaseCommand):
    help = "Write the weekly FinOps review of an ISO week (whole fleet, or one team) as XLSX or a CSV zip."

    def add_arguments(self, parser):
        parser.add_argument("--week", help="ISO week such as 2026-W47 (default: the last complete week)")
        parser.add_argument("--team", help="team slug (default: the whole fleet)")
        parser.add_argument("--format", choices=formats.FORMATS, default="xlsx", dest="fmt")
        parser.add_argument("--out", help="file to write (default: finops-review-<week>-<scope>.<ext> here)")

    def handle(self, *args, week, team, fmt, out, **options):
        now = clock()
        try:
            iso = IsoWeek.parse(week) if week else IsoWeek.last_complete(now)
        except ValueError as e:
            raise CommandError(f"--week: {e}") from None
        scope = None
        if team:
            scope = Team.objects.filter(slug=team).first()
            if scope is None:
                known = ", ".join(Team.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"--team: no team {team!r} (teams: {known})")
        try:
            review = build_review(iso, team=scope, now=now)
        except WeekNotOver as e:
            raise CommandError(f"--week: {e}") from None
        path = Path(out or formats.filename(review, fmt))
        try:
            path.write_bytes(formats.render(review, fmt))
        except OSError as e:
            raise CommandError(f"--out: cannot write {path}: {e.strerror or e}") from None
        h = review.headline
        self.stdout.write(
            f"{path}: {review.scope_label}, {iso.label}, {h['endpoints']} endpoints, "
            f"spend {h['total']:,.2f} {review.currency} (previous week {h['previous']:,.2f})"
        )
