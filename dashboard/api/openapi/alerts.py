"""The budget-alerts part of the OpenAPI document: alerts (paged list and one, with notifications and
delivery attempts) and budget rules."""

from __future__ import annotations

from dashboard.api.openapi.parts import (
    DATE,
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
from dashboard.api.views.alerts import DEFAULT_LIMIT, MAX_LIMIT
from dashboard.models import Alert, BudgetRule, Notification, NotificationChannel

SCOPES = list(BudgetRule.Scope.values)
KINDS = list(NotificationChannel.Kind.values)
PERCENT = ref("Decimal") | {"description": 'percent, e.g. "150.00"'}
ENDPOINT_REF = nullable(obj({"id": {"type": "integer"}, "name": STRING}))
TEAM_PARAM = param("team", "query", STRING, "team slug (one the user can see; otherwise 400)")

NOTIFICATION = {
    "id": {"type": "integer"},
    "channel": ref("ChannelRef"),
    "kind": {"type": "string", "enum": KINDS},
    "event": {"type": "string", "enum": list(Notification.Event.values)},
    "status": {"type": "string", "enum": list(Notification.Status.values)},
}
ALERT = {
    "id": {"type": "integer"},
    "rule": obj(
        {"id": {"type": ["integer", "null"], "description": "null once the rule is deleted"}, "name": STRING}
    ),
    "scope": {"type": "string", "enum": SCOPES},
    "scope_label": STRING,
    "team": ref("TeamRef") | {"description": "null for account and fleet alerts (FinOps admins only)"},
    "endpoint": ENDPOINT_REF,
    "account_id": {"type": ["string", "null"], "pattern": r"^\d{12}$"},
    "threshold": PERCENT,
    "period": obj({"start": DATE, "end": DATE | {"description": "exclusive"}}),
    "state": {"type": "string", "enum": list(Alert.State.values)},
    "raised_at": TIMESTAMP,
    "recovered_at": OPT_TIMESTAMP,
    "evaluated_at": TIMESTAMP,
    "currency": STRING,
    "ratio": PERCENT | {"description": "the larger of actual and projected against expected, percent"},
    "peak_ratio": PERCENT,
    "figures": {
        "type": "object",
        "description": "the latest evaluation as stored, money as decimal strings in `currency`: actual, "
        "expected, ratio; projected, period_forecast, projected_ratio; crossed; estimated (the part of "
        "actual estimated from usage x price) and estimated_from; basis_label; as_of; contributors (up to "
        "5 endpoints: endpoint_id, name, account, region, actual, expected, overshoot, cause, cause_detail)",
    },
}

SCHEMAS: dict[str, dict] = {
    "ChannelRef": nullable(
        obj({"id": {"type": "integer"}, "name": STRING, "kind": {"type": "string", "enum": KINDS}})
    )
    | {"description": "null: a FinOps channel the caller may not see"},
    "NotificationSummary": obj(NOTIFICATION),
    "DeliveryAttempt": obj(
        {
            "started_at": TIMESTAMP,
            "finished_at": TIMESTAMP,
            "ok": {"type": "boolean"},
            "permanent": {"type": "boolean", "description": "the error will not pass by retrying"},
            "status_code": {"type": ["integer", "null"], "description": "HTTP or SMTP reply code"},
            "error": OPT_STRING,
        }
    ),
    "Notification": obj(
        {
            **NOTIFICATION,
            "attempts": {"type": "integer", "minimum": 0},
            "created_at": TIMESTAMP,
            "next_attempt_at": OPT_TIMESTAMP | {"description": "when a pending message is tried again"},
            "sent_at": OPT_TIMESTAMP,
            "last_error": OPT_STRING | {"description": "null too for a channel the caller may not see"},
            "deliveries": {
                "type": "array",
                "items": ref("DeliveryAttempt"),
                "description": "every attempt, oldest first; empty for a channel the caller may not see",
            },
        }
    ),
    "Alert": obj(
        {**ALERT, "notifications": {"type": "array", "items": ref("NotificationSummary")}},
        description="one rule, scope, threshold and period; raised once, recovered at most once",
    ),
    "AlertDetail": obj({**ALERT, "notifications": {"type": "array", "items": ref("Notification")}}),
    "BudgetRule": obj(
        {
            "id": {"type": "integer"},
            "name": STRING,
            "scope": {"type": "string", "enum": SCOPES},
            "target_label": {"type": "string", "examples": ["each endpoint of team Search", "whole fleet"]},
            "account_id": {"type": ["string", "null"], "pattern": r"^\d{12}$"},
            "team": ref("TeamRef") | {"description": "who may see the rule; null: FinOps admins only"},
            "endpoint": ENDPOINT_REF,
            "basis": {"type": "string", "enum": list(BudgetRule.Basis.values)},
            "amount": ref("Money") | {"description": "the fixed budget per period; null on a forecast basis"},
            "currency": STRING,
            "thresholds": {"type": "array", "items": PERCENT},
            "period": {"type": "string", "enum": list(BudgetRule.Period.values)},
            "channels": {
                "type": "array",
                "items": obj(
                    {"id": {"type": "integer"}, "name": STRING, "kind": {"type": "string", "enum": KINDS}}
                ),
                "description": "notified besides the team's own channels (those the caller may see)",
            },
            "enabled": {"type": "boolean"},
            "created_at": TIMESTAMP,
        }
    ),
}
SCHEMAS.update(
    {
        "AlertList": obj(
            {
                "alerts": {"type": "array", "items": ref("Alert")},
                "limit": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
                "next_offset": {"type": ["integer", "null"], "description": "null on the last page"},
            }
        ),
        "AlertResponse": obj({"alert": ref("AlertDetail")}),
        "BudgetRuleList": obj({"budget_rules": {"type": "array", "items": ref("BudgetRule")}}),
    }
)

PATHS = {
    "/alerts": operation(
        "listAlerts", "Visible budget alerts, newest first, a page at a time", "AlertList",
        params=[
            TEAM_PARAM,
            param("state", "query", {"type": "string", "enum": list(Alert.State.values)},
                  "firing or recovered"),
            param("scope", "query", {"type": "string", "enum": SCOPES}, "what the alert is about"),
            param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                     "default": DEFAULT_LIMIT}, "alerts per page"),
            param("offset", "query", {"type": "integer", "minimum": 0, "default": 0},
                  "alerts to skip: the previous page's next_offset"),
        ],
    ),
    "/alerts/{pk}": operation(
        "getAlert", "One visible alert with its figures, notifications and every delivery attempt",
        "AlertResponse",
        params=[param("pk", "path", {"type": "integer", "minimum": 1}, "alert id", required=True)],
        errors=("400", "404"),
    ),
    "/budget-rules": operation(
        "listBudgetRules", "Visible budget rules (a member: their teams'; a FinOps admin: all)",
        "BudgetRuleList", params=[TEAM_PARAM],
    ),
}  # fmt: skip
