from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
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
    cost_payer = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cost_members",
        help_text="Read this account's costs through its organization's payer (management) account, in one "
        "set of Cost Explorer requests with the payer's other members; blank = with this account's own role",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account_id"]
        verbose_name = "AWS account"

    def __str__(self):
        return f"{self.label} ({self.account_id})" if self.label else self.account_id

    def clean(self):
        super().clean()
        payer = self.cost_payer
        if payer is None:
            return
        if payer.pk == self.pk or payer.account_id == self.account_id:
            raise ValidationError({"cost_payer": "An account cannot read its costs through itself."})
        if payer.cost_payer_id is not None:
            raise ValidationError(
                {"cost_payer": f"{payer} reads its own costs through {payer.cost_payer}: name that payer."}
            )
        if self.pk and self.cost_members.exists():
            raise ValidationError(
                {"cost_payer": "Other accounts read their costs through this one: it cannot have a payer."}
            )
