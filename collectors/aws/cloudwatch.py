"""CloudWatch GetMetricData for one planned batch: every page read, every answer kept.

`fetch` makes one call sequence (the first call, then one per NextToken) for up to 500 queries sharing
one window and period (see collectors.metricplan), merges each query's pages into one SeriesResult,
and converts values to the catalogue's stored units. Nothing is dropped silently: a point that cannot
be converted, a query CloudWatch marks Forbidden / InternalError or still PartialData, and the call's own
Messages are all recorded. An answer that cannot be trusted is recorded the same way, never guessed at:
timestamps and values that do not pair up, or one timestamp sent twice with different values, make the
query InternalError (its variant is re-read next time); a point outside the window asked for is not
kept; paging cut short (a NextToken repeated, or still paging after MAX_PAGES) leaves every query that
said Complete PartialData. botocore errors (ClientError, BotoCoreError) propagate: the caller records
them, and the pages read before the error are discarded with the call.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.client import BaseClient

from collectors import catalogue
from collectors.metricplan import MAX_QUERIES_PER_CALL
from collectors.model import MetricQuery, SeriesResult, Window

log = logging.getLogger(__name__)

COMPLETE, PARTIAL, FORBIDDEN, INTERNAL_ERROR = "Complete", "PartialData", "Forbidden", "InternalError"
# A result that reported one of these on any page keeps it, even if a later page says Complete: the data
# of that page is missing.
_STICKY = (FORBIDDEN, INTERNAL_ERROR)
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
# One call returns at most 100,800 points a page: a full batch (500 queries) over the longest planned
# window needs about a dozen pages. A peer still paging after this many is not going to stop.
MAX_PAGES = 100


@dataclass
class FetchResult:
    """The series of one batch, in the order of its queries, and the call-level Messages (e.g. a
    MaxQueryTimeRangeExceed) as "Code: Value". Iterating it iterates the series."""

    series: list[SeriesResult]
    messages: list[str] = field(default_factory=list)
    pages: int = 0

    def __iter__(self) -> Iterator[SeriesResult]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    @property
    def incomplete(self) -> list[SeriesResult]:
        """Series whose data is not all there (their status is not Complete)."""
        return [s for s in self.series if s.status != COMPLETE]


def metric_data_query(query: MetricQuery) -> dict:
    spec = catalogue.spec(query.metric)
    return {
        "Id": query.id,
        "MetricStat": {
            "Metric": {
                "Namespace": spec.namespace,
                "MetricName": spec.name,
                # Always in this order: moto matches dimensions as an ordered list.
                "Dimensions": [
                    {"Name": "EndpointName", "Value": query.variant.endpoint_name},
                    {"Name": "VariantName", "Value": query.variant.variant_name},
                ],
            },
            "Period": query.period,
            "Stat": query.stat,
            # No Unit: a Unit other than the one published returns no data at all.
        },
        "ReturnData": True,
    }


def _check(queries: Sequence[MetricQuery], window: Window) -> None:
    if not queries:
        raise ValueError("fetch needs at least one query")
    if len(queries) > MAX_QUERIES_PER_CALL:
        raise ValueError(f"{len(queries)} queries: GetMetricData takes at most {MAX_QUERIES_PER_CALL}")
    ids = Counter(q.id for q in queries)
    duplicates = sorted(i for i, n in ids.items() if n > 1)
    if duplicates:
        raise ValueError(f"query ids must be unique within a call: {', '.join(duplicates)}")
    bad = sorted(i for i in ids if not _ID.match(i))
    if bad:
        raise ValueError(f"invalid GetMetricData ids: {', '.join(bad)}")
    periods = {q.period for q in queries}
    if periods != {window.period}:
        raise ValueError(f"every query must have the window's period {window.period}; got {sorted(periods)}")


@dataclass
class _Series:
    query: MetricQuery
    points: dict[datetime, float] = field(default_factory=dict)
    status: str | None = None
    messages: list[str] = field(default_factory=list)


def fetch(client: BaseClient, queries: Sequence[MetricQuery], window: Window) -> FetchResult:
    """Every page of GetMetricData for `queries` over `window`, merged per query.

    Each SeriesResult holds the points in ascending time with `values` in the stored unit and `raw` as
    CloudWatch sent them; `status` is the last page's StatusCode, except that Forbidden / InternalError
    on any page sticks. A query missing from every page is reported as InternalError."""
    _check(queries, window)
    wanted = {q.id: _Series(q) for q in queries}
    call_messages: list[str] = []
    params = {
        "MetricDataQueries": [metric_data_query(q) for q in queries],
        "StartTime": window.start,
        "EndTime": window.end,
        "ScanBy": "TimestampAscending",
    }
    pages, token, seen_tokens = 0, None, set()
    while True:
        page = client.get_metric_data(**params, **({"NextToken": token} if token else {}))
        pages += 1
        _note(call_messages, (_message(m) for m in page.get("Messages", [])))
        for result in page.get("MetricDataResults", []):
            series = wanted.get(result.get("Id"))
            if series is None:
                _note(call_messages, [f"unexpected result id {result.get('Id')!r} ignored"])
                continue
            status = result.get("StatusCode", COMPLETE)
            problem = _merge(series, result.get("Timestamps", []), result.get("Values", []))
            if problem:
                status = INTERNAL_ERROR
                _note(series.messages, [f"page {pages}: {problem}"])
                q, v = series.query, series.query.variant
                log.warning(
                    "GetMetricData %s %s/%s %s %s from %s: %s",
                    client.meta.region_name, v.endpoint_name, v.variant_name, q.metric, q.stat,
                    window.start.isoformat(), problem,
                )  # fmt: skip
            if series.status not in _STICKY:
                series.status = status
            _note(series.messages, (_message(m) for m in result.get("Messages", [])))
        token = page.get("NextToken")
        if not token:
            break
        stop = ""
        if token in seen_tokens:
            stop = "NextToken repeated: paging stopped"
        elif pages >= MAX_PAGES:
            stop = f"still paging after {MAX_PAGES} pages: paging stopped"
        if stop:
            # A paging loop would never end. What was read is kept; the rest was promised and is missing.
            _note(call_messages, [stop])
            log.warning(
                "GetMetricData %s from %s: %s", client.meta.region_name, window.start.isoformat(), stop
            )
            for series in wanted.values():
                if series.status == COMPLETE:
                    series.status = PARTIAL
            break
        seen_tokens.add(token)
    return FetchResult([_finish(s, window) for s in wanted.values()], call_messages, pages)


def _merge(series: _Series, timestamps: list, values: list) -> str:
    """Add one page's points of a query; what is wrong with them, if anything ("" when nothing)."""
    if len(timestamps) != len(values):
        return (
            f"{len(timestamps)} timestamps but {len(values)} values: the points cannot be paired, none of "
            "this page's were kept"
        )
    conflicts = 0
    for ts, value in zip(timestamps, values, strict=True):
        # Keyed in UTC: two local times of one zone compare (and hash) by wall clock alone, so 01:00 EDT
        # and 01:00 EST, an hour apart, would be one key on the night clocks go back.
        moment = _utc(ts)
        if moment in series.points:
            old = series.points[moment]
            if not (old == value or (_is_nan(old) and _is_nan(value))):
                conflicts += 1  # the first value stays; the query is re-read
            continue
        series.points[moment] = value
    return f"{conflicts} timestamp(s) sent twice with different values" if conflicts else ""


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _finish(series: _Series, window: Window) -> SeriesResult:
    query = series.query
    spec = catalogue.spec(query.metric)
    out = SeriesResult(query=query, messages=series.messages)
    if series.status is None:
        out.status = INTERNAL_ERROR
        out.messages.append("CloudWatch returned no result for this query")
        return out
    out.status = series.status
    if out.status == PARTIAL:
        out.messages.append("still PartialData after the last page: later points are missing")
    dropped: Counter = Counter()
    unconverted: Counter = Counter()
    outside = 0
    for ts in sorted(series.points):
        raw = series.points[ts]
        if not window.start <= ts < window.end:
            outside += 1  # not asked for: storing it would write over data of another window
            continue
        value = catalogue.convert(spec, query.variant, raw, query.stat)
        if value is None:
            reason = catalogue.why_unconverted(spec, query.variant, raw)
            if raw is None or not math.isfinite(raw):
                dropped[reason] += 1  # nothing to keep
                continue
            # Keep CloudWatch's raw value with no converted one (e.g. the vCPU count is not known yet):
            # nothing is lost, and the stored value says "unknown" instead of a guess.
            unconverted[reason] += 1
        out.timestamps.append(ts)
        out.values.append(value)
        out.raw.append(raw)
    for reason, count in dropped.items():
        out.messages.append(f"{count} point(s) not stored: {reason}")
    for reason, count in unconverted.items():
        out.messages.append(f"{count} point(s) stored raw only: {reason}")
    if outside:
        out.messages.append(f"{outside} point(s) outside the requested window not stored")
    return out


def _utc(moment: datetime) -> datetime:
    # botocore parses JSON-protocol timestamps in the local zone (tzlocal): store them as UTC.
    return moment.astimezone(UTC)


def _message(message: dict) -> str:
    code, value = message.get("Code", ""), message.get("Value", "")
    return f"{code}: {value}" if code else value


def _note(messages: list[str], new) -> None:
    for message in new:
        if message not in messages:
            messages.append(message)
