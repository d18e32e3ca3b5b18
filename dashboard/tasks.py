"""Celery tasks of the dashboard app: thin wrappers around plain functions (see collectors/tasks.py for
collection)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from dashboard.alerts.delivery import deliver_due
from dashboard.alerts.evaluate import evaluate
from dashboard.insights.engine import recompute


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
