"""The read-only JSON API under /api/v1/ (described by dashboard/api/openapi.py, served at openapi.json).

Ids are matched as strings so a bad one is a 400 in JSON rather than Django's HTML 404, and anything
that is not a route is a JSON 404."""

from django.urls import path, re_path

from dashboard.api.http import not_found
from dashboard.api.openapi import openapi_json
from dashboard.api.views.alerts import alert_detail, alert_list, budget_rule_list
from dashboard.api.views.endpoints import endpoint_costs, endpoint_detail, endpoint_list, endpoint_series
from dashboard.api.views.insights import quota_list, recommendation_detail, recommendation_list
from dashboard.api.views.overview import forecast_list, freshness_view, team_detail, team_list
from dashboard.api.views.reports import report_download

app_name = "api"

urlpatterns = [
    path("endpoints", endpoint_list, name="endpoints"),
    path("endpoints/<str:pk>", endpoint_detail, name="endpoint"),
    path("endpoints/<str:pk>/series", endpoint_series, name="endpoint-series"),
    path("endpoints/<str:pk>/costs", endpoint_costs, name="endpoint-costs"),
    path("forecasts", forecast_list, name="forecasts"),
    path("teams", team_list, name="teams"),
    path("teams/<str:slug>", team_detail, name="team"),
    path("freshness", freshness_view, name="freshness"),
    path("recommendations", recommendation_list, name="recommendations"),
    path("recommendations/<str:pk>", recommendation_detail, name="recommendation"),
    path("quotas", quota_list, name="quotas"),
    path("alerts", alert_list, name="alerts"),
    path("alerts/<str:pk>", alert_detail, name="alert"),
    path("budget-rules", budget_rule_list, name="budget-rules"),
    path("reports/<str:week>", report_download, name="report"),
    path("openapi.json", openapi_json, name="openapi"),
    re_path(r"^(?P<path>.*)$", not_found),
]
