"""Helpers for the API tests: endpoints written straight into the database in bulk, the bearer header,
and checking a response against the OpenAPI document (the document itself validated first)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from dashboard.api.openapi import DOCUMENT
from dashboard.models import (
    AwsAccount,
    CostForecast,
    Endpoint,
    EndpointCost,
    EndpointEvent,
    EndpointSummary,
    MetricRollup,
    MetricSeries,
    ProductionVariant,
)
from tests.conftest import NOW

HOUR = NOW.replace(minute=0, second=0, microsecond=0)
TODAY = NOW.date()
MONTH = TODAY.replace(day=1)
HOURS = 48  # hourly summary rows per endpoint, back from the current hour
DAYS = 40  # daily rows per endpoint, back from today: reaches into last month


@dataclass(frozen=True)
class Spec:
    name: str
    team: object = None
    kind: str = "serverless"
    deleted: bool = False
    measured: bool = True  # False: no summary rows, no costs (as before the first collection)


def build(account: AwsAccount, specs: list[Spec], region: str = "us-east-1") -> list[Endpoint]:
    """Endpoints with one live variant each (and a removed one on serverless), 48 hourly and 40 daily
    summary rows, two cost sources a day (resource and estimate), this month's forecast, a ModelLatency
    p99 series with hourly rollups, and a creation event; all in bulk, a fixed number of statements."""
    endpoints = Endpoint.objects.bulk_create(
        Endpoint(
            account=account, region=region, name=s.name, status="InService", team=s.team,
            arn=f"arn:aws:sagemaker:{region}:{account.account_id}:endpoint/{s.name}",
            tags={"team": s.team.slug} if s.team else {}, created_at=NOW - timedelta(days=90),
            first_seen=NOW - timedelta(days=60), last_seen=NOW,
            deleted_at=NOW - timedelta(days=1) if s.deleted else None,
        )
        for s in specs
    )  # fmt: skip
    variants, summaries, costs, forecasts, events = [], [], [], [], []
    for e, s in zip(endpoints, specs, strict=True):
        if s.kind == "serverless":
            shape = dict(kind="serverless", memory_mb=6144, max_concurrency=20)
            variants.append(
                ProductionVariant(
                    endpoint=e, name="retired", kind="serverless", memory_mb=2048, max_concurrency=5,
                    first_seen=NOW - timedelta(days=60), last_seen=NOW - timedelta(days=30),
                    removed_at=NOW - timedelta(days=30),
                )
            )  # fmt: skip
        else:
            shape = dict(kind="instance", instance_type_id="ml.g5.xlarge", current_instance_count=2)
        variants.append(
            ProductionVariant(
                endpoint=e, name="AllTraffic", first_seen=NOW - timedelta(days=60), last_seen=NOW, **shape
            )
        )
        events.append(EndpointEvent(endpoint=e, at=NOW - timedelta(days=60), kind="created", detail={}))
        if not s.measured:
            continue
        serverless = s.kind == "serverless"
        usage = dict(
            errors_4xx=1, errors_5xx=0,
            cold_starts=2 if serverless else 0, cold_start_ms=6000 if serverless else 0,
            latency_avg_w=40 * 100, latency_p50_w=30 * 100, latency_p95_w=80 * 100, latency_p99_w=120 * 100,
            latency_weight=100, latency_max=300, overhead_p99_w=5 * 100,
            concurrency_util_max=0.5 if serverless else None, memory_util_max=50,
            cpu_util_max=None if serverless else 30, gpu_util_max=None if serverless else 10,
            gpu_memory_util_max=None if serverless else 40,
        )  # fmt: skip
        for h in range(HOURS):
            summaries.append(
                EndpointSummary(
                    endpoint=e, resolution="1h", bucket=HOUR - timedelta(hours=h), invocations=100, **usage
                )
            )
        for d in range(DAYS):
            day = TODAY - timedelta(days=d)
            best, estimate = Decimal("1.2500000000"), Decimal("1.2000000000")
            # A day with hourly rows sums them, as the product's daily rows do; an older day holds what
            # one hour would (its hourly rows are past retention).
            hours = sum((HOUR - timedelta(hours=h)).date() == day for h in range(HOURS)) or 1
            summed = {k: v if v is None or k.endswith("_max") else v * hours for k, v in usage.items()}
            summaries.append(
                EndpointSummary(
                    endpoint=e, resolution="1d", bucket=HOUR.replace(hour=0) - timedelta(days=d),
                    invocations=100 * hours, cost=best if serverless else estimate, cost_estimate=estimate,
                    cost_source="resource" if serverless else "estimate", cost_estimated=not serverless,
                    currency="USD", **summed,
                )
            )  # fmt: skip
            costs.append(
                EndpointCost(
                    endpoint=e, day=day, source="estimate", amount=estimate, currency="USD", estimated=True,
                    detail={"hours": 48, "price": "1.4084"}, computed_at=NOW,
                )
            )  # fmt: skip
            if serverless:
                costs.append(
                    EndpointCost(
                        endpoint=e, day=day, source="resource", amount=best, currency="USD", estimated=False,
                        computed_at=NOW,
                    )
                )  # fmt: skip
        forecasts.append(
            CostForecast(
                scope="endpoint", scope_id=e.pk, month=MONTH, amount=Decimal("37.5"), currency="USD",
                method="median-daily", daily=[[(TODAY + timedelta(days=1)).isoformat(), "1.25"]],
                computed_at=NOW,
            )
        )  # fmt: skip
    ProductionVariant.objects.bulk_create(variants)
    EndpointEvent.objects.bulk_create(events)
    EndpointSummary.objects.bulk_create(summaries)
    EndpointCost.objects.bulk_create(costs)
    CostForecast.objects.bulk_create(forecasts)
    live = [v for v in variants if v.removed_at is None]
    series = MetricSeries.objects.bulk_create(
        MetricSeries(variant=v, metric="ModelLatency", stat="p99", unit="ms") for v in live
    )
    MetricRollup.objects.bulk_create(
        MetricRollup(series=sr, resolution="1h", bucket=HOUR - timedelta(hours=h), value=120.0 + h, points=12)
        for sr in series
        for h in range(HOURS)
    )
    return endpoints


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- the OpenAPI document as the judge of every response ----------------------------------------------
BASE = "urn:sagemaker-dashboard:api-v1"
PREFIX = "/api/v1"


@cache
def _registry() -> Registry:
    return Registry().with_resource(BASE, Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))


JSON = "application/json"


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def path_template(url_path: str) -> str:
    """The document's path for a request path: /api/v1/endpoints/12/costs -> /endpoints/{pk}/costs."""
    assert url_path.startswith(PREFIX), url_path
    rest = url_path[len(PREFIX) :]
    for template in DOCUMENT["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, rest):
            return template
    raise AssertionError(f"{url_path} is not a path of the OpenAPI document")


def response_pointer(url_path: str, status: int) -> str:
    """Where the schema of this response is in the document: the operation's own response, or for a
    405 (any method but GET, so no operation of its own) the shared MethodNotAllowed response."""
    if status == 405:
        return _pointer("components", "responses", "MethodNotAllowed", "content", JSON, "schema")
    template = path_template(url_path)
    responses = DOCUMENT["paths"][template]["get"]["responses"]
    assert str(status) in responses, f"{template} does not document status {status}"
    declared = responses[str(status)]
    if "$ref" in declared:
        name = declared["$ref"].rsplit("/", 1)[1]
        return _pointer("components", "responses", name, "content", JSON, "schema")
    return _pointer("paths", template, "get", "responses", str(status), "content", JSON, "schema")


def assert_matches_openapi(response) -> dict:
    """The response is JSON and its body validates against the schema the document gives for its path and
    status ($refs resolved, date-time and date formats checked). Returns the body."""
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    body = response.json()
    pointer = response_pointer(response.wsgi_request.path, response.status_code)
    validator = Draft202012Validator(
        {"$ref": f"{BASE}#{pointer}"}, registry=_registry(), format_checker=FormatChecker()
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    return body
