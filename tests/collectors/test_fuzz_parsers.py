"""Hypothesis fuzzing of the parsers of AWS answers: Cost Explorer (amounts, money, days, every call),
CloudWatch GetMetricData (fetch) and SageMaker inventory (fetch_inventory).

Each test builds a well-formed answer, then maybe corrupts one part of it (a NaN or huge amount, a unit
that is no currency, a period that is not a day or lies outside the request, a key holding a NUL, a
repeated group, unpaired timestamps, a missing field, a negative count, ...). The property: a clean
answer comes back as exactly the plain data it holds (every amount once, Decimal money, finite floats,
UTC datetimes), and a corrupted one raises the module's documented error naming the field (Cost
Explorer: ValueError) or is recorded on the result (CloudWatch: status and messages; SageMaker: the
snapshot's errors) without losing anything else. Never another exception type.

Answers reach the parsers through real boto3 clients: botocore's Stubber (which validates each answer
against the service model) for Cost Explorer and CloudWatch, and for SageMaker a before-call handler
(the hook Stubber itself uses) so an answer can even lack members the model calls required."""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from dateutil.tz import tzlocal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.aws import cloudwatch
from collectors.aws.costexplorer import (
    daily_costs,
    month_forecast,
    next_month_start,
    parse_amount,
    parse_day,
    parse_money,
    resource_costs,
    sagemaker_filter,
    tag_costs,
)
from collectors.aws.sagemaker import fetch_inventory
from collectors.costmodel import CostRow, Forecast, ResourceCostRow, TagCostRow
from collectors.model import INSTANCE, SERVERLESS, MetricQuery, VariantRef, Window

# Bounded and deterministic: the same examples on every run, nothing written to a .hypothesis database.
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Per corruption kind, when a test is parametrized by it.
EACH = settings(FUZZ, max_examples=12)

ACCOUNT, REGION = "111111111111", "us-east-1"
# A window across a month boundary and a leap day.
START, END = date(2028, 2, 26), date(2028, 3, 3)
DAYS = [START + timedelta(days=i) for i in range((END - START).days)]
MAX_AMOUNT = Decimal("9999999999.9999999999")  # 20 digits, 10 after the point: what is stored

# Text AWS would never send but a tag, a usage type or a name may still carry: kept verbatim.
HOSTILE_TEXT = [
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(A1:A9)",
    "-2+3",
    "@cmd",
    "<script>alert(1)</script>",
    "</script><img src=x onerror=alert(1)>",
    "🚀🔥 модель 模型",
    "é" * 256,
    " padded ",
    "line\nbreak\ttab",
]


def texts(min_size=0, max_size=40):
    """Any text a JSON answer can hold and Postgres can store (no NUL), plus the hostile samples."""
    free = st.text(st.characters(exclude_characters="\x00"), min_size=min_size, max_size=max_size)
    return st.one_of(free, st.sampled_from([t for t in HOSTILE_TEXT if min_size <= len(t) <= max_size]))


def client(service: str):
    # Stubber and the handlers below answer before anything is sent; the endpoint is a closed port.
    return boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture(scope="module")
def ce():
    return client("ce")


@pytest.fixture(scope="module")
def cw():
    return client("cloudwatch")


@pytest.fixture(scope="module")
def sm():
    return client("sagemaker")


# --- amounts, money, days ------------------------------------------------------------------------------
REFUSED_AMOUNTS = [
    "", "   ", "NaN", "-nan", "sNaN", "Infinity", "-Infinity", "inf", "1e10", "-1E+10", "10000000000",
    "9999999999.99999999999", "1E+400", "12,50", "$12.50", "12.50 USD", "0x1F", "1/2", "--1", "1.2.3",
]  # fmt: skip


def amount_texts():
    """Amounts as Cost Explorer writes them, refunds and credits (negative) included."""
    numbers = st.integers(0, 10).flatmap(
        lambda places: st.decimals(
            min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=places, allow_nan=False, allow_infinity=False
        )
    )
    spellings = st.sampled_from([str, lambda d: format(d, "f"), lambda d: f" {d} "])
    return st.builds(lambda d, spell: spell(d), numbers, spellings)


def refused_amounts():
    # Letters, punctuation, symbols and spaces alone never make a finite number.
    words = st.text(st.characters(categories=["L", "P", "S", "Zs"]), min_size=1, max_size=8)
    return st.one_of(st.sampled_from(REFUSED_AMOUNTS), words)


@FUZZ
@given(value=st.one_of(amount_texts(), refused_amounts(), st.none(), st.integers(), st.floats(), st.text()))
def test_parse_amount_gives_a_storable_decimal_or_a_value_error_naming_the_field(value):
    try:
        amount = parse_amount(value, "page 1.Groups[0].UnblendedCost")
    except ValueError as error:
        assert "page 1.Groups[0].UnblendedCost.Amount" in str(error)
        return
    assert isinstance(value, str) and type(amount) is Decimal and amount.is_finite()
    assert abs(amount) <= MAX_AMOUNT and amount.as_tuple().exponent >= -10
    assert abs(amount - Decimal(value.strip())) <= Decimal("0.00000000005")  # at most rounded to 10 places


@FUZZ
@given(text=amount_texts())
def test_every_amount_cost_explorer_can_send_is_kept_exactly_refunds_included(text):
    assert parse_amount(text, "x") == Decimal(text.strip())


