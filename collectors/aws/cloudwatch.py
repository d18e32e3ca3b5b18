"""CloudWatch GetMetricData for one planned batch: every page read, every answer kept.

`fetch` makes one call sequence (the first call, then one per NextToken) for up to 500 queries sharing
one window and period (see collectors.metricplan), merges each query's pages into one SeriesResult,
and converts values to the catalogue's stored units. Nothing is dropped silently: a point that cannot
be converted, a query CloudWatch marks Forbidden / InternalError or still PartialData, and the call's own
Messages are all recorded. botocore errors (ClientError, BotoCoreError) propagate: the caller records
them, and the pages read before the error are discarded with the call.
"""

from __future__ import annotations

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

COMPLETE, PARTIAL, FORBIDDEN, INTERNAL_ERROR = "Complete", "PartialData", "Forbidden", "InternalError"
# A result that reported one of these on any page keeps it, even if a later page says Complete: the data
# of that page is missing.
_STICKY = (FORBIDDEN, INTERNAL_ERROR)
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


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
            series.points.update(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
            status = result.get("StatusCode", COMPLETE)
            if series.status not in _STICKY:
                series.status = status
            _note(series.messages, (_message(m) for m in result.get("Messages", [])))
        token = page.get("NextToken")
        if not token:
            break
        if token in seen_tokens:
            # A paging loop would never end; what was read is kept, flagged as partial below.
            _note(call_messages, ["NextToken repeated: paging stopped"])
            break
        seen_tokens.add(token)
    return FetchResult([_finish(s) for s in wanted.values()], call_messages, pages)


def _finish(series: _Series) -> SeriesResult:
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
    for ts in sorted(series.points, key=_utc):
        raw = series.points[ts]
        value = catalogue.convert(spec, query.variant, raw, query.stat)
        if value is None:
            reason = catalogue.why_unconverted(spec, query.variant, raw)
            if raw is None or not math.isfinite(raw):
                dropped[reason] += 1  # nothing to keep
                continue
            # Keep CloudWatch's raw value with no converted one (e.g. the vCPU count is not known yet):
            # nothing is lost, and the stored value says "unknown" instead of a guess.
            unconverted[reason] += 1
        out.timestamps.append(_utc(ts))
        out.values.append(value)
        out.raw.append(raw)
    for reason, count in dropped.items():
        out.messages.append(f"{count} point(s) not stored: {reason}")
    for reason, count in unconverted.items():
        out.messages.append(f"{count} point(s) stored raw only: {reason}")
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
