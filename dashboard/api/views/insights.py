"""/api/v1/recommendations, one recommendation, and /quotas: the insights engine's output, scoped as the
recommendations page scopes it (dashboard/services/recommendations.py), ranked as the page ranks it."""

from __future__ import annotations

from django.http import JsonResponse

from dashboard.api import http
from dashboard.api.http import BadRequest, NotFound, api_view
from dashboard.api.serialize import open_savings_json, quota_json, recommendation_json
from dashboard.api.views.endpoints import _regex_param
from dashboard.insights.model import RULES
from dashboard.models import Recommendation
from dashboard.models.accounts import ACCOUNT_ID, REGION
from dashboard.services.recommendations import (
    open_savings,
    quota_usage,
    ranked,
    visible_recommendations,
)

ACTIVE = ["1", "0", "all"]


@api_view
def recommendation_list(request):
    recommendations = visible_recommendations(request.user)
    active = http.choice(request, "active", ACTIVE, default="1")
    if active != "all":
        recommendations = recommendations.filter(active=active == "1")
    recommendations = http.team_filter(request, recommendations)
    if rule := http.choice(request, "rule", list(RULES)):
        recommendations = recommendations.filter(rule=rule)
    if endpoint := request.GET.get("endpoint", "").strip():
        recommendations = recommendations.filter(endpoint_id=http.parse_pk(endpoint))
    if account := _regex_param(request, "account", ACCOUNT_ID):
        recommendations = recommendations.filter(account__account_id=account)
    if region := _regex_param(request, "region", REGION):
        recommendations = recommendations.filter(region=region)
    listed = recommendations
    if status := http.choice(request, "status", Recommendation.Status.values):
        listed = recommendations.filter(status=status)
    return JsonResponse(
        {
            "recommendations": [recommendation_json(r) for r in ranked(listed)],
            "open_savings": [open_savings_json(t) for t in open_savings(recommendations)],
        }
    )


@api_view
def recommendation_detail(request, pk):
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        raise BadRequest(f"recommendation id must be a positive integer, not {pk!r}")
    recommendation = ranked(visible_recommendations(request.user).filter(pk=int(pk))).first()
    if recommendation is None:
        raise NotFound(f"no recommendation {pk}")
    return JsonResponse({"recommendation": recommendation_json(recommendation)})


@api_view
def quota_list(request):
    account = _regex_param(request, "account", ACCOUNT_ID)
    region = _regex_param(request, "region", REGION)
    quotas = quota_usage(request.user, account=account, region=region)
    return JsonResponse({"quotas": [quota_json(q) for q in quotas]})
