"""Reading costs back: the best figure per endpoint and day (resource > tag > estimate)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dashboard.models import EndpointCost

PREFERENCE_SQL = "CASE source WHEN 'resource' THEN 0 WHEN 'tag' THEN 1 ELSE 2 END"


def best_costs(endpoint_ids: Iterable[int], start: date, end: date) -> list[EndpointCost]:
    """One EndpointCost per endpoint and day in [start, end): the most authoritative source stored."""
    ids = list(endpoint_ids)
    if not ids:
        return []
    return list(
        EndpointCost.objects.raw(
            f"""SELECT DISTINCT ON (endpoint_id, day) * FROM dashboard_endpointcost
                WHERE endpoint_id = ANY(%s) AND day >= %s AND day < %s
                ORDER BY endpoint_id, day, {PREFERENCE_SQL}""",  # noqa: S608  (constant SQL, values bound)
            [ids, start, end],
        )
    )
