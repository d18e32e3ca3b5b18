from django.db import connections
from django.db.models.signals import post_migrate, post_save
from django.dispatch import receiver

from dashboard.models import InstanceType, Team
from dashboard.services.catalogue import seed_instance_types
from dashboard.services.teams import remap_all_endpoints


@receiver(post_migrate)
def seed_catalogue(sender, app_config=None, using="default", **kwargs):
    # post_migrate also fires after migrating backwards (to zero, say), when the table is gone.
    if app_config is None or app_config.label != "dashboard":
        return
    if InstanceType._meta.db_table in connections[using].introspection.table_names():
        seed_instance_types()


@receiver(post_save, sender=Team)
def remap_after_team_change(sender, instance, **kwargs):
    remap_all_endpoints()
