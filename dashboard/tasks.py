"""Celery tasks of the dashboard app: thin wrappers around plain functions (see collectors/tasks.py for
collection)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from collectors.locks import single_flight
from dashboard.insights.engine import recompute

LOCK_SECONDS = 900


@shared_task(name="dashboard.tasks.recompute_insights")
def recompute_insights(account_id: str | None = None, region: str | None = None) -> dict:
    """Recompute the recommendations of one account and region (after its metrics were collected), or
    of the whole fleet. Concurrent runs on one scope would do the same work: the second one skips."""
    scope = f"{account_id or '*'}:{region or '*'}"
    with single_flight(f"insights:{scope}", LOCK_SECONDS) as mine:
        if not mine:
            return {"skipped": f"insights for {scope} are being recomputed"}
        scopes = {(account_id, region)} if account_id and region else None
        outcome = recompute(timezone.now(), scopes=scopes)
    return {
        "scope": scope,
        "variants": outcome.variants,
        "findings": outcome.findings,
        "created": outcome.created,
        "resolved": outcome.resolved,
        "errors": outcome.errors,
    }