@FUZZ
@given(value=refused_amounts())
def test_amounts_that_are_not_finite_numbers_or_do_not_fit_are_refused(value):
    with pytest.raises(ValueError, match=r"x\.Amount"):
        parse_amount(value, "x")


@FUZZ
@given(
    metrics=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["UnblendedCost", "AmortizedCost", "Other"]),
            st.one_of(
                st.none(),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "Amount": st.one_of(amount_texts(), refused_amounts(), st.none()),
                        "Unit": st.one_of(
                            st.sampled_from(["USD", "EUR", "usd", "US", "USD\n", "€"]), texts()
                        ),
                    },
                ),
            ),
        ),
    )
)
def test_parse_money_gives_an_amount_and_a_currency_code_or_names_what_is_wrong(metrics):
    try:
        amount, unit = parse_money(metrics, "UnblendedCost", "here")
    except ValueError as error:
        assert str(error).startswith("here.UnblendedCost")
        return
    assert type(amount) is Decimal and amount.is_finite()
    assert len(unit) == 3 and unit.isascii() and unit.isalpha() and unit.isupper()


ISO_DAYS = st.dates(date(2000, 1, 1), date(2100, 12, 31))


@FUZZ
@given(
    start=st.one_of(ISO_DAYS.map(date.isoformat), texts(max_size=12), st.just("2027-02-29")),
    end=st.one_of(ISO_DAYS.map(date.isoformat), texts(max_size=12), st.just("2028-03-01")),
)
def test_parse_day_accepts_exactly_one_day_and_names_the_period_otherwise(start, end):
    try:
        day = parse_day({"TimePeriod": {"Start": start, "End": end}}, "here")
    except ValueError as error:
        assert str(error).startswith("here.TimePeriod")
        return
    assert type(day) is date and date.fromisoformat(end[:10]) - day == timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end", "day"),
    [
        ("2028-02-29", "2028-03-01", date(2028, 2, 29)),  # a leap day, and the month's last
        ("2028-02-28", "2028-02-29", date(2028, 2, 28)),
        ("2026-12-31", "2027-01-01", date(2026, 12, 31)),  # a year boundary
        ("2026-11-01", "2026-11-02", date(2026, 11, 1)),  # 25 hours long in New York, one UTC day here
    ],
)
def test_boundary_days_are_one_day_each(start, end, day):
    assert parse_day({"TimePeriod": {"Start": start, "End": end}}, "x") == day


@pytest.mark.parametrize(
    ("start", "end"),
    [("2027-02-29", "2027-03-01"), ("2028-02-28", "2028-03-01"), ("2028-02-01", "2028-03-01")],
)
def test_a_leap_day_that_does_not_exist_or_a_period_longer_than_a_day_is_refused(start, end):
    with pytest.raises(ValueError, match="TimePeriod"):
        parse_day({"TimePeriod": {"Start": start, "End": end}}, "x")


# --- Cost Explorer answers -----------------------------------------------------------------------------
def one_day(day: date) -> dict:
    return {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}


@dataclass
class Line:
    day: date
    key: str
    amounts: dict[str, str]  # metric name -> Amount text
    unit: str


@dataclass
class CeAnswer:
    lines: list[Line]
    estimated: dict[date, bool]
    pages: list[dict] = field(default_factory=list)


@st.composite
def ce_answers(draw, keys, days, metrics, min_lines=0):
    """A well-formed GetCostAndUsage answer: distinct (day, key) lines spread over 1-3 pages (one day
    may be split across pages, as Cost Explorer does), plus days without cost."""
    cells = draw(
        st.lists(st.tuples(st.sampled_from(days), keys), min_size=min_lines, max_size=8, unique=True)
    )
    unit = draw(st.sampled_from(["USD", "USD", "USD", "EUR", "JPY"]))
    lines = [Line(day, key, {m: draw(amount_texts()) for m in metrics}, unit) for day, key in cells]
    answer = CeAnswer(lines, {d: draw(st.booleans()) for d in days})
    n_pages = draw(st.integers(1, 3))
    by_page: list[dict[date, list[dict]]] = [{} for _ in range(n_pages)]
    for line in lines:
        group = {
            "Keys": [line.key],
            "Metrics": {m: {"Amount": a, "Unit": line.unit} for m, a in line.amounts.items()},
        }
        by_page[draw(st.integers(0, n_pages - 1))].setdefault(line.day, []).append(group)
    for day in draw(st.lists(st.sampled_from(days), max_size=2, unique=True)):
        by_page[draw(st.integers(0, n_pages - 1))].setdefault(day, [])  # a day with no cost
    for i, groups in enumerate(by_page):
        page = {
            "ResultsByTime": [
                {"TimePeriod": one_day(day), "Total": {}, "Groups": g, "Estimated": answer.estimated[day]}
                for day, g in sorted(groups.items())
            ],
            "GroupDefinitions": [],
            "DimensionValueAttributes": [],
        }
        if i + 1 < n_pages:
            page["NextPageToken"] = f"page-{i + 2}"
        answer.pages.append(page)
    return answer


def groups_of(pages: list[dict]) -> list[dict]:
    return [g for page in pages for result in page["ResultsByTime"] for g in result["Groups"]]


