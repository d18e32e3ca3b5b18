"""The weekly FinOps review download in the OpenAPI document: a binary answer (XLSX or a zip of CSVs)
with a Content-Disposition file name, or a JSON error."""

from __future__ import annotations

from dashboard.api.openapi.parts import STRING, param
from dashboard.reports.formats import CONTENT_TYPES, FORMATS


def _binary(media_type: str, what: str) -> dict:
    return {"schema": {"type": "string", "contentMediaType": media_type, "description": what}}


WEEK = {"type": "string", "pattern": r"^\d{4}-W\d{2}$", "examples": ["2026-W47"]}
PARAMETERS = [
    param("week", "path", WEEK, "ISO week, Monday 00:00 UTC to the next Monday; it must have ended",
          required=True),
    param("team", "query", STRING, "team slug (one the user can see, otherwise 404); none: the fleet"),
    param("format", "query", {"type": "string", "enum": list(FORMATS), "default": "xlsx"},
          "xlsx: one workbook, a summary sheet first; csv: a zip of UTF-8 CSV files"),
]  # fmt: skip
PATHS = {
    "/reports/{week}": {
        "get": {
            "operationId": "getWeeklyReview",
            "summary": "The weekly FinOps review of an ISO week that has ended, as a file",
            "description": (
                "Per endpoint the spend against the week before, invocations, cost per 1k, latency "
                "percentiles, cold-start and error rates, peak use and cost source; totals per team and "
                "account; top movers; untagged spend; recommendations with their status; the budget alerts "
                "raised in the week. A member may have their teams' reviews; the fleet review (no `team`) "
                "is for FinOps admins (403 otherwise)."
            ),
            "parameters": PARAMETERS,
            "responses": {
                "200": {
                    "description": "the review, as an attachment",
                    "headers": {
                        "Content-Disposition": {
                            "schema": STRING,
                            "description": 'attachment; filename="finops-review-2026-W47-search.xlsx"',
                        }
                    },
                    "content": {
                        CONTENT_TYPES["xlsx"]: _binary(CONTENT_TYPES["xlsx"], "the workbook (format=xlsx)"),
                        CONTENT_TYPES["csv"]: _binary(CONTENT_TYPES["csv"], "the CSV files (format=csv)"),
                    },
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }
    }
}  # fmt: skip
