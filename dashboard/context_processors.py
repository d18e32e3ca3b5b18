"""Every page says how fresh its data is: when each source was last collected, and what is failing."""

from dashboard.models import CollectionRun
from dashboard.services.freshness import freshness as source_freshness


def freshness(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"freshness": [source_freshness(kind) for kind in CollectionRun.Kind.values]}
