"""Serverless quota headroom per account and region: the endpoint count and the sum of MaxConcurrency
against their quotas, so a team hears before new endpoints start throttling each other.

All serverless endpoints of an account and region share one concurrency quota (200 in the AWS
documentation for some regions, lower in others and for new accounts: configurable), so the sum of
every endpoint's MaxConcurrency is what can crowd out the next one."""

from __future__ import annotations

import math

from dashboard.insights.model import QUOTA, Finding, QuotaEvidence, Thresholds

EPSILON = 1e-9  # 50 x 0.56 is 28.000000000000004 in floats: ceil() must still give 28


def quota_headroom(q: QuotaEvidence, t: Thresholds) -> list[Finding]:
    usages = [
        (name, used, quota)
        for name, used, quota in (
            ("endpoints", q.serverless_endpoints, q.endpoint_quota),
            ("concurrency", q.sum_max_concurrency, q.concurrency_quota),
        )
        if quota > 0 and used / quota >= t.quota_warn_fraction
    ]
    if not usages:
        return []

    scope = f"{q.account_id}/{q.region}"
    shares = " and ".join(f"{name} at {used / quota:.0%}" for name, used, quota in usages)
    title = f"Serverless {shares} of quota in {scope}"
    facts = "; ".join(_fact(name, used, quota) for name, used, quota in usages)
    summary = (
        f"In {scope}: {facts}. At the quota, new serverless endpoints or higher MaxConcurrency are refused."
    )

    proposed: dict = {"actions": ["Request a quota increase in Service Quotas (Amazon SageMaker)."]}
    for name, used, quota in usages:
        if name == "concurrency":
            # Back under the warning line, not merely under the quota, or the warning fires again at once.
            allowed = math.ceil(quota * t.quota_warn_fraction - EPSILON) - 1
            lower_by = used - allowed
            largest = ", ".join(f"{endpoint} ({mc})" for endpoint, mc in q.largest)
            action = f"Or lower MaxConcurrency by {lower_by} in total"
            proposed["actions"].append(
                f"{action} on the largest endpoints: {largest}." if largest else f"{action}."
            )
            proposed["lower_max_concurrency_by"] = lower_by
        else:
            proposed["actions"].append("Or delete serverless endpoints nobody calls.")

    return [
        Finding(
            rule=QUOTA,
            title=title,
            summary=summary,
            target=scope,
            current={
                "serverless_endpoints": q.serverless_endpoints,
                "endpoint_quota": q.endpoint_quota,
                "sum_max_concurrency": q.sum_max_concurrency,
                "concurrency_quota": q.concurrency_quota,
            },
            proposed=proposed,
            evidence={
                "serverless_endpoints": q.serverless_endpoints,
                "endpoint_quota": q.endpoint_quota,
                "sum_max_concurrency": q.sum_max_concurrency,
                "sum_provisioned_concurrency": q.sum_provisioned_concurrency,
                "concurrency_quota": q.concurrency_quota,
                "warn_fraction": t.quota_warn_fraction,
                "largest": [{"endpoint": name, "max_concurrency": mc} for name, mc in q.largest],
            },
            # A risk, not a saving: raising a quota or lowering MaxConcurrency costs nothing either way.
            monthly_saving=None,
            currency="",
            confidence=1.0,
            endpoint_id=None,
            account_id=q.account_id,
            region=q.region,
        )
    ]


def _fact(name: str, used: int, quota: int) -> str:
    what = (
        "serverless endpoints" if name == "endpoints" else "MaxConcurrency summed over serverless endpoints"
    )
    room = f"{quota - used} left" if used < quota else f"{used - quota} over"
    return f"{used} {what} against a quota of {quota} ({room})"
