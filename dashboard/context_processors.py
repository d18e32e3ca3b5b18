"""Every page says how fresh its data is: when each source was last collected, and what is failing."""

from dashboard.models import CollectionRun
from dashboard.services.freshness import freshness as source_freshness
from dashboard.services.scoping import visible_teams


def freshness(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "freshness": [source_freshness(kind) for kind in CollectionRun.Kind.values],
        # The Teams menu on every page (a view may pass its own `nav_teams`, already loaded).
        "nav_teams": visible_teams(request.user),
    }