def bad_periods(day: date) -> list[dict]:
    return [
        {"Start": day.replace(day=1).isoformat(), "End": next_month_start(day).isoformat()},  # a month
        {"Start": (day + timedelta(days=1)).isoformat(), "End": day.isoformat()},  # backwards
        {"Start": "2027-02-29", "End": "2027-03-01"},  # no such day
        {"Start": "yesterday", "End": "today"},
        {"Start": "", "End": ""},
        one_day(END + timedelta(days=3)),  # a day that was not asked for
        one_day(START - timedelta(days=1)),
    ]


@st.composite
def corrupted(draw, answer: CeAnswer, kind: str, metrics: list[str], extra_keys: list[list[str]]):
    """The answer's pages with one part corrupted by `kind` (or none: "clean"), and the fragment the
    error must name (None when clean). Every kind but "clean" needs an answer with a line."""
    pages = copy.deepcopy(answer.pages)
    groups, results = groups_of(pages), [r for p in pages for r in p["ResultsByTime"]]
    group = draw(st.sampled_from(groups)) if groups else None
    metric = draw(st.sampled_from(metrics))
    if kind == "clean":
        return pages, None
    if kind == "amount":
        group["Metrics"][metric]["Amount"] = draw(refused_amounts())
        return pages, f"{metric}.Amount"
    if kind == "no amount":
        del group["Metrics"][metric]["Amount"]
        return pages, f"{metric}.Amount"
    if kind == "unit":
        group["Metrics"][metric]["Unit"] = draw(
            st.sampled_from(["", "usd", "US", "USDX", "USD\n", "€", "U$D"])
        )
        return pages, f"{metric}.Unit"
    if kind == "currencies differ":
        unit = group["Metrics"][metrics[0]]["Unit"]
        group["Metrics"][metrics[1]]["Unit"] = "GBP" if unit != "GBP" else "EUR"
        return pages, "AmortizedCost in"
    if kind == "no metric":
        del group["Metrics"][metric]
        return pages, f"{metric} is missing"
    if kind == "no metrics":
        del group["Metrics"]
        return pages, f"{metrics[0]} is missing"
    if kind == "keys":
        group["Keys"] = draw(st.sampled_from([[], ["a", "b"], ["with\x00nul"], *extra_keys]))
        return pages, "Keys"
    if kind == "repeated":
        result = next(r for p in pages for r in p["ResultsByTime"] if group in r["Groups"])
        again = {**result, "Groups": [copy.deepcopy(group)]}
        draw(st.sampled_from(pages))["ResultsByTime"].append(again)
        return pages, "appears twice"
    result = draw(st.sampled_from(results))
    day = date.fromisoformat(result["TimePeriod"]["Start"])
    result["TimePeriod"] = draw(st.sampled_from(bad_periods(day)))
    return pages, "TimePeriod"


def run_stubbed(client, operation: str, pages: list[dict], call):
    with Stubber(client) as stub:
        for page in pages:
            stub.add_response(operation, page)
        return call()


USAGE_TYPES = st.one_of(
    st.sampled_from(["USE1-ServerlessInf:Mem-3GB", "USE1-Host:ml.g5.xlarge", "USE1-Data-Bytes-Out"]),
    texts(min_size=1, max_size=60),
)
BOTH_COSTS = ["UnblendedCost", "AmortizedCost"]
CORRUPTIONS = [
    "clean",
    "amount",
    "no amount",
    "unit",
    "no metric",
    "no metrics",
    "keys",
    "repeated",
    "period",
]


@pytest.mark.parametrize("kind", [*CORRUPTIONS, "currencies differ"])
@EACH
@given(data=st.data())
def test_daily_costs_keep_every_amount_exactly_once_or_refuse_the_answer_naming_the_field(ce, kind, data):
    answer = data.draw(ce_answers(USAGE_TYPES, DAYS, BOTH_COSTS, min_lines=int(kind != "clean")))
    pages, problem = data.draw(corrupted(answer, kind, BOTH_COSTS, [["u" * 201]]))

    def call():
        return daily_costs(ce, account_id=ACCOUNT, start=START, end=END, regions=[REGION])

    if problem is None:
        rows = run_stubbed(ce, "get_cost_and_usage", pages, call)
        expected = [
            CostRow(ACCOUNT, REGION, ln.key, ln.day, Decimal(ln.amounts["UnblendedCost"].strip()),
                    Decimal(ln.amounts["AmortizedCost"].strip()), ln.unit, answer.estimated[ln.day])
            for ln in answer.lines
        ]  # fmt: skip
        assert Counter(rows) == Counter(expected)
        assert sum((r.unblended for r in rows), Decimal(0)) == sum(
            (r.unblended for r in expected), Decimal(0)
        )
        assert all(type(r.unblended) is Decimal and type(r.amortized) is Decimal for r in rows)
    else:
        with pytest.raises(ValueError) as error:
            run_stubbed(ce, "get_cost_and_usage", pages, call)
        assert str(error.value).startswith(f"GetCostAndUsage {ACCOUNT}/{REGION} page"), error.value
        assert problem in str(error.value) or "usage type" in str(error.value), error.value


TAG_VALUES = st.one_of(st.just(""), texts(max_size=60))


