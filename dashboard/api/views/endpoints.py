"""/api/v1/endpoints and one endpoint's detail, series and costs. A user sees their teams' endpoints only
(a FinOps admin all); an endpoint the user cannot see is a 404, exactly like one that does not exist."""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch
from django.http import JsonResponse

from collectors.catalogue import METRICS
from dashboard.api import http
from dashboard.api.http import BadRequest, NotFound, api_view
from dashboard.api.serialize import (
    day,
    endpoint_json,
    event_json,
    figures_json,
    money,
    range_json,
    ts,
    week_json,
)
from dashboard.models import Endpoint, EndpointCost, EndpointSummary, ProductionVariant
from dashboard.models.accounts import ACCOUNT_ID, REGION
from dashboard.services.figures import EndpointFigures, TimeRange, endpoint_figures
from dashboard.services.scoping import visible_endpoints
from dashboard.services.series import (
    SUMMARY_FIELDS,
    WEIGHTED,
    buckets,
    daily_costs,
    metric_series,
    summary_series,
)
from dashboard.services.trends import WEEKS, weekly_cost_per_1k

KINDS = ["serverless", "instance", "mixed"]
METRIC_STATS = {m.key: list(m.stats) for m in METRICS}
SUMMARY_NAMES = [*SUMMARY_FIELDS, *WEIGHTED, "cold_start_rate", "error_rate", "cost", "cost_estimate"]
SOURCE_ORDER = {source: i for i, source in enumerate(EndpointCost.PREFERENCE)}


def active_variants() -> Prefetch:
    return Prefetch(
        "variants",
        queryset=ProductionVariant.objects.filter(removed_at=None).select_related("instance_type"),
    )


def with_metrics(ids: list[int], rng: TimeRange) -> set[int]:
    """Endpoints with at least one summary row in the range (one query): for the others the counts are
    unknown, not zero."""
    if not ids:
        return set()
    return set(
        EndpointSummary.objects.filter(
            endpoint_id__in=ids, resolution=rng.resolution, bucket__gte=rng.start, bucket__lt=rng.end
        )
        .values_list("endpoint_id", flat=True)
        .distinct()
    )


def figures_for(endpoints: list[Endpoint], rng: TimeRange) -> tuple[dict[int, EndpointFigures], set[int]]:
    """Figures over the range and which endpoints have metrics in it: four queries for any number."""
    ids = [e.pk for e in endpoints]
    return endpoint_figures(ids, rng, today=http.now().date()), with_metrics(ids, rng)


def endpoint_rows(endpoints: list[Endpoint], figures: dict[int, EndpointFigures], measured: set[int]) -> list:
    return [
        {**endpoint_json(e), "figures": figures_json(figures[e.pk], has_metrics=e.pk in measured)}
        for e in endpoints
    ]


def _regex_param(request, name: str, validator) -> str:
    value = request.GET.get(name, "").strip()
    if value and not re.match(validator.regex, value):
        raise BadRequest(f"bad {name} {value!r}: {validator.message}")
    return value


PAGE_LIMIT = 1000  # endpoints per answer at most (and by default): figures cost a little per endpoint


@api_view
def endpoint_list(request):
    rng = http.time_range(request)
    endpoints = http.team_filter(request, visible_endpoints(request.user))
    if account := _regex_param(request, "account", ACCOUNT_ID):
        endpoints = endpoints.filter(account__account_id=account)
    if region := _regex_param(request, "region", REGION):
        endpoints = endpoints.filter(region=region)
    kind = http.choice(request, "kind", KINDS)
    if http.choice(request, "deleted", ["0", "1"], default="0") == "0":
        endpoints = endpoints.filter(deleted_at=None)
    rows = list(
        endpoints.select_related("account", "team")
        .prefetch_related(active_variants())
        .order_by("account__account_id", "region", "name")
    )
    if kind:
        rows = [e for e in rows if e.kind == kind]  # kind is derived from the prefetched variants
    limit = http.integer(request, "limit", PAGE_LIMIT, minimum=1, maximum=PAGE_LIMIT)
    offset = http.integer(request, "offset", 0, maximum=10**9)
    page = rows[offset : offset + limit]
    # Paged like /alerts: the next page's offset, or null on the last.
    return JsonResponse({
        "range": range_json(rng), "count": len(rows), "limit": limit, "offset": offset,
        "next_offset": offset + limit if offset + limit < len(rows) else None,
        "endpoints": endpoint_rows(page, *figures_for(page, rng)),
    })  # fmt: skip


