from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models

ACCOUNT_ID = RegexValidator(r"^\d{12}$", "An AWS account id is 12 digits.")
ROLE_ARN = RegexValidator(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
    "Not an IAM role ARN (arn:aws:iam::<id>:role/<name>).",
)
REGION = RegexValidator(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", "Not an AWS region name such as us-east-1.")


class AwsAccount(models.Model):
    """An AWS account to monitor. No role: the ambient credentials are used as they are."""

    account_id = models.CharField(max_length=12, unique=True, validators=[ACCOUNT_ID])
    label = models.CharField(max_length=100, blank=True)
    role_arn = models.CharField(
        max_length=2048,
        blank=True,
        validators=[ROLE_ARN],
        help_text="Role to assume; blank = ambient credentials",
    )
    external_id = models.CharField(
        max_length=1224, blank=True, help_text="sts:ExternalId, if the role requires one"
    )
    regions = ArrayField(models.CharField(max_length=32, validators=[REGION]), default=list)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id"]
        verbose_name = "AWS account"

    def __str__(self):
        return f"{self.label} ({self.account_id})" if self.label else self.account_id
