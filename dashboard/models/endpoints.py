from django.db import models

SERVERLESS = "serverless"
INSTANCE = "instance"
KIND_CHOICES = [(SERVERLESS, "Serverless"), (INSTANCE, "Real-time instance")]


class Endpoint(models.Model):
    """A SageMaker endpoint, identified by (account, region, name): the same name may exist elsewhere."""

    account = models.ForeignKey("dashboard.AwsAccount", on_delete=models.PROTECT, related_name="endpoints")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=63)
    arn = models.CharField(max_length=2048)
    status = models.CharField(max_length=32)
    config_name = models.CharField(max_length=63, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    team = models.ForeignKey(
        "dashboard.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="endpoints"
    )
    created_at = models.DateTimeField(null=True, blank=True, help_text="CreationTime in AWS")
    modified_at = models.DateTimeField(null=True, blank=True, help_text="LastModifiedTime in AWS")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="When inventory stopped finding it")

    class Meta:
        ordering = ["account__account_id", "region", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "region", "name"], name="endpoint_identity"),
        ]
        indexes = [models.Index(fields=["team", "deleted_at"])]

    def __str__(self):
        return f"{self.name} ({self.account.account_id}/{self.region})"

    @property
    def kind(self) -> str:
        return kind_of(self.variants.all())


def kind_of(variants) -> str:
    """An endpoint's kind from its variants: serverless, instance, mixed, or "" with none live."""
    kinds = {v.kind for v in variants if v.removed_at is None}
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "")


class ProductionVariant(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=63)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    # serverless
    memory_mb = models.PositiveIntegerField(null=True, blank=True)
    max_concurrency = models.PositiveIntegerField(null=True, blank=True)
    provisioned_concurrency = models.PositiveIntegerField(null=True, blank=True)
    # instance
    instance_type = models.ForeignKey(
        "dashboard.InstanceType", null=True, blank=True, on_delete=models.PROTECT, related_name="variants"
    )
    current_instance_count = models.PositiveIntegerField(null=True, blank=True)
    desired_instance_count = models.PositiveIntegerField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint_id", "name"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "name"], name="variant_identity")]

    def __str__(self):
        return f"{self.endpoint.name}/{self.name}"

    @property
    def shape_label(self) -> str:
        return shape_label(self)


def shape_label(variant) -> str:
    """What a variant runs on, from a variant or anything with its fields: "2 GB, max 20, PC 5" or
    "ml.g5.xlarge x 2"."""
    if variant.kind == SERVERLESS:
        text = f"{(variant.memory_mb or 0) / 1024:g} GB, max {variant.max_concurrency}"
        if variant.provisioned_concurrency:
            text += f", PC {variant.provisioned_concurrency}"
        return text
    count = variant.current_instance_count if variant.current_instance_count is not None else "?"
    return f"{variant.instance_type_id} x {count}"


class EndpointEvent(models.Model):
    """The history of an endpoint as inventory saw it: created, changed shape, deleted, restored."""

    class Kind(models.TextChoices):
        CREATED = "created"
        CHANGED = "changed"
        DELETED = "deleted"
        RESTORED = "restored"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["endpoint_id", "-at"]

    def __str__(self):
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