@pytest.mark.parametrize("kind", CORRUPTIONS)
@EACH
@given(data=st.data())
def test_tag_costs_keep_hostile_tag_values_verbatim_and_refuse_keys_of_another_tag(ce, kind, data):
    keys = TAG_VALUES.map(lambda v: f"team${v}")
    answer = data.draw(ce_answers(keys, DAYS, ["UnblendedCost"], min_lines=int(kind != "clean")))
    pages, problem = data.draw(corrupted(answer, kind, ["UnblendedCost"], [["cost-centre$ml"], ["team"]]))

    def call():
        return tag_costs(ce, account_id=ACCOUNT, tag_key="team", start=START, end=END)

    if problem is None:
        rows = run_stubbed(ce, "get_cost_and_usage", pages, call)
        expected = [
            TagCostRow(ACCOUNT, "team", ln.key.removeprefix("team$"), ln.day,
                       Decimal(ln.amounts["UnblendedCost"].strip()), ln.unit, answer.estimated[ln.day])
            for ln in answer.lines
        ]  # fmt: skip
        assert Counter(rows) == Counter(expected)
        assert {r.tag_value for r in rows if r.untagged} <= {""}
    else:
        with pytest.raises(ValueError) as error:
            run_stubbed(ce, "get_cost_and_usage", pages, call)
        assert str(error.value).startswith(f"GetCostAndUsage {ACCOUNT} tag team page"), error.value
        assert problem in str(error.value) or "is not 'team$'" in str(error.value), error.value


ARNS = st.one_of(
    st.sampled_from([f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{n}" for n in ("a", "b", "search-x")]),
    texts(min_size=1, max_size=80),
)


@pytest.mark.parametrize("kind", CORRUPTIONS)
@EACH
@given(data=st.data())
def test_resource_costs_keep_credits_and_refuse_a_day_outside_the_last_14(ce, kind, data):
    answer = data.draw(ce_answers(ARNS, DAYS, ["UnblendedCost"], min_lines=int(kind != "clean")))
    pages, problem = data.draw(corrupted(answer, kind, ["UnblendedCost"], [["x" * 2049]]))

    def call():
        return resource_costs(ce, account_id=ACCOUNT, start=START, end=END, today=END)

    if problem is None:
        rows = run_stubbed(ce, "get_cost_and_usage_with_resources", pages, call)
        expected = [
            ResourceCostRow(ACCOUNT, ln.key, ln.day, Decimal(ln.amounts["UnblendedCost"].strip()), ln.unit,
                            answer.estimated[ln.day])
            for ln in answer.lines
        ]  # fmt: skip
        assert Counter(rows) == Counter(expected)
    else:
        with pytest.raises(ValueError) as error:
            run_stubbed(ce, "get_cost_and_usage_with_resources", pages, call)
        assert str(error.value).startswith(f"GetCostAndUsageWithResources {ACCOUNT} page"), error.value
        assert problem in str(error.value), error.value


FORECAST_DAYS = st.one_of(
    st.sampled_from([date(2028, 2, 29), date(2028, 2, 28), date(2026, 12, 31), date(2026, 11, 1)]),
    st.dates(date(2026, 1, 1), date(2030, 12, 31)),
)


FORECAST_CORRUPTIONS = ["clean", "total", "no total", "unit", "mean", "no mean", "bound", "period", "outside",
                        "repeated"]  # fmt: skip


@st.composite
def forecasts(draw, kind: str):
    """(today, answer, expected Forecast | None, fragment the error must name | None)."""
    today = draw(FORECAST_DAYS)
    end = next_month_start(today)
    days = [today + timedelta(days=i) for i in range((end - today).days)]
    unit = draw(st.sampled_from(["USD", "EUR"]))
    total = draw(amount_texts())
    bounds = draw(st.sampled_from(["all", "none", "some"]))
    results = []
    for i, day in enumerate(days):
        result = {"TimePeriod": one_day(day), "MeanValue": draw(amount_texts())}
        if bounds == "all" or (bounds == "some" and i % 2):
            result["PredictionIntervalLowerBound"] = draw(amount_texts())
            result["PredictionIntervalUpperBound"] = draw(amount_texts())
        results.append(result)
    answer = {"Total": {"Amount": total, "Unit": unit}, "ForecastResultsByTime": results}
    # The band is the sum of the daily bounds, and only when every day has both.
    complete = bounds == "all"
    lower = upper = None
    if complete:
        lower = sum((Decimal(r["PredictionIntervalLowerBound"].strip()) for r in results), Decimal(0))
        upper = sum((Decimal(r["PredictionIntervalUpperBound"].strip()) for r in results), Decimal(0))
    expected = Forecast(
        account_id=ACCOUNT, start=today, end=end, amount=Decimal(total.strip()),
        lower=lower, upper=upper, currency=unit,
        daily=[(d, Decimal(r["MeanValue"].strip())) for d, r in zip(days, results, strict=True)],
    )  # fmt: skip
    result = draw(st.sampled_from(results))
    if kind == "clean":
        return today, answer, expected, None
    if kind == "total":
        answer["Total"]["Amount"] = draw(refused_amounts())
        return today, answer, None, "Total.Amount"
    if kind == "no total":
        del answer["Total"]
        return today, answer, None, "Total is missing"
    if kind == "unit":
        answer["Total"]["Unit"] = draw(st.sampled_from(["", "usd", "USD\n", "dollars"]))
        return today, answer, None, "Total.Unit"
    if kind == "mean":
        result["MeanValue"] = draw(refused_amounts())
        return today, answer, None, "MeanValue"
    if kind == "no mean":
        del result["MeanValue"]
        return today, answer, None, "MeanValue"
    if kind == "bound":
        result["PredictionIntervalUpperBound"] = draw(refused_amounts())
        return today, answer, None, "PredictionIntervalUpperBound"
    if kind == "period":
        result["TimePeriod"] = draw(st.sampled_from(bad_periods(today)[:5]))
        return today, answer, None, "TimePeriod"
    if kind == "outside":
        result["TimePeriod"] = one_day(draw(st.sampled_from([today - timedelta(days=1), end])))
        return today, answer, None, "TimePeriod"
    results.append(copy.deepcopy(result))
    return today, answer, None, "appears twice"


@pytest.mark.parametrize("kind", FORECAST_CORRUPTIONS)
@EACH
@given(data=st.data())
def test_month_forecast_asks_from_today_to_the_months_end_and_keeps_the_answer_or_names_the_field(
    ce, kind, data
):
    today, answer, expected, problem = data.draw(forecasts(kind))
    params = {
        "TimePeriod": {"Start": today.isoformat(), "End": next_month_start(today).isoformat()},
        "Metric": "UNBLENDED_COST",
        "Granularity": "DAILY",
        "Filter": sagemaker_filter(ACCOUNT, regions=[REGION]),
    }
    with Stubber(ce) as stub:
        stub.add_response("get_cost_forecast", answer, expected_params=params)
        if problem is None:
            assert month_forecast(ce, account_id=ACCOUNT, today=today, regions=[REGION]) == expected
        else:
            with pytest.raises(ValueError) as error:
                month_forecast(ce, account_id=ACCOUNT, today=today, regions=[REGION])
            assert str(error.value).startswith(f"GetCostForecast {ACCOUNT}"), error.value
            assert problem in str(error.value), error.value


# --- CloudWatch GetMetricData --------------------------------------------------------------------------
# 04:00-08:00 UTC on 2026-11-01: New York's clocks go back from 02:00 EDT to 01:00 EST at 06:00 UTC.
WINDOW = Window(datetime(2026, 11, 1, 4, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC), 300)
SLOTS = [WINDOW.start + timedelta(seconds=300 * i) for i in range(48)]
# botocore hands out timestamps in the local zone (tzlocal); any zone must come out as UTC.
ZONES = [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14)), ZoneInfo("America/New_York"),
         ZoneInfo("Asia/Kolkata"), tzlocal()]  # fmt: skip
