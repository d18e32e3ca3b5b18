from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.views.fleet import fleet
from dashboard.views.health import healthz

urlpatterns = [
    path("", fleet, name="fleet"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
