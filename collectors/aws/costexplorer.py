"""Cost Explorer: SageMaker cost by usage type, by tag, by resource, and the month's forecast.

Every request costs $0.01, each page included, so the request count never grows with the number of
endpoints: `daily_costs` is one request sequence per region (filtered by account, grouped by usage
type, whose count is bounded by the instance types and memory sizes in use). Only resource-level data
(`resource_costs`) grows with the fleet, one group per endpoint and day.

An organization's payer (management) account sees its linked accounts' costs: given several account
ids, each query filters on all of them and groups by LINKED_ACCOUNT first, so one request sequence
serves every account (a forecast cannot be grouped: it stays one request per account). There is no
boto3 paginator for these calls: each function loops on NextPageToken.

Answers become `collectors.costmodel` rows. A figure that cannot be read (an amount that is not a
finite number or does not fit the stored columns, a unit that is not a currency code, a period that is
not a day or lies outside the period asked for, a group key that is missing or holds a NUL, a group
repeated) raises ValueError naming the field: nothing half-parsed is ever returned. Refunds and credits
are negative amounts and are kept. Dates are UTC days; every `end` is exclusive, as in Cost Explorer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from collectors.costmodel import CostRow, Forecast, ResourceCostRow, TagCostRow

SERVICE = "Amazon SageMaker"  # Cost Explorer's SERVICE value (GetDimensionValues confirms it)
RESOURCE_DAYS = 14  # resource-level data covers the last 14 days
MAX_PAGES = 500  # a guard against a peer that keeps answering with a token: 500 pages = $5
_CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217, matched whole (a "$" would let "USD\n" through)
# Amounts are stored as numeric(20, 10): anything from ten billion up is corruption, not a bill, and more
# than 10 decimal places are rounded to 10 here rather than by Postgres (which fails on huge exponents).
MAX_AMOUNT = Decimal(10) ** 10
PLACES = Decimal("1E-10")
MAX_KEY = 2048  # a group key: a usage type, a "tag$value" or an ARN (at most 2048 characters in AWS)
MAX_USAGE_TYPE = 200  # the stored column; real usage types are about 30 characters


def _dimension(key: str, value: str) -> dict:
    return {"Dimensions": {"Key": key, "Values": [value]}}


def sagemaker_filter(
    account_id: str | Sequence[str], region: str | None = None, regions: list[str] | None = None
) -> dict:
    """SERVICE = SageMaker AND LINKED_ACCOUNT in the account(s) (so a payer never double counts a member
    that is configured too) [AND REGION = region | REGION in regions]."""
    ids = _ids(account_id)
    parts = [_dimension("SERVICE", SERVICE), {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ids}}]
    if region:
        parts.append(_dimension("REGION", region))
    elif regions:
        parts.append({"Dimensions": {"Key": "REGION", "Values": sorted(regions)}})
    return {"And": parts}


def _ids(account_id: str | Sequence[str]) -> list[str]:
    ids = [account_id] if isinstance(account_id, str) else sorted(set(account_id))
    if not ids:
        raise ValueError("no account to ask Cost Explorer about")
    return ids


BY_ACCOUNT = {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}


def _grouping(ids: list[str], group: dict) -> list[dict]:
    """One account: grouped by `group` alone; several: by LINKED_ACCOUNT, then `group`."""
    return [BY_ACCOUNT, group] if len(ids) > 1 else [group]


def _keyed(keys: tuple[str, ...], ids: list[str], where: str) -> tuple[str, str]:
    """(account id, group key) of a group's keys, as `_grouping` asked for them."""
    if len(ids) == 1:
        return ids[0], keys[0]
    account, key = keys
    if account not in ids:
        raise ValueError(f"{where}: account {account[:40]!r} was not asked for")
    return account, key


