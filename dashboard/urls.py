from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views import alerts
from dashboard.views.endpoint import endpoint_detail
from dashboard.views.fleet import fleet
from dashboard.views.health import healthz
from dashboard.views.recommendations import change_status, recommendations
from dashboard.views.reports import report_download, reports
from dashboard.views.team import team_dashboard

urlpatterns = [
    path("", fleet, name="fleet"),
    path("teams/<slug:slug>/", team_dashboard, name="team"),
    path("endpoints/<int:pk>/", endpoint_detail, name="endpoint"),
    path("recommendations/", recommendations, name="recommendations"),
    path("recommendations/<int:pk>/status/", change_status, name="recommendation-status"),
    path("reports/", reports, name="reports"),
    path("reports/<str:week>/download", report_download, name="report-download"),
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/<int:pk>/", alerts.alert_detail, name="alert-detail"),
    path("alerts/rules/", alerts.rules, name="alert-rules"),
    path("alerts/rules/new/", alerts.rule_new, name="alert-rule-new"),
    path("alerts/rules/<int:pk>/", alerts.rule_edit, name="alert-rule-edit"),
    path("alerts/rules/<int:pk>/delete/", alerts.rule_delete, name="alert-rule-delete"),
    path("alerts/channels/", alerts.channels, name="alert-channels"),
    path("alerts/channels/new/", alerts.channel_new, name="alert-channel-new"),
    path("alerts/channels/<int:pk>/", alerts.channel_edit, name="alert-channel-edit"),
    path("alerts/channels/<int:pk>/delete/", alerts.channel_delete, name="alert-channel-delete"),
    path("alerts/channels/<int:pk>/test/", alerts.channel_test, name="alert-channel-test"),
    path("api/v1/", include("dashboard.api.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
