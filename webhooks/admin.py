"""Admin for webhooks: manage endpoints, read deliveries and their attempts, resend."""

from django.contrib import admin, messages

from core.admin_cells import truncated
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url_column", "environment", "enabled", "event_types", "created_at"]
    list_filter = ["enabled", "environment"]
    search_fields = ["url", "id", "description"]
    readonly_fields = ["id", "created_at"]
    fields = ["id", "environment", "url", "description", "event_types", "enabled", "secret", "created_at"]

    @admin.display(description="URL", ordering="url")
    def url_column(self, obj):
        return truncated(obj.url)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempt_count", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event__event_type"]
    search_fields = ["event__id", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = ["event", "endpoint", "status", "attempt_count", "next_attempt_at", "delivered_at", "created_at", "payload"]
    fields = readonly_fields
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    @admin.display(description="Payload")
    def payload(self, obj):
        return services.message_body(obj.event).decode()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Resend selected deliveries now", permissions=["change"])
    def resend(self, request, queryset):
        for delivery in queryset:
            services.webhook_resend(delivery)
        self.message_user(request, f"Queued {queryset.count()} deliveries to be sent again.", messages.SUCCESS)
