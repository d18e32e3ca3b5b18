"""Delivery: the outbox consumer. Each due `Notification` is claimed with a conditional update, so two
workers (or a task retried by Celery) never send it twice; the send goes through the channel's
transport, every attempt is recorded, and a failure is retried with backoff until it succeeds, fails
for good, or runs out of attempts.

Delivery is at least once: a worker that dies after the send but before recording it leaves a row in
"sending", which is sent again once its lease (ALERT_CLAIM_LEASE_SECONDS) has passed."""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dashboard.alerts import messages
from dashboard.alerts.transports import TransportError, transport_for
from dashboard.crypto import SecretUnreadable
from dashboard.models import DeliveryAttempt, Notification, NotificationChannel

log = logging.getLogger(__name__)

PENDING, SENDING = Notification.Status.PENDING, Notification.Status.SENDING
SENT, FAILED = Notification.Status.SENT, Notification.Status.FAILED
OUTCOMES = ("sent", "retrying", "failed", "skipped")


def deliver_due(now: datetime | None = None, limit: int = 100) -> dict:
    """Re-queue abandoned claims, then send up to `limit` due messages. Returns counts per outcome."""
    # Each claim is stamped with the time it is made (not the batch's start), so a long batch can never
    # make a claim look older than its lease to another worker; tests pass `now` to drive the clock.
    fixed = now
    now = now or timezone.now()
    stats = dict.fromkeys(OUTCOMES, 0) | {"requeued": requeue_stale(now)}
    # A disabled channel's messages wait: they go out if someone fixes and re-enables the channel.
    due = Notification.objects.filter(status=PENDING, next_attempt_at__lte=now, channel__enabled=True)
    for pk in list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]):
        stats[deliver_one(pk, now=fixed)] += 1
    return stats


def deliver_one(notification_id: int, now: datetime | None = None) -> str:
    """Try to send one message if it is due; returns "sent", "retrying", "failed" or "skipped" (not
    due, not pending, its channel disabled, or another worker claimed it first)."""
    now = now or timezone.now()
    state = (
        Notification.objects.filter(pk=notification_id).values("status", "event", "channel__enabled").first()
    )
    if state is None or state["status"] != PENDING:
        return "skipped"
    # A test message is an explicit request (often to check a channel before enabling it again).
    if not state["channel__enabled"] and state["event"] != Notification.Event.TEST:
        return "skipped"
    token = uuid.uuid4()
    claimed = Notification.objects.filter(
        pk=notification_id, status=PENDING, next_attempt_at__lte=now
    ).update(status=SENDING, claim=token, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return "skipped"
    row = Notification.objects.select_related("channel", "alert", "requested_by").get(pk=notification_id)
    return _send(row, token, now)


def send_test(channel: NotificationChannel, user=None, now: datetime | None = None) -> Notification:
    """Queue a test message to `channel` and try it once now. The returned row says what happened; a
    transient failure stays in the outbox and is retried like any other message."""
    now = now or timezone.now()
    row = Notification.objects.create(
        alert=None, channel=channel, event=Notification.Event.TEST, next_attempt_at=now, created_at=now,
        requested_by=user,
    )  # fmt: skip
    deliver_one(row.pk, now=now)
    row.refresh_from_db()
    return row


def requeue_stale(now: datetime) -> int:
    """Rows left in "sending" longer than the lease: the worker died mid-send. Back to pending (or
    failed, out of attempts), with the interruption recorded as an attempt."""
    lease = settings.ALERT_CLAIM_LEASE_SECONDS
    stale = Notification.objects.filter(
        Q(claimed_at__lt=now - timedelta(seconds=lease)) | Q(claimed_at__isnull=True), status=SENDING
    ).values_list("pk", "claim", "claimed_at", "attempts")
    error = f"interrupted: no outcome recorded within {lease}s of the claim (the worker stopped mid-send)"
    count = 0
    for pk, claim, claimed_at, attempts in stale:
        give_up = attempts >= settings.ALERT_MAX_ATTEMPTS
        with transaction.atomic():
            won = Notification.objects.filter(pk=pk, status=SENDING, claim=claim).update(
                status=FAILED if give_up else PENDING, claim=None, claimed_at=None, next_attempt_at=now,
                last_error=f"gave up after {attempts} attempts: {error}" if give_up else error,
            )  # fmt: skip
            if won:
                DeliveryAttempt.objects.create(
                    notification_id=pk, started_at=claimed_at or now, finished_at=now, ok=False, error=error
                )
        if won:
            count += 1
            log.warning("notification %s: %s; %s", pk, error, "failed" if give_up else "re-queued")
    return count


def _send(row: Notification, token: uuid.UUID, now: datetime) -> str:
    channel = row.channel
    started = time.monotonic()
    error: TransportError | None = None
    result = None
    try:
        result = transport_for(channel).notify(messages.for_notification(row))
    except TransportError as exc:
        error = exc
    except Exception as exc:  # a bug or an unforeseen library error: retried, and logged in full
        error = TransportError(f"unexpected error: {type(exc).__name__}: {exc}")
        log.error(
            "notification %s: unexpected error\n%s",
            row.pk,
            scrub("".join(traceback.format_exception(exc)), channel),
        )
    finished = now + timedelta(seconds=time.monotonic() - started)
    text = scrub(str(error), channel) if error else ""
    fields, outcome = _outcome(row.attempts, error, text, now, finished)
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            notification=row, started_at=now, finished_at=finished, ok=error is None,
            permanent=bool(error and error.permanent), error=text,
            status_code=error.status_code if error else getattr(result, "status_code", None),
        )  # fmt: skip
        # Only the claim's owner records the outcome: if the lease ran out and the row was re-queued
        # (and maybe sent by another worker), this late result must not overwrite it.
        recorded = Notification.objects.filter(pk=row.pk, status=SENDING, claim=token).update(**fields)
    if error is not None and error.disable_channel:
        reason = f"disabled by delivery on {now:%Y-%m-%d %H:%M} UTC: {text}"
        NotificationChannel.objects.filter(pk=channel.pk, enabled=True).update(
            enabled=False, disabled_reason=reason
        )
    context = (row.pk, row.event, channel.name, channel.kind, row.attempts)
    if not recorded:
        log.warning(
            "notification %s (%s) to %r [%s] attempt %d: outcome not recorded, claim expired", *context
        )
        return "skipped"
    if error is None:
        log.info("notification %s (%s) to %r [%s] attempt %d: sent", *context)
    else:
        retry = f", retry at {fields['next_attempt_at']:%Y-%m-%d %H:%M:%S}" if outcome == "retrying" else ""
        disabled = ", channel disabled" if error.disable_channel else ""
        log.warning(
            "notification %s (%s) to %r [%s] attempt %d: %s%s%s: %s", *context, outcome, retry, disabled, text
        )
    return outcome


