"""Reading Postgres plans in tests: EXPLAIN (FORMAT JSON) of a statement, and every node of a plan."""

from __future__ import annotations

from collections.abc import Iterator


def explain(sql: str, params: dict, *, analyze: bool = False) -> dict:
    """The top plan node of `sql` (run too, with `analyze`, so nodes carry actual rows and loops)."""
    from django.db import connection

    options = "ANALYZE, FORMAT JSON" if analyze else "FORMAT JSON"
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN ({options}) " + sql, params)
        return cur.fetchone()[0][0]["Plan"]


def plan_nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)
