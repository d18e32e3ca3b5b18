"""Celery tasks of the dashboard app: thin wrappers around plain functions (see collectors/tasks.py for
collection)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from dashboard.alerts.delivery import deliver_due
from dashboard.alerts.evaluate import evaluate
from dashboard.insights.engine import recompute
from dashboard.reports import delivery as reviews
from dashboard.reports.weeks import IsoWeek


@shared_task(name="dashboard.tasks.recompute_insights")
def recompute_insights(account_id: str | None = None, region: str | None = None) -> dict:
    """Recompute the recommendations of one account and region (after its metrics were collected), or of
    the whole fleet. Runs queue behind each other on a Postgres lock (see engine.recompute): a run is
    never skipped, so the last one always reads the newest metrics."""
    scopes = {(account_id, region)} if account_id and region else None
    outcome = recompute(timezone.now(), scopes=scopes)
    return {
        "scope": f"{account_id or '*'}:{region or '*'}",
        "variants": outcome.variants,
        "findings": outcome.findings,
        "created": outcome.created,
        "resolved": outcome.resolved,
        "errors": outcome.errors,
    }


@shared_task(name="dashboard.tasks.evaluate_budgets")
def evaluate_budgets() -> dict:
    """Compare every budget rule's scopes with their forecast (after each cost and metrics collection,
    and hourly). Alerts and their notifications are written in one transaction; delivery follows."""
    outcome = evaluate(timezone.now())
    if outcome.queued:
        deliver_notifications.delay()
    return {
        "rules": outcome.rules,
        "evaluated": outcome.evaluated,
        "raised": outcome.raised,
        "recovered": outcome.recovered,
        "queued": outcome.queued,
        "skipped": len(outcome.skipped),
        "errors": outcome.errors,
    }


@shared_task(name="dashboard.tasks.deliver_notifications")
def deliver_notifications() -> dict:
    """Send every due message of the outbox. Safe to run twice at once: each row is claimed by one
    worker with a conditional update before it is sent."""
    return deliver_due()  # each claim stamped with the time it is made


@shared_task(name="dashboard.tasks.send_weekly_reviews")
def send_weekly_reviews(week: str | None = None) -> dict:
    """Email and post the weekly FinOps review of `week` ("2026-W47"; default the last complete week) to
    every team's channels and the FinOps recipients. Safe to run twice, or twice at once: each recipient's
    row of the outbox is claimed with a conditional update before it is sent."""
    return reviews.send_weekly_reviews(IsoWeek.parse(week) if week else None)


@shared_task(name="dashboard.tasks.retry_weekly_reviews")
def retry_weekly_reviews() -> dict:
    """Hourly: send again the reviews a transient failure (or a worker that died) left pending."""
    return reviews.retry_weekly_reviews()
