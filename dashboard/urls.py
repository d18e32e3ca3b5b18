from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views.endpoint import endpoint_detail
from dashboard.views.fleet import fleet
from dashboard.views.health import healthz
from dashboard.views.recommendations import change_status, recommendations
from dashboard.views.team import team_dashboard

urlpatterns = [
    path("", fleet, name="fleet"),
    path("teams/<slug:slug>/", team_dashboard, name="team"),
    path("endpoints/<int:pk>/", endpoint_detail, name="endpoint"),
    path("recommendations/", recommendations, name="recommendations"),
    path("recommendations/<int:pk>/status/", change_status, name="recommendation-status"),
    path("api/v1/", include("dashboard.api.urls")),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
