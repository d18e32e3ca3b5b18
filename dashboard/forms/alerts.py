"""Budget rules and notification channels as forms, limited to what the user may target.

A FinOps admin may target anything and pick any channel. A member may only target one of their teams
(the team, or its endpoints, or one endpoint of it) and pick that team's channels; their channels
belong to one of their teams. The cross-field rules of a budget are the model's own (BudgetRule.clean),
which a ModelForm runs after these. A Slack webhook URL is write-only: it is validated (https, an
allowed host), stored encrypted, and never rendered back; only its hint is shown."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from dashboard.alerts.webhooks import validate_webhook_url
from dashboard.models import AwsAccount, BudgetRule, NotificationChannel
from dashboard.services.alerts import visible_channels
from dashboard.services.scoping import is_finops_admin, visible_endpoints, visible_teams

Scope = BudgetRule.Scope
Kind = NotificationChannel.Kind
SEPARATORS = re.compile(r"[,;\s]+")
MAX_PERCENT = Decimal("999999.99")  # the column holds 8 digits, 2 after the point


def split(text: str) -> list[str]:
    return [part for part in SEPARATORS.split(text or "") if part]


def percent_text(value) -> str:
    return format(Decimal(value).normalize(), "f")


class ThresholdsField(forms.CharField):
    """Percentages typed as "150, 200": positive, at most 2 decimals, deduplicated and sorted."""

    default_error_messages = {"required": "at least one threshold, e.g. 150 (percent of the expected spend)"}

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(percent_text(v) for v in value)
        return value

    def to_python(self, value) -> list[Decimal]:
        out = set()
        for part in split(super().to_python(value)):
            try:
                number = Decimal(part.rstrip("%"))
            except InvalidOperation:
                raise ValidationError(f"{part!r} is not a number: type percentages like 150, 200") from None
            if not number.is_finite() or number <= 0:
                raise ValidationError(f"{part} is not a positive percentage")
            if number > MAX_PERCENT or number.as_tuple().exponent < -2:
                raise ValidationError(f"{part}: at most {MAX_PERCENT}, with at most 2 decimals")
            out.add(number.quantize(Decimal("0.01")))
        return sorted(out)


class EmailListField(forms.CharField):
    """Addresses separated by commas, semicolons or spaces; each validated, duplicates dropped."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        out, seen = [], set()
        for address in split(super().to_python(value)):
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an email address") from None
            if address.lower() not in seen:
                seen.add(address.lower())
                out.append(address)
        return out


class BudgetRuleForm(forms.ModelForm):
    thresholds = ThresholdsField(
        help_text="percent of the expected spend, e.g. 150, 200: one alert per threshold crossed"
    )

    class Meta:
        model = BudgetRule
        fields = ["name", "scope", "account", "team", "endpoint", "basis", "amount", "currency",
                  "thresholds", "period", "channels", "enabled"]  # fmt: skip
        widgets = {"channels": forms.CheckboxSelectMultiple}
        help_texts = {
            "account": "one account, or none for each account",
            "team": "for a team rule: the team (none: each team); for an endpoint rule: whose endpoints",
            "endpoint": "one endpoint, or none for each endpoint of the team (of the fleet without a team)",
            "amount": "only for a fixed budget: the amount per period",
            "currency": "the fixed budget's currency",
            "channels": "notified besides the team's own channels",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin = is_finops_admin(user)
        self.fields["team"].queryset = visible_teams(user)
        current = self.instance.endpoint_id
        self.fields["endpoint"].queryset = (
            visible_endpoints(user)
            .filter(Q(deleted_at=None) | Q(pk=current))
            .select_related("account")
            .order_by("name", "pk")
        )
        channels = self.fields["channels"]
        channels.queryset = visible_channels(user).select_related("team")
        channels.label_from_instance = lambda c: f"{c.name} ({c.get_kind_display()}, {c.team or 'FinOps'})"
        if self.admin:
            self.fields["account"].queryset = AwsAccount.objects.order_by("account_id")
        else:
            del self.fields["account"]  # account and fleet rules are FinOps admins' alone
            self.fields["scope"].choices = [(s.value, s.label) for s in (Scope.TEAM, Scope.ENDPOINT)]
            self.fields["team"].required = True
            self.fields["team"].help_text = "one of your teams: the rule covers it or its endpoints"
            channels.help_text = "your team's channels, notified besides the team's own"

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValidationError("a three-letter currency code, e.g. USD")
        return currency

    def clean(self):
        data = super().clean()
        team, endpoint = data.get("team"), data.get("endpoint")
        if self.admin and data.get("scope") == Scope.ENDPOINT and endpoint and team is None:
            data["team"] = endpoint.team  # so the endpoint's team sees the rule too
        if not self.admin and team is not None:
            others = [c.name for c in data.get("channels") or [] if c.team_id != team.pk]
            if others:
                self.add_error("channels", f"not channels of {team}: {', '.join(others)}")
        return data


class ChannelForm(forms.ModelForm):
    """`user` None: the admin site (any team, or none for a FinOps channel)."""

    email_to = EmailListField(required=False, label="Recipients", help_text="addresses, comma-separated")
    webhook_url = forms.CharField(
        required=False, max_length=500, label="Slack webhook URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="an incoming-webhook URL (https://hooks.slack.com/services/…); stored encrypted",
    )  # fmt: skip

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "team", "email_to", "webhook_url", "enabled"]
        help_texts = {
            "team": "the team whose alerts it receives; none: a FinOps channel, which receives the "
            "account and fleet alerts and those of the rules that name it",
            "enabled": "re-enabling clears the reason delivery gave for disabling it",
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["team"].queryset = visible_teams(user)
            if not is_finops_admin(user):
                self.fields["team"].required = True
                self.fields["team"].help_text = "one of your teams: the channel receives its alerts"
        if self.instance.pk and self.instance.secret:
            self.fields[
                "webhook_url"
            ].help_text = f"stored: {self.instance.secret_hint}; leave blank to keep it, or enter a new URL"

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data.get("webhook_url") or ""
        return validate_webhook_url(url) if url else ""

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Kind.EMAIL and not data.get("email_to") and "email_to" not in self.errors:
            self.add_error("email_to", "an email channel needs at least one recipient")
        stored = self.instance.pk and self.instance.secret and self.instance.kind == Kind.SLACK
        missing = not data.get("webhook_url") and "webhook_url" not in self.errors
        if kind == Kind.SLACK and missing and not stored:
            self.add_error("webhook_url", "a Slack channel needs its incoming-webhook URL")
        return data

    def save(self, commit=True):
        channel = super().save(commit=False)
        if channel.kind == Kind.EMAIL:
            channel.secret = channel.secret_hint = ""
        else:
            channel.email_to = []
            if url := self.cleaned_data.get("webhook_url"):
                channel.set_webhook_url(url)
        if channel.enabled:
            channel.disabled_reason = ""
        if commit:
            channel.save()
            self.save_m2m()
        return channel
