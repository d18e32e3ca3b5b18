"""The insights part of the OpenAPI document: recommendations (list and one) and serverless quotas."""

from __future__ import annotations

from dashboard.api.openapi.parts import (
    INT,
    NUMBER,
    OPT_STRING,
    OPT_TIMESTAMP,
    STRING,
    TIMESTAMP,
    nullable,
    obj,
    operation,
    param,
    ref,
)
from dashboard.insights.model import RULES
from dashboard.models import Recommendation

STATUSES = list(Recommendation.Status.values)
ACCOUNT = {"type": "string", "pattern": r"^\d{12}$"}

SCHEMAS: dict[str, dict] = {
    "Recommendation": obj(
        {
            "id": {"type": "integer"},
            "key": {"type": "string", "description": "stable identity: rule and target (kept across runs)"},
            "rule": {"type": "string", "enum": list(RULES)},
            "rule_label": STRING,
            "title": STRING,
            "summary": STRING,
            "endpoint": nullable(obj({"id": {"type": "integer"}, "name": STRING}))
            | {"description": "null for an account-wide recommendation (quota headroom)"},
            "variant": OPT_STRING,
            "account_id": ACCOUNT,
            "region": STRING,
            "team": ref("TeamRef"),
            "current": {"type": "object", "description": "the configuration now, as the rule read it"},
            "proposed": {"type": "object", "description": "the configuration the rule proposes"},
            "evidence": {"type": "object", "description": "the figures and window the rule used"},
            "warnings": {"type": "array", "items": STRING},
            "monthly_saving": ref("Money")
            | {"description": "per 730-hour month: positive saves, negative costs more; null: unknown"},
            "currency": STRING,
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "confidence_label": {"type": "string", "enum": ["low", "medium", "high"]},
            "window": obj({"start": TIMESTAMP, "end": TIMESTAMP}, description="the data the rule read"),
            "computed_at": TIMESTAMP,
            "first_seen_at": TIMESTAMP,
            "active": {"type": "boolean", "description": "false: the last computation no longer found it"},
            "resolved_at": OPT_TIMESTAMP,
            "status": {"type": "string", "enum": STATUSES},
            "status_changed_at": OPT_TIMESTAMP,
            "status_changed_by": {"type": ["string", "null"], "description": "username"},
            "status_note": OPT_STRING,
        }
    ),
    "OpenSavings": obj(
        {
            "currency": STRING,
            "open": {"type": "integer", "minimum": 0},
            "monthly_saving": ref("Money") | {"description": "sum of the positive savings"},
            "monthly_cost_increase": ref("Money") | {"description": "sum of the negative ones, as positive"},
            "unknown_saving": {"type": "integer", "minimum": 0},
        },
        description="the open recommendations among those selected (every status filter aside)",
    ),
    "Quota": obj(
        {
            "account_id": ACCOUNT,
            "account_label": OPT_STRING,
            "region": STRING,
            "serverless_endpoints": {"type": "integer", "minimum": 0},
            "endpoint_quota": {"type": "integer", "minimum": 1},
            "endpoints_used": NUMBER | {"description": "serverless endpoints / quota"},
            "sum_max_concurrency": {"type": "integer", "minimum": 0},
            "concurrency_quota": {"type": "integer", "minimum": 1},
            "concurrency_used": NUMBER | {"description": "sum of MaxConcurrency / quota"},
            "sum_provisioned_concurrency": {"type": "integer", "minimum": 0},
            "warn": {"type": "boolean", "description": "a usage at or above the warning fraction"},
            "largest": {
                "type": "array",
                "description": "largest MaxConcurrency first; another team's endpoint has a null name and id",
                "items": obj(
                    {"endpoint_id": INT, "name": OPT_STRING, "max_concurrency": {"type": "integer"}}
                ),
            },
        },
        description="serverless usage of one account and region against its quotas (every team counts)",
    ),
}
SCHEMAS.update(
    {
        "RecommendationList": obj(
            {
                "recommendations": {"type": "array", "items": ref("Recommendation")},
                "open_savings": {"type": "array", "items": ref("OpenSavings")},
            }
        ),
        "RecommendationResponse": obj({"recommendation": ref("Recommendation")}),
        "QuotasResponse": obj({"quotas": {"type": "array", "items": ref("Quota")}}),
    }
)

ACCOUNT_PARAMS = [
    param("account", "query", ACCOUNT, "AWS account id"),
    param("region", "query", STRING, "AWS region, e.g. us-east-1"),
]
PATHS = {
    "/recommendations": operation(
        "listRecommendations",
        "Visible recommendations, largest monthly saving first (unknown savings last)",
        "RecommendationList",
        params=[
            param("team", "query", STRING, "team slug (one the user can see; otherwise 400)"),
            param("rule", "query", {"type": "string", "enum": list(RULES)}, "rule key"),
            param("status", "query", {"type": "string", "enum": STATUSES}, "status; default any"),
            param("endpoint", "query", {"type": "integer", "minimum": 1}, "endpoint id"),
            param("active", "query", {"type": "string", "enum": ["1", "0", "all"], "default": "1"},
                  "1: found by the last computation; 0: no longer found; all"),
            *ACCOUNT_PARAMS,
        ],
    ),
    "/recommendations/{pk}": operation(
        "getRecommendation", "One visible recommendation", "RecommendationResponse",
        params=[param("pk", "path", {"type": "integer", "minimum": 1}, "recommendation id", required=True)],
        errors=("400", "404"),
    ),
    "/quotas": operation(
        "listQuotas",
        "Serverless quota usage of the accounts and regions where the user sees a serverless endpoint "
        "(all for a FinOps admin)",
        "QuotasResponse", params=ACCOUNT_PARAMS,
    ),
}  # fmt: skip
