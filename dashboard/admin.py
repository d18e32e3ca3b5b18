from django.contrib import admin

from dashboard.forms.alerts import ChannelForm
from dashboard.models import (
    Alert,
    ApiToken,
    AwsAccount,
    BudgetRule,
    CollectionRun,
    DeliveryAttempt,
    Endpoint,
    EndpointEvent,
    ForecastBaseline,
    InstanceType,
    Notification,
    NotificationChannel,
    ProductionVariant,
    Recommendation,
    ReportDelivery,
    Team,
)


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    list_display = ["account_id", "label", "role_arn", "regions", "cost_payer", "enabled"]
    list_filter = ["enabled"]
    search_fields = ["account_id", "label"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "tag_values"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
    search_fields = ["name"]


@admin.register(InstanceType)
class InstanceTypeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "vcpus",
        "gpu_count",
        "gpu_memory_gib",
        "accelerator",
        "hourly_price",
        "currency",
        "known",
    ]
    list_filter = ["known", "gpu_count"]
    search_fields = ["name", "accelerator"]


class VariantInline(admin.TabularInline):
    model = ProductionVariant
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in ProductionVariant._meta.fields]


class EventInline(admin.TabularInline):
    model = EndpointEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "detail"]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    """Inventory is AWS's truth: read-only here, except which team owns an endpoint (derived from tags)."""

    list_display = ["name", "account", "region", "team", "status", "last_seen", "deleted_at"]
    list_filter = ["region", "status", "team", "account"]
    search_fields = ["name", "arn"]
    readonly_fields = [f.name for f in Endpoint._meta.fields if f.name != "team"]
    inlines = [VariantInline, EventInline]

    def has_add_permission(self, request):
        return False


@admin.register(CollectionRun)
class CollectionRunAdmin(admin.ModelAdmin):
    list_display = ["kind", "account", "region", "started_at", "finished_at", "status", "metrics_requested"]
    list_filter = ["kind", "status", "region"]
    readonly_fields = [f.name for f in CollectionRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    """The engine's figures are read-only here; an admin may set the status and note, recorded as theirs
    (as the recommendations page records it)."""

    list_display = ["title", "rule", "endpoint", "team", "monthly_saving", "currency", "confidence", "status",
                    "active", "computed_at"]  # fmt: skip
    list_filter = ["rule", "status", "active", "team", "region"]
    search_fields = ["title", "key", "endpoint__name"]
    list_select_related = ["endpoint", "team"]
    readonly_fields = [f.name for f in Recommendation._meta.fields if f.name not in ("status", "status_note")]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        if not form.changed_data:
            return
        obj.status_changed_at = timezone.now()
        obj.status_changed_by = request.user
        # Only these fields: the engine may be rewriting the figures of this row at the same moment.
        obj.save(update_fields=["status", "status_note", "status_changed_at", "status_changed_by"])


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py api_token create` (shown once); here they can only be revoked."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["prefix", "name", "user", "created_at", "last_used_at", "key_hash"]
    fields = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from django.utils import timezone

        queryset.filter(revoked_at=None).update(revoked_at=timezone.now())


# --- budget alerts -------------------------------------------------------------------------------------
class ChannelAdminForm(ChannelForm):
    class Meta(ChannelForm.Meta):
        fields = [*ChannelForm.Meta.fields, "disabled_reason"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    """The Slack webhook URL is write-only, as on the channels page: validated, stored encrypted, never
    shown (`secret` is not a field here; the hint is)."""

    form = ChannelAdminForm
    list_display = ["name", "kind", "team", "target_label", "enabled", "disabled_reason"]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["name"]
    list_select_related = ["team"]
    readonly_fields = ["secret_hint", "created_at"]


@admin.register(BudgetRule)
class BudgetRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "target_label", "basis", "amount", "currency", "thresholds", "period",
                    "enabled"]  # fmt: skip
    list_filter = ["scope", "basis", "period", "enabled", "team"]
    search_fields = ["name"]
    list_select_related = ["account", "team", "endpoint__account"]
    raw_id_fields = ["endpoint"]
    filter_horizontal = ["channels"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by evaluation and delivery only: shown here, never changed."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["started_at", "finished_at", "ok", "permanent", "status_code", "error"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["scope_label", "rule_name", "threshold", "ratio", "peak_ratio", "currency",
                    "period_start", "state", "raised_at", "recovered_at"]  # fmt: skip
    list_filter = ["state", "scope", "team"]
    search_fields = ["scope_label", "rule_name"]
    list_select_related = ["team"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["alert", "channel", "event", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "event", "channel__kind"]
    list_select_related = ["alert", "channel"]
    exclude = ["claim"]
    inlines = [AttemptInline]


@admin.register(ForecastBaseline)
class ForecastBaselineAdmin(ReadOnlyAdmin):
    list_display = ["scope", "scope_id", "period", "period_start", "daily_rate", "currency", "method",
                    "made_at"]  # fmt: skip
    list_filter = ["scope", "period", "method"]


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(ReadOnlyAdmin):
    """The weekly review's deliveries: who got which week, and the last error of those that did not."""

    list_display = ["week", "scope_label", "kind", "recipient", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["week", "status", "kind"]
    search_fields = ["recipient", "scope_label"]
    exclude = ["claim"]
