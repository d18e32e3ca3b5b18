"""The weekly FinOps review, sent once a week: each team's review by email (the export attached) to the
addresses of its enabled email channels and as a Slack summary to its Slack channels; the whole fleet's
to settings.FINOPS_REPORT_RECIPIENTS, the FinOps email channels (no team) and the FinOps Slack channels.

It is an outbox, like alert delivery (dashboard/alerts/delivery.py): a run first inserts one
`ReportDelivery` per week, scope, kind and recipient (ignoring the rows already there), then claims each
pending row with a conditional update before sending it, so the task run twice, retried by Celery or run
by two workers at once sends each recipient the week's review once. Every recipient gets a message of
their own, so one refused address does not hold back the others. A transient failure leaves the row
pending for the hourly retry run (`retry_weekly_reviews`), up to FINOPS_REPORT_MAX_ATTEMPTS attempts; a
permanent one (SMTP 5xx, a dead webhook) fails the row with the error kept.

A review is built once per run and scope, and only when one of its rows was claimed, so a run with
nothing left to send builds nothing. A retry builds it again: the retried message carries the figures as
they are then (late Cost Explorer data included), under the same week."""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import groupby

from django.conf import settings
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from dashboard.alerts.delivery import scrub
from dashboard.alerts.messages import Message, block_button, block_mrkdwn, block_plain, slack_escape
from dashboard.alerts.transports import EmailTransport, SlackTransport, TransportError
from dashboard.models import NotificationChannel, ReportDelivery, Team
from dashboard.models.reports import FLEET, scope_key
from dashboard.reports import formats
from dashboard.reports.review import Review, build_review
from dashboard.reports.weeks import IsoWeek
from dashboard.tables.base import UNKNOWN, money

log = logging.getLogger(__name__)

PENDING, SENDING = ReportDelivery.Status.PENDING, ReportDelivery.Status.SENDING
SENT, FAILED = ReportDelivery.Status.SENT, ReportDelivery.Status.FAILED
EMAIL, SLACK = ReportDelivery.Kind.EMAIL, ReportDelivery.Kind.SLACK
OUTCOMES = ("sent", "retrying", "failed", "skipped")
FLEET_LABEL = "Whole fleet"


@dataclass
class Audience:
    """Who receives one scope's review."""

    team: Team | None
    emails: list[str] = field(default_factory=list)
    slack: list[NotificationChannel] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.team.name if self.team else FLEET_LABEL

    def add_email(self, address: str) -> None:
        # Domains are case-insensitive and no mail server we know treats local parts otherwise: one
        # address listed twice (or in two channels) gets one message.
        address = address.strip().lower()
        if address and address not in self.emails:
            self.emails.append(address)


@dataclass(frozen=True)
class ReviewMessage(Message):
    """A Message (what the transports send) that also carries the export, for the email transport."""

    attachments: tuple[tuple[str, bytes, str], ...] = ()


def audiences() -> list[Audience]:
    """The fleet (when it has recipients) and every team with an enabled email or Slack channel; a team
    with neither gets no review, and its review is not built."""
    fleet = Audience(team=None)
    for address in settings.FINOPS_REPORT_RECIPIENTS:
        fleet.add_email(address)
    teams: dict[int, Audience] = {}
    channels = NotificationChannel.objects.filter(enabled=True).select_related("team").order_by("pk")
    for channel in channels:
        audience = (
            fleet if channel.team is None else teams.setdefault(channel.team_id, Audience(channel.team))
        )
        if channel.kind == NotificationChannel.Kind.EMAIL:
            for address in channel.email_to:
                audience.add_email(address)
        elif channel.kind == NotificationChannel.Kind.SLACK:
            audience.slack.append(channel)
    found = [fleet, *sorted(teams.values(), key=lambda a: a.team.name)]
    return [a for a in found if a.emails or a.slack]