def is_data_unavailable(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "DataUnavailableException"


def _pages(call, params: dict, what: str) -> Iterator[dict]:
    token = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = call(**params, **({"NextPageToken": token} if token else {}))
        yield page
        token = page.get("NextPageToken")
        if not token:
            return
        if token in seen:
            raise ValueError(f"Cost Explorer {what}: NextPageToken {token!r} came back twice")
        seen.add(token)
    raise ValueError(f"Cost Explorer {what}: still paging after {MAX_PAGES} pages")


# --- parsing -----------------------------------------------------------------------------------------
def parse_amount(value, where: str) -> Decimal:
    """A Cost Explorer amount (a decimal string; "-1.23" for a refund or credit) as a finite Decimal of
    less than ten billion, with at most 10 decimal places."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.Amount is missing or not a string: {value!r}")
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"{where}.Amount is not a number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"{where}.Amount is not a finite number: {value!r}")
    if amount.copy_abs() < MAX_AMOUNT and amount.as_tuple().exponent < -10:
        amount = amount.quantize(PLACES)
    if amount.copy_abs() >= MAX_AMOUNT:
        raise ValueError(f"{where}.Amount {value[:40]!r} is out of range: at most {MAX_AMOUNT} either way")
    return amount


def parse_money(metrics: dict, name: str, where: str) -> tuple[Decimal, str]:
    """(amount, currency) of one cost metric of a group or total."""
    value = metrics.get(name) if isinstance(metrics, dict) else None
    if not isinstance(value, dict):
        raise ValueError(f"{where}.{name} is missing")
    unit = value.get("Unit")
    if not isinstance(unit, str) or not _CURRENCY.fullmatch(unit):
        raise ValueError(f"{where}.{name}.Unit {unit!r} is not a currency code")
    return parse_amount(value.get("Amount"), f"{where}.{name}"), unit


def parse_day(result: dict, where: str) -> date:
    """The day of a DAILY period; anything else (a month, a malformed date) is refused."""
    period = result.get("TimePeriod") or {}
    try:
        start = date.fromisoformat(str(period.get("Start", ""))[:10])
        end = date.fromisoformat(str(period.get("End", ""))[:10])
    except ValueError:
        raise ValueError(f"{where}.TimePeriod {period!r} is not a pair of dates") from None
    if end - start != timedelta(days=1):
        raise ValueError(f"{where}.TimePeriod {period!r} is not one day")
    return start


def _in_period(day: date, start: date, end: date, result: dict, where: str) -> None:
    # A day that was not asked for would overwrite stored rows that were not re-read.
    if not start <= day < end:
        raise ValueError(f"{where}.TimePeriod {result.get('TimePeriod')!r} is outside [{start}, {end})")


def _groups(
    page: dict, what: str, page_no: int, start: date, end: date, width: int = 1
) -> Iterator[tuple[date, bool, tuple[str, ...], dict, str]]:
    """(day, estimated, the group's `width` keys, its metrics, where) of every group of a page. A period
    without Groups is a day without cost."""
    for i, result in enumerate(page.get("ResultsByTime") or []):
        where = f"{what} page {page_no} ResultsByTime[{i}]"
        day = parse_day(result, where)
        _in_period(day, start, end, result, where)
        estimated = bool(result.get("Estimated", False))
        for j, group in enumerate(result.get("Groups") or []):
            keys = group.get("Keys") or []
            if len(keys) != width or not all(
                isinstance(k, str) and "\x00" not in k and len(k) <= MAX_KEY for k in keys
            ):
                shown = [k[:60] if isinstance(k, str) else k for k in keys]
                raise ValueError(
                    f"{where}.Groups[{j}].Keys {shown!r} is not {width} key(s) of at most {MAX_KEY} "
                    "characters without NUL"
                )
            yield day, estimated, tuple(keys), group.get("Metrics"), f"{where}.Groups[{j}].Metrics"


def _once(seen: set, key: tuple, where: str) -> None:
    # A group repeated across pages would be counted twice: refuse rather than double the cost.
    if key in seen:
        raise ValueError(f"{where}: group {key!r} appears twice")
    seen.add(key)


def _window(start: date, end: date) -> dict:
    if start >= end:
        raise ValueError(f"empty period: start {start} is not before end {end}")
    return {"Start": start.isoformat(), "End": end.isoformat()}


# --- the calls ---------------------------------------------------------------------------------------
def daily_costs(
    client: BaseClient,
    *,
    start: date,
    end: date,
    account_id: str | None = None,
    regions: Sequence[str] = (),
    accounts: Mapping[str, Sequence[str]] | None = None,
) -> list[CostRow]:
    """SageMaker cost per usage type, day and region of one account (`account_id` in `regions`) or of
    several read through their payer (`accounts`: account id -> its regions), [start, end): one request
    sequence per region, whatever the number of endpoints or accounts."""
    accounts = accounts if accounts is not None else {account_id: list(regions)}
    by_region: dict[str, list[str]] = {}
    for acct, acct_regions in accounts.items():
        for region in acct_regions:
            by_region.setdefault(region, []).append(acct)
    rows: list[CostRow] = []
    for region, members in by_region.items():
        ids = _ids(members)
        params = {
            "TimePeriod": _window(start, end),
            "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "AmortizedCost"],
            "Filter": sagemaker_filter(ids, region),
            "GroupBy": _grouping(ids, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}),
        }
        what = _what("GetCostAndUsage", ids) + f"/{region}"
        seen: set = set()
        for n, page in enumerate(_pages(client.get_cost_and_usage, params, what), 1):
            for day, estimated, keys, metrics, where in _groups(
                page, what, n, start, end, len(params["GroupBy"])
            ):
                acct, usage_type = _keyed(keys, ids, where)
                if len(usage_type) > MAX_USAGE_TYPE:
                    raise ValueError(
                        f"{where}: usage type {usage_type[:40]!r}... is longer than {MAX_USAGE_TYPE} "
                        "characters"
                    )
                _once(seen, (acct, day, usage_type), where)
                unblended, currency = parse_money(metrics, "UnblendedCost", where)
                amortized, amortized_currency = parse_money(metrics, "AmortizedCost", where)
                if amortized_currency != currency:
                    raise ValueError(
                        f"{where}: UnblendedCost in {currency}, AmortizedCost in {amortized_currency}"
                    )
                rows.append(CostRow(acct, region, usage_type, day, unblended, amortized, currency, estimated))
    return rows


def _what(call: str, ids: list[str]) -> str:
    return f"{call} {'+'.join(ids) if len(ids) < 4 else f'{len(ids)} accounts'}"


def tag_costs(
    client: BaseClient, *, account_id: str | Sequence[str], tag_key: str, start: date, end: date
) -> list[TagCostRow]:
    """SageMaker cost per account, value of a cost-allocation tag and day, [start, end); `tag_value` ""
    holds the untagged cost (Cost Explorer's group key "key$")."""
    ids = _ids(account_id)
    params = {
        "TimePeriod": _window(start, end),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": sagemaker_filter(ids),
        "GroupBy": _grouping(ids, {"Type": "TAG", "Key": tag_key}),
    }
    what = _what("GetCostAndUsage", ids) + f" tag {tag_key}"
    prefix = f"{tag_key}$"
    rows, seen = [], set()
    for n, page in enumerate(_pages(client.get_cost_and_usage, params, what), 1):
        for day, estimated, keys, metrics, where in _groups(
            page, what, n, start, end, len(params["GroupBy"])
        ):
            acct, key = _keyed(keys, ids, where)
            if not key.startswith(prefix):
                raise ValueError(f"{where}: group key {key!r} is not {prefix!r} + a tag value")
            value = key[len(prefix) :]
            _once(seen, (acct, day, value), where)
            amount, currency = parse_money(metrics, "UnblendedCost", where)
            rows.append(TagCostRow(acct, tag_key, value, day, amount, currency, estimated))
    return rows


def resource_costs(
    client: BaseClient, *, account_id: str | Sequence[str], start: date, end: date, today: date
) -> list[ResourceCostRow] | None:
    """SageMaker cost per account, resource (ARN) and day, [start, end) clamped to the last 14 days
    before `today`. None when the account has not opted in to resource-level data
    (DataUnavailableException): the caller falls back to tags or estimates. Other errors propagate."""
    start = max(start, today - timedelta(days=RESOURCE_DAYS))
    if start >= end:
        return []
    ids = _ids(account_id)
    params = {
        "TimePeriod": _window(start, end),
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": sagemaker_filter(ids),
        "GroupBy": _grouping(ids, {"Type": "DIMENSION", "Key": "RESOURCE_ID"}),
    }
    what = _what("GetCostAndUsageWithResources", ids)
    rows, seen = [], set()
    try:
        for n, page in enumerate(_pages(client.get_cost_and_usage_with_resources, params, what), 1):
            for day, estimated, keys, metrics, where in _groups(
                page, what, n, start, end, len(params["GroupBy"])
            ):
                acct, arn = _keyed(keys, ids, where)
                _once(seen, (day, arn), where)
                amount, currency = parse_money(metrics, "UnblendedCost", where)
                rows.append(ResourceCostRow(acct, arn, day, amount, currency, estimated))
    except ClientError as exc:
        if is_data_unavailable(exc):
            return None
        raise
    return rows


def next_month_start(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def month_forecast(
    client: BaseClient, *, account_id: str, today: date, regions: list[str] | None = None
) -> Forecast | None:
    """Cost Explorer's forecast of this account's SageMaker cost from today to the end of the month
    (DAILY, [today, first of next month): one day on the month's last day; Cost Explorer refuses a start
    before today). None when Cost Explorer has too little history to forecast (DataUnavailableException).
    """
    end = next_month_start(today)
    try:
        answer = client.get_cost_forecast(
            TimePeriod=_window(today, end),
            Metric="UNBLENDED_COST",
            Granularity="DAILY",
            Filter=sagemaker_filter(account_id, regions=regions),
        )
    except ClientError as exc:
        if is_data_unavailable(exc):
            return None
        raise
    what = f"GetCostForecast {account_id}"
    amount, currency = parse_money({"Total": answer.get("Total")}, "Total", what)
    daily, lows, highs, seen = [], [], [], set()
    for i, result in enumerate(answer.get("ForecastResultsByTime") or []):
        where = f"{what} ForecastResultsByTime[{i}]"
        day = parse_day(result, where)
        _in_period(day, today, end, result, where)
        if day in seen:
            raise ValueError(f"{where}.TimePeriod: {day} appears twice")
        seen.add(day)
        daily.append((day, parse_amount(result.get("MeanValue"), f"{where}.MeanValue")))
        for field, into in (("PredictionIntervalLowerBound", lows), ("PredictionIntervalUpperBound", highs)):
            if result.get(field) is not None:
                into.append(parse_amount(result[field], f"{where}.{field}"))
    complete = len(lows) == len(highs) == len(daily) > 0
    return Forecast(
        account_id=account_id,
        start=today,
        end=end,
        amount=amount,
        lower=sum(lows, Decimal(0)) if complete else None,
        upper=sum(highs, Decimal(0)) if complete else None,
        currency=currency,
        daily=daily,
    )
