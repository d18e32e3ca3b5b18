from django.db.models import Prefetch
from django.shortcuts import render

from dashboard.models import CollectionRun, ProductionVariant
from dashboard.services.freshness import freshness
from dashboard.services.scoping import is_finops_admin, visible_endpoints


def fleet(request):
    show_deleted = request.GET.get("deleted") == "1"
    endpoints = visible_endpoints(request.user).select_related("account", "team")
    if not show_deleted:
        endpoints = endpoints.filter(deleted_at=None)
    endpoints = endpoints.prefetch_related(
        Prefetch(
            "variants",
            queryset=ProductionVariant.objects.filter(removed_at=None).select_related("instance_type"),
        )
    ).order_by("account__account_id", "region", "name")
    return render(
        request,
        "fleet/list.html",
        {
            "endpoints": endpoints,
            "show_deleted": show_deleted,
            "inventory": freshness(CollectionRun.Kind.INVENTORY),
            "finops_admin": is_finops_admin(request.user),
        },
    )
