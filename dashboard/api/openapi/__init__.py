"""The OpenAPI 3.1 description of /api/v1/, as data. The tests validate this document and every response
the API gives against it, so a field added to a view without a line here fails them (objects here do not
allow unlisted properties). Building blocks are in parts.py; recommendations and quotas in insights.py;
alerts and budget rules in alerts.py; the weekly review download in reports.py."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from collectors.catalogue import METRICS
from dashboard.api.http import api_view
from dashboard.api.openapi import alerts, insights, reports
from dashboard.api.openapi.parts import (
    COST_SOURCE_LIST,
    COUNT,
    DATE,
    INT,
    NUMBER,
    OPT_STRING,
    OPT_TIMESTAMP,
    SOURCES,
    STRING,
    TIMESTAMP,
    error_response,
    nullable,
    obj,
    operation,
    param,
    ref,
)
from dashboard.api.views.endpoints import KINDS, SUMMARY_NAMES
from dashboard.models import CollectionRun, CostForecast, EndpointEvent
from dashboard.services.figures import FLAGS, RANGES

METRIC_STATS = sorted({stat for m in METRICS for stat in m.stats})

SCHEMAS: dict[str, dict] = {
    "Error": obj(
        {"error": STRING, "allowed": {"type": "array", "items": STRING}},
        optional=("allowed",),
        description="`allowed` lists the accepted values when a parameter had an unknown one",
    ),
    "Money": {
        "type": ["string", "null"],
        "pattern": r"^-?\d+(\.\d+)?$",
        "description": "an exact decimal amount as a string, in the `currency` beside it; null when unknown",
        "examples": ["12.3400000000"],
    },
    "Decimal": {
        "type": ["string", "null"],
        "pattern": r"^-?\d+(\.\d+)?$",
        "description": "an exact decimal quantity as a string; null when unknown",
    },
    "Range": obj(
        {
            "key": {"type": "string", "enum": [*RANGES, "custom"]},
            "start": TIMESTAMP,
            "end": TIMESTAMP,
            "resolution": {
                "type": "string",
                "enum": ["1h", "1d"],
                "description": "hourly rows up to 7 days, daily beyond",
            },
        },
        description="the half-open interval [start, end) the figures cover",
    ),
    "TeamRef": nullable(obj({"slug": STRING, "name": STRING})),
    "Variant": obj(
        {
            "name": STRING,
            "kind": {"type": "string", "enum": ["serverless", "instance"]},
            "shape": {"type": "string", "examples": ["6 GB, max 20", "ml.g5.xlarge x 2"]},
            "memory_mb": INT,
            "max_concurrency": INT,
            "provisioned_concurrency": INT,
            "instance_type": OPT_STRING,
            "instance_count": INT,
            "desired_instance_count": INT,
            "vcpus": INT,
            "gpu_count": INT,
            "gpu_memory_gib": ref("Decimal") | {"description": "GiB of GPU memory per instance"},
            "accelerator": OPT_STRING,
            "hourly_price": ref("Money") | {"description": "on-demand price per instance-hour"},
            "price_currency": OPT_STRING,
            "first_seen": TIMESTAMP,
            "last_seen": TIMESTAMP,
            "removed_at": OPT_TIMESTAMP,
        },
        description="a production variant; serverless fields are null on instance variants and vice versa",
    ),
    "Figures": obj(
        {
            "metrics_collected": {
                "type": "boolean",
                "description": "false: no metrics stored for the range, so counts are null (unknown)",
            },
            "invocations": COUNT,
            "errors_4xx": COUNT,
            "errors_5xx": COUNT,
            "error_rate": NUMBER | {"description": "(4XX + 5XX) / invocations; null without invocations"},
            "cold_starts": COUNT,
            "cold_start_rate": NUMBER,
            "cold_start_ms_avg": NUMBER,
            "latency_ms": obj(
                {k: NUMBER for k in ("avg", "p50", "p95", "p99", "max", "overhead_p99")},
                description="ModelLatency, invocation-weighted over the range (percentiles are approximate)",
            ),
            "throttle": NUMBER
            | {
                "description": "derived: peak serverless concurrent-executions utilisation, 0-1 "
                "(at 1.0 further calls are throttled); null for instance endpoints"
            },
            "spillover": COUNT,
            "peaks": obj({k: NUMBER for k in ("memory_pct", "cpu_pct", "gpu_pct", "gpu_memory_pct")}),
            "cost": ref("Money") | {"description": "best source's cost over the range's days"},
            "cost_days": {"type": "integer", "minimum": 0},
            "cost_source": COST_SOURCE_LIST,
            "cost_estimated": {"type": ["boolean", "null"]},
            "currency": OPT_STRING,
            "mtd_cost": ref("Money") | {"description": "month to date"},
            "mtd_cost_source": COST_SOURCE_LIST,
            "forecast": ref("Money") | {"description": "this month's forecast for the endpoint"},
            "cost_per_1k": ref("Money") | {"description": "cost per 1,000 invocations over the range"},
            "flags": {
                "type": "array",
                "items": {"type": "string", "enum": list(FLAGS)},
                "description": "; ".join(f"{k}: {v}" for k, v in FLAGS.items()),
            },
        }
    ),
    "Event": obj(
        {
            "at": TIMESTAMP,
            "kind": {"type": "string", "enum": list(EndpointEvent.Kind.values)},
            "detail": {"type": "object"},
        }
    ),
}

ENDPOINT_PROPERTIES = {
    "id": {"type": "integer"},
    "name": STRING,
    "arn": STRING,
    "account_id": {"type": "string", "pattern": r"^\d{12}$"},
    "account_label": OPT_STRING,
    "region": STRING,
    "team": ref("TeamRef"),
    "status": STRING,
    "kind": {"type": ["string", "null"], "enum": [*KINDS, None]},
    "tags": {"type": "object", "additionalProperties": STRING},
    "created_at": OPT_TIMESTAMP,
    "modified_at": OPT_TIMESTAMP,
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "deleted_at": OPT_TIMESTAMP,
    "variants": {"type": "array", "items": ref("Variant")},
    "figures": ref("Figures"),
}
SCHEMAS["Endpoint"] = obj(ENDPOINT_PROPERTIES, description="an endpoint, its live variants and figures")
SCHEMAS["Week"] = obj(
    {
        "week": {"type": "string", "pattern": r"^\d{4}-W\d{2}$", "examples": ["2026-W47"]},
        "start": DATE | {"description": "the Monday (00:00 UTC)"},
        "end": DATE | {"description": "the next Monday (exclusive)"},
        "partial": {"type": "boolean", "description": "the current week, not over yet"},
        "cost": ref("Money") | {"description": "best source per day, over the week's days that have one"},
        "invocations": COUNT | {"description": "on the days that have a cost; null: no day has one"},
        "cost_days": {"type": "integer", "minimum": 0, "description": "endpoint-days with a cost"},
        "cost_per_1k": ref("Money"),
        "change": NUMBER | {"description": "cost_per_1k against the week before, as a ratio"},
        "currency": OPT_STRING,
        "cost_source": COST_SOURCE_LIST,
    },
    description="cost per 1,000 invocations over one ISO week",
)
WEEKLY = {
    "type": "array",
    "items": ref("Week"),
    "description": "the last 8 ISO weeks, oldest first, the current (partial) week last",
}
SCHEMAS["EndpointDetail"] = obj(
    {
        **ENDPOINT_PROPERTIES,
        "history": {"type": "array", "items": ref("Event")},
        "cost_per_1k_weekly": WEEKLY,
    },
    description="an endpoint with every variant it had (removed ones have removed_at) and its history",
)
SCHEMAS["Forecast"] = obj(
    {
        "amount": ref("Money"),
        "lower": ref("Money"),
        "upper": ref("Money"),
        "currency": STRING,
        "method": {"type": "string", "description": "cost-explorer (accounts) or the project's own method"},
        "computed_at": TIMESTAMP,
    }
)
SCHEMAS["Totals"] = obj(
    {
        "endpoints": {"type": "integer", "minimum": 0},
        "invocations": COUNT,
        "errors": COUNT,
        "error_rate": NUMBER,
        "cost": ref("Money"),
        "mtd_cost": ref("Money"),
        "forecast": ref("Money") | {"description": "sum of the endpoints' forecasts"},
        "last_month_same_days": ref("Money"),
        "change_vs_last_month": NUMBER | {"description": "month to date vs the same days last month, ratio"},
        "currency": OPT_STRING,
        "cost_source": COST_SOURCE_LIST,
    },
    description="over the team's endpoints, deleted ones included (their spend in the range is real)",
)
TEAM_PROPERTIES = {
    "slug": STRING,
    "name": STRING,
    "totals": ref("Totals"),
    "team_forecast": nullable(ref("Forecast")),
}
SCHEMAS["Team"] = obj(TEAM_PROPERTIES)
SCHEMAS["TeamDetail"] = obj(
    {
        **TEAM_PROPERTIES,
        "endpoints": {"type": "array", "items": ref("Endpoint")},
        "cost_per_1k_weekly": WEEKLY,
    }
)

RESPONSES = {
    "EndpointList": obj(
        {
            "range": ref("Range"),
            "count": {"type": "integer", "minimum": 0, "description": "endpoints matching, on every page"},
            "limit": {"type": "integer", "minimum": 1},
            "offset": {"type": "integer", "minimum": 0},
            "next_offset": {"type": ["integer", "null"], "description": "null on the last page"},
            "endpoints": {"type": "array", "items": ref("Endpoint")},
        }
    ),
    "EndpointResponse": obj({"range": ref("Range"), "endpoint": ref("EndpointDetail")}),
    "SeriesResponse": obj(
        {
            "endpoint_id": {"type": "integer"},
            "range": ref("Range"),
            "kind": {"type": "string", "enum": ["metric", "summary"]},
            "metric": OPT_STRING,
            "stat": OPT_STRING,
            "timestamps": {"type": "array", "items": TIMESTAMP, "description": "start of each bucket"},
            "series": {
                "type": "array",
                "items": obj(
                    {
                        "name": {"type": "string", "description": "variant name, or summary field"},
                        "unit": STRING,
                        "values": {
                            "type": "array",
                            "items": {"type": ["number", "string", "null"]},
                            "description": "one per timestamp; null where nothing was stored (a gap, "
                            "not 0); money (cost, cost_estimate) as decimal strings",
                        },
                    }
                ),
            },
        }
    ),
    "CostsResponse": obj(
        {
            "endpoint_id": {"type": "integer"},
            "range": ref("Range"),
            "currency": OPT_STRING,
            "cost": ref("Money"),
            "cost_source": COST_SOURCE_LIST,
            "cost_estimated": {"type": ["boolean", "null"]},
            "days": {
                "type": "array",
                "items": obj(
                    {
                        "day": DATE,
                        "cost": ref("Money") | {"description": "the best source's amount"},
                        "cost_source": {"type": ["string", "null"], "enum": [*SOURCES, None]},
                        "estimated": {"type": ["boolean", "null"]},
                        "sources": {
                            "type": "array",
                            "description": "every source stored for the day, best first, to reconcile",
                            "items": obj(
                                {
                                    "source": {"type": "string", "enum": SOURCES},
                                    "amount": {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
                                    "currency": STRING,
                                    "estimated": {"type": "boolean"},
                                    "detail": {
                                        "type": "object",
                                        "description": "inputs: GB-seconds, hours, price used",
                                    },
                                    "computed_at": TIMESTAMP,
                                }
                            ),
                        },
                    }
                ),
            },
        }
    ),
    "ForecastsResponse": obj(
        {
            "month": DATE,
            "forecasts": {
                "type": "array",
                "items": obj(
                    {
                        "scope": {"type": "string", "enum": list(CostForecast.Scope.values)},
                        "key": {
                            "type": "string",
                            "description": "account id, team slug or endpoint id",
                        },
                        "name": OPT_STRING,
                        **SCHEMAS["Forecast"]["properties"],
                        "daily": {
                            "type": "array",
                            "items": obj({"day": DATE, "amount": ref("Money")}),
                            "description": "the forecast for each remaining day of the month",
                        },
                    }
                ),
            },
        }
    ),
    "TeamsResponse": obj({"range": ref("Range"), "teams": {"type": "array", "items": ref("Team")}}),
    "TeamResponse": obj({"range": ref("Range"), "team": ref("TeamDetail")}),
    "FreshnessResponse": obj(
        {
            "sources": {
                "type": "array",
                "items": obj(
                    {
                        "kind": {"type": "string", "enum": list(CollectionRun.Kind.values)},
                        "last_success": OPT_TIMESTAMP,
                        "last_attempt": OPT_TIMESTAMP,
                        "failing": {
                            "type": "array",
                            "items": STRING,
                            "description": "'account/region: error' ('account: error' for costs) where "
                            "the latest run failed",
                        },
                    }
                ),
            }
        }
    ),
}
SCHEMAS.update(RESPONSES)
SCHEMAS.update(insights.SCHEMAS)
SCHEMAS.update(alerts.SCHEMAS)


PARAMETERS = {
    "range": param(
        "range", "query", {"type": "string", "enum": [*RANGES, "custom"], "default": "7d"},
        "time range, ending at the next full hour; custom needs start and end",
    ),
    "start": param("start", "query", DATE, "first day of a custom range (UTC)"),
    "end": param("end", "query", DATE, "last day of a custom range, inclusive"),
    "pk": param("pk", "path", {"type": "integer", "minimum": 1}, "endpoint id", required=True),
    "slug": param("slug", "path", STRING, "team slug", required=True),
}  # fmt: skip
RANGE_PARAMS = [{"$ref": f"#/components/parameters/{p}"} for p in ("range", "start", "end")]


ERRORS = {
    "BadRequest": error_response("a bad query parameter or path id; `error` says which and why"),
    "Unauthorized": error_response("no session and no valid bearer token (unknown or revoked tokens too)"),
    "Forbidden": error_response("the user may not have this: the fleet review is for FinOps admins"),
    "NotFound": error_response("no such object among those the user may see"),
    "MethodNotAllowed": error_response("any method but GET: the API is read-only"),
}


PK = {"$ref": "#/components/parameters/pk"}
PATHS = {
    "/endpoints": operation(
        "listEndpoints",
        "Visible endpoints with their shape and figures over the range",
        "EndpointList",
        params=[
            *RANGE_PARAMS,
            param("team", "query", STRING, "team slug (one the user can see; otherwise 400)"),
            param("account", "query", {"type": "string", "pattern": r"^\d{12}$"}, "AWS account id"),
            param("region", "query", STRING, "AWS region, e.g. us-east-1"),
            param("kind", "query", {"type": "string", "enum": KINDS}, "endpoint kind"),
            param("deleted", "query", {"type": "string", "enum": ["0", "1"], "default": "0"},
                   "1: include endpoints deleted in AWS"),
            param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                  "endpoints per page (ordered by account, region, name)"),
            param("offset", "query", {"type": "integer", "minimum": 0, "default": 0},
                  "endpoints to skip: the previous page's `next_offset`"),
        ],
    ),
    "/endpoints/{pk}": operation(
        "getEndpoint", "One endpoint: every variant, figures and history", "EndpointResponse",
        params=[PK, *RANGE_PARAMS], errors=("400", "404"),
    ),
    "/endpoints/{pk}/series": operation(
        "getEndpointSeries",
        "Time series: per variant for a catalogue metric and statistic, or endpoint-level summary fields",
        "SeriesResponse",
        params=[
            PK, *RANGE_PARAMS,
            param("metric", "query", {"type": "string", "enum": [m.key for m in METRICS]},
                   "catalogue metric (with stat); or use summary"),
            param("stat", "query", {"type": "string", "enum": METRIC_STATS},
                   "a statistic the metric is collected with; a 400 names the metric's own"),
            param("summary", "query", {"type": "string"},
                   f"comma-separated endpoint-level fields: {', '.join(SUMMARY_NAMES)}"),
        ],
        errors=("400", "404"),
    ),
    "/endpoints/{pk}/costs": operation(
        "getEndpointCosts", "Daily costs: the best source per day and every source stored",
        "CostsResponse", params=[PK, *RANGE_PARAMS], errors=("400", "404"),
    ),
    "/forecasts": operation(
        "listForecasts",
        "This month's forecasts: accounts (FinOps admins only), visible teams and visible endpoints",
        "ForecastsResponse", errors=(),
    ),
    "/teams": operation("listTeams", "Visible teams with totals over the range", "TeamsResponse",
                   params=RANGE_PARAMS),
    "/teams/{slug}": operation(
        "getTeam", "One visible team: totals and its endpoints with figures", "TeamResponse",
        params=[{"$ref": "#/components/parameters/slug"}, *RANGE_PARAMS], errors=("400", "404"),
    ),
    **insights.PATHS,
    **alerts.PATHS,
    **reports.PATHS,
    "/freshness": operation("getFreshness", "When each source was last collected, and what is failing",
                       "FreshnessResponse", errors=()),
    "/openapi.json": {
        "get": {
            "operationId": "getOpenapi",
            "summary": "This document (no authentication needed: it holds no data)",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    },
}  # fmt: skip

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "SageMaker cost dashboard API",
        "version": "1",
        "description": (
            "Read-only JSON over what the collectors stored (never AWS). Every answer is scoped: a user "
            "sees their teams' endpoints only, a FinOps admin everything. Money is a decimal string with "
            "a `currency` and a `cost_source` list; timestamps are ISO 8601 UTC; unknown values are null, "
            'never 0. Any method but GET gets 405; errors are JSON `{"error": ...}`.'
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearerAuth": []}, {"sessionAuth": []}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": ERRORS,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "a token from `manage.py api_token create`; it acts as its user",
            },
            "sessionAuth": {
                "type": "apiKey",
                "in": "cookie",
                "name": settings.SESSION_COOKIE_NAME,
                "description": "the session of a user logged in to the dashboard",
            },
        },
    },
}


@api_view(public=True)
def openapi_json(request):
    return JsonResponse(DOCUMENT)
