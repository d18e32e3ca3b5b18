"""Which recommendations a user sees and in what order, what the open ones would save, and the serverless
quota usage beside them; shared by the pages and the API.

A member sees their teams' recommendations (`Recommendation.team`, which the engine sets from the
endpoint's team) and the account-wide ones (no endpoint: quota headroom) of the accounts and regions
where they see a live endpoint; a FinOps admin sees all. Every function here is a fixed number of
queries, whatever the number of recommendations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum

from dashboard.insights.model import QuotaEvidence, Thresholds
from dashboard.insights.quotas import load_quotas
from dashboard.models import AwsAccount, Endpoint, Recommendation
from dashboard.models.endpoints import SERVERLESS
from dashboard.services.scoping import is_finops_admin, visible_endpoints, visible_teams

# Largest saving first; an unknown saving (None) after every known one, costs-more included.
RANKING = (F("monthly_saving").desc(nulls_last=True), F("confidence").desc(), "rule", "key")
OPEN = Recommendation.Status.OPEN


def visible_recommendations(user) -> QuerySet[Recommendation]:
    if is_finops_admin(user):
        return Recommendation.objects.all()
    if not user.is_authenticated:
        return Recommendation.objects.none()
    theirs = Endpoint.objects.filter(
        team__members=user, deleted_at=None, account=OuterRef("account"), region=OuterRef("region")
    )
    return Recommendation.objects.filter(Q(team__in=visible_teams(user)) | Q(endpoint=None) & Exists(theirs))


def ranked(recommendations: QuerySet[Recommendation]) -> QuerySet[Recommendation]:
    """With everything a row shows (endpoint, account, team, who changed the status), best first."""
    return recommendations.select_related("endpoint", "account", "team", "status_changed_by").order_by(
        *RANKING
    )


@dataclass(frozen=True)
class OpenSavings:
    """What the open recommendations of a currency add up to, per month."""

    currency: str
    count: int
    saving: Decimal  # sum of the positive savings
    costs_more: Decimal  # sum of the negative ones, as a positive amount
    costs_more_count: int
    unknown: int  # how many have no saving figure

    @property
    def net(self) -> Decimal:
        return self.saving - self.costs_more


def open_savings(recommendations: QuerySet[Recommendation]) -> list[OpenSavings]:
    """Totals of the open ones among `recommendations`, one per currency (one query)."""
    rows = (
        recommendations.filter(status=OPEN)
        .order_by()
        .values("currency")
        .annotate(
            count=Count("pk"),
            saving=Sum("monthly_saving", filter=Q(monthly_saving__gt=0)),
            costs_more=Sum("monthly_saving", filter=Q(monthly_saving__lt=0)),
            costs_more_count=Count("pk", filter=Q(monthly_saving__lt=0)),
            unknown=Count("pk", filter=Q(monthly_saving=None)),
        )
        .order_by("currency")
    )
    zero = Decimal(0)
    return [
        OpenSavings(
            r["currency"], r["count"], r["saving"] or zero, -(r["costs_more"] or zero), r["costs_more_count"],
            r["unknown"],
        )
        for r in rows
    ]  # fmt: skip


# --- serverless quotas ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LargeEndpoint:
    name: str | None  # None: an endpoint of a team the user does not see (its name is not theirs to read)
    max_concurrency: int
    pk: int | None = None


@dataclass(frozen=True)
class QuotaUsage:
    evidence: QuotaEvidence
    account_label: str
    largest: list[LargeEndpoint]
    warn_fraction: float

    @property
    def endpoints_used(self) -> float | None:
        q = self.evidence
        return q.serverless_endpoints / q.endpoint_quota if q.endpoint_quota else None

    @property
    def concurrency_used(self) -> float | None:
        q = self.evidence
        return q.sum_max_concurrency / q.concurrency_quota if q.concurrency_quota else None

    @property
    def endpoints_warn_at(self) -> float:
        return self.evidence.endpoint_quota * self.warn_fraction

    @property
    def concurrency_warn_at(self) -> float:
        return self.evidence.concurrency_quota * self.warn_fraction

    @property
    def warn(self) -> bool:
        return any((u or 0) >= self.warn_fraction for u in (self.endpoints_used, self.concurrency_used))


def serverless_scopes(user) -> set[tuple[str, str]] | None:
    """(account id, region) where the user sees a live serverless endpoint; None: everywhere (admin)."""
    if is_finops_admin(user):
        return None
    return set(
        visible_endpoints(user)
        .filter(deleted_at=None, variants__kind=SERVERLESS, variants__removed_at=None)
        .values_list("account__account_id", "region")
        .distinct()
    )


def quota_usage(user, *, account: str = "", region: str = "") -> list[QuotaUsage]:
    """Serverless quota usage of the accounts and regions the user may look at (all for a FinOps admin),
    optionally one account and/or region. Usage counts every team's endpoints (the quota is the
    account's), but only endpoints the user can see are named."""
    scopes = serverless_scopes(user)
    if scopes is not None:
        scopes = {(a, r) for a, r in scopes if (not account or a == account) and (not region or r == region)}
        if not scopes:
            return []
    thresholds = Thresholds.from_settings()
    rows = [
        q
        for q in load_quotas(thresholds, scopes=scopes)
        if (not account or q.account_id == account) and (not region or q.region == region)
    ]
    if not rows:
        return []
    labels = dict(
        AwsAccount.objects.filter(account_id__in={q.account_id for q in rows}).values_list(
            "account_id", "label"
        )
    )
    named = Q()
    for q in rows:
        named |= Q(account__account_id=q.account_id, region=q.region, name__in=[n for n, _ in q.largest])
    seen = {
        (a, r, n): pk
        for pk, a, r, n in visible_endpoints(user)
        .filter(named, deleted_at=None)
        .values_list("pk", "account__account_id", "region", "name")
    }
    return [
        QuotaUsage(
            q,
            labels.get(q.account_id, ""),
            [
                LargeEndpoint(
                    name if (q.account_id, q.region, name) in seen else None,
                    conc,
                    seen.get((q.account_id, q.region, name)),
                )
                for name, conc in q.largest
            ],
            thresholds.quota_warn_fraction,
        )
        for q in rows
    ]
