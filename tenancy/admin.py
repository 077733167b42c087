"""Tenants, environments and API keys in the admin: read-only, for finding out who a row belongs to.

Keys are created, rotated and revoked with the management commands (tenancy.services); the
key hash is never shown.
"""

from django.contrib import admin

from core.admin import ReadOnlyModelAdmin
from core.admin_cells import short_id
from tenancy.models import ApiKey, Environment, Tenant


@admin.display(description="ID", ordering="id")
def id_column(obj):
    return short_id(obj.pk)


@admin.register(Tenant)
class TenantAdmin(ReadOnlyModelAdmin):
    list_display = ["name", id_column, "auto_complete_purchased_credits", "created_at"]
    search_fields = ["=id", "name"]
    fields = ["id", "name", "auto_complete_purchased_credits", "created_at"]


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "tenant", id_column, "created_at"]
    list_select_related = ["tenant"]
    search_fields = ["=id", "name", "tenant__name"]
    fields = ["id", "tenant", "name", "created_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyModelAdmin):
    list_display = [
        "prefix",
        "name",
        "environment",
        "read_only_column",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["read_only", "environment"]
    list_select_related = ["environment__tenant"]
    search_fields = ["=id", "=prefix", "name"]
    fields = ["id", "prefix", "name", "environment", "read_only", "created_at", "expires_at", "revoked_at", "last_used_at"]

    @admin.display(description="Read-only", boolean=True, ordering="read_only")
    def read_only_column(self, obj):
        return obj.read_only