def _outcome(
    attempt: int, error: TransportError | None, text: str, now: datetime, answered: datetime
) -> tuple[dict, str]:
    """`now` is when the attempt was claimed, `answered` when its answer (or timeout) came."""
    if error is None:
        return {"status": SENT, "sent_at": now, "last_error": ""}, "sent"
    if error.permanent:
        return {"status": FAILED, "last_error": text}, "failed"
    if attempt >= settings.ALERT_MAX_ATTEMPTS:
        return {"status": FAILED, "last_error": f"gave up after {attempt} attempts: {text}"}, "failed"
    # Retry-After counts from the answer (RFC 9110 10.2.3), which a slow server gives well after the
    # claim; the backoff counts from the claim.
    asked = answered + timedelta(seconds=error.retry_after or 0.0)
    return {
        "status": PENDING, "claim": None, "claimed_at": None, "last_error": text,
        "next_attempt_at": max(now + timedelta(seconds=backoff(attempt)), asked),
    }, "retrying"  # fmt: skip


def backoff(attempt: int) -> float:
    """Seconds before the next try after `attempt` (1-based) failed: doubling from the base, capped. The
    server's Retry-After, when longer, wins (see _outcome)."""
    return min(settings.ALERT_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.ALERT_RETRY_MAX_SECONDS)


def secrets_of(channel: NotificationChannel | None) -> list[str]:
    """Strings that must never reach an error text or a log line: the webhook URL and its path (the
    secret part), the SMTP password."""
    found = [settings.EMAIL_HOST_PASSWORD]
    if channel is not None and channel.secret:
        try:
            url = channel.webhook_url
        except SecretUnreadable:
            url = ""
        found += [url, urlsplit(url).path]
    return sorted((s for s in found if s and len(s) >= 4), key=len, reverse=True)


def scrub(text: str, channel: NotificationChannel | None) -> str:
    """`text` with every secret of `channel` (and the SMTP password) replaced by the channel's hint."""
    hint = (channel.secret_hint if channel is not None else "") or "[secret]"
    for secret in secrets_of(channel):
        text = text.replace(secret, hint)
    return text
