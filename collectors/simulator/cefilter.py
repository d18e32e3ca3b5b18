"""Cost Explorer Filter expressions and GroupBy keys, evaluated over the simulated bill's lines.

Dimensions modelled: SERVICE ("Amazon SageMaker"), LINKED_ACCOUNT, REGION, USAGE_TYPE, RECORD_TYPE
("Usage"), INSTANCE_TYPE ("NoInstanceType" for serverless lines), and RESOURCE_ID (the endpoint ARN,
GetCostAndUsageWithResources only). Any other dimension, and cost categories, are refused loudly rather
than silently matching nothing. A tag filter value "" (or MatchOptions ABSENT) matches untagged lines.
"""

from __future__ import annotations

from collectors.simulator.billing import SERVICE, CostLine
from collectors.simulator.protocol import AWSError

DIMENSIONS = ("SERVICE", "LINKED_ACCOUNT", "REGION", "USAGE_TYPE", "RECORD_TYPE", "INSTANCE_TYPE")
RESOURCE_ID = "RESOURCE_ID"
_OPERATORS = ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories")
_CASE = ("CASE_SENSITIVE", "CASE_INSENSITIVE")


def dimension_value(line: CostLine, key: str) -> str:
    if key == "SERVICE":
        return SERVICE
    if key == "LINKED_ACCOUNT":
        return line.account_id
    if key == "REGION":
        return line.region
    if key == "USAGE_TYPE":
        return line.usage_type
    if key == "RECORD_TYPE":
        return "Usage"
    if key == "INSTANCE_TYPE":
        return line.endpoint.variant(line.variant).instance_type or "NoInstanceType"
    return line.endpoint.arn  # RESOURCE_ID


def _check_dimension(key: str, *, resources: bool, where: str) -> None:
    if key == RESOURCE_ID and not resources:
        raise AWSError("ValidationException", f"Dimension {RESOURCE_ID} is not allowed.")
    if key not in DIMENSIONS and key != RESOURCE_ID:
        raise AWSError(
            "ValidationException",
            f"{where}: dimension {key!r} is not modelled by the simulated Cost Explorer.",
        )


def check_expression(expr: dict, *, resources: bool, tags: bool = True, where: str = "Filter") -> None:
    present = [op for op in _OPERATORS if op in expr]
    if len(present) != 1:
        raise AWSError(
            "ValidationException", f"{where}: an Expression takes exactly one of {', '.join(_OPERATORS)}."
        )
    op = present[0]
    if op in ("And", "Or"):
        if not expr[op]:
            raise AWSError("ValidationException", f"{where}: {op} needs at least one expression.")
        for i, sub in enumerate(expr[op]):
            check_expression(sub, resources=resources, tags=tags, where=f"{where}.{op}[{i}]")
    elif op == "Not":
        check_expression(expr["Not"], resources=resources, tags=tags, where=f"{where}.Not")
    elif op == "Dimensions":
        _check_dimension(expr["Dimensions"].get("Key", ""), resources=resources, where=where)
    elif op == "Tags":
        if not tags:
            raise AWSError("ValidationException", f"{where}: tags are not supported here.")
    else:
        raise AWSError("ValidationException", f"{where}: cost categories are not modelled by the simulator.")


def _match(actual: str | None, values: list[str], options: list[str]) -> bool:
    ops = [o for o in options if o not in _CASE] or ["EQUALS"]
    if "ABSENT" in ops:
        return not actual
    if not actual:
        return "" in values
    fold = "CASE_INSENSITIVE" in options
    actual = actual.lower() if fold else actual
    for value in values:
        value = value.lower() if fold else value
        for op in ops:
            if (
                (op == "EQUALS" and actual == value)
                or (op == "STARTS_WITH" and actual.startswith(value))
                or (op == "ENDS_WITH" and actual.endswith(value))
                or (op == "CONTAINS" and value in actual)
            ):
                return True
    return False


def matches(expr: dict | None, line: CostLine) -> bool:
    if not expr:
        return True
    if "And" in expr:
        return all(matches(sub, line) for sub in expr["And"])
    if "Or" in expr:
        return any(matches(sub, line) for sub in expr["Or"])
    if "Not" in expr:
        return not matches(expr["Not"], line)
    if "Dimensions" in expr:
        dim = expr["Dimensions"]
        return _match(dimension_value(line, dim["Key"]), dim.get("Values", []), dim.get("MatchOptions", []))
    tag = expr["Tags"]
    return _match(
        line.endpoint.tags.get(tag.get("Key", "")), tag.get("Values", []), tag.get("MatchOptions", [])
    )


def check_group_by(groups: list[dict], *, resources: bool) -> None:
    if len(groups) > 2:
        raise AWSError("ValidationException", "You can group by at most two dimensions or tags.")
    for g in groups:
        kind, key = g.get("Type"), g.get("Key", "")
        if kind == "DIMENSION":
            _check_dimension(key, resources=resources, where="GroupBy")
        elif kind != "TAG":
            raise AWSError("ValidationException", f"GroupBy type {kind!r} is not modelled by the simulator.")


def group_key(group: dict, line: CostLine) -> str:
    if group["Type"] == "TAG":
        # Cost Explorer's tag group keys are "key$value"; "key$" holds the untagged.
        return f"{group['Key']}${line.endpoint.tags.get(group['Key'], '')}"
    return dimension_value(line, group["Key"])
