"""Support back-office for customers: find one (name, email, external id, id) and reach its wallets.

Read-only: customers are written through the API (customers.services).
"""

from django.contrib import admin
from django.utils.html import format_html

from core.admin import ReadOnlyModelAdmin, ReadOnlyTabularInline
from customers.models import Customer
from wallets.admin.display import badge, credits_display, link
from wallets.models import Wallet


class WalletInline(ReadOnlyTabularInline):
    model = Wallet
    fields = ["wallet_column", "wallet_type", "currency", "status_column", "credit_balance_column", "balance_column",
              "alert_state"]
    readonly_fields = fields
    ordering = ["wallet_status", "-created_at"]
    verbose_name_plural = "Wallets (open a wallet to act on it)"

    credit_balance_column = credits_display("credit_balance", "Credit balance")
    balance_column = credits_display("balance", "Balance")

    @admin.display(description="Wallet")
    def wallet_column(self, obj):
        return format_html("{}<br><small>{}</small>", link(obj, obj.name or obj.pk), obj.pk)

    @admin.display(description="Status")
    def status_column(self, obj):
        return badge(obj.wallet_status, obj.get_wallet_status_display())


@admin.register(Customer)
class CustomerAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "email", "external_id", "id", "environment", "status", "created_at"]
    list_filter = ["status", "environment"]
    search_fields = ["=id", "=external_id", "name", "email"]
    search_help_text = "Customer id or external id (exact), or part of the name or email."
    list_select_related = ["environment__tenant"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    inlines = [WalletInline]

    class Media:
        css = {"all": ["wallets/admin.css"]}
    fieldsets = [
        ("Customer", {"fields": ["id", "external_id", "name", "email", "status", "environment"]}),
        (
            "Address",
            {
                "classes": ["collapse"],
                "fields": [
                    "address_line1", "address_line2", "address_city", "address_state", "address_postal_code",
                    "address_country",
                ]
            },
        ),
        ("Record", {"classes": ["collapse"], "fields": ["metadata", "created_at", "created_by", "updated_at", "updated_by"]}),
    ]
