from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Team(models.Model):
    """An owning team. Endpoints map to it when one of their team tags (settings.TEAM_TAG_KEYS) has one
    of `tag_values` (compared case-insensitively)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    tag_values = ArrayField(models.CharField(max_length=256), default=list, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("view_all_teams", "FinOps admin: sees every team's endpoints and costs")]

    def __str__(self):
        return self.name
