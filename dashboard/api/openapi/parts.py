"""Building blocks of the OpenAPI document: closed objects, nullable values, money and timestamps,
parameters and GET operations. Objects built with `obj` allow no unlisted property, so a field a view
adds without a line in the document fails the tests that validate every response against it."""

from __future__ import annotations

from dashboard.models import EndpointCost


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict, *, optional: tuple[str, ...] = (), description: str = "") -> dict:
    """A closed object: every property listed is required unless named optional."""
    out = {
        "type": "object",
        "properties": properties,
        "required": [k for k in properties if k not in optional],
        "additionalProperties": False,
    }
    if description:
        out["description"] = description
    return out


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
OPT_STRING = {"type": ["string", "null"]}
NUMBER = {"type": ["number", "null"]}
COUNT = {"type": ["number", "null"], "minimum": 0}
INT = {"type": ["integer", "null"], "minimum": 0}
TIMESTAMP = {"type": "string", "format": "date-time"}
OPT_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
DATE = {"type": "string", "format": "date"}
SOURCES = [str(s) for s in EndpointCost.PREFERENCE]
COST_SOURCE_LIST = {
    "type": "array",
    "items": {"type": "string", "enum": SOURCES},
    "description": "where the money figures come from: resource (Cost Explorer resource data) > tag "
    "(cost-allocation tag) > estimate (usage x price)",
}


def param(name, where, schema, description, required=False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


def error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def operation(operation_id: str, summary: str, schema: str, *, params=(), errors=("400",), **extra) -> dict:
    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ref(schema)}}}}
    names = {"400": "BadRequest", "401": "Unauthorized", "404": "NotFound"}
    for code in (*errors, "401"):
        responses[code] = {"$ref": f"#/components/responses/{names[code]}"}
    return {"get": {"operationId": operation_id, "summary": summary, "parameters": list(params),
                    "responses": responses, **extra}}  # fmt: skip
