"""The weekly FinOps review's delivery against real peers (aiosmtpd, the HTTPS stand-in for Slack) and the
real Postgres: one email per recipient with the export attached, however often the weekly run happens
(twice in a row, twice at once, through a real Celery worker); refused and transient failures; who gets
which review; the week taken from the clock."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection

from dashboard.models import (
    AwsAccount,
    Endpoint,
    EndpointSummary,
    NotificationChannel,
    ProductionVariant,
    ReportDelivery,
)
from dashboard.reports import delivery
from dashboard.reports.delivery import retry_weekly_reviews, send_weekly_reviews
from dashboard.reports.weeks import IsoWeek
from tests.conftest import NOW
from tests.support.slack import Reply, all_texts, assert_block_kit, trusted_slack
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.django_db

SITE_URL = "https://costs.example.com"
WEEK = IsoWeek(2026, 46)  # the last complete week at NOW (Friday 2026-11-20)
HOUR = timedelta(hours=1)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- peers and data --------------------------------------------------------------------------------------
@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "reports@costs.example.com"
    settings.SITE_URL = SITE_URL
    settings.FINOPS_REPORT_RECIPIENTS = []
    settings.FINOPS_REPORT_FORMAT = "xlsx"
    yield server
    server.stop()


@pytest.fixture
def slack(settings, tmp_path):
    settings.SITE_URL = SITE_URL
    with trusted_slack(settings, tmp_path) as server:
        yield server


def spend(week: IsoWeek, team) -> list[Endpoint]:
    """Two endpoints with a cost every day of `week` and the week before: one of `team` (10 a day, then
    12), one untagged (5 a day both weeks). The fleet spent 119.00 USD in `week` against 105.00."""
    account = AwsAccount.objects.create(account_id="123456789012", regions=["eu-west-1"])
    seen = datetime(week.start.year, week.start.month, week.start.day, tzinfo=UTC) - timedelta(days=60)
    endpoints = []
    for name, owner, before, during in (("search-embed", team, 10, 12), ("orphan", None, 5, 5)):
        endpoint = Endpoint.objects.create(
            account=account, region="eu-west-1", name=name, status="InService", team=owner,
            arn=f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{name}", first_seen=seen, last_seen=seen,
        )  # fmt: skip
        ProductionVariant.objects.create(
            endpoint=endpoint, name="AllTraffic", kind="serverless", memory_mb=2048, max_concurrency=5,
            first_seen=seen, last_seen=seen,
        )  # fmt: skip
        EndpointSummary.objects.bulk_create(
            EndpointSummary(
                endpoint=endpoint, resolution="1d", bucket=_midnight(w.start) + timedelta(days=d),
                invocations=1000.0, cost=Decimal(cost), cost_estimate=Decimal(cost), cost_source="resource",
                cost_estimated=False, currency="USD",
            )
            for w, cost in ((week.previous(), before), (week, during))
            for d in range(7)
        )  # fmt: skip
        endpoints.append(endpoint)
    return endpoints


def _midnight(day) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def email_channel(team, *addresses, **fields) -> NotificationChannel:
    name = f"{team.name if team else 'FinOps'} mail {NotificationChannel.objects.count()}"
    return NotificationChannel.objects.create(name=name, kind="email", team=team, email_to=list(addresses),
                                              **fields)  # fmt: skip


def slack_channel(team, url: str, name: str) -> NotificationChannel:
    channel = NotificationChannel(name=name, kind="slack", team=team)
    channel.set_webhook_url(url)
    channel.save()
    return channel


@pytest.fixture
def audience(smtp, settings, team_search, team_vision):
    """Search has two addresses in two channels (one listed twice); FinOps has a setting and a channel
    that repeats it in other case; Vision has nothing, and a disabled channel is ignored."""
    spend(WEEK, team_search)
    settings.FINOPS_REPORT_RECIPIENTS = ["finops@example.com"]
    email_channel(team_search, "lead@search.example.com", "oncall@search.example.com")
    email_channel(team_search, "oncall@search.example.com")
    email_channel(None, "FinOps@Example.com", "cfo@example.com")
    email_channel(team_vision, "vision@example.com", enabled=False)
    return {
        "fleet": {"cfo@example.com", "finops@example.com"},
        "search": {"lead@search.example.com", "oncall@search.example.com"},
    }


def recipients(smtp: SmtpServer) -> list[str]:
    return sorted(address for _, to in smtp.envelopes for address in to)


def message_to(smtp: SmtpServer, address: str):
    [message] = [m for m in smtp.received if m["To"] == address]
    return message


def attachment(message):
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_content()


def cells(sheet) -> list:
    return [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


def rows() -> dict[tuple[str, str], ReportDelivery]:
    return {(r.scope_label, r.recipient): r for r in ReportDelivery.objects.all()}


# --- delivered once -------------------------------------------------------------------------------------
def test_it_emails_each_recipient_their_review_once_even_when_run_twice(audience, smtp, team_search):
    first = send_weekly_reviews(now=NOW)
    again = send_weekly_reviews(now=NOW + HOUR)

    assert (first["week"], first["scopes"], first["queued"], first["sent"]) == ("2026-W46", 2, 4, 4)
    assert (again["queued"], again["sent"], again["skipped"]) == (0, 0, 0)
    assert recipients(smtp) == sorted(audience["fleet"] | audience["search"])
    assert all(len(to) == 1 for _, to in smtp.envelopes)  # one message per recipient
    for (scope, _), row in rows().items():
        outcome = (row.week, row.status, row.attempts, row.sent_at, row.last_error)
        assert outcome == ("2026-W46", "sent", 1, NOW, "")
        assert row.team == (team_search if scope == "Search" else None)
    assert not ReportDelivery.objects.filter(recipient="vision@example.com").exists()


def test_the_team_email_attaches_its_review_as_xlsx_with_the_headline_in_the_body(audience, smtp):
    send_weekly_reviews(now=NOW)
    message = message_to(smtp, "lead@search.example.com")
    assert (
        message["Subject"]
        == "[FinOps review] Team Search, week 2026-W46: 84.00 USD (+20.0% on the week before)"
    )
    assert message["From"] == "reports@costs.example.com" and message["Auto-Submitted"] == "auto-generated"
    name, kind, content = attachment(message)
    assert (name, kind) == ("finops-review-2026-W46-search.xlsx", XLSX)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    summary = cells(workbook.worksheets[0])
    assert "Team Search" in summary and "2026-W46" in summary
    endpoints = cells(workbook["Endpoints"])
    assert "search-embed" in endpoints and "orphan" not in endpoints  # a team sees its own endpoints
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "84.00 USD" in body and "70.00 USD" in body and "+14.00 USD" in body and "+20.0%" in body
        assert f"{SITE_URL}/reports/" in body and "finops-review-2026-W46-search.xlsx" in body
        assert "Untagged" not in body  # a team's review has no untagged spend to speak of


def test_the_fleet_email_carries_the_whole_fleet_and_its_untagged_spend(audience, smtp):
    send_weekly_reviews(now=NOW)
    message = message_to(smtp, "cfo@example.com")
    assert message["Subject"].startswith("[FinOps review] Whole fleet, week 2026-W46: 119.00 USD (+13.3%")
    name, _, content = attachment(message)
    assert name == "finops-review-2026-W46-fleet.xlsx"
    endpoints = cells(openpyxl.load_workbook(io.BytesIO(content))["Endpoints"])
    assert "search-embed" in endpoints and "orphan" in endpoints
    text = message.get_body(("plain",)).get_content()
    assert "Untagged: 35.00 USD (29.4% of the spend)" in text
    assert "+14.00 USD  search-embed" in text  # the top mover


def test_the_csv_format_attaches_a_zip_of_csvs(audience, smtp, settings):
    settings.FINOPS_REPORT_FORMAT = "csv"
    send_weekly_reviews(now=NOW)
    name, kind, content = attachment(message_to(smtp, "finops@example.com"))
    assert (name, kind) == ("finops-review-2026-W46-fleet.zip", "application/zip")
    assert "summary.csv" in zipfile.ZipFile(io.BytesIO(content)).namelist()


def test_a_review_is_built_once_per_scope_and_not_at_all_when_nothing_is_left(audience, smtp, monkeypatch):
    built = []
    real = delivery.build_review

    def counting(week, *, team=None, now):
        built.append(team.name if team else "fleet")
        return real(week, team=team, now=now)

    monkeypatch.setattr(delivery, "build_review", counting)
    send_weekly_reviews(now=NOW)
    assert sorted(built) == ["Search", "fleet"]  # not per recipient, and not for Vision (no channel)
    send_weekly_reviews(now=NOW + HOUR)
    retry_weekly_reviews(now=NOW + 2 * HOUR)
    assert len(built) == 2


def test_a_team_with_no_enabled_channel_is_skipped(smtp, team_vision):
    email_channel(team_vision, "vision@example.com", enabled=False)
    assert send_weekly_reviews(now=NOW) | {"week": None} == {
        "week": None, "scopes": 0, "queued": 0, "requeued": 0, "sent": 0, "retrying": 0, "failed": 0,
        "skipped": 0,
    }  # fmt: skip
    assert smtp.received == [] and not ReportDelivery.objects.exists()


def test_a_recipient_added_later_in_the_week_gets_the_review_on_a_rerun(audience, smtp, team_search):
    send_weekly_reviews(now=NOW)
    email_channel(team_search, "new@search.example.com")
    assert send_weekly_reviews(now=NOW + HOUR)["sent"] == 1
    assert recipients(smtp).count("new@search.example.com") == 1 and len(smtp.received) == 5


# --- the week --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "now,week",
    [
        (NOW, "2026-W46"),  # a Friday: the week before
        (datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "2026-W47"),  # Monday 07:00, the default schedule
        (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), "2026-W46"),  # Sunday night: W47 is not over
        (datetime(2026, 1, 5, 7, 0, tzinfo=UTC), "2026-W01"),  # week 1 began on 29 December 2025
    ],
)
def test_the_week_defaults_to_the_last_complete_one_at_now(smtp, settings, now, week):
    settings.FINOPS_REPORT_RECIPIENTS = ["finops@example.com"]
    assert send_weekly_reviews(now=now)["week"] == week
    assert ReportDelivery.objects.get().week == week
    assert f"week {week}:" in smtp.received[0]["Subject"]


def test_a_week_that_has_not_ended_is_refused(smtp, settings):
    settings.FINOPS_REPORT_RECIPIENTS = ["finops@example.com"]
    with pytest.raises(ValueError, match="2026-W47 has not ended yet"):
        send_weekly_reviews(IsoWeek(2026, 47), now=NOW)
    assert not ReportDelivery.objects.exists() and smtp.received == []


# --- Slack -----------------------------------------------------------------------------------------------
def test_a_slack_summary_reaches_each_slack_channel_once(smtp, slack, team_search):
    spend(WEEK, team_search)
    team = slack_channel(team_search, slack.url("/services/T1/B1/team"), "#search-costs")
    finops = slack_channel(None, slack.url("/services/T1/B2/finops"), "#finops")
    send_weekly_reviews(now=NOW)
    send_weekly_reviews(now=NOW + HOUR)

    assert sorted(slack.paths) == ["/services/T1/B1/team", "/services/T1/B2/finops"]
    by_path = dict(zip(slack.paths, slack.delivered, strict=True))
    for payload in by_path.values():
        assert_block_kit(payload)
        assert payload["blocks"][-1]["elements"][0]["url"] == f"{SITE_URL}/reports/"
    fleet_text = " ".join(all_texts(by_path["/services/T1/B2/finops"]))
    assert "Whole fleet, week 2026-W46" in fleet_text and "119.00 USD" in fleet_text
    assert "Untagged" in fleet_text and "35.00 USD" in fleet_text and "+14.00 USD" in fleet_text
    team_text = " ".join(all_texts(by_path["/services/T1/B1/team"]))
    assert "Team Search, week 2026-W46" in team_text and "84.00 USD" in team_text
    assert "Untagged" not in team_text
    assert {r.recipient for r in ReportDelivery.objects.filter(status="sent")} == {
        str(team.pk),
        str(finops.pk),
    }
    assert smtp.received == []  # Slack only: no email recipient anywhere


def test_a_dead_slack_webhook_fails_its_row_and_disables_the_channel(smtp, slack, team_search):
    channel = slack_channel(team_search, slack.url(), "#search-costs")
    slack.script(Reply(404, "no_service"))
    assert send_weekly_reviews(now=NOW)["failed"] == 1
    row = ReportDelivery.objects.get()
    assert row.status == "failed" and "HTTP 404" in row.last_error and "no longer exists" in row.last_error
    assert "secretpath" not in row.last_error  # the webhook's path is its secret
    channel.refresh_from_db()
    assert not channel.enabled and "weekly review" in channel.disabled_reason


# --- failures --------------------------------------------------------------------------------------------
def test_a_refused_recipient_is_failed_with_the_error_and_the_others_still_get_it(audience, smtp):
    # Rows go out fleet first, by address: cfo@example.com is the first RCPT the server sees.
    smtp.refuse("550 5.1.1 <cfo@example.com>: no such user", at="RCPT")
    stats = send_weekly_reviews(now=NOW)
    assert (stats["sent"], stats["failed"]) == (3, 1)
    assert recipients(smtp) == sorted((audience["fleet"] | audience["search"]) - {"cfo@example.com"})
    refused = rows()[("Whole fleet", "cfo@example.com")]
    assert refused.status == "failed" and refused.sent_at is None
    assert "550" in refused.last_error and "no such user" in refused.last_error
    # Permanent: neither a rerun nor the retry run tries it again.
    send_weekly_reviews(now=NOW + HOUR)
    retry_weekly_reviews(now=NOW + 2 * HOUR)
    assert len(smtp.received) == 3 and rows()[("Whole fleet", "cfo@example.com")].attempts == 1


def test_a_transient_refusal_is_sent_by_the_next_run(audience, smtp):
    smtp.refuse("451 4.3.0 mailbox busy, try later", at="DATA")
    assert send_weekly_reviews(now=NOW)["retrying"] == 1
    waiting = rows()[("Whole fleet", "cfo@example.com")]
    assert waiting.status == "pending" and "451" in waiting.last_error and waiting.claim is None
    assert len(smtp.received) == 3

    assert retry_weekly_reviews(now=NOW + HOUR) == {
        "requeued": 0, "sent": 1, "retrying": 0, "failed": 0, "skipped": 0,
    }  # fmt: skip
    sent = rows()[("Whole fleet", "cfo@example.com")]
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 2, NOW + HOUR, "")
    assert recipients(smtp) == sorted(audience["fleet"] | audience["search"])  # each once


def test_an_unreachable_smtp_server_leaves_every_row_for_the_next_run(audience, smtp):
    smtp.stop()
    stats = send_weekly_reviews(now=NOW)
    assert (stats["sent"], stats["retrying"]) == (0, 4)
    assert all("unreachable" in r.last_error for r in rows().values())

    smtp.start()  # the same port again
    assert send_weekly_reviews(now=NOW + HOUR)["sent"] == 4  # the weekly run again, or the hourly retry
    assert recipients(smtp) == sorted(audience["fleet"] | audience["search"])


def test_a_transient_failure_gives_up_after_the_last_attempt(smtp, settings):
    settings.FINOPS_REPORT_RECIPIENTS = ["finops@example.com"]
    settings.FINOPS_REPORT_MAX_ATTEMPTS = 2
    smtp.refuse("451 4.3.0 try later", at="DATA", times=5)
    assert send_weekly_reviews(now=NOW)["retrying"] == 1
    assert retry_weekly_reviews(now=NOW + HOUR)["failed"] == 1
    row = ReportDelivery.objects.get()
    assert row.status == "failed" and row.attempts == 2
    assert row.last_error.startswith("gave up after 2 attempts: SMTP 451")
    assert retry_weekly_reviews(now=NOW + 2 * HOUR)["sent"] == 0 and smtp.received == []


def test_a_row_left_sending_by_a_dead_worker_is_sent_after_its_lease(smtp, settings):
    settings.FINOPS_REPORT_RECIPIENTS = ["finops@example.com"]
    send_weekly_reviews(now=NOW)
    # As if a worker claimed the row and died before recording the outcome.
    ReportDelivery.objects.update(status="sending", claimed_at=NOW, sent_at=None)
    assert retry_weekly_reviews(now=NOW + timedelta(seconds=60))["requeued"] == 0
    later = NOW + timedelta(seconds=settings.ALERT_CLAIM_LEASE_SECONDS + 1)
    stats = retry_weekly_reviews(now=later)
    assert (stats["requeued"], stats["sent"]) == (1, 1)
    row = ReportDelivery.objects.get()
    assert (row.status, row.attempts, row.sent_at) == ("sent", 2, later)
    assert len(smtp.received) == 2  # at least once: the dead worker's send may have gone out


def test_a_deleted_team_fails_its_pending_rows(audience, smtp, team_search):
    smtp.stop()
    send_weekly_reviews(now=NOW)
    team_search.delete()
    smtp.start()
    retry_weekly_reviews(now=NOW + HOUR)
    for (scope, _), row in rows().items():
        if scope == "Search":
            assert row.status == "failed" and row.team is None and "was deleted" in row.last_error
        else:
            assert row.status == "sent"


# --- concurrency (real threads, each with its own Postgres connection) ----------------------------------
def in_threads(*calls):
    """Run the calls at the same moment in threads; return their results (re-raising their errors)."""
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            results[i] = call()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_recipient_once(audience, smtp, slack, team_search):
    slack_channel(team_search, slack.url(), "#search-costs")
    results = in_threads(lambda: send_weekly_reviews(now=NOW), lambda: send_weekly_reviews(now=NOW))
    assert sum(r["sent"] for r in results) == 5
    assert sum(r["skipped"] for r in results) + sum(r["sent"] for r in results) >= 5
    assert recipients(smtp) == sorted(audience["fleet"] | audience["search"])
    assert len(slack.received) == 1
    assert set(ReportDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_names_are_escaped_in_html_and_slack(smtp, slack, team_search):
    team_search.name = "R&D <ml>"
    team_search.save()
    email_channel(team_search, "lead@search.example.com")
    slack_channel(team_search, slack.url(), "#search-costs")
    send_weekly_reviews(now=NOW)
    [message] = smtp.received
    assert message["Subject"].startswith("[FinOps review] Team R&D <ml>, week 2026-W46")
    html = message.get_body(("html",)).get_content()
    assert "Team R&amp;D &lt;ml&gt;" in html and "<ml>" not in html
    [payload] = slack.delivered
    assert_block_kit(payload)
    assert "*Team R&amp;D &lt;ml&gt;*" in " ".join(all_texts(payload))


# --- through a real Celery worker ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_weekly_task_on_a_real_worker_sends_one_email_per_recipient_however_often_it_runs(
    tmp_path, team_search
):
    from django.utils import timezone

    from tests.support.worker import celery_worker

    week = IsoWeek.last_complete(timezone.now())  # the worker reads the real clock
    spend(week, team_search)
    email_channel(team_search, "lead@search.example.com")
    server = SmtpServer().start()
    env = {
        "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(server.port), "SITE_URL": SITE_URL,
        "FINOPS_REPORT_RECIPIENTS": "finops@example.com,cfo@example.com",
    }  # fmt: skip
    try:
        with celery_worker(tmp_path, env, "--concurrency", "2") as (client, proc):
            # Twice at once (a duplicated beat tick), then the task for the default week, then the retry.
            racing = [
                client.send_task("dashboard.tasks.send_weekly_reviews", args=[week.label]) for _ in range(2)
            ]
            answers = [r.get(timeout=180) for r in racing]
            again = client.send_task("dashboard.tasks.send_weekly_reviews").get(timeout=180)
            retried = client.send_task("dashboard.tasks.retry_weekly_reviews").get(timeout=180)
            assert proc.poll() is None, "worker died"
    finally:
        server.stop()

    assert sum(a["sent"] for a in answers) == 3 and {a["week"] for a in answers} == {week.label}
    assert (again["week"], again["sent"], retried["sent"]) == (week.label, 0, 0)
    assert recipients(server) == ["cfo@example.com", "finops@example.com", "lead@search.example.com"]
    assert set(ReportDelivery.objects.values_list("week", "status", "attempts")) == {(week.label, "sent", 1)}
    [team_mail] = [m for m in server.received if m["To"] == "lead@search.example.com"]
    _, _, content = attachment(team_mail)
    assert "search-embed" in cells(openpyxl.load_workbook(io.BytesIO(content))["Endpoints"])


# --- settings ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "env,message",
    [
        ({"FINOPS_REPORT_DAY": "monday"}, "FINOPS_REPORT_DAY='monday' is not a weekday (mon, tue,"),
        ({"FINOPS_REPORT_HOUR": "24"}, "FINOPS_REPORT_HOUR=24 is above the maximum 23"),
        ({"FINOPS_REPORT_FORMAT": "pdf"}, "FINOPS_REPORT_FORMAT='pdf' is not xlsx or csv"),
        ({"FINOPS_REPORT_RECIPIENTS": "a@example.com, finops"}, "'finops' is not an email address"),
    ],
)
def test_a_bad_report_setting_stops_startup(env, message):
    from tests.dashboard.test_settings import run_check

    result = run_check(**env)
    assert result.returncode != 0 and message in result.stderr


def test_the_beat_schedule_sends_on_the_configured_day_and_hour():
    import os
    import subprocess
    import sys

    from tests.dashboard.test_settings import ROOT

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "s = settings.CELERY_BEAT_SCHEDULE; w = s['send-weekly-reviews']; r = s['retry-weekly-reviews']; "
        "print(w['task'], sorted(w['schedule'].day_of_week), sorted(w['schedule'].hour), "
        "sorted(w['schedule'].minute), r['task'], len(r['schedule'].hour))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "FINOPS_REPORT_DAY": "FRI",
           "FINOPS_REPORT_HOUR": "18"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    weekly, hourly = "dashboard.tasks.send_weekly_reviews", "dashboard.tasks.retry_weekly_reviews"
    assert result.stdout.split() == [weekly, "[5]", "[18]", "[0]", hourly, "24"], result.stderr


def test_the_weekly_deliveries_are_listed_read_only_in_the_admin(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")
    client.force_login(root)
    assert client.get("/admin/dashboard/reportdelivery/").status_code == 200
    assert client.get("/admin/dashboard/reportdelivery/add/").status_code == 403