def send_weekly_reviews(week: IsoWeek | None = None, *, now: datetime | None = None) -> dict:
    """Queue `week`'s review (default: the last complete week at `now`) for every recipient who has not
    had it, then send whatever of that week is pending. Returns the counts per outcome."""
    # As in alert delivery, each claim is stamped when it is made unless a test fixes the clock.
    fixed = now
    now = now or timezone.now()
    week = week or IsoWeek.last_complete(now)
    if not week.is_over(now):
        raise ValueError(f"week {week.label} has not ended yet: its review cannot be sent before {week.end}")
    found = audiences()
    queued = queue(week, found, now)
    stats = {"week": week.label, "scopes": len(found), "queued": queued}
    stats |= dict.fromkeys(OUTCOMES, 0) | {"requeued": requeue_stale(now, week=week.label)}
    _deliver(ReportDelivery.objects.filter(week=week.label), stats, fixed)
    return stats


def retry_weekly_reviews(*, now: datetime | None = None) -> dict:
    """Send again what is still pending, whatever its week (a transient failure of an earlier run, a
    worker that died mid-send); queues nothing new, so it may run hourly."""
    fixed = now
    now = now or timezone.now()
    stats = dict.fromkeys(OUTCOMES, 0) | {"requeued": requeue_stale(now)}
    _deliver(ReportDelivery.objects.all(), stats, fixed)
    return stats


def queue(week: IsoWeek, found: list[Audience], now: datetime) -> int:
    """Insert a pending row per scope, kind and recipient; rows already there (sent, failed or pending)
    are left as they are. Returns how many rows were new."""
    rows = []
    for audience in found:
        common = {
            "week": week.label, "scope": scope_key(audience.team), "scope_label": audience.label,
            "team": audience.team, "created_at": now,
        }  # fmt: skip
        rows += [ReportDelivery(kind=EMAIL, recipient=address, **common) for address in audience.emails]
        rows += [
            ReportDelivery(kind=SLACK, recipient=str(channel.pk), channel=channel, **common)
            for channel in audience.slack
        ]
    before = ReportDelivery.objects.filter(week=week.label).count()
    ReportDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # Only a count for the log: a concurrent run may have inserted some of them.
    return max(0, ReportDelivery.objects.filter(week=week.label).count() - before)


def requeue_stale(now: datetime, week: str | None = None) -> int:
    """Rows left in "sending" longer than ALERT_CLAIM_LEASE_SECONDS: the worker died mid-send. Back to
    pending (or failed, out of attempts), so the review may reach that recipient twice but is not lost."""
    lease = settings.ALERT_CLAIM_LEASE_SECONDS
    stale = ReportDelivery.objects.filter(
        Q(claimed_at__lt=now - timedelta(seconds=lease)) | Q(claimed_at__isnull=True), status=SENDING
    )
    if week is not None:
        stale = stale.filter(week=week)
    error = f"interrupted: no outcome recorded within {lease}s of the claim (the worker stopped mid-send)"
    count = 0
    for pk, claim, attempts in stale.values_list("pk", "claim", "attempts"):
        give_up = attempts >= settings.FINOPS_REPORT_MAX_ATTEMPTS
        count += ReportDelivery.objects.filter(pk=pk, status=SENDING, claim=claim).update(
            status=FAILED if give_up else PENDING, claim=None, claimed_at=None,
            last_error=f"gave up after {attempts} attempts: {error}" if give_up else error,
        )  # fmt: skip
    return count


def _deliver(rows, stats: dict, fixed: datetime | None) -> None:
    pending = rows.filter(status=PENDING).order_by("week", "scope", "kind", "recipient", "pk")
    listed = pending.values_list("pk", "week", "scope")
    for (week, _scope), group in groupby(listed, key=lambda r: (r[1], r[2])):
        scope = _Scope(IsoWeek.parse(week))
        for pk, _, _ in group:
            stats[_deliver_one(pk, scope, fixed)] += 1