SERVERLESS_REF = VariantRef(1, "search-embed", "AllTraffic", SERVERLESS)
STATUSES = ["Complete", "Complete", "Complete", "PartialData", "Forbidden", "InternalError", None]
STICKY = {"Forbidden", "InternalError"}


def cw_queries(vcpus: int | None) -> list[MetricQuery]:
    gpu = VariantRef(2, "vision-gpu", "AllTraffic", INSTANCE, vcpus=vcpus, gpu_count=1)
    return [
        MetricQuery("q0", SERVERLESS_REF, "Invocations", "Sum", 300),
        MetricQuery("q1", SERVERLESS_REF, "ModelLatency", "p99", 300),  # microseconds -> ms
        MetricQuery("q2", gpu, "CPUUtilization", "Average", 300),  # 0-100 x vCPUs -> 0-100
    ]


@dataclass
class Sent:
    """What one result of one page carried, as the test meant it."""

    page: int
    qid: str
    points: list[tuple[datetime, float]]
    status: str | None
    broken: str = ""  # "unpaired" | "conflict" | "outside"


@st.composite
def metric_answers(draw, kind: str):
    """GetMetricData pages for the three queries, corrupted by `kind`, and what was sent."""
    n_pages = draw(st.integers(1, 3))
    sent: list[Sent] = []
    for qid in ("q0", "q1", "q2"):
        least = 1 if qid == "q0" and kind in ("unpaired", "conflict", "outside") else 0
        slots = draw(st.lists(st.sampled_from(SLOTS), min_size=least, max_size=10, unique=True))
        on_page = {p: [] for p in range(n_pages)}
        for slot in sorted(slots):
            value = draw(st.floats(allow_nan=True, allow_infinity=True))
            on_page[draw(st.integers(0, n_pages - 1))].append(
                (slot.astimezone(draw(st.sampled_from(ZONES))), value)
            )
        for p, points in on_page.items():
            if points or draw(st.booleans()):
                sent.append(Sent(p, qid, points, draw(st.sampled_from(STATUSES))))
    with_points = [s for s in sent if s.points]
    pages = [{"MetricDataResults": [], "Messages": []} for _ in range(n_pages)]
    if kind in ("unpaired", "conflict", "outside"):
        target = draw(st.sampled_from(with_points))
        target.broken = kind
        if kind == "conflict":
            ts, value = target.points[0]
            other = 1.5 if value != 1.5 else 2.5
            target.points.append((ts.astimezone(UTC), other))
        if kind == "outside":
            ts = draw(
                st.sampled_from(
                    [WINDOW.end, WINDOW.start - timedelta(minutes=5), datetime(1999, 1, 1, tzinfo=UTC)]
                )
            )
            target.points.append((ts, 1.0))
    for s in sent:
        result = {"Id": s.qid, "Label": s.qid, "Timestamps": [t for t, _ in s.points],
                  "Values": [v for _, v in s.points]}  # fmt: skip
        if s.broken == "unpaired":
            result["Values"] = result["Values"][:-1]
        if s.status is not None:
            result["StatusCode"] = s.status
        pages[s.page]["MetricDataResults"].append(result)
    if kind == "unknown id":
        pages[0]["MetricDataResults"].append({"Id": "zz9", "Timestamps": [SLOTS[0]], "Values": [1.0]})
    for i, page in enumerate(pages[:-1]):
        page["NextToken"] = f"token-{i + 1}"
    return pages, sent, kind


