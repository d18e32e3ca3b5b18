"""Recompute recommendations: load evidence, run every rule, store the findings.

Storage is one `INSERT ... ON CONFLICT (key) DO UPDATE` of the figures (never of the status, first_seen_at
or who changed the status), so recomputing twice, or two workers at once, leaves one row per finding and
an accepted or dismissed recommendation stays so. Findings no longer made in the recomputed scope are
marked inactive with the time they stopped. A rule that raises on one variant's evidence is logged with
the variant and skipped; the other rules and variants still run and nothing stored is lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q

from dashboard.insights.evidence import load_evidence, load_prices
from dashboard.insights.model import Finding, Thresholds
from dashboard.insights.quotas import load_quotas
from dashboard.insights.rules import QUOTA_RULES, VARIANT_RULES
from dashboard.insights.rules._common import fresh
from dashboard.models import AwsAccount, Recommendation

log = logging.getLogger(__name__)
LOCK_KEY = 0x1A5_16E5  # pg_advisory_xact_lock key of the insights recomputation

FIGURES = [
    "rule", "endpoint", "variant", "account", "region", "team", "title", "summary", "current", "proposed",
    "evidence", "warnings", "monthly_saving", "currency", "confidence", "window_start", "window_end",
    "computed_at", "active", "resolved_at",
]  # fmt: skip


@dataclass
class Outcome:
    findings: int = 0
    created: int = 0
    resolved: int = 0
    variants: int = 0
    errors: list[str] = field(default_factory=list)
    undecided: set[int] = field(
        default_factory=set
    )  # endpoints whose rows this run neither made nor resolved
    by_rule: dict[str, int] = field(default_factory=dict)


def _json(value):
    """Decimals and datetimes as strings, the way the rules' evidence is documented."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def run_rules(
    evidence, quotas, t: Thresholds, prices, outcome: Outcome, *, variant_rules=None, quota_rules=None
) -> list[tuple[Finding, object]]:
    """(finding, the evidence it came from) for every rule and variant; failures are logged, not raised.
    Variants whose metrics are stale get no verdict at all, and like those a rule failed on, they are
    listed in `outcome.undecided`: their stored recommendations are left as they are."""
    found = []
    for ev in evidence:
        if not fresh(ev, t):
            outcome.undecided.add(ev.endpoint_id)
            continue
        for rule in variant_rules if variant_rules is not None else VARIANT_RULES:
            try:
                found += [(f, ev) for f in rule(ev, t, prices)]
            except Exception as exc:  # a bad figure must not stop the other rules or endpoints
                msg = f"{rule.__name__} failed on {ev.account_id}/{ev.region}/{ev.endpoint_name}/{ev.variant}"
                log.exception(msg)
                outcome.errors.append(f"{msg}: {exc}")
                outcome.undecided.add(ev.endpoint_id)
    for q in quotas:
        for rule in quota_rules if quota_rules is not None else QUOTA_RULES:
            try:
                found += [(f, q) for f in rule(q, t)]
            except Exception as exc:
                msg = f"{rule.__name__} failed on {q.account_id}/{q.region}"
                log.exception(msg)
                outcome.errors.append(f"{msg}: {exc}")
    return found


def recompute(
    now: datetime, *, scopes: set[tuple[str, str]] | None = None, thresholds: Thresholds | None = None
) -> Outcome:
    """Recompute every recommendation of `scopes` ((account id, region) pairs; None = the whole fleet).

    Runs are serialised by a Postgres advisory lock held from reading the evidence to writing the rows:
    a run that read older figures can never overwrite a newer run's, or resolve what it just found. A
    second run waits for the first instead of being dropped, so it reads the newest metrics."""
    t = thresholds or Thresholds.from_settings()
    outcome = Outcome()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        _recompute(now, scopes, t, outcome)
    log.info(
        "insights: %d variants, %d findings (%d new, %d resolved), %d rule errors",
        outcome.variants,
        outcome.findings,
        outcome.created,
        outcome.resolved,
        len(outcome.errors),
    )
    return outcome


def _recompute(now: datetime, scopes, t: Thresholds, outcome: Outcome) -> None:
    prices = load_prices()
    evidence = load_evidence(now, t, prices, scopes=scopes)
    quotas = load_quotas(t, scopes=scopes)
    outcome.variants = len(evidence)
    found = run_rules(evidence, quotas, t, prices, outcome)
    accounts = dict(AwsAccount.objects.values_list("account_id", "pk"))

    rows = {}
    for finding, source in found:
        window_start = getattr(source, "start", now)
        window_end = getattr(source, "end", now)
        rows[finding.key] = Recommendation(
            key=finding.key[:300],
            rule=finding.rule,
            endpoint_id=finding.endpoint_id,
            variant=finding.variant,
            account_id=accounts[finding.account_id],
            region=finding.region,
            team_id=getattr(source, "team_id", None),
            title=finding.title[:300],
            summary=finding.summary,
            current=_json(finding.current),
            proposed=_json(finding.proposed),
            evidence=_json(finding.evidence),
            warnings=_json(list(finding.warnings)),
            monthly_saving=finding.monthly_saving,
            currency=finding.currency,
            confidence=max(0.0, min(1.0, float(finding.confidence))),
            window_start=window_start,
            window_end=window_end,
            computed_at=now,
            active=True,
            resolved_at=None,
            first_seen_at=now,
        )
        outcome.by_rule[finding.rule] = outcome.by_rule.get(finding.rule, 0) + 1
    outcome.findings = len(rows)

    existing = set(Recommendation.objects.filter(key__in=list(rows)).values_list("key", flat=True))
    Recommendation.objects.bulk_create(
        list(rows.values()), update_conflicts=True, unique_fields=["key"], update_fields=FIGURES
    )
    outcome.created = len(set(rows) - existing)
    stale = Recommendation.objects.filter(active=True).exclude(key__in=list(rows))
    stale = stale.exclude(endpoint_id__in=outcome.undecided)
    if scopes is not None:
        match = Q(pk__in=[])
        for account_id, region in scopes:
            match |= Q(account__account_id=account_id, region=region)
        stale = stale.filter(match)
    outcome.resolved = stale.update(active=False, resolved_at=now)
