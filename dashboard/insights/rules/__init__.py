"""The rules: pure functions of evidence, thresholds and prices that return findings.

A variant rule is `rule(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]`; a quota
rule is `rule(q: QuotaEvidence, t: Thresholds) -> list[Finding]`. Adding a rule is one function and one
line here."""

from dashboard.insights.rules import breakeven, gpu, idle, quota, serverless

VARIANT_RULES = (
    serverless.memory_over_provisioned,
    serverless.memory_under_provisioned,
    serverless.cold_starts,
    serverless.provisioned_concurrency_unused,
    serverless.throttling,
    idle.idle_endpoint,
    idle.idle_provisioned_concurrency,
    gpu.gpu_rightsize,
    breakeven.hosting_break_even,
)
QUOTA_RULES = (quota.quota_headroom,)
