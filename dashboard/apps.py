from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "SageMaker cost dashboard"

    def ready(self):
        from dashboard import signals  # noqa: F401  (registers the catalogue seeding and team remapping)
