"""CloudWatch: GetMetricData (MetricStat queries only) and ListMetrics over the simulated fleet.

Rules modelled after CloudWatch:
- A metric matches only with exactly its dimensions, [EndpointName, VariantName] (order free): a query
  on EndpointName alone finds nothing, as in CloudWatch.
- StartTime is rounded down to the minute (start < 15 days old), 5 minutes (< 63 days) or the hour;
  periods are [start + k * Period, ...), data only from minutes that have fully elapsed.
- Retention: a period starting more than 15 days ago needs Period % 300 == 0, more than 63 days ago
  Period % 3600 == 0, more than 455 days ago nothing: too fine a period gives no value for that part.
- At most 500 queries; a page holds at most min(MaxDatapoints, metric_page_points) data points in all;
  every page lists every query, with StatusCode PartialData while it has points left for later pages.
- A Unit that is not the metric's own returns no data. Expression (metric math) queries are refused.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime

from collectors.simulator.metrics import CATALOGUE, aggregate, day_chunks, metrics_for, parse_stat
from collectors.simulator.protocol import (
    AWSError,
    Call,
    decode_token,
    digest,
    encode_token,
    read_token,
    to_utc,
)

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
DAY_SECONDS = 86400
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_results_lock = threading.Lock()


def _retained(bucket_start: int, period: int, now: int) -> bool:
    age = now - bucket_start
    if age > 455 * DAY_SECONDS:
        return False
    if age > 63 * DAY_SECONDS:
        return period % 3600 == 0
    if age > 15 * DAY_SECONDS:
        return period % 300 == 0
    return True


def _aligned_start(start: int, now: int) -> int:
    age = now - start
    step = 60 if age <= 15 * DAY_SECONDS else 300 if age <= 63 * DAY_SECONDS else 3600
    return start - start % step


def _variant_for(call: Call, metric: dict):
    dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
    if set(dims) != {"EndpointName", "VariantName"} or len(metric.get("Dimensions", [])) != 2:
        return None, None
    ep = call.sim.fleet.find(call.account.account_id, call.region, dims["EndpointName"])
    if ep is None:
        return None, None
    variant = next((v for v in ep.variants if v.name == dims["VariantName"]), None)
    return (ep, variant) if variant else (None, None)


def _check(params: dict) -> list[dict]:
    queries = params["MetricDataQueries"]
    if len(queries) > MAX_QUERIES:
        raise AWSError(
            "ValidationError",
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}.",
        )
    ids = [q["Id"] for q in queries]
    if len(set(ids)) != len(ids):
        raise AWSError("ValidationError", "The values for parameter id in MetricDataQueries are not unique.")
    for q in queries:
        if not _ID.match(q["Id"]):
            raise AWSError(
                "ValidationError",
                f"Invalid metric data query id {q['Id']!r}: it must start with a lower-case letter and hold "
                "only letters, digits and underscores.",
            )
        if "Expression" in q or "MetricStat" not in q:
            raise AWSError(
                "ValidationError", f"Query {q['Id']}: the simulated CloudWatch answers MetricStat only."
            )
        stat, period = q["MetricStat"]["Stat"], q["MetricStat"]["Period"]
        if parse_stat(stat) is None:
            raise AWSError(
                "ValidationError", f"Query {q['Id']}: statistic {stat!r} is not modelled by the simulator."
            )
        if period % 60 and period not in (1, 5, 10, 30):
            raise AWSError(
                "ValidationError", f"Query {q['Id']}: the Period must be 1, 5, 10, 30 or a multiple of 60."
            )
    return queries


def _series(call: Call, query: dict, start: int, end: int, now: int) -> list[tuple[int, float]]:
    stat_def = query["MetricStat"]
    metric = stat_def["Metric"]
    definition = CATALOGUE.get((metric.get("Namespace"), metric.get("MetricName")))
    if definition is None:
        return []
    ep, variant = _variant_for(call, metric)
    if variant is None or not definition.applies(variant):
        return []
    if "Unit" in stat_def and stat_def["Unit"] not in definition.units:
        return []
    stat = parse_stat(stat_def["Stat"])
    period = max(60, stat_def["Period"])  # standard-resolution data: finer periods read whole minutes
    traffic = call.sim.fleet.traffic

    def day_of(day_index: int):
        return traffic.day(variant.uid, date.fromordinal(_EPOCH_ORDINAL + day_index))

    available = now // 60  # first minute not yet fully elapsed
    created = -(-int(ep.created_at.timestamp()) // 60)
    points = []
    bucket = _aligned_start(start, now)
    if bucket // 60 < created:  # skip straight to the period holding the endpoint's first minute
        bucket += (created * 60 - bucket) // period * period
    while bucket < end:
        lo = max(bucket // 60, created)
        hi = min(-(-min(bucket + period, end) // 60), available)
        if hi > lo and _retained(bucket, period, now):
            value = aggregate(definition, variant, day_chunks(lo, hi, day_of), stat)
            if value is not None:
                points.append((bucket, value))
        elif bucket // 60 >= available:
            break
        bucket += period
    return points


def _compute(call: Call, params: dict, now: int) -> list[tuple[dict, list[tuple[int, float]]]]:
    queries = _check(params)
    start, end = int(to_utc(params["StartTime"]).timestamp()), int(to_utc(params["EndTime"]).timestamp())
    if start >= end:
        raise AWSError("ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
    descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
    # Queries of one variant together, so its days stay in the traffic cache while they are read.
    order = sorted(
        range(len(queries)), key=lambda i: repr(queries[i]["MetricStat"]["Metric"].get("Dimensions"))
    )
    results: list = [None] * len(queries)
    for i in order:
        points = _series(call, queries[i], start, end, now)
        results[i] = (queries[i], points[::-1] if descending else points)
    return [r for r in results if r[0].get("ReturnData", True)]


def get_metric_data(call: Call, params: dict) -> dict:
    sim = call.sim
    fingerprint = digest(params, call.account.account_id, call.region)
    offset, stamp = read_token(params.get("NextToken"), fingerprint, "InvalidNextToken", noun="NextToken")
    # Later pages answer as of the first page's moment, so a moving clock cannot shift the data under them.
    now = stamp if stamp is not None else int(call.now.timestamp())
    with _results_lock:
        results = sim.metric_results.get((fingerprint, now))
    if results is None:
        results = _compute(call, params, now)
        with _results_lock:
            sim.metric_results[(fingerprint, now)] = results
            while len(sim.metric_results) > 4:
                sim.metric_results.popitem(last=False)
    limit = min(params.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS, sim.metric_page_points)
    page_end = offset + limit
    out_results, position = [], 0
    for query, points in results:
        first, last = position, position + len(points)
        position = last
        chunk = points[max(0, offset - first) : max(0, page_end - first)]
        out_results.append(
            {
                "Id": query["Id"],
                "Label": query.get("Label") or query["MetricStat"]["Metric"]["MetricName"],
                "Timestamps": [datetime.fromtimestamp(t, UTC) for t, _ in chunk],
                "Values": [v for _, v in chunk],
                "StatusCode": "PartialData" if last > page_end else "Complete",
            }
        )
    out: dict = {"MetricDataResults": out_results, "Messages": []}
    if position > page_end:
        out["NextToken"] = encode_token(page_end, fingerprint, now)
    return out


def list_metrics(call: Call, params: dict) -> dict:
    """RecentlyActive, IncludeLinkedAccounts and OwningAccount are accepted and ignored."""
    wanted_dims = params.get("Dimensions", [])
    rows = []
    for ep in call.sim.fleet.in_scope(call.account.account_id, call.region):
        for v in ep.variants:
            dims = {"EndpointName": ep.name, "VariantName": v.name}
            if any(
                d["Name"] not in dims or d.get("Value", dims[d["Name"]]) != dims[d["Name"]]
                for d in wanted_dims
            ):
                continue
            for m in metrics_for(v):
                if params.get("Namespace", m.namespace) != m.namespace:
                    continue
                if params.get("MetricName", m.name) != m.name:
                    continue
                rows.append(
                    {
                        "Namespace": m.namespace,
                        "MetricName": m.name,
                        "Dimensions": [{"Name": k, "Value": val} for k, val in dims.items()],
                    }
                )
    fingerprint = digest(params, call.account.account_id, call.region)
    offset = decode_token(params.get("NextToken"), fingerprint, "InvalidNextToken", noun="NextToken")
    out: dict = {"Metrics": rows[offset : offset + 500]}
    if offset + 500 < len(rows):
        out["NextToken"] = encode_token(offset + 500, fingerprint)
    return out


HANDLERS = {"GetMetricData": get_metric_data, "ListMetrics": list_metrics}