def expected_series(qid: str, sent: list[Sent], query: MetricQuery):
    """(status, {UTC timestamp: raw}, how many non-finite points) the contract promises for one query."""
    mine = sorted((s for s in sent if s.qid == qid), key=lambda s: s.page)
    if not mine:
        return "InternalError", {}, 0
    status, points, not_finite = None, {}, set()
    for s in mine:
        page_status = "InternalError" if s.broken in ("unpaired", "conflict") else (s.status or "Complete")
        if status not in STICKY:
            status = page_status
        if s.broken == "unpaired":
            continue  # unpaired points cannot be trusted: none of that result is kept
        for ts, value in s.points:
            utc = ts.astimezone(UTC)
            if not WINDOW.start <= utc < WINDOW.end or utc in points or utc in not_finite:
                continue  # outside the window, or a conflicting repeat: the first value stays
            if math.isfinite(value):
                points[utc] = value
            else:
                not_finite.add(utc)
    return status, points, len(not_finite)


@pytest.mark.parametrize("kind", ["clean", "unpaired", "conflict", "outside", "unknown id"])
@settings(FUZZ, max_examples=30)
@given(data=st.data(), vcpus=st.sampled_from([None, 4]))
def test_fetch_keeps_every_finite_point_once_in_utc_and_flags_what_it_cannot_trust(cw, kind, data, vcpus):
    pages, sent, kind = data.draw(metric_answers(kind))
    queries = cw_queries(vcpus)
    with Stubber(cw) as stub:
        for page in pages:
            stub.add_response("get_metric_data", page)
        result = cloudwatch.fetch(cw, queries, WINDOW)
    assert [s.query.id for s in result] == ["q0", "q1", "q2"] and result.pages == len(pages)
    for series, query in zip(result, queries, strict=True):
        status, points, not_finite = expected_series(query.id, sent, query)
        assert series.status == status, (series.status, series.messages)
        assert all(t.tzinfo is UTC for t in series.timestamps)
        assert series.timestamps == sorted(set(series.timestamps))
        assert dict(zip(series.timestamps, series.raw, strict=True)) == points
        assert all(math.isfinite(v) for v in series.raw)
        assert all(v is None or math.isfinite(v) for v in series.values)
        for value, raw in zip(series.values, series.raw, strict=True):
            if query.metric == "ModelLatency":
                assert value == raw / 1000
            elif query.metric == "CPUUtilization":
                assert value == (None if vcpus is None else raw / vcpus)
            else:
                assert value == raw
        text = " ".join(series.messages)
        if not_finite:
            assert f"{not_finite} point(s) not stored: not a finite number" in text
        broken = {s.broken for s in sent if s.qid == query.id}
        if "unpaired" in broken:
            assert "cannot be paired" in text
        if "conflict" in broken:
            assert "twice with different values" in text
        if "outside" in broken:
            assert "outside the requested window" in text
        if status == "PartialData":
            assert "still PartialData" in text
    if kind == "unknown id":
        assert "unexpected result id 'zz9' ignored" in result.messages


def test_the_hour_new_york_repeats_when_clocks_go_back_stays_two_points(cw):
    new_york = ZoneInfo("America/New_York")
    edt = datetime(2026, 11, 1, 1, 30, tzinfo=new_york)  # 05:30 UTC
    est = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=new_york)  # 06:30 UTC, the same wall clock
    assert edt == est  # one zone object: Python compares (and hashes) the wall clock alone
    page = {
        "MetricDataResults": [
            {"Id": "q0", "Timestamps": [edt, est], "Values": [3.0, 4.0], "StatusCode": "Complete"}
        ]
    }
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", page)
        (q0, *_) = cloudwatch.fetch(cw, cw_queries(4), WINDOW)
    assert q0.timestamps == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    ]
    assert (q0.raw, q0.status, q0.messages) == ([3.0, 4.0], "Complete", [])


def test_a_repeated_next_token_stops_paging_and_leaves_every_series_partial(cw):
    first = {"MetricDataResults": [{"Id": "q0", "Timestamps": [SLOTS[0]], "Values": [3.0],
                                    "StatusCode": "Complete"}], "NextToken": "again"}  # fmt: skip
    second = {"MetricDataResults": [{"Id": "q1", "Timestamps": [SLOTS[1]], "Values": [9000.0],
                                     "StatusCode": "Complete"}], "NextToken": "again"}  # fmt: skip
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", first)
        stub.add_response("get_metric_data", second)
        result = cloudwatch.fetch(cw, cw_queries(4), WINDOW)
    assert "NextToken repeated: paging stopped" in result.messages
    q0, q1, q2 = result
    # What was read is kept, but the cursor must not move past data the peer still promised.
    assert (q0.status, q0.raw, q1.status, q1.values) == ("PartialData", [3.0], "PartialData", [9.0])
    assert q2.status == "InternalError"


