"""The Django project and its web app. Importing it loads the Celery app so @shared_task binds to it."""

from dashboard.celery import app as celery_app

__all__ = ("celery_app",)