def visible_endpoint(request, pk: str, *prefetch) -> Endpoint:
    endpoint = (
        visible_endpoints(request.user)
        .filter(pk=http.parse_pk(pk))
        .select_related("account", "team")
        .prefetch_related(*prefetch)
        .first()
    )
    if endpoint is None:
        raise NotFound(f"no endpoint {pk}")
    return endpoint


@api_view
def endpoint_detail(request, pk):
    endpoint = visible_endpoint(
        request,
        pk,
        Prefetch("variants", queryset=ProductionVariant.objects.select_related("instance_type")),
        "events",
    )
    rng = http.time_range(request)
    body = endpoint_rows([endpoint], *figures_for([endpoint], rng))[0]
    body["history"] = [event_json(ev) for ev in endpoint.events.all()]
    weeks = weekly_cost_per_1k([endpoint.pk], WEEKS, http.now().date())
    body["cost_per_1k_weekly"] = [week_json(w) for w in weeks]
    return JsonResponse({"range": range_json(rng), "endpoint": body})


def _summary_fields(raw: str) -> list[str]:
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in fields if f not in SUMMARY_NAMES]
    if not fields or unknown:
        raise BadRequest(
            f"unknown summary field(s) {', '.join(unknown) or '(none given)'}: "
            f"use {', '.join(SUMMARY_NAMES)}",
            allowed=SUMMARY_NAMES,
        )
    return list(dict.fromkeys(fields))


def _metric_and_stat(request) -> tuple[str, str]:
    metric = request.GET.get("metric", "").strip()
    stat = request.GET.get("stat", "").strip()
    if metric not in METRIC_STATS:
        raise BadRequest(
            f"unknown metric {metric!r}: use one of {', '.join(METRIC_STATS)}", allowed=list(METRIC_STATS)
        )
    if stat not in METRIC_STATS[metric]:
        allowed = METRIC_STATS[metric]
        raise BadRequest(
            f"unknown stat {stat!r} for {metric}: use one of {', '.join(allowed)}", allowed=allowed
        )
    return metric, stat


def _json_value(value):
    return money(value) if isinstance(value, Decimal) else value


@api_view
def endpoint_series(request, pk):
    endpoint = visible_endpoint(request, pk)
    rng = http.time_range(request)
    summary = request.GET.get("summary")
    if summary is not None and "metric" in request.GET:
        raise BadRequest("ask for either metric (with stat) or summary, not both")
    body = {"endpoint_id": endpoint.pk, "range": range_json(rng), "timestamps": [ts(t) for t in buckets(rng)]}
    if summary is not None:
        series = summary_series(endpoint.pk, _summary_fields(summary), rng).values()
        body.update(kind="summary", metric=None, stat=None)
    else:
        metric, stat = _metric_and_stat(request)
        series = metric_series(endpoint.pk, metric, stat, rng)
        body.update(kind="metric", metric=metric, stat=stat)
    body["series"] = [
        {"name": s.name, "unit": s.unit, "values": [_json_value(v) for v in s.values]} for s in series
    ]
    return JsonResponse(body)


@api_view
def endpoint_costs(request, pk):
    endpoint = visible_endpoint(request, pk)
    rng = http.time_range(request)
    first, last = rng.days
    by_day: dict = defaultdict(list)
    currencies = set()
    for c in EndpointCost.objects.filter(endpoint=endpoint, day__gte=first, day__lt=last):
        currencies.add(c.currency)
        by_day[c.day].append(c)
    days, total, sources, estimated = [], None, set(), False
    for d, cost, source, is_estimate in daily_costs(endpoint.pk, rng):
        if cost is not None:
            total = (total or Decimal(0)) + cost
            sources.add(source)
            estimated = estimated or bool(is_estimate)
        stored = sorted(by_day.get(d, []), key=lambda c: SOURCE_ORDER.get(c.source, len(SOURCE_ORDER)))
        days.append(
            {
                "day": day(d),
                "cost": money(cost),
                "cost_source": source or None,
                "estimated": is_estimate if cost is not None else None,
                "sources": [
                    {
                        "source": c.source,
                        "amount": money(c.amount),
                        "currency": c.currency,
                        "estimated": c.estimated,
                        "detail": c.detail,
                        "computed_at": ts(c.computed_at),
                    }
                    for c in stored
                ],
            }
        )
    return JsonResponse(
        {
            "endpoint_id": endpoint.pk,
            "range": range_json(rng),
            "currency": currencies.pop() if len(currencies) == 1 else None,
            "cost": money(total),
            "cost_source": sorted(sources),
            "cost_estimated": estimated if total is not None else None,
            "days": days,
        }
    )