def test_a_peer_that_never_stops_paging_is_cut_off(cw):
    calls = []

    def endless(model, **_):
        calls.append(model.name)
        page = {"MetricDataResults": [{"Id": "q0", "Timestamps": [], "Values": [], "StatusCode": "Complete"}],
                "NextToken": f"token-{len(calls)}"}  # fmt: skip
        return AWSResponse("https://monitoring", 200, {}, None), page

    cw.meta.events.register_first("before-call.cloudwatch.GetMetricData", endless, unique_id="endless")
    try:
        result = cloudwatch.fetch(cw, cw_queries(4)[:1], WINDOW)
    finally:
        cw.meta.events.unregister("before-call.cloudwatch.GetMetricData", unique_id="endless")
    assert len(calls) == cloudwatch.MAX_PAGES == result.pages
    assert f"still paging after {cloudwatch.MAX_PAGES} pages: paging stopped" in result.messages
    assert result.series[0].status == "PartialData"


# --- SageMaker inventory -------------------------------------------------------------------------------
class FakeSageMaker:
    """Answers ListEndpoints / DescribeEndpoint / DescribeEndpointConfig / ListTags from dicts, at
    botocore's before-call event (where Stubber answers too), unvalidated: real answers are not
    validated either, so one may lack a member the model calls required."""

    def __init__(self):
        self.listing: list[list[str]] = []
        self.endpoints: dict[str, dict | tuple[str, str]] = {}
        self.configs: dict[str, dict | tuple[str, str]] = {}
        self.tags: dict[str, list[dict]] = {}

    def capture(self, params, context, **_):
        context["api_params"] = copy.deepcopy(params)  # before-call sees the serialised request only

    def __call__(self, model, context, **_):
        op, params = model.name, context["api_params"]
        if op == "ListEndpoints":
            i = int(params.get("NextToken") or 0)
            page = {"Endpoints": [{"EndpointName": n} for n in self.listing[i]]}
            if i + 1 < len(self.listing):
                page["NextToken"] = str(i + 1)
            return self._ok(page)
        if op == "DescribeEndpoint":
            return self._answer(self.endpoints[params["EndpointName"]])
        if op == "DescribeEndpointConfig":
            return self._answer(self.configs[params["EndpointConfigName"]])
        if op == "ListTags":
            return self._ok({"Tags": self.tags.get(params["ResourceArn"], [])})
        raise AssertionError(f"unexpected call {op}")

    def _answer(self, answer):
        if isinstance(answer, tuple):
            code, message = answer
            return AWSResponse("https://api.sagemaker", 400, {}, None), {
                "Error": {"Code": code, "Message": message}
            }
        return self._ok(answer)

    @staticmethod
    def _ok(parsed):
        return AWSResponse("https://api.sagemaker", 200, {}, None), copy.deepcopy(parsed)


NAMES = ["search-embed", "vision-gpu", "nlp-chat", "ab-test"]
VARIANT_NAMES = ["AllTraffic", "Blue", "Green", "<b>challenger</b>"]
INSTANCE_TYPES = ["ml.g5.xlarge", "ml.p4d.24xlarge", "ml.zz9.futurexlarge", "ml.<img src=x>.xlarge"]
COUNTS = st.integers(0, 2**31 - 1)


ENDPOINT_CORRUPTIONS = [
    "clean", "config gone", "not found", "throttled", "no config name", "other name", "negative count",
    "huge count", "nul in tag", "tag without key", "repeated variant", "no variant name",
    "long instance type", "config without variants", "long status",
]  # fmt: skip


