"""Metrics collection for one account and region.

Polling strategy (CloudWatch bills per metric requested, not per data point): each variant is polled on
a schedule (METRICS_POLL_MINUTES, hourly by default) for every data point since the last one stored,
minus a small overlap for late data; a variant with no invocations for METRICS_IDLE_DAYS is polled only
every METRICS_IDLE_POLL_MINUTES. Variants are grouped by where their window starts, so one
GetMetricData call carries up to 500 queries of one window. Each batch is stored as soon as it arrives
(memory stays flat however large the fleet), and a variant's cursor moves only when all of its queries
came back complete: a failed batch is filled by the next run.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from collectors.aws.clients import CallLog, ClientFactory
from collectors.aws.cloudwatch import fetch
from collectors.aws.sagemaker import describe_error
from collectors.metricplan import batches, plan_queries, windows
from collectors.model import VariantRef
from collectors.runs import RunRecorder, status_for
from collectors.runtime import build_factory, target
from collectors.store.metrics import advance_cursors, store_results
from dashboard.models import AwsAccount, CollectionRun, MetricCursor, ProductionVariant

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (queries just done, queries in the whole run)


def variant_ref(variant: ProductionVariant) -> VariantRef:
    itype = variant.instance_type
    return VariantRef(
        key=variant.pk,
        endpoint_name=variant.endpoint.name,
        variant_name=variant.name,
        kind=variant.kind,
        vcpus=itype.vcpus if itype else None,
        gpu_count=itype.gpu_count if itype else None,
        provisioned_concurrency=bool(variant.provisioned_concurrency),
    )


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def due_windows(
    variants: list[ProductionVariant],
    cursors: dict[int, MetricCursor],
    now: datetime,
    backfill: timedelta | None,
) -> dict[datetime, list[ProductionVariant]]:
    """Which variants to poll now, grouped by the (hour-aligned) start of the data they still need."""
    groups: dict[datetime, list[ProductionVariant]] = defaultdict(list)
    poll = timedelta(minutes=settings.METRICS_POLL_MINUTES)
    idle_poll = timedelta(minutes=settings.METRICS_IDLE_POLL_MINUTES)
    idle_after = timedelta(days=settings.METRICS_IDLE_DAYS)
    for variant in variants:
        cursor = cursors.get(variant.pk)
        if backfill is not None:
            groups[floor_hour(now - backfill)].append(variant)
            continue
        if cursor is None or cursor.collected_until is None:
            start = now - timedelta(hours=settings.METRICS_INITIAL_LOOKBACK_HOURS)
        else:
            # Idle: no invocation for METRICS_IDLE_DAYS, as far as the data fetched so far can tell.
            last_seen_busy = cursor.last_invocation_at or cursor.collected_from or now
            idle = now - last_seen_busy > idle_after
            # A little slack so an hourly beat tick a few seconds early still polls.
            interval = (idle_poll if idle else poll) - timedelta(minutes=1)
            if cursor.last_polled_at and now - cursor.last_polled_at < interval:
                continue
            start = cursor.collected_until - timedelta(minutes=settings.METRICS_OVERLAP_MINUTES)
        groups[floor_hour(start)].append(variant)
    return dict(sorted(groups.items()))


def _finished(variant: ProductionVariant, cursor: MetricCursor | None) -> bool:
    """A removed variant (or deleted endpoint) whose metrics are stored up to when it went."""
    gone = [t for t in (variant.removed_at, variant.endpoint.deleted_at) if t is not None]
    return bool(gone and cursor and cursor.collected_until and cursor.collected_until >= min(gone))


def planned_windows(start: datetime, now: datetime) -> list:
    """The windows to fetch from `start`: hourly beyond METRICS_BACKFILL_DETAIL_DAYS (a backfill), the
    configured period for the recent part; CloudWatch's retention rules apply to each."""
    period = settings.METRICS_PERIOD_SECONDS
    detail_start = floor_hour(now - timedelta(days=settings.METRICS_BACKFILL_DETAIL_DAYS))
    if start >= detail_start or period >= 3600:
        return windows(start, now, now, period)
    return windows(start, detail_start, now, 3600) + windows(detail_start, now, now, period)


