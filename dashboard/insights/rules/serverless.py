"""Serverless rules: memory size (both ways), cold starts and provisioned concurrency, throttling.

Savings are at the usage observed over the window, scaled to a 730-hour month. Every rule stays silent
without enough data, and on a variant nobody called for `idle_days`: the idle rules own that case, so a
quiet endpoint gets one finding ("delete it" or "drop its provisioned concurrency"), not five.
"""

from __future__ import annotations

import math
from decimal import Decimal

from dashboard.insights import pricing
from dashboard.insights.model import (
    COLD_STARTS,
    MEMORY_OVER,
    MEMORY_UNDER,
    PC_UNUSED,
    THROTTLING,
    Finding,
    Prices,
    Thresholds,
    VariantEvidence,
)
from dashboard.insights.rules._common import (
    build_finding,
    cash,
    gb_label,
    monthly_seconds,
    ms,
    quiet,
    serverless_config,
    serverless_month,
    share,
    warm_share,
)

# Memory under-provisioning seen as errors at model load: the 5XX rate in hours with cold starts must be
# this many times the rate in hours without, over at least this many errors (fewer are noise).
# With no baseline (every hour saturated, or no 4XX outside saturation), a saturated 4XX rate above this
# is what counts as throttling.
MAX_CONCURRENCY_LIMIT = 200  # ServerlessConfig.MaxConcurrency is 1-200
WORST_HOURS = 3
EPSILON = 1e-9  # 0.14 x 50 is 7.000000000000001 in floats: it must not ceil to 8


def _serverless(ev: VariantEvidence) -> bool:
    return ev.kind == "serverless" and bool(ev.memory_mb)


def _latency_target(ev: VariantEvidence, t: Thresholds) -> tuple[float, str]:
    raw = ev.tags.get(t.latency_target_tag)
    if raw is not None:
        try:
            value = float(raw)
        except ValueError:
            value = None
        if value is not None and math.isfinite(value) and value > 0:
            return value, f"tag {t.latency_target_tag}"
    return t.latency_target_ms, "setting"


def _latencies(ev: VariantEvidence) -> dict:
    return {
        "latency_p50_ms": ev.latency_p50_ms,
        "latency_p95_ms": ev.latency_p95_ms,
        "latency_p99_ms": ev.latency_p99_ms,
    }


def _cold_start_errors(ev: VariantEvidence, t: Thresholds) -> dict | None:
    """5XX clustered in hours with cold starts: the sign of a model that runs out of memory at load.
    Compared with the hours without cold starts, not the overall rate: when cold hours carry most of the
    traffic, the overall rate is mostly the cold-hour rate and could never be 3x itself. Without hours
    free of cold starts there is no baseline, and no verdict."""
    warm_invocations = ev.invocations - ev.invocations_cold_hours
    if (
        ev.hours_with_data < t.min_data_hours
        or ev.invocations_cold_hours <= 0
        or warm_invocations <= 0
        or ev.cold_start_errors_5xx < t.cold_error_min
    ):
        return None
    cold_rate = ev.cold_start_errors_5xx / ev.invocations_cold_hours
    warm_rate = max(0.0, ev.errors_5xx - ev.cold_start_errors_5xx) / warm_invocations
    if cold_rate < t.cold_error_lift * warm_rate:
        return None
    return {
        "cold_hours_5xx": ev.cold_start_errors_5xx,
        "cold_hours_invocations": ev.invocations_cold_hours,
        "cold_hours_5xx_rate": cold_rate,
        "other_hours_5xx_rate": warm_rate,
    }


# --- rules --------------------------------------------------------------------------------------------