@st.composite
def endpoint_cases(draw, name: str, kind: str | None = None):
    """(describe answer, config answer, tags, outcome, tags) for one endpoint corrupted by `kind` (any
    when None); outcome is "stored", "vanished" or "error"."""
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"
    config_name = f"{name}-cfg"
    variants = draw(st.lists(st.sampled_from(VARIANT_NAMES), min_size=1, max_size=3, unique=True))
    live, configured = [], []
    for v in variants:
        if draw(st.booleans()):
            memory = draw(st.sampled_from([1024, 2048, 6144, 7168]))  # 7168: a tier AWS may add
            server = {"MemorySizeInMB": memory, "MaxConcurrency": draw(st.integers(1, 200))}
            if draw(st.booleans()):
                server["ProvisionedConcurrency"] = draw(st.integers(1, server["MaxConcurrency"]))
            live.append({"VariantName": v, "CurrentServerlessConfig": server})
            configured.append({"VariantName": v, "ServerlessConfig": server})
        else:
            live.append(
                {"VariantName": v, "CurrentInstanceCount": draw(COUNTS), "DesiredInstanceCount": draw(COUNTS)}
            )
            configured.append({"VariantName": v, "InstanceType": draw(st.sampled_from(INSTANCE_TYPES)),
                               "InitialInstanceCount": draw(st.integers(1, 10))})  # fmt: skip
    created = datetime(2026, 3, 1, 12, tzinfo=draw(st.sampled_from(ZONES)))
    describe = {
        "EndpointName": name, "EndpointArn": arn, "EndpointConfigName": config_name,
        "EndpointStatus": draw(st.sampled_from(["InService", "Updating", "Failed", "<i>Creating</i>"])),
        "CreationTime": created, "LastModifiedTime": created, "ProductionVariants": live,
    }  # fmt: skip
    config = {"EndpointConfigName": config_name, "ProductionVariants": configured, "CreationTime": created}
    tags = draw(st.dictionaries(texts(min_size=1, max_size=20), texts(max_size=256), max_size=4))
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    kind = kind or draw(st.sampled_from(ENDPOINT_CORRUPTIONS))
    outcome = "error"
    if kind in ("clean", "config gone"):
        outcome = "stored"
        if kind == "config gone":
            config = ("ValidationException", f"Could not find endpoint configuration {config_name}.")
    elif kind == "not found":
        describe, outcome = ("ValidationException", f'Could not find endpoint "{name}".'), "vanished"
    elif kind == "throttled":
        describe = ("ThrottlingException", "Rate exceeded")
    elif kind == "no config name":
        del describe["EndpointConfigName"]
    elif kind == "other name":
        describe["EndpointName"] = name + "-2"
    elif kind in ("negative count", "huge count"):
        live[0] = {
            "VariantName": variants[0],
            "CurrentInstanceCount": -1 if kind == "negative count" else 2**31,
        }
        configured[0] = {"VariantName": variants[0], "InstanceType": "ml.g5.xlarge"}
    elif kind == "nul in tag":
        tag_list.append({"Key": "owner", "Value": "a\x00b"})
    elif kind == "tag without key":
        tag_list.append({"Value": "orphan"})
    elif kind == "repeated variant":
        live.append(copy.deepcopy(live[0]))
    elif kind == "no variant name":
        del live[0]["VariantName"]
    elif kind == "long instance type":
        live[0] = {"VariantName": variants[0], "CurrentInstanceCount": 1}
        configured[0] = {"VariantName": variants[0], "InstanceType": "ml." + "x" * 80}
    elif kind == "config without variants":
        del config["ProductionVariants"]
    elif kind == "long status":
        describe["EndpointStatus"] = "InService" * 5
    return describe, config, tag_list, outcome, tags


@pytest.mark.parametrize("kind", ENDPOINT_CORRUPTIONS)
@EACH
@given(data=st.data())
def test_inventory_keeps_well_formed_endpoints_and_records_each_malformed_one_without_crashing(
    sm, kind, data
):
    names = data.draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    fake, outcomes, cases = FakeSageMaker(), {}, {}
    for i, name in enumerate(names):
        # The first endpoint has this test's corruption; the others any (or none).
        describe, config, tag_list, outcome, tags = data.draw(endpoint_cases(name, kind if i == 0 else None))
        fake.endpoints[name] = describe
        fake.configs[f"{name}-cfg"] = config
        fake.tags[f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}"] = tag_list
        outcomes[name], cases[name] = outcome, (describe, config, tags)
    # A listing may name an endpoint twice (one created while the pages were read shifts the rest).
    listed = names + data.draw(st.lists(st.sampled_from(names), max_size=2))
    cut = data.draw(st.integers(0, len(listed)))
    fake.listing = [listed[:cut], listed[cut:]]
    sm.meta.events.register("before-parameter-build.sagemaker", fake.capture, unique_id="fake-params")
    sm.meta.events.register_first("before-call.sagemaker", fake, unique_id="fake-sagemaker")
    try:
        snapshot = fetch_inventory(sm, account_id=ACCOUNT, region=REGION)
    finally:
        sm.meta.events.unregister("before-call.sagemaker", unique_id="fake-sagemaker")
        sm.meta.events.unregister("before-parameter-build.sagemaker", unique_id="fake-params")

    assert [e.name for e in snapshot.endpoints] == [n for n in names if outcomes[n] == "stored"]
    assert snapshot.vanished == [n for n in names if outcomes[n] == "vanished"]
    failed = [n for n in names if outcomes[n] == "error"]
    assert [e.split(":")[0] for e in snapshot.errors] == failed, snapshot.errors
    assert snapshot.complete is not bool(failed)
    for info in snapshot.endpoints:
        describe, config, tags = cases[info.name]
        assert (
            info.tags == tags
            and info.arn == describe["EndpointArn"]
            and info.status == describe["EndpointStatus"]
        )
        assert info.created_at == describe["CreationTime"] and info.created_at.utcoffset() is not None
        assert [v.name for v in info.variants] == [v["VariantName"] for v in describe["ProductionVariants"]]
        types = (
            {}
            if isinstance(config, tuple)
            else {c["VariantName"]: c.get("InstanceType") for c in config["ProductionVariants"]}
        )
        for variant, live in zip(info.variants, describe["ProductionVariants"], strict=True):
            if variant.kind == INSTANCE:
                assert variant.instance_type == types.get(variant.name)
                assert variant.current_instance_count == live["CurrentInstanceCount"]
            else:
                assert variant.memory_mb == live["CurrentServerlessConfig"]["MemorySizeInMB"]
            for count in (variant.current_instance_count, variant.desired_instance_count, variant.memory_mb,
                          variant.max_concurrency, variant.provisioned_concurrency):  # fmt: skip
                assert count is None or (type(count) is int and 0 <= count < 2**31)