def collect_metrics(
    account: AwsAccount,
    region: str,
    *,
    factory: ClientFactory | None = None,
    clock: Callable[[], datetime] = timezone.now,
    backfill: timedelta | None = None,
    progress: Progress | None = None,
    task_id: str = "",
) -> CollectionRun:
    factory = factory or build_factory(CallLog())
    recorder = RunRecorder(CollectionRun.Kind.METRICS, account, region, factory, clock, task_id)
    try:
        return _collect_metrics(recorder, account, region, factory, backfill, progress)
    except Exception as exc:
        recorder.crashed(exc)
        raise


def _collect_metrics(recorder, account, region, factory, backfill, progress) -> CollectionRun:
    now = recorder.started
    # Live variants, and those gone in the last two days whose data up to their end is not stored yet
    # (inventory notices a deletion within minutes, metrics are polled hourly: the last hour counts too).
    recently = now - timedelta(days=2)
    candidates = ProductionVariant.objects.filter(endpoint__account=account, endpoint__region=region).filter(
        Q(endpoint__deleted_at=None, removed_at=None)
        | Q(endpoint__deleted_at__gt=recently)
        | Q(removed_at__gt=recently)
    )
    variants = list(candidates.select_related("endpoint", "instance_type"))
    cursors = {c.variant_id: c for c in MetricCursor.objects.filter(variant__in=variants)}
    variants = [v for v in variants if not _finished(v, cursors.get(v.pk))]
    groups = due_windows(variants, cursors, now, backfill)
    errors: list[str] = []
    warnings: list[str] = []
    statuses: Counter = Counter()
    stats = Counter(variants=len(variants), polled=sum(len(g) for g in groups.values()))
    try:
        client = factory.client("cloudwatch", account=target(account), region=region)
    except (ClientError, BotoCoreError) as exc:
        return recorder.finish(CollectionRun.Status.FAILED, [describe_error(exc)], stats)

    # Plan everything first (cheap, plain data) so progress knows the total; fetch and store batch by batch.
    plans = []
    for start, group in groups.items():
        refs = [variant_ref(v) for v in group]
        planned = [(w, batches(plan_queries(refs, w.period))) for w in planned_windows(start, now)]
        plans.append((refs, planned))
    total = sum(len(b) for _, planned in plans for _, bs in planned for b in bs)
    for refs, planned in plans:
        failed: set[int] = set()
        last_invocation: dict[int, datetime] = {}
        for window, window_batches in planned:
            for batch in window_batches:
                try:
                    results = fetch(client, batch, window)
                except (ClientError, BotoCoreError) as exc:
                    errors.append(
                        f"GetMetricData {window.start:%Y-%m-%d %H:%M}+{window.period}s: {describe_error(exc)}"
                    )
                    failed.update(q.variant.key for q in batch)
                    log.warning("metrics %s/%s: %s", account.account_id, region, errors[-1])
                    if progress:
                        progress(len(batch), total)
                    continue
                errors.extend(f"GetMetricData {window.start:%Y-%m-%d %H:%M}: {m}" for m in results.messages)
                for result in results:
                    statuses[result.status] += 1
                    if result.status == "Complete" and result.messages:
                        warnings.extend(
                            f"{result.query.variant.endpoint_name} {result.query.metric}: {m}"
                            for m in result.messages
                        )
                    if result.status != "Complete":
                        failed.add(result.query.variant.key)
                        errors.append(
                            f"{result.query.variant.endpoint_name}/{result.query.variant.variant_name} "
                            f"{result.query.metric} {result.query.stat}: {result.status} "
                            + "; ".join(result.messages)
                        )
                    if result.query.metric == "Invocations":
                        busy = [ts for ts, v in zip(result.timestamps, result.values, strict=True) if v]
                        if busy:
                            key = result.query.variant.key
                            last_invocation[key] = max(busy[-1], last_invocation.get(key, busy[-1]))
                stored = store_results(results.series)
                stats["points"] += stored.points
                stats["queries"] += len(batch)
                if progress:
                    progress(len(batch), total)
        if planned:
            advance_cursors(
                [r.key for r in refs if r.key not in failed],
                since=planned[0][0].start,
                until=planned[-1][0].end,
                polled_at=now,
                last_invocation=last_invocation,
            )
    stats.update({f"results_{k}": v for k, v in statuses.items()})
    if warnings:
        stats.update(warnings=len(warnings), warning_examples=sorted(set(warnings))[:10])
    return recorder.finish(status_for(errors, stored_something=bool(stats["points"])), errors, stats)
