"""manage.py runstack: the whole product in one terminal: web, Celery worker and Celery beat.

Settings have already started the embedded PostgreSQL and Redis in this process when DATABASE_URL /
REDIS_URL are unset; the children get explicit URLs, so they attach instead of starting their own. One
Ctrl-C (or SIGTERM) stops the children, then this process stops the embedded servers on exit.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from dashboard import embedded
from dashboard.models import AwsAccount, Team

STOP_GRACE_SECONDS = 15
SIMULATED_HISTORY_DAYS = 14


def process_commands(bind: str, web_workers: int, worker_concurrency: int, var: str) -> dict[str, list[str]]:
    """The processes the product runs; docker-compose.yml runs the same (a test compares them)."""
    python = sys.executable
    return {
        "web": [
            python, "-m", "gunicorn", "dashboard.wsgi:application", "--bind", bind,
            "--workers", str(web_workers), "--access-logfile", "-", "--graceful-timeout", "10",
        ],
        "worker": [
            python, "-m", "celery", "-A", "dashboard", "worker", "--loglevel", "INFO",
            "--concurrency", str(worker_concurrency), "--hostname", "worker@%h",
        ],
        "beat": [
            python, "-m", "celery", "-A", "dashboard", "beat", "--loglevel", "INFO",
            "--schedule", os.path.join(var, "celerybeat-schedule"),
        ],
    }  # fmt: skip


def history_chains(accounts: list[AwsAccount]):
    """The first collection of a simulated fleet: one Celery chain per account whose costs are read (an
    organization's payer with its members, or an account on its own): the inventory of every account and
    region it covers, then their SIMULATED_HISTORY_DAYS of metrics, then one cost run, last because its
    estimates read the metrics (forecasts and budget alerts follow it)."""
    from celery import chain

    from collectors.runtime import cost_covered, cost_readers
    from collectors.tasks import collect_costs_task, collect_inventory_task, collect_metrics_task

    chosen = {a.pk for a in accounts}
    chains = []
    for reader in cost_readers(accounts):
        covered = [a for a in cost_covered(reader) if a.pk in chosen]
        scopes = [(a.pk, region) for a in covered for region in a.regions]
        chains.append(
            chain(
                *(collect_inventory_task.si(pk, region) for pk, region in scopes),
                *(collect_metrics_task.si(pk, region, SIMULATED_HISTORY_DAYS * 24) for pk, region in scopes),
                collect_costs_task.si(reader.pk),
            )
        )
    return chains


class Command(BaseCommand):
    help = "Run web, Celery worker and Celery beat together (embedded Postgres/Redis unless URLs are set)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address for the web server")
        parser.add_argument(
            "--simulate",
            nargs="?",
            const="seed=7",
            default=None,
            help="use the simulated AWS account (optionally a spec such as seed=7,endpoints=40)",
        )
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=2)

    def handle(self, *args, bind, simulate, web_workers, worker_concurrency, **options):
        env = os.environ.copy()
        env["DATABASE_URL"] = settings.DATABASE_URL
        env["REDIS_URL"] = settings.REDIS_URL
        env["PYTHONUNBUFFERED"] = "1"
        if simulate:
            env["AWS_SIMULATOR"] = simulate
            settings.AWS_SIMULATOR = simulate  # for the account seeding below, in this process

        call_command("migrate", interactive=False, verbosity=0)
        self._first_run_admin()
        if simulate:
            self._seed_simulated_accounts(simulate)

        commands = process_commands(bind, web_workers, worker_concurrency, str(settings.VAR_DIR))
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, cmd in commands.items():
                # The commands are fixed lists built above, never shell strings from input.
                children[name] = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603
            self.stdout.write(
                f"running: web on http://{bind}/  worker  beat  "
                f"(database {'embedded' if not os.environ.get('DATABASE_URL') else 'external'}, "
                f"redis {'embedded' if not os.environ.get('REDIS_URL') else 'external'}, "
                f"AWS {'simulated: ' + simulate if simulate else 'real'}). Ctrl-C stops everything."
            )
            self._kick_off_collection(history=bool(simulate))
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(f"{name} exited with code {child.returncode}; stopping the rest")
                time.sleep(0.5)
        finally:
            self._stop(children)
        self.stdout.write("stopped.")

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        # The embedded Redis stops at this process's exit if no client is left: give it time to see the
        # children's connections closed (it counts them once; under load it once still listed one).
        embedded.wait_for_children_at_exit()

    def _kick_off_collection(self, *, history: bool) -> None:
        """Collect once at start-up rather than waiting for beat's first tick. A simulated fleet seen for
        the first time also gets SIMULATED_HISTORY_DAYS of metrics, then its costs, so charts, recommendations
        and budget alerts (which need days of data) show at once instead of after days."""
        from collectors.runtime import enabled_accounts
        from collectors.tasks import collect_all_inventory
        from dashboard.models import MetricCursor

        if not history or MetricCursor.objects.exists():
            collect_all_inventory.delay()
            return
        for steps in history_chains(enabled_accounts()):
            steps.delay()

    def _first_run_admin(self) -> None:
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        path = settings.VAR_DIR / "admin-password"
        path.write_text(password + "\n", encoding="utf-8")
        path.chmod(0o600)
        self.stdout.write(f"created superuser 'admin'; its password is in {path}")

    def _seed_simulated_accounts(self, spec: str) -> None:
        """With no accounts configured, register the simulator's accounts and teams, as a user would."""
        from collectors.runtime import simulator_for

        sim = simulator_for(spec)
        if not AwsAccount.objects.exists():
            payer, *members = [
                AwsAccount.objects.create(
                    account_id=acct.account_id,
                    label=acct.label,
                    role_arn=acct.role_arn or "",
                    regions=list(acct.regions),
                )
                for acct in sim.accounts
            ]
            # The simulator's first account is its organization's payer: it sees every other account's
            # costs, with the resource-level data only it has. The others read theirs through it.
            for member in members:
                member.cost_payer = payer
                member.full_clean()
                member.save(update_fields=["cost_payer"])
        if not Team.objects.exists():
            for value in sorted({e.tags["team"] for e in sim.fleet.endpoints if "team" in e.tags}):
                Team.objects.create(
                    name=value.upper() if len(value) <= 3 else value.title(),
                    slug=slugify(value),
                    tag_values=[value],
                )