def _deliver_one(pk: int, scope: _Scope, fixed: datetime | None) -> str:
    now = fixed or timezone.now()
    token = uuid.uuid4()
    claimed = ReportDelivery.objects.filter(pk=pk, status=PENDING).update(
        status=SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed != 1:  # sent, failed or claimed by another worker since the list was read
        return "skipped"
    row = ReportDelivery.objects.select_related("team", "channel").get(pk=pk)
    started = time.monotonic()
    error: TransportError | None = None
    try:
        if row.kind == EMAIL:
            message = scope.messages(row, now).email
            EmailTransport(_Addressee(row.scope_label, [row.recipient])).notify(message)
        else:
            transport = _slack_transport(row)
            transport.notify(scope.messages(row, now).slack)
    except TransportError as exc:
        error = exc
    except Exception as exc:  # a bug, or the review failing to build: retried, logged in full
        error = TransportError(f"unexpected error: {type(exc).__name__}: {exc}")
        log.error(
            "report delivery %s: unexpected error\n%s",
            pk,
            _scrub("".join(traceback.format_exception(exc)), row),
        )
    text = _scrub(str(error), row) if error else ""
    fields, outcome = _outcome(row.attempts, error, text, now)
    # Only the claim's owner records the outcome: after its lease ran out the row may have been re-queued.
    recorded = ReportDelivery.objects.filter(pk=pk, status=SENDING, claim=token).update(**fields)
    if error is not None and error.disable_channel and row.channel_id:
        reason = f"disabled by the weekly review's delivery on {now:%Y-%m-%d %H:%M} UTC: {text}"
        NotificationChannel.objects.filter(pk=row.channel_id, enabled=True).update(
            enabled=False, disabled_reason=reason
        )
    context = (pk, row.week, row.scope_label, row.kind, row.attempts, time.monotonic() - started)
    if not recorded:
        log.warning("weekly review %s (%s, %s) [%s] attempt %d (%.1fs): claim expired", *context)
        return "skipped"
    if error is None:
        log.info("weekly review %s (%s, %s) [%s] attempt %d (%.1fs): sent", *context)
    else:
        log.warning("weekly review %s (%s, %s) [%s] attempt %d (%.1fs): %s: %s", *context, outcome, text)
    return outcome


def _outcome(attempt: int, error: TransportError | None, text: str, now: datetime) -> tuple[dict, str]:
    if error is None:
        return {"status": SENT, "sent_at": now, "last_error": ""}, "sent"
    if error.permanent:
        return {"status": FAILED, "last_error": text}, "failed"
    if attempt >= settings.FINOPS_REPORT_MAX_ATTEMPTS:
        return {"status": FAILED, "last_error": f"gave up after {attempt} attempts: {text}"}, "failed"
    # Retry-After is not honoured to the second: the next try is the hourly retry run's.
    return {"status": PENDING, "claim": None, "claimed_at": None, "last_error": text}, "retrying"


@dataclass(frozen=True)
class _Addressee:
    """What EmailTransport reads of a channel: a name for its errors and the recipients."""

    name: str
    email_to: list[str]


def _slack_transport(row: ReportDelivery) -> SlackTransport:
    channel = row.channel
    if channel is None:
        raise TransportError("the Slack channel was deleted before the review was sent", permanent=True)
    if not channel.enabled:
        raise TransportError(f"the Slack channel {channel.name!r} was disabled before the review was sent",
                             permanent=True)  # fmt: skip
    return SlackTransport(channel)


def _scrub(text: str, row: ReportDelivery) -> str:
    """Keep the SMTP password and the Slack webhook URL (its path is the secret) out of errors and logs."""
    return scrub(text, row.channel)


class _Scope:
    """One week's review of one scope: built at most once per run, and only once one of its rows has been
    claimed (a run with nothing left to send builds nothing)."""

    def __init__(self, week: IsoWeek):
        self.week = week
        self._built: _Messages | Exception | None = None

    def messages(self, row: ReportDelivery, now: datetime) -> _Messages:
        if row.scope != FLEET and row.team_id is None:
            raise TransportError(f"the team {row.scope_label!r} was deleted before its review was sent",
                                 permanent=True)  # fmt: skip
        if self._built is None:
            try:
                self._built = _Messages(build_review(self.week, team=row.team, now=now))
            except Exception as exc:  # each of the scope's rows records the failure; no rebuild per row
                self._built = exc
        if isinstance(self._built, Exception):
            raise self._built
        return self._built


class _Messages:
    def __init__(self, review: Review):
        self.review = review
        self.context = review_context(review)

    @cached_property
    def email(self) -> ReviewMessage:
        fmt = settings.FINOPS_REPORT_FORMAT
        content = formats.render(self.review, fmt)
        name = formats.filename(self.review, fmt)
        context = self.context | {"attachment": name}
        base = "reports/email/weekly"
        subject = " ".join(render_to_string(f"{base}-subject.txt", context).split())
        text = render_to_string(f"{base}-body-text.txt", context).strip() + "\n"
        html = render_to_string(f"{base}-body-html.html", context)
        return ReviewMessage(
            "weekly-review", subject, text, html, {}, context["url"],
            attachments=((name, content, formats.CONTENT_TYPES[fmt]),),
        )  # fmt: skip

    @cached_property
    def slack(self) -> Message:
        c = self.context
        subject = f"FinOps review: {c['scope']}, week {c['week']}"
        return Message("weekly-review", subject, "", "", slack_summary(c), c["url"])


# --- what the review says --------------------------------------------------------------------------------
def review_context(review: Review) -> dict:
    """The headline figures as display strings, for the email templates and the Slack summary."""
    h, currency = review.headline, review.currency
    week = review.week
    return {
        "scope": review.scope_label,
        "week": week.label,
        "period": f"{week.start:%Y-%m-%d} to {week.end - timedelta(days=1):%Y-%m-%d}",
        "total": money(h["total"], currency),
        "previous": money(h["previous"], currency),
        "change": signed(h["change"], currency),
        "change_pct": _pct(h["change_pct"], plus=True),
        # A team's review counts only its own endpoints' (tagged) spend.
        "show_untagged": review.team is None,
        "untagged": money(h["untagged"], currency),
        "untagged_share": _pct(h["untagged_share"]),
        "top_movers": [
            {"name": name, "change": signed(change, currency)} for name, change in h["top_movers"]
        ],
        "open_recommendations": h["open_recommendations"],
        "monthly_savings_open": money(h["monthly_savings_open"], currency),
        "alerts_raised": h["alerts_raised"],
        "url": settings.SITE_URL + "/reports/",
    }


def signed(amount, currency: str) -> str:
    if amount is None:
        return UNKNOWN
    return ("+" if amount > 0 else "") + money(amount, currency)


def _pct(ratio: float | None, *, plus: bool = False) -> str:
    """The review's shares and changes are ratios (0.125 is 12.5%); unknown (no previous spend) is blank."""
    if ratio is None:
        return ""
    return f"{ratio * 100:{'+' if plus else ''},.1f}%"


def slack_summary(c: dict) -> dict:
    e = slack_escape
    change = f"{e(c['change'])}" + (f", {e(c['change_pct'])}" if c["change_pct"] else "")
    savings = e(c["monthly_savings_open"])
    fields = [
        block_mrkdwn(f"*Spend*\n{e(c['total'])} ({change} on {e(c['previous'])})"),
        block_mrkdwn(f"*Open recommendations*\n{c['open_recommendations']}, saving {savings}/month"),
        block_mrkdwn(f"*Budget alerts raised*\n{c['alerts_raised']}"),
    ]
    if c["show_untagged"]:
        share = f" ({e(c['untagged_share'])} of the spend)" if c["untagged_share"] else ""
        fields.insert(1, block_mrkdwn(f"*Untagged*\n{e(c['untagged'])}{share}"))
    subject = f"FinOps review: {c['scope']}, week {c['week']}"
    blocks = [
        {"type": "header", "text": block_plain(subject)},
        {"type": "section", "text": block_mrkdwn(f"*{e(c['scope'])}*, {e(c['period'])}"), "fields": fields},
    ]
    if c["top_movers"]:
        lines = [f"• {e(m['change'])}  {e(m['name'])}" for m in c["top_movers"][:10]]
        blocks.append({"type": "section", "text": block_mrkdwn("*Largest changes*\n" + "\n".join(lines))})
    where = "Monday to Sunday, UTC; the full review (XLSX or CSV) is on the reports page"
    blocks.append({"type": "context", "elements": [block_mrkdwn(where)]})
    blocks.append(block_button("Open the reports", c["url"]))
    fallback = f"{e(subject)}: {e(c['total'])} ({change}). <{c['url']}|Open the reports>"
    return {"text": fallback, "blocks": blocks}
