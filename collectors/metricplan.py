"""What to ask CloudWatch, and in which calls: windows per data age, queries per variant, batches of 500.

Plain Python on `collectors.model` data and the catalogue; the clock is passed in, never read here.

CloudWatch keeps 60 s data for 15 days, 300 s data for 63 days and 3600 s data for 455 days: a query
whose data is older than 15 days needs a period that is a multiple of 300, older than 63 days a
multiple of 3600, or CloudWatch answers nothing for it. `windows` therefore splits a backfill into one
window per retention tier, each with the finest period that tier allows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from collectors.catalogue import specs_for
from collectors.model import MetricQuery, VariantRef, Window

MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit
MAX_AGE = timedelta(days=455)  # nothing older exists at any period
# (data older than this, needs a period that is a multiple of this), coarsest first.
RETENTION_TIERS: tuple[tuple[timedelta, int], ...] = ((timedelta(days=63), 3600), (timedelta(days=15), 300))
FINEST_STEP = 60  # SageMaker publishes standard-resolution (per-minute) data
# CloudWatch judges a query's age by its own clock when the call arrives, which can be well after the
# `now` a plan was made with (a run over many accounts, retries, paging). Data this close to a retention
# boundary is treated as already past it: a coarser period for one hour costs little, a too-fine one
# loses the data.
AGE_GUARD = timedelta(hours=1)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive: pass timezone-aware datetimes (UTC)")
    return math.floor((moment - _EPOCH).total_seconds())


def _moment(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _check_period(preferred: int) -> None:
    if not isinstance(preferred, int) or isinstance(preferred, bool) or preferred <= 0:
        raise ValueError(f"a period is a positive number of seconds, not {preferred!r}")


def _step_for_age(age: timedelta, guard: timedelta) -> int:
    for threshold, step in RETENTION_TIERS:
        if age > threshold - guard:
            return step
    return FINEST_STEP


def period_for_age(start: datetime, now: datetime, preferred: int, *, guard: timedelta = AGE_GUARD) -> int:
    """The smallest period >= `preferred` that CloudWatch still serves for data starting at `start`.

    Below 15 days that is `preferred` rounded up to whole minutes (SageMaker's metrics are per minute, and
    CloudWatch accepts sub-minute periods only for high-resolution metrics)."""
    _check_period(preferred)
    age = timedelta(seconds=_seconds(now) - _seconds(start))
    return _round_up(preferred, _step_for_age(age, guard))


def windows(
    start: datetime, end: datetime, now: datetime, preferred_period: int, *, guard: timedelta = AGE_GUARD
) -> list[Window]:
    """[start, end) as contiguous windows, one per retention tier it spans, each aligned to its period
    (epoch-aligned, so 3600 s windows start on the hour and 86400 s windows at UTC midnight).

    Partial periods: the start is floored to the period (CloudWatch would round it down anyway), and the
    end, capped at `now`, is floored to the period too. A half-filled period is therefore never fetched:
    its Sum of Invocations would be stored as if final and read as a traffic drop (and alert on it).
    The next run picks it up once it is complete; a caller that wants to absorb CloudWatch's late
    arrivals re-reads its last period or two and upserts. Data older than 455 days is not asked for.
    """
    _check_period(preferred_period)
    lo = max(_seconds(start), _seconds(now - MAX_AGE))
    hi = min(_seconds(end), _seconds(now))
    now_s = _seconds(now)
    # Where each tier's data starts being young enough for the next, finer tier (the guard included).
    thresholds = [now_s - int((age - guard).total_seconds()) for age, _ in RETENTION_TIERS]
    periods = [_round_up(preferred_period, step) for _, step in RETENTION_TIERS]
    periods.append(_round_up(preferred_period, FINEST_STEP))

    out: list[Window] = []
    cursor = lo
    for i, period in enumerate(periods):
        # The next tier starts on an hour boundary (a multiple of both periods), so the two windows meet
        # exactly and no hour holds points of two periods (rollups take the finest period per hour).
        last = i == len(thresholds)
        boundary = hi if last else _round_up(thresholds[i], math.lcm(period, periods[i + 1], 3600))
        w_start = cursor - cursor % period
        w_end = min(boundary, hi)
        w_end -= w_end % period
        if w_end > w_start:
            if out and out[-1].period == period and out[-1].end == _moment(w_start):
                out[-1] = Window(out[-1].start, _moment(w_end), period)  # same period: one window
            else:
                out.append(Window(_moment(w_start), _moment(w_end), period))
        cursor = max(cursor, boundary)
        if cursor >= hi:
            break
    return out


def plan_queries(variants: Iterable[VariantRef], period: int) -> list[MetricQuery]:
    """One query per (variant, metric, statistic) the variant publishes, with ids q0, q1, ... in variant
    then catalogue order (deterministic, valid GetMetricData ids, unique within the plan)."""
    _check_period(period)
    out: list[MetricQuery] = []
    for variant in variants:
        for metric, stat in specs_for(variant):
            out.append(MetricQuery(f"q{len(out)}", variant, metric.key, stat, period))
    return out


def batches(
    queries: Sequence[MetricQuery], max_queries: int = MAX_QUERIES_PER_CALL
) -> list[list[MetricQuery]]:
    """Queries packed into GetMetricData calls: at most `max_queries` each, one period per call (so one
    window per call: the caller fetches each batch with the window it planned that period for).

    Order is kept within a period; periods come in order of first appearance. An id that repeats within
    a call (queries from two plans mixed) is replaced by a fresh one; the query is otherwise unchanged,
    and results map back through the query object, not the id."""
    if not 0 < max_queries <= MAX_QUERIES_PER_CALL:
        raise ValueError(f"max_queries must be 1-{MAX_QUERIES_PER_CALL}, not {max_queries}")
    by_period: dict[int, list[MetricQuery]] = {}
    for query in queries:
        by_period.setdefault(query.period, []).append(query)
    calls: list[list[MetricQuery]] = []
    for group in by_period.values():
        for first in range(0, len(group), max_queries):
            calls.append(_unique_ids(group[first : first + max_queries]))
    return calls


def _unique_ids(call: list[MetricQuery]) -> list[MetricQuery]:
    taken = {q.id for q in call}
    if len(taken) == len(call):
        return call
    seen: set[str] = set()
    out = []
    fresh = 0
    for query in call:
        if query.id in seen:
            while f"r{fresh}" in taken:
                fresh += 1
            query = replace(query, id=f"r{fresh}")
            taken.add(query.id)
        seen.add(query.id)
        out.append(query)
    return out


def plan(
    variants: Sequence[VariantRef],
    start: datetime,
    end: datetime,
    now: datetime,
    preferred_period: int,
    *,
    max_queries: int = MAX_QUERIES_PER_CALL,
) -> list[tuple[Window, list[MetricQuery]]]:
    """Everything above in one: (window, queries) per GetMetricData call sequence, oldest window first."""
    return [
        (window, batch)
        for window in windows(start, end, now, preferred_period)
        for batch in batches(plan_queries(variants, window.period), max_queries)
    ]