def memory_over_provisioned(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    mem, p99 = ev.memory, ev.latency_p99_ms
    if not _serverless(ev) or mem.peak is None or mem.hours < t.min_data_hours or not p99:
        return []
    if quiet(ev, t) or _cold_start_errors(ev, t) is not None:
        return []  # idle rules own quiet variants; load errors say the memory is too small, not too big
    target, target_source = _latency_target(ev, t)
    needed_mb = mem.peak / 100 * ev.memory_mb * (1 + t.memory_headroom)
    # Worst case: vCPUs scale with memory, so latency scales with its inverse.
    new_mb = next(
        (
            tier
            for tier in sorted(prices.memory_tiers_mb)
            if needed_mb <= tier < ev.memory_mb and p99 * ev.memory_mb / tier <= target
        ),
        None,
    )
    if new_mb is None:
        return []
    current, proposed = serverless_month(ev, prices), serverless_month(ev, prices, memory_mb=new_mb)
    saving = pricing.money(current - proposed)
    if saving < t.min_monthly_saving:
        return []
    worst_p99 = p99 * ev.memory_mb / new_mb
    old, new = gb_label(ev.memory_mb), gb_label(new_mb)
    used_mb = mem.peak / 100 * ev.memory_mb
    return [
        build_finding(
            ev,
            prices,
            MEMORY_OVER,
            title=f"Lower memory from {old} to {new}",
            summary=(
                f"Memory peaked at {used_mb:,.0f} MB ({mem.peak:.0f}% of {old}); {new} keeps "
                f"{t.memory_headroom:.0%} headroom and saves about {cash(saving, prices.currency)} a month."
            ),
            current=serverless_config(ev),
            proposed={"memory_mb": new_mb},
            evidence={
                "memory_peak_pct": mem.peak,
                "memory_p99_pct": mem.p99,
                "memory_hours": mem.hours,
                "peak_used_mb": used_mb,
                "needed_mb": needed_mb,
                "memory_headroom": t.memory_headroom,
                "smallest_fitting_mb": pricing.smallest_tier(needed_mb, prices.memory_tiers_mb),
                **_latencies(ev),
                "worst_case_p99_ms": worst_p99,
                "latency_target_ms": target,
                "latency_target_source": target_source,
                "compute_seconds": ev.compute_seconds,
                "compute_seconds_per_month": float(monthly_seconds(ev)),
                "provisioned_concurrency": ev.provisioned_concurrency or 0,
                "current_monthly": pricing.money(current),
                "proposed_monthly": pricing.money(proposed),
            },
            saving=saving,
            # A thin latency margin makes the worst case more likely to matter.
            confidence=share(mem.hours, ev) * (1.0 if worst_p99 <= 0.8 * target else 0.8),
            warnings=[
                f"Less memory also means fewer vCPUs. Latency now p50/p95/p99 {ms(ev.latency_p50_ms)}/"
                f"{ms(ev.latency_p95_ms)}/{ms(p99)} ms; at {new} p99 could reach {ms(worst_p99)} ms "
                f"(target {ms(target)} ms), and slower requests bill more seconds, eating into the saving."
            ],
        )
    ]


def memory_under_provisioned(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    if not _serverless(ev) or quiet(ev, t):
        return []
    mem = ev.memory
    high = mem.peak is not None and mem.hours >= t.min_data_hours and mem.peak >= t.memory_under_pct
    errors = _cold_start_errors(ev, t)
    if not high and errors is None:
        return []
    reasons = []
    if high:
        reasons.append(f"memory peaked at {mem.peak:.0f}% of {gb_label(ev.memory_mb)}")
    if errors:
        reasons.append(
            f"the 5XX rate is {errors['cold_hours_5xx_rate']:.2%} in hours with cold starts against "
            f"{errors['other_hours_5xx_rate']:.2%} otherwise (out of memory while loading the model?)"
        )
    why = " and ".join(reasons)
    why = why[0].upper() + why[1:]
    new_mb = next((tier for tier in sorted(prices.memory_tiers_mb) if tier > ev.memory_mb), None)
    proposed = {"memory_mb": new_mb} if new_mb else {"memory_mb": None, "alternative": "instance endpoint"}
    if new_mb is None:
        title = f"Memory at the {gb_label(ev.memory_mb)} serverless maximum"
        summary = f"{why}; no larger serverless size exists: consider an instance endpoint with more memory."
        saving = None
    else:
        saving = serverless_month(ev, prices) - serverless_month(ev, prices, memory_mb=new_mb)
        title = f"Raise memory from {gb_label(ev.memory_mb)} to {gb_label(new_mb)}"
        summary = f"{why}; {gb_label(new_mb)} costs about {cash(saving, prices.currency)} a month more."
    # Errors at load point at memory less directly than a memory peak does.
    confidence = max(
        share(mem.hours, ev) if high else 0.0, share(ev.hours_with_data, ev) * 0.7 if errors else 0
    )
    return [
        build_finding(
            ev,
            prices,
            MEMORY_UNDER,
            title=title,
            summary=summary,
            current=serverless_config(ev),
            proposed=proposed,
            evidence={
                "memory_peak_pct": mem.peak,
                "memory_p99_pct": mem.p99,
                "memory_hours": mem.hours,
                "memory_under_pct": t.memory_under_pct,
                **(errors or {}),
                "errors_5xx": ev.errors_5xx,
                "invocations": ev.invocations,
                **_latencies(ev),
                "compute_seconds_per_month": float(monthly_seconds(ev)),
            },
            saving=saving,
            confidence=confidence,
        )
    ]


def cold_starts(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    conc = ev.concurrency
    if not _serverless(ev) or not ev.max_concurrency or conc.p99 is None or quiet(ev, t):
        return []
    if (
        ev.hours_with_data < t.min_data_hours
        or ev.invocations <= 0
        or ev.cold_starts < t.cold_start_min_count
    ):
        return []  # two cold starts in a fortnight are an anecdote, not a rate
    rate = ev.cold_starts / ev.invocations
    added_ms = ev.cold_start_ms_total / ev.invocations
    if rate <= t.cold_start_rate or added_ms < t.cold_start_min_added_ms:
        return []
    # Sized to the typical peak: the p99 of hourly peak concurrent executions. The rarer bursts above
    # it still cold-start; covering them would hold capacity that sits idle almost every hour.
    size = min(ev.max_concurrency, max(1, math.ceil(conc.p99 * ev.max_concurrency - EPSILON)))
    now_pc = ev.provisioned_concurrency or 0
    if size <= now_pc:
        return []
    # Assumed to serve every request at its cheaper rate: the p99 sizing leaves out only rare bursts.
    extra = serverless_month(ev, prices, provisioned=size, warm=Decimal(1)) - serverless_month(ev, prices)
    worst = sorted(
        (h for h in ev.by_hour if h.invocations > 0 and h.cold_starts > 0),
        key=lambda h: h.cold_start_ms / h.invocations,
        reverse=True,
    )[:WORST_HOURS]
    hours_text = ", ".join(f"{h.hour:02d}:00" for h in worst)
    avg_cold_ms = ev.cold_start_ms_total / ev.cold_starts
    title = f"Add provisioned concurrency of {size}"
    if now_pc:
        title = f"Raise provisioned concurrency from {now_pc} to {size}"
    return [
        build_finding(
            ev,
            prices,
            COLD_STARTS,
            title=title,
            summary=(
                f"{rate:.1%} of requests hit a cold start of {ms(avg_cold_ms)} ms on average, adding "
                f"{ms(added_ms)} ms per request" + (f" (worst at {hours_text} UTC)" if worst else "") + "; "
                f"{size} provisioned (the p99 of peak concurrency) would cost about "
                f"{cash(extra, prices.currency)} a month {'more' if extra > 0 else 'less'}."
            ),
            current=serverless_config(ev),
            proposed={"provisioned_concurrency": size},
            evidence={
                "invocations": ev.invocations,
                "cold_starts": ev.cold_starts,
                "cold_start_rate": rate,
                "cold_start_avg_ms": avg_cold_ms,
                "added_ms_per_request": added_ms,
                "worst_hours_utc": [h.hour for h in worst],
                "by_hour_utc": [
                    {
                        "hour": h.hour,
                        "invocations": h.invocations,
                        "cold_starts": h.cold_starts,
                        "cold_start_rate": h.cold_start_rate,
                        "added_ms_per_request": h.cold_start_ms / h.invocations if h.invocations else None,
                    }
                    for h in ev.by_hour
                ],
                "concurrency_p99": conc.p99,
                "concurrency_peak": conc.peak,
                "max_concurrency": ev.max_concurrency,
                "sizing": "ceil(concurrency p99 x MaxConcurrency), 1..MaxConcurrency",
                **_latencies(ev),
                "current_monthly": pricing.money(serverless_month(ev, prices)),
            },
            saving=-extra,
            # Hourly peaks only approximate the concurrency provisioned capacity must cover; few cold
            # starts make a noisy rate.
            confidence=share(ev.hours_with_data, ev)
            * 0.8
            * min(1.0, ev.cold_starts / (5 * t.cold_start_min_count)),
        )
    ]


def provisioned_concurrency_unused(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    pc, util = ev.provisioned_concurrency, ev.pc_utilisation
    if not _serverless(ev) or not pc or util.peak is None or util.hours < t.min_data_hours:
        return []
    if ev.invocations <= 0 or quiet(ev, t):
        return []  # idle_provisioned_concurrency owns provisioned concurrency nobody calls
    spill_rate = ev.pc_spillover / ev.invocations
    if util.peak >= t.pc_unused_utilisation or spill_rate >= t.pc_spillover_rate:
        return []
    used = math.ceil(util.peak * pc - EPSILON)
    new_pc = used if used < pc else 0  # a unit that cannot shrink further is removed
    # Removing it sends the requests it served back to the on-demand rate: counted, not only capacity.
    new_share = warm_share(ev) if new_pc else Decimal(0)
    current = serverless_month(ev, prices)
    proposed = serverless_month(ev, prices, provisioned=new_pc, warm=new_share)
    saving = pricing.money(current - proposed)
    if saving < t.min_monthly_saving:
        return []
    title = (
        f"Reduce provisioned concurrency from {pc} to {new_pc}"
        if new_pc
        else f"Remove provisioned concurrency of {pc}"
    )
    warnings = []
    if not new_pc and ev.pc_invocations > 0:
        warnings.append(
            f"{ev.pc_invocations:,.0f} requests in the window were served warm by it and may cold-start "
            "without it."
        )
    return [
        build_finding(
            ev,
            prices,
            PC_UNUSED,
            title=title,
            summary=(
                f"At most {util.peak:.0%} of the {pc} provisioned was in use and {spill_rate:.2%} of "
                f"requests spilled over; {f'{new_pc} covers the peak and' if new_pc else 'removing it'} "
                f"saves about {cash(saving, prices.currency)} a month."
            ),
            current=serverless_config(ev),
            proposed={"provisioned_concurrency": new_pc},
            evidence={
                "pc_utilisation_peak": util.peak,
                "pc_utilisation_p99": util.p99,
                "pc_utilisation_hours": util.hours,
                "pc_invocations": ev.pc_invocations,
                "pc_spillover": ev.pc_spillover,
                "spillover_rate": spill_rate,
                "invocations": ev.invocations,
                "peak_used": used,
                "current_monthly": pricing.money(current),
                "proposed_monthly": pricing.money(proposed),
            },
            saving=saving,
            confidence=share(util.hours, ev),
            warnings=warnings,
        )
    ]


def throttling(ev: VariantEvidence, t: Thresholds, prices: Prices) -> list[Finding]:
    conc = ev.concurrency
    if not _serverless(ev) or not ev.max_concurrency or conc.peak is None or quiet(ev, t):
        return []
    if ev.hours_with_data < t.min_data_hours or ev.invocations_saturated <= 0:
        return []
    if conc.peak < t.throttle_utilisation or ev.saturated_hours < t.throttle_min_saturated_hours:
        return []
    sat_rate = ev.errors_4xx_saturated / ev.invocations_saturated
    other_invocations = ev.invocations - ev.invocations_saturated
    base_rate = 0.0
    if other_invocations > 0:
        base_rate = max(0.0, ev.errors_4xx - ev.errors_4xx_saturated) / other_invocations
    if base_rate > 0:
        lift_met = sat_rate >= t.throttle_4xx_lift * base_rate
    else:
        lift_met = sat_rate > t.throttle_absolute_4xx_rate
    # 4XX above the baseline rate are taken as throttled (429) requests.
    throttled = ev.errors_4xx_saturated - base_rate * ev.invocations_saturated
    if not lift_met or throttled <= 0:
        return []
    # Invocations in saturated hours are taken as served: demand was served + throttled.
    demand_ratio = (ev.invocations_saturated + throttled) / ev.invocations_saturated
    wanted = math.ceil(ev.max_concurrency * demand_ratio * t.concurrency_margin - EPSILON)
    new_max = min(MAX_CONCURRENCY_LIMIT, wanted) if ev.max_concurrency < MAX_CONCURRENCY_LIMIT else None
    avg_s = (ev.latency_avg_ms / 1000) if ev.latency_avg_ms else ev.compute_seconds / ev.invocations
    extra_seconds = pricing.per_month(throttled * avg_s, ev.observed_seconds)
    cost = pricing.serverless_compute_monthly(extra_seconds, ev.memory_mb, prices)
    derived = (
        "Derived from concurrency at its limit and 4XX errors: AWS publishes no throttle metric. "
        "The account's shared serverless concurrency quota must have room (see the quota finding)."
    )
    rates = f"4XX rate {sat_rate:.2%} at the limit against {base_rate:.2%} otherwise"
    if new_max is None:
        title = f"Throttling at the {MAX_CONCURRENCY_LIMIT} MaxConcurrency limit"
        head = f"About {throttled:,.0f} requests throttled ({rates}); MaxConcurrency cannot go higher: "
        head += "split the traffic or move to an instance endpoint."
    else:
        title = f"Raise MaxConcurrency from {ev.max_concurrency} to {new_max}"
        head = (
            f"About {throttled:,.0f} requests throttled in {ev.saturated_hours} hours at the limit "
            f"({rates}); serving them costs about {cash(cost, prices.currency)} a month."
        )
    return [
        build_finding(
            ev,
            prices,
            THROTTLING,
            title=title,
            summary=f"{head} {derived}",
            current=serverless_config(ev),
            proposed={"max_concurrency": new_max},
            evidence={
                "concurrency_peak": conc.peak,
                "concurrency_p99": conc.p99,
                "saturated_hours": ev.saturated_hours,
                "invocations_saturated": ev.invocations_saturated,
                "errors_4xx_saturated": ev.errors_4xx_saturated,
                "errors_4xx": ev.errors_4xx,
                "invocations": ev.invocations,
                "rate_4xx_saturated": sat_rate,
                "rate_4xx_other": base_rate if other_invocations > 0 else None,
                "throttled_estimate": throttled,
                "sizing": "ceil(MaxConcurrency x (served + throttled) / served x 1.3), at most 200",
                "extra_compute_seconds_per_month": float(extra_seconds),
                "derived": True,
            },
            saving=-cost if new_max is not None else None,
            # Throttles are inferred, not measured.
            confidence=share(ev.hours_with_data, ev) * 0.7,
        )
    ]
