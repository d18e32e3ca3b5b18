from django.db import models


class InstanceType(models.Model):
    """The editable instance catalogue: shape and on-demand price of each SageMaker instance type.

    Seeded from collectors/data/prices.json after migrate (rows already present are left alone, so edits
    made in the admin stick). A type met in inventory but missing here is added with `known=False` and no
    price, so the page says "price unknown" instead of inventing one."""

    name = models.CharField(primary_key=True, max_length=64)
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    memory_gib = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    gpu_count = models.PositiveIntegerField(default=0)
    gpu_memory_gib = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    accelerator = models.CharField(max_length=100, blank=True)
    hourly_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    price_source = models.CharField(max_length=200, blank=True)
    known = models.BooleanField(default=True, help_text="False: seen in inventory, not in the catalogue")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
