"""Cost Explorer over the simulated bill (billing.py): GetCostAndUsage, GetCostAndUsageWithResources,
GetCostForecast, GetDimensionValues.

- The first (ambient) account is the payer and sees every linked account; another account sees itself.
- Costs lag: nothing for today or later. The last two days with data are `Estimated`.
- Resource-level data (RESOURCE_ID = endpoint ARN) covers the last 14 days and is opted in for the payer
  only; another account gets DataUnavailableException (the message is a guess).
- Groups page at `ce_page_size` per response (NextPageToken); a period without groups still appears.
- Forecast: each future day is the median daily cost of the 28 days before today (a median, so a
  few days' jump barely moves it), the interval +- z x 1.4826 x MAD at PredictionIntervalLevel (80).
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from decimal import Decimal
from statistics import NormalDist

from collectors.simulator.billing import CostLine
from collectors.simulator.cefilter import (
    DIMENSIONS,
    RESOURCE_ID,
    check_expression,
    check_group_by,
    dimension_value,
    group_key,
    matches,
)
from collectors.simulator.protocol import AWSError, Call, decode_token, digest, encode_token

COST_METRICS = {"UnblendedCost", "AmortizedCost", "BlendedCost", "NetUnblendedCost", "NetAmortizedCost"}
USAGE_METRICS = {"UsageQuantity", "NormalizedUsageAmount"}
FORECAST_METRICS = {
    "UNBLENDED_COST",
    "AMORTIZED_COST",
    "BLENDED_COST",
    "NET_UNBLENDED_COST",
    "NET_AMORTIZED_COST",
}
RESOURCE_DAYS = 14
ESTIMATED_DAYS = 2


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise AWSError("ValidationException", f"{field} {text!r} is not a date (yyyy-MM-dd).") from None


def _period(params: dict) -> tuple[date, date]:
    start = _date(params["TimePeriod"]["Start"], "Start")
    end = _date(params["TimePeriod"]["End"], "End")
    if start >= end:
        raise AWSError("ValidationException", "Start date (and hour) should be before end date (and hour)")
    return start, end


def _amount(value: Decimal) -> str:
    return "0" if value == 0 else format(value.normalize(), "f")


def _visible_accounts(call: Call) -> set[str]:
    if call.account.account_id == call.sim.ambient_account_id:
        return {a.account_id for a in call.sim.accounts}
    return {call.account.account_id}


def _lines(call: Call, start: date, end: date, expr: dict | None) -> list[CostLine]:
    fleet, today = call.sim.fleet, call.now.date()
    accounts = _visible_accounts(call)
    last = min(end, today)
    days = [start + timedelta(days=i) for i in range(max(0, (last - start).days))]
    out = []
    for ep in fleet.endpoints:
        if ep.account_id not in accounts:
            continue
        for day in days:
            if day < ep.created_at.date():
                continue
            out.extend(line for line in fleet.daily_cost_lines(ep, day) if matches(expr, line))
    return out


def _periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    if granularity == "HOURLY":
        raise AWSError("ValidationException", "Hourly granularity is not enabled for this account.")
    if granularity == "DAILY":
        return [(start + timedelta(days=i), start + timedelta(days=i + 1)) for i in range((end - start).days)]
    out, cursor = [], start
    while cursor < end:
        month_end = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((cursor, min(month_end, end)))
        cursor = min(month_end, end)
    return out


def _metric_values(lines: list[CostLine], metrics: list[str]) -> dict:
    out = {}
    for metric in metrics:
        if metric in COST_METRICS:
            out[metric] = {"Amount": _amount(sum((ln.cost for ln in lines), Decimal(0))), "Unit": "USD"}
        else:
            units = {ln.unit for ln in lines}
            out[metric] = {
                "Amount": _amount(sum((ln.quantity for ln in lines), Decimal(0))),
                "Unit": units.pop() if len(units) == 1 else "N/A",
            }
    return out


def _cost_and_usage(call: Call, params: dict, *, resources: bool) -> dict:
    start, end = _period(params)
    today = call.now.date()
    if resources:
        if call.account.account_id not in call.sim.resource_level_accounts:
            raise AWSError(
                "DataUnavailableException",
                "Resource-level data is not enabled for this account: enable it in the Cost Explorer "
                "preferences of the management account.",
            )
        if start < today - timedelta(days=RESOURCE_DAYS):
            raise AWSError(
                "ValidationException",
                f"Start date is more than {RESOURCE_DAYS} days ago. Please adjust start date as we support "
                f"only {RESOURCE_DAYS} days of resource-level data.",
            )
    metrics = params.get("Metrics") or []
    if not metrics:
        raise AWSError("ValidationException", "Metrics must not be empty.")
    unknown = [m for m in metrics if m not in COST_METRICS | USAGE_METRICS]
    if unknown:
        raise AWSError("ValidationException", f"Unsupported metrics: {', '.join(unknown)}")
    expr = params.get("Filter")
    if expr:
        check_expression(expr, resources=resources)
    groups = params.get("GroupBy") or []
    check_group_by(groups, resources=resources)
    periods = _periods(start, end, params["Granularity"])
    lines = _lines(call, start, end, expr)
    by_period: dict[date, list[CostLine]] = {}
    for p_start, p_end in periods:
        for i in range((p_end - p_start).days):
            by_period.setdefault(p_start + timedelta(days=i), [])
    for line in lines:
        by_period[line.day].append(line)

    cells = []  # (period index, group keys or None, lines)
    for index, (p_start, p_end) in enumerate(periods):
        period_lines = [
            ln for i in range((p_end - p_start).days) for ln in by_period[p_start + timedelta(days=i)]
        ]
        if not groups:
            cells.append((index, None, period_lines))
            continue
        grouped: dict[tuple[str, ...], list[CostLine]] = {}
        for line in period_lines:
            grouped.setdefault(tuple(group_key(g, line) for g in groups), []).append(line)
        if not grouped:
            cells.append((index, None, []))
        cells.extend((index, keys, grouped[keys]) for keys in sorted(grouped))

    fingerprint = digest(params, call.account.account_id, call.now.date())
    offset = decode_token(params.get("NextPageToken"), fingerprint, "InvalidNextTokenException")
    page_end = offset + call.sim.ce_page_size
    results: list[dict] = []
    current = None
    for index, keys, cell_lines in cells[offset:page_end]:
        if current is None or current[0] != index:
            p_start, p_end = periods[index]
            entry = {
                "TimePeriod": {"Start": p_start.isoformat(), "End": p_end.isoformat()},
                "Total": {} if groups else _metric_values(cell_lines, metrics),
                "Groups": [],
                "Estimated": p_end > today - timedelta(days=ESTIMATED_DAYS),
            }
            results.append(entry)
            current = (index, entry)
        if keys is not None:
            current[1]["Groups"].append({"Keys": list(keys), "Metrics": _metric_values(cell_lines, metrics)})
    out: dict = {"ResultsByTime": results, "DimensionValueAttributes": []}
    if groups:
        out["GroupDefinitions"] = [{"Type": g["Type"], "Key": g["Key"]} for g in groups]
    if any(g["Type"] == "DIMENSION" and g["Key"] == "LINKED_ACCOUNT" for g in groups):
        labels = {a.account_id: a.label for a in call.sim.accounts}
        seen = sorted({ln.account_id for ln in lines})
        out["DimensionValueAttributes"] = [
            {"Value": a, "Attributes": {"description": labels[a]}} for a in seen
        ]
    if page_end < len(cells):
        out["NextPageToken"] = encode_token(page_end, fingerprint)
    return out


def get_cost_and_usage(call: Call, params: dict) -> dict:
    return _cost_and_usage(call, params, resources=False)


def get_cost_and_usage_with_resources(call: Call, params: dict) -> dict:
    return _cost_and_usage(call, params, resources=True)


def get_cost_forecast(call: Call, params: dict) -> dict:
    start, end = _period(params)
    today = call.now.date()
    if start < today:
        raise AWSError("ValidationException", "Start date must be today or later for a forecast.")
    granularity = params["Granularity"]
    horizon = {"DAILY": 93, "MONTHLY": 548}.get(granularity)
    if horizon is None:
        raise AWSError("ValidationException", f"Granularity {granularity} is not supported for forecasts.")
    if end > today + timedelta(days=horizon):
        raise AWSError("ValidationException", f"{granularity} forecasts reach at most {horizon} days ahead.")
    if params["Metric"] not in FORECAST_METRICS:
        raise AWSError("ValidationException", f"Metric {params['Metric']} is not modelled by the simulator.")
    expr = params.get("Filter")
    if expr:
        check_expression(expr, resources=False, tags=False)
    history_start = today - timedelta(days=28)
    daily = dict.fromkeys((history_start + timedelta(days=i) for i in range(28)), Decimal(0))
    for line in _lines(call, history_start, today, expr):
        daily[line.day] += line.cost
    values = [float(v) for v in daily.values()]
    mean = statistics.median(values)
    spread = 1.4826 * statistics.median(abs(v - mean) for v in values)
    z = NormalDist().inv_cdf(0.5 + params.get("PredictionIntervalLevel", 80) / 200)
    results, total = [], Decimal(0)
    for p_start, p_end in _periods(start, end, granularity):
        days = (p_end - p_start).days
        value = Decimal(repr(round(mean * days, 10)))
        half = z * spread * days**0.5
        total += value
        results.append(
            {
                "TimePeriod": {"Start": p_start.isoformat(), "End": p_end.isoformat()},
                "MeanValue": _amount(value),
                "PredictionIntervalLowerBound": _amount(
                    Decimal(repr(round(max(0.0, mean * days - half), 10)))
                ),
                "PredictionIntervalUpperBound": _amount(Decimal(repr(round(mean * days + half, 10)))),
            }
        )
    return {"Total": {"Amount": _amount(total), "Unit": "USD"}, "ForecastResultsByTime": results}


def get_dimension_values(call: Call, params: dict) -> dict:
    start, end = _period(params)
    key = params["Dimension"]
    if key not in DIMENSIONS and key != RESOURCE_ID:
        raise AWSError(
            "ValidationException", f"Dimension {key} is not modelled by the simulated Cost Explorer."
        )
    if key == RESOURCE_ID:
        raise AWSError("ValidationException", f"Dimension {RESOURCE_ID} is not allowed.")
    expr = params.get("Filter")
    if expr:
        check_expression(expr, resources=False)
    values = sorted({dimension_value(line, key) for line in _lines(call, start, end, expr)})
    needle = params.get("SearchString", "").lower()
    values = [v for v in values if needle in v.lower()]
    labels = {a.account_id: a.label for a in call.sim.accounts}
    fingerprint = digest(params, call.account.account_id, call.now.date())
    offset = decode_token(params.get("NextPageToken"), fingerprint, "InvalidNextTokenException")
    size = params.get("MaxResults") or 1000
    page = values[offset : offset + size]
    out: dict = {
        "DimensionValues": [
            {"Value": v, "Attributes": {"description": labels[v]} if key == "LINKED_ACCOUNT" else {}}
            for v in page
        ],
        "ReturnSize": len(page),
        "TotalSize": len(values),
    }
    if offset + size < len(values):
        out["NextPageToken"] = encode_token(offset + size, fingerprint)
    return out


HANDLERS = {
    "GetCostAndUsage": get_cost_and_usage,
    "GetCostAndUsageWithResources": get_cost_and_usage_with_resources,
    "GetCostForecast": get_cost_forecast,
    "GetDimensionValues": get_dimension_values,
}
