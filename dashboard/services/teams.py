"""Which team owns an endpoint, from its tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def team_index(teams: Iterable) -> dict[str, int]:
    """Lower-cased tag value -> team id. A value claimed by two teams goes to the first by name."""
    index: dict[str, int] = {}
    for team in sorted(teams, key=lambda t: t.name):
        for value in team.tag_values:
            index.setdefault(value.strip().lower(), team.pk)
    return index


def team_for_tags(tags: Mapping[str, str], tag_keys: Iterable[str], index: Mapping[str, int]) -> int | None:
    """The first team tag key (settings order) whose value names a team; keys match case-insensitively."""
    lowered = {k.lower(): v for k, v in tags.items()}
    for key in tag_keys:
        value = lowered.get(key.lower())
        if value is not None and value.strip().lower() in index:
            return index[value.strip().lower()]
    return None


def remap_all_endpoints() -> int:
    """Recompute every endpoint's team (after teams or their tag values change). Returns rows changed."""
    from django.conf import settings

    from dashboard.models import Endpoint, Team

    index = team_index(Team.objects.all())
    changed = []
    for endpoint in Endpoint.objects.only("pk", "tags", "team_id"):
        team_id = team_for_tags(endpoint.tags, settings.TEAM_TAG_KEYS, index)
        if team_id != endpoint.team_id:
            endpoint.team_id = team_id
            changed.append(endpoint)
    Endpoint.objects.bulk_update(changed, ["team"], batch_size=1000)
    return len(changed)
